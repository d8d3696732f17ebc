//! A build's line coverage in the store: written as the change from the previous build with
//! coverage on its lane (its *base*), or as a keyframe ([`super::delta`]), and read back by
//! following the bases to the chain's keyframe.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::delta::{self, Encoded, Snapshot, Span};
use crate::error::{Error, Result};
use crate::store::{CoverageBuild, CoverageSpan, Id, Store};

/// Totals of a snapshot: files, lines covered and executable, branches taken and total.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Totals {
    pub(crate) files: u64,
    pub(crate) lines_covered: u64,
    pub(crate) lines_total: u64,
    pub(crate) branches_covered: u64,
    pub(crate) branches_total: u64,
}

impl Totals {
    pub(crate) fn of_file(lines: &BTreeMap<u32, delta::State>) -> Totals {
        let mut t = Totals {
            files: 1,
            ..Totals::default()
        };
        for state in lines.values() {
            t.lines_total += 1;
            t.lines_covered += u64::from(state.covered);
            if let Some(b) = state.branches {
                t.branches_covered += u64::from(b.covered);
                t.branches_total += u64::from(b.total);
            }
        }
        t
    }

    pub(crate) fn of(snapshot: &Snapshot) -> Totals {
        snapshot
            .values()
            .map(Totals::of_file)
            .fold(Totals::default(), |a, b| Totals {
                files: a.files + b.files,
                lines_covered: a.lines_covered + b.lines_covered,
                lines_total: a.lines_total + b.lines_total,
                branches_covered: a.branches_covered + b.branches_covered,
                branches_total: a.branches_total + b.branches_total,
            })
    }

    pub(crate) fn of_record(c: &CoverageBuild) -> Totals {
        Totals {
            files: c.files,
            lines_covered: c.lines_covered,
            lines_total: c.lines_total,
            branches_covered: c.branches_covered,
            branches_total: c.branches_total,
        }
    }
}

/// The snapshot of `build` (a build with coverage on the lane whose records are `lane`): its
/// chain's keyframe, then each delta to it.
pub(crate) fn snapshot_at(
    store: &mut dyn Store,
    lane: &[CoverageBuild],
    build: Id,
) -> Result<Snapshot> {
    Ok(read_chain(store, lane, build)?.0)
}

/// The snapshot of `build`, and where it stands in its chain (the deltas from the keyframe to
/// it, and their spans), which decides whether the next build's delta may follow it.
fn read_chain(
    store: &mut dyn Store,
    lane: &[CoverageBuild],
    build: Id,
) -> Result<(Snapshot, delta::Chain)> {
    let by_id: HashMap<Id, &CoverageBuild> = lane.iter().map(|c| (c.build, c)).collect();
    let mut chain = vec![build];
    let mut seen = HashSet::from([build]);
    let mut at = build;
    while let Some(base) = by_id.get(&at).and_then(|c| c.base) {
        // A chain never loops (a base is always an earlier build), is at most MAX_DELTAS deltas
        // long and ends at a keyframe of the lane; a damaged one is an error, not a wrong answer.
        let damaged = |what: &str| {
            Error::database(format!(
                "the stored coverage of build {build} is damaged: its chain of deltas {what}"
            ))
            .hint("ingest that build's reports again with `ingest --replace`")
        };
        if !seen.insert(base) {
            return Err(damaged("loops"));
        }
        if chain.len() > 2 * (delta::MAX_DELTAS as usize + 1) {
            return Err(damaged("is longer than any probtrack writes"));
        }
        if !by_id.contains_key(&base) {
            return Err(damaged(
                "refers to a build that has no coverage on its lane",
            ));
        }
        chain.push(base);
        at = base;
    }
    chain.reverse();
    let rows = store.coverage_spans(&chain)?;
    let mut snapshot = Snapshot::new();
    let mut start = 0;
    for &b in &chain {
        let end = start + rows[start..].iter().take_while(|(id, _)| *id == b).count();
        let spans: Vec<Span> = rows[start..end]
            .iter()
            .map(|(_, s)| Span {
                path: s.path.clone(),
                first: s.first,
                last: s.last,
                state: s.state,
            })
            .collect();
        delta::apply(&mut snapshot, &spans);
        start = end;
    }
    // The rows after the keyframe's.
    let keyframe = rows.iter().take_while(|(id, _)| *id == chain[0]).count();
    let position = delta::Chain {
        depth: u32::try_from(chain.len() - 1).unwrap_or(u32::MAX),
        spans: (rows.len() - keyframe) as u64,
    };
    Ok((snapshot, position))
}

/// The builder's previous build with coverage before build `number` on the lane.
pub(crate) fn previous(lane: &[CoverageBuild], number: i64) -> Option<&CoverageBuild> {
    lane.iter().rev().find(|c| c.number < number)
}

/// Rewrites every build whose spans are relative to `build` as a keyframe, so that `build`'s
/// coverage can change or go without changing theirs.
pub(crate) fn detach(store: &mut dyn Store, lane: Id, build: Id) -> Result<()> {
    detach_from(store, lane, &[build])
}

/// Rewrites as a keyframe every build outside `builds` whose spans are relative to one of them,
/// so that all of `builds` can go at once (prune) without changing the others' coverage: a
/// chain of builds that go together rewrites only the first build kept after it, not each one.
pub(crate) fn detach_from(store: &mut dyn Store, lane: Id, builds: &[Id]) -> Result<()> {
    let going: HashSet<Id> = builds.iter().copied().collect();
    let records = store.lane_coverage(lane)?;
    let dependents: Vec<CoverageBuild> = records
        .iter()
        .filter(|c| c.base.is_some_and(|b| going.contains(&b)) && !going.contains(&c.build))
        .cloned()
        .collect();
    for dependent in dependents {
        let snapshot = snapshot_at(store, &records, dependent.build)?;
        let spans = delta::keyframe(&snapshot);
        let record = CoverageBuild {
            base: None,
            depth: 0,
            ..dependent
        };
        write_spans(store, &record, &spans)?;
        // A keyframe holds every file's value of its per-file series (`super::series`).
        let metrics = super::record::file_metrics(&snapshot, None);
        crate::metrics::write_values(store, dependent.build, &metrics, &mut Vec::new())?;
    }
    Ok(())
}

/// Writes `snapshot` as `build`'s coverage (`number` on `lane`), against the previous build with
/// coverage on the lane. Builds that were relative to `build` are made keyframes first. Returns
/// the coverage the build was written against (`None`: written as a keyframe).
pub(crate) fn write(
    store: &mut dyn Store,
    lane: Id,
    build: Id,
    number: i64,
    snapshot: &Snapshot,
) -> Result<Option<Snapshot>> {
    detach(store, lane, build)?;
    let records = store.lane_coverage(lane)?;
    let base = previous(&records, number).cloned();
    let previous_snapshot = match &base {
        Some(b) => Some(read_chain(store, &records, b.build)?),
        None => None,
    };
    let encoded = delta::encode(
        previous_snapshot.as_ref().map(|(s, chain)| (s, *chain)),
        snapshot,
    );
    let totals = Totals::of(snapshot);
    let (base, depth) = match (&encoded, &base, &previous_snapshot) {
        (Encoded::Delta(_), Some(b), Some((_, chain))) => {
            (Some(b.build), delta::chain_after(*chain, &encoded).depth)
        }
        _ => (None, 0),
    };
    let record = CoverageBuild {
        build,
        number,
        base,
        depth,
        files: totals.files,
        lines_covered: totals.lines_covered,
        lines_total: totals.lines_total,
        branches_covered: totals.branches_covered,
        branches_total: totals.branches_total,
    };
    write_spans(store, &record, encoded.spans())?;
    Ok(match encoded {
        Encoded::Delta(_) => previous_snapshot.map(|(s, _)| s),
        Encoded::Keyframe(_) => None,
    })
}

fn write_spans(store: &mut dyn Store, record: &CoverageBuild, spans: &[Span]) -> Result<()> {
    let mut paths: Vec<String> = spans.iter().map(|s| s.path.clone()).collect();
    paths.sort();
    paths.dedup();
    let ids = store.coverage_files(&paths)?;
    let ids: HashMap<&str, Id> = paths.iter().map(String::as_str).zip(ids).collect();
    let rows: Vec<CoverageSpan> = spans
        .iter()
        .map(|s| CoverageSpan {
            file: ids[s.path.as_str()],
            path: String::new(),
            first: s.first,
            last: s.last,
            state: s.state,
        })
        .collect();
    store.write_coverage(record, &rows)
}
