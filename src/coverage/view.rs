//! What `probtrack coverage` and the report's coverage pages show: a builder's coverage at a
//! build (totals, every file with its change from the previous build with coverage, the trend,
//! the open coverage Problems) and one file's lines with their classes.

use std::collections::BTreeMap;
use std::path::Path;

use probtrack_parsers::coverage::LineCoverage;
use probtrack_parsers::Kind;

use super::classify::{self, Class, Lines};
use super::delta::{Snapshot, State};
use super::diff::{self, Diff};
use super::stored::{self, Totals};
use crate::clock;
use crate::error::{Error, Result};
use crate::store::{CoverageBuild, Id, LaneBuild, LaneRecord, ProblemFilter, Store};
use crate::views::coverage::{
    CoverageFile, CoverageFileRow, CoverageLine, CoverageProblemRef, CoverageSummary,
    CoverageTotals, CoverageTrendPoint, FlakyCoverage,
};

/// How many builds the trend shows.
pub(crate) const TREND: usize = 20;

/// Which build's coverage: a builder (else the builder whose latest coverage is the newest), a
/// branch (`None`: builds without a branch), a build number (else the builder's latest build with
/// coverage).
#[derive(Clone, Debug, Default)]
pub(crate) struct Selection {
    pub(crate) builder: Option<String>,
    pub(crate) branch: Option<String>,
    pub(crate) build: Option<i64>,
}

/// A lane with coverage, its builds and their coverage records, in build order.
pub(crate) struct LaneCoverage {
    pub(crate) lane: LaneRecord,
    pub(crate) builds: Vec<LaneBuild>,
    pub(crate) coverage: Vec<CoverageBuild>,
}

impl LaneCoverage {
    fn build(&self, id: Id) -> Option<&LaneBuild> {
        self.builds.iter().find(|b| b.id == id)
    }
}

/// Every lane of `branch` with coverage, by builder name.
pub(crate) fn lanes(store: &mut dyn Store, branch: Option<&str>) -> Result<Vec<LaneCoverage>> {
    let mut out = Vec::new();
    for lane in store.lanes()? {
        if lane.branch.as_deref() != branch {
            continue;
        }
        let coverage = store.lane_coverage(lane.id)?;
        if coverage.is_empty() {
            continue;
        }
        let builds = store.lane_builds(lane.id)?;
        out.push(LaneCoverage {
            lane,
            builds,
            coverage,
        });
    }
    out.sort_by(|a, b| a.lane.builder.cmp(&b.lane.builder));
    Ok(out)
}

/// The lane and build a selection names: `None` when there is no coverage there.
fn select(store: &mut dyn Store, sel: &Selection) -> Result<Option<(LaneCoverage, usize)>> {
    let mut lanes = lanes(store, sel.branch.as_deref())?;
    if let Some(builder) = &sel.builder {
        lanes.retain(|l| &l.lane.builder == builder);
    }
    // The builder whose latest coverage is the newest (by time, then builder name).
    let latest = |l: &LaneCoverage| {
        let last = l.coverage.last().map(|c| c.build);
        last.and_then(|id| l.build(id)).map(|b| b.time)
    };
    let mut best: Option<LaneCoverage> = None;
    for lane in lanes {
        if best.as_ref().is_none_or(|b| latest(&lane) > latest(b)) {
            best = Some(lane);
        }
    }
    let Some(lane) = best else {
        return Ok(None);
    };
    let at = match sel.build {
        Some(number) => lane.coverage.iter().position(|c| c.number == number),
        None => lane.coverage.len().checked_sub(1),
    };
    Ok(at.map(|at| (lane, at)))
}

fn percent(covered: u64, total: u64) -> Option<f64> {
    // Two decimals, so that the same coverage prints the same everywhere.
    (total > 0).then(|| (covered as f64 * 10_000.0 / total as f64).round() / 100.0)
}

fn totals_view(t: Totals) -> CoverageTotals {
    CoverageTotals {
        files: t.files,
        lines_covered: t.lines_covered,
        lines_total: t.lines_total,
        lines_percent: percent(t.lines_covered, t.lines_total),
        branches_covered: t.branches_covered,
        branches_total: t.branches_total,
        branches_percent: percent(t.branches_covered, t.branches_total),
    }
}

/// A builder's coverage at a build: `None` when the selection has no coverage.
pub(crate) fn summary(store: &mut dyn Store, sel: &Selection) -> Result<Option<CoverageSummary>> {
    let Some((lane, at)) = select(store, sel)? else {
        return Ok(None);
    };
    let record = &lane.coverage[at];
    let previous = at.checked_sub(1).map(|p| &lane.coverage[p]);
    let now = stored::snapshot_at(store, &lane.coverage, record.build)?;
    let before = match previous {
        Some(p) => stored::snapshot_at(store, &lane.coverage, p.build)?,
        None => Snapshot::new(),
    };
    let files = file_rows(&now, previous.map(|_| &before));
    let build = lane.build(record.build).cloned();
    let trend = lane.coverage[at.saturating_sub(TREND - 1)..=at]
        .iter()
        .map(|c| CoverageTrendPoint {
            build: c.number,
            lines_percent: percent(c.lines_covered, c.lines_total),
        })
        .collect();
    let problems = open_problems(store, &lane.lane)?;
    let window = &lane.coverage[at.saturating_sub(TREND - 1)..=at];
    let flaky = flaky(store, window)?;
    Ok(Some(CoverageSummary {
        builder: lane.lane.builder.clone(),
        branch: lane.lane.branch.clone(),
        build: record.number,
        revision: build.as_ref().and_then(|b| b.revision.clone()),
        time: build.map_or_else(String::new, |b| clock::rfc3339(b.time)),
        previous_build: previous.map(|p| p.number),
        totals: totals_view(Totals::of_record(record)),
        previous_totals: previous.map(|p| totals_view(Totals::of_record(p))),
        trend,
        files,
        problems,
        flaky,
    }))
}

/// The files whose coverage was flaky (results `flaky`) in these builds.
fn flaky(store: &mut dyn Store, builds: &[CoverageBuild]) -> Result<Vec<FlakyCoverage>> {
    let mut found: BTreeMap<Id, FlakyCoverage> = BTreeMap::new();
    for build in builds {
        let rows = store.results(Some(build.build), None, true)?;
        let rows: Vec<_> = rows
            .into_iter()
            .filter(|(_, r)| r.status == probtrack_parsers::Status::Flaky)
            .collect();
        if rows.is_empty() {
            continue;
        }
        let ids: Vec<Id> = rows.iter().map(|(_, r)| r.test).collect();
        let tests = store.tests_by_id(&ids)?;
        for (_, r) in rows {
            let Some(test) = tests.get(&r.test).filter(|t| t.kind == Kind::Coverage) else {
                continue;
            };
            let lines = super::numbers(&super::details_value(r.details.as_ref()), "flaky");
            let entry = found.entry(r.test).or_insert_with(|| FlakyCoverage {
                path: test.name.to_string(),
                builds: Vec::new(),
                lines: Vec::new(),
            });
            entry.builds.push(build.number);
            entry.lines = lines;
        }
    }
    let mut out: Vec<FlakyCoverage> = found.into_values().collect();
    out.sort_by(|a, b| {
        b.builds
            .len()
            .cmp(&a.builds.len())
            .then(a.path.cmp(&b.path))
    });
    Ok(out)
}

/// Every file of `now`, with its change from `before` (`None`: no previous build).
fn file_rows(now: &Snapshot, before: Option<&Snapshot>) -> Vec<CoverageFileRow> {
    let empty = BTreeMap::new();
    now.iter()
        .map(|(path, lines)| {
            let t = Totals::of_file(lines);
            let old = before.and_then(|b| b.get(path));
            let old_lines = old.unwrap_or(&empty);
            let lost = lines
                .iter()
                .filter(|(n, s)| !s.covered && old_lines.get(n).is_some_and(|o| o.covered))
                .count() as u64;
            let gained = lines
                .iter()
                .filter(|(n, s)| s.covered && old_lines.get(n).is_some_and(|o| !o.covered))
                .count() as u64;
            let change = old.and_then(|old| {
                let o = Totals::of_file(old);
                let (a, b) = (
                    percent(t.lines_covered, t.lines_total)?,
                    percent(o.lines_covered, o.lines_total)?,
                );
                Some(((a - b) * 100.0).round() / 100.0)
            });
            CoverageFileRow {
                path: path.clone(),
                lines_covered: t.lines_covered,
                lines_total: t.lines_total,
                lines_percent: percent(t.lines_covered, t.lines_total),
                branches_covered: t.branches_covered,
                branches_total: t.branches_total,
                branches_percent: percent(t.branches_covered, t.branches_total),
                change,
                new: old.is_none(),
                lost,
                gained,
            }
        })
        .collect()
}

/// The open coverage Problems of the lane's branch that its builder is part of.
fn open_problems(store: &mut dyn Store, lane: &LaneRecord) -> Result<Vec<CoverageProblemRef>> {
    let problems = store.problems(&ProblemFilter {
        open: Some(true),
        branch: Some(lane.branch.clone()),
        ..ProblemFilter::default()
    })?;
    Ok(problems
        .into_iter()
        .filter(|p| p.kind == Kind::Coverage)
        .filter(|p| p.builders.iter().any(|b| b.builder == lane.builder))
        .map(|p| CoverageProblemRef {
            id: p.id,
            path: p.test_name.to_string(),
            message: p.message.as_ref().map(|m| crate::report::lossy(m)),
        })
        .collect())
}

/// The snapshot as the classifier's lines (hits as stored: to the power of two below).
pub(crate) fn as_lines(snapshot: &Snapshot) -> Lines {
    snapshot
        .iter()
        .map(|(path, lines)| {
            (
                path.clone(),
                lines.iter().map(|(&n, s)| (n, line_of(s))).collect(),
            )
        })
        .collect()
}

fn line_of(state: &State) -> LineCoverage {
    LineCoverage {
        hits: state.hits.unwrap_or(u64::from(state.covered)),
        branches: state.branches,
    }
}

/// The largest count a stored hit count stands for: a bucket of the power of two `hits` holds
/// `hits..2 * hits` (0 and 1 are exact).
pub(crate) fn hits_max(hits: u64) -> u64 {
    if hits <= 1 {
        hits
    } else if hits >= 1 << super::delta::TOP_BUCKET_BIT {
        u64::MAX
    } else {
        hits.saturating_mul(2) - 1
    }
}

/// How a stored hit count reads: `0`, `1`, `4-7`; `?` where it is not known.
pub(crate) fn hits_text(hits: Option<u64>) -> String {
    match hits {
        None => "?".to_owned(),
        Some(h) if h <= 1 => h.to_string(),
        Some(h) => format!("{h}-{}", hits_max(h)),
    }
}

/// The diff between two revisions from the repository at `git`, where both are known.
pub(crate) fn git_diff(
    git: Option<&Path>,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<Option<Diff>> {
    let (Some(repo), Some(from), Some(to)) = (git, from, to) else {
        return Ok(None);
    };
    let text = crate::blamelist::diff(repo, from, to)?;
    diff::parse(&text)
        .map(Some)
        .map_err(|e| Error::bad_input(format!("cannot read git diff {from} {to}: {e}")))
}

/// One file's lines at a build, classified against the previous build with coverage (with the
/// git diff between their revisions when `git` names the repository): `None` when the selection
/// has no coverage or the file none there.
pub(crate) fn file(
    store: &mut dyn Store,
    sel: &Selection,
    path: &str,
    git: Option<&Path>,
) -> Result<Option<CoverageFile>> {
    let Some((lane, at)) = select(store, sel)? else {
        return Ok(None);
    };
    let record = &lane.coverage[at];
    let now = stored::snapshot_at(store, &lane.coverage, record.build)?;
    let Some(lines) = now.get(path) else {
        return Ok(None);
    };
    let previous = at.checked_sub(1).map(|p| &lane.coverage[p]);
    let build = lane.build(record.build).cloned();
    let mut classes: BTreeMap<u32, Class> = BTreeMap::new();
    let mut with_diff = false;
    if let Some(p) = previous {
        let before = stored::snapshot_at(store, &lane.coverage, p.build)?;
        let old_rev = lane.build(p.build).and_then(|b| b.revision.clone());
        let new_rev = build.as_ref().and_then(|b| b.revision.clone());
        let diff = match git_diff(git, old_rev.as_deref(), new_rev.as_deref())? {
            Some(d) => {
                with_diff = true;
                d
            }
            None => Diff::default(),
        };
        let mut current = Lines::new();
        current.insert(path.to_owned(), as_lines(&now)[path].clone());
        // Only the baseline file this one came from (a rename keeps its baseline).
        let old_path = diff
            .by_new_path(path)
            .map_or(Some(path.to_owned()), |c| c.old_path.clone());
        let mut baseline = Lines::new();
        if let Some(old) = old_path.as_deref().and_then(|o| before.get(o)) {
            let old_path = old_path.clone().unwrap_or_default();
            baseline.insert(
                old_path,
                old.iter().map(|(&n, s)| (n, line_of(s))).collect(),
            );
        }
        for file in classify::classify(&baseline, &current, &diff) {
            if file.path != path {
                continue;
            }
            for l in file.lines {
                if let Some(n) = l.line {
                    classes.insert(n, l.class);
                }
            }
        }
    }
    let lines = lines
        .iter()
        .map(|(&n, s)| CoverageLine {
            line: n,
            covered: s.covered,
            branches_covered: s.branches.map(|b| b.covered),
            branches_total: s.branches.map(|b| b.total),
            partial: s.covered && s.branches.is_some_and(|b| b.covered < b.total),
            class: classes.get(&n).map(|c| c.code()),
            hits: s.hits,
            hits_max: s.hits.map(hits_max),
        })
        .collect();
    Ok(Some(CoverageFile {
        path: path.to_owned(),
        builder: lane.lane.builder.clone(),
        branch: lane.lane.branch.clone(),
        build: record.number,
        revision: build.and_then(|b| b.revision),
        previous_build: previous.map(|p| p.number),
        diff: with_diff,
        totals: totals_view(Totals::of_file(now.get(path).unwrap_or(&BTreeMap::new()))),
        lines,
    }))
}
