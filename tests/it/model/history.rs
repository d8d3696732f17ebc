//! Random histories for the model checks, drawn from a stream of choices (so that proptest shrinks
//! a failing history by shrinking the stream: every choice of 0 is the simplest one).
//!
//! A history is a commit graph kept in memory (a main line, a feature branch merged back, reverts,
//! a `stable` branch of cherry-picks), builders that build the heads of those branches (sometimes a
//! revision again), each build's blamelist worked out from the graph as `git log PREV..REV` would
//! give it, tests whose outcome follows the changes that break and fix them (some on one builder
//! only) with noise (random failures, retry flakes, skips, absences), a test renamed by a commit,
//! and the triage a team does meanwhile (retiring builders, marking ranges bad, renaming). Builds
//! may also compile source files (some, all, or all with `--clean-build`), printing the compile
//! diagnostics that the changes they build brought to those files and did not take away again.

use std::collections::BTreeSet;

/// The choices a history is drawn from; past the end every choice is 0 (or, once `wrapping`,
/// the choices again from the start).
pub struct Choices<'a> {
    data: &'a [u32],
    pos: usize,
    wrap: bool,
}

impl<'a> Choices<'a> {
    pub fn new(data: &'a [u32]) -> Choices<'a> {
        Choices {
            data,
            pos: 0,
            wrap: false,
        }
    }

    /// From here on, past the end the choices start again from the first (what is drawn last
    /// still varies when the rest used every choice; all choices 0 still draw the simplest).
    pub fn wrapping(&mut self) {
        self.wrap = true;
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        let v = match self.wrap && !self.data.is_empty() {
            true => self.data[self.pos % self.data.len()],
            false => self.data.get(self.pos).copied().unwrap_or(0),
        };
        self.pos += 1;
        v as usize % n.max(1)
    }

    /// True with about `percent` % chance (a choice of 0 is false).
    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) + percent >= 100
    }
}

pub const AUTHORS: [&str; 3] = [
    "Ada Lovelace <ada@example.org>",
    "Bob Brown <bob@example.org>",
    "Carol Chen <carol@example.org>",
];

/// A test's identity as its report gives it (`classname.name`), for a test index, under its first
/// or its second name.
pub fn test_name(test: usize, renamed: bool) -> String {
    if renamed {
        format!("pkg.mod.test_{test}_new")
    } else {
        format!("pkg.mod.test_{test}")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    None,
    /// Breaks (+1) or fixes (-1) a test, on every builder or on one only.
    Test {
        test: usize,
        delta: i32,
        builder: Option<usize>,
    },
    /// Undoes a commit's effect.
    Revert(usize),
    /// The test is reported under its second name from this commit on.
    Rename(usize),
}

#[derive(Clone, Debug)]
pub struct Commit {
    pub sha: String,
    pub parents: Vec<usize>,
    pub author: &'static str,
    /// Seconds since the epoch.
    pub time: i64,
    pub effect: Effect,
}

/// A test's result in a build, as its report says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Passed,
    Failed,
    Error,
    Skipped,
    Flaky,
    ExpectedFailure,
}

impl Status {
    pub fn is_pass(self) -> bool {
        matches!(
            self,
            Status::Passed | Status::Flaky | Status::ExpectedFailure
        )
    }

    pub fn is_fail(self) -> bool {
        matches!(self, Status::Failed | Status::Error)
    }
}

/// The source files builds compile, as diagnostics name them (the model's ingests give a
/// `--source-root`, so the same with `--git` or without), and each diagnostic: its file and
/// its identity as probtrack gives it (`FILE:FLAG:MESSAGE`, `docs/parsers.md`). The model's logs
/// are real gcc output (`fixtures/gcc/warning-fixed`): `model.rs` puts their lines together.
pub const FILES: [&str; 2] = ["src/one.c", "src/two.c"];
pub const DIAGNOSTICS: [(usize, &str); 3] = [
    (0, "src/one.c:-Wunused-variable:unused variable 'spare'"),
    (1, "src/two.c:-Wunused-parameter:unused parameter 'limit'"),
    (
        1,
        "src/two.c:-Wsign-compare:comparison of integer expressions of different signedness: \
         'int' and 'unsigned int'",
    ),
];

/// The file of a compile diagnostic's identity; `None` for a test.
pub fn diagnostic_file(name: &str) -> Option<&str> {
    name.split_once(':').map(|(file, _)| file)
}

#[derive(Clone, Debug)]
pub struct Build {
    pub builder: String,
    pub number: i64,
    pub branch: Option<String>,
    /// Seconds since the epoch.
    pub time: i64,
    pub revision: usize,
    /// Commit indexes: `git log PREV..REV` (PREV the lane's previous build's revision), or REV
    /// alone when there is no previous build or PREV is not an ancestor of REV.
    pub changes: Vec<usize>,
    /// (test identity, status); a test absent from the build is not listed. Its compile
    /// diagnostics too (identities of `DIAGNOSTICS`, failed), printed in its compiler log.
    pub results: Vec<(String, Status, String)>,
    /// The source files it compiled (indexes into `FILES`), in order; none: no compiler log.
    pub compiled: Vec<usize>,
    /// Ingested with `--clean-build` (it compiled every file).
    pub clean: bool,
}

/// Triage, done between two ingests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    Retire(String),
    Unretire(String),
    MarkBad {
        builder: String,
        from: i64,
        to: Option<i64>,
    },
    UnmarkBad {
        builder: String,
        from: i64,
    },
    Rename {
        old: String,
        new: String,
    },
}

/// One step of arrival: a build (by index into `History::builds`), a triage operation, or a
/// `prune` of the builds older than about this time (seconds; no build that arrives after it is
/// older).
#[derive(Clone, Debug)]
pub enum Step {
    Ingest(usize),
    Op(Op),
    Prune(i64),
}

pub struct History {
    pub commits: Vec<Commit>,
    pub builds: Vec<Build>,
    /// The order things arrived in (builds late, out of order, twice; triage between).
    pub arrival: Vec<Step>,
    /// Prune at the end: drop builds older than this time (seconds).
    pub prune_before: Option<i64>,
}

const BASE: i64 = 1_709_251_200; // 2024-03-01T00:00:00Z

fn sha(i: usize) -> String {
    format!(
        "{:040x}",
        (i as u128 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835)
    )
}

/// Every commit reachable from `c` (itself included).
pub fn ancestors(commits: &[Commit], c: usize) -> BTreeSet<usize> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![c];
    while let Some(x) = stack.pop() {
        if seen.insert(x) {
            stack.extend(&commits[x].parents);
        }
    }
    seen
}

/// How long a history runs: `Short` ones (4–17 steps, up to three builders) check most rules
/// quickly; `Long` ones (90–129 steps, one or two builders) reach past the 50 builds of a lane
/// that decide whether a Problem is intermittent (`docs/flaky.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Length {
    Short,
    Long,
}

pub fn generate(data: &[u32], length: Length) -> History {
    let mut ch = Choices::new(data);
    let builders = match length {
        Length::Short => 1 + ch.below(3),
        Length::Long => 1 + ch.below(2),
    };
    let tests = 1 + ch.below(3);
    let names: Vec<String> = ["a", "b", "c"][..builders]
        .iter()
        .map(|s| s.to_string())
        .collect();

    // The commit graph, and the builds, on one timeline of minutes.
    let mut commits = vec![Commit {
        sha: sha(0),
        parents: vec![],
        author: AUTHORS[0],
        time: BASE,
        effect: Effect::None,
    }];
    let mut main_head = 0;
    let mut feature: Option<usize> = None;
    let mut stable: Option<usize> = None;
    let mut renamed_test: Option<usize> = None;
    let mut builds: Vec<Build> = Vec::new();
    let mut next_number: Vec<i64> = (0..builders).map(|b| 1 + 10 * b as i64).collect();
    let steps = match length {
        Length::Short => 4 + ch.below(14),
        Length::Long => 90 + ch.below(40),
    };
    for step in 0..steps {
        let minute = BASE + 600 * (step as i64 + 1);
        // Commits of this step (their times may tie: a merge train).
        let commit_count = ch.below(3);
        for k in 0..commit_count {
            let author = AUTHORS[ch.below(3)];
            let time = if ch.chance(20) {
                commits.last().unwrap().time
            } else {
                minute + 10 * k as i64
            };
            let effect = match ch.below(10) {
                0..=3 => Effect::None,
                4 | 5 => Effect::Test {
                    test: ch.below(tests),
                    delta: 1,
                    builder: ch.chance(25).then(|| ch.below(builders)),
                },
                6 => Effect::Test {
                    test: ch.below(tests),
                    delta: -1,
                    builder: None,
                },
                7 => {
                    // Revert one of main's commits that did something.
                    let anc = ancestors(&commits, main_head);
                    let done: Vec<usize> = anc
                        .into_iter()
                        .filter(|&c| matches!(commits[c].effect, Effect::Test { .. }))
                        .collect();
                    if done.is_empty() {
                        Effect::None
                    } else {
                        Effect::Revert(done[ch.below(done.len())])
                    }
                }
                8 if renamed_test.is_none() => {
                    let t = ch.below(tests);
                    renamed_test = Some(t);
                    Effect::Rename(t)
                }
                _ => Effect::None,
            };
            let i = commits.len();
            let sha = sha(i);
            match ch.below(6) {
                // On the feature branch (forked from main's head when it starts).
                0 | 1 if k > 0 || step > 0 => {
                    let parent = feature.unwrap_or(main_head);
                    commits.push(Commit {
                        sha,
                        parents: vec![parent],
                        author,
                        time,
                        effect,
                    });
                    feature = Some(i);
                }
                // The feature branch merged into main.
                2 if feature.is_some() => {
                    commits.push(Commit {
                        sha,
                        parents: vec![main_head, feature.take().unwrap()],
                        author,
                        time,
                        effect: Effect::None,
                    });
                    main_head = i;
                }
                // A change to the stable branch (forked from main when it starts).
                3 => {
                    let parent = stable.unwrap_or(main_head);
                    commits.push(Commit {
                        sha,
                        parents: vec![parent],
                        author,
                        time,
                        effect,
                    });
                    stable = Some(i);
                }
                _ => {
                    commits.push(Commit {
                        sha,
                        parents: vec![main_head],
                        author,
                        time,
                        effect,
                    });
                    main_head = i;
                }
            }
        }
        // Builds of this step.
        for b in 0..builders {
            if ch.chance(30) {
                continue;
            }
            let on_stable = stable.is_some() && ch.chance(30);
            let (branch, head) = if on_stable {
                (Some("stable".to_owned()), stable.unwrap())
            } else {
                (None, main_head)
            };
            let previous = builds
                .iter()
                .filter(|x| x.builder == names[b] && x.branch == branch)
                .max_by_key(|x| x.number);
            // Sometimes the same revision again (a rebuild), else the branch's head.
            let revision = match previous {
                Some(p) if ch.chance(15) => p.revision,
                _ => head,
            };
            let changes = match previous {
                Some(p) if ancestors(&commits, revision).contains(&p.revision) => {
                    let before = ancestors(&commits, p.revision);
                    ancestors(&commits, revision)
                        .into_iter()
                        .filter(|c| !before.contains(c))
                        .collect()
                }
                _ => vec![revision],
            };
            let number = next_number[b];
            next_number[b] += 1 + ch.chance(10) as i64;
            // Builders start a few seconds apart, and sometimes at the same second.
            let time = minute + 120 + if ch.chance(40) { 0 } else { 7 * b as i64 };
            let results = outcomes(&mut ch, &commits, revision, b, tests);
            builds.push(Build {
                builder: names[b].clone(),
                number,
                branch,
                time,
                revision,
                changes,
                results,
                compiled: Vec::new(),
                clean: false,
            });
        }
    }

    let arrival = arrival(&mut ch, &builds, &names, renamed_test);
    let prune_before =
        (ch.chance(15) && !builds.is_empty()).then(|| builds[ch.below(builds.len())].time);
    let mut arrival = arrival;
    prunes(&mut ch, &builds, &mut arrival);
    ch.wrapping();
    compiles(&mut ch, &commits, &mut builds);
    History {
        commits,
        builds,
        arrival,
        prune_before,
    }
}

/// The results of a build of `revision` on builder `b`.
fn outcomes(
    ch: &mut Choices,
    commits: &[Commit],
    revision: usize,
    b: usize,
    tests: usize,
) -> Vec<(String, Status, String)> {
    let anc = ancestors(commits, revision);
    let mut out = Vec::new();
    for t in 0..tests {
        let mut broken = 0;
        let mut renamed = false;
        for &c in &anc {
            let effect = match commits[c].effect {
                Effect::Revert(r) if anc.contains(&r) => match commits[r].effect {
                    Effect::Test {
                        test,
                        delta,
                        builder,
                    } => Effect::Test {
                        test,
                        delta: -delta,
                        builder,
                    },
                    _ => Effect::None,
                },
                e => e,
            };
            match effect {
                Effect::Test {
                    test,
                    delta,
                    builder,
                } if test == t && builder.is_none_or(|x| x == b) => broken += delta,
                Effect::Rename(test) if test == t => renamed = true,
                _ => {}
            }
        }
        let failing = broken > 0;
        let status = match (ch.below(24), failing) {
            (20, false) | (21, true) => {
                // Noise: a random failure, or a random pass.
                if failing {
                    Status::Passed
                } else {
                    Status::Failed
                }
            }
            (22, false) => Status::Flaky,
            (22, true) => Status::Error,
            (23, false) => Status::ExpectedFailure,
            (19, _) => Status::Skipped,
            (18, _) => continue, // absent from this build
            (_, true) => Status::Failed,
            (_, false) => Status::Passed,
        };
        let message = format!("assert {} == {}", t, ch.below(3));
        out.push((test_name(t, renamed), status, message));
    }
    out
}

/// The order builds and triage arrive in.
fn arrival(
    ch: &mut Choices,
    builds: &[Build],
    names: &[String],
    renamed_test: Option<usize>,
) -> Vec<Step> {
    // Time order, some builds late (moved up to six places on), some twice.
    let mut order: Vec<usize> = (0..builds.len()).collect();
    for i in 0..order.len() {
        if ch.chance(25) {
            let j = (i + 1 + ch.below(6)).min(order.len() - 1);
            let b = order.remove(i);
            order.insert(j, b);
        }
    }
    let mut steps: Vec<Step> = Vec::new();
    for &b in &order {
        steps.push(Step::Ingest(b));
        if ch.chance(8) {
            let at = steps.len() + ch.below(4);
            steps.insert(at.min(steps.len()), Step::Ingest(b));
        }
    }
    let insert = |ch: &mut Choices, steps: &mut Vec<Step>, after: usize, op: Op| -> usize {
        let at = after + ch.below(steps.len() + 1 - after);
        steps.insert(at, Step::Op(op));
        at + 1
    };
    for _ in 0..ch.below(3) {
        let builder = names[ch.below(names.len())].clone();
        let at = insert(ch, &mut steps, 0, Op::Retire(builder.clone()));
        if ch.chance(30) {
            insert(ch, &mut steps, at, Op::Unretire(builder));
        }
    }
    for _ in 0..ch.below(3) {
        let on: Vec<&Build> = builds
            .iter()
            .filter(|b| b.builder == names[ch.below(names.len())])
            .collect();
        if on.is_empty() {
            continue;
        }
        let first = on[ch.below(on.len())];
        let to = (!ch.chance(20)).then(|| first.number + ch.below(3) as i64);
        let builder = first.builder.clone();
        let at = insert(
            ch,
            &mut steps,
            0,
            Op::MarkBad {
                builder: builder.clone(),
                from: first.number,
                to,
            },
        );
        if ch.chance(30) {
            insert(
                ch,
                &mut steps,
                at,
                Op::UnmarkBad {
                    builder,
                    from: first.number,
                },
            );
        }
    }
    if let Some(t) = renamed_test {
        let old = test_name(t, false);
        let new = test_name(t, true);
        let both = |name: &str| builds.iter().any(|b| b.results.iter().any(|r| r.0 == name));
        if both(&old) && both(&new) && !ch.chance(20) {
            insert(ch, &mut steps, 0, Op::Rename { old, new });
        }
    }
    steps
}

/// `prune` between ingests, up to twice: it drops builds older than a time no later than that of
/// every build still to arrive (a build older than a prune's cut arriving after it is not
/// modelled: `docs/ARCHITECTURE.md`, *Problem rules*).
fn prunes(ch: &mut Choices, builds: &[Build], steps: &mut Vec<Step>) {
    for percent in [50, 25] {
        if !ch.chance(percent) || steps.is_empty() {
            continue;
        }
        let at = 1 + ch.below(steps.len());
        let times = |steps: &[Step]| -> Vec<i64> {
            steps
                .iter()
                .filter_map(|s| match s {
                    Step::Ingest(i) => Some(builds[*i].time),
                    _ => None,
                })
                .collect()
        };
        let earlier = times(&steps[..at]);
        if earlier.is_empty() {
            continue;
        }
        let later = times(&steps[at..]).into_iter().min().unwrap_or(i64::MAX);
        let target = earlier[ch.below(earlier.len())].min(later);
        steps.insert(at, Step::Prune(target));
    }
}

/// What the builds compile, drawn last (so that the rest of a history is drawn as before, and a
/// choice of 0 compiles nothing): in three histories of ten, half the commits touch one of
/// `DIAGNOSTICS`, taking it away where it is there, else bringing it; each build compiles no file, one, both, or both with
/// `--clean-build`, and prints the diagnostics of the files it compiled that its revision's
/// commits brought and did not take away again.
fn compiles(ch: &mut Choices, commits: &[Commit], builds: &mut [Build]) {
    // Most histories compile nothing: an open compile Problem keeps its builds from a prune, and
    // the prunes must still drop builds and freeze Problems often.
    if !ch.chance(30) {
        return;
    }
    // In commit order (a commit's parents come before it): taking away a diagnostic that is not
    // there does nothing.
    let brought = |warnings: &[Option<(usize, i32)>], anc: &BTreeSet<usize>, d: usize| {
        (anc.iter())
            .filter_map(|&c| warnings.get(c).copied().flatten().filter(|w| w.0 == d))
            .fold(0, |n, w| (n + w.1).max(0))
    };
    // A commit that touches a diagnostic takes it away where its parents have it, else brings it.
    let mut warnings: Vec<Option<(usize, i32)>> = Vec::new();
    for c in 0..commits.len() {
        let effect = match ch.below(4) {
            0 | 1 => None,
            _ => {
                let d = ch.below(DIAGNOSTICS.len());
                let mut before = ancestors(commits, c);
                before.remove(&c);
                Some((
                    d,
                    if brought(&warnings, &before, d) > 0 {
                        -1
                    } else {
                        1
                    },
                ))
            }
        };
        warnings.push(effect);
    }
    for build in builds.iter_mut() {
        (build.compiled, build.clean) = match ch.below(5) {
            0 => continue,
            1 => (vec![0], false),
            2 => (vec![1], false),
            3 => (vec![0, 1], false),
            _ => (vec![0, 1], true),
        };
        let anc = ancestors(commits, build.revision);
        for (d, &(file, identity)) in DIAGNOSTICS.iter().enumerate() {
            if brought(&warnings, &anc, d) > 0 && build.compiled.contains(&file) {
                build
                    .results
                    .push((identity.to_owned(), Status::Failed, String::new()));
            }
        }
    }
}
