//! The reference model: the Problem rules of `docs/ARCHITECTURE.md` (*Problem rules*), the README
//! (*How it decides*), `docs/output.md` and `docs/flaky.md` (*When a Problem is intermittent*),
//! written as plainly as possible and recomputed from scratch from the final state of a history:
//! every build, the retired builders, the known-bad ranges and the renames. It is slow on purpose
//! (quadratic scans, no caching) and shares no code with `src/analyze` or `src/problems.rs`.

use std::collections::{BTreeMap, BTreeSet};

use super::history::{diagnostic_file, Build, Commit, Status, FILES};

/// What the history looks like once everything arrived.
pub struct Final<'a> {
    pub commits: &'a [Commit],
    /// Each build once.
    pub builds: Vec<&'a Build>,
    pub retired: BTreeSet<String>,
    /// (builder, from, to): builds `from..=to` (or every later one) give no evidence.
    pub bad: Vec<(String, i64, Option<i64>)>,
    /// (old, new) test identities.
    pub renames: Vec<(String, String)>,
    /// Whether the changes carry their commit times (`--git`); by hand (`--change`) they do not.
    pub timed: bool,
    /// By (builder, number) of a build here: the builds a prune dropped while it was there (what
    /// it was judged against then stays: a compile diagnostic they printed is still passed by it).
    pub gone: BTreeMap<(String, i64), Vec<&'a Build>>,
}

/// A Problem as the model sees it; the fields `problems --all --intermittent` prints and that
/// these checks compare.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    pub branch: Option<String>,
    pub test: String,
    pub first_failure: (String, i64),
    pub last_failure: (String, i64),
    pub state: &'static str,
    pub kind: &'static str,
    pub builders: Vec<String>,
    pub fixed: Option<(String, i64)>,
    pub failures: u64,
    /// (revision, author), by time then revision (by revision alone where `--change` gave them).
    pub started_by: Vec<(String, String)>,
    pub fixed_by: Vec<(String, String)>,
    pub intermittent: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Evidence {
    Pass,
    Fail,
    None,
}

/// One build of a lane, for one test.
struct Run<'a> {
    build: &'a Build,
    status: Option<Status>,
    evidence: Evidence,
}

/// One builder's builds on one branch, for one test, by build number.
struct Lane<'a> {
    builder: String,
    retired: bool,
    runs: Vec<Run<'a>>,
}

/// A failing streak: consecutive failures of a lane (builds without evidence between them do not
/// break it), with the pass before it and the pass that ended it, if any.
#[derive(Clone)]
struct Streak {
    lane: usize,
    first: usize,
    last: usize,
    pass_before: Option<usize>,
    pass_after: Option<usize>,
}

pub fn problems(state: &Final) -> Vec<Problem> {
    let mut out: Vec<Problem> = judged(state).into_iter().map(|j| j.problem).collect();
    out.sort();
    out
}

/// One builder's part of a Problem: its first and last failure there, and the pass that fixed it
/// there (build numbers).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    pub builder: String,
    pub first: i64,
    pub last: i64,
    pub fixed: Option<i64>,
}

/// A Problem with what `prune` reads of it (its builders' parts) and the builds it failed in.
#[derive(Clone, Debug)]
pub struct Judged {
    pub problem: Problem,
    pub parts: Vec<Part>,
    /// (builder, number) of every failure of it.
    pub failing: Vec<(String, i64)>,
}

/// [`problems`], each with its parts and failures.
pub fn judged(state: &Final) -> Vec<Judged> {
    let mut out = Vec::new();
    let branches: BTreeSet<Option<String>> =
        state.builds.iter().map(|b| b.branch.clone()).collect();
    let canonical = |name: &str| canonical(&state.renames, name);
    let tests: BTreeSet<String> = state
        .builds
        .iter()
        .flat_map(|b| b.results.iter().map(|r| canonical(&r.0)))
        .collect();
    for branch in &branches {
        for test in &tests {
            let lanes = lanes(state, branch, test, &canonical);
            out.extend(problems_of(state, branch, test, &lanes));
        }
    }
    out.sort_by(|a: &Judged, b: &Judged| a.problem.cmp(&b.problem));
    out
}

/// The name a test is known by after the renames (followed to the end).
pub fn canonical(renames: &[(String, String)], name: &str) -> String {
    let mut name = name.to_owned();
    for _ in 0..=renames.len() {
        match renames.iter().find(|(old, _)| *old == name) {
            Some((_, new)) => name = new.clone(),
            None => break,
        }
    }
    name
}

/// The test's status in a build: under its own name if the build has it, else under an old name.
fn status_in(build: &Build, test: &str, canonical: &dyn Fn(&str) -> String) -> Option<Status> {
    if let Some(r) = build.results.iter().find(|r| r.0 == test) {
        return Some(r.1);
    }
    build
        .results
        .iter()
        .find(|r| canonical(&r.0) == test)
        .map(|r| r.1)
}

fn lanes<'a>(
    state: &Final<'a>,
    branch: &Option<String>,
    test: &str,
    canonical: &dyn Fn(&str) -> String,
) -> Vec<Lane<'a>> {
    let builders: BTreeSet<&str> = state
        .builds
        .iter()
        .filter(|b| b.branch == *branch)
        .map(|b| b.builder.as_str())
        .collect();
    let mut out = Vec::new();
    for builder in builders {
        let mut builds: Vec<&Build> = state
            .builds
            .iter()
            .copied()
            .filter(|b| b.branch == *branch && b.builder == builder)
            .collect();
        builds.sort_by_key(|b| b.number);
        // A compile diagnostic (*Compile diagnostics*): a build that compiled its file (or every
        // file) and did not print it passes it, once a build before it on the lane printed it.
        let mut printed = false;
        let runs: Vec<Run> = builds
            .into_iter()
            .map(|build| {
                let mut status = status_in(build, test, canonical);
                if let Some(file) = diagnostic_file(test) {
                    let compiled = build.clean || build.compiled.iter().any(|&f| FILES[f] == file);
                    let gone = state.gone.get(&(build.builder.clone(), build.number));
                    let printed_gone = gone.is_some_and(|gone| {
                        gone.iter().any(|p| {
                            (&p.builder, &p.branch) == (&build.builder, &build.branch)
                                && p.number < build.number
                                && status_in(p, test, canonical).is_some()
                        })
                    });
                    if status.is_some() {
                        printed = true;
                    } else if (printed || printed_gone) && compiled {
                        status = Some(Status::Passed);
                    }
                }
                let bad = state.bad.iter().any(|(who, from, to)| {
                    who == builder
                        && build.number >= *from
                        && to.is_none_or(|to| build.number <= to)
                });
                let evidence = match status {
                    _ if bad => Evidence::None,
                    Some(s) if s.is_pass() => Evidence::Pass,
                    Some(s) if s.is_fail() => Evidence::Fail,
                    _ => Evidence::None,
                };
                Run {
                    build,
                    status,
                    evidence,
                }
            })
            .collect();
        if runs.iter().all(|r| r.status.is_none()) {
            continue;
        }
        out.push(Lane {
            builder: builder.to_owned(),
            retired: state.retired.contains(builder),
            runs,
        });
    }
    out
}

fn streaks(index: usize, lane: &Lane) -> Vec<Streak> {
    let mut out = Vec::new();
    let mut last_pass = None;
    let mut current: Option<Streak> = None;
    for (i, run) in lane.runs.iter().enumerate() {
        match run.evidence {
            Evidence::Fail => match &mut current {
                Some(s) => s.last = i,
                None => {
                    current = Some(Streak {
                        lane: index,
                        first: i,
                        last: i,
                        pass_before: last_pass,
                        pass_after: None,
                    })
                }
            },
            Evidence::Pass => {
                if let Some(mut s) = current.take() {
                    s.pass_after = Some(i);
                    out.push(s);
                }
                last_pass = Some(i);
            }
            Evidence::None => {}
        }
    }
    out.extend(current);
    out
}

fn problems_of(state: &Final, branch: &Option<String>, test: &str, lanes: &[Lane]) -> Vec<Judged> {
    let mut all: Vec<Streak> = Vec::new();
    for (i, lane) in lanes.iter().enumerate() {
        all.extend(streaks(i, lane));
    }
    // In order of first failure: time, builder, number.
    let key = |s: &Streak| {
        let b = lanes[s.lane].runs[s.first].build;
        (b.time, b.builder.clone(), b.number)
    };
    all.sort_by_key(key);
    let time = |s: &Streak, i: usize| lanes[s.lane].runs[i].build.time;
    let retired_unfixed = |s: &Streak| lanes[s.lane].retired && s.pass_after.is_none();
    // (a): a builder that is not retired never passed again.
    let open_for_ever = |g: &[Streak]| {
        g.iter()
            .any(|s| !lanes[s.lane].retired && s.pass_after.is_none())
    };
    let end = |s: &Streak| -> i64 {
        match s.pass_after {
            Some(p) => time(s, p),
            None => time(s, s.last),
        }
    };
    let mut groups: Vec<Vec<Streak>> = Vec::new();
    for streak in all {
        let t = time(&streak, streak.first);
        let joins = match groups.last() {
            None => false,
            Some(g) => {
                let latest_end = g.iter().map(end).max().unwrap();
                let last_failure = g.iter().map(|s| time(s, s.last)).max().unwrap();
                let lane = &lanes[streak.lane];
                let passed_between = lane.runs.iter().any(|r| {
                    r.evidence == Evidence::Pass && r.build.time > last_failure && r.build.time < t
                });
                open_for_ever(g)
                    || t < latest_end
                    || (g.iter().all(retired_unfixed) && !passed_between)
            }
        };
        if joins {
            groups.last_mut().unwrap().push(streak);
        } else {
            groups.push(vec![streak]);
        }
    }
    groups
        .iter()
        .map(|g| Judged {
            problem: problem(state, branch, test, lanes, g),
            parts: parts(lanes, g),
            failing: g
                .iter()
                .flat_map(|s| {
                    lanes[s.lane].runs[s.first..=s.last]
                        .iter()
                        .filter(|r| r.evidence == Evidence::Fail)
                        .map(|r| (r.build.builder.clone(), r.build.number))
                })
                .collect(),
        })
        .collect()
}

/// Each builder's part of a group: from its first streak's first failure to its last streak's
/// last, fixed by the pass that ended its last streak.
fn parts(lanes: &[Lane], group: &[Streak]) -> Vec<Part> {
    let lanes_in: BTreeSet<usize> = group.iter().map(|s| s.lane).collect();
    lanes_in
        .into_iter()
        .map(|l| {
            let mine: Vec<&Streak> = group.iter().filter(|s| s.lane == l).collect();
            let (first, last) = (mine[0], mine[mine.len() - 1]);
            let number = |i: usize| lanes[l].runs[i].build.number;
            Part {
                builder: lanes[l].builder.clone(),
                first: number(first.first),
                last: number(last.last),
                fixed: last.pass_after.map(number),
            }
        })
        .collect()
}

fn problem(
    state: &Final,
    branch: &Option<String>,
    test: &str,
    lanes: &[Lane],
    group: &[Streak],
) -> Problem {
    let build = |s: &Streak, i: usize| lanes[s.lane].runs[i].build;
    let order = |b: &Build| (b.time, b.builder.clone(), b.number);
    let first = group
        .iter()
        .map(|s| build(s, s.first))
        .min_by_key(|b| order(b))
        .unwrap();
    let last = group
        .iter()
        .map(|s| build(s, s.last))
        .max_by_key(|b| order(b))
        .unwrap();
    let lanes_in: BTreeSet<usize> = group.iter().map(|s| s.lane).collect();
    let mut failures = 0;
    for s in group {
        failures += lanes[s.lane].runs[s.first..=s.last]
            .iter()
            .filter(|r| r.evidence == Evidence::Fail)
            .count() as u64;
    }
    // Each lane: its first streak in the Problem opens its window, its last one's pass is its fix.
    let mut start_windows: Vec<(usize, bool, Vec<usize>)> = Vec::new();
    let mut fix_windows: Vec<(usize, Vec<usize>)> = Vec::new();
    let mut fixes: Vec<&Build> = Vec::new();
    let mut open = false;
    for &l in &lanes_in {
        let mine: Vec<&Streak> = group.iter().filter(|s| s.lane == l).collect();
        let (first_streak, last_streak) = (mine[0], mine[mine.len() - 1]);
        let from = first_streak
            .pass_before
            .map_or(first_streak.first, |p| p + 1);
        start_windows.push((
            l,
            first_streak.pass_before.is_some(),
            (from..=first_streak.first).collect(),
        ));
        match last_streak.pass_after {
            Some(p) => {
                fix_windows.push((l, (last_streak.last + 1..=p).collect()));
                fixes.push(lanes[l].runs[p].build);
            }
            None if !lanes[l].retired => open = true,
            None => {}
        }
    }
    let changes = |l: usize, window: &[usize]| -> Vec<usize> {
        let mut out: Vec<usize> = Vec::new();
        for &i in window {
            for &c in &lanes[l].runs[i].build.changes {
                if !out.contains(&c) {
                    out.push(c);
                }
            }
        }
        out
    };
    let opening_lane = group
        .iter()
        .find(|s| std::ptr::eq(build(s, s.first), first))
        .unwrap()
        .lane;
    let narrow = |windows: Vec<Vec<usize>>, fallback: Vec<usize>| -> Vec<usize> {
        if windows.is_empty() {
            return fallback;
        }
        let shared: Vec<usize> = windows[0]
            .iter()
            .copied()
            .filter(|c| windows.iter().all(|w| w.contains(c)))
            .collect();
        if shared.is_empty() {
            fallback
        } else {
            shared
        }
    };
    let opening = start_windows
        .iter()
        .find(|w| w.0 == opening_lane)
        .map(|w| changes(w.0, &w.2))
        .unwrap();
    let started = narrow(
        start_windows
            .iter()
            .filter(|w| w.1)
            .map(|w| changes(w.0, &w.2))
            .collect(),
        opening,
    );
    let fixed = if open {
        None
    } else {
        fixes.iter().copied().max_by_key(|b| order(b))
    };
    let fixed_by = match fixed {
        Some(fix) => {
            let closing = lanes_in
                .iter()
                .copied()
                .find(|&l| lanes[l].builder == fix.builder)
                .unwrap();
            let closing = fix_windows
                .iter()
                .find(|w| w.0 == closing)
                .map(|w| changes(w.0, &w.1))
                .unwrap();
            narrow(
                fix_windows.iter().map(|w| changes(w.0, &w.1)).collect(),
                closing,
            )
        }
        None => Vec::new(),
    };
    let listed = |mut list: Vec<usize>| -> Vec<(String, String)> {
        // By time, then revision; given by hand (`--change`), changes have no time: by revision.
        list.sort_by_key(|&c| {
            let time = state.timed.then_some(state.commits[c].time);
            (time, state.commits[c].sha.clone())
        });
        list.iter()
            .map(|&c| {
                (
                    state.commits[c].sha.clone(),
                    state.commits[c].author.to_owned(),
                )
            })
            .collect()
    };
    Problem {
        branch: branch.clone(),
        test: test.to_owned(),
        first_failure: (first.builder.clone(), first.number),
        last_failure: (last.builder.clone(), last.number),
        state: if open {
            "open"
        } else if fixed.is_some() {
            "fixed"
        } else {
            "retired"
        },
        kind: match diagnostic_file(test) {
            Some(_) => "compile",
            None => "test",
        },
        builders: lanes_in.iter().map(|&l| lanes[l].builder.clone()).collect(),
        fixed: fixed.map(|b| (b.builder.clone(), b.number)),
        failures,
        started_by: listed(started),
        fixed_by: listed(fixed_by),
        intermittent: intermittent(lanes, group, failures),
    }
}

/// `docs/flaky.md`, *When a Problem is intermittent*.
const BEFORE: usize = 50;
const AFTER: usize = 50;
const STREAK: usize = 3;
const ALPHA: f64 = 0.05;
const THRESHOLD: f64 = 0.015;
const CHANCE: f64 = 0.001;

fn intermittent(lanes: &[Lane], group: &[Streak], failures: u64) -> bool {
    let lanes_in: BTreeSet<usize> = group.iter().map(|s| s.lane).collect();
    // Each lane's stretch (run indexes, inclusive) and the part of it while the Problem was open.
    let mut stretches: BTreeMap<usize, (usize, usize)> = BTreeMap::new();
    let mut open_while: BTreeMap<usize, (usize, usize)> = BTreeMap::new();
    for &l in &lanes_in {
        let mine: Vec<&Streak> = group.iter().filter(|s| s.lane == l).collect();
        let (first, last) = (mine[0], mine[mine.len() - 1]);
        let end = lanes[l].runs.len() - 1;
        let (to, during) = match last.pass_after {
            Some(p) => ((p + AFTER).min(end), p),
            None => (end, end),
        };
        stretches.insert(l, (first.first.saturating_sub(BEFORE), to));
        open_while.insert(l, (first.first, during));
    }
    let runs_in = |l: usize, (from, to): (usize, usize)| -> Vec<&Run> {
        lanes[l].runs[from..=to]
            .iter()
            .filter(|r| r.evidence != Evidence::None)
            .collect()
    };
    // A retry flake in the stretch.
    let retry = stretches.iter().any(|(&l, &range)| {
        runs_in(l, range)
            .iter()
            .any(|r| r.status == Some(Status::Flaky))
    });
    // A revision that both passed and failed on one lane while it was open.
    let same_revision_count: usize = open_while
        .iter()
        .map(|(&l, &range)| {
            let runs = runs_in(l, range);
            let revisions: BTreeSet<usize> = runs.iter().map(|r| r.build.revision).collect();
            revisions
                .iter()
                .filter(|&&rev| {
                    runs.iter()
                        .any(|r| r.build.revision == rev && r.evidence == Evidence::Pass)
                        && runs
                            .iter()
                            .any(|r| r.build.revision == rev && r.evidence == Evidence::Fail)
                })
                .count()
        })
        .sum();
    if retry || same_revision_count > 0 {
        return true;
    }
    // The score over the stretch.
    let mut flips = 0usize;
    let mut transitions = 0usize;
    let mut weighted_flips = 0.0;
    let mut weighted_all = 0.0;
    let mut spans: Vec<(i64, i64)> = Vec::new(); // short streaks' spans; i64::MAX: for ever
    let mut total_runs = 0u64;
    let mut total_failures = 0u64;
    for (&l, &range) in &stretches {
        let runs = runs_in(l, range);
        total_runs += runs.len() as u64;
        total_failures += runs.iter().filter(|r| r.evidence == Evidence::Fail).count() as u64;
        // Failing streaks of the stretch: (first, last) indexes into `runs`.
        let mut fstreaks: Vec<(usize, usize)> = Vec::new();
        for (i, r) in runs.iter().enumerate() {
            if r.evidence == Evidence::Fail {
                match fstreaks.last_mut() {
                    Some(s) if s.1 + 1 == i => s.1 = i,
                    _ => fstreaks.push((i, i)),
                }
            }
        }
        let long = |i: usize| {
            fstreaks
                .iter()
                .any(|&(a, b)| a <= i && i <= b && b - a + 1 >= STREAK)
        };
        let n = runs.len();
        for i in 1..n {
            let age = (n - 1 - i) as i32;
            let w = (1.0 - ALPHA).powi(age);
            transitions += 1;
            weighted_all += w;
            let (a, b) = (runs[i - 1].evidence, runs[i].evidence);
            if a != b {
                let failing = if a == Evidence::Fail { i - 1 } else { i };
                if !long(failing) {
                    flips += 1;
                    weighted_flips += w;
                }
            }
        }
        for &(a, b) in &fstreaks {
            if b - a + 1 < STREAK {
                let end = runs.get(b + 1).map_or(i64::MAX, |r| r.build.time);
                spans.push((runs[a].build.time, end));
            }
        }
    }
    // Overlapping spans are one incident.
    spans.sort();
    let mut incidents = 0;
    let mut reach = i64::MIN;
    for (from, to) in spans {
        if incidents == 0 || from >= reach {
            incidents += 1;
            reach = to;
        } else {
            reach = reach.max(to);
        }
    }
    let flip_rate = if transitions == 0 {
        0.0
    } else {
        flips as f64 / transitions as f64
    };
    let weighted = if weighted_all == 0.0 {
        0.0
    } else {
        weighted_flips / weighted_all
    };
    let pattern = if incidents >= 2 { 1.0 } else { 0.0 };
    // Retry flakes and same-revision disagreements were judged above, each over its own part of
    // the stretch; what is left of the score is the pattern of separate incidents.
    let score = ((0.25 * flip_rate + 0.75 * weighted) * pattern).min(1.0);
    if score < THRESHOLD {
        return false;
    }
    // A long break: on some lane, exactly one streak of the Problem's failures, longer than
    // STREAK, that the failure rate outside the Problem would make only by a rare chance.
    let rate = total_failures.saturating_sub(failures) as f64
        / (total_runs.saturating_sub(failures)).max(1) as f64;
    let long_break = lanes_in.iter().any(|&l| {
        let mut lengths = Vec::new();
        let mut current = 0;
        for (i, r) in lanes[l].runs.iter().enumerate() {
            let mine = group
                .iter()
                .any(|s| s.lane == l && s.first <= i && i <= s.last);
            match r.evidence {
                Evidence::Fail if mine => current += 1,
                Evidence::None => {}
                _ => {
                    if current > 0 {
                        lengths.push(current);
                    }
                    current = 0;
                }
            }
        }
        if current > 0 {
            lengths.push(current);
        }
        lengths.len() == 1 && lengths[0] > STREAK && rate.powi(lengths[0] as i32) < CHANCE
    });
    !long_break
}
