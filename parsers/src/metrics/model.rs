//! The plain data a metric parser produces: one [`Metric`] per series and file.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Which way is better for a series.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Times, sizes, counts of allocations: a rise is a regression.
    LowerIsBetter,
    /// Rates (`items/s`, `MB/s`), scores: a fall is a regression.
    HigherIsBetter,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::LowerIsBetter => "lower_is_better",
            Direction::HigherIsBetter => "higher_is_better",
        }
    }

    /// The direction a unit implies when neither the format nor the settings say: higher is
    /// better for rates (a unit ending in `/s`, `per_second`, `ops`, `hz`), lower for everything
    /// else (times, sizes, counts), as the default "lower is better for times and sizes".
    pub fn default_for_unit(unit: Option<&str>) -> Direction {
        let Some(unit) = unit else {
            return Direction::LowerIsBetter;
        };
        let unit = unit.to_ascii_lowercase();
        if unit.ends_with("/s")
            || unit.ends_with("/sec")
            || unit.ends_with("per_second")
            || unit.ends_with("_per_s")
            || unit == "ops"
            || unit == "hz"
        {
            Direction::HigherIsBetter
        } else {
            Direction::LowerIsBetter
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Direction {
    type Err = String;
    /// `lower`, `lower_is_better`, `higher`, `higher_is_better` (also with `-` or spaces).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s
            .trim()
            .to_ascii_lowercase()
            .replace(['-', ' '], "_")
            .as_str()
        {
            "lower" | "lower_is_better" | "smaller_is_better" | "less_is_better" => {
                Ok(Direction::LowerIsBetter)
            }
            "higher" | "higher_is_better" | "bigger_is_better" | "more_is_better" => {
                Ok(Direction::HigherIsBetter)
            }
            _ => Err(format!(
                "unknown direction `{s}` (expected `lower` or `higher`)"
            )),
        }
    }
}

/// A series' identity within a build: a name and its parameters (sorted by key, keys unique).
///
/// Displays as the contract's identity: `NAME`, or `NAME{key=value,...}` with the parameters
/// sorted. In that text a `\` escapes the next character: a name escapes `\` and `{`, a key or
/// value escapes `\`, `,`, `=` and `}`, so that [`Series::from_str`] reads back exactly what
/// [`fmt::Display`] wrote, whatever the names hold.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Series {
    pub name: String,
    pub params: Vec<(String, String)>,
}

/// The longest series name or parameter text a parser accepts (longer is a parse error).
pub const MAX_NAME_LEN: usize = 4096;

impl Series {
    /// A series without parameters.
    pub fn new(name: impl Into<String>) -> Series {
        Series {
            name: name.into(),
            params: Vec::new(),
        }
    }

    /// A series with parameters, sorted by key. A key given twice keeps its last value.
    pub fn with_params(
        name: impl Into<String>,
        params: impl IntoIterator<Item = (String, String)>,
    ) -> Series {
        let mut params: Vec<(String, String)> = params.into_iter().collect();
        // Stable sort, then keep the last of equal keys.
        params.sort_by(|a, b| a.0.cmp(&b.0));
        let mut unique: Vec<(String, String)> = Vec::with_capacity(params.len());
        for (key, value) in params {
            match unique.last_mut() {
                Some(last) if last.0 == key => last.1 = value,
                _ => unique.push((key, value)),
            }
        }
        Series {
            name: name.into(),
            params: unique,
        }
    }

    /// Adds (or replaces) one parameter, keeping them sorted.
    pub fn param(mut self, key: impl Into<String>, value: impl Into<String>) -> Series {
        let key = key.into();
        let value = value.into();
        match self.params.binary_search_by(|(k, _)| k.as_str().cmp(&key)) {
            Ok(at) => self.params[at].1 = value,
            Err(at) => self.params.insert(at, (key, value)),
        }
        self
    }

    /// The value of a parameter.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

fn escape(out: &mut fmt::Formatter<'_>, text: &str, special: &[char]) -> fmt::Result {
    for c in text.chars() {
        if c == '\\' || special.contains(&c) {
            write!(out, "\\")?;
        }
        write!(out, "{c}")?;
    }
    Ok(())
}

impl fmt::Display for Series {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        escape(f, &self.name, &['{'])?;
        if self.params.is_empty() {
            return Ok(());
        }
        f.write_str("{")?;
        for (i, (key, value)) in self.params.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            escape(f, key, &[',', '=', '}'])?;
            f.write_str("=")?;
            escape(f, value, &[',', '=', '}'])?;
        }
        f.write_str("}")
    }
}

impl FromStr for Series {
    type Err = String;

    /// Reads `NAME` or `NAME{key=value,...}` (the form [`fmt::Display`] writes; the parameters
    /// may come in any order and are sorted). An empty name, an empty key, a key given twice, a
    /// parameter without `=` or text after the closing `}` is an error.
    fn from_str(text: &str) -> Result<Series, String> {
        let mut chars = text.chars().peekable();
        let mut name = String::new();
        let mut open = false;
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some(next) => name.push(next),
                    None => return Err(format!("`{text}` ends with a lone `\\`")),
                },
                '{' => {
                    open = true;
                    break;
                }
                _ => name.push(c),
            }
        }
        if name.trim().is_empty() {
            return Err(format!("`{text}` has no metric name"));
        }
        if name.len() > MAX_NAME_LEN {
            return Err(format!("a metric name is longer than {MAX_NAME_LEN} bytes"));
        }
        let mut params: Vec<(String, String)> = Vec::new();
        if open {
            let mut key = String::new();
            let mut value = String::new();
            let mut in_value = false;
            let mut closed = false;
            while let Some(c) = chars.next() {
                let target = if in_value { &mut value } else { &mut key };
                match c {
                    '\\' => match chars.next() {
                        Some(next) => target.push(next),
                        None => return Err(format!("`{text}` ends with a lone `\\`")),
                    },
                    '=' if !in_value => in_value = true,
                    '=' => {
                        return Err(format!(
                            "a parameter of `{text}` has two `=` (escape one as `\\=`)"
                        ))
                    }
                    ',' | '}' => {
                        if key.is_empty() && !in_value && c == '}' && params.is_empty() {
                            // `NAME{}`: no parameters.
                        } else {
                            if !in_value {
                                return Err(format!(
                                    "parameter `{key}` of `{text}` has no `=value`"
                                ));
                            }
                            if key.is_empty() {
                                return Err(format!("`{text}` has a parameter without a name"));
                            }
                            if params.iter().any(|(k, _)| *k == key) {
                                return Err(format!("`{text}` gives parameter `{key}` twice"));
                            }
                            params.push((std::mem::take(&mut key), std::mem::take(&mut value)));
                            in_value = false;
                        }
                        if c == '}' {
                            closed = true;
                            break;
                        }
                    }
                    _ => target.push(c),
                }
            }
            if !closed {
                return Err(format!("`{text}` has no closing `}}`"));
            }
            if chars.next().is_some() {
                return Err(format!("`{text}` has text after its parameters"));
            }
        }
        if params
            .iter()
            .any(|(k, v)| k.len() > MAX_NAME_LEN || v.len() > MAX_NAME_LEN)
        {
            return Err(format!("a parameter is longer than {MAX_NAME_LEN} bytes"));
        }
        Ok(Series::with_params(name, params))
    }
}

/// How the samples of one series in one build are spread. Every field is what the file gave or
/// what follows from its samples; absent where neither says.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    /// How many rounds (repetitions, samples) the value sums up; 1 for a single value, 0 where
    /// the file does not say.
    pub rounds: u64,
    pub mean: Option<f64>,
    pub median: Option<f64>,
    /// Sample standard deviation (n − 1).
    pub stddev: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// Every round's value, where the file gives them (at most [`MAX_SAMPLES`] are kept).
    pub samples: Vec<f64>,
}

/// The most samples kept per series and build; more are summarised, not kept.
pub const MAX_SAMPLES: usize = 10_000;

impl Spread {
    /// The spread of one value.
    pub fn single(value: f64) -> Spread {
        Spread {
            rounds: 1,
            mean: Some(value),
            median: Some(value),
            stddev: None,
            min: Some(value),
            max: Some(value),
            samples: Vec::new(),
        }
    }

    /// The spread of samples (all finite), computed from them; `None` when there are none.
    pub fn of_samples(samples: &[f64]) -> Option<Spread> {
        if samples.is_empty() {
            return None;
        }
        let n = samples.len();
        let mean = samples.iter().sum::<f64>() / n as f64;
        let stddev = (n > 1).then(|| {
            let ss: f64 = samples.iter().map(|x| (x - mean) * (x - mean)).sum();
            (ss / (n - 1) as f64).sqrt()
        });
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        let median = if n % 2 == 1 {
            sorted[n / 2]
        } else {
            (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
        };
        // One round is its own summary: only several are kept as samples.
        let mut kept = if n > 1 { samples.to_vec() } else { Vec::new() };
        kept.truncate(MAX_SAMPLES);
        Some(Spread {
            rounds: n as u64,
            mean: Some(mean),
            median: Some(median),
            stddev,
            min: Some(sorted[0]),
            max: Some(sorted[n - 1]),
            samples: kept,
        })
    }

    /// Every number multiplied by `factor` (a unit conversion).
    pub fn scaled(mut self, factor: f64) -> Spread {
        if factor == 1.0 {
            return self;
        }
        for field in [
            &mut self.mean,
            &mut self.median,
            &mut self.stddev,
            &mut self.min,
            &mut self.max,
        ] {
            *field = field.map(|v| v * factor);
        }
        for v in &mut self.samples {
            *v *= factor;
        }
        if factor < 0.0 {
            std::mem::swap(&mut self.min, &mut self.max);
            self.stddev = self.stddev.map(f64::abs);
        }
        self
    }
}

/// One series' value in one build, as a metric file or `--metric` gives it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    pub series: Series,
    /// The value the series follows: the median of the rounds where the file gives rounds or a
    /// median, else its single value or mean (each format's documentation says which).
    pub value: f64,
    /// The unit, normalised: times in seconds (`s`), sizes in bytes (`B`), rates in those per
    /// second (`B/s`); any other unit as the file wrote it. `None` for a plain number.
    pub unit: Option<String>,
    /// Where the format says which way is better; `None` leaves it to the settings and then to
    /// [`Direction::default_for_unit`].
    pub direction: Option<Direction>,
    pub spread: Spread,
}

impl Metric {
    /// A metric of one value in `unit` (normalised: `12ms` becomes 0.012 `s`).
    pub fn single(series: Series, value: f64, unit: Option<&str>) -> Metric {
        let (factor, unit) = normalise_unit(unit);
        Metric {
            series,
            value: value * factor,
            unit,
            direction: None,
            spread: Spread::single(value).scaled(factor),
        }
    }

    /// A metric of rounds in `unit` (normalised); its value is their median. `None` when there
    /// are no samples.
    pub fn of_samples(series: Series, samples: &[f64], unit: Option<&str>) -> Option<Metric> {
        let (factor, unit) = normalise_unit(unit);
        let spread = Spread::of_samples(samples)?.scaled(factor);
        Some(Metric {
            series,
            value: spread.median.unwrap_or(f64::NAN),
            unit,
            direction: None,
            spread,
        })
    }

    /// The direction the format gave, else the unit's default (settings come between the two,
    /// and are applied by the caller).
    pub fn direction_or_default(&self) -> Direction {
        self.direction
            .unwrap_or_else(|| Direction::default_for_unit(self.unit.as_deref()))
    }
}

/// A unit's factor to the normalised unit, and that unit: times to `s`, sizes to `B`, rates of
/// those per second to `B/s`; any other unit is kept as given (factor 1), an empty one is `None`.
pub fn normalise_unit(unit: Option<&str>) -> (f64, Option<String>) {
    let Some(unit) = unit.map(str::trim).filter(|u| !u.is_empty()) else {
        return (1.0, None);
    };
    if let Some(factor) = time_factor(unit) {
        return (factor, Some("s".into()));
    }
    if let Some(factor) = size_factor(unit) {
        return (factor, Some("B".into()));
    }
    if let Some(per) = unit.strip_suffix("/s") {
        if let Some(factor) = size_factor(per) {
            return (factor, Some("B/s".into()));
        }
    }
    (1.0, Some(unit.to_string()))
}

/// Seconds per one of `unit`, for a time unit.
pub fn time_factor(unit: &str) -> Option<f64> {
    Some(match unit {
        "ns" | "nanoseconds" => 1e-9,
        "us" | "µs" | "μs" | "microseconds" => 1e-6,
        "ms" | "milliseconds" => 1e-3,
        "s" | "sec" | "secs" | "seconds" => 1.0,
        "min" | "minutes" => 60.0,
        "h" | "hours" => 3600.0,
        _ => return None,
    })
}

/// Bytes per one of `unit`, for a size unit (`kB`/`KB`/`MB`… decimal, `KiB`/`MiB`… binary).
pub fn size_factor(unit: &str) -> Option<f64> {
    Some(match unit {
        "B" | "bytes" => 1.0,
        "kB" | "KB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "TB" => 1e12,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        "TiB" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    })
}

/// Reads the `--metric` argument `NAME=VALUE[UNIT]` (also `NAME{key=value,...}=VALUE[UNIT]`):
/// the value is a decimal number (`12`, `-3.5`, `1e6`), the unit whatever follows it, with or
/// without a space (`12.5MiB`, `83 s`). The name is split from the value at the last `=` that is
/// outside the braces, so a name may itself hold `=` (`BenchmarkJoin/n=100=3ms`).
pub fn parse_metric_arg(arg: &str) -> Result<Metric, String> {
    let mut depth = 0usize;
    let mut escaped = false;
    let mut split = None;
    for (at, c) in arg.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '{' if depth == 0 => depth = 1,
            '}' if depth == 1 => depth = 0,
            '=' if depth == 0 => split = Some(at),
            _ => {}
        }
    }
    let Some(split) = split else {
        return Err(format!(
            "`{arg}` is not NAME=VALUE[UNIT] (e.g. `binary_size=12.5MiB`)"
        ));
    };
    let series: Series = arg[..split].parse()?;
    let (value, unit) = number_and_unit(&arg[split + 1..])
        .ok_or_else(|| format!("`{arg}`: `{}` is not a number", &arg[split + 1..]))?;
    Ok(Metric::single(series, value, unit))
}

/// A finite decimal number at the start of `text` and the (trimmed, possibly empty) rest.
pub(crate) fn number_and_unit(text: &str) -> Option<(f64, Option<&str>)> {
    let text = text.trim();
    let bytes = text.as_bytes();
    let mut end = 0;
    if matches!(bytes.first(), Some(b'+' | b'-')) {
        end += 1;
    }
    let digits_start = end;
    while end < bytes.len() && bytes[end].is_ascii_digit() {
        end += 1;
    }
    if end < bytes.len() && bytes[end] == b'.' {
        end += 1;
        while end < bytes.len() && bytes[end].is_ascii_digit() {
            end += 1;
        }
    }
    if end == digits_start || (end == digits_start + 1 && bytes[digits_start] == b'.') {
        return None;
    }
    // An exponent only when digits follow it (`5e3` is a number, `5em` a number and a unit).
    if end < bytes.len() && matches!(bytes[end], b'e' | b'E') {
        let mut exp = end + 1;
        if exp < bytes.len() && matches!(bytes[exp], b'+' | b'-') {
            exp += 1;
        }
        let exp_digits = exp;
        while exp < bytes.len() && bytes[exp].is_ascii_digit() {
            exp += 1;
        }
        if exp > exp_digits {
            end = exp;
        }
    }
    let value: f64 = text[..end].parse().ok()?;
    if !value.is_finite() {
        return None;
    }
    let unit = text[end..].trim();
    Some((value, (!unit.is_empty()).then_some(unit)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_series_displays_with_sorted_parameters() {
        let series = Series::with_params(
            "latency",
            [("z".into(), "1".into()), ("endpoint".into(), "/api".into())],
        );
        assert_eq!(series.to_string(), "latency{endpoint=/api,z=1}");
        assert_eq!(Series::new("size").to_string(), "size");
    }

    #[test]
    fn a_series_reads_back_what_it_wrote_even_with_special_characters() {
        let series = Series::with_params(
            "odd{name\\",
            [("k,=}".into(), "v,=}\\".into()), ("a".into(), "".into())],
        );
        let text = series.to_string();
        assert_eq!(text, "odd\\{name\\\\{a=,k\\,\\=\\}=v\\,\\=\\}\\\\}");
        assert_eq!(text.parse::<Series>().unwrap(), series);
    }

    #[test]
    fn a_series_identity_sorts_its_parameters_when_read() {
        let series: Series = "q{b=2,a=1}".parse().unwrap();
        assert_eq!(series.to_string(), "q{a=1,b=2}");
        assert_eq!(series.get("b"), Some("2"));
        assert_eq!("q{}".parse::<Series>().unwrap(), Series::new("q"));
    }

    #[test]
    fn bad_series_identities_say_why() {
        for (text, says) in [
            ("", "no metric name"),
            ("{a=1}", "no metric name"),
            ("q{a}", "has no `=value`"),
            ("q{a=1,a=2}", "twice"),
            ("q{=1}", "without a name"),
            ("q{a=1", "no closing"),
            ("q{a=1}x", "text after"),
            ("q{a=1=2}", "two `=`"),
            ("q\\", "lone"),
        ] {
            let err = text.parse::<Series>().unwrap_err();
            assert!(err.contains(says), "{text}: {err}");
        }
    }

    #[test]
    fn metric_arguments_take_units_and_parameters() {
        let m = parse_metric_arg("binary_size=12.5MiB").unwrap();
        assert_eq!(m.series, Series::new("binary_size"));
        assert_eq!(m.value, 12.5 * 1024.0 * 1024.0);
        assert_eq!(m.unit.as_deref(), Some("B"));
        let m = parse_metric_arg("compile_time=83 s").unwrap();
        assert_eq!((m.value, m.unit.as_deref()), (83.0, Some("s")));
        let m = parse_metric_arg("latency{endpoint=/a,region=eu}=12ms").unwrap();
        assert_eq!(m.series.to_string(), "latency{endpoint=/a,region=eu}");
        assert!((m.value - 0.012).abs() < 1e-12);
        let m = parse_metric_arg("BenchmarkJoin/n=100=3e3").unwrap();
        assert_eq!(m.series.name, "BenchmarkJoin/n=100");
        assert_eq!((m.value, m.unit.as_deref()), (3000.0, None));
        let m = parse_metric_arg("score=-2widgets").unwrap();
        assert_eq!((m.value, m.unit.as_deref()), (-2.0, Some("widgets")));
        let m = parse_metric_arg("w=5em").unwrap();
        assert_eq!((m.value, m.unit.as_deref()), (5.0, Some("em")));
        assert_eq!(m.spread.rounds, 1);
    }

    #[test]
    fn bad_metric_arguments_say_why() {
        for (arg, says) in [
            ("size", "is not NAME=VALUE"),
            ("size=", "is not a number"),
            ("size=big", "is not a number"),
            ("size=.", "is not a number"),
            ("size=1e999", "is not a number"),
            ("=3", "no metric name"),
            ("q{a=1=3", "is not NAME=VALUE"),
        ] {
            let err = parse_metric_arg(arg).unwrap_err();
            assert!(err.contains(says), "{arg}: {err}");
        }
    }

    #[test]
    fn units_are_normalised() {
        assert_eq!(normalise_unit(Some("ns")), (1e-9, Some("s".into())));
        assert_eq!(normalise_unit(Some("KiB")), (1024.0, Some("B".into())));
        assert_eq!(normalise_unit(Some("MB/s")), (1e6, Some("B/s".into())));
        assert_eq!(
            normalise_unit(Some("allocs/op")),
            (1.0, Some("allocs/op".into()))
        );
        assert_eq!(normalise_unit(Some(" ")), (1.0, None));
        assert_eq!(normalise_unit(None), (1.0, None));
    }

    #[test]
    fn directions_default_from_units() {
        assert_eq!(
            Direction::default_for_unit(Some("B/s")),
            Direction::HigherIsBetter
        );
        assert_eq!(
            Direction::default_for_unit(Some("items_per_second")),
            Direction::HigherIsBetter
        );
        assert_eq!(
            Direction::default_for_unit(Some("s")),
            Direction::LowerIsBetter
        );
        assert_eq!(Direction::default_for_unit(None), Direction::LowerIsBetter);
        assert_eq!("Higher".parse(), Ok(Direction::HigherIsBetter));
        assert_eq!("lower-is-better".parse(), Ok(Direction::LowerIsBetter));
        assert!("sideways".parse::<Direction>().is_err());
    }

    #[test]
    fn the_spread_of_samples_keeps_the_rounds() {
        let spread = Spread::of_samples(&[3.0, 1.0, 2.0, 10.0]).unwrap();
        assert_eq!(spread.rounds, 4);
        assert_eq!(spread.median, Some(2.5));
        assert_eq!(spread.mean, Some(4.0));
        assert_eq!((spread.min, spread.max), (Some(1.0), Some(10.0)));
        assert!((spread.stddev.unwrap() - 4.08248).abs() < 1e-4);
        assert_eq!(spread.samples, vec![3.0, 1.0, 2.0, 10.0]);
        assert!(Spread::of_samples(&[]).is_none());
        let m =
            Metric::of_samples(Series::new("t"), &[1000.0, 3000.0, 2000.0], Some("ns")).unwrap();
        assert!((m.value - 2e-6).abs() < 1e-15);
        assert_eq!(m.unit.as_deref(), Some("s"));
    }
}
