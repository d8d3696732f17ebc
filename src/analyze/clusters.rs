//! Failure clusters: failures that share one cause (the same [`cause`] signature), across tests and
//! builders. One broken fixture that fails forty tests is one cluster.

use std::collections::HashMap;

use super::signature::{cause, cause_id};
use crate::store::{FailureRow, Id};

/// Failures with one cause.
#[derive(Clone, Debug)]
pub(crate) struct Cluster {
    /// [`cause_id`] of `cause`.
    pub id: String,
    pub cause: String,
    pub failures: u64,
    /// The tests, in the order they first failed so.
    pub tests: Vec<Id>,
    /// The builders, by name.
    pub builders: Vec<String>,
    /// Indexes into the rows: the first and the last failure.
    pub first: usize,
    pub last: usize,
}

/// The cause of one failure.
pub(crate) fn cause_of(row: &FailureRow) -> String {
    let message = row
        .message
        .as_ref()
        .map(|m| String::from_utf8_lossy(m).into_owned())
        .unwrap_or_default();
    cause(&message, row.text.as_deref())
}

/// Groups failures (in time order) by cause: the clusters with most tests first, then most failures.
pub(crate) fn clusters(rows: &[FailureRow]) -> Vec<Cluster> {
    let mut by_cause: HashMap<String, usize> = HashMap::new();
    let mut out: Vec<Cluster> = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let cause = cause_of(row);
        let index = *by_cause.entry(cause.clone()).or_insert_with(|| {
            out.push(Cluster {
                id: cause_id(&cause),
                cause,
                failures: 0,
                tests: Vec::new(),
                builders: Vec::new(),
                first: i,
                last: i,
            });
            out.len() - 1
        });
        let cluster = &mut out[index];
        cluster.failures += 1;
        cluster.last = i;
        if !cluster.tests.contains(&row.test) {
            cluster.tests.push(row.test);
        }
        if !cluster.builders.contains(&row.builder) {
            cluster.builders.push(row.builder.clone());
        }
    }
    for cluster in &mut out {
        cluster.builders.sort();
    }
    out.sort_by(|a, b| {
        b.tests
            .len()
            .cmp(&a.tests.len())
            .then(b.failures.cmp(&a.failures))
            .then(a.cause.cmp(&b.cause))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(test: Id, builder: &str, number: i64, message: &str) -> FailureRow {
        FailureRow {
            test,
            test_name: format!("t{test}").into(),
            builder: builder.to_owned(),
            number,
            time: number,
            revision: None,
            message: Some(message.into()),
            text: None,
        }
    }

    #[test]
    fn one_cause_across_tests_and_builders_is_one_cluster() {
        let rows = [
            row(1, "a", 1, "db down at 0x10"),
            row(2, "b", 1, "db down at 0x20"),
            row(3, "a", 2, "KeyError: 'x'"),
            row(1, "a", 2, "db down at 0x30"),
        ];
        let found = clusters(&rows);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].tests, [1, 2]);
        assert_eq!(found[0].builders, ["a", "b"]);
        assert_eq!(
            (found[0].failures, found[0].first, found[0].last),
            (3, 0, 3)
        );
        assert_eq!(found[1].tests, [3]);
    }
}
