//! Metric files: benchmark results and other numbers a build measures, one [`Metric`] per series.
//!
//! The same shape as the test-report side of the crate, kept apart from it: a [`MetricFormat`]
//! reads a file and hands each [`Metric`] to a [`MetricSink`]; [`registry`] lists the formats,
//! [`detect`] picks one by sniffing the first bytes, and [`collect`] gathers a file's metrics,
//! merging the rounds of a series that the file reports more than once (`go test -count 5`).
//! [`parse_metric_arg`] reads the `--metric NAME=VALUE[UNIT]` argument. Errors are the crate's
//! [`ParseError`] (file, line, column, structural path); nothing here panics on any input.
//!
//! Adding a format is one module that implements [`MetricFormat`] and one line in [`registry`].

mod criterion;
mod generic;
mod go_bench;
mod google_benchmark;
mod hyperfine;
mod json;
pub(crate) mod lines;
mod model;
mod pytest_benchmark;
#[cfg(test)]
mod robustness;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::io::BufRead;

use chrono::{DateTime, Utc};

use crate::error::ParseError;
use crate::format::{Confidence, ParseOptions, SNIFF_LEN};

pub use criterion::{CargoCriterion, CriterionEstimates};
pub use generic::{GenericJson, GenericLines};
pub use go_bench::GoBench;
pub use google_benchmark::GoogleBenchmark;
pub use hyperfine::Hyperfine;
pub use model::{
    normalise_unit, parse_metric_arg, size_factor, time_factor, Direction, Metric, Series, Spread,
    MAX_NAME_LEN, MAX_SAMPLES,
};
pub use pytest_benchmark::PytestBenchmark;

/// Where a metric parser sends what it finds.
pub trait MetricSink {
    /// One series' value. A file may give the same series more than once (repeated runs):
    /// [`MetricCollector`] merges them.
    fn metric(&mut self, metric: Metric);
    /// Something odd that did not stop the parse (a benchmark that reported an error, a value
    /// that is not a number). The text names the file.
    fn warning(&mut self, _message: String) {}
    /// The time the file says its run happened.
    fn timestamp(&mut self, _time: DateTime<Utc>) {}
}

/// A metric file format.
pub trait MetricFormat: Sync {
    /// The name `--metrics-parser` takes (for the CLI, once metrics are stored).
    fn name(&self) -> &'static str;
    /// One line for a listing of formats.
    fn description(&self) -> &'static str;
    /// A cheap look at the first bytes (at most [`SNIFF_LEN`]) of a file. `options.source` is
    /// there for the formats whose files are known by name (Criterion's `estimates.json`).
    fn sniff(&self, head: &[u8], options: &ParseOptions) -> Confidence;
    /// Reads the whole file.
    fn parse(
        &self,
        input: &mut dyn BufRead,
        options: &ParseOptions,
        sink: &mut dyn MetricSink,
    ) -> Result<(), ParseError>;
}

/// Every metric format, in the order a listing shows them.
pub fn registry() -> &'static [&'static dyn MetricFormat] {
    &[
        // One line per format.
        &GoogleBenchmark,
        &PytestBenchmark,
        &CriterionEstimates,
        &CargoCriterion,
        &Hyperfine,
        &GoBench,
        &GenericJson,
        &GenericLines,
    ]
}

/// The metric format named `name`.
pub fn by_name(name: &str) -> Option<&'static dyn MetricFormat> {
    registry().iter().copied().find(|f| f.name() == name)
}

/// The format whose sniff is most confident about `head` (the first [`SNIFF_LEN`] bytes), if
/// any is at all.
pub fn detect(head: &[u8], options: &ParseOptions) -> Option<&'static dyn MetricFormat> {
    let head = &head[..head.len().min(SNIFF_LEN)];
    registry()
        .iter()
        .map(|format| (format.sniff(head, options), *format))
        .filter(|(confidence, _)| *confidence > Confidence::NONE)
        .max_by_key(|(confidence, _)| *confidence)
        .map(|(_, format)| format)
}

/// A file's metrics, one per series (repeats merged), in the order first seen.
#[derive(Debug, Default)]
pub struct MetricsCollected {
    pub metrics: Vec<Metric>,
    pub warnings: Vec<String>,
    /// The earliest time the file gave.
    pub timestamp: Option<DateTime<Utc>>,
}

/// A [`MetricSink`] that merges the repeats of a series: their values become the rounds of one
/// metric (their samples, where each had samples), whose value is the median of the rounds.
#[derive(Debug, Default)]
pub struct MetricCollector {
    collected: MetricsCollected,
    index: HashMap<Series, usize>,
    /// Per merged series: every round so far (a repeat without samples counts as one round).
    rounds: HashMap<usize, Vec<f64>>,
}

impl MetricCollector {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn finish(self) -> MetricsCollected {
        self.collected
    }
}

fn rounds_of(metric: &Metric) -> Vec<f64> {
    if metric.spread.samples.is_empty() {
        vec![metric.value]
    } else {
        metric.spread.samples.clone()
    }
}

impl MetricSink for MetricCollector {
    fn metric(&mut self, metric: Metric) {
        match self.index.get(&metric.series) {
            None => {
                self.index
                    .insert(metric.series.clone(), self.collected.metrics.len());
                self.collected.metrics.push(metric);
            }
            Some(&at) => {
                let kept = &mut self.collected.metrics[at];
                if kept.unit != metric.unit {
                    self.collected.warnings.push(format!(
                        "series {} is given in {} and in {}: its later value was left out",
                        kept.series,
                        kept.unit.as_deref().unwrap_or("no unit"),
                        metric.unit.as_deref().unwrap_or("no unit")
                    ));
                    return;
                }
                let rounds = self.rounds.entry(at).or_insert_with(|| rounds_of(kept));
                if rounds.len() < MAX_SAMPLES {
                    rounds.extend(rounds_of(&metric));
                    rounds.truncate(MAX_SAMPLES);
                }
                let total = kept.spread.rounds + metric.spread.rounds.max(1);
                if let Some(mut spread) = Spread::of_samples(rounds) {
                    spread.rounds = total.max(spread.rounds);
                    kept.value = spread.median.unwrap_or(kept.value);
                    kept.spread = spread;
                }
                if kept.direction.is_none() {
                    kept.direction = metric.direction;
                }
            }
        }
    }

    fn warning(&mut self, message: String) {
        self.collected.warnings.push(message);
    }

    fn timestamp(&mut self, time: DateTime<Utc>) {
        let earliest = self.collected.timestamp.map_or(time, |t| t.min(time));
        self.collected.timestamp = Some(earliest);
    }
}

/// Parses a whole metric file with `format`, merging repeated series.
pub fn collect(
    format: &dyn MetricFormat,
    input: &mut dyn BufRead,
    options: &ParseOptions,
) -> Result<MetricsCollected, ParseError> {
    let mut collector = MetricCollector::new();
    format.parse(input, options, &mut collector)?;
    Ok(collector.finish())
}

/// Whether `head` (after a byte order mark and white space) starts a JSON object or array.
fn json_head(head: &[u8]) -> bool {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    matches!(
        head.iter().find(|b| !b.is_ascii_whitespace()),
        Some(b'{' | b'[')
    )
}

/// Whether `head` holds `"key"` followed (after white space) by `:`.
fn has_key(head: &[u8], key: &str) -> bool {
    let needle = format!("\"{key}\"");
    let needle = needle.as_bytes();
    let mut from = 0;
    while let Some(pos) = find(&head[from..], needle) {
        let after = from + pos + needle.len();
        if head[after..]
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|&b| b == b':')
        {
            return true;
        }
        from = after;
    }
    false
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A finite number, or a warning-worthy reason it is not.
fn finite(value: Option<f64>) -> Option<f64> {
    value.filter(|v| v.is_finite())
}
