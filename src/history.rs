//! A test's history (`history TEST`): its results per builder over recent builds, under every
//! name it had, with the failures that are flaky evidence marked.

use std::collections::{HashMap, HashSet};

use crate::analyze::flaky;
use crate::clock;
use crate::durations;
use crate::error::Result;
use crate::lookup;
use crate::problems::Branch;
use crate::report::lossy;
use crate::store::Store;
use crate::views::history::{BuilderHistory, HistoryView, ResultView};

/// The history of the test `query` names (`lookup::find_test`) on `branch`: at most `limit`
/// results per builder, newest first, only `builder`'s when given.
pub(crate) fn history(
    store: &mut dyn Store,
    query: &str,
    branch: Option<&str>,
    builder: Option<&str>,
    limit: usize,
) -> Result<HistoryView> {
    let test = lookup::find_test(store, query)?;
    let lanes: HashMap<_, _> = store.lanes()?.into_iter().map(|l| (l.id, l)).collect();
    // The test's history under every name it had (`rename`), as the analysis sees it.
    let loaded = Branch::load(store, branch)?;
    let names = loaded.names(test.id);
    let details = loaded.test_results(store, test.id, false)?;
    let test_lanes = loaded.test_lanes(store, test.id)?;
    // A flaky test's flaky outcomes.
    let options = flaky::Options::default();
    let flakes: HashSet<i64> = if flaky::stats(&test_lanes, &options).score >= flaky::THRESHOLD {
        test_lanes
            .iter()
            .flat_map(|l| flaky::flake_builds(l, &options))
            .collect()
    } else {
        HashSet::new()
    };
    let mut builders = Vec::new();
    for lane in &test_lanes {
        let Some(record) = lanes.get(&lane.lane) else {
            continue;
        };
        if builder.is_some_and(|b| b != record.builder) {
            continue;
        }
        let mut results = Vec::new();
        for step in lane.steps.iter().rev() {
            if results.len() >= limit {
                break;
            }
            let Some(status) = step.status else {
                continue;
            };
            let (duration, attempts, message) = match details.get(&step.build) {
                Some(r) => (
                    r.duration,
                    r.attempts,
                    r.message.as_deref().map(|m| lossy(m)),
                ),
                None => {
                    let blob = store.build_durations(step.build)?.unwrap_or_default();
                    let duration = names
                        .iter()
                        .rev()
                        .find_map(|name| durations::find(&blob, *name))
                        .flatten();
                    (duration, 1, None)
                }
            };
            results.push(ResultView {
                build: step.number,
                revision: step.revision.as_deref().map(str::to_owned),
                time: clock::rfc3339(step.time),
                status: status.as_str(),
                flake: flakes.contains(&step.build),
                duration,
                attempts,
                message,
            });
        }
        builders.push(BuilderHistory {
            builder: record.builder.clone(),
            branch: record.branch.clone(),
            results,
        });
    }
    Ok(HistoryView {
        test: lossy(&test.name),
        kind: test.kind.as_str(),
        builders,
    })
}
