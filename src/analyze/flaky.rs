//! Flakiness: how intermittent a test is, from the evidence of its outcomes (see `docs/flaky.md`).
//!
//! On each lane, the last `window` builds with evidence (a pass or a failure) are a test's *runs*.
//! A *flip* is a change between pass and fail from one run to the next, unless it borders a
//! consistent failing streak (`streak` or more failing runs in a row): that is a real break or fix,
//! and a Problem explains it. Evidence, strongest first: retry flakes (failed, then passed within a
//! build), same-revision disagreement (one revision both passed and failed on one builder), and
//! unexplained flips, weighted towards recent runs.

use super::problems::At;
use super::{Evidence, Lane};

/// The knobs of the score; `docs/flaky.md` gives the defaults and why.
#[derive(Clone, Debug)]
pub(crate) struct Options {
    /// Runs per lane looked at (the most recent).
    pub window: usize,
    /// Only runs at or after this time (µs).
    pub since: Option<i64>,
    /// Only runs at or before this time (µs): the score as it stood then.
    pub until: Option<i64>,
    /// Only these lanes, and on each only the builds numbered from..=to: `(lane, from, to)`.
    pub ranges: Option<Vec<(crate::store::Id, i64, i64)>>,
    /// A failing streak this long or longer is a real break, not flakiness.
    pub streak: usize,
    /// The weight of each older transition is `1 - alpha` times the next one's.
    pub alpha: f64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            window: 100,
            since: None,
            until: None,
            ranges: None,
            streak: 3,
            alpha: 0.05,
        }
    }
}

/// A test's flakiness evidence on the lanes given.
#[derive(Clone, Debug, Default)]
pub(crate) struct Stats {
    pub runs: u64,
    pub failures: u64,
    /// Unexplained flips.
    pub flips: u64,
    /// `flips / (runs - 1)`, over the lanes (transitions counted per lane).
    pub flip_rate: f64,
    /// The recency-weighted flip rate.
    pub weighted_flip_rate: f64,
    pub retry_flakes: u64,
    /// Revisions that both passed and failed on one builder.
    pub same_revision: u64,
    /// Short failing streaks (each bordered by passes or the window's start).
    pub flake_streaks: u64,
    /// Separate incidents of short failures: short streaks on several builders at the same time
    /// (one short break that every builder saw) are one incident.
    pub incidents: u64,
    pub score: f64,
    /// Builders where the test showed flaky evidence.
    pub builders: Vec<String>,
    pub last_flake: Option<At>,
}

/// The builds of a lane whose outcome is flaky evidence: retry flakes, and failures in short
/// failing streaks (fewer than `streak` in a row) — the flips no Problem explains.
pub(crate) fn flake_builds(lane: &Lane, options: &Options) -> Vec<crate::store::Id> {
    let runs: Vec<usize> = (0..lane.steps.len())
        .filter(|&i| lane.steps[i].evidence != Evidence::None)
        .collect();
    let mut out = Vec::new();
    let mut k = 0;
    while k < runs.len() {
        let step = &lane.steps[runs[k]];
        if step.evidence == Evidence::RetryPass {
            out.push(step.build);
        }
        if step.evidence.is_fail() {
            let start = k;
            while k < runs.len() && lane.steps[runs[k]].evidence.is_fail() {
                k += 1;
            }
            if k - start < options.streak {
                out.extend(runs[start..k].iter().map(|&i| lane.steps[i].build));
            }
        } else {
            k += 1;
        }
    }
    out
}

/// Where, in a lane's builds, the runs that [`stats`] weighs with `options` begin: the index of
/// the first of its last `window` builds with evidence of the test (in `runs`) within `since` and
/// `until`; 0 where it has fewer, or where `options.ranges` picks the builds. `stats` of the lane
/// from there is `stats` of the whole lane: it weighs nothing before it, and a test with no
/// evidence of failing in it scores 0 either way.
pub(crate) fn weighed_from(
    builds: &[super::BuildInfo],
    runs: &[crate::store::Run],
    options: &Options,
) -> usize {
    if options.ranges.is_some() || options.window == 0 {
        return 0;
    }
    let mut seen = 0;
    for (i, b) in builds.iter().enumerate().rev() {
        let status = crate::runs::outcome_at(runs, b.number);
        if b.bad
            || Evidence::of(status) == Evidence::None
            || options.since.is_some_and(|t| b.time < t)
            || options.until.is_some_and(|t| b.time > t)
        {
            continue;
        }
        seen += 1;
        if seen == options.window {
            return i;
        }
    }
    0
}

/// The score over which a test counts as intermittent (and its Problems are intermittent).
pub(crate) const THRESHOLD: f64 = 0.015;

pub(crate) fn stats(lanes: &[Lane], options: &Options) -> Stats {
    weigh(lanes, options, true)
}

/// The part of a test's [`Stats`] that needs neither its revisions nor its builders: its runs,
/// flips, short streaks and retries. Judging whether a Problem is intermittent reads only these of
/// the history around it.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Pattern {
    pub runs: u64,
    pub failures: u64,
    pub flip_rate: f64,
    pub weighted_flip_rate: f64,
    pub retry_flakes: u64,
    pub incidents: u64,
}

/// [`stats`]' figures of [`Pattern`] (the same values), without sorting the runs' revisions or
/// naming builders.
pub(crate) fn pattern(lanes: &[Lane], options: &Options) -> Pattern {
    Pattern::of(&weigh(lanes, options, false))
}

impl Pattern {
    /// The figures of `stats` that a [`Pattern`] holds.
    fn of(stats: &Stats) -> Pattern {
        Pattern {
            runs: stats.runs,
            failures: stats.failures,
            flip_rate: stats.flip_rate,
            weighted_flip_rate: stats.weighted_flip_rate,
            retry_flakes: stats.retry_flakes,
            incidents: stats.incidents,
        }
    }
}

/// [`stats`]' `same_revision` alone.
pub(crate) fn same_revision(lanes: &[Lane], options: &Options) -> u64 {
    let (mut runs, mut outcomes) = (Vec::new(), Vec::new());
    let mut count = 0;
    for lane in lanes {
        if weighed_runs(lane, options, &mut runs) {
            count += revisions_both(lane, &runs, &mut outcomes);
        }
    }
    count
}

/// Fills `out` with the indexes (into `lane.steps`) of the runs [`stats`] weighs on `lane`;
/// false where `options.ranges` leaves the lane out.
fn weighed_runs(lane: &Lane, options: &Options, out: &mut Vec<usize>) -> bool {
    let range = match &options.ranges {
        Some(ranges) => match ranges.iter().find(|(l, ..)| *l == lane.lane) {
            Some(&(_, from, to)) => Some((from, to)),
            None => return false,
        },
        None => None,
    };
    // Steps are in build-number order: a range is a slice of them.
    let (lo, hi) = match range {
        Some((from, to)) => (
            lane.steps.partition_point(|s| s.number < from),
            lane.steps.partition_point(|s| s.number <= to),
        ),
        None => (0, lane.steps.len()),
    };
    out.clear();
    out.extend((lo..hi.max(lo)).filter(|&i| {
        let s = &lane.steps[i];
        s.evidence != Evidence::None
            && options.since.is_none_or(|t| s.time >= t)
            && options.until.is_none_or(|t| s.time <= t)
    }));
    out.drain(..out.len().saturating_sub(options.window));
    true
}

/// How many revisions both passed and failed among `runs` (indexes into `lane.steps`);
/// `outcomes` is scratch space.
fn revisions_both<'a>(lane: &'a Lane, runs: &[usize], outcomes: &mut Vec<(&'a str, bool)>) -> u64 {
    let fails = runs
        .iter()
        .filter(|&&i| lane.steps[i].evidence.is_fail())
        .count();
    // Where every run passed, or every run failed, no revision did both.
    if fails == 0 || fails == runs.len() {
        return 0;
    }
    outcomes.clear();
    outcomes.extend(runs.iter().filter_map(|&i| {
        let step = &lane.steps[i];
        (step.revision.as_deref()).map(|revision| (revision, step.evidence.is_fail()))
    }));
    // Sorted, each revision's outcomes are together.
    outcomes.sort_unstable();
    outcomes
        .chunk_by(|a, b| a.0 == b.0)
        .filter(|group| group.first().map(|g| g.1) != group.last().map(|g| g.1))
        .count() as u64
}

/// [`stats`]; without `full`, its `same_revision` stays 0, and its `builders` and `last_flake`
/// empty (the rest is the same).
fn weigh(lanes: &[Lane], options: &Options, full: bool) -> Stats {
    // Most tests never fail: nothing to weigh (their runs do not matter to anyone then).
    let any_evidence = lanes.iter().any(|lane| {
        lane.steps
            .iter()
            .any(|s| matches!(s.evidence, Evidence::Fail | Evidence::RetryPass))
    });
    if !any_evidence {
        return Stats {
            runs: lanes
                .iter()
                .map(|l| {
                    let n = l
                        .steps
                        .iter()
                        .filter(|s| s.evidence != Evidence::None)
                        .count();
                    n.min(options.window) as u64
                })
                .sum(),
            ..Stats::default()
        };
    }
    let mut stats = Stats::default();
    let mut transitions = 0u64;
    let mut spans: Vec<(i64, i64)> = Vec::new();
    let (mut weighted, mut weights) = (0.0, 0.0);
    // Scratch space, reused lane after lane.
    let (mut runs, mut streak_len, mut outcomes) = (Vec::new(), Vec::new(), Vec::new());
    for lane in lanes {
        if !weighed_runs(lane, options, &mut runs) || runs.is_empty() {
            continue;
        }
        let runs = &runs[..];
        let fail = |k: usize| lane.steps[runs[k]].evidence.is_fail();
        // The length of the failing streak each failing run belongs to.
        streak_len.clear();
        streak_len.resize(runs.len(), 0usize);
        let mut k = 0;
        let mut lane_streaks = 0u64;
        while k < runs.len() {
            if fail(k) {
                let start = k;
                while k < runs.len() && fail(k) {
                    k += 1;
                }
                for len in &mut streak_len[start..k] {
                    *len = k - start;
                }
                if k - start < options.streak {
                    lane_streaks += 1;
                    // The short streak's time span, from its first failure to the pass after it.
                    let from = lane.steps[runs[start]].time;
                    let to = runs.get(k).map_or(i64::MAX, |&i| lane.steps[i].time);
                    spans.push((from, to));
                }
            } else {
                k += 1;
            }
        }
        let mut lane_flips = 0u64;
        let mut last_flake: Option<usize> = None;
        let n = runs.len();
        for k in 1..n {
            let weight = (1.0 - options.alpha).powi((n - 1 - k) as i32);
            weights += weight;
            if fail(k) == fail(k - 1) {
                continue;
            }
            let failing_side = if fail(k) { k } else { k - 1 };
            if streak_len[failing_side] >= options.streak {
                continue;
            }
            lane_flips += 1;
            weighted += weight;
            last_flake = Some(runs[failing_side].max(last_flake.unwrap_or(0)));
        }
        transitions += (n - 1) as u64;
        let mut lane_retries = 0u64;
        for &i in runs {
            if lane.steps[i].evidence == Evidence::RetryPass {
                lane_retries += 1;
                last_flake = Some(i.max(last_flake.unwrap_or(0)));
            }
        }
        let lane_same_revision = if full {
            revisions_both(lane, runs, &mut outcomes)
        } else {
            0
        };
        stats.runs += n as u64;
        stats.failures += (0..n).filter(|&k| fail(k)).count() as u64;
        stats.flips += lane_flips;
        stats.retry_flakes += lane_retries;
        stats.same_revision += lane_same_revision;
        stats.flake_streaks += lane_streaks;
        if !full {
            continue;
        }
        if lane_retries > 0 || lane_same_revision > 0 || lane_streaks >= 2 {
            stats.builders.push(lane.builder.clone());
        }
        if let Some(i) = last_flake {
            let step = &lane.steps[i];
            let candidate = At {
                lane: lane.lane,
                builder: lane.builder.clone(),
                build: step.build,
                number: step.number,
                time: step.time,
                revision: step.revision.as_deref().map(str::to_owned),
            };
            if stats
                .last_flake
                .as_ref()
                .is_none_or(|l| candidate.time > l.time)
            {
                stats.last_flake = Some(candidate);
            }
        }
    }
    spans.sort_unstable();
    let mut reach = i64::MIN;
    for (from, to) in spans {
        if from >= reach {
            stats.incidents += 1;
        }
        reach = reach.max(to);
    }
    stats.flip_rate = if transitions > 0 {
        stats.flips as f64 / transitions as f64
    } else {
        0.0
    };
    stats.weighted_flip_rate = if weights > 0.0 {
        weighted / weights
    } else {
        0.0
    };
    // One incident alone (a blip, or a break fixed at once, however many builders saw it) is not a
    // pattern: flips count only from the second incident on.
    let pattern = if stats.incidents >= 2 { 1.0 } else { 0.0 };
    let score = (0.25 * stats.flip_rate + 0.75 * stats.weighted_flip_rate) * pattern
        + (0.1 * stats.retry_flakes as f64).min(0.5)
        + (0.2 * stats.same_revision as f64).min(0.5);
    stats.score = score.min(1.0);
    stats
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::Step;
    use proptest::prelude::*;

    fn lane(name: &str, pattern: &str) -> Lane {
        Lane {
            lane: 1,
            builder: name.to_owned(),
            retired: false,
            steps: pattern
                .chars()
                .enumerate()
                .map(|(k, c)| Step {
                    build: k as i64,
                    number: k as i64,
                    time: 10 * k as i64,
                    revision: Some(format!("r{k}").into()),
                    status: None,
                    evidence: match c {
                        'P' => Evidence::Pass,
                        'F' => Evidence::Fail,
                        'R' => Evidence::RetryPass,
                        _ => Evidence::None,
                    },
                })
                .collect(),
        }
    }

    fn score(pattern: &str) -> Stats {
        stats(&[lane("a", pattern)], &Options::default())
    }

    #[test]
    fn a_real_break_and_fix_is_not_flaky() {
        let s = score("PPPPPFFFFFFPPPPP");
        assert_eq!(s.flips, 0);
        assert_eq!(s.score, 0.0);
        assert!(s.builders.is_empty());
    }

    #[test]
    fn scattered_failures_are() {
        let s = score("PPFPPPFPPFPPPPFP");
        assert_eq!(s.flips, 8);
        assert_eq!(s.flake_streaks, 4);
        assert!(s.score > THRESHOLD, "{s:?}");
        assert_eq!(s.builders, ["a"]);
        assert_eq!(s.last_flake.unwrap().number, 14);
    }

    #[test]
    fn a_retry_flake_outranks_one_old_flip() {
        let retry = score(&format!("{}RPP", "P".repeat(40)));
        let old = score(&format!("PF{}", "P".repeat(41)));
        assert!(retry.score > old.score, "{retry:?} vs {old:?}");
        assert!(retry.score >= THRESHOLD);
        assert!(old.score < THRESHOLD);
    }

    #[test]
    fn a_fixed_flaky_test_falls_as_passes_accumulate() {
        let recent = score("PFPFPPFPFP");
        let later = score(&format!("PFPFPPFPFP{}", "P".repeat(30)));
        assert!(
            later.score < recent.score / 4.0,
            "{} vs {}",
            later.score,
            recent.score
        );
    }

    /// A lane from `pattern` (P passed, F failed, R flaky, S skipped, - absent, B a known-bad
    /// build that failed), each revision built twice; its builds and runs as the store gives them.
    fn builds_and_runs(pattern: &str) -> (Vec<crate::analyze::BuildInfo>, Vec<crate::store::Run>) {
        use probtrack_parsers::Status;
        let mut runs: Vec<crate::store::Run> = Vec::new();
        let builds = (pattern.chars().enumerate())
            .map(|(k, c)| {
                let status = match c {
                    'P' => Some(Status::Passed),
                    'F' | 'B' => Some(Status::Failed),
                    'R' => Some(Status::Flaky),
                    'S' => Some(Status::Skipped),
                    _ => None,
                };
                if runs.last().is_none_or(|r| r.status != status) {
                    runs.push(crate::store::Run {
                        first: k as i64,
                        status,
                    });
                }
                crate::analyze::BuildInfo {
                    id: 100 + k as i64,
                    number: k as i64,
                    time: 10 * k as i64,
                    revision: Some(format!("r{}", k / 2).into()),
                    bad: c == 'B',
                }
            })
            .collect();
        (builds, runs)
    }

    #[test]
    fn a_lane_from_its_weighed_runs_scores_as_the_whole_lane() {
        let patterns = [
            "PPFPPPFPPFPPPPFPPPPPPPPPPPPPPFPPRPPPP",
            "FFFFPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPP",
            "PFPF--SSPPBBPPFFFPPPPFPP--PPRPPFPPFPF",
            "--PPPPFPPPPP",
            "SSSSSSSSS",
        ];
        for pattern in patterns {
            let (builds, runs) = builds_and_runs(pattern);
            for window in [1, 3, 5, 10, 100] {
                for since in [None, Some(0), Some(95), Some(200)] {
                    let options = Options {
                        window,
                        since,
                        ..Options::default()
                    };
                    let from = weighed_from(&builds, &runs, &options);
                    let whole = Lane::from_runs(1, "a", false, &builds, &runs);
                    let tail = Lane::from_runs(1, "a", false, &builds[from..], &runs);
                    let (whole, tail) = (stats(&[whole], &options), stats(&[tail], &options));
                    let what = format!("{pattern} window {window} since {since:?} from {from}");
                    assert_eq!(whole.runs, tail.runs, "{what}");
                    if whole.score > 0.0 || tail.score > 0.0 {
                        assert_eq!(format!("{whole:?}"), format!("{tail:?}"), "{what}");
                    }
                }
            }
        }
        // The cut is real: a long lane is built from its last `window` runs only.
        let (builds, runs) = builds_and_runs(&"PPF".repeat(100));
        let from = weighed_from(&builds, &runs, &Options::default());
        assert_eq!(builds.len() - from, 100);
    }

    #[test]
    fn same_revision_disagreement_counts() {
        let mut l = lane("a", "PPFP");
        l.steps[3].revision = l.steps[2].revision.clone();
        let s = stats(&[l], &Options::default());
        assert_eq!(s.same_revision, 1);
        assert!(s.score >= THRESHOLD);
    }

    /// A lane of up to 40 builds (numbered with gaps), each passed, failed, flaky, skipped or
    /// absent, on one of a few revisions (so that some revisions are built more than once).
    fn random_lane(id: crate::store::Id) -> impl Strategy<Value = Lane> {
        prop::collection::vec((0..5u8, 0..6u8, 1..3i64), 0..40).prop_map(move |steps| {
            let mut number = 0;
            Lane {
                lane: id,
                builder: format!("b{id}"),
                retired: false,
                steps: (steps.into_iter())
                    .map(|(evidence, revision, gap)| {
                        number += gap;
                        Step {
                            build: 100 * id + number,
                            number,
                            time: 10 * number + id,
                            revision: (revision > 0).then(|| format!("r{revision}").into()),
                            status: None,
                            evidence: match evidence {
                                0 | 1 => Evidence::Pass,
                                2 => Evidence::Fail,
                                3 => Evidence::RetryPass,
                                _ => Evidence::None,
                            },
                        }
                    })
                    .collect(),
            }
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// `pattern` and `same_revision` are the values `stats` gives, whatever the lanes, the
        /// ranges and the window.
        #[test]
        fn pattern_and_same_revision_are_what_stats_says(
            lanes in (random_lane(1), random_lane(2), random_lane(3)),
            ranges in prop::option::of(prop::collection::vec(
                (1..4i64, 0..50i64, prop_oneof![0..90i64, Just(i64::MAX)]),
                0..4,
            )),
            window in prop::sample::select(vec![1, 3, 10, 100, usize::MAX]),
        ) {
            let lanes = [lanes.0, lanes.1, lanes.2];
            let options = Options { ranges, window, ..Options::default() };
            let whole = stats(&lanes, &options);
            prop_assert_eq!(pattern(&lanes, &options), Pattern::of(&whole));
            prop_assert_eq!(same_revision(&lanes, &options), whole.same_revision);
        }
    }
}
