//! Pruning: dropping old builds and their results while keeping every Problem's story.
//!
//! On each lane, the builds before a cut-off go: the cut-off is the first build at or after the
//! horizon, moved back so that it never cuts through a Problem (one still open keeps every build
//! from the last pass before it). Problems themselves are never dropped; those whose builds are all
//! gone are left as they are by `reanalyze`.

use crate::clock::{self, Micros};
use crate::error::Result;
use crate::runs;
use crate::store::{Forget, Id, ProblemFilter, Run, RunsOf, Store};
use crate::transaction;
use crate::views::prune::LanePrune;

/// What a prune did: each lane's builds dropped, older than `horizon`.
pub(crate) struct Pruned {
    /// µs: builds older than this went (or would go).
    pub horizon: Micros,
    pub lanes: Vec<LanePrune>,
}

/// Drops builds older than `age` seconds on every lane, or only says what would go.
pub(crate) fn prune(store: &mut dyn Store, age: i64, dry_run: bool) -> Result<Pruned> {
    let horizon = clock::to_micros(clock::now()) - age.saturating_mul(1_000_000);
    let lanes = prune_before(store, horizon, dry_run)?;
    Ok(Pruned { horizon, lanes })
}

/// Drops builds older than `horizon` (µs) on every lane, or only says what would go.
fn prune_before(store: &mut dyn Store, horizon: i64, dry_run: bool) -> Result<Vec<LanePrune>> {
    if dry_run {
        transaction::dry_run(store, |store| run(store, horizon, true))
    } else {
        transaction::write(store, |store| run(store, horizon, false))
    }
}

fn run(store: &mut dyn Store, horizon: i64, dry_run: bool) -> Result<Vec<LanePrune>> {
    let problems = store.problems(&ProblemFilter::default())?;
    let lanes = store.lanes()?;
    let mut builds = Vec::with_capacity(lanes.len());
    for lane in &lanes {
        builds.push(store.lane_builds(lane.id)?);
    }
    // On each lane, the first build to keep by age…
    let by_age: Vec<usize> = builds
        .iter()
        .map(|b| b.iter().position(|b| b.time >= horizon).unwrap_or(b.len()))
        .collect();
    let mut keep_from = by_age.clone();
    // …moved back so that a Problem is kept whole or dropped whole: one that is not wholly before
    // the cut on one of its builders keeps, on every one of them, its failures and the last pass
    // before them (its suspects' window); one still open keeps the problems::BEFORE builds before
    // them too (its flakiness evidence), so that it can go on being judged.
    let lane_of = |builder: &str, branch: &Option<String>| {
        lanes
            .iter()
            .position(|l| l.builder == builder && l.branch == *branch)
    };
    loop {
        let mut changed = false;
        for problem in &problems {
            let kept = problem.builders.iter().any(|part| {
                lane_of(&part.builder, &problem.branch).is_some_and(|l| {
                    let cut = builds[l].get(keep_from[l]).map_or(i64::MAX, |b| b.number);
                    part.fixed_number.is_none_or(|fixed| fixed >= cut)
                })
            });
            if !kept {
                continue;
            }
            for part in &problem.builders {
                let Some(l) = lane_of(&part.builder, &problem.branch) else {
                    continue;
                };
                let first = builds[l]
                    .iter()
                    .position(|b| b.number >= part.first_number)
                    .unwrap_or(0);
                let margin = if problem.open {
                    crate::problems::BEFORE
                } else {
                    1
                };
                let need = first.saturating_sub(margin);
                if need < keep_from[l] {
                    keep_from[l] = need;
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    let mut report = Vec::new();
    for (l, lane) in lanes.iter().enumerate() {
        let builds = &builds[l];
        let keep_from = keep_from[l];
        let by_age = by_age[l];
        let gone = &builds[..keep_from.min(builds.len())];
        report.push(LanePrune {
            builder: lane.builder.clone(),
            branch: lane.branch.clone(),
            builds: gone.len(),
            from: gone.first().map(|b| b.number),
            to: gone.last().map(|b| b.number),
            kept_for_problems: by_age.saturating_sub(keep_from),
        });
        if dry_run || gone.is_empty() {
            continue;
        }
        // The runs now start at the first kept build (or go, with the lane's last build).
        let first_kept = builds.get(keep_from).map(|b| b.number);
        let mut writes: Vec<(i64, Vec<i64>, Vec<Run>)> = Vec::new();
        for (test, old) in store.runs(RunsOf::Lane(lane.id))? {
            let new: Vec<Run> = match first_kept {
                Some(first) => {
                    let mut new: Vec<Run> =
                        old.iter().filter(|r| r.first > first).copied().collect();
                    if let Some(status) = runs::outcome_at(&old, first) {
                        new.insert(
                            0,
                            Run {
                                first,
                                status: Some(status),
                            },
                        );
                    }
                    runs::normalize(&mut new);
                    new
                }
                None => Vec::new(),
            };
            if new != old {
                let (delete, upsert) = runs::diff(&old, &new);
                writes.push((test, delete, upsert));
            }
        }
        store.write_runs(lane.id, &writes)?;
        // A kept build whose coverage is stored relative to one that goes keeps it.
        let ids: Vec<Id> = gone.iter().map(|b| b.id).collect();
        crate::coverage::stored::detach_from(store, lane.id, &ids)?;
        for build in gone {
            store.forget_build(build.id, Forget::Build)?;
        }
        // A lane that lost every build is cut after the last of them: a build that comes later
        // is judged as one after any cut is (its first BEFORE builds without evidence before it).
        let after_gone = gone.last().map_or(i64::MAX, |b| b.number.saturating_add(1));
        store.set_pruned_before(lane.id, first_kept.unwrap_or(after_gone))?;
    }
    Ok(report)
}
