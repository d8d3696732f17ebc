//! Google Benchmark's JSON (`--benchmark_format=json`, `--benchmark_out=FILE`).
//!
//! Each benchmark run (`run_type` `iteration`) gives `real_time` and `cpu_time` in its
//! `time_unit`, and counters (`items_per_second`, `bytes_per_second`, user counters). The
//! repetitions of a run (`--benchmark_repetitions`) are rows with the same `run_name`: they
//! become the rounds of one metric per measure, whose value is their median. Where a file has
//! only the aggregates (`--benchmark_report_aggregates_only`), the `median` (else `mean`)
//! aggregate is the value and `mean`/`stddev` the spread, over `repetitions` rounds. Runs that
//! report an error are left out with a warning; Big-O and RMS fits are not measurements and are
//! left out.
//!
//! Series: `run_name` for `real_time`; `run_name{measure=cpu_time}` and
//! `run_name{measure=COUNTER}` for the others.

use std::collections::HashMap;
use std::io::BufRead;

use super::json::{Doc, Node};
use super::{finite, has_key, json_head, Metric, MetricFormat, MetricSink, Series, Spread};
use crate::error::ParseError;
use crate::format::{Confidence, ParseOptions};

pub struct GoogleBenchmark;

const FORMAT: &str = "Google Benchmark JSON";

/// Fields of a run that are not counters.
const NOT_COUNTERS: &[&str] = &[
    "name",
    "family_index",
    "per_family_instance_index",
    "run_name",
    "run_type",
    "repetitions",
    "repetition_index",
    "threads",
    "iterations",
    "real_time",
    "cpu_time",
    "time_unit",
    "aggregate_name",
    "aggregate_unit",
    "error_occurred",
    "error_message",
    "label",
    "big_o",
    "rms",
    "cpu_coefficient",
    "real_coefficient",
    "skipped",
    "skip_message",
];

/// One measure of one run, gathered over its repetitions.
#[derive(Default)]
struct Gathered {
    unit: Option<String>,
    samples: Vec<f64>,
    /// Aggregate name → value.
    aggregates: HashMap<String, f64>,
    repetitions: u64,
}

impl MetricFormat for GoogleBenchmark {
    fn name(&self) -> &'static str {
        "google-benchmark"
    }

    fn description(&self) -> &'static str {
        "Google Benchmark JSON (--benchmark_format=json), repetitions and aggregates"
    }

    fn sniff(&self, head: &[u8], _options: &ParseOptions) -> Confidence {
        if !json_head(head) || !has_key(head, "benchmarks") {
            return Confidence::NONE;
        }
        let context = has_key(head, "context");
        let runs = has_key(head, "real_time") || has_key(head, "run_name");
        match (context, runs) {
            (true, true) => Confidence::HIGH,
            (true, false) | (false, true) => Confidence::MEDIUM,
            _ => Confidence::NONE,
        }
    }

    fn parse(
        &self,
        input: &mut dyn BufRead,
        options: &ParseOptions,
        sink: &mut dyn MetricSink,
    ) -> Result<(), ParseError> {
        let doc = Doc::read(input, FORMAT, &options.source)?;
        let root = doc.parse()?;
        if root.as_object().is_none() {
            return Err(doc.bad(
                &root,
                "",
                format!("expected an object, found {}", root.kind()),
            ));
        }
        if let Some(date) = root
            .get("context")
            .and_then(|c| c.get("date"))
            .and_then(Node::as_str)
        {
            if let Ok(time) = chrono::DateTime::parse_from_rfc3339(date) {
                sink.timestamp(time.with_timezone(&chrono::Utc));
            }
        }
        let Some(list) = root.get("benchmarks") else {
            return Err(doc.bad(
                &root,
                "",
                "no `benchmarks` array: not a Google Benchmark JSON file",
            ));
        };
        let Some(runs) = list.as_array() else {
            return Err(doc.bad(
                list,
                "benchmarks",
                format!("expected an array, found {}", list.kind()),
            ));
        };
        // (run name, measure) in the order first seen, and what each gathered.
        let mut order: Vec<(String, Option<String>)> = Vec::new();
        let mut gathered: HashMap<(String, Option<String>), Gathered> = HashMap::new();
        for (i, run) in runs.iter().enumerate() {
            let path = format!("benchmarks[{i}]");
            if run.as_object().is_none() {
                return Err(doc.bad(
                    run,
                    &path,
                    format!("expected an object, found {}", run.kind()),
                ));
            }
            let name = doc
                .str_field(run, &path, "name")?
                .ok_or_else(|| doc.bad(run, &path, "a benchmark without a `name`"))?;
            let run_name = doc.str_field(run, &path, "run_name")?.unwrap_or(name);
            if run
                .get("error_occurred")
                .is_some_and(|e| matches!(e.value, super::json::Value::Bool(true)))
            {
                let message = run
                    .get("error_message")
                    .and_then(Node::as_str)
                    .unwrap_or("no message");
                sink.warning(format!(
                    "{}: benchmark {run_name} reported an error and was left out: {message}",
                    options.source
                ));
                continue;
            }
            let run_type = doc.str_field(run, &path, "run_type")?;
            let aggregate = match run_type {
                None | Some("iteration") => None,
                Some("aggregate") => Some(
                    doc.str_field(run, &path, "aggregate_name")?
                        .ok_or_else(|| {
                            doc.bad(run, &path, "an aggregate without `aggregate_name`")
                        })?,
                ),
                Some(other) => {
                    sink.warning(format!(
                        "{}: benchmark {run_name} has run_type `{other}`, which is not read",
                        options.source
                    ));
                    continue;
                }
            };
            if let Some(agg) = aggregate {
                // Fits and relative figures are not measurements in the time unit.
                let unit = doc
                    .str_field(run, &path, "aggregate_unit")?
                    .unwrap_or("time");
                if !matches!(agg, "mean" | "median" | "stddev") || unit != "time" {
                    continue;
                }
            }
            let time_unit = doc.str_field(run, &path, "time_unit")?.unwrap_or("ns");
            if super::time_factor(time_unit).is_none() {
                let node = run.get("time_unit").unwrap_or(run);
                return Err(doc.bad(
                    node,
                    &format!("{path}/time_unit"),
                    format!("unknown time unit {time_unit:?}"),
                ));
            }
            let repetitions = run.get("repetitions").and_then(Node::as_f64).unwrap_or(1.0);
            let mut measures: Vec<(Option<String>, Option<String>, &Node, String)> = Vec::new();
            for (key, measure) in [("real_time", None), ("cpu_time", Some("cpu_time"))] {
                match run.get(key) {
                    Some(node) => measures.push((
                        measure.map(str::to_string),
                        Some(time_unit.to_string()),
                        node,
                        format!("{path}/{key}"),
                    )),
                    None if key == "real_time" => {
                        return Err(doc.bad(
                            run,
                            &path,
                            format!("benchmark {run_name} has no `real_time`"),
                        ));
                    }
                    None => {}
                }
            }
            for (key, node) in run.as_object().unwrap_or(&[]) {
                if NOT_COUNTERS.contains(&key.as_str()) || node.as_f64().is_none() {
                    continue;
                }
                let unit = match key.as_str() {
                    "items_per_second" => Some("items/s".to_string()),
                    "bytes_per_second" => Some("B/s".to_string()),
                    _ => None,
                };
                measures.push((Some(key.clone()), unit, node, format!("{path}/{key}")));
            }
            for (measure, unit, node, value_path) in measures {
                let Some(value) = node.as_f64() else {
                    return Err(doc.bad(
                        node,
                        &value_path,
                        format!("expected a number, found {}", node.kind()),
                    ));
                };
                if !value.is_finite() {
                    sink.warning(format!(
                        "{}: {value_path} of {run_name} is {value}, left out",
                        options.source
                    ));
                    continue;
                }
                let key = (run_name.to_string(), measure);
                let entry = gathered.entry(key.clone()).or_insert_with(|| {
                    order.push(key);
                    Gathered {
                        unit: unit.clone(),
                        ..Gathered::default()
                    }
                });
                if entry.unit != unit {
                    return Err(doc.bad(
                        node,
                        &value_path,
                        format!(
                            "benchmark {run_name} changes its unit from {} to {} between repetitions",
                            entry.unit.as_deref().unwrap_or("none"),
                            unit.as_deref().unwrap_or("none")
                        ),
                    ));
                }
                entry.repetitions = entry.repetitions.max(repetitions.max(1.0) as u64);
                match aggregate {
                    None => entry.samples.push(value),
                    Some(agg) => {
                        entry.aggregates.insert(agg.to_string(), value);
                    }
                }
            }
        }
        for key in order {
            let Some(g) = gathered.remove(&key) else {
                continue;
            };
            let (run_name, measure) = key;
            let mut series = Series::new(run_name);
            if let Some(measure) = measure {
                series = series.param("measure", measure);
            }
            let metric = if !g.samples.is_empty() {
                Metric::of_samples(series, &g.samples, g.unit.as_deref())
            } else {
                from_aggregates(series, &g)
            };
            if let Some(metric) = metric {
                sink.metric(metric);
            }
        }
        Ok(())
    }
}

/// A metric from the aggregates alone (`--benchmark_report_aggregates_only`).
fn from_aggregates(series: Series, g: &Gathered) -> Option<Metric> {
    let median = finite(g.aggregates.get("median").copied());
    let mean = finite(g.aggregates.get("mean").copied());
    let value = median.or(mean)?;
    let mut metric = Metric::single(series, value, g.unit.as_deref());
    let (factor, _) = super::normalise_unit(g.unit.as_deref());
    metric.spread = Spread {
        rounds: g.repetitions.max(1),
        mean,
        median,
        stddev: finite(g.aggregates.get("stddev").copied()),
        min: None,
        max: None,
        samples: Vec::new(),
    }
    .scaled(factor);
    Some(metric)
}
