//! hyperfine's `--export-json FILE`.
//!
//! One metric per command, in seconds of wall time: its rounds are the runs' `times`, its value
//! their median (the file's `median`, `mean`, `stddev`, `min` and `max` where there are no
//! `times`). Series: the `command` as hyperfine shows it (the name given with `-n`, else the
//! command line), with the `parameters` of a `-L`/`-P` scan as parameters. A command some of
//! whose runs exited non-zero (`-i`) is kept, with a warning.

use std::io::BufRead;

use super::json::Doc;
use super::{finite, has_key, json_head, Metric, MetricFormat, MetricSink, Series, Spread};
use crate::error::ParseError;
use crate::format::{Confidence, ParseOptions};

pub struct Hyperfine;

const FORMAT: &str = "hyperfine JSON";

impl MetricFormat for Hyperfine {
    fn name(&self) -> &'static str {
        "hyperfine"
    }

    fn description(&self) -> &'static str {
        "hyperfine --export-json"
    }

    fn sniff(&self, head: &[u8], _options: &ParseOptions) -> Confidence {
        if !json_head(head) || !has_key(head, "results") || !has_key(head, "command") {
            return Confidence::NONE;
        }
        if has_key(head, "times") || has_key(head, "exit_codes") {
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
        let doc = Doc::read(input, FORMAT, &options.source)?;
        let root = doc.parse()?;
        if root.as_object().is_none() {
            return Err(doc.bad(
                &root,
                "",
                format!("expected an object, found {}", root.kind()),
            ));
        }
        let Some(list) = root.get("results") else {
            return Err(doc.bad(&root, "", "no `results` array: not a hyperfine JSON file"));
        };
        let Some(results) = list.as_array() else {
            return Err(doc.bad(
                list,
                "results",
                format!("expected an array, found {}", list.kind()),
            ));
        };
        for (i, result) in results.iter().enumerate() {
            let path = format!("results[{i}]");
            if result.as_object().is_none() {
                return Err(doc.bad(
                    result,
                    &path,
                    format!("expected an object, found {}", result.kind()),
                ));
            }
            let command = doc
                .str_field(result, &path, "command")?
                .ok_or_else(|| doc.bad(result, &path, "a result without `command`"))?;
            let series = match result.get("parameters") {
                None => Series::new(command),
                Some(p) if p.is_null() => Series::new(command),
                Some(p) => {
                    let fields = p.as_object().ok_or_else(|| {
                        doc.bad(
                            p,
                            &format!("{path}/parameters"),
                            format!("expected an object, found {}", p.kind()),
                        )
                    })?;
                    Series::with_params(
                        command,
                        fields.iter().map(|(k, v)| (k.clone(), v.to_param())),
                    )
                }
            };
            if let Some(codes) = result.get("exit_codes").and_then(|c| c.as_array()) {
                let failed = codes
                    .iter()
                    .filter(|c| c.as_f64().is_some_and(|c| c != 0.0))
                    .count();
                if failed > 0 {
                    sink.warning(format!(
                        "{}: {failed} of the {} runs of `{series}` exited non-zero",
                        options.source,
                        codes.len()
                    ));
                }
            }
            let mut times = Vec::new();
            if let Some(node) = result.get("times").filter(|t| !t.is_null()) {
                let times_path = format!("{path}/times");
                let items = node.as_array().ok_or_else(|| {
                    doc.bad(
                        node,
                        &times_path,
                        format!("expected an array, found {}", node.kind()),
                    )
                })?;
                for (k, item) in items.iter().enumerate() {
                    match item.as_f64() {
                        Some(t) if t.is_finite() => times.push(t),
                        Some(_) => {}
                        None => {
                            return Err(doc.bad(
                                item,
                                &format!("{times_path}[{k}]"),
                                format!("expected a number, found {}", item.kind()),
                            ))
                        }
                    }
                }
            }
            let metric = match Metric::of_samples(series.clone(), &times, Some("s")) {
                Some(metric) => metric,
                None => {
                    let median = finite(doc.num_field(result, &path, "median")?);
                    let mean = finite(doc.num_field(result, &path, "mean")?);
                    let Some(value) = median.or(mean) else {
                        return Err(doc.bad(
                            result,
                            &path,
                            format!("`{series}` has no `times`, `median` or `mean`"),
                        ));
                    };
                    let mut metric = Metric::single(series, value, Some("s"));
                    metric.spread = Spread {
                        rounds: 0,
                        mean,
                        median,
                        stddev: finite(doc.num_field(result, &path, "stddev")?),
                        min: finite(doc.num_field(result, &path, "min")?),
                        max: finite(doc.num_field(result, &path, "max")?),
                        samples: Vec::new(),
                    };
                    metric
                }
            };
            sink.metric(metric);
        }
        Ok(())
    }
}
