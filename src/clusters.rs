//! Cause clusters (`clusters`): the failures of a branch grouped by cause across tests and
//! builders (`analyze::clusters` does the grouping).

use std::collections::HashMap;

use crate::analyze::clusters::clusters;
use crate::clock;
use crate::error::Result;
use crate::problems::Branch;
use crate::report::lossy;
use crate::store::{FailureRow, ProblemFilter, Store};
use crate::views::clusters::ClusterView;
use crate::views::{shorten, BuildAt, MESSAGE_LEN};

/// Which failures to group.
#[derive(Clone, Debug, Default)]
pub(crate) struct Selection {
    pub branch: Option<String>,
    /// Only failures in builds at or after this time (µs).
    pub since: Option<i64>,
    /// Only failures of open Problems, from each one's first failure on its builders.
    pub open: bool,
    /// At most this many clusters, the largest first.
    pub limit: Option<usize>,
}

/// The clusters of the selected failures, the largest first.
pub(crate) fn list(store: &mut dyn Store, selection: &Selection) -> Result<Vec<ClusterView>> {
    let branch = &selection.branch;
    // Under the names the tests have now (`rename`).
    let mut rows = Branch::load(store, branch.as_deref())?.failures(store, selection.since)?;
    if selection.open {
        // (test, builder) → the first failing build of an open Problem there.
        let mut open: HashMap<(i64, String), i64> = HashMap::new();
        for p in store.problems(&ProblemFilter {
            open: Some(true),
            branch: Some(branch.clone()),
            ..ProblemFilter::default()
        })? {
            for b in &p.builders {
                let first = open.entry((p.test, b.builder.clone())).or_insert(i64::MAX);
                *first = (*first).min(b.first_number);
            }
        }
        rows.retain(|r| {
            open.get(&(r.test, r.builder.clone()))
                .is_some_and(|&first| r.number >= first)
        });
    }
    let names: HashMap<i64, String> = rows.iter().map(|r| (r.test, lossy(&r.test_name))).collect();
    let mut view: Vec<ClusterView> = clusters(&rows)
        .into_iter()
        .map(|c| ClusterView {
            id: c.id,
            signature: c.cause,
            failures: c.failures,
            tests: c.tests.iter().map(|t| names[t].clone()).collect(),
            builders: c.builders,
            first_seen: at(&rows[c.first]),
            last_seen: at(&rows[c.last]),
            message: rows[c.last]
                .message
                .as_deref()
                .map(|m| shorten(&lossy(m), MESSAGE_LEN)),
        })
        .collect();
    if let Some(limit) = selection.limit {
        view.truncate(limit);
    }
    Ok(view)
}

fn at(row: &FailureRow) -> BuildAt {
    BuildAt {
        builder: row.builder.clone(),
        build: row.number,
        revision: row.revision.clone(),
        time: clock::rfc3339(row.time),
    }
}
