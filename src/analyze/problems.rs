//! Problems: runs of consecutive failures of one test, possibly across several builders.
//!
//! On each lane, a failing *streak* runs from a failing build to the last failing build before the
//! next pass (builds without evidence neither end nor extend it). Streaks are taken in time order: a
//! streak that starts while a Problem is open joins it; otherwise it opens a new one. A Problem is
//! fixed when every builder in it has passed again, but a retired builder need not: its failures
//! still belong to the Problem (and narrow its suspects), and other builders' streaks join it until
//! the retired builder's last failure. A Problem whose every builder is retired and never passed
//! again is neither open nor fixed (a retired episode); a streak still joins it on a builder
//! that has not passed the test since the Problem's last failure. `docs/ARCHITECTURE.md` states
//! the whole rule.

use super::{Evidence, Lane};
use crate::store::Id;

/// A build, as Problems refer to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct At {
    pub lane: Id,
    pub builder: String,
    pub build: Id,
    pub number: i64,
    pub time: i64,
    pub revision: Option<String>,
}

/// One lane's part in a Problem.
#[derive(Clone, Debug)]
pub(crate) struct LanePart {
    pub lane: Id,
    pub builder: String,
    /// The builds after the lane's last pass before it failed, up to its first failure (inclusive):
    /// their changes hold the suspects.
    pub start_window: Vec<Id>,
    /// Whether the lane passed before it failed (if not, its window narrows nothing).
    pub passed_before: bool,
    /// The builds after the lane's last failure up to the pass that fixed it (inclusive).
    pub fix_window: Vec<Id>,
    pub fixed: bool,
    pub first_failure: At,
    pub last_failure: At,
    /// The builds of this lane in the Problem where the test failed.
    pub failing_builds: Vec<Id>,
}

/// One Problem of one test, before it is stored.
#[derive(Clone, Debug)]
pub(crate) struct Episode {
    pub parts: Vec<LanePart>,
    pub first_failure: At,
    pub last_failure: At,
    /// The pass that fixed it (the last builder's), if it is fixed.
    pub fixed_at: Option<At>,
    pub open: bool,
    pub failures: u64,
}

impl Episode {
    /// The lane whose first failure opened the Problem.
    pub(crate) fn opening_part(&self) -> &LanePart {
        self.parts
            .iter()
            .find(|p| p.lane == self.first_failure.lane)
            .unwrap_or(&self.parts[0])
    }
}

struct Streak {
    lane: usize,
    /// Step indexes.
    first: usize,
    last: usize,
    failures: u64,
    /// The next pass, if any.
    fixed_by: Option<usize>,
    /// The last pass before it, if any.
    passed_before: Option<usize>,
}

fn at(lane: &Lane, step: usize) -> At {
    let s = &lane.steps[step];
    At {
        lane: lane.lane,
        builder: lane.builder.clone(),
        build: s.build,
        number: s.number,
        time: s.time,
        revision: s.revision.as_deref().map(str::to_owned),
    }
}

fn streaks(index: usize, lane: &Lane) -> Vec<Streak> {
    let mut out: Vec<Streak> = Vec::new();
    let mut last_pass: Option<usize> = None;
    let mut current: Option<Streak> = None;
    for (i, step) in lane.steps.iter().enumerate() {
        match step.evidence {
            Evidence::Fail => match &mut current {
                Some(streak) => {
                    streak.last = i;
                    streak.failures += 1;
                }
                None => {
                    current = Some(Streak {
                        lane: index,
                        first: i,
                        last: i,
                        failures: 1,
                        fixed_by: None,
                        passed_before: last_pass,
                    });
                }
            },
            Evidence::Pass | Evidence::RetryPass => {
                if let Some(mut streak) = current.take() {
                    streak.fixed_by = Some(i);
                    out.push(streak);
                }
                last_pass = Some(i);
            }
            Evidence::None => {}
        }
    }
    out.extend(current);
    out
}

/// Groups a test's failures on the lanes of one branch into Problems, oldest first.
pub(crate) fn episodes(lanes: &[Lane]) -> Vec<Episode> {
    let mut all: Vec<Streak> = lanes
        .iter()
        .enumerate()
        .flat_map(|(i, lane)| streaks(i, lane))
        .collect();
    let start_key = |s: &Streak| {
        let lane = &lanes[s.lane];
        (
            lane.steps[s.first].time,
            lane.builder.as_str(),
            lane.steps[s.first].number,
        )
    };
    all.sort_by(|a, b| start_key(a).cmp(&start_key(b)));

    // Group streaks: one joins the open group if it starts before the group's close, or — while
    // every streak of the group is a retired builder's that never passed again — if its builder has
    // not passed the test since the group's last failure.
    let mut groups: Vec<Vec<Streak>> = Vec::new();
    let mut close: Option<i64> = None; // None: open for ever; Some(t): fixed at time t.
    let mut unfixed_retired_only = false;
    let mut last_failure = i64::MIN;
    let retired_unfixed = |s: &Streak| lanes[s.lane].retired && s.fixed_by.is_none();
    let passed_between = |lane: &Lane, after: i64, before: i64| {
        lane.steps.iter().any(|step| {
            step.time > after
                && step.time < before
                && matches!(step.evidence, Evidence::Pass | Evidence::RetryPass)
        })
    };
    for streak in all {
        let lane = &lanes[streak.lane];
        let start = lane.steps[streak.first].time;
        let joins = match (groups.last(), close) {
            (Some(_), None) => true,
            (Some(_), Some(t)) => {
                start < t || (unfixed_retired_only && !passed_between(lane, last_failure, start))
            }
            (None, _) => false,
        };
        let end = |s: &Streak| -> Option<i64> {
            let lane = &lanes[s.lane];
            if retired_unfixed(s) {
                // A retired builder stopped keeping it open after its last failure.
                return Some(lane.steps[s.last].time);
            }
            s.fixed_by.map(|i| lane.steps[i].time)
        };
        let last = lane.steps[streak.last].time;
        if joins {
            close = match (close, end(&streak)) {
                (Some(a), Some(b)) => Some(a.max(b)),
                _ => None,
            };
            unfixed_retired_only &= retired_unfixed(&streak);
            last_failure = last_failure.max(last);
            groups.last_mut().expect("a group").push(streak);
        } else {
            close = end(&streak);
            unfixed_retired_only = retired_unfixed(&streak);
            last_failure = last;
            groups.push(vec![streak]);
        }
    }
    groups.into_iter().map(|g| episode(lanes, g)).collect()
}

fn episode(lanes: &[Lane], group: Vec<Streak>) -> Episode {
    let mut parts: Vec<LanePart> = Vec::new();
    let mut failures = 0;
    let mut fixed_at: Option<At> = None;
    let mut open = false;
    // A lane's streaks in a Problem, oldest first: its window starts at the first, its fix is the last's.
    let mut by_lane: Vec<(usize, Vec<&Streak>)> = Vec::new();
    for streak in &group {
        failures += streak.failures;
        match by_lane.iter_mut().find(|(l, _)| *l == streak.lane) {
            Some((_, list)) => list.push(streak),
            None => by_lane.push((streak.lane, vec![streak])),
        }
    }
    for (index, list) in by_lane {
        let lane = &lanes[index];
        let first = list[0];
        let last = list[list.len() - 1];
        let window_start = first.passed_before.map_or(first.first, |p| p + 1);
        let start_window = lane.steps[window_start..=first.first]
            .iter()
            .map(|s| s.build)
            .collect();
        let fix_window = last.fixed_by.map_or_else(Vec::new, |fix| {
            lane.steps[last.last + 1..=fix]
                .iter()
                .map(|s| s.build)
                .collect()
        });
        let failing_builds = list
            .iter()
            .flat_map(|s| lane.steps[s.first..=s.last].iter())
            .filter(|s| s.evidence.is_fail())
            .map(|s| s.build)
            .collect();
        match last.fixed_by {
            Some(fix) => {
                let fix_at = at(lane, fix);
                // The last pass by (time, builder, number), as first and last failures: builds
                // at the same second are ordered alike whichever lane's streak came first.
                let key = |a: &At| (a.time, a.builder.clone(), a.number);
                if fixed_at.as_ref().is_none_or(|f| key(&fix_at) > key(f)) {
                    fixed_at = Some(fix_at);
                }
            }
            None if !lane.retired => open = true,
            None => {}
        }
        parts.push(LanePart {
            lane: lane.lane,
            builder: lane.builder.clone(),
            start_window,
            passed_before: first.passed_before.is_some(),
            fix_window,
            fixed: last.fixed_by.is_some(),
            first_failure: at(lane, first.first),
            last_failure: at(lane, last.last),
            failing_builds,
        });
    }
    let first_failure = parts
        .iter()
        .map(|p| &p.first_failure)
        .min_by_key(|a| (a.time, a.builder.clone(), a.number))
        .cloned()
        .expect("a Problem has a failure");
    let last_failure = parts
        .iter()
        .map(|p| &p.last_failure)
        .max_by_key(|a| (a.time, a.builder.clone(), a.number))
        .cloned()
        .expect("a Problem has a failure");
    Episode {
        parts,
        first_failure,
        last_failure,
        fixed_at: if open { None } else { fixed_at },
        open,
        failures,
    }
}

/// The suspects: the changes every narrowing lane's window shares (a lane that never passed before
/// narrows nothing); where they share none, the opening lane's window.
pub(crate) fn narrow<T: Clone + PartialEq>(windows: &[(bool, Vec<T>)], opening: &[T]) -> Vec<T> {
    let narrowing: Vec<&Vec<T>> = windows
        .iter()
        .filter(|(narrows, _)| *narrows)
        .map(|(_, w)| w)
        .collect();
    let Some((first, rest)) = narrowing.split_first() else {
        return opening.to_vec();
    };
    let shared: Vec<T> = first
        .iter()
        .filter(|c| rest.iter().all(|w| w.contains(c)))
        .cloned()
        .collect();
    if shared.is_empty() {
        opening.to_vec()
    } else {
        shared
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::{Evidence, Step};

    /// Every builder that failed it is retired and never passed it again: not open, and nothing
    /// fixed it (the `retired` state `problems` gives it).
    fn retired(episode: &Episode) -> bool {
        !episode.open && episode.fixed_at.is_none()
    }

    /// A lane from a pattern: `P` pass, `F` fail, `.` no evidence, `R` retry pass; build k at time
    /// `offset + 10 k`, build ids `lane * 1000 + k`.
    fn lane(id: Id, name: &str, offset: i64, pattern: &str) -> Lane {
        let steps = pattern
            .chars()
            .enumerate()
            .map(|(k, c)| Step {
                build: id * 1000 + k as i64,
                number: k as i64,
                time: offset + 10 * k as i64,
                revision: None,
                status: None,
                evidence: match c {
                    'P' => Evidence::Pass,
                    'F' => Evidence::Fail,
                    'R' => Evidence::RetryPass,
                    _ => Evidence::None,
                },
            })
            .collect();
        Lane {
            lane: id,
            builder: name.to_owned(),
            retired: false,
            steps,
        }
    }

    #[test]
    fn one_builder_break_and_fix() {
        let e = episodes(&[lane(1, "a", 0, "PPFF.FPP")]);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].first_failure.number, 2);
        assert_eq!(e[0].last_failure.number, 5);
        assert_eq!(e[0].fixed_at.as_ref().unwrap().number, 6);
        assert_eq!(e[0].failures, 3);
        assert!(!e[0].open);
        let part = &e[0].parts[0];
        assert_eq!(part.start_window, [1002]);
        assert_eq!(part.fix_window, [1006]);
    }

    #[test]
    fn failures_on_other_builders_join_while_open() {
        // a fails from t=20; b fails from t=25 while a still fails; a fixed at t=50, b at t=65.
        let e = episodes(&[lane(1, "a", 0, "PPFFFPP"), lane(2, "b", 5, "PPFFFFPP")]);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].parts.len(), 2);
        assert_eq!(e[0].fixed_at.as_ref().unwrap().builder, "b");
        assert_eq!(e[0].failures, 7);
        // After both passed, a new failure is a new Problem.
        let e = episodes(&[lane(1, "a", 0, "PFPPPFP"), lane(2, "b", 0, "PFPPPPP")]);
        assert_eq!(e.len(), 2);
        assert_eq!(e[1].parts.len(), 1);
    }

    #[test]
    fn an_unfixed_streak_keeps_it_open_unless_retired() {
        let mut lanes = vec![lane(1, "a", 0, "PFFF")];
        assert!(episodes(&lanes)[0].open);
        lanes[0].retired = true;
        assert!(!episodes(&lanes)[0].open);
    }

    #[test]
    fn a_retired_builder_does_not_split_the_problem_it_opened() {
        // x fails first (t=10) and never builds again; y and z fail in their next builds (t=30,
        // t=42) without passing since; y passes at t=50, z at t=72.
        let mut lanes = vec![
            lane(1, "x", 0, "PF"),
            lane(2, "y", 0, "P..FFP"),
            lane(3, "z", 2, "P...FFFP"),
        ];
        lanes[0].retired = true;
        let e = episodes(&lanes);
        assert_eq!(e.len(), 1, "{e:#?}");
        assert_eq!(e[0].parts.len(), 3);
        assert_eq!(e[0].first_failure.builder, "x");
        assert!(!e[0].open && !retired(&e[0]));
        assert_eq!(e[0].fixed_at.as_ref().unwrap().builder, "z");
        // Until z passes, it is open (x need not pass).
        lanes[2] = lane(3, "z", 2, "P...FFF");
        let e = episodes(&lanes);
        assert_eq!(e.len(), 1);
        assert!(e[0].open);
    }

    #[test]
    fn a_problem_of_retired_builders_only_is_neither_open_nor_fixed() {
        // Only x fails; y passes all along.
        let mut lanes = vec![lane(1, "x", 0, "PF"), lane(2, "y", 5, "PPPP")];
        lanes[0].retired = true;
        let e = episodes(&lanes);
        assert_eq!(e.len(), 1);
        assert!(retired(&e[0]) && e[0].fixed_at.is_none() && !e[0].open);
        // y breaks later, after passing since x's failure: a Problem of its own.
        lanes[1] = lane(2, "y", 5, "PPPPFF");
        let e = episodes(&lanes);
        assert_eq!(e.len(), 2, "{e:#?}");
        assert!(retired(&e[0]));
        assert!(e[1].open && e[1].parts[0].builder == "y");
        // A builder that has not passed the test since x's failure fails it: it joins x's Problem
        // (here a new builder, x's replacement, whose first builds fail).
        lanes[1] = lane(2, "y", 5, "PPPP");
        lanes.push(lane(3, "x2", 100, "FF"));
        let e = episodes(&lanes);
        assert_eq!(e.len(), 1, "{e:#?}");
        assert_eq!(e[0].parts.len(), 2);
        assert!(e[0].open);
    }

    #[test]
    fn suspects_are_narrowed_by_every_failing_builder() {
        let windows = [(true, vec![3, 4]), (true, vec![2, 3, 4]), (true, vec![4])];
        assert_eq!(narrow(&windows, &[3, 4]), [4]);
        // A lane that never passed before narrows nothing.
        assert_eq!(
            narrow(&[(true, vec![3, 4]), (false, vec![9])], &[3, 4]),
            [3, 4]
        );
        // Nothing shared (e.g. inconsistent evidence): the opening lane's window.
        assert_eq!(narrow(&[(true, vec![1]), (true, vec![2])], &[1]), [1]);
    }
}
