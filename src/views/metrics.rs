//! `### metrics` and `### metric NAME`: build metrics, their latest values and their history.

use serde::Serialize;

use crate::views::View;

/// One series on one builder, as `metrics` lists it.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct MetricRow {
    /// The series' identity, `NAME{key=value,...}`.
    pub(crate) series: String,
    /// The normalised unit, or null for a plain number.
    pub(crate) unit: Option<String>,
    /// `lower_is_better` or `higher_is_better`.
    pub(crate) direction: &'static str,
    pub(crate) builder: String,
    /// The latest build with a value, and its value.
    pub(crate) build: i64,
    pub(crate) time: String,
    pub(crate) value: f64,
    /// The latest value relative to the median of up to 10 values before it (`0.05`: 5% more),
    /// or null with no earlier value.
    pub(crate) change: Option<f64>,
    /// The last values (up to 20), oldest first: a sparkline.
    pub(crate) trend: Vec<f64>,
    /// The series' open metric Problems that are regressions, on this builder.
    pub(crate) open_regressions: Vec<i64>,
}

/// `metric NAME`: a series' history per builder, with its change points.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct MetricHistory {
    pub(crate) series: String,
    pub(crate) unit: Option<String>,
    pub(crate) direction: &'static str,
    pub(crate) builders: Vec<MetricBuilder>,
}

/// One builder's values of a series, oldest first.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct MetricBuilder {
    pub(crate) builder: String,
    pub(crate) values: Vec<MetricPointView>,
    /// The steps the detector finds in these values.
    pub(crate) change_points: Vec<ChangePointView>,
}

/// One build's value with the spread of its rounds.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct MetricPointView {
    pub(crate) build: i64,
    pub(crate) revision: Option<String>,
    pub(crate) time: String,
    pub(crate) value: f64,
    /// How many rounds it comes from (0: unknown).
    pub(crate) rounds: u64,
    pub(crate) stddev: Option<f64>,
    pub(crate) min: Option<f64>,
    pub(crate) max: Option<f64>,
}

/// A step in a builder's values.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct ChangePointView {
    /// The first build at the new level.
    pub(crate) build: i64,
    /// The build whose value confirmed it.
    pub(crate) confirmed_at: i64,
    /// `regression` or `improvement`; `return` where a metric Problem's series went back to
    /// its earlier level (with `confirmed_at` its own build and `z` null).
    pub(crate) step: &'static str,
    pub(crate) before: f64,
    pub(crate) after: f64,
    pub(crate) z: f64,
    /// The metric Problem it opened or fixed, if any.
    pub(crate) problem: Option<i64>,
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
pub(crate) struct MetricStepView {
    /// `regression` or `improvement`.
    pub(crate) step: String,
    pub(crate) before: f64,
    pub(crate) after: f64,
    /// `after / before − 1`, or null when `before` is 0.
    pub(crate) change: Option<f64>,
    pub(crate) z: f64,
    /// Who accepted the new level as the normal one (`probtrack accept`), or null.
    pub(crate) accepted: Option<AcceptedView>,
}

/// `{by, reason, time}`.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct AcceptedView {
    pub(crate) by: String,
    pub(crate) reason: String,
    pub(crate) time: String,
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
