//! Criterion.rs: the `estimates.json` that `cargo bench` leaves under `target/criterion/`, and
//! the JSON lines of `cargo criterion --message-format=json`.
//!
//! `estimates.json` does not name its benchmark: the name is the file's path below the
//! `criterion` directory (`target/criterion/join/100/new/estimates.json` is `join/100`), so the
//! file must be given by that path. Its value is the `median` point estimate (nanoseconds); the
//! spread is the `mean` and `std_dev` point estimates (Criterion does not write the sample count
//! there, so `rounds` is 0, unknown). A `change/estimates.json` holds relative changes, not
//! measurements, and is refused.
//!
//! cargo-criterion writes one JSON object per line; each `benchmark-complete` line is one
//! metric named by its `id`, whose rounds are the samples (`measured_values[i] /
//! iteration_count[i]`, in `unit`), its value their median. Other lines (`group-complete`, cargo's
//! own messages) are read past.

use std::io::{BufRead, Read};

use super::json::{AtLine, Doc, Node};
use super::{finite, has_key, json_head, Metric, MetricFormat, MetricSink, Series, Spread};
use crate::error::{ParseError, ParseErrorKind};
use crate::format::{Confidence, ParseOptions};

pub struct CriterionEstimates;
pub struct CargoCriterion;

const ESTIMATES: &str = "Criterion estimates.json";
const LINES: &str = "cargo-criterion JSON";

/// The benchmark id a path to an `estimates.json` names, or why it names none.
fn id_from_path(source: &str) -> Result<String, String> {
    let parts: Vec<&str> = source
        .split(['/', '\\'])
        .filter(|p| !p.is_empty())
        .collect();
    let n = parts.len();
    if n < 2 || parts[n - 1] != "estimates.json" {
        return Err(format!(
            "the benchmark's name comes from the file's path (target/criterion/ID/new/estimates.json), and `{source}` is not such a path"
        ));
    }
    if parts[n - 2] == "change" {
        return Err(
            "a Criterion change/estimates.json holds relative changes, not measurements: give new/estimates.json"
                .into(),
        );
    }
    let Some(root) = parts[..n - 2].iter().rposition(|p| *p == "criterion") else {
        return Err(format!(
            "the benchmark's name comes from the file's path (target/criterion/ID/new/estimates.json), and `{source}` has no `criterion` directory"
        ));
    };
    let id = parts[root + 1..n - 2].join("/");
    if id.is_empty() {
        return Err(format!(
            "`{source}` names no benchmark between `criterion/` and the baseline directory"
        ));
    }
    Ok(id)
}

impl MetricFormat for CriterionEstimates {
    fn name(&self) -> &'static str {
        "criterion"
    }

    fn description(&self) -> &'static str {
        "Criterion.rs target/criterion/ID/new/estimates.json (named by its path)"
    }

    fn sniff(&self, head: &[u8], options: &ParseOptions) -> Confidence {
        if !json_head(head) || !has_key(head, "point_estimate") || !has_key(head, "median") {
            return Confidence::NONE;
        }
        if options.source.ends_with("estimates.json") && has_key(head, "median_abs_dev") {
            Confidence::HIGH
        } else {
            Confidence::MEDIUM
        }
    }

    fn parse(
        &self,
        input: &mut dyn BufRead,
        options: &ParseOptions,
        sink: &mut dyn MetricSink,
    ) -> Result<(), ParseError> {
        let doc = Doc::read(input, ESTIMATES, &options.source)?;
        let root = doc.parse()?;
        if root.as_object().is_none() {
            return Err(doc.bad(
                &root,
                "",
                format!("expected an object, found {}", root.kind()),
            ));
        }
        let id = id_from_path(&options.source)
            .map_err(|why| doc.error(0, None, ParseErrorKind::Other(why)))?;
        let estimate = |key: &str| -> Result<Option<f64>, ParseError> {
            match root.get(key) {
                None => Ok(None),
                Some(node) if node.is_null() => Ok(None),
                Some(node) => Ok(finite(doc.num_field(node, key, "point_estimate")?)),
            }
        };
        let Some(median) = estimate("median")? else {
            return Err(doc.bad(&root, "median", "no finite `median.point_estimate`"));
        };
        let mean = estimate("mean")?;
        let std_dev = estimate("std_dev")?;
        if mean.is_none() && std_dev.is_none() && root.get("median_abs_dev").is_none() {
            // Only a change file has `mean` and `median` and nothing else; without a mean this is
            // not an estimates file at all.
            return Err(doc.bad(
                &root,
                "",
                "no `mean`, `std_dev` or `median_abs_dev`: not a Criterion estimates.json",
            ));
        }
        let mut metric = Metric::single(Series::new(id), median, Some("ns"));
        metric.spread = Spread {
            rounds: 0,
            mean,
            median: Some(median),
            stddev: std_dev,
            min: None,
            max: None,
            samples: Vec::new(),
        }
        .scaled(1e-9);
        sink.metric(metric);
        Ok(())
    }
}

/// The longest line of cargo-criterion JSON read.
const MAX_LINE: usize = super::json::MAX_BYTES;

impl MetricFormat for CargoCriterion {
    fn name(&self) -> &'static str {
        "cargo-criterion"
    }

    fn description(&self) -> &'static str {
        "cargo-criterion JSON lines (cargo criterion --message-format=json)"
    }

    fn sniff(&self, head: &[u8], _options: &ParseOptions) -> Confidence {
        if !json_head(head) || !has_key(head, "reason") {
            return Confidence::NONE;
        }
        let text = String::from_utf8_lossy(head);
        if text.contains("\"benchmark-complete\"") || text.contains("\"group-complete\"") {
            Confidence::HIGH
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
        let mut number = 0u64;
        loop {
            let mut line = Vec::new();
            let read = input.take(MAX_LINE as u64 + 1).read_until(b'\n', &mut line);
            number += 1;
            if let Err(err) = read {
                return Err(Doc::from_bytes(Vec::new(), LINES, &options.source)
                    .error(0, None, ParseErrorKind::Io(err))
                    .at_line(number));
            }
            if line.is_empty() {
                return Ok(());
            }
            if line.len() > MAX_LINE {
                return Err(Doc::from_bytes(Vec::new(), LINES, &options.source)
                    .error(
                        0,
                        None,
                        ParseErrorKind::LimitExceeded(format!(
                            "a line longer than {} MiB",
                            MAX_LINE / (1024 * 1024)
                        )),
                    )
                    .at_line(number));
            }
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let doc = Doc::from_bytes(line, LINES, &options.source);
            let root = doc.parse().map_err(|e| e.at_line(number))?;
            benchmark_line(&doc, &root, sink).map_err(|e| e.at_line(number))?;
        }
    }
}

/// One line's metric, if it is a `benchmark-complete` message.
fn benchmark_line(doc: &Doc, root: &Node, sink: &mut dyn MetricSink) -> Result<(), ParseError> {
    if root.as_object().is_none() {
        return Err(doc.bad(
            root,
            "",
            format!("expected an object, found {}", root.kind()),
        ));
    }
    if doc.str_field(root, "", "reason")? != Some("benchmark-complete") {
        return Ok(());
    }
    let id = doc
        .str_field(root, "", "id")?
        .ok_or_else(|| doc.bad(root, "", "a benchmark-complete message without `id`"))?;
    let unit = doc.str_field(root, "", "unit")?.unwrap_or("ns");
    let numbers = |key: &str| -> Result<Vec<f64>, ParseError> {
        match root.get(key) {
            None => Ok(Vec::new()),
            Some(node) => {
                let items = node.as_array().ok_or_else(|| {
                    doc.bad(
                        node,
                        key,
                        format!("expected an array, found {}", node.kind()),
                    )
                })?;
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| {
                        item.as_f64().ok_or_else(|| {
                            doc.bad(
                                item,
                                &format!("{key}[{i}]"),
                                format!("expected a number, found {}", item.kind()),
                            )
                        })
                    })
                    .collect()
            }
        }
    };
    let iterations = numbers("iteration_count")?;
    let measured = numbers("measured_values")?;
    if iterations.len() != measured.len() {
        let at = root.get("measured_values").unwrap_or(root);
        return Err(doc.bad(
            at,
            "measured_values",
            format!(
                "{} measured values for {} iteration counts",
                measured.len(),
                iterations.len()
            ),
        ));
    }
    let samples: Vec<f64> = iterations
        .iter()
        .zip(&measured)
        .filter(|(iters, _)| **iters > 0.0)
        .map(|(iters, value)| value / iters)
        .filter(|v| v.is_finite())
        .collect();
    let series = Series::new(id);
    let metric = match Metric::of_samples(series.clone(), &samples, Some(unit)) {
        Some(metric) => metric,
        None => {
            let median = root.get("median").ok_or_else(|| {
                doc.bad(
                    root,
                    "",
                    format!("benchmark {id} has neither samples nor a `median`"),
                )
            })?;
            let Some(value) = finite(doc.num_field(median, "median", "estimate")?) else {
                return Err(doc.bad(median, "median/estimate", "not a finite number"));
            };
            let unit = doc.str_field(median, "median", "unit")?.unwrap_or(unit);
            Metric::single(series, value, Some(unit))
        }
    };
    sink.metric(metric);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::id_from_path;

    #[test]
    fn the_benchmark_id_comes_from_the_path() {
        assert_eq!(
            id_from_path("target/criterion/join/100/new/estimates.json").unwrap(),
            "join/100"
        );
        assert_eq!(
            id_from_path("C:\\b\\criterion\\sort 4096\\main\\estimates.json").unwrap(),
            "sort 4096"
        );
        for (path, says) in [
            ("estimates.json", "not such a path"),
            ("-", "not such a path"),
            ("x/new/estimates.json", "no `criterion` directory"),
            (
                "target/criterion/join/100/change/estimates.json",
                "relative changes",
            ),
            ("target/criterion/new/estimates.json", "names no benchmark"),
        ] {
            let err = id_from_path(path).unwrap_err();
            assert!(err.contains(says), "{path}: {err}");
        }
    }
}
