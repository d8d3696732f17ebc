//! `### parse`: one element per result of the reports read.

use serde::Serialize;

use crate::ingest::Parsed;
use crate::metrics::MetricFile;
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

/// One series a metric file gave (`parse --metrics`).
#[derive(Serialize)]
pub(crate) struct MetricView {
    pub file: String,
    pub parser: &'static str,
    /// The series' identity, `NAME{key=value,...}`.
    pub series: String,
    pub name: String,
    pub params: serde_json::Map<String, serde_json::Value>,
    pub value: f64,
    pub unit: Option<String>,
    /// `lower_is_better` or `higher_is_better` where the file says; null leaves it to the
    /// settings and the unit.
    pub direction: Option<&'static str>,
    pub spread: probtrack_parsers::metrics::Spread,
}

/// The series of every metric file, in order.
pub(crate) fn metrics(files: &[MetricFile]) -> Vec<MetricView> {
    (files.iter())
        .flat_map(|file| {
            file.metrics.iter().map(|m| MetricView {
                file: file.name.clone(),
                parser: file.parser,
                series: m.series.to_string(),
                name: m.series.name.clone(),
                params: (m.series.params.iter())
                    .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                    .collect(),
                value: m.value,
                unit: m.unit.clone(),
                direction: m.direction.map(|d| d.as_str()),
                spread: m.spread.clone(),
            })
        })
        .collect()
}
