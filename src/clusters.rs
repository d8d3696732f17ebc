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
    let metric = metric_clusters(store, selection)?;
    if !metric.is_empty() {
        view.extend(metric);
        view.sort_by_key(|c| std::cmp::Reverse((c.tests.len(), c.failures)));
    }
    if let Some(limit) = selection.limit {
        view.truncate(limit);
    }
    Ok(view)
}

/// Steps in many metric series that the same changes started are one cause: the metric
/// Problems grouped by their cluster (the hash of their suspects, `metrics::judge`).
fn metric_clusters(store: &mut dyn Store, selection: &Selection) -> Result<Vec<ClusterView>> {
    let problems = store.problems(&ProblemFilter {
        open: selection.open.then_some(true),
        branch: Some(selection.branch.clone()),
        ..ProblemFilter::default()
    })?;
    let mut groups: Vec<(String, Vec<&crate::store::ProblemRecord>)> = Vec::new();
    for p in problems.iter().filter(|p| p.metric.is_some()) {
        let Some(id) = &p.cluster else { continue };
        if selection
            .since
            .is_some_and(|since| p.last_failure.time < since)
        {
            continue;
        }
        match groups.iter_mut().find(|(g, _)| g == id) {
            Some((_, members)) => members.push(p),
            None => groups.push((id.clone(), vec![p])),
        }
    }
    let mut out = Vec::new();
    for (id, members) in groups {
        let mut revisions: Vec<&str> = (members.iter())
            .flat_map(|p| {
                p.started_by
                    .iter()
                    .map(|c| crate::report::short_rev(&c.revision))
            })
            .collect();
        revisions.sort_unstable();
        revisions.dedup();
        let mut tests: Vec<String> = members.iter().map(|p| lossy(&p.test_name)).collect();
        tests.sort();
        tests.dedup();
        let mut builders: Vec<String> = (members.iter())
            .flat_map(|p| p.builders.iter().map(|b| b.builder.clone()))
            .collect();
        builders.sort();
        builders.dedup();
        let first = members.iter().min_by_key(|p| p.first_failure.time);
        let last = members.iter().max_by_key(|p| p.last_failure.time);
        let (Some(first), Some(last)) = (first, last) else {
            continue;
        };
        out.push(ClusterView {
            id,
            signature: format!("metric steps started by {}", revisions.join(", ")),
            failures: members.iter().map(|p| p.failures).sum(),
            tests,
            builders,
            first_seen: (&first.first_failure).into(),
            last_seen: (&last.last_failure).into(),
            message: last
                .message
                .as_deref()
                .map(|m| shorten(&lossy(m), MESSAGE_LEN)),
        });
    }
    Ok(out)
}

fn at(row: &FailureRow) -> BuildAt {
    BuildAt {
        builder: row.builder.clone(),
        build: row.number,
        revision: row.revision.clone(),
        time: clock::rfc3339(row.time),
    }
}
