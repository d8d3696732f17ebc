//! `### ingest … --format json` (with `new_problems`): what an ingest did.

use serde::Serialize;

use crate::store::{Counts, Id};
use crate::views::View;

/// What an ingest did.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct IngestSummary {
    pub builder: String,
    pub build: i64,
    /// `created`, `added` (reports added to an existing build), `replaced` or `unchanged`.
    pub action: &'static str,
    pub reports: Vec<ReportSummary>,
    pub counts: Counts,
    pub changes: usize,
    pub warnings: Vec<String>,
    /// The metric files read (`--metrics`), each with its parser and how many series it gave.
    pub metric_files: Vec<ReportSummary>,
    /// How many metric values the build got (its files', `--metric`, and the built-in series).
    pub metric_values: usize,
    /// The Problems this build opened that are not intermittent: new breakage; and the metric
    /// regressions it confirmed.
    pub new_problems: Vec<NewProblem>,
    /// How long the ingest waited for the lock that serialised it and then held it until its
    /// commit ended: its branch's lock on PostgreSQL, the whole write elsewhere. Not output;
    /// shown on stderr with `PROBTRACK_LOCK_TIMES=1`, for the bench.
    #[serde(skip)]
    pub lock: Option<LockTimes>,
}

/// [`IngestSummary::lock`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct LockTimes {
    pub waited: std::time::Duration,
    pub held: std::time::Duration,
}

impl View for IngestSummary {}

/// A Problem a build opened.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct NewProblem {
    pub id: Id,
    pub test: String,
    /// The authors of its starting changes.
    pub started_by: Vec<String>,
}

/// One report of the ingest.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct ReportSummary {
    pub file: String,
    pub parser: Option<&'static str>,
    pub results: u64,
    /// False when this report was already in the build (same content).
    pub added: bool,
}
