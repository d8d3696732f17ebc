//! `### history TEST`: a test's results per builder, newest first.

use serde::Serialize;

use crate::views::View;

#[derive(Serialize)]
pub(crate) struct HistoryView {
    pub test: String,
    pub kind: &'static str,
    pub builders: Vec<BuilderHistory>,
}

#[derive(Serialize)]
pub(crate) struct BuilderHistory {
    pub builder: String,
    pub branch: Option<String>,
    pub results: Vec<ResultView>,
}

#[derive(Serialize)]
pub(crate) struct ResultView {
    pub build: i64,
    pub revision: Option<String>,
    pub time: String,
    pub status: &'static str,
    /// Flaky evidence: a retry flake, or a failure of a flaky test that no Problem explains.
    pub flake: bool,
    pub duration: Option<f64>,
    pub attempts: u32,
    pub message: Option<String>,
}

/// A CSV row: one result, with its test and builder.
#[derive(Serialize)]
pub(crate) struct HistoryRow<'a> {
    test: &'a str,
    builder: &'a str,
    build: i64,
    revision: Option<&'a str>,
    time: &'a str,
    status: &'static str,
    duration: Option<f64>,
    attempts: u32,
    message: Option<&'a str>,
}

impl View for HistoryView {
    fn csv_rows(&self) -> impl Serialize + '_ {
        self.builders
            .iter()
            .flat_map(|b| {
                b.results.iter().map(move |r| HistoryRow {
                    test: &self.test,
                    builder: &b.builder,
                    build: r.build,
                    revision: r.revision.as_deref(),
                    time: &r.time,
                    status: r.status,
                    duration: r.duration,
                    attempts: r.attempts,
                    message: r.message.as_deref(),
                })
            })
            .collect::<Vec<_>>()
    }
}
