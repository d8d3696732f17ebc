//! `### coverage` and `### coverage FILE`: a builder's latest test coverage, and one file's lines.

use serde::Serialize;

use crate::views::View;

/// Totals of a build's coverage (or of one file's). A percentage is null where there is nothing
/// to count (no executable lines, no branches).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub(crate) struct CoverageTotals {
    pub(crate) files: u64,
    pub(crate) lines_covered: u64,
    pub(crate) lines_total: u64,
    pub(crate) lines_percent: Option<f64>,
    pub(crate) branches_covered: u64,
    pub(crate) branches_total: u64,
    pub(crate) branches_percent: Option<f64>,
}

/// One point of the trend: a build's line coverage.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct CoverageTrendPoint {
    pub(crate) build: i64,
    pub(crate) lines_percent: Option<f64>,
}

/// One source file of a build, with its change from the previous build with coverage.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct CoverageFileRow {
    /// Relative to the source root, `/`-separated.
    pub(crate) path: String,
    pub(crate) lines_covered: u64,
    pub(crate) lines_total: u64,
    pub(crate) lines_percent: Option<f64>,
    pub(crate) branches_covered: u64,
    pub(crate) branches_total: u64,
    pub(crate) branches_percent: Option<f64>,
    /// The line percentage now minus the previous build's (percentage points); null when the
    /// file is new or either has no executable lines.
    pub(crate) change: Option<f64>,
    /// Whether the file had no coverage in the previous build (or there is none).
    pub(crate) new: bool,
    /// Lines at the same number that ran in the previous build and do not now, and the
    /// reverse (without the git diff; `coverage FILE` classifies with it).
    pub(crate) lost: u64,
    pub(crate) gained: u64,
}

/// An open coverage Problem, as `coverage` lists it.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct CoverageProblemRef {
    pub(crate) id: i64,
    pub(crate) path: String,
    /// What its last failure says: how many lines lost coverage or landed uncovered, and which.
    pub(crate) message: Option<String>,
}

/// `coverage`: one builder's latest build with coverage.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct CoverageSummary {
    pub(crate) builder: String,
    pub(crate) branch: Option<String>,
    pub(crate) build: i64,
    pub(crate) revision: Option<String>,
    pub(crate) time: String,
    /// The builder's previous build with coverage, which `change` compares with.
    pub(crate) previous_build: Option<i64>,
    pub(crate) totals: CoverageTotals,
    pub(crate) previous_totals: Option<CoverageTotals>,
    /// The line coverage of the builder's last builds with coverage (up to 20), oldest first.
    pub(crate) trend: Vec<CoverageTrendPoint>,
    /// Every file, by path.
    pub(crate) files: Vec<CoverageFileRow>,
    /// The open coverage Problems on the branch that this builder is part of.
    pub(crate) problems: Vec<CoverageProblemRef>,
    /// Flaky coverage: files whose lines stopped running with no change to the source, in the
    /// builds of the trend, most such builds first. Kept out of the Problems.
    pub(crate) flaky: Vec<FlakyCoverage>,
}

/// A file with flaky coverage in the builds of the trend.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct FlakyCoverage {
    pub(crate) path: String,
    /// The builds where lines of it stopped running with no change, oldest first.
    pub(crate) builds: Vec<i64>,
    /// The lines that did in the latest of them.
    pub(crate) lines: Vec<u32>,
}

impl View for CoverageSummary {
    /// One row per file.
    fn csv_rows(&self) -> impl Serialize + '_ {
        &self.files
    }
}

/// One executable line of a file in a build.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct CoverageLine {
    pub(crate) line: u32,
    /// Whether it ran.
    pub(crate) covered: bool,
    /// Branches taken and branches, where the report gave them.
    pub(crate) branches_covered: Option<u32>,
    pub(crate) branches_total: Option<u32>,
    /// Covered with some branches not taken.
    pub(crate) partial: bool,
    /// Its class against the previous build with coverage (genhtml's code: `UNC`, `LBC`,
    /// `GNC`, `CBC`, …); null when there is no previous build.
    pub(crate) class: Option<&'static str>,
    /// How many times it ran, rounded down to a power of two (0, 1, 2, 4, 8, …: exact hit
    /// counts are not stored, docs/coverage.md), and the most that stands for (`hits_max`:
    /// `2 * hits - 1` from 2 on); null where the store does not know (coverage written before
    /// schema 6 kept only whether the line ran).
    pub(crate) hits: Option<u64>,
    pub(crate) hits_max: Option<u64>,
}

/// `coverage FILE`: one file's lines in a build.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct CoverageFile {
    pub(crate) path: String,
    pub(crate) builder: String,
    pub(crate) branch: Option<String>,
    pub(crate) build: i64,
    pub(crate) revision: Option<String>,
    pub(crate) previous_build: Option<i64>,
    /// Whether the classes come from the git diff between the two builds' revisions (else the
    /// source is taken as unchanged).
    pub(crate) diff: bool,
    pub(crate) totals: CoverageTotals,
    pub(crate) lines: Vec<CoverageLine>,
}

impl View for CoverageFile {
    /// One row per line.
    fn csv_rows(&self) -> impl Serialize + '_ {
        &self.lines
    }
}
