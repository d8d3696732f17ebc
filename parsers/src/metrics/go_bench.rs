//! The text output of `go test -bench` (the Go benchmark data format that benchstat reads).
//!
//! A result line is `BenchmarkNAME[-PROCS] ITERATIONS VALUE UNIT [VALUE UNIT]...`. Each
//! `VALUE UNIT` pair is one metric: `ns/op` is the series' main measure (in seconds per
//! operation), any other unit (`B/op`, `allocs/op`, `MB/s`, a `b.ReportMetric` unit) is the
//! series with the parameter `measure=UNIT` (`/op` is dropped from the unit: `B/op` is in bytes,
//! `MB/s` in bytes per second). Series: the name without its `-PROCS` suffix, with the
//! parameters `procs` (the GOMAXPROCS suffix, where there is one) and `pkg` (from the last `pkg:`
//! line). The lines of `-count N` are the rounds of one metric (merged by
//! [`super::MetricCollector`]), its value their median. Other lines (test output, `PASS`, `ok`)
//! are read past; a `--- FAIL: Benchmark…` line is a warning.

use std::io::BufRead;

use super::lines::{fields, Lines};
use super::{Metric, MetricFormat, MetricSink, Series};
use crate::error::{ParseError, ParseErrorKind};
use crate::format::{Confidence, ParseOptions};

pub struct GoBench;

const FORMAT: &str = "go test -bench output";

/// Whether a line is a benchmark result: a `Benchmark…` name, then an iteration count.
fn result_fields(line: &str) -> Option<Vec<(u64, &str)>> {
    if !line.starts_with("Benchmark") {
        return None;
    }
    let fields = fields(line);
    if fields.len() < 2 || !fields[1].1.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(fields)
}

impl MetricFormat for GoBench {
    fn name(&self) -> &'static str {
        "go-bench"
    }

    fn description(&self) -> &'static str {
        "go test -bench output (ns/op, B/op, allocs/op, MB/s, custom metrics)"
    }

    fn sniff(&self, head: &[u8], _options: &ParseOptions) -> Confidence {
        let text = String::from_utf8_lossy(head);
        let mut results = 0;
        let mut config = false;
        for line in text.lines() {
            if let Some(fields) = result_fields(line) {
                if fields.len() >= 4 && fields[3].1.ends_with("/op") {
                    results += 1;
                }
            }
            config |= line.starts_with("goos: ") || line.starts_with("pkg: ");
        }
        match (results, config) {
            (0, _) => Confidence::NONE,
            (_, true) => Confidence::HIGH,
            _ => Confidence::MEDIUM,
        }
    }

    fn parse(
        &self,
        input: &mut dyn BufRead,
        options: &ParseOptions,
        sink: &mut dyn MetricSink,
    ) -> Result<(), ParseError> {
        let mut lines = Lines::new(input, FORMAT, &options.source);
        let mut pkg: Option<String> = None;
        while let Some(line) = lines.next_line()? {
            let Ok(text) = std::str::from_utf8(&line.text) else {
                if line.text.starts_with(b"Benchmark") {
                    return Err(lines.error(
                        0,
                        ParseErrorKind::Other("a benchmark line that is not valid UTF-8".into()),
                    ));
                }
                continue;
            };
            if let Some(rest) = text.strip_prefix("pkg: ") {
                pkg = Some(rest.trim().to_string());
                continue;
            }
            if let Some(rest) = text.trim_start().strip_prefix("--- FAIL: Benchmark") {
                sink.warning(format!(
                    "{}:{}: benchmark Benchmark{} failed",
                    options.source,
                    line.number,
                    rest.split_whitespace().next().unwrap_or("")
                ));
                continue;
            }
            let Some(fields) = result_fields(text) else {
                continue;
            };
            if line.cut {
                return Err(lines.error(
                    0,
                    ParseErrorKind::LimitExceeded(format!(
                        "a benchmark line longer than {} KiB",
                        super::lines::MAX_LINE / 1024
                    )),
                ));
            }
            let (name, procs) = split_procs(fields[0].1);
            if name.len() > super::MAX_NAME_LEN {
                return Err(lines.error(
                    1,
                    ParseErrorKind::LimitExceeded(format!(
                        "a benchmark name longer than {} bytes",
                        super::MAX_NAME_LEN
                    )),
                ));
            }
            let pairs = &fields[2..];
            if pairs.is_empty() || pairs.len() % 2 != 0 {
                let column = pairs.last().map_or(fields[1].0, |p| p.0);
                return Err(lines.error(
                    column,
                    ParseErrorKind::Other(format!(
                        "benchmark {name}: expected VALUE UNIT pairs after the iteration count"
                    )),
                ));
            }
            let mut base = Series::new(name);
            if let Some(procs) = procs {
                base = base.param("procs", procs);
            }
            if let Some(pkg) = &pkg {
                base = base.param("pkg", pkg.clone());
            }
            for pair in pairs.chunks(2) {
                let (column, value) = pair[0];
                let unit = pair[1].1;
                let value: f64 = match value.parse() {
                    Ok(v) if f64::is_finite(v) => v,
                    _ => {
                        return Err(
                            lines.error(column, ParseErrorKind::InvalidNumber(value.to_string()))
                        );
                    }
                };
                let (series, per) = if unit == "ns/op" {
                    (base.clone(), "ns")
                } else {
                    (
                        base.clone().param("measure", unit),
                        unit.strip_suffix("/op").unwrap_or(unit),
                    )
                };
                sink.metric(Metric::single(series, value, Some(per)));
            }
        }
        Ok(())
    }
}

/// `BenchmarkX/n=1-8` → (`BenchmarkX/n=1`, Some(`8`)).
fn split_procs(name: &str) -> (&str, Option<&str>) {
    if let Some(dash) = name.rfind('-') {
        let suffix = &name[dash + 1..];
        if dash > 0 && !suffix.is_empty() && suffix.bytes().all(|b| b.is_ascii_digit()) {
            return (&name[..dash], Some(suffix));
        }
    }
    (name, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::collect;

    fn parse(text: &str) -> Result<crate::metrics::MetricsCollected, ParseError> {
        collect(
            &GoBench,
            &mut text.as_bytes(),
            &ParseOptions::new("bench.txt"),
        )
    }

    #[test]
    fn procs_suffixes_are_parameters() {
        assert_eq!(split_procs("BenchmarkX-8"), ("BenchmarkX", Some("8")));
        assert_eq!(
            split_procs("BenchmarkX/n=1-16"),
            ("BenchmarkX/n=1", Some("16"))
        );
        assert_eq!(split_procs("BenchmarkX/a-b"), ("BenchmarkX/a-b", None));
        assert_eq!(split_procs("BenchmarkX"), ("BenchmarkX", None));
    }

    #[test]
    fn result_lines_give_one_metric_per_unit() {
        let got = parse("pkg: p\nBenchmarkA-2 \t 10\t 100 ns/op\t 5 B/op\t 2.5 MB/s\nBenchmarkA-2 \t 10\t 300 ns/op\t 5 B/op\t 2.5 MB/s\n--- FAIL: BenchmarkB\nok p 1s\n").unwrap();
        let names: Vec<String> = got.metrics.iter().map(|m| m.series.to_string()).collect();
        assert_eq!(
            names,
            [
                "BenchmarkA{pkg=p,procs=2}",
                "BenchmarkA{measure=B/op,pkg=p,procs=2}",
                "BenchmarkA{measure=MB/s,pkg=p,procs=2}"
            ]
        );
        assert!((got.metrics[0].value - 200e-9).abs() < 1e-15);
        assert_eq!(got.metrics[0].spread.rounds, 2);
        assert_eq!(got.metrics[1].unit.as_deref(), Some("B"));
        assert_eq!(got.metrics[2].unit.as_deref(), Some("B/s"));
        assert_eq!(got.metrics[2].value, 2.5e6);
        assert_eq!(got.warnings, ["bench.txt:4: benchmark BenchmarkB failed"]);
    }

    #[test]
    fn bad_result_lines_name_line_and_column() {
        let err = parse("goos: linux\nBenchmarkA-2 10 1x0 ns/op\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "failed to parse go test -bench output at bench.txt:2:17: invalid number \"1x0\""
        );
        let err = parse("BenchmarkA-2 10 100 ns/op 5\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("bench.txt:1:27") && err.contains("VALUE UNIT pairs"),
            "{err}"
        );
    }
}
