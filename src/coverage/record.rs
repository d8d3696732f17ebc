//! A build's coverage written inside ingest's transaction, and judged: each file's lines are
//! classified against the lane's previous build with coverage, and each file becomes a result of
//! kind `coverage` of the build, so that the Problems machinery (runs, streaks, narrowing across
//! builders, fixes, `--exit-code`) treats a file that lost coverage like a failing test:
//!
//! - `failed` while it has lines *owed*: lines that lost coverage (LBC) or new code that landed
//!   uncovered (UNC) in a build, until they run again (or go);
//! - `flaky` when lines lost coverage where nothing changed (flaky coverage: kept out of the
//!   Problems, and counted as flaky evidence like a test that passed on a retry);
//! - `passed` otherwise.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use bstr::BString;
use probtrack_parsers::metrics::{Direction, Metric, Series};
use probtrack_parsers::{Kind, Sink, Status, TestResult};
use serde_json::json;

use super::classify::{self, Class};
use super::delta::{self, Snapshot, State};
use super::diff::Diff;
use super::stored::{self, Totals};
use super::view::{as_lines, git_diff};
use crate::error::Result;
use crate::ingest::state::{BuildState, IngestSink};
use crate::ingest::Known;
use crate::settings::CoverageSettings;
use crate::store::{Changes, CoverageBuild, Id, Store};

/// Where the build is, and how to judge its coverage.
pub(crate) struct Recording<'a> {
    pub(crate) lane: Id,
    pub(crate) build: Id,
    pub(crate) number: i64,
    pub(crate) revision: Option<&'a str>,
    /// The repository the blamelist comes from: the diff between the two builds' revisions.
    pub(crate) git: Option<&'a Path>,
    pub(crate) settings: &'a CoverageSettings,
    /// The report number the coverage results take in the build's state.
    pub(crate) report: u32,
}

/// What recording gave: the metric values of the build's coverage, and the names of the
/// per-file series whose value the build carries from its base rather than holds
/// (`super::series`): they have a value at the build all the same, so they are judged too.
pub(crate) struct Recorded {
    pub(crate) metrics: Vec<Metric>,
    pub(crate) carried: Vec<String>,
}

/// Writes the build's coverage (merged with any it had) and adds each file's result to `state`.
pub(crate) fn record(
    store: &mut dyn Store,
    known: &mut Known,
    state: &mut BuildState,
    at: &Recording<'_>,
    coverage: &probtrack_parsers::coverage::Coverage,
) -> Result<Recorded> {
    let mut now = delta::snapshot(&super::lines_of(coverage));
    let records = store.lane_coverage(at.lane)?;
    let again = records.iter().any(|c| c.build == at.build);
    if again {
        // More coverage for a build that has some: lines run in either ran, and the files are
        // judged again on the whole (their earlier results replaced, not merged).
        merge(&mut now, stored::snapshot_at(store, &records, at.build)?);
        take_coverage_results(store, state)?;
    }
    let base = stored::write(store, at.lane, at.build, at.number, &now)?;
    // Per-file values where they changed from the coverage the build is stored against; all of
    // them for a keyframe, or for a build written again (its earlier values are overwritten).
    let metrics = metrics(&now, base.as_ref().filter(|_| !again));
    let written: BTreeSet<String> = metrics.iter().map(|m| m.series.to_string()).collect();
    let carried = (now.keys())
        .map(|path| file_series(path).to_string())
        .filter(|name| !written.contains(name))
        .collect();
    let results = judge_build(store, known, state, at, &records, &now)?;
    add_results(store, known, state, at.report, results)?;
    Ok(Recorded { metrics, carried })
}

/// Judges a build's stored coverage again, because the build before it with coverage changed (a
/// build arrived late, was replaced or deleted): its coverage results in `state` (what the build
/// holds, as ingest loads it) are replaced. Returns whether they changed: where they did not,
/// the builds after it, judged against it, need nothing either.
pub(crate) fn rejudge(
    store: &mut dyn Store,
    known: &mut Known,
    state: &mut BuildState,
    at: &Recording<'_>,
) -> Result<bool> {
    let records = store.lane_coverage(at.lane)?;
    if !records.iter().any(|c| c.build == at.build) {
        return Ok(false);
    }
    let now = stored::snapshot_at(store, &records, at.build)?;
    let before = take_coverage_results(store, state)?;
    let results = judge_build(store, known, state, at, &records, &now)?;
    add_results(store, known, state, at.report, results)?;
    Ok(coverage_results(state) != before)
}

/// What a file's coverage result says: its status, message and details.
type Verdict = (Status, Option<BString>, Option<[u8; 16]>);

/// The coverage results in `state`, by file.
fn coverage_results(state: &BuildState) -> BTreeMap<Id, Verdict> {
    state
        .coverage
        .iter()
        .filter_map(|id| {
            let entry = state.entries.get(id)?;
            let detail = entry.detail().and_then(|i| state.details.get(i as usize));
            let message = detail.and_then(|d| d.message.clone());
            let details = detail.and_then(|d| d.details.as_ref()).map(|d| d.key());
            Some((*id, (entry.status, message, details)))
        })
        .collect()
}

/// Takes the coverage results out of `state` (a build's results as loaded), returning them.
fn take_coverage_results(
    store: &mut dyn Store,
    state: &mut BuildState,
) -> Result<BTreeMap<Id, Verdict>> {
    // A build's results as loaded come in no order (the lane's runs): found by id, they must be
    // sorted first.
    state.settle();
    let ids: Vec<Id> = state.entries.keys().collect();
    if !ids.is_empty() {
        for (id, test) in store.tests_by_id(&ids)? {
            if test.kind == Kind::Coverage {
                state.coverage.insert(id);
            }
        }
    }
    let taken = coverage_results(state);
    let coverage = std::mem::take(&mut state.coverage);
    state.entries.retain(|id| !coverage.contains(id));
    Ok(taken)
}

/// Adds the files' results to `state` as report `report`, marked as coverage.
fn add_results(
    store: &mut dyn Store,
    known: &mut Known,
    state: &mut BuildState,
    report: u32,
    results: Vec<TestResult>,
) -> Result<()> {
    let paths: Vec<String> = results.iter().map(|r| r.test.to_string()).collect();
    let mut sink = IngestSink::new(store, known, state, report);
    for result in results {
        sink.result(result);
    }
    sink.finish()?;
    let ids = store.coverage_files(&paths)?;
    state.coverage.extend(ids);
    Ok(())
}

/// Each file's result of build `at`, whose coverage is `now`, judged against the lane's previous
/// build with coverage among `records`.
fn judge_build(
    store: &mut dyn Store,
    known: &mut Known,
    state: &mut BuildState,
    at: &Recording<'_>,
    records: &[CoverageBuild],
    now: &Snapshot,
) -> Result<Vec<TestResult>> {
    let mut results: Vec<TestResult> = Vec::new();
    match stored::previous(records, at.number).cloned() {
        None => {
            // The first coverage of the lane: nothing to compare with, every file passes.
            for path in now.keys() {
                if !ignored(at.settings, path) {
                    results.push(TestResult::new(
                        path.as_str(),
                        Kind::Coverage,
                        Status::Passed,
                    ));
                }
            }
        }
        Some(previous) => {
            let before = stored::snapshot_at(store, records, previous.build)?;
            let lane_builds = store.lane_builds(at.lane)?;
            let old_rev = lane_builds
                .iter()
                .find(|b| b.id == previous.build)
                .and_then(|b| b.revision.clone());
            // A diff git cannot give (a revision it does not have) leaves lines matched by
            // number, with a warning, rather than failing the build.
            let diff = match git_diff(at.git, old_rev.as_deref(), at.revision) {
                Ok(diff) => diff,
                Err(_) => {
                    state.warnings.push(format!(
                        "coverage of build #{} is compared with build #{} without a git diff (git \
                         could not diff the two revisions): lines are matched by number",
                        at.number, previous.number
                    ));
                    None
                }
            };
            // Without a diff, whether the source changed: the build's blamelist.
            let unchanged_source = match &diff {
                Some(_) => false,
                None => {
                    old_rev.is_some() && old_rev.as_deref() == at.revision
                        || store.changes(Changes::OfBuild(at.build))?.is_empty()
                }
            };
            let owed = owed_lines(store, previous.build, &before)?;
            let judged = judge(
                &before,
                now,
                diff.as_ref(),
                unchanged_source,
                &owed,
                at.settings,
            );
            let mut tests = Vec::new();
            if judged.iter().any(|j| !j.lost.is_empty()) {
                state.settle();
                tests = related_tests(store, known, state, at.lane, previous.number)?;
            }
            for j in judged {
                results.push(j.result(&tests));
            }
        }
    }
    Ok(results)
}

/// Lines run in either snapshot ran, their hits add up; of branches, the larger counts.
fn merge(now: &mut Snapshot, other: Snapshot) {
    for (path, lines) in other {
        let mine = now.entry(path).or_default();
        for (n, s) in lines {
            mine.entry(n)
                .and_modify(|m| {
                    m.covered |= s.covered;
                    // Runs add up (as the reports' own merge does), to the bucket below.
                    m.hits = match (m.hits, s.hits) {
                        (Some(a), Some(b)) => Some(delta::bucket(a.saturating_add(b))),
                        _ => None,
                    };
                    m.branches = match (m.branches, s.branches) {
                        (Some(a), Some(b)) => Some(probtrack_parsers::coverage::Branches {
                            covered: a.covered.max(b.covered),
                            total: a.total.max(b.total),
                        }),
                        (a, b) => a.or(b),
                    };
                })
                .or_insert(s);
        }
    }
}

/// Whether the settings' `ignore` patterns leave a path out of the Problems.
pub(crate) fn ignored(settings: &CoverageSettings, path: &str) -> bool {
    settings
        .ignore
        .iter()
        .any(|pattern| crate::metrics::glob(pattern, path))
}

/// The lines each file still owed in the previous build (its `coverage` result's `lines`), in
/// that build's numbering.
fn owed_lines(
    store: &mut dyn Store,
    previous: Id,
    before: &Snapshot,
) -> Result<BTreeMap<String, BTreeSet<u32>>> {
    let mut owed = BTreeMap::new();
    let rows = store.results(Some(previous), None, true)?;
    let failing: Vec<_> = rows
        .into_iter()
        .filter(|(_, r)| r.status.is_failing() && r.details.is_some())
        .collect();
    if failing.is_empty() {
        return Ok(owed);
    }
    let ids: Vec<Id> = failing.iter().map(|(_, r)| r.test).collect();
    let tests = store.tests_by_id(&ids)?;
    for (_, r) in failing {
        let Some(test) = tests.get(&r.test).filter(|t| t.kind == Kind::Coverage) else {
            continue;
        };
        let path = test.name.to_string();
        if !before.contains_key(&path) {
            continue;
        }
        let details = super::details_value(r.details.as_ref());
        let lines: BTreeSet<u32> = super::numbers(&details, "lines").into_iter().collect();
        if !lines.is_empty() {
            owed.insert(path, lines);
        }
    }
    Ok(owed)
}

/// One file judged against the previous build.
#[derive(Debug, Default)]
struct Judged {
    path: String,
    /// Every line it owes now: `lost` and `uncovered_new`, and those it owed before that still
    /// do not run.
    lines: BTreeSet<u32>,
    lost: Vec<u32>,
    uncovered_new: Vec<u32>,
    /// Lines that lost coverage where the source did not change.
    flaky: Vec<u32>,
}

impl Judged {
    fn result(self, tests: &[String]) -> TestResult {
        let status = if !self.lines.is_empty() {
            Status::Failed
        } else if !self.flaky.is_empty() {
            Status::Flaky
        } else {
            Status::Passed
        };
        let mut result = TestResult::new(self.path.as_str(), Kind::Coverage, status);
        if status == Status::Passed {
            return result;
        }
        if status == Status::Failed {
            let mut parts = Vec::new();
            if !self.lost.is_empty() {
                parts.push(format!(
                    "{} lost coverage ({}){}",
                    count(self.lost.len()),
                    ranges(&self.lost),
                    broke(tests)
                ));
            }
            if !self.uncovered_new.is_empty() {
                parts.push(format!(
                    "{} new and uncovered ({})",
                    count(self.uncovered_new.len()),
                    ranges(&self.uncovered_new)
                ));
            }
            let still = self.lines.len() - self.lost.len() - self.uncovered_new.len();
            if still > 0 {
                parts.push(format!("{} still uncovered", count(still)));
            }
            result.message = Some(BString::from(parts.join("; ")));
        } else {
            result.message = Some(BString::from(format!(
                "{} flipped to uncovered with no change ({})",
                count(self.flaky.len()),
                ranges(&self.flaky)
            )));
        }
        let tests: &[String] = if self.lost.is_empty() { &[] } else { tests };
        let details = json!({
            "lines": self.lines,
            "lost": self.lost,
            "uncovered_new": self.uncovered_new,
            "flaky": self.flaky,
            "tests": tests,
        });
        if let serde_json::Value::Object(map) = details {
            result.details = map;
        }
        result
    }
}

/// ` as TEST broke` (at most three named): the tests that broke in the build where lines were
/// lost, the likely reason, for the message.
fn broke(tests: &[String]) -> String {
    const NAMED: usize = 3;
    let (first, rest) = tests.split_at(tests.len().min(NAMED));
    match (first, rest.len()) {
        ([], _) => String::new(),
        ([one], _) => format!(" as test {one} broke"),
        (_, 0) => format!(" as tests {} broke", first.join(", ")),
        (_, more) => format!(" as tests {} and {more} more broke", first.join(", ")),
    }
}

fn count(n: usize) -> String {
    if n == 1 {
        "1 line".to_owned()
    } else {
        format!("{n} lines")
    }
}

/// `3-5, 9` from lines in order.
pub(crate) fn ranges(lines: &[u32]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let mut j = i;
        while j + 1 < lines.len() && lines[j + 1] == lines[j] + 1 {
            j += 1;
        }
        out.push(if i == j {
            lines[i].to_string()
        } else {
            format!("{}-{}", lines[i], lines[j])
        });
        i = j + 1;
    }
    out.join(", ")
}

/// Judges every file of `now` (and every file of `before` that owed lines) against `before`.
fn judge(
    before: &Snapshot,
    now: &Snapshot,
    diff: Option<&Diff>,
    unchanged_source: bool,
    owed: &BTreeMap<String, BTreeSet<u32>>,
    settings: &CoverageSettings,
) -> Vec<Judged> {
    let empty = Diff::default();
    let classes = classify::classify(&as_lines(before), &as_lines(now), diff.unwrap_or(&empty));
    let mut out = Vec::new();
    for file in classes {
        let current = now.get(&file.path);
        let Some(current) = current else {
            // No coverage of the file any more: what it owed cannot run again here.
            if owed.contains_key(&file.path) && !ignored(settings, &file.path) {
                out.push(Judged {
                    path: file.path.clone(),
                    ..Judged::default()
                });
            }
            continue;
        };
        if ignored(settings, &file.path) {
            continue;
        }
        let mut j = Judged {
            path: file.path.clone(),
            ..Judged::default()
        };
        // Lines lost where the source did not change are flaky coverage.
        let flaky_file = match diff {
            Some(_) => !file.changed,
            None => unchanged_source,
        };
        let mut moved: BTreeMap<u32, u32> = BTreeMap::new();
        for l in &file.lines {
            if let (Some(n), Some(old)) = (l.line, l.baseline_line) {
                moved.insert(old, n);
            }
            let Some(n) = l.line else { continue };
            match l.class {
                Class::LostBaseline if flaky_file => j.flaky.push(n),
                Class::LostBaseline => j.lost.push(n),
                Class::UncoveredNew => j.uncovered_new.push(n),
                // Without the diff, a line that became executable and does not run is most
                // likely new code.
                Class::UncoveredIncluded if diff.is_none() && !unchanged_source => {
                    j.uncovered_new.push(n);
                }
                _ => {}
            }
        }
        if j.lost.len() + j.uncovered_new.len() < settings.min_lines() {
            j.lost.clear();
            j.uncovered_new.clear();
        }
        let baseline = file.baseline_path.as_deref().unwrap_or(&file.path);
        if let Some(lines) = owed.get(baseline) {
            for old in lines {
                let still = moved
                    .get(old)
                    .filter(|n| current.get(n).is_some_and(|s: &State| !s.covered));
                if let Some(&n) = still {
                    j.lines.insert(n);
                }
            }
        }
        j.lines.extend(j.lost.iter().copied());
        j.lines.extend(j.uncovered_new.iter().copied());
        out.push(j);
    }
    out
}

/// The tests whose outcome broke in this build: that failed or were skipped in it and passed in
/// the lane's previous build with coverage, or that ran there and are absent now (at most
/// [`RELATED`], by name).
fn related_tests(
    store: &mut dyn Store,
    known: &mut Known,
    state: &BuildState,
    lane: Id,
    previous: i64,
) -> Result<Vec<String>> {
    let lane_runs = known.take_lane_runs(store, lane)?;
    let mut ids: Vec<Id> = Vec::new();
    for (test, runs) in &lane_runs {
        if state.coverage.contains(test) {
            continue;
        }
        let before = crate::runs::outcome_at(runs, previous);
        let broke = match state.entries.get(test) {
            Some(now) => {
                (now.status.is_failing() || now.status == Status::Skipped)
                    && before.is_some_and(Status::is_passing)
            }
            None => before.is_some_and(|s| s != Status::Skipped),
        };
        if broke {
            ids.push(*test);
        }
    }
    known.keep_lane_runs(lane, lane_runs);
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let tests = store.tests_by_id(&ids)?;
    let mut names: Vec<String> = tests
        .values()
        .filter(|t| t.kind == Kind::Test)
        .map(|t| t.name.to_string())
        .collect();
    names.sort();
    names.truncate(RELATED);
    Ok(names)
}

/// The most tests a coverage result names as related.
const RELATED: usize = 20;

/// The metric values of a build's coverage: `coverage.lines` and `coverage.branches` (percent of
/// the whole), and `coverage.lines{file=PATH}` per file where it differs from `base` (the
/// coverage the build is stored against; `None`: every file).
fn metrics(now: &Snapshot, base: Option<&Snapshot>) -> Vec<Metric> {
    let t = Totals::of(now);
    let mut out: Vec<Metric> = [
        (
            Series::new("coverage.lines"),
            t.lines_covered,
            t.lines_total,
        ),
        (
            Series::new("coverage.branches"),
            t.branches_covered,
            t.branches_total,
        ),
    ]
    .into_iter()
    .filter_map(|(series, covered, total)| percent_metric(series, covered, total))
    .collect();
    out.extend(file_metrics(now, base));
    out
}

/// `covered` of `total` as a metric in percent, higher is better; `None` when there is nothing
/// to count.
fn percent_metric(series: Series, covered: u64, total: u64) -> Option<Metric> {
    (total > 0).then(|| {
        let mut metric = Metric::single(series, covered as f64 * 100.0 / total as f64, Some("%"));
        metric.direction = Some(Direction::HigherIsBetter);
        metric
    })
}

/// Each file's `coverage.lines{file=PATH}` value, where it differs from its value in `base`
/// (`None`: every file's). A value left out is carried from `base` when read
/// (`super::series`).
pub(crate) fn file_metrics(now: &Snapshot, base: Option<&Snapshot>) -> Vec<Metric> {
    let value = |lines: &BTreeMap<u32, State>| {
        let f = Totals::of_file(lines);
        percent_metric(file_series(""), f.lines_covered, f.lines_total).map(|m| m.value)
    };
    let mut out = Vec::new();
    for (path, lines) in now {
        let old = base.and_then(|b| b.get(path)).map(&value);
        if old.is_some_and(|old| old.map(f64::to_bits) == value(lines).map(f64::to_bits)) {
            continue;
        }
        let f = Totals::of_file(lines);
        out.extend(percent_metric(
            file_series(path),
            f.lines_covered,
            f.lines_total,
        ));
    }
    out
}

/// The series of one file's line coverage: `coverage.lines{file=PATH}`.
pub(crate) fn file_series(path: &str) -> Series {
    let mut series = Series::new("coverage.lines");
    series.params.push(("file".to_owned(), path.to_owned()));
    series
}
