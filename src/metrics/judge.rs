//! Metric Problems: the steps the change-point detector confirms in a series, on each lane of a
//! branch, grouped across builders and kept as Problems of kind `metric` with stable ids.
//!
//! A step opens a Problem; the next step of the other sign on the same lane (the series returns)
//! fixes that lane's part. The suspects of a step are the changes between the last build before
//! it and the first build at the new level, narrowed across the builders that show the same step
//! (`analyze::changepoint::group_steps`); those of a fix likewise. Like test Problems, the same
//! code judges after an ingest and in `reanalyze`, over the whole series, so the two agree.

use std::collections::{HashMap, HashSet};

use probtrack_parsers::Kind;

use crate::analyze::changepoint::{detect, group_steps, ChangePoint, LaneStep, StepKind};
use crate::analyze::problems::narrow;
use crate::error::Result;
use crate::problems::Branch;
use crate::settings::MetricSettings;
use crate::store::{
    BuildRef, ChangeRef, Id, MetricStep, ProblemBuilder, ProblemFilter, ProblemRecord,
    SeriesRecord, Store,
};

/// A lane's builds, builder, whether it is retired, and its values by series.
type LaneValues = (
    Vec<crate::analyze::BuildInfo>,
    String,
    bool,
    HashMap<Id, Vec<Point>>,
);

/// One value of a series on a lane.
#[derive(Clone, Debug)]
struct Point {
    build: Id,
    number: i64,
    time: i64,
    revision: Option<String>,
    value: f64,
}

/// A series on one lane.
struct LaneSeries {
    builder: String,
    retired: bool,
    points: Vec<Point>,
}

/// A step found on a lane, with the changes that may have made it and where the series returned.
struct Found {
    lane: usize,
    cp: ChangePoint,
    /// When the build that confirmed it ran.
    confirmed: i64,
    changes: Vec<ChangeRef>,
    /// The levels on both sides: the median of the values since the previous step (at most
    /// `window`), and of those from the step to its return (or the newest).
    before: f64,
    after: f64,
    /// Where the series returned (the first value back, an index into the lane's points), with
    /// the changes between it and the value before.
    fix: Option<(usize, Vec<ChangeRef>)>,
}

/// A Problem being put together: its steps (one per lane).
struct Draft {
    members: Vec<usize>,
    suspects: Vec<ChangeRef>,
}

/// Judges the metric Problems of `series` on `branch` (every lane's values of each); returns the
/// ids of the Problems it opened that are open regressions (for `ingest --exit-code`).
pub(crate) fn judge(
    store: &mut dyn Store,
    branch: &Branch,
    series: &[Id],
    settings: &MetricSettings,
) -> Result<Vec<Id>> {
    if series.is_empty() {
        return Ok(Vec::new());
    }
    let records: HashMap<Id, SeriesRecord> = store
        .all_series()?
        .into_iter()
        .filter(|s| series.contains(&s.id))
        .map(|s| (s.id, s))
        .collect();
    let judged: Vec<(Id, super::Judging)> = series
        .iter()
        .filter_map(|id| records.get(id))
        .map(|s| (s.id, super::judging(settings, s)))
        .collect();
    let wanted: Vec<Id> = judged.iter().map(|(id, _)| *id).collect();
    // Each lane's values of every series judged, in one query per lane.
    let mut lanes: Vec<LaneValues> = Vec::new();
    for (lane, retired, builds) in branch.lanes() {
        let bad: HashSet<Id> = builds.iter().filter(|b| b.bad).map(|b| b.id).collect();
        let mut by_series: HashMap<Id, Vec<Point>> = HashMap::new();
        for p in store.lane_metric_values(lane.id, Some(&wanted), i64::MIN)? {
            if bad.contains(&p.build) || !p.value.value.is_finite() {
                continue;
            }
            by_series.entry(p.series).or_default().push(Point {
                build: p.build,
                number: p.number,
                time: p.time,
                revision: p.revision,
                value: p.value.value,
            });
        }
        lanes.push((builds.to_vec(), lane.builder.clone(), retired, by_series));
    }
    let mut opened = Vec::new();
    for (id, how) in &judged {
        let series_lanes: Vec<(&[crate::analyze::BuildInfo], LaneSeries)> = lanes
            .iter_mut()
            .map(|(builds, builder, retired, by_series)| {
                let points = by_series.remove(id).unwrap_or_default();
                (
                    builds.as_slice(),
                    LaneSeries {
                        builder: builder.clone(),
                        retired: *retired,
                        points,
                    },
                )
            })
            .collect();
        let drafts = if how.problems {
            let found = steps(store, &series_lanes, how)?;
            Some((drafts(&found), found))
        } else {
            None
        };
        let name = &records[id].name;
        let unit = records[id].unit.as_deref();
        let lanes_only: Vec<&LaneSeries> = series_lanes.iter().map(|(_, l)| l).collect();
        let records: Vec<ProblemRecord> = match &drafts {
            Some((drafts, found)) => drafts
                .iter()
                .map(|d| record(branch, *id, name, unit, d, found, &lanes_only))
                .collect(),
            None => Vec::new(),
        };
        opened.extend(keep(store, branch, *id, records)?);
    }
    Ok(opened)
}

/// Judges every series on every branch (`reanalyze`).
pub(crate) fn judge_all(store: &mut dyn Store, settings: &MetricSettings) -> Result<usize> {
    let series: Vec<Id> = store.all_series()?.into_iter().map(|s| s.id).collect();
    let mut branches: Vec<Option<String>> = store.lanes()?.into_iter().map(|l| l.branch).collect();
    branches.sort();
    branches.dedup();
    for branch in branches {
        let loaded = Branch::load(store, branch.as_deref())?;
        judge(store, &loaded, &series, settings)?;
    }
    Ok(series.len())
}

fn median(mut x: Vec<f64>) -> f64 {
    if x.is_empty() {
        return f64::NAN;
    }
    x.sort_by(f64::total_cmp);
    let n = x.len();
    if n % 2 == 1 {
        x[n / 2]
    } else {
        (x[n / 2 - 1] + x[n / 2]) / 2.0
    }
}

/// Where a step at `at` (levels `before` → `after`) returns: the first value from which `hold`
/// values in a row lie on the old level's side of the midpoint, before `end`.
fn returns(
    values: &[f64],
    at: usize,
    end: usize,
    before: f64,
    after: f64,
    hold: usize,
) -> Option<usize> {
    let mid = (before + after) / 2.0;
    let back = |x: f64| if after > before { x < mid } else { x > mid };
    let hold = hold.max(1);
    (at + 1..end).find(|&j| j + hold <= end && values[j..j + hold].iter().all(|&x| back(x)))
}

/// The steps of a series on each lane: each with the changes between the last build before it
/// and the first at its new level, its levels, and where (and by which changes) the series
/// returned. The detector's step of the other sign at a return is the return, not a new step.
fn steps(
    store: &mut dyn Store,
    lanes: &[(&[crate::analyze::BuildInfo], LaneSeries)],
    how: &super::Judging,
) -> Result<Vec<Found>> {
    // (lane, step, window of the step, window of its return)
    let mut found: Vec<(Found, Vec<Id>, Vec<Id>)> = Vec::new();
    for (at, (builds, lane)) in lanes.iter().enumerate() {
        let values: Vec<f64> = lane.points.iter().map(|p| p.value).collect();
        let window_of = |i: usize| -> Vec<Id> {
            let (before, first) = (lane.points[i - 1].number, lane.points[i].number);
            (builds.iter())
                .filter(|b| b.number > before && b.number <= first)
                .map(|b| b.id)
                .collect()
        };
        let cps: Vec<ChangePoint> = detect(&values, how.direction, &how.params)
            .into_iter()
            .filter(|cp| cp.index > 0 && cp.index < values.len())
            .collect();
        let mut returned_at: Option<usize> = None;
        for (k, cp) in cps.iter().enumerate() {
            // A step at (or within a few builds of) the previous step's return is that return.
            if returned_at.is_some_and(|r| cp.index.abs_diff(r) <= how.params.min_after.max(1)) {
                returned_at = None;
                continue;
            }
            let start = k.checked_sub(1).map_or(0, |p| cps[p].index);
            let from = cp.index.saturating_sub(how.params.window).max(start);
            let before = median(values[from..cp.index].to_vec());
            let next = cps.get(k + 1).map_or(values.len(), |n| n.index);
            let first_after = median(
                values[cp.index..(cp.index + how.params.min_after.max(1)).min(next)].to_vec(),
            );
            let ret = returns(
                &values,
                cp.index,
                values.len(),
                before,
                first_after,
                how.params.min_after,
            );
            // The detector's next step, when it is of the other sign and comes first, is the return.
            let ret = match cps.get(k + 1) {
                Some(n) if n.kind != cp.kind && ret.is_none_or(|r| n.index < r) => Some(n.index),
                _ => ret,
            };
            let end = ret.unwrap_or(values.len()).max(cp.index + 1);
            let after = median(values[cp.index..end].to_vec());
            returned_at = ret;
            found.push((
                Found {
                    lane: at,
                    confirmed: lane.points[cp.confirmed_at.min(values.len() - 1)].time,
                    cp: cp.clone(),
                    changes: Vec::new(),
                    before,
                    after,
                    fix: ret.map(|r| (r, Vec::new())),
                },
                window_of(cp.index),
                ret.map(window_of).unwrap_or_default(),
            ));
        }
    }
    let all: Vec<Id> = (found.iter())
        .flat_map(|(_, a, b)| a.iter().chain(b))
        .copied()
        .collect();
    let blamelists = if all.is_empty() {
        HashMap::new()
    } else {
        store.blamelists(&all)?
    };
    let changes_of = |window: &[Id]| {
        let mut out: Vec<ChangeRef> = Vec::new();
        for build in window {
            for change in blamelists.get(build).into_iter().flatten() {
                if !out.iter().any(|c| c.id == change.id) {
                    out.push(change.clone());
                }
            }
        }
        out
    };
    Ok(found
        .into_iter()
        .map(|(mut f, start, fix)| {
            f.changes = changes_of(&start);
            if let Some((_, changes)) = f.fix.as_mut() {
                *changes = changes_of(&fix);
            }
            f
        })
        .collect())
}

/// Puts the steps of several lanes that one change explains together: one Problem each group.
fn drafts(found: &[Found]) -> Vec<Draft> {
    let lane_steps: Vec<LaneStep<usize, ChangeRef>> = found
        .iter()
        .map(|f| LaneStep {
            lane: f.lane,
            kind: f.cp.kind,
            changes: f.changes.clone(),
            confirmed: f.confirmed,
        })
        .collect();
    let mut groups = group_steps(&lane_steps);
    groups.sort_by_key(|g| (found[g.members[0]].confirmed, g.members[0]));
    groups
        .into_iter()
        .map(|g| Draft {
            members: g.members,
            suspects: g.suspects,
        })
        .collect()
}

fn build_ref(builder: &str, p: &Point) -> BuildRef {
    BuildRef {
        builder: builder.to_owned(),
        number: p.number,
        time: p.time,
        revision: p.revision.clone(),
    }
}

/// A draft as the Problem record it makes.
fn record(
    branch: &Branch,
    series: Id,
    name: &str,
    unit: Option<&str>,
    draft: &Draft,
    found: &[Found],
    lanes: &[&LaneSeries],
) -> ProblemRecord {
    let opening = &found[draft.members[0]];
    let lane = lanes[opening.lane];
    let first = &lane.points[opening.cp.index];
    let mut builders = Vec::new();
    let mut failures = 0u64;
    let mut last: Option<BuildRef> = None;
    let mut fixed: Option<BuildRef> = None;
    let mut open = false;
    let mut all_fixed = true;
    for &m in &draft.members {
        let step = &found[m];
        let lane = lanes[step.lane];
        let fix = step.fix.as_ref().map(|(at, _)| *at);
        let end = fix.unwrap_or(lane.points.len());
        let end = end.max(step.cp.index + 1).min(lane.points.len());
        failures += (end - step.cp.index) as u64;
        let at_end = build_ref(&lane.builder, &lane.points[end - 1]);
        if last
            .as_ref()
            .is_none_or(|l| (at_end.time, &at_end.builder) > (l.time, &l.builder))
        {
            last = Some(at_end);
        }
        let fixed_number = fix.map(|f| lane.points[f].number);
        if let Some(f) = fix {
            let at = build_ref(&lane.builder, &lane.points[f]);
            if fixed
                .as_ref()
                .is_none_or(|x| (at.time, &at.builder) > (x.time, &x.builder))
            {
                fixed = Some(at);
            }
        } else {
            all_fixed = false;
            open |= !lane.retired;
        }
        builders.push(ProblemBuilder {
            builder: lane.builder.clone(),
            first_number: lane.points[step.cp.index].number,
            last_number: lane.points[end - 1].number,
            fixed_number,
        });
    }
    builders.sort_by(|a, b| a.builder.cmp(&b.builder));
    let fixed_by = if all_fixed {
        let fixes: Vec<&Found> = draft.members.iter().map(|&m| &found[m]).collect();
        let windows: Vec<(bool, Vec<ChangeRef>)> = (fixes.iter())
            .filter_map(|f| f.fix.as_ref())
            .map(|(_, c)| (!c.is_empty(), c.clone()))
            .collect();
        let closing = (fixes.iter())
            .filter_map(|f| {
                f.fix
                    .as_ref()
                    .map(|(at, c)| (lanes[f.lane].points[*at].time, c))
            })
            .max_by_key(|(time, _)| *time)
            .map(|(_, c)| c.clone())
            .unwrap_or_default();
        narrow(&windows, &closing)
    } else {
        Vec::new()
    };
    let cp = &opening.cp;
    let (before, after) = (opening.before, opening.after);
    let change = after / before - 1.0;
    let unit_text = unit.map(|u| format!(" {u}")).unwrap_or_default();
    let message = format!(
        "{}: {} → {}{unit_text} ({}, z = {:.1})",
        cp.kind.as_str(),
        level(before),
        level(after),
        if change.is_finite() {
            format!("{:+.1}%", change * 100.0)
        } else {
            "from 0".to_owned()
        },
        cp.z
    );
    let cluster = (!draft.suspects.is_empty()).then(|| {
        let mut revisions: Vec<&str> = draft.suspects.iter().map(|c| c.revision.as_str()).collect();
        revisions.sort_unstable();
        let hash = blake3::hash(format!("metric step\n{}", revisions.join("\n")).as_bytes());
        format!("m{}", &hash.to_hex()[..11])
    });
    ProblemRecord {
        id: 0,
        test: series,
        test_name: name.as_bytes().into(),
        kind: Kind::Metric,
        branch: branch.branch.clone(),
        first_build: first.build,
        first_failure: build_ref(&lane.builder, first),
        last_failure: last.unwrap_or_else(|| build_ref(&lane.builder, first)),
        fixed: if all_fixed { fixed } else { None },
        open,
        hidden: false,
        intermittent: false,
        failures,
        message: Some(message.into()),
        cluster,
        builders,
        started_by: draft.suspects.clone(),
        fixed_by,
        metric: Some(MetricStep {
            step: cp.kind.as_str().to_owned(),
            before,
            after,
            z: cp.z,
            accepted: None,
        }),
    }
}

/// A level as a message shows it: four significant digits.
pub(crate) fn level(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let digits = (3 - x.abs().log10().floor() as i32).max(0) as usize;
    format!("{x:.digits$}")
}

/// Stores a series' recomputed Problems, keeping ids (by first build, else by overlapping builds
/// on a builder) and acceptances; returns the ids of those it created that are open regressions.
fn keep(
    store: &mut dyn Store,
    branch: &Branch,
    series: Id,
    mut records: Vec<ProblemRecord>,
) -> Result<Vec<Id>> {
    let existing = store.problems(&ProblemFilter {
        branch: Some(branch.branch.clone()),
        test: Some(series),
        hidden: true,
        ..ProblemFilter::default()
    })?;
    let mut unused: Vec<&ProblemRecord> = existing.iter().collect();
    for record in &mut records {
        let at = unused
            .iter()
            .position(|e| e.first_build == record.first_build)
            .or_else(|| {
                unused.iter().position(|e| {
                    e.builders.iter().any(|b| {
                        record.builders.iter().any(|r| {
                            r.builder == b.builder
                                && r.first_number <= b.last_number
                                && b.first_number <= r.last_number
                        })
                    })
                })
            });
        if let Some(at) = at {
            let stored = unused.remove(at);
            record.id = stored.id;
            let accepted = stored.metric.as_ref().and_then(|m| m.accepted.clone());
            if let (Some(accepted), Some(m)) = (accepted, record.metric.as_mut()) {
                m.accepted = Some(accepted);
                record.open = false;
            }
        }
    }
    for stale in unused {
        store.delete_problem(stale.id)?;
    }
    records.sort_by(|a, b| {
        let key = |p: &ProblemRecord| (p.first_failure.time, p.first_failure.builder.clone());
        key(a).cmp(&key(b))
    });
    let mut opened = Vec::new();
    for record in &records {
        if record.id != 0 {
            if let Some(stored) = existing.iter().find(|e| e.id == record.id) {
                if same(stored, record) {
                    continue;
                }
            }
            store.save_problem(record)?;
            continue;
        }
        let id = store.save_problem(record)?;
        let regression = record
            .metric
            .as_ref()
            .is_some_and(|m| m.step == StepKind::Regression.as_str());
        if record.open && regression {
            opened.push(id);
        }
    }
    Ok(opened)
}

/// Whether a stored Problem already says what a recomputed one says.
fn same(stored: &ProblemRecord, new: &ProblemRecord) -> bool {
    let ids = |c: &[ChangeRef]| {
        let mut ids: Vec<Id> = c.iter().map(|c| c.id).collect();
        ids.sort_unstable();
        ids
    };
    stored.first_build == new.first_build
        && stored.first_failure == new.first_failure
        && stored.last_failure == new.last_failure
        && stored.fixed == new.fixed
        && stored.open == new.open
        && !stored.hidden
        && stored.failures == new.failures
        && stored.builders == new.builders
        && stored.message == new.message
        && stored.cluster == new.cluster
        && stored.metric == new.metric
        && ids(&stored.started_by) == ids(&new.started_by)
        && ids(&stored.fixed_by) == ids(&new.fixed_by)
}
