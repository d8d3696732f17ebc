//! `### metrics` and `### metric NAME`: build metrics, their latest values and their history.

use serde::Serialize;

use crate::views::View;

/// One series on one builder, as `metrics` lists it.
#[derive(Clone, Debug, Serialize)]
pub struct MetricRow {
    /// The series' identity, `NAME{key=value,...}`.
    pub series: String,
    /// The normalised unit, or null for a plain number.
    pub unit: Option<String>,
    /// `lower_is_better` or `higher_is_better`.
    pub direction: &'static str,
    pub builder: String,
    /// The latest build with a value, and its value.
    pub build: i64,
    pub time: String,
    pub value: f64,
    /// The latest value relative to the median of up to 10 values before it (`0.05`: 5% more),
    /// or null with no earlier value.
    pub change: Option<f64>,
    /// The last values (up to 20), oldest first: a sparkline.
    pub trend: Vec<f64>,
    /// The series' open metric Problems that are regressions, on this builder.
    pub open_regressions: Vec<i64>,
}

/// `metric NAME`: a series' history per builder, with its change points.
#[derive(Clone, Debug, Serialize)]
pub struct MetricHistory {
    pub series: String,
    pub unit: Option<String>,
    pub direction: &'static str,
    pub builders: Vec<MetricBuilder>,
}

/// One builder's values of a series, oldest first.
#[derive(Clone, Debug, Serialize)]
pub struct MetricBuilder {
    pub builder: String,
    pub values: Vec<MetricPointView>,
    /// The steps the detector finds in these values.
    pub change_points: Vec<ChangePointView>,
}

/// One build's value with the spread of its rounds.
#[derive(Clone, Debug, Serialize)]
pub struct MetricPointView {
    pub build: i64,
    pub revision: Option<String>,
    pub time: String,
    pub value: f64,
    /// How many rounds it comes from (0: unknown).
    pub rounds: u64,
    pub stddev: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// A step in a builder's values.
#[derive(Clone, Debug, Serialize)]
pub struct ChangePointView {
    /// The first build at the new level.
    pub build: i64,
    /// The build whose value confirmed it.
    pub confirmed_at: i64,
    /// `regression` or `improvement`; `return` where a metric Problem's series went back to
    /// its earlier level (with `confirmed_at` its own build and `z` null).
    pub step: &'static str,
    pub before: f64,
    pub after: f64,
    pub z: f64,
    /// The metric Problem it opened or fixed, if any.
    pub problem: Option<i64>,
}

/// One value row of `metric NAME --format csv`.
#[derive(Serialize)]
struct MetricCsvRow<'a> {
    series: &'a str,
    builder: &'a str,
    build: i64,
    revision: Option<&'a str>,
    time: &'a str,
    value: f64,
    rounds: u64,
    stddev: Option<f64>,
    min: Option<f64>,
    max: Option<f64>,
    /// The change point starting at this build (`regression`/`improvement`), if any.
    change_point: Option<&'static str>,
    problem: Option<i64>,
}

impl View for MetricHistory {
    /// One row per value (builder, build), with the change point that starts there.
    fn csv_rows(&self) -> impl Serialize + '_ {
        let mut rows = Vec::new();
        for b in &self.builders {
            for v in &b.values {
                let cp = b.change_points.iter().find(|c| c.build == v.build);
                rows.push(MetricCsvRow {
                    series: &self.series,
                    builder: &b.builder,
                    build: v.build,
                    revision: v.revision.as_deref(),
                    time: &v.time,
                    value: v.value,
                    rounds: v.rounds,
                    stddev: v.stddev,
                    min: v.min,
                    max: v.max,
                    change_point: cp.map(|c| c.step),
                    problem: cp.and_then(|c| c.problem),
                });
            }
        }
        rows
    }
}

/// The JSON of a metric Problem's step (the `metric` key of `problems` and `show`).
#[derive(Clone, Debug, Serialize)]
pub struct MetricStepView {
    /// `regression` or `improvement`.
    pub step: String,
    pub before: f64,
    pub after: f64,
    /// `after / before − 1`, or null when `before` is 0.
    pub change: Option<f64>,
    pub z: f64,
    /// Who accepted the new level as the normal one (`probtrack accept`), or null.
    pub accepted: Option<AcceptedView>,
}

/// `{by, reason, time}`.
#[derive(Clone, Debug, Serialize)]
pub struct AcceptedView {
    pub by: String,
    pub reason: String,
    pub time: String,
}

impl From<&crate::store::MetricStep> for MetricStepView {
    fn from(m: &crate::store::MetricStep) -> Self {
        let change = m.after / m.before - 1.0;
        MetricStepView {
            step: m.step.clone(),
            before: m.before,
            after: m.after,
            change: change.is_finite().then_some(change),
            z: m.z,
            accepted: m.accepted.as_ref().map(|a| AcceptedView {
                by: a.by.clone(),
                reason: a.reason.clone(),
                time: crate::clock::rfc3339(a.at),
            }),
        }
    }
}
