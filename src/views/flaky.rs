//! `### flaky`: tests ranked by the evidence that they are flaky, most flaky first.

use serde::Serialize;

#[derive(Serialize)]
pub(crate) struct FlakyView {
    pub test: String,
    pub kind: &'static str,
    pub score: f64,
    pub runs: u64,
    pub failures: u64,
    pub flips: u64,
    pub flip_rate: f64,
    pub weighted_flip_rate: f64,
    pub retry_flakes: u64,
    pub same_revision: u64,
    /// How many different failure messages (volatile parts masked) its failures had.
    pub messages: usize,
    /// Where it showed flaky evidence.
    pub builders: Vec<String>,
    pub last_flake: Option<LastFlake>,
    pub runner_id: Option<String>,
}

/// `{builder, build, time}`.
#[derive(Serialize)]
pub(crate) struct LastFlake {
    pub builder: String,
    pub build: i64,
    pub time: String,
}
