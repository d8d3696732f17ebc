//! How a build's line coverage is stored: as the change from the same builder's previous build,
//! so that a project of 300,000 lines whose coverage barely moves costs a handful of rows per
//! build, not 300,000.
//!
//! What is kept per line is its [`State`]: whether it ran, how often to the nearest power of two
//! below ([`bucket`]), and how many of its branches were taken. Exact hit counts are not kept per
//! line (they shift with timing and inputs from build to build and would make every build a full
//! copy; a count moves bucket only when it halves or doubles); the totals are exact. A build's rows are
//! [`Span`]s: runs of consecutive lines that took the same new state (or stopped being
//! executable), against the previous build of its chain. The whole coverage is written instead (a
//! *keyframe*) when the chain's deltas, this one's included, would add up to more than the whole
//! ([`Chain`]), when this one alone is more than half of it, or after [`MAX_DELTAS`] deltas: so
//! reading a build back reads at most about twice a keyframe's rows, and applies at most
//! [`MAX_DELTAS`] deltas, while a project whose coverage barely moves writes its whole coverage
//! once in [`MAX_DELTAS`] builds rather than every few.

use std::collections::BTreeMap;

use probtrack_parsers::coverage::{Branches, LineCoverage};

use super::classify::Lines;

/// The most deltas between two keyframes, however small they are (an empty one included): what
/// bounds the builds a read goes through when the deltas' rows alone would not.
pub const MAX_DELTAS: u32 = 1023;

/// Where a build stands in its chain: what reading it back goes through after the keyframe.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Chain {
    /// The deltas from the chain's keyframe to the build (0: the build is the keyframe).
    pub depth: u32,
    /// Their spans, added up.
    pub spans: u64,
}

/// What is stored of one line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct State {
    pub covered: bool,
    /// How many times it ran, rounded down to a power of two ([`bucket`]: exact for 0 and 1);
    /// `None` where the store does not know (coverage written before schema 6 kept only whether
    /// the line ran).
    pub hits: Option<u64>,
    pub branches: Option<Branches>,
}

impl From<&LineCoverage> for State {
    fn from(line: &LineCoverage) -> State {
        State {
            covered: line.covered(),
            hits: Some(bucket(line.hits)),
            branches: line.branches,
        }
    }
}

/// A hit count as stored: rounded down to a power of two (0, 1, 2, 4, 8, …), so that a line's
/// count of 5 in one build and 6 in the next is the same state (4: it ran 4 to 7 times).
pub fn bucket(hits: u64) -> u64 {
    match hits {
        0 => 0,
        // The top bucket is 2^62 (every count from 2^62 up): the databases store an i64.
        n => 1 << (63 - n.leading_zeros()).min(TOP_BUCKET_BIT),
    }
}

/// The exponent of the largest bucket: 2^62 and above are one bucket, so that a stored count
/// fits in a signed 64-bit column and reads back as the same power of two.
pub const TOP_BUCKET_BIT: u32 = 62;

/// A build's coverage as stored: path → line → state.
pub type Snapshot = BTreeMap<String, BTreeMap<u32, State>>;

/// The snapshot of parsed coverage.
pub fn snapshot(lines: &Lines) -> Snapshot {
    lines
        .iter()
        .map(|(path, lines)| {
            (
                path.clone(),
                lines.iter().map(|(&n, l)| (n, State::from(l))).collect(),
            )
        })
        .collect()
}

/// One stored row: lines `first..=last` of `path` now have `state` (`None`: not executable, or
/// for `first == 0` the whole file is gone).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span {
    pub path: String,
    pub first: u32,
    pub last: u32,
    pub state: Option<State>,
}

/// What to write for a build.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Encoded {
    /// The whole snapshot, as spans of equal state (no previous build, or too much changed).
    Keyframe(Vec<Span>),
    /// The change from the previous build.
    Delta(Vec<Span>),
}

impl Encoded {
    pub fn spans(&self) -> &[Span] {
        match self {
            Encoded::Keyframe(spans) | Encoded::Delta(spans) => spans,
        }
    }
}

/// Encodes `current` against `previous` (the builder's previous build, where it stands in its
/// chain; `None`: no previous build). A keyframe when the chain would grow past
/// [`MAX_DELTAS`] deltas, when the change is more than half the whole, or when the chain's
/// deltas with this one would have more spans than the whole: a chain's deltas never hold more
/// rows than a keyframe would.
pub fn encode(previous: Option<(&Snapshot, Chain)>, current: &Snapshot) -> Encoded {
    let full = || Encoded::Keyframe(keyframe(current));
    let Some((previous, chain)) = previous else {
        return full();
    };
    if chain.depth >= MAX_DELTAS {
        return full();
    }
    let delta = delta(previous, current);
    let whole = keyframe(current);
    if keyframe_due(chain, delta.len(), whole.len()) {
        Encoded::Keyframe(whole)
    } else {
        Encoded::Delta(delta)
    }
}

/// Whether a build whose delta after a build at `chain` has `delta` spans, and whose whole
/// coverage `whole`, is written as a keyframe ([`encode`]'s rule).
pub fn keyframe_due(chain: Chain, delta: usize, whole: usize) -> bool {
    let (delta, size) = (delta as u64, whole.max(1) as u64);
    chain.depth >= MAX_DELTAS || delta * 2 > size || chain.spans + delta > size
}

/// How many builds in a row are written as deltas of `delta` spans each after a keyframe of
/// `whole` spans: what a project whose coverage moves alike in every build writes between two
/// keyframes (the benchmark's amortised keyframe).
pub fn deltas_per_keyframe(delta: usize, whole: usize) -> u32 {
    let mut chain = Chain::default();
    while !keyframe_due(chain, delta, whole) {
        chain.depth += 1;
        chain.spans += delta as u64;
    }
    chain.depth
}

/// Where a build encoded as `encoded` against a build at `base` stands in its chain.
pub fn chain_after(base: Chain, encoded: &Encoded) -> Chain {
    match encoded {
        Encoded::Keyframe(_) => Chain::default(),
        Encoded::Delta(spans) => Chain {
            depth: base.depth + 1,
            spans: base.spans + spans.len() as u64,
        },
    }
}

/// The whole snapshot as spans.
pub fn keyframe(current: &Snapshot) -> Vec<Span> {
    let mut spans = Vec::new();
    for (path, lines) in current {
        push_runs(&mut spans, path, lines.iter().map(|(&n, &s)| (n, Some(s))));
    }
    spans
}

/// The spans that turn `previous` into `current`.
pub fn delta(previous: &Snapshot, current: &Snapshot) -> Vec<Span> {
    let mut spans = Vec::new();
    for (path, before) in previous {
        if !current.contains_key(path) {
            spans.push(Span {
                path: path.clone(),
                first: 0,
                last: 0,
                state: None,
            });
        } else {
            let now = &current[path];
            let changed = before
                .iter()
                .filter(|(n, _)| !now.contains_key(n))
                .map(|(&n, _)| (n, None))
                .chain(
                    now.iter()
                        .filter(|(n, s)| before.get(n) != Some(s))
                        .map(|(&n, &s)| (n, Some(s))),
                )
                .collect::<BTreeMap<u32, Option<State>>>();
            push_runs(&mut spans, path, changed.into_iter());
        }
    }
    for (path, now) in current {
        if !previous.contains_key(path) {
            push_runs(&mut spans, path, now.iter().map(|(&n, &s)| (n, Some(s))));
        }
    }
    spans
}

/// Applies stored spans (a keyframe onto an empty snapshot, a delta onto the previous one).
pub fn apply(snapshot: &mut Snapshot, spans: &[Span]) {
    for span in spans {
        if span.first == 0 {
            snapshot.remove(&span.path);
            continue;
        }
        let lines = snapshot.entry(span.path.clone()).or_default();
        for line in span.first..=span.last {
            match span.state {
                Some(state) => {
                    lines.insert(line, state);
                }
                None => {
                    lines.remove(&line);
                }
            }
        }
        if lines.is_empty() {
            snapshot.remove(&span.path);
        }
    }
}

/// Reads a build back: its chain's keyframe, then each delta after it in order.
pub fn decode<'s>(keyframe: &[Span], deltas: impl IntoIterator<Item = &'s [Span]>) -> Snapshot {
    let mut snapshot = Snapshot::new();
    apply(&mut snapshot, keyframe);
    for delta in deltas {
        apply(&mut snapshot, delta);
    }
    snapshot
}

/// Runs of consecutive line numbers with the same state, from lines in order.
fn push_runs(spans: &mut Vec<Span>, path: &str, lines: impl Iterator<Item = (u32, Option<State>)>) {
    let mut open: Option<Span> = None;
    for (line, state) in lines {
        match &mut open {
            Some(span) if span.last + 1 == line && span.state == state => span.last = line,
            _ => {
                spans.extend(open.take());
                open = Some(Span {
                    path: path.to_string(),
                    first: line,
                    last: line,
                    state,
                });
            }
        }
    }
    spans.extend(open);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(covered: bool) -> State {
        State {
            covered,
            hits: Some(u64::from(covered)),
            branches: None,
        }
    }

    /// A project of `files` files of `lines` executable lines each, every fourth line blank,
    /// and every seventh uncovered.
    fn project(files: u32, lines: u32) -> Snapshot {
        (0..files)
            .map(|f| {
                let lines = (1..=lines * 4 / 3)
                    .filter(|n| n % 4 != 0)
                    .map(|n| (n, state(n % 7 != 0)))
                    .collect();
                (format!("src/f{f:04}.c"), lines)
            })
            .collect()
    }

    #[test]
    fn a_build_whose_coverage_barely_moves_costs_a_few_rows() {
        let before = project(1_000, 300);
        let executable: usize = before.values().map(BTreeMap::len).sum();
        assert!(executable >= 300_000, "{executable}");
        let mut after = before.clone();
        // Two lines lose coverage, a run of two more does, one file goes, one line stops being
        // executable.
        after
            .get_mut("src/f0001.c")
            .unwrap()
            .insert(1, state(false));
        after
            .get_mut("src/f0500.c")
            .unwrap()
            .insert(2, state(false));
        for n in [5, 6, 7] {
            after
                .get_mut("src/f0999.c")
                .unwrap()
                .insert(n, state(false));
        }
        after.remove("src/f0002.c");
        after.get_mut("src/f0003.c").unwrap().remove(&9);
        let chain = Chain { depth: 3, spans: 9 };
        let encoded = encode(Some((&before, chain)), &after);
        let Encoded::Delta(spans) = &encoded else {
            panic!("a keyframe: {} spans", encoded.spans().len());
        };
        assert_eq!(spans.len(), 5, "{spans:?}");
        let mut read = before.clone();
        apply(&mut read, spans);
        assert_eq!(read, after);
    }

    #[test]
    fn hit_counts_are_kept_to_the_power_of_two_below() {
        let buckets: Vec<u64> = [0, 1, 2, 3, 4, 7, 8, 1000, u64::MAX]
            .into_iter()
            .map(bucket)
            .collect();
        assert_eq!(buckets, [0, 1, 2, 2, 4, 4, 8, 512, 1 << 62]);
        // The top bucket fits the databases' signed column and stands for every larger count.
        assert!(i64::try_from(bucket(u64::MAX)).is_ok());
        assert_eq!(super::super::view::hits_max(bucket(u64::MAX)), u64::MAX);
        assert_eq!(super::super::view::hits_max(bucket(1000)), 1023);
        // A count that moves within its bucket writes nothing; one that doubles writes its line.
        let line = |hits| LineCoverage {
            hits,
            branches: None,
        };
        let at = |hits| -> Snapshot {
            [("a.c".to_owned(), [(3, State::from(&line(hits)))].into())].into()
        };
        assert_eq!(delta(&at(5), &at(6)), []);
        let spans = delta(&at(5), &at(9));
        assert_eq!(spans.len(), 1);
        assert_eq!(spans[0].state.and_then(|s| s.hits), Some(8));
    }

    #[test]
    fn a_keyframe_is_runs_and_reads_back() {
        let snap = project(10, 100);
        let spans = keyframe(&snap);
        let lines: usize = snap.values().map(BTreeMap::len).sum();
        assert!(
            spans.len() < lines,
            "{} spans for {lines} lines",
            spans.len()
        );
        assert_eq!(decode(&spans, []), snap);
    }

    #[test]
    fn keyframes_come_first_when_the_deltas_add_up_to_the_whole_or_the_chain_is_long() {
        let a = project(3, 50);
        let whole = keyframe(&a).len() as u64;
        let at = |depth, spans| Some((&a, Chain { depth, spans }));
        assert!(matches!(encode(None, &a), Encoded::Keyframe(_)));
        // Nothing changed: an empty delta, up to the longest chain.
        assert_eq!(encode(at(0, 0), &a), Encoded::Delta(Vec::new()));
        assert_eq!(
            encode(at(MAX_DELTAS - 1, whole), &a),
            Encoded::Delta(Vec::new())
        );
        assert!(matches!(
            encode(at(MAX_DELTAS, 0), &a),
            Encoded::Keyframe(_)
        ));
        // One line changed: a delta of one span, unless the chain's deltas already hold as many
        // spans as the whole.
        let mut b = a.clone();
        b.get_mut("src/f0001.c").unwrap().insert(1, state(false));
        let whole_b = keyframe(&b).len() as u64;
        assert!(matches!(encode(at(5, whole_b - 1), &b), Encoded::Delta(d) if d.len() == 1));
        assert!(matches!(encode(at(5, whole_b), &b), Encoded::Keyframe(_)));
        // More than half the whole changed: a keyframe at once.
        let flipped: Snapshot = a
            .iter()
            .map(|(p, l)| {
                (
                    p.clone(),
                    l.iter().map(|(&n, s)| (n, state(!s.covered))).collect(),
                )
            })
            .collect();
        assert!(matches!(encode(at(0, 0), &flipped), Encoded::Keyframe(_)));
        // A delta of one span every build: a keyframe once in `whole_b` builds, and no chain
        // longer than MAX_DELTAS whatever the sizes.
        assert_eq!(deltas_per_keyframe(1, whole_b as usize), whole_b as u32);
        assert_eq!(deltas_per_keyframe(0, whole_b as usize), MAX_DELTAS);
        assert_eq!(deltas_per_keyframe(1, 230_000), MAX_DELTAS);
        assert_eq!(deltas_per_keyframe(100, 230_000), MAX_DELTAS);
        assert_eq!(deltas_per_keyframe(1_000, 230_000), 230);
        assert_eq!(deltas_per_keyframe(200_000, 230_000), 0);
    }

    #[test]
    fn a_chain_of_deltas_reads_back_every_build() {
        // A deterministic walk: each build changes a few lines, adds or drops a file.
        let mut builds = vec![project(4, 40)];
        let mut seed = 7u64;
        for b in 1..80u32 {
            let mut next = builds.last().unwrap().clone();
            for _ in 0..5 {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let file = format!("src/f{:04}.c", (seed >> 33) % 5);
                let line = ((seed >> 20) % 60) as u32 + 1;
                let lines = next.entry(file).or_default();
                match (seed >> 8) % 3 {
                    0 => {
                        lines.remove(&line);
                    }
                    1 => {
                        lines.insert(line, state(true));
                    }
                    _ => {
                        lines.insert(
                            line,
                            State {
                                covered: true,
                                hits: Some(8),
                                branches: Some(Branches {
                                    covered: 1,
                                    total: 2,
                                }),
                            },
                        );
                    }
                }
            }
            if b % 7 == 0 {
                next.remove("src/f0000.c");
            }
            next.retain(|_, lines| !lines.is_empty());
            builds.push(next);
        }
        let mut stored: Vec<Encoded> = Vec::new();
        let mut chain = Chain::default();
        for (i, build) in builds.iter().enumerate() {
            let previous = (i > 0).then(|| (&builds[i - 1], chain));
            let encoded = encode(previous, build);
            chain = chain_after(chain, &encoded);
            stored.push(encoded);
        }
        // The size bound made keyframes along the way, and no chain's deltas outgrew one.
        let keyframes = stored
            .iter()
            .filter(|e| matches!(e, Encoded::Keyframe(_)))
            .count();
        assert!(keyframes > 1 && keyframes < builds.len(), "{keyframes}");
        for (i, build) in builds.iter().enumerate() {
            let start = (0..=i)
                .rev()
                .find(|&k| matches!(stored[k], Encoded::Keyframe(_)))
                .unwrap();
            let read = decode(
                stored[start].spans(),
                stored[start + 1..=i].iter().map(Encoded::spans),
            );
            assert_eq!(&read, build, "build {i}");
        }
    }
}
