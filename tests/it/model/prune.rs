//! `prune` in the model: which builds it keeps (`docs/output.md`, *prune*: a Problem is kept whole
//! with the last pass before it, an open one with the 50 builds before it too), and the Problems it
//! leaves as they were (`docs/schema.md`, `lanes.pruned_before`: a Problem that is no longer open
//! and, on one of its builders, lies before the pruned builds' end or starts within 50 builds
//! after it). Written from those documents, with no code shared with `src/prune.rs`.

use std::collections::BTreeMap;

use super::history::Build;
use super::rules::Judged;

/// Builds of evidence before a Problem, and after the cut.
const BEFORE: usize = 50;

/// A lane: (builder, branch).
pub type LaneKey = (String, Option<String>);

/// The builds present, by lane, in build-number order.
pub fn lanes<'a>(builds: &[&'a Build]) -> BTreeMap<LaneKey, Vec<&'a Build>> {
    let mut out: BTreeMap<LaneKey, Vec<&Build>> = BTreeMap::new();
    for b in builds {
        out.entry((b.builder.clone(), b.branch.clone()))
            .or_default()
            .push(b);
    }
    for list in out.values_mut() {
        list.sort_by_key(|b| b.number);
    }
    out
}

/// The build numbers each lane keeps when builds older than `horizon` (seconds) go and `problems`
/// are what is stored.
pub fn kept(builds: &[&Build], problems: &[Judged], horizon: i64) -> BTreeMap<LaneKey, Vec<i64>> {
    let lanes = lanes(builds);
    // The first build kept by age…
    let mut keep_from: BTreeMap<&LaneKey, usize> = lanes
        .iter()
        .map(|(k, list)| {
            let i = list
                .iter()
                .position(|b| b.time >= horizon)
                .unwrap_or(list.len());
            (k, i)
        })
        .collect();
    // …moved back until every Problem that is not wholly before the cut on all of its builders
    // keeps, on each of them, its failures and the build before them (the 50 before them when it
    // is open).
    loop {
        let mut changed = false;
        for p in problems {
            let key = |builder: &str| (builder.to_owned(), p.problem.branch.clone());
            // (A lane all of whose builds went earlier has no cut: nothing of it is kept.)
            let wholly_before = p.parts.iter().all(|part| {
                let k = key(&part.builder);
                let cut = lanes
                    .get(&k)
                    .and_then(|list| list.get(keep_from[&k]))
                    .map_or(i64::MAX, |b| b.number);
                part.fixed.is_some_and(|fixed| fixed < cut)
            });
            if wholly_before {
                continue;
            }
            let margin = if p.problem.state == "open" { BEFORE } else { 1 };
            for part in &p.parts {
                let k = key(&part.builder);
                let Some(list) = lanes.get(&k) else {
                    continue;
                };
                let first = list
                    .iter()
                    .position(|b| b.number >= part.first)
                    .unwrap_or(0);
                let need = first.saturating_sub(margin);
                let from = keep_from.get_mut(&k).unwrap();
                if need < *from {
                    *from = need;
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    lanes
        .iter()
        .map(|(k, list)| {
            let numbers = list[keep_from[k]..].iter().map(|b| b.number).collect();
            (k.clone(), numbers)
        })
        .collect()
}

/// Whether a stored Problem stays as it is because a prune took what judging it needs.
pub fn frozen(p: &Judged, builds: &[&Build], pruned: &BTreeMap<LaneKey, i64>) -> bool {
    p.problem.state != "open"
        && p.parts.iter().any(|part| {
            let Some(&cut) = pruned.get(&(part.builder.clone(), p.problem.branch.clone())) else {
                return false;
            };
            let since = builds
                .iter()
                .filter(|b| {
                    b.builder == part.builder
                        && b.branch == p.problem.branch
                        && b.number >= cut
                        && b.number < part.first
                })
                .count();
            part.first < cut || since < BEFORE
        })
}

/// The Problems after a judgment, once a prune took builds: the stored ones it left as they were
/// (renamed with their test), and the recomputed ones except those that one of them stands for
/// (one whose first failure is the stored one's first failure or among its failures, or whose
/// span overlaps the stored one's in time). `history` is every build of the history, pruned or
/// not, for the times of the builds a Problem names.
pub fn judge(
    stored: &[Judged],
    fresh: Vec<Judged>,
    builds: &[&Build],
    history: &[Build],
    pruned: &BTreeMap<LaneKey, i64>,
    canonical: &dyn Fn(&str) -> String,
) -> Vec<Judged> {
    let mut out: Vec<Judged> = stored
        .iter()
        .filter(|p| frozen(p, builds, pruned))
        .cloned()
        .map(|mut p| {
            p.problem.test = canonical(&p.problem.test);
            p
        })
        .collect();
    let same = |z: &Judged, f: &Judged| {
        z.problem.test == f.problem.test && z.problem.branch == f.problem.branch
    };
    let holds_first = |z: &Judged, f: &Judged| {
        z.problem.first_failure == f.problem.first_failure
            || f.failing.contains(&z.problem.first_failure)
    };
    // A frozen Problem whose failures a recomputed one holds, and which that one outlasts (later
    // failures joined it since), is judged again: it is that one.
    out.retain(|z| {
        !fresh
            .iter()
            .any(|f| same(z, f) && holds_first(z, f) && outlasts(f, z, history))
    });
    let kept = out.clone();
    let (standing, stood_for): (Vec<Judged>, Vec<Judged>) = fresh.into_iter().partition(|f| {
        !kept.iter().any(|z| {
            same(z, f) && (holds_first(z, f) || overlap(z, f, history)) && !outlasts(f, z, history)
        })
    });
    out.extend(standing);
    // A stored Problem (not one kept frozen above) that begins where a recomputed one that a
    // frozen one stands for begins is not the frozen one: the recomputed one reached the frozen
    // one only because prune took the passes between them, so it stays as it was.
    let begins_as =
        |a: &Judged, b: &Judged| same(a, b) && a.problem.first_failure == b.problem.first_failure;
    out.extend(
        stored
            .iter()
            .map(|p| {
                let mut p = p.clone();
                p.problem.test = canonical(&p.problem.test);
                p
            })
            .filter(|p| {
                !kept.iter().any(|z| begins_as(z, p)) && stood_for.iter().any(|f| begins_as(f, p))
            }),
    );
    out.sort_by(|a, b| a.problem.cmp(&b.problem));
    out
}

/// Whether `a`'s span ends after `b`'s (*Retired builders* in ARCHITECTURE.md: the latest end of
/// its streaks; for ever while open).
fn outlasts(a: &Judged, b: &Judged, history: &[Build]) -> bool {
    span(a, history).1 > span(b, history).1
}

/// Whether two Problems' spans overlap in time: each runs from its first failure to the latest
/// end of its streaks (the pass that ended one, a retired builder's last failure), for ever while
/// open. With both Problems' streaks there, the streaks would be one Problem (the joining rule).
fn overlap(a: &Judged, b: &Judged, history: &[Build]) -> bool {
    let (a, b) = (span(a, history), span(b, history));
    a.0 < b.1 && b.0 < a.1
}

/// A Problem's span in time: from its first failure to the latest end of its streaks.
fn span(p: &Judged, history: &[Build]) -> (i64, i64) {
    let time = |(builder, number): &(String, i64)| {
        history
            .iter()
            .find(|b| b.builder == *builder && b.number == *number && b.branch == p.problem.branch)
            .map(|b| b.time)
            .expect("a build of the history")
    };
    let first = time(&p.problem.first_failure);
    let end = match (&p.problem.fixed, p.problem.state) {
        (_, "open") => i64::MAX,
        (Some(fixed), _) => time(fixed).max(time(&p.problem.last_failure)),
        (None, _) => time(&p.problem.last_failure),
    };
    (first, end)
}
