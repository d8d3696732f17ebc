//! The use cases of `metrics` (the series, their latest values, trends and open regressions),
//! `metric NAME` (a series' history per builder, with its change points) and `accept`.

use std::collections::HashMap;

use crate::analyze::changepoint::detect;
use crate::clock;
use crate::error::{Error, Result};
use crate::lookup::find_problem;
use crate::settings::{MetricSettings, Settings};
use crate::store::{
    Acceptance, Id, MetricPoint, ProblemFilter, ProblemRecord, SeriesRecord, Store,
};
use crate::views::metrics::{
    ChangePointView, MetricBuilder, MetricHistory, MetricPointView, MetricRow,
};
use crate::views::problems::ProblemView;

/// How many of each lane's latest builds `metrics` reads.
pub(crate) const TREND: usize = 20;

/// Which series `metrics` lists.
#[derive(Clone, Debug, Default)]
pub(crate) struct MetricListing {
    pub(crate) branch: Option<String>,
    /// Only series whose identity contains this text.
    pub(crate) name: Option<String>,
    pub(crate) builder: Option<String>,
}

/// The lanes of a branch (and builder): `(id, builder)`.
fn lanes_of(
    store: &mut dyn Store,
    branch: Option<&str>,
    builder: Option<&str>,
) -> Result<Vec<(Id, String)>> {
    let mut lanes: Vec<(Id, String)> = store
        .lanes()?
        .into_iter()
        .filter(|l| l.branch.as_deref() == branch && builder.is_none_or(|b| b == l.builder))
        .map(|l| (l.id, l.builder))
        .collect();
    lanes.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(lanes)
}

/// The open metric regressions of a branch, by series and builder.
fn open_regressions(
    store: &mut dyn Store,
    branch: Option<&str>,
) -> Result<HashMap<(Id, String), Vec<Id>>> {
    let mut out: HashMap<(Id, String), Vec<Id>> = HashMap::new();
    let problems = store.problems(&ProblemFilter {
        open: Some(true),
        branch: Some(branch.map(str::to_owned)),
        ..ProblemFilter::default()
    })?;
    for p in problems.iter().filter(|p| is_regression(p)) {
        for b in p.builders.iter().filter(|b| b.fixed_number.is_none()) {
            out.entry((p.test, b.builder.clone()))
                .or_default()
                .push(p.id);
        }
    }
    for ids in out.values_mut() {
        ids.sort_unstable();
    }
    Ok(out)
}

fn is_regression(p: &ProblemRecord) -> bool {
    p.metric.as_ref().is_some_and(|m| m.step == "regression")
}

fn median(mut x: Vec<f64>) -> Option<f64> {
    if x.is_empty() {
        return None;
    }
    x.sort_by(f64::total_cmp);
    let n = x.len();
    Some(if n % 2 == 1 {
        x[n / 2]
    } else {
        (x[n / 2 - 1] + x[n / 2]) / 2.0
    })
}

/// `metrics`: every series with a value on the branch, per builder: its latest value, its
/// change against the values before, its last values and its open regressions.
pub(crate) fn list(
    store: &mut dyn Store,
    settings: &Settings,
    listing: &MetricListing,
) -> Result<Vec<MetricRow>> {
    let branch = listing.branch.as_deref();
    let series: HashMap<Id, SeriesRecord> = store
        .series(None)?
        .into_iter()
        .filter(|s| {
            listing
                .name
                .as_ref()
                .is_none_or(|n| s.name.contains(n.as_str()))
        })
        .map(|s| (s.id, s))
        .collect();
    let regressions = open_regressions(store, branch)?;
    let mut rows = Vec::new();
    for (lane, builder) in lanes_of(store, branch, listing.builder.as_deref())? {
        let builds = store.lane_builds(lane)?;
        let since = builds
            .len()
            .checked_sub(TREND)
            .map_or(i64::MIN, |i| builds[i].number);
        let mut by_series: Vec<(Id, Vec<MetricPoint>)> = Vec::new();
        for point in crate::coverage::series::lane_values(store, lane, None, since)? {
            match by_series.last_mut() {
                Some((id, points)) if *id == point.series => points.push(point),
                _ => by_series.push((point.series, vec![point])),
            }
        }
        for (id, points) in by_series {
            let Some(s) = series.get(&id) else { continue };
            let Some(last) = points.last() else { continue };
            let values: Vec<f64> = points.iter().map(|p| p.value.value).collect();
            let before: Vec<f64> = values[..values.len() - 1]
                .iter()
                .rev()
                .take(10)
                .copied()
                .collect();
            let change = median(before)
                .map(|m| last.value.value / m - 1.0)
                .filter(|c| c.is_finite());
            rows.push(MetricRow {
                series: s.name.clone(),
                unit: s.unit.clone(),
                direction: super::judging(&settings.metrics, s).direction.as_str(),
                builder: builder.clone(),
                build: last.number,
                time: clock::rfc3339(last.time),
                value: last.value.value,
                change,
                trend: values,
                open_regressions: regressions
                    .get(&(id, builder.clone()))
                    .cloned()
                    .unwrap_or_default(),
            });
        }
    }
    rows.sort_by(|a, b| (&a.series, &a.builder).cmp(&(&b.series, &b.builder)));
    Ok(rows)
}

/// Finds a series by identity: exactly, else the one whose identity contains `name`.
fn find_series(store: &mut dyn Store, name: &str) -> Result<SeriesRecord> {
    let all = store.series(None)?;
    if let Some(s) = all.iter().find(|s| s.name == name) {
        return Ok(s.clone());
    }
    let matching: Vec<&SeriesRecord> = all.iter().filter(|s| s.name.contains(name)).collect();
    match matching.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(Error::bad_input(format!(
            "no metric series matches `{}`",
            name.escape_debug()
        ))
        .hint("`probtrack metrics` lists them")),
        many => Err(Error::bad_input(format!(
            "`{}` matches {} metric series: {}",
            name.escape_debug(),
            many.len(),
            many.iter()
                .take(10)
                .map(|s| s.name.escape_debug().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .hint("give the whole identity")),
    }
}

/// `metric NAME`: the series' values per builder on the branch, with the steps the detector finds
/// and the metric Problems they belong to.
pub(crate) fn history(
    store: &mut dyn Store,
    settings: &MetricSettings,
    branch: Option<&str>,
    name: &str,
    limit: Option<usize>,
) -> Result<MetricHistory> {
    let series = find_series(store, name)?;
    let problems = store.problems(&ProblemFilter {
        branch: Some(branch.map(str::to_owned)),
        test: Some(series.id),
        ..ProblemFilter::default()
    })?;
    let mut lanes = Vec::new();
    for (lane, builder) in lanes_of(store, branch, None)? {
        let points =
            crate::coverage::series::lane_values(store, lane, Some(&[series.id]), i64::MIN)?;
        lanes.push((builder, points));
    }
    Ok(assemble(settings, series, &problems, lanes, limit))
}

/// Every series' history on the branch (those with values on it), as [`history`] gives each, in
/// the order of their names: each lane's values and the branch's Problems are read once for all
/// the series, not once a series (the report's metrics page of a project with thousands of
/// per-file coverage series).
pub(crate) fn histories(
    store: &mut dyn Store,
    settings: &MetricSettings,
    branch: Option<&str>,
    limit: Option<usize>,
) -> Result<Vec<MetricHistory>> {
    let all = store.series(None)?;
    let mut problems: HashMap<Id, Vec<ProblemRecord>> = HashMap::new();
    for p in store.problems(&ProblemFilter {
        branch: Some(branch.map(str::to_owned)),
        tests: Some(all.iter().map(|s| s.id).collect()),
        ..ProblemFilter::default()
    })? {
        problems.entry(p.test).or_default().push(p);
    }
    // Per series, each lane's points, the lanes in `lanes_of`'s order.
    let mut lanes: HashMap<Id, Vec<(String, Vec<MetricPoint>)>> = HashMap::new();
    for (lane, builder) in lanes_of(store, branch, None)? {
        let mut points = crate::coverage::series::lane_values(store, lane, None, i64::MIN)?;
        while let Some(last) = points.last() {
            let series = last.series;
            let from = points.partition_point(|p| p.series < series);
            let entry = lanes.entry(series).or_default();
            entry.push((builder.clone(), points.split_off(from)));
        }
    }
    let mut out = Vec::new();
    for series in all {
        let Some(of_series) = lanes.remove(&series.id) else {
            continue;
        };
        let problems = problems.remove(&series.id).unwrap_or_default();
        out.push(assemble(settings, series, &problems, of_series, limit));
    }
    Ok(out)
}

/// A series' history from its points on each lane (`(builder, points)`, by builder) and its
/// Problems on the branch.
fn assemble(
    settings: &MetricSettings,
    series: SeriesRecord,
    problems: &[ProblemRecord],
    lanes: Vec<(String, Vec<MetricPoint>)>,
    limit: Option<usize>,
) -> MetricHistory {
    let judging = super::judging(settings, &series);
    let mut builders = Vec::new();
    for (builder, points) in lanes {
        if points.is_empty() {
            continue;
        }
        let values: Vec<f64> = points.iter().map(|p| p.value.value).collect();
        let change_points = detect(&values, judging.direction, &judging.params)
            .into_iter()
            .filter(|cp| cp.index < points.len() && cp.confirmed_at < points.len())
            .map(|cp| {
                let number = points[cp.index].number;
                let problem = problems
                    .iter()
                    .find(|p| {
                        p.builders.iter().any(|b| {
                            b.builder == builder
                                && (b.first_number == number || b.fixed_number == Some(number))
                        })
                    })
                    .map(|p| p.id);
                ChangePointView {
                    build: number,
                    confirmed_at: points[cp.confirmed_at].number,
                    step: cp.kind.as_str(),
                    before: cp.before,
                    after: cp.after,
                    z: cp.z,
                    problem,
                }
            })
            .collect();
        // Where a Problem's series returned without a step the detector reports there.
        let mut change_points: Vec<ChangePointView> = change_points;
        for p in problems {
            for b in p.builders.iter().filter(|b| b.builder == builder) {
                let Some(number) = b.fixed_number else {
                    continue;
                };
                if change_points.iter().any(|c| c.build == number) {
                    continue;
                }
                if let Some(m) = &p.metric {
                    change_points.push(ChangePointView {
                        build: number,
                        confirmed_at: number,
                        step: "return",
                        before: m.after,
                        after: m.before,
                        z: f64::NAN,
                        problem: Some(p.id),
                    });
                }
            }
        }
        change_points.sort_by_key(|c| c.build);
        let skip = limit.map_or(0, |l| points.len().saturating_sub(l));
        let values = points
            .into_iter()
            .skip(skip)
            .map(|p| MetricPointView {
                build: p.number,
                revision: p.revision,
                time: clock::rfc3339(p.time),
                value: p.value.value,
                rounds: p.value.rounds,
                stddev: p.value.stddev,
                min: p.value.min,
                max: p.value.max,
            })
            .collect();
        builders.push(MetricBuilder {
            builder,
            values,
            change_points,
        });
    }
    MetricHistory {
        series: series.name,
        unit: series.unit,
        direction: judging.direction.as_str(),
        builders,
    }
}

/// `accept PROBLEM --by NAME --reason TEXT`: a named person declares a metric Problem's new level
/// the normal one. It is then `accepted`: not open, not fixed.
pub(crate) fn accept(
    store: &mut dyn Store,
    settings: &Settings,
    problem: Id,
    by: &str,
    reason: &str,
) -> Result<ProblemView> {
    if by.trim().is_empty() || reason.trim().is_empty() {
        return Err(Error::usage("--by and --reason must not be empty"));
    }
    crate::transaction::write(store, |store| {
        let found = find_problem(store, problem)?;
        if found.metric.is_none() {
            return Err(Error::bad_input(format!(
                "Problem {problem} is a {} Problem: only a metric Problem can be accepted",
                found.kind.as_str()
            ))
            .hint("a test Problem ends when the test passes again"));
        }
        if found.fixed.is_some() {
            return Err(Error::bad_input(format!(
                "Problem {problem} is fixed: its series returned to its earlier level"
            )));
        }
        let acceptance = Acceptance {
            by: by.to_owned(),
            reason: reason.to_owned(),
            at: clock::to_micros(clock::now()),
        };
        store.accept_problem(problem, &acceptance)?;
        let record = find_problem(store, problem)?;
        Ok(ProblemView::new(&record, settings))
    })
}
