//! `### since TEST`: when and where a test started failing, and whose change did it.

use serde::Serialize;

use crate::views::{ChangeView, View};

#[derive(Serialize)]
pub(crate) struct SinceView {
    pub test: String,
    pub failing: bool,
    pub builders: Vec<BuilderSince>,
    pub started_by: Vec<ChangeView>,
    pub problem: Option<i64>,
    pub fixed_by: Vec<ChangeView>,
    /// The build that fixed the last Problem (its number, like `since_build`), and where and when.
    pub fixed_build: Option<i64>,
    pub fixed_builder: Option<String>,
    pub fixed_revision: Option<String>,
    pub fixed_time: Option<String>,
}

impl View for SinceView {}

/// A builder where the test is failing now.
#[derive(Serialize)]
pub(crate) struct BuilderSince {
    pub builder: String,
    pub since_build: i64,
    pub since_revision: Option<String>,
    pub since_time: String,
    pub last_pass_build: Option<i64>,
}
