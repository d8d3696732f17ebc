//! Build metrics: the numbers a build measures, stored per build, and their lasting steps judged
//! as Problems of kind `metric` (`docs/metrics.md`).
//!
//! Ingest reads metric files and `--metric` values before its transaction ([`read_files`]),
//! writes them with the build ([`write_values`], with the built-in series of the build's results
//! and its numeric properties), and [`judge`] runs the change-point detector
//! (`analyze::changepoint`) over each touched series on every lane of the branch, groups the
//! steps across builders and keeps the Problems they make. The use cases of `metrics`, `metric`
//! and `accept` are [`list`], [`history`] and [`accept`].

mod judge;
mod queries;
pub(crate) mod samples;
mod state;

use std::io::{BufReader, Read};

use probtrack_parsers::metrics::{self as formats, Direction, Metric, MetricFormat, Series};
use probtrack_parsers::{ParseOptions, SNIFF_LEN};

use crate::analyze::changepoint::Params;
use crate::error::{Error, Result};
use crate::ingest::Input;
use crate::settings::{MetricRule, MetricSettings};
use crate::store::{Id, MetricValue, SeriesRecord, Store};

pub(crate) use judge::{judge, level, rejudge};
pub(crate) use queries::{accept, histories, history, list, MetricListing};

/// The built-in series a build's results give (`docs/metrics.md`): their names and direction.
pub(crate) const BUILTIN: &[(&str, Direction)] = &[
    ("tests.count", Direction::HigherIsBetter),
    ("tests.failed", Direction::LowerIsBetter),
    ("tests.skipped", Direction::LowerIsBetter),
    ("tests.duration", Direction::LowerIsBetter),
    ("compile.diagnostics", Direction::LowerIsBetter),
    ("coverage.lines", Direction::HigherIsBetter),
    ("coverage.branches", Direction::HigherIsBetter),
];

/// A metric file read before the transaction.
#[derive(Clone, Debug)]
pub(crate) struct MetricFile {
    pub(crate) name: String,
    pub(crate) parser: &'static str,
    pub(crate) metrics: Vec<Metric>,
    pub(crate) warnings: Vec<String>,
}

/// The most a metric file may hold (the JSON formats stop at 64 MiB themselves).
const MAX_FILE: u64 = 256 * 1024 * 1024;

/// Reads every metric file whole, each with `parser` or the format its first bytes show. A file
/// that cannot be read or parsed is an error naming it (and, from the parser, the line, column
/// and place), before anything is written.
pub(crate) fn read_files(
    inputs: &[Input],
    parser: Option<&'static dyn MetricFormat>,
) -> Result<Vec<MetricFile>> {
    let mut files = Vec::with_capacity(inputs.len());
    for input in inputs {
        let name = input.name();
        let mut bytes = Vec::new();
        crate::ingest::open_file(input)?
            .take(MAX_FILE + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::bad_input(format!("cannot read metric file {name}: {e}")))?;
        if bytes.len() as u64 > MAX_FILE {
            return Err(Error::bad_input(format!(
                "metric file {name} is larger than {} MiB",
                MAX_FILE >> 20
            )));
        }
        let options = ParseOptions {
            source: name.clone(),
            source_root: None,
        };
        let head = &bytes[..bytes.len().min(SNIFF_LEN)];
        let format = match parser {
            Some(format) => format,
            // A plugin whose rule the file meets comes first: it was registered for it.
            None => crate::plugin::detect_metrics(&name, head)
                .or_else(|| formats::detect(head, &options))
                .ok_or_else(|| {
                    Error::bad_input(format!("cannot tell the format of metric file {name}")).hint(
                        "name it with --metrics-parser (`probtrack parsers --produces metrics` \
                         lists them)",
                    )
                })?,
        };
        let collected = formats::collect(format, &mut BufReader::new(&bytes[..]), &options)?;
        // A plugin's output is named as such: the program wrote what is refused.
        let source = match crate::plugin::named(format.name()) {
            Some(plugin) => format!("{name} (parser plugin `{}`'s output)", plugin.name()),
            None => name.clone(),
        };
        for metric in &collected.metrics {
            check_metric(&source, metric)?;
        }
        files.push(MetricFile {
            name,
            parser: format.name(),
            metrics: collected.metrics,
            warnings: collected.warnings,
        });
    }
    Ok(files)
}

/// What no store keeps faithfully: a unit with control characters (a NUL cannot be stored on
/// PostgreSQL), a value that is not finite.
pub(crate) fn check_metric(source: &str, metric: &Metric) -> Result<()> {
    let bad_text = |t: &str| t.chars().any(char::is_control);
    if metric.unit.as_deref().is_some_and(bad_text) {
        return Err(Error::bad_input(format!(
            "{source}: series {} has a unit with control characters",
            metric.series.to_string().escape_debug()
        )));
    }
    if !metric.value.is_finite() {
        return Err(Error::bad_input(format!(
            "{source}: series {} has no finite value",
            metric.series.to_string().escape_debug()
        )));
    }
    Ok(())
}

/// `--metric NAME=VALUE[UNIT]`.
pub(crate) fn parse_arg(arg: &str) -> Result<Metric> {
    let metric = formats::parse_metric_arg(arg).map_err(|e| {
        Error::usage(format!("--metric {arg}: {e}"))
            .hint("write it as NAME=VALUE[UNIT], e.g. --metric binary_size=12.5MiB")
    })?;
    check_metric("--metric", &metric)?;
    Ok(metric)
}

/// A series' rule in the settings: the `[metrics."NAME"]` whose NAME (`*` matches any text)
/// matches the series' name, the longest one where several do.
pub(crate) fn rule<'s>(settings: &'s MetricSettings, name: &str) -> Option<&'s MetricRule> {
    settings
        .rules
        .iter()
        .filter(|(pattern, _)| glob(pattern, name))
        .max_by_key(|(pattern, _)| pattern.len())
        .map(|(_, rule)| rule)
}

/// Whether `text` matches `pattern`, where `*` matches any text.
pub(crate) fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

/// How a series is judged: its direction, the detector's parameters, and whether its steps are
/// Problems.
#[derive(Clone, Debug)]
pub(crate) struct Judging {
    pub(crate) direction: Direction,
    pub(crate) params: Params,
    pub(crate) problems: bool,
}

/// The name part of an identity (`NAME{…}` → `NAME`), which the settings' rules match.
fn base_name(identity: &str) -> String {
    identity
        .parse::<Series>()
        .map(|s| s.name)
        .unwrap_or_else(|_| identity.to_owned())
}

/// How `series` is judged: the direction its file gave, else the settings', else the built-in
/// series' own, else the unit's; the parameters from the settings.
pub(crate) fn judging(settings: &MetricSettings, series: &SeriesRecord) -> Judging {
    let name = base_name(&series.name);
    let rule = rule(settings, &name);
    let builtin = BUILTIN.iter().find(|(n, _)| *n == name);
    let direction = series
        .direction
        .as_deref()
        .and_then(|d| d.parse().ok())
        .or_else(|| rule.and_then(|r| r.direction.as_deref()?.parse().ok()))
        .or(builtin.map(|b| b.1))
        .unwrap_or_else(|| Direction::default_for_unit(series.unit.as_deref()));
    let mut params = Params::default();
    if let Some(min_change) = settings.default_min_change {
        params.min_change = min_change;
    }
    if let Some(rule) = rule {
        if let Some(x) = rule.threshold {
            params.threshold = x;
        }
        if let Some(x) = rule.min_change {
            params.min_change = x;
        }
        if let Some(x) = rule.min_after {
            params.min_after = x;
        }
        if let Some(x) = rule.corroborate {
            params.corroborate = x;
        }
        if let Some(x) = rule.pair {
            params.pair = x;
        }
    }
    let problems = rule.and_then(|r| r.problems).unwrap_or(builtin.is_none());
    Judging {
        direction,
        params,
        problems,
    }
}

/// The ids of the series named `carried` (per-file coverage series whose value a build carries
/// from its base, `coverage::series`) that are to be judged at the build: none unless their
/// steps are Problems (`coverage.*` are not, by default), since judging would find nothing.
pub(crate) fn carried_to_judge(
    store: &mut dyn Store,
    settings: &MetricSettings,
    carried: &[String],
) -> Result<Vec<Id>> {
    let Some(first) = carried.first() else {
        return Ok(Vec::new());
    };
    // Whether steps are Problems depends on the series' name without its parameters, the same
    // for every file's.
    let probe = SeriesRecord {
        id: 0,
        name: first.clone(),
        unit: None,
        direction: None,
    };
    if !judging(settings, &probe).problems {
        return Ok(Vec::new());
    }
    Ok((store.series_by_name(carried)?.into_iter())
        .flatten()
        .map(|s| s.id)
        .collect())
}

/// Checks the `[metrics]` settings: each direction must be one probtrack reads.
pub(crate) fn check_settings(settings: &MetricSettings) -> Result<()> {
    for (name, rule) in &settings.rules {
        if let Some(d) = &rule.direction {
            d.parse::<Direction>().map_err(|e| {
                Error::usage(format!("settings: [metrics.\"{name}\"] direction: {e}"))
            })?;
        }
        // A |z| that is not positive would corroborate any move of the right sign.
        for (key, value) in [
            ("threshold", rule.threshold),
            ("corroborate", rule.corroborate),
            ("pair", rule.pair),
        ] {
            if value.is_some_and(|z| !(z.is_finite() && z > 0.0)) {
                return Err(Error::usage(format!(
                    "settings: [metrics.\"{name}\"] {key}: must be a positive number (a |z|)"
                ))
                .hint("the defaults are threshold = 4.5, corroborate = 3 and pair = 3"));
            }
        }
    }
    Ok(())
}

/// A build's results counted for its built-in metrics (a huge build's results are counted as
/// they are read, not copied).
#[derive(Debug, Default)]
pub(crate) struct Tally {
    results: usize,
    tests: usize,
    failed: usize,
    skipped: usize,
    duration: f64,
    diagnostics: usize,
}

impl Tally {
    pub(crate) fn add(
        &mut self,
        kind: probtrack_parsers::Kind,
        status: probtrack_parsers::Status,
        duration: Option<f64>,
    ) {
        use probtrack_parsers::{Kind, Status};
        self.results += 1;
        match kind {
            Kind::Test => {
                self.tests += 1;
                self.failed += usize::from(status.is_failing());
                self.skipped += usize::from(status == Status::Skipped);
                self.duration += duration.unwrap_or(0.0);
            }
            Kind::Compile => self.diagnostics += usize::from(status.is_failing()),
            _ => {}
        }
    }
}

/// The built-in series of a build: its test count, failures, skips, total test time and compile
/// diagnostics (`results`: each result's kind, status and duration), and its numeric properties.
pub(crate) fn builtin(
    results: &Tally,
    compiled: bool,
    properties: &serde_json::Map<String, serde_json::Value>,
) -> Vec<Metric> {
    let mut out = Vec::new();
    if results.results > 0 {
        out.push(Metric::single(
            Series::new("tests.count"),
            results.tests as f64,
            None,
        ));
        out.push(Metric::single(
            Series::new("tests.failed"),
            results.failed as f64,
            None,
        ));
        out.push(Metric::single(
            Series::new("tests.skipped"),
            results.skipped as f64,
            None,
        ));
        out.push(Metric::single(
            Series::new("tests.duration"),
            results.duration,
            Some("s"),
        ));
    }
    let diagnostics = results.diagnostics;
    if compiled || diagnostics > 0 {
        out.push(Metric::single(
            Series::new("compile.diagnostics"),
            diagnostics as f64,
            None,
        ));
    }
    for (key, value) in properties {
        if let Some(x) = value.as_f64().filter(|x| x.is_finite()) {
            out.push(Metric::single(Series::new(key.clone()), x, None));
        }
    }
    out
}

/// Writes a build's metrics: creates their series (with the unit each was first given in), and
/// writes one value per series (the last given wins). A value in another unit than its series'
/// is left out with a warning. Returns the series written.
pub(crate) fn write_values(
    store: &mut dyn Store,
    build: Id,
    metrics: &[Metric],
    warnings: &mut Vec<String>,
) -> Result<Vec<Id>> {
    if metrics.is_empty() {
        return Ok(Vec::new());
    }
    // The last value of each series.
    let mut latest: Vec<(String, &Metric)> = Vec::new();
    let mut at: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for metric in metrics {
        let name = metric.series.to_string();
        match at.get(&name) {
            Some(&i) => latest[i].1 = metric,
            None => {
                at.insert(name.clone(), latest.len());
                latest.push((name, metric));
            }
        }
    }
    let names: Vec<String> = latest.iter().map(|(n, _)| n.clone()).collect();
    let stored = store.series_by_name(&names)?;
    let mut create = Vec::new();
    let mut keep = Vec::new();
    for ((name, metric), found) in latest.iter().zip(stored) {
        let direction = metric.direction.map(|d| d.as_str().to_owned());
        match found {
            Some(s) if s.unit != metric.unit => {
                warnings.push(format!(
                    "metric {} is kept in {}, not {}: its value was left out",
                    name.escape_debug(),
                    s.unit.as_deref().unwrap_or("no unit"),
                    metric.unit.as_deref().unwrap_or("no unit")
                ));
            }
            Some(s) if direction.is_none() || s.direction == direction => {
                keep.push((s.id, *metric));
            }
            _ => {
                create.push(SeriesRecord {
                    id: 0,
                    name: name.clone(),
                    unit: metric.unit.clone(),
                    direction,
                });
                keep.push((0, *metric));
            }
        }
    }
    let created = store.create_series(&create)?;
    let mut created = created.into_iter();
    let values: Vec<MetricValue> = keep
        .into_iter()
        .map(|(id, m)| {
            let series = if id == 0 {
                created.next().unwrap_or_default()
            } else {
                id
            };
            value_of(series, m)
        })
        .collect();
    store.write_metric_values(build, &values)?;
    let mut ids: Vec<Id> = values.iter().map(|v| v.series).collect();
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

fn value_of(series: Id, m: &Metric) -> MetricValue {
    let finite = |x: Option<f64>| x.filter(|x| x.is_finite());
    MetricValue {
        series,
        value: m.value,
        rounds: m.spread.rounds,
        mean: finite(m.spread.mean),
        median: finite(m.spread.median),
        stddev: finite(m.spread.stddev),
        min: finite(m.spread.min),
        max: finite(m.spread.max),
        samples: m
            .spread
            .samples
            .iter()
            .copied()
            .filter(|x| x.is_finite())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_threshold_or_corroborate_that_is_not_a_positive_z_is_refused() {
        for (text, bad) in [
            ("[\"x\"]\ncorroborate = 2.5\nthreshold = 5.0\n", None),
            ("[\"x\"]\ncorroborate = 0.0\n", Some("corroborate")),
            ("[\"x\"]\ncorroborate = nan\n", Some("corroborate")),
            ("[\"x\"]\npair = -1.0\n", Some("pair")),
            ("[\"x\"]\npair = 3.5\n", None),
            ("[\"x\"]\nthreshold = -1.0\n", Some("threshold")),
        ] {
            let settings: MetricSettings = toml::from_str(text).unwrap();
            match (check_settings(&settings), bad) {
                (Ok(()), None) => {}
                (Err(e), Some(key)) => assert!(e.to_string().contains(key), "{e}"),
                (got, want) => panic!("{text}: {got:?}, wanted an error on {want:?}"),
            }
        }
    }

    #[test]
    fn globs_match_whole_names() {
        assert!(glob("BM_*", "BM_Sum/4096"));
        assert!(glob("*", "x"));
        assert!(glob("a*c*e", "abcde"));
        assert!(!glob("a*c*e", "abde"));
        assert!(glob("tests.count", "tests.count"));
        assert!(!glob("tests", "tests.count"));
        assert!(!glob("ab*ba", "aba"));
    }

    #[test]
    fn the_longest_rule_wins_and_builtins_judge_no_problems_by_default() {
        let settings: MetricSettings = toml::from_str(
            "default_min_change = 0.01\n[\"BM_*\"]\ndirection = \"higher\"\n\
             [\"BM_Sum*\"]\nthreshold = 6.0\n[\"tests.duration\"]\nproblems = true\n",
        )
        .unwrap();
        let series = |name: &str, unit: Option<&str>| SeriesRecord {
            id: 1,
            name: name.into(),
            unit: unit.map(Into::into),
            direction: None,
        };
        let j = judging(&settings, &series("BM_Sum/8{measure=cpu_time}", Some("s")));
        assert_eq!(j.params.threshold, 6.0);
        assert_eq!(j.direction, Direction::LowerIsBetter);
        let j = judging(&settings, &series("BM_Other", Some("s")));
        assert_eq!(j.direction, Direction::HigherIsBetter);
        assert_eq!(j.params.min_change, 0.01);
        assert!(j.problems);
        assert!(!judging(&settings, &series("tests.failed", None)).problems);
        assert!(judging(&settings, &series("tests.duration", Some("s"))).problems);
        let j = judging(&settings, &series("tests.count", None));
        assert_eq!(j.direction, Direction::HigherIsBetter);
    }
}
