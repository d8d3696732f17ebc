//! pytest-benchmark's JSON (`pytest --benchmark-json=FILE`, and the files `--benchmark-autosave`
//! keeps under `.benchmarks/`).
//!
//! One metric per benchmark, in seconds per call: its rounds are `stats.data` where the file
//! has them (pytest-benchmark 4 and later write them), else the statistics alone (`median`,
//! `mean`, `stddev`, `min`, `max` over `rounds`). The value is the median. Series: the
//! benchmark's `fullname` (`path/test_x.py::test_y`); a parametrised test's `[…]` suffix becomes
//! its `params` (`path/test_x.py::test_y{n=100}`).

use std::io::BufRead;

use super::json::{Doc, Node};
use super::{finite, has_key, json_head, Metric, MetricFormat, MetricSink, Series, Spread};
use crate::error::ParseError;
use crate::format::{Confidence, ParseOptions};

pub struct PytestBenchmark;

const FORMAT: &str = "pytest-benchmark JSON";

impl MetricFormat for PytestBenchmark {
    fn name(&self) -> &'static str {
        "pytest-benchmark"
    }

    fn description(&self) -> &'static str {
        "pytest-benchmark JSON (--benchmark-json, --benchmark-autosave)"
    }

    fn sniff(&self, head: &[u8], _options: &ParseOptions) -> Confidence {
        if !json_head(head) || !has_key(head, "benchmarks") {
            return Confidence::NONE;
        }
        if has_key(head, "machine_info") || has_key(head, "commit_info") {
            Confidence::HIGH
        } else if has_key(head, "fullname") && has_key(head, "stats") {
            Confidence::MEDIUM
        } else {
            Confidence::NONE
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
        if let Some(time) = doc.str_field(&root, "", "datetime")? {
            if let Some(time) = parse_time(time) {
                sink.timestamp(time);
            }
        }
        let Some(list) = root.get("benchmarks") else {
            return Err(doc.bad(
                &root,
                "",
                "no `benchmarks` array: not a pytest-benchmark JSON file",
            ));
        };
        let Some(benchmarks) = list.as_array() else {
            return Err(doc.bad(
                list,
                "benchmarks",
                format!("expected an array, found {}", list.kind()),
            ));
        };
        for (i, bench) in benchmarks.iter().enumerate() {
            let path = format!("benchmarks[{i}]");
            if bench.as_object().is_none() {
                return Err(doc.bad(
                    bench,
                    &path,
                    format!("expected an object, found {}", bench.kind()),
                ));
            }
            let name = match doc.str_field(bench, &path, "fullname")? {
                Some(name) => name,
                None => doc.str_field(bench, &path, "name")?.ok_or_else(|| {
                    doc.bad(bench, &path, "a benchmark without `fullname` or `name`")
                })?,
            };
            let series = series(&doc, bench, &path, name)?;
            let stats_path = format!("{path}/stats");
            let stats = match bench.get("stats") {
                Some(stats) if stats.as_object().is_some() => stats,
                Some(stats) if stats.is_null() => {
                    sink.warning(format!(
                        "{}: benchmark {series} has no statistics (it did not run) and was left out",
                        options.source
                    ));
                    continue;
                }
                Some(stats) => {
                    return Err(doc.bad(
                        stats,
                        &stats_path,
                        format!("expected an object, found {}", stats.kind()),
                    ));
                }
                None => {
                    return Err(doc.bad(bench, &path, format!("benchmark {series} has no `stats`")))
                }
            };
            let rounds = doc.num_field(stats, &stats_path, "rounds")?;
            let data = match stats.get("data") {
                Some(data) if !data.is_null() => {
                    let data_path = format!("{stats_path}/data");
                    let items = data.as_array().ok_or_else(|| {
                        doc.bad(
                            data,
                            &data_path,
                            format!("expected an array, found {}", data.kind()),
                        )
                    })?;
                    let mut samples = Vec::with_capacity(items.len());
                    for (k, item) in items.iter().enumerate() {
                        match item.as_f64() {
                            Some(v) if v.is_finite() => samples.push(v),
                            Some(_) => {}
                            None => {
                                return Err(doc.bad(
                                    item,
                                    &format!("{data_path}[{k}]"),
                                    format!("expected a number, found {}", item.kind()),
                                ))
                            }
                        }
                    }
                    samples
                }
                _ => Vec::new(),
            };
            let metric =
                if let Some(mut metric) = Metric::of_samples(series.clone(), &data, Some("s")) {
                    if let Some(rounds) = rounds.filter(|r| *r >= 1.0) {
                        metric.spread.rounds = metric.spread.rounds.max(rounds as u64);
                    }
                    metric
                } else {
                    let median = finite(doc.num_field(stats, &stats_path, "median")?);
                    let mean = finite(doc.num_field(stats, &stats_path, "mean")?);
                    let Some(value) = median.or(mean) else {
                        let at = stats.get("median").unwrap_or(stats);
                        return Err(doc.bad(
                            at,
                            &stats_path,
                            format!("benchmark {series} has no finite `median` or `mean`"),
                        ));
                    };
                    let mut metric = Metric::single(series, value, Some("s"));
                    metric.spread = Spread {
                        rounds: rounds.filter(|r| *r >= 1.0).map_or(1, |r| r as u64),
                        mean,
                        median,
                        stddev: finite(doc.num_field(stats, &stats_path, "stddev")?),
                        min: finite(doc.num_field(stats, &stats_path, "min")?),
                        max: finite(doc.num_field(stats, &stats_path, "max")?),
                        samples: Vec::new(),
                    };
                    metric
                };
            sink.metric(metric);
        }
        Ok(())
    }
}

/// The series of a benchmark: its name, with a parametrised test's `[…]` replaced by `params`.
fn series(doc: &Doc, bench: &Node, path: &str, name: &str) -> Result<Series, ParseError> {
    let params = match bench.get("params") {
        None => None,
        Some(p) if p.is_null() => None,
        Some(p) => Some(p.as_object().ok_or_else(|| {
            doc.bad(
                p,
                &format!("{path}/params"),
                format!("expected an object, found {}", p.kind()),
            )
        })?),
    };
    let Some(params) = params.filter(|p| !p.is_empty()) else {
        return Ok(Series::new(name));
    };
    let base = match name.rfind('[') {
        Some(open) if name.ends_with(']') => &name[..open],
        _ => name,
    };
    Ok(Series::with_params(
        base,
        params.iter().map(|(k, v)| (k.clone(), v.to_param())),
    ))
}

/// pytest-benchmark's `datetime`: ISO 8601, with a zone (4.x and later) or without (taken as UTC).
fn parse_time(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    if let Ok(time) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(time.with_timezone(&chrono::Utc));
    }
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|t| t.and_utc())
}
