//! `### parse`: one element per result of the reports read.

use serde::Serialize;

use crate::ingest::Parsed;
use crate::report::lossy;

/// One result as a report gave it.
#[derive(Serialize)]
pub(crate) struct ResultView {
    pub file: String,
    pub test: String,
    pub kind: &'static str,
    pub status: &'static str,
    pub duration: Option<f64>,
    pub message: Option<String>,
    pub attempts: u32,
    pub details: serde_json::Map<String, serde_json::Value>,
}

/// The results of every report, in order.
pub(crate) fn results(parsed: &[Parsed]) -> Vec<ResultView> {
    parsed
        .iter()
        .flat_map(|report| {
            report.results.iter().map(|r| ResultView {
                file: report.name.clone(),
                test: lossy(&r.test),
                kind: r.kind.as_str(),
                status: r.status.as_str(),
                duration: r.duration,
                message: r.message.as_deref().map(|m| lossy(m)),
                attempts: r.attempts,
                details: r.details.clone(),
            })
        })
        .collect()
}
