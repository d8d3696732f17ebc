//! Outcome runs: how a test's outcomes on one lane are kept.
//!
//! A test's runs on a lane are a list of `(first build number, outcome)`, oldest first: the outcome
//! holds from that build up to the next run. Almost every result repeats the previous one, so a
//! lane of a thousand builds usually needs one run per test. These are pure functions over the list;
//! the store only reads and writes rows.

use probtrack_parsers::Status;

use crate::store::Run;

/// The outcome in build `number`: the last run that starts at or before it.
pub(crate) fn outcome_at(runs: &[Run], number: i64) -> Option<Status> {
    let at = runs.partition_point(|run| run.first <= number);
    at.checked_sub(1).and_then(|i| runs[i].status)
}

/// The last outcome with evidence (not skipped, not absent) before build `number`.
pub(crate) fn last_evidence(runs: &[Run], number: i64) -> Option<Status> {
    let end = runs.partition_point(|run| run.first < number);
    runs[..end]
        .iter()
        .rev()
        .filter_map(|run| run.status)
        .find(|s| *s != Status::Skipped)
}

/// Sets the outcome of build `number` without changing any other build's: `numbers` are the lane's
/// build numbers, ascending, and include `number`.
pub(crate) fn set_outcome(
    runs: &mut Vec<Run>,
    numbers: &[i64],
    number: i64,
    status: Option<Status>,
) {
    let current = outcome_at(runs, number);
    if current == status {
        return;
    }
    let next = numbers
        .get(numbers.partition_point(|&n| n <= number))
        .copied();
    if let Some(next) = next {
        if !runs.iter().any(|run| run.first == next) {
            insert(
                runs,
                Run {
                    first: next,
                    status: current,
                },
            );
        }
    }
    insert(
        runs,
        Run {
            first: number,
            status,
        },
    );
    normalize(runs);
}

/// Takes build `number` out of the lane: the builds after it keep their outcomes. `numbers` are the
/// lane's build numbers before the removal.
pub(crate) fn remove_build(runs: &mut Vec<Run>, numbers: &[i64], number: i64) {
    let Some(at) = runs.iter().position(|run| run.first == number) else {
        return;
    };
    let run = runs.remove(at);
    let next = numbers
        .get(numbers.partition_point(|&n| n <= number))
        .copied();
    if let Some(next) = next {
        let covered = runs.iter().any(|r| r.first > number && r.first <= next);
        if !covered {
            insert(
                runs,
                Run {
                    first: next,
                    status: run.status,
                },
            );
        }
    }
    normalize(runs);
}

fn insert(runs: &mut Vec<Run>, run: Run) {
    match runs.binary_search_by_key(&run.first, |r| r.first) {
        Ok(i) => runs[i] = run,
        Err(i) => runs.insert(i, run),
    }
}

/// Drops runs that repeat the outcome before them, and leading runs of "not there".
pub(crate) fn normalize(runs: &mut Vec<Run>) {
    let mut previous: Option<Option<Status>> = None;
    runs.retain(|run| {
        let keep = match previous {
            None => run.status.is_some(),
            Some(prev) => prev != run.status,
        };
        if keep {
            previous = Some(run.status);
        }
        keep
    });
}

/// A renamed test's runs: in each build the outcome under the new name where it has one, else
/// the outcome under the old name.
pub(crate) fn merge(old: &[Run], new: &[Run]) -> Vec<Run> {
    let mut starts: Vec<i64> = old.iter().chain(new).map(|r| r.first).collect();
    starts.sort_unstable();
    starts.dedup();
    let mut out: Vec<Run> = starts
        .into_iter()
        .map(|first| Run {
            first,
            status: outcome_at(new, first).or(outcome_at(old, first)),
        })
        .collect();
    normalize(&mut out);
    out
}

/// The row changes that turn `old` into `new`: run starts to delete, and runs to write.
pub(crate) fn diff(old: &[Run], new: &[Run]) -> (Vec<i64>, Vec<Run>) {
    let delete = old
        .iter()
        .filter(|o| !new.iter().any(|n| n.first == o.first))
        .map(|o| o.first)
        .collect();
    let upsert = new.iter().filter(|n| !old.contains(n)).copied().collect();
    (delete, upsert)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Status::{Failed as F, Passed as P};

    fn runs(list: &[(i64, Option<Status>)]) -> Vec<Run> {
        list.iter()
            .map(|&(first, status)| Run { first, status })
            .collect()
    }

    /// Every build's outcome, for comparing lanes build by build.
    fn expand(runs: &[Run], numbers: &[i64]) -> Vec<Option<Status>> {
        numbers.iter().map(|&n| outcome_at(runs, n)).collect()
    }

    #[test]
    fn appending_the_same_outcome_writes_nothing() {
        let mut r = runs(&[(1, Some(P))]);
        set_outcome(&mut r, &[1, 2, 3], 3, Some(P));
        assert_eq!(r, runs(&[(1, Some(P))]));
    }

    #[test]
    fn a_late_build_takes_its_place_and_keeps_its_neighbours() {
        let numbers = [1, 2, 3, 4];
        let mut r = runs(&[(1, Some(P))]);
        // Build 3 arrives after 1, 2 and 4, and failed.
        set_outcome(&mut r, &numbers, 3, Some(F));
        assert_eq!(expand(&r, &numbers), [Some(P), Some(P), Some(F), Some(P)]);
        // Failing again in 2 joins the run.
        set_outcome(&mut r, &numbers, 2, Some(F));
        assert_eq!(r, runs(&[(1, Some(P)), (2, Some(F)), (4, Some(P))]));
        // Passing again in 3 splits it back.
        set_outcome(&mut r, &numbers, 3, Some(P));
        assert_eq!(expand(&r, &numbers), [Some(P), Some(F), Some(P), Some(P)]);
        assert_eq!(r, runs(&[(1, Some(P)), (2, Some(F)), (3, Some(P))]));
    }

    #[test]
    fn a_missing_test_is_a_run_of_nothing() {
        let numbers = [1, 2, 3];
        let mut r = Vec::new();
        // Build 3 was already there without the test: it stays without it.
        set_outcome(&mut r, &numbers, 2, Some(F));
        assert_eq!(expand(&r, &numbers), [None, Some(F), None]);
        set_outcome(&mut r, &numbers, 3, Some(F));
        assert_eq!(r, runs(&[(2, Some(F))]));
        set_outcome(&mut r, &numbers, 3, None);
        assert_eq!(expand(&r, &numbers), [None, Some(F), None]);
    }

    #[test]
    fn removing_a_build_keeps_the_others() {
        let numbers = [1, 2, 3, 4];
        let mut r = runs(&[(1, Some(P)), (2, Some(F)), (3, Some(P))]);
        remove_build(&mut r, &numbers, 2);
        assert_eq!(expand(&r, &[1, 3, 4]), [Some(P), Some(P), Some(P)]);
        assert_eq!(r, runs(&[(1, Some(P))]));
        let mut r = runs(&[(1, Some(P)), (3, Some(F))]);
        remove_build(&mut r, &numbers, 3);
        assert_eq!(expand(&r, &[1, 2, 4]), [Some(P), Some(P), Some(F)]);
    }

    #[test]
    fn diff_names_only_what_changed() {
        let old = runs(&[(1, Some(P)), (3, Some(F))]);
        let new = runs(&[(1, Some(P)), (3, Some(P)), (5, Some(F))]);
        let (delete, upsert) = diff(&old, &new);
        assert!(delete.is_empty());
        assert_eq!(upsert, runs(&[(3, Some(P)), (5, Some(F))]));
        let (delete, upsert) = diff(&new, &old[..1]);
        assert_eq!(delete, [3, 5]);
        assert!(upsert.is_empty());
    }

    #[test]
    fn a_renamed_test_joins_its_old_runs() {
        // Old name: passed 1-4, failed 5, gone from 6. New name from 6: failed, passed from 8.
        let old = runs(&[(1, Some(P)), (5, Some(F)), (6, None)]);
        let new = runs(&[(6, Some(F)), (8, Some(P))]);
        assert_eq!(
            merge(&old, &new),
            runs(&[(1, Some(P)), (5, Some(F)), (8, Some(P))])
        );
        assert_eq!(merge(&[], &new), new);
    }
}
