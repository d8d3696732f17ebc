//! probtrack's own generic metric forms, for everything no tool format covers (binary sizes,
//! peak memory, compile times): JSON, or one `NAME VALUE [UNIT]` a line. `docs/metrics.md`
//! documents both.
//!
//! JSON: `{"metrics": [{"name": …, "value": …, "unit": …, "direction": "lower"|"higher",
//! "params": {…}, "samples": […]}, …], "time": "RFC 3339"}`; `name` and one of `value` or
//! `samples` are required. The value is `value`, else the median of `samples`; `samples` are
//! the rounds either way.
//!
//! Lines: `NAME VALUE[UNIT]` or `NAME VALUE UNIT`, where NAME is a series identity (`size`,
//! `latency{endpoint=/api}`, no white space); blank lines and lines starting with `#` are read
//! past. A series given on several lines has those values as its rounds.

use std::io::BufRead;

use super::json::Doc;
use super::lines::{fields, Lines};
use super::model::number_and_unit;
use super::{
    has_key, json_head, normalise_unit, Direction, Metric, MetricFormat, MetricSink, Series, Spread,
};
use crate::error::{ParseError, ParseErrorKind};
use crate::format::{Confidence, ParseOptions};

pub struct GenericJson;
pub struct GenericLines;

const JSON_FORMAT: &str = "generic metrics JSON";
const LINES_FORMAT: &str = "generic metric lines";

impl MetricFormat for GenericJson {
    fn name(&self) -> &'static str {
        "metrics-json"
    }

    fn description(&self) -> &'static str {
        "probtrack's generic JSON: {\"metrics\": [{\"name\", \"value\", \"unit\", …}]}"
    }

    fn sniff(&self, head: &[u8], _options: &ParseOptions) -> Confidence {
        if !json_head(head) || !has_key(head, "metrics") {
            return Confidence::NONE;
        }
        if has_key(head, "name") && (has_key(head, "value") || has_key(head, "samples")) {
            Confidence::HIGH
        } else {
            Confidence::LOW
        }
    }

    fn parse(
        &self,
        input: &mut dyn BufRead,
        options: &ParseOptions,
        sink: &mut dyn MetricSink,
    ) -> Result<(), ParseError> {
        let doc = Doc::read(input, JSON_FORMAT, &options.source)?;
        let root = doc.parse()?;
        if root.as_object().is_none() {
            return Err(doc.bad(
                &root,
                "",
                format!("expected an object, found {}", root.kind()),
            ));
        }
        if let Some(time) = doc.str_field(&root, "", "time")? {
            match chrono::DateTime::parse_from_rfc3339(time) {
                Ok(time) => sink.timestamp(time.with_timezone(&chrono::Utc)),
                Err(_) => sink.warning(format!(
                    "{}: `time` {time:?} is not an RFC 3339 time and was ignored",
                    options.source
                )),
            }
        }
        let Some(list) = root.get("metrics") else {
            return Err(doc.bad(&root, "", "no `metrics` array"));
        };
        let Some(metrics) = list.as_array() else {
            return Err(doc.bad(
                list,
                "metrics",
                format!("expected an array, found {}", list.kind()),
            ));
        };
        for (i, item) in metrics.iter().enumerate() {
            let path = format!("metrics[{i}]");
            if item.as_object().is_none() {
                return Err(doc.bad(
                    item,
                    &path,
                    format!("expected an object, found {}", item.kind()),
                ));
            }
            let name = doc
                .str_field(item, &path, "name")?
                .ok_or_else(|| doc.bad(item, &path, "a metric without `name`"))?;
            if name.trim().is_empty() || name.len() > super::MAX_NAME_LEN {
                let node = item.get("name").unwrap_or(item);
                return Err(doc.bad(
                    node,
                    &format!("{path}/name"),
                    "a metric name must be 1 to 4096 bytes, not blank",
                ));
            }
            let series = match item.get("params") {
                None => Series::new(name),
                Some(p) if p.is_null() => Series::new(name),
                Some(p) => {
                    let fields = p.as_object().ok_or_else(|| {
                        doc.bad(
                            p,
                            &format!("{path}/params"),
                            format!("expected an object, found {}", p.kind()),
                        )
                    })?;
                    Series::with_params(name, fields.iter().map(|(k, v)| (k.clone(), v.to_param())))
                }
            };
            let unit = doc.str_field(item, &path, "unit")?;
            let direction = match item.get("direction") {
                None => None,
                Some(d) if d.is_null() => None,
                Some(d) => {
                    let text = d.as_str().unwrap_or("");
                    Some(
                        text.parse::<Direction>()
                            .map_err(|why| doc.bad(d, &format!("{path}/direction"), why))?,
                    )
                }
            };
            let value = doc.num_field(item, &path, "value")?;
            if let (Some(v), Some(node)) = (value, item.get("value")) {
                if !v.is_finite() {
                    return Err(doc.bad(node, &format!("{path}/value"), "not a finite number"));
                }
            }
            let mut samples = Vec::new();
            if let Some(node) = item.get("samples").filter(|s| !s.is_null()) {
                let samples_path = format!("{path}/samples");
                let items = node.as_array().ok_or_else(|| {
                    doc.bad(
                        node,
                        &samples_path,
                        format!("expected an array, found {}", node.kind()),
                    )
                })?;
                for (k, sample) in items.iter().enumerate() {
                    match sample.as_f64() {
                        Some(v) if v.is_finite() => samples.push(v),
                        _ => {
                            return Err(doc.bad(
                                sample,
                                &format!("{samples_path}[{k}]"),
                                "expected a finite number",
                            ))
                        }
                    }
                }
            }
            let mut metric = match (value, Spread::of_samples(&samples)) {
                (Some(value), None) => Metric::single(series, value, unit),
                (value, Some(_)) => {
                    let mut metric = Metric::of_samples(series, &samples, unit)
                        .ok_or_else(|| doc.bad(item, &path, "no samples"))?;
                    if let Some(value) = value {
                        metric.value = value * normalise_unit(unit).0;
                    }
                    metric
                }
                (None, None) => {
                    return Err(doc.bad(
                        item,
                        &path,
                        format!("metric {series} has neither `value` nor `samples`"),
                    ));
                }
            };
            metric.direction = direction;
            sink.metric(metric);
        }
        Ok(())
    }
}

/// A line of the lines form: identity, value and unit, or why not (with a 1-based column).
fn read_line(line: &str) -> Result<Option<Metric>, (u64, String)> {
    let trimmed = line.trim();
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return Ok(None);
    }
    let fields = fields(line);
    if fields.len() < 2 || fields.len() > 3 {
        return Err((
            fields.first().map_or(1, |f| f.0),
            format!("expected NAME VALUE [UNIT], found {} fields", fields.len()),
        ));
    }
    let series: Series = fields[0].1.parse().map_err(|why| (fields[0].0, why))?;
    let (value, attached) = number_and_unit(fields[1].1)
        .ok_or_else(|| (fields[1].0, format!("invalid number {:?}", fields[1].1)))?;
    let unit = match (attached, fields.get(2)) {
        (Some(_), Some(extra)) => {
            return Err((
                extra.0,
                format!("a unit after a value that has one: {:?}", extra.1),
            ));
        }
        (Some(unit), None) => Some(unit),
        (None, Some(unit)) => Some(unit.1),
        (None, None) => None,
    };
    Ok(Some(Metric::single(series, value, unit)))
}

impl MetricFormat for GenericLines {
    fn name(&self) -> &'static str {
        "metric-lines"
    }

    fn description(&self) -> &'static str {
        "probtrack's generic lines: NAME VALUE [UNIT] (# comments)"
    }

    fn sniff(&self, head: &[u8], _options: &ParseOptions) -> Confidence {
        let Ok(text) = std::str::from_utf8(head) else {
            return Confidence::NONE;
        };
        let mut lines: Vec<&str> = text.lines().collect();
        // The head may end in the middle of a line.
        if head.len() >= crate::format::SNIFF_LEN && !text.ends_with('\n') {
            lines.pop();
        }
        let mut metrics = 0;
        for line in lines {
            match read_line(line) {
                Ok(Some(_)) => metrics += 1,
                Ok(None) => {}
                Err(_) => return Confidence::NONE,
            }
        }
        if metrics > 0 {
            Confidence::LOW
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
        let mut lines = Lines::new(input, LINES_FORMAT, &options.source);
        while let Some(line) = lines.next_line()? {
            if line.cut {
                return Err(lines.error(
                    0,
                    ParseErrorKind::LimitExceeded(format!(
                        "a line longer than {} KiB",
                        super::lines::MAX_LINE / 1024
                    )),
                ));
            }
            let text = std::str::from_utf8(&line.text).map_err(|err| {
                let column = String::from_utf8_lossy(&line.text[..err.valid_up_to()])
                    .chars()
                    .count() as u64
                    + 1;
                lines.error(
                    column,
                    ParseErrorKind::Other("text that is not valid UTF-8".into()),
                )
            })?;
            match read_line(text) {
                Ok(Some(metric)) => sink.metric(metric),
                Ok(None) => {}
                Err((column, why)) => return Err(lines.error(column, ParseErrorKind::Other(why))),
            }
        }
        Ok(())
    }
}
