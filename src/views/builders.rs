//! `### builders`: every builder, by name, with its latest build.

use serde::Serialize;

use crate::store::Counts;

/// One builder.
#[derive(Serialize)]
pub(crate) struct BuilderView {
    pub builder: String,
    pub retired: bool,
    /// Its builds on every branch.
    pub builds: usize,
    pub latest: Option<Latest>,
    /// Open Problems it is part of, on any branch (not intermittent ones, whatever
    /// `docs/output.md` says).
    pub open_problems: usize,
}

/// A builder's most recent build.
#[derive(Serialize)]
pub(crate) struct Latest {
    pub build: i64,
    pub branch: Option<String>,
    pub revision: Option<String>,
    pub time: String,
    pub result: Option<String>,
    pub counts: Counts,
}
