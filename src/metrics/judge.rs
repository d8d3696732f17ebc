//! Metric Problems: the steps the change-point detector confirms in a series, on each lane of a
//! branch, grouped across builders and kept as Problems of kind `metric` with stable ids.
//!
//! A step opens a Problem; the next step of the other sign on the same lane (the series returns)
//! fixes that lane's part. The suspects of a step are the changes between the last build before
//! it and the first build at the new level, narrowed across the builders that show the same step
//! (`analyze::changepoint::group_steps`); those of a fix likewise. `reanalyze` judges each
//! series over its whole history; an ingest that appends a build to one lane judges only the
//! builds its answer can depend on (a *bounded window*, [`Window`]), keeping the Problems settled
//! before it as they are, so the two agree.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use probtrack_parsers::Kind;

use super::state;
use crate::analyze::changepoint::{
    corroborate, corroborated_return, corroboration_place, departure, detect_where, group_steps,
    reach, returns, sides, ChangePoint, LaneStep, StepKind, CORROBORATED_WITHIN,
};
use crate::analyze::problems::narrow;
use crate::analyze::BuildInfo;
use crate::coverage::series::lane_levels;
use crate::error::Result;
use crate::problems::{window_changes, Branch, NewBuild};
use crate::settings::MetricSettings;
use crate::store::{
    BuildRef, ChangeRef, Id, MetricStep, ProblemBuilder, ProblemFilter, ProblemRecord,
    SeriesRecord, Store,
};

/// One value of a series on a lane.
#[derive(Clone, Debug)]
struct Point {
    build: Id,
    number: i64,
    time: i64,
    revision: Option<Rc<str>>,
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

/// A lane's builds, builder, whether it is retired, and its values by series.
type LaneValues<'a> = (&'a [BuildInfo], String, bool, HashMap<Id, Vec<Point>>);

/// A step found, before its changes are looked up: the builds of its window and of its fix's.
type RawFound = (Found, Vec<Id>, Vec<Id>);

/// A Problem being put together: its steps (one per lane).
struct Draft {
    members: Vec<usize>,
    suspects: Vec<ChangeRef>,
}

/// A series to judge: its record, how it is judged, and its stored Problems on the branch.
struct Judged {
    series: SeriesRecord,
    how: super::Judging,
    stored: Vec<ProblemRecord>,
}

/// The Problems of one series recomputed: the records, and the stored Problems they replace
/// (the others stay as they are).
struct Recomputed {
    records: Vec<ProblemRecord>,
    replaces: Vec<ProblemRecord>,
}

/// Judges the metric Problems of `series` on `branch`; returns the ids of the Problems it opened
/// that are open regressions (for `ingest --exit-code`). `appended` are the builds an ingest
/// just added, each the newest of its lane: when they are all on one lane, each series is
/// judged on a bounded window of that lane where that gives the whole history's answer
/// ([`Window`]), else (and with `appended` empty) over the whole history of every lane.
pub(crate) fn judge(
    store: &mut dyn Store,
    branch: &Branch,
    series: &[Id],
    settings: &MetricSettings,
    appended: &[NewBuild],
) -> Result<Vec<Id>> {
    if series.is_empty() {
        return Ok(Vec::new());
    }
    let mut records: HashMap<Id, SeriesRecord> = store
        .series(Some(series))?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    let ids: Vec<Id> = series
        .iter()
        .filter(|id| records.contains_key(id))
        .copied()
        .collect();
    let mut stored: HashMap<Id, Vec<ProblemRecord>> = HashMap::new();
    if !ids.is_empty() {
        for p in store.problems(&ProblemFilter {
            branch: Some(branch.branch.clone()),
            tests: Some(ids.clone()),
            hidden: true,
            ..ProblemFilter::default()
        })? {
            stored.entry(p.test).or_default().push(p);
        }
    }
    let judged: Vec<Judged> = ids
        .iter()
        .filter_map(|id| records.remove(id))
        .map(|s| Judged {
            how: super::judging(settings, &s),
            stored: stored.remove(&s.id).unwrap_or_default(),
            series: s,
        })
        .collect();
    // One lane appended to: a bounded window of it, where that is the whole history's answer.
    let mut lanes: Vec<Id> = appended.iter().map(|a| a.0).collect();
    lanes.sort_unstable();
    lanes.dedup();
    let mut results: HashMap<Id, Recomputed> = HashMap::new();
    if let ([lane], false) = (lanes.as_slice(), branch.pruned()) {
        let since = appended.iter().map(|a| a.1).min().unwrap_or(i64::MIN);
        results = windowed(store, branch, *lane, since, &judged)?;
    }
    // The others, over the whole history of every lane.
    let rest: Vec<&Judged> = judged
        .iter()
        .filter(|j| !results.contains_key(&j.series.id))
        .collect();
    results.extend(whole(store, branch, &rest)?);
    let mut opened = Vec::new();
    for j in &judged {
        if let Some(r) = results.remove(&j.series.id) {
            opened.extend(keep(store, j.series.id, r)?);
        }
    }
    Ok(opened)
}

/// Judges every series on the branches `builder` builds (every branch when `None`: `reanalyze`)
/// over their whole history; also after `delete-build`, `mark-bad` and `unmark-bad`, which change
/// what a window at the next ingest would not look at again.
pub(crate) fn rejudge(
    store: &mut dyn Store,
    builder: Option<&str>,
    settings: &MetricSettings,
) -> Result<()> {
    let series: Vec<Id> = store.series(None)?.into_iter().map(|s| s.id).collect();
    if series.is_empty() {
        return Ok(());
    }
    let mut branches: Vec<Option<String>> = (store.lanes()?.into_iter())
        .filter(|l| builder.is_none_or(|b| b == l.builder))
        .map(|l| l.branch)
        .collect();
    branches.sort();
    branches.dedup();
    for branch in branches {
        let loaded = Branch::load(store, branch.as_deref())?;
        judge(store, &loaded, &series, settings, &[])?;
    }
    Ok(())
}

/// The finite values of `series` on a lane from build `since` on, by series in build order,
/// builds in a known-bad range left out. Where the series are a good part of all (`of`: how
/// many there are), every value of the lane's builds is read, build by build, and the others
/// left out here: one seek per build rather than one per value.
fn lane_points(
    store: &mut dyn Store,
    lane: Id,
    builds: &[BuildInfo],
    (series, of): (&[Id], usize),
    since: i64,
) -> Result<HashMap<Id, Vec<Point>>> {
    let mut out: HashMap<Id, Vec<Point>> = HashMap::with_capacity(series.len());
    if series.is_empty() {
        return Ok(out);
    }
    let from = builds.partition_point(|b| b.number < since);
    let by_id: HashMap<Id, &BuildInfo> = builds[from..].iter().map(|b| (b.id, b)).collect();
    let most = series.len().saturating_mul(4) >= of;
    let wanted: HashSet<Id> = if most {
        series.iter().copied().collect()
    } else {
        HashSet::new()
    };
    let filter = (!most).then_some(series);
    for (s, build, value) in lane_levels(store, lane, filter, since)? {
        let Some(b) = by_id.get(&build).filter(|b| !b.bad) else {
            continue;
        };
        if !value.is_finite() || (most && !wanted.contains(&s)) {
            continue;
        }
        out.entry(s).or_default().push(Point {
            build,
            number: b.number,
            time: b.time,
            revision: b.revision.clone(),
            value,
        });
    }
    for points in out.values_mut() {
        points.sort_by_key(|p| p.number);
    }
    Ok(out)
}

/// The points of the series in `last` (each with how many of its last values are wanted:
/// `usize::MAX` for all) that `held` holds, builds in a known-bad range left out, each with
/// whether they go back to the lane's first build.
fn held_points(
    held: &state::Held,
    builds: &[BuildInfo],
    last: &HashMap<Id, usize>,
) -> HashMap<Id, (Vec<Point>, bool)> {
    let mut out: HashMap<Id, (Vec<Point>, bool)> = HashMap::with_capacity(last.len());
    for (s, values) in &held.state.series {
        let Some(&n) = last.get(s) else {
            continue;
        };
        let skip = values.len().saturating_sub(n);
        let points: Vec<Point> = (values[skip..].iter())
            .filter_map(|&(i, value)| {
                let b = builds.get(held.first + i as usize)?;
                (!b.bad && value.is_finite()).then(|| Point {
                    build: b.id,
                    number: b.number,
                    time: b.time,
                    revision: b.revision.clone(),
                    value,
                })
            })
            .collect();
        out.insert(*s, (points, skip == 0 && held.first == 0));
    }
    out
}

/// Whether the series `j`, without a stored Problem on the lane, confirms no step at the lane's
/// builds from `at` (an index) on, and (on a branch of several lanes) none of them departs, judged on its last `n` values in `held` as [`Window`] would
/// judge its points (`false` where those do not reach back far enough: the points decide).
fn quiet(
    held: &state::Held,
    builds: &[BuildInfo],
    at: usize,
    n: usize,
    j: &Judged,
    alone: bool,
) -> bool {
    let Ok(k) = (held.state.series).binary_search_by_key(&j.series.id, |s| s.0) else {
        return false;
    };
    let all = &held.state.series[k].1;
    let skip = all.len().saturating_sub(n);
    let mut values = Vec::with_capacity(all.len() - skip);
    let mut before = 0;
    for &(i, value) in &all[skip..] {
        let at_build = held.first + i as usize;
        if builds.get(at_build).is_some_and(|b| !b.bad) && value.is_finite() {
            values.push(value);
            before += usize::from(at_build < at);
        }
    }
    let whole = skip == 0 && held.first == 0;
    let new_end = before + 1;
    let h = reach(&j.how.params);
    if new_end < h && !whole {
        return false;
    }
    let window = Window {
        from: new_end.saturating_sub(h),
        new_end,
        firsts: Vec::new(),
        fixes: Vec::new(),
        covers: Vec::new(),
    };
    let cps = window.detect(&values, &j.how);
    cps.is_empty() && (alone || !departs(&values, &cps, new_end - 1, &j.how))
}

/// Whether a build from `first` (an index into `values`) on departs from the lane's level
/// (`changepoint::departure`, with the lane's steps `cps`): it may pair with another builder's.
fn departs(values: &[f64], cps: &[ChangePoint], first: usize, how: &super::Judging) -> bool {
    (first..values.len()).any(|i| departure(values, cps, i, how.direction, &how.params).is_some())
}

/// The suspects of the stored Problems of `j` that have no part on `builder`: a build of its
/// that holds one of them may be a step they corroborate (`corroborated`).
fn others_of(j: &Judged, builder: &str) -> HashSet<Id> {
    (j.stored.iter())
        .filter(|p| !p.builders.iter().any(|b| b.builder == builder))
        .flat_map(|p| p.started_by.iter().map(|c| c.id))
        .collect()
}

/// The number of the lane's build `at` (an index), from which to read: `i64::MIN` for the first.
fn bound_of(builds: &[BuildInfo], at: usize) -> i64 {
    builds
        .get(at)
        .filter(|_| at > 0)
        .map_or(i64::MIN, |b| b.number)
}

/// The series given, each over the whole history of every lane of the branch.
fn whole(
    store: &mut dyn Store,
    branch: &Branch,
    judged: &[&Judged],
) -> Result<HashMap<Id, Recomputed>> {
    let mut out = HashMap::new();
    let wanted: Vec<Id> = (judged.iter())
        .filter(|j| j.how.problems)
        .map(|j| j.series.id)
        .collect();
    let mut lanes: Vec<LaneValues> = Vec::new();
    if !wanted.is_empty() {
        let of = branch.series_count(store)?;
        for (lane, retired, builds) in branch.lanes() {
            let points = lane_points(store, lane.id, builds, (&wanted, of), i64::MIN)?;
            lanes.push((builds, lane.builder.clone(), retired, points));
        }
    }
    for j in judged {
        let mut records = Vec::new();
        if j.how.problems {
            let series_lanes: Vec<(&[BuildInfo], LaneSeries)> = lanes
                .iter_mut()
                .map(|(builds, builder, retired, by_series)| {
                    let points = by_series.remove(&j.series.id).unwrap_or_default();
                    let lane = LaneSeries {
                        builder: builder.clone(),
                        retired: *retired,
                        points,
                    };
                    (*builds, lane)
                })
                .collect();
            let mut raw = Vec::new();
            let mut own = Vec::with_capacity(series_lanes.len());
            for (at, (builds, lane)) in series_lanes.iter().enumerate() {
                let values: Vec<f64> = lane.points.iter().map(|p| p.value).collect();
                let cps = detect_where(&values, j.how.direction, &j.how.params, &mut |_, _| true);
                raw.extend(lane_found(at, builds, lane, &values, cps.clone(), &j.how));
                own.push(cps);
            }
            let found = with_changes(store, raw)?;
            let (found, drafts) = corroborated(store, &series_lanes, &own, found, &j.how)?;
            let (found, drafts) = paired(store, &series_lanes, &own, found, drafts, &j.how)?;
            let lanes_only: Vec<&LaneSeries> = series_lanes.iter().map(|(_, l)| l).collect();
            records = records_from(branch, &j.series, &found, &drafts, &lanes_only);
        }
        out.insert(
            j.series.id,
            Recomputed {
                records,
                replaces: j.stored.clone(),
            },
        );
    }
    Ok(out)
}

/// A stored Problem's part on the lane judged: the build numbers of its step and of its return.
struct Part {
    problem: usize,
    first: i64,
    fixed: Option<i64>,
}

/// The bounded window of one series on the lane an ingest appended to.
///
/// What the detector confirms at a build depends on the values of the last [`reach`] builds and
/// on the steps it confirmed among them; every step it confirmed before is within `min_after`
/// builds of a stored Problem's first build or return on that lane (a step is placed again by at
/// most `min_after` builds, and the judge takes the step found within `min_after` of a return for
/// that return). So the window goes back from the new builds by [`reach`] builds, and further
/// over every stored Problem part (its step to its return, or to the newest build while it has
/// not returned) that comes within it; the detector scans only the new builds and those around
/// the steps and returns of the parts it covers, from values reaching [`reach`] builds further
/// back. The Problems whose parts all end before it are settled and stay as they are.
struct Window {
    /// The first value read (an index into the points).
    from: usize,
    /// The first new build: the ends (prefix lengths) from `new_end` on are the new builds.
    new_end: usize,
    /// The stored parts it covers: their steps' and returns' places in the points.
    firsts: Vec<usize>,
    fixes: Vec<usize>,
    /// The stored Problems it covers (indexes into the series' stored Problems).
    covers: Vec<usize>,
}

impl Window {
    /// The window of `points` (the lane's values from a build on; `whole`: from its first), or
    /// how many values before them it reaches back.
    fn of(
        points: &[Point],
        whole: bool,
        parts: &[Part],
        since: i64,
        params: &crate::analyze::changepoint::Params,
    ) -> std::result::Result<Window, usize> {
        let (w, ma, _) = sides(params);
        let (w, ma, h) = (w as i64, ma as i64, reach(params) as i64);
        let n = points.len() as i64;
        // A build before the points read may be just before them: place -1, and a window that
        // covers it needs more of them.
        let early = |number: i64| !whole && points.first().is_none_or(|p| number < p.number);
        let pos = |number: i64| -> i64 {
            if early(number) {
                return -1;
            }
            points.partition_point(|p| p.number < number) as i64
        };
        let new_end = pos(since).max(0) + 1;
        let mut start = new_end;
        let mut covered = vec![false; parts.len()];
        let mut reaches_before = false;
        loop {
            let mut grew = false;
            for (i, part) in parts.iter().enumerate() {
                let last = part.fixed.map_or(n, pos);
                if covered[i] || last + 2 * ma + w < start - h {
                    continue;
                }
                covered[i] = true;
                reaches_before |= early(part.first);
                start = start.min(pos(part.first) - ma);
                grew = true;
            }
            if !grew {
                break;
            }
        }
        // Each build scanned reads `h` values back; the levels of a covered step, the
        // `window` before it, and its place looked at again, `window` and `min_after` around it,
        // lie within those of the first build scanned (`h` ≥ 2·`window` + `min_before`).
        let from = start - h;
        if (from < 0 || reaches_before) && !whole {
            return Err((-from).max(h + w) as usize);
        }
        let mut firsts = Vec::new();
        let mut fixes = Vec::new();
        let mut covers = Vec::new();
        for (part, _) in parts.iter().zip(&covered).filter(|(_, c)| **c) {
            firsts.push(pos(part.first).max(0) as usize);
            fixes.extend(part.fixed.map(|f| pos(f).max(0) as usize));
            covers.push(part.problem);
        }
        covers.sort_unstable();
        covers.dedup();
        Ok(Window {
            from: from.max(0) as usize,
            new_end: new_end as usize,
            firsts,
            fixes,
            covers,
        })
    }

    /// The detector's steps in `values[self.from..]` (indexes into `values`): it scans the new
    /// builds, those where a covered part's step can have been confirmed (until it is found),
    /// and those around a covered return.
    fn detect(&self, values: &[f64], how: &super::Judging) -> Vec<ChangePoint> {
        let (w, ma, _) = sides(&how.params);
        let from = self.from;
        let mut found = vec![false; self.firsts.len()];
        let mut seen = 0;
        let mut evaluate = |end: usize, steps: &[ChangePoint]| {
            // A step confirmed is the covered step nearest its place.
            for step in &steps[seen..] {
                let tau = step.index_at_confirmation + from;
                let nearest = (self.firsts.iter().enumerate())
                    .filter(|(i, f)| !found[*i] && tau.abs_diff(**f) <= ma)
                    .min_by_key(|(_, f)| tau.abs_diff(**f));
                if let Some((i, _)) = nearest {
                    found[i] = true;
                }
            }
            seen = steps.len();
            let end = end + from;
            end >= self.new_end
                || (self.firsts.iter().zip(&found))
                    .any(|(&f, &done)| !done && end >= f && end <= f + ma + w)
                || (self.fixes.iter()).any(|&x| end + ma >= x && end <= x + 2 * ma + w)
        };
        let mut cps = detect_where(&values[from..], how.direction, &how.params, &mut evaluate);
        for cp in &mut cps {
            cp.index += from;
            cp.index_at_confirmation += from;
            cp.confirmed_at += from;
        }
        cps
    }
}

/// Each series judged on a bounded window of `lane` (builds from `since` appended), where that
/// gives what the whole history gives: on a branch of one lane, always; on one of several,
/// when the window's steps are the stored Problems' (no new or moved step that could join
/// another builder's), those Problems have no other builder, and no other builder's Problem has
/// a suspect in the builds where a step it corroborates could change (`corroborated`). The
/// others are left out.
fn windowed(
    store: &mut dyn Store,
    branch: &Branch,
    lane: Id,
    since: i64,
    judged: &[Judged],
) -> Result<HashMap<Id, Recomputed>> {
    let mut out = HashMap::new();
    let Some((record, retired, builds)) = branch.lanes().find(|(l, _, _)| l.id == lane) else {
        return Ok(out);
    };
    let alone = branch.lanes().count() == 1;
    let builder = record.builder.clone();
    // The values to read: the last builds the detector reaches, and more where a Problem needs.
    let reach_of = |how: &super::Judging| reach(&how.params) + 2;
    let mut wanted: Vec<(&Judged, usize)> = Vec::new();
    for j in judged {
        if j.how.problems {
            wanted.push((j, reach_of(&j.how)));
        } else {
            // Nothing to detect: its Problems (from other settings) go.
            out.insert(
                j.series.id,
                Recomputed {
                    records: Vec::new(),
                    replaces: j.stored.clone(),
                },
            );
        }
    }
    let back = wanted.iter().map(|(_, r)| *r).max().unwrap_or(0);
    let at = builds.partition_point(|b| b.number < since);
    let from = at.saturating_sub(back);
    let ids: Vec<Id> = wanted.iter().map(|(j, _)| j.series.id).collect();
    let of = branch.series_count(store)?;
    // Where the series are a good part of all, through the lane's metric state (`state`): the
    // series with a Problem on this lane all the values it holds (their windows reach back over
    // the Problem), the others their last values as far as the detector reaches. For a few,
    // their values one by one.
    let mut held: Option<state::Held> = None;
    let mut tail: HashMap<Id, usize> = HashMap::with_capacity(wanted.len());
    for (j, _) in &wanted {
        let deep = (j.stored.iter()).any(|p| p.builders.iter().any(|b| b.builder == builder));
        let n = if deep {
            usize::MAX
        } else {
            back + (builds.len() - at)
        };
        tail.insert(j.series.id, n);
    }
    let mut read = if !ids.is_empty() && ids.len().saturating_mul(4) >= of {
        let h = match state::read(store, lane, builds, from)? {
            Some(h) => h,
            None => {
                let rows = lane_levels(store, lane, None, bound_of(builds, from))?;
                state::Held::made(builds, from, &rows)
            }
        };
        // The series without a Problem on this lane where the new builds confirm no step (most
        // of them): nothing to keep or change, found from their values alone.
        for (j, _) in &wanted {
            let id = j.series.id;
            if !alone && !others_of(j, &builder).is_empty() {
                continue;
            }
            if tail
                .get(&id)
                .is_some_and(|&n| n != usize::MAX && quiet(&h, builds, at, n, j, alone))
            {
                tail.remove(&id);
                out.insert(
                    id,
                    Recomputed {
                        records: Vec::new(),
                        replaces: Vec::new(),
                    },
                );
            }
        }
        let read = held_points(&h, builds, &tail);
        held = Some(h);
        read
    } else {
        let whole = from == 0;
        (lane_points(store, lane, builds, (&ids, of), bound_of(builds, from))?.into_iter())
            .map(|(s, points)| (s, (points, whole)))
            .collect()
    };
    let mut plans: Vec<(&Judged, Vec<Point>, Window)> = Vec::new();
    // Where a window reaches back before the values read, more are read, as far as it reaches
    // (a series with gaps may need another look), then the whole lane.
    let mut short: Vec<(&Judged, i64)> = Vec::new();
    for (j, _) in wanted
        .iter()
        .filter(|(j, _)| !out.contains_key(&j.series.id))
    {
        let (points, whole) = (read.remove(&j.series.id)).unwrap_or((Vec::new(), from == 0));
        match plan(j, &builder, points, whole, since) {
            Ok((points, window)) => plans.push((j, points, window)),
            Err((deficit, first)) => short.push((j, further(builds, first, deficit))),
        }
    }
    // Through the state: all it holds of them, where it reaches back as far as their windows,
    // else the state made anew from there (kept so for the next ingest).
    let reach_back = short.iter().map(|s| s.1).min();
    if let Some(bound) = reach_back {
        if let Some(mut h) = held.take() {
            let first = builds.partition_point(|b| b.number < bound);
            if first < h.first {
                h = state::Held::made(builds, first, &lane_levels(store, lane, None, bound)?);
            }
            let all: HashMap<Id, usize> = (short.iter())
                .map(|(j, _)| (j.series.id, usize::MAX))
                .collect();
            let mut read = held_points(&h, builds, &all);
            for (j, _) in std::mem::take(&mut short) {
                let (points, whole) =
                    (read.remove(&j.series.id)).unwrap_or((Vec::new(), h.first == 0));
                match plan(j, &builder, points, whole, since) {
                    Ok((points, window)) => plans.push((j, points, window)),
                    Err((deficit, first)) => short.push((j, further(builds, first, deficit))),
                }
            }
            held = Some(h);
        }
    }
    for round in 0..3 {
        if short.is_empty() {
            break;
        }
        let last = round == 2;
        let mut bounds: Vec<i64> = short.iter().map(|s| s.1).collect();
        bounds.sort_unstable();
        let bound = if last { i64::MIN } else { bounds[0] };
        let ids: Vec<Id> = short.iter().map(|(j, _)| j.series.id).collect();
        let mut read = lane_points(store, lane, builds, (&ids, of), bound)?;
        for (j, _) in std::mem::take(&mut short) {
            let points = read.remove(&j.series.id).unwrap_or_default();
            match plan(j, &builder, points, bound == i64::MIN, since) {
                Ok((points, window)) => plans.push((j, points, window)),
                Err((deficit, first)) => short.push((j, further(builds, first, deficit))),
            }
        }
    }
    if let Some(h) = &held {
        // The next ingest's windows reach as far back as these (a step placed again moves a few
        // builds): the state keeps their builds, with a margin.
        let deepest = (plans.iter())
            .filter_map(|(_, points, window)| points.get(window.from))
            .map(|p| builds.partition_point(|b| b.number < p.number))
            .min()
            .unwrap_or(from);
        let keep = if deepest < from {
            deepest.saturating_sub(16)
        } else {
            from
        };
        state::write(store, lane, builds, h, keep)?;
    }
    // The steps found, their changes looked up at once for every series.
    let mut judged_here = Vec::with_capacity(plans.len());
    for (j, points, window) in plans {
        let values: Vec<f64> = points.iter().map(|p| p.value).collect();
        let cps = window.detect(&values, &j.how);
        let lane = LaneSeries {
            builder: builder.clone(),
            retired,
            points,
        };
        let raw = lane_found(0, builds, &lane, &values, cps.clone(), &j.how);
        let covered: Vec<&ProblemRecord> = window.covers.iter().map(|&i| &j.stored[i]).collect();
        if !alone {
            // Where another builder could share a Problem, the whole history judges.
            let steps: HashSet<i64> = (raw.iter())
                .map(|(f, _, _)| lane.points[f.cp.index].number)
                .collect();
            let stored: HashSet<i64> = (covered.iter())
                .flat_map(|p| p.builders.iter().filter(|b| b.builder == builder))
                .map(|b| b.first_number)
                .collect();
            if steps != stored || covered.iter().any(|p| p.builders.len() > 1) {
                continue;
            }
            // A new build that departs may pair with another builder's (`paired`).
            if departs(&values, &cps, window.new_end - 1, &j.how) {
                continue;
            }
        }
        // Another builder's Problem whose suspects this lane built where the new builds can
        // change what `corroborated` finds: the whole history judges there. A step corroborated
        // at a place depends on the values from it (`CORROBORATED_WITHIN` × `min_after`) and on
        // the lane's own steps around it (its left side, the scale's breaks, the next one),
        // which a new build confirms or places again up to `window` + `min_after` builds back.
        let others = others_of(j, &builder);
        let mut recent = Vec::new();
        if !alone && !others.is_empty() {
            let (w, ma, _) = sides(&j.how.params);
            let first_new = lane.points.partition_point(|p| p.number < since);
            let back = w + (1 + CORROBORATED_WITHIN) * ma + 1;
            let bound = (first_new.checked_sub(back)).map_or(i64::MIN, |i| lane.points[i].number);
            let from = builds.partition_point(|b| b.number <= bound);
            recent = builds[from..].iter().map(|b| b.id).collect();
        }
        judged_here.push((j, lane, raw, covered, (others, recent)));
    }
    let mut wanted: Vec<Id> = (judged_here.iter())
        .flat_map(|h| {
            h.2.iter()
                .flat_map(|(_, a, b)| a.iter().chain(b))
                .chain(&h.4 .1)
        })
        .copied()
        .collect();
    wanted.sort_unstable();
    wanted.dedup();
    let blamelists = if wanted.is_empty() {
        HashMap::new()
    } else {
        store.blamelists(&wanted)?
    };
    for (j, lane, raw, covered, (others, recent)) in judged_here {
        let built = (recent.iter()).flat_map(|b| blamelists.get(b).into_iter().flatten());
        if built.into_iter().any(|c| others.contains(&c.id)) {
            continue;
        }
        let found = attach_changes(raw, &blamelists);
        let records = records_of(branch, &j.series, &found, &[&lane]);
        out.insert(
            j.series.id,
            Recomputed {
                records,
                replaces: covered.into_iter().cloned().collect(),
            },
        );
    }
    Ok(out)
}

/// The build `deficit` builds (and a margin) before build `first` of a lane: from where to read
/// values that a window needs.
fn further(builds: &[BuildInfo], first: i64, deficit: usize) -> i64 {
    let at = builds.partition_point(|b| b.number < first);
    at.checked_sub(deficit + 16)
        .map_or(i64::MIN, |i| builds[i].number)
}

/// The points of `j` on `builder` (read from a build on, or `whole`) and their window, or how
/// many values before them it reaches back and the first build read.
fn plan(
    j: &Judged,
    builder: &str,
    points: Vec<Point>,
    whole: bool,
    since: i64,
) -> std::result::Result<(Vec<Point>, Window), (usize, i64)> {
    let mut parts = Vec::new();
    for (i, p) in j.stored.iter().enumerate() {
        for b in p.builders.iter().filter(|b| b.builder == builder) {
            parts.push(Part {
                problem: i,
                first: b.first_number,
                fixed: b.fixed_number,
            });
        }
    }
    match Window::of(&points, whole, &parts, since, &j.how.params) {
        Ok(window) => Ok((points, window)),
        Err(deficit) => Err((deficit, points.first().map_or(since, |p| p.number))),
    }
}

/// The Problem records of a series' steps found on its lanes.
fn records_of(
    branch: &Branch,
    series: &SeriesRecord,
    found: &[Found],
    lanes: &[&LaneSeries],
) -> Vec<ProblemRecord> {
    records_from(branch, series, found, &drafts(found), lanes)
}

/// The Problem records of a series' steps grouped into `drafts`.
fn records_from(
    branch: &Branch,
    series: &SeriesRecord,
    found: &[Found],
    drafts: &[Draft],
    lanes: &[&LaneSeries],
) -> Vec<ProblemRecord> {
    drafts
        .iter()
        .map(|d| {
            record(
                branch,
                series.id,
                &series.name,
                series.unit.as_deref(),
                d,
                found,
                lanes,
            )
        })
        .collect()
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

/// The steps of a series on one lane (`cps`, the detector's on `values`, the lane's points):
/// each with the builds between the last build before it and the first at its new level, its
/// levels, and where the series returned (with the builds of that window). The detector's step
/// of the other sign at a return is the return, not a new step.
fn lane_found(
    at: usize,
    builds: &[BuildInfo],
    lane: &LaneSeries,
    values: &[f64],
    cps: Vec<ChangePoint>,
    how: &super::Judging,
) -> Vec<RawFound> {
    let mut found = Vec::new();
    let window_of = |i: usize| window_of(builds, &lane.points, i);
    let cps: Vec<ChangePoint> = cps
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
        let first_after =
            median(values[cp.index..(cp.index + how.params.min_after.max(1)).min(next)].to_vec());
        let ret = returns(
            values,
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
    found
}

/// The builds between the point before `i` and point `i` of a lane (the latter's included): the
/// changes of their blamelists are those a step at `i` may have come from.
fn window_of(builds: &[BuildInfo], points: &[Point], i: usize) -> Vec<Id> {
    let (before, first) = (points[i - 1].number, points[i].number);
    // The lane's builds are in number order.
    let from = builds.partition_point(|b| b.number <= before);
    let to = builds.partition_point(|b| b.number <= first);
    builds[from..to.max(from)].iter().map(|b| b.id).collect()
}

/// The steps of other lanes that a group explains (*corroboration*, `changepoint::corroborate`),
/// joined to the groups of the lanes' own steps (`found`, `own` the detector's steps by lane):
/// for each group and each lane without a step in it, the lane's first build, among the
/// `window` from the group's earliest build before its step on, whose blamelist window holds
/// one of the group's suspects, unless it holds a change that moves the series the other way
/// ([`moves_against`], `corroboration_place`);
/// where the lane's values from there depart in the group's sign, its step joins the group. It
/// is confirmed when both the lane's builds and the group have confirmed it, and it does not
/// narrow the group's suspects (they are what found it).
fn corroborated(
    store: &mut dyn Store,
    lanes: &[(&[BuildInfo], LaneSeries)],
    own: &[Vec<ChangePoint>],
    mut found: Vec<Found>,
    how: &super::Judging,
) -> Result<(Vec<Found>, Vec<Draft>)> {
    let mut drafts = drafts(&found);
    if lanes.len() < 2 || drafts.is_empty() {
        return Ok((found, drafts));
    }
    let (window, _, _) = sides(&how.params);
    // For each group and lane without a step in it: the lane's candidate builds, whose windows'
    // blamelists are read at once.
    let mut asks: Vec<(usize, usize, Vec<usize>)> = Vec::new();
    let mut wanted: Vec<Id> = Vec::new();
    for (d, draft) in drafts.iter().enumerate() {
        let since = (draft.members.iter())
            .map(|&m| lanes[found[m].lane].1.points[found[m].cp.index - 1].time)
            .min();
        let Some(since) = since.filter(|_| !draft.suspects.is_empty()) else {
            continue;
        };
        for (l, (builds, lane)) in lanes.iter().enumerate() {
            if draft.members.iter().any(|&m| found[m].lane == l) {
                continue;
            }
            let candidates: Vec<usize> = (1..lane.points.len())
                .filter(|&i| lane.points[i].time >= since)
                .take(window)
                .collect();
            for &i in &candidates {
                wanted.extend(window_of(builds, &lane.points, i));
            }
            asks.push((d, l, candidates));
        }
    }
    wanted.sort_unstable();
    wanted.dedup();
    if wanted.is_empty() {
        return Ok((found, drafts));
    }
    let blamelists = store.blamelists(&wanted)?;
    let mut joining: Vec<usize> = Vec::new();
    let mut raw: Vec<RawFound> = Vec::new();
    let mut taken: HashSet<(usize, usize)> = HashSet::new();
    let values: Vec<Vec<f64>> = (lanes.iter())
        .map(|(_, lane)| lane.points.iter().map(|p| p.value).collect())
        .collect();
    // A window that holds a change moving the series the other way is ambiguous.
    let against = |kind: StepKind| moves_against(&found, &drafts, kind);
    let against = [
        against(StepKind::Regression),
        against(StepKind::Improvement),
    ];
    for (d, l, candidates) in asks {
        let draft = &drafts[d];
        let suspects: HashSet<Id> = draft.suspects.iter().map(|c| c.id).collect();
        let kind = found[draft.members[0]].cp.kind;
        let against = &against[usize::from(kind == StepKind::Improvement)];
        let other = |c: &Id| against.contains(c) && !suspects.contains(c);
        let (builds, lane) = &lanes[l];
        let windows = candidates.into_iter().map(|i| {
            let changes: Vec<Id> = (window_of(builds, &lane.points, i).iter())
                .flat_map(|b| blamelists.get(b).into_iter().flatten())
                .map(|c| c.id)
                .collect();
            (i, changes)
        });
        let Some(at) = corroboration_place(windows, &suspects, other) else {
            continue;
        };
        if taken.contains(&(l, at)) {
            continue;
        }
        let values = &values[l];
        let kind = found[draft.members[0]].cp.kind;
        let Some(cp) = corroborate(values, &own[l], at, kind, how.direction, &how.params) else {
            continue;
        };
        taken.insert((l, at));
        raw.push(corroborated_found(
            l, builds, lane, values, cp, &own[l], how,
        ));
        joining.push(d);
    }
    for (d, mut f) in joining.into_iter().zip(with_changes(store, raw)?) {
        f.confirmed = f.confirmed.max(found[drafts[d].members[0]].confirmed);
        found.push(f);
        drafts[d].members.push(found.len() - 1);
    }
    Ok((found, drafts))
}

/// The steps that two builders' first builds after one change confirm together (*pairs*):
/// where a build of one lane and a build of another, whose blamelist windows share a change, both
/// depart from their lanes' levels in the same sign (`changepoint::departure`), the step is
/// known once both have run, unless a window also holds a change that moves the series the
/// other way (ambiguous, [`moves_against`], as in [`corroborated`]). A departure back (beyond the midpoint of the levels) from a lane's
/// step, before its return or within `min_after` builds after it, is a return: two lanes'
/// departures back at once return each step there, where it had not returned before. Else, where a lane's own step lies within `min_after` builds of its place
/// and is not of the pair's kind, the lane found a step there itself and the pair makes none; on
/// each lane, a step already found within `min_after` builds of
/// the place (its own or corroborated, of that kind) is that step, confirmed then if that is
/// sooner; else the lane's step there is new: it joins the group of its partner's step, or of
/// a group of that kind whose suspects its window holds, else the two start a group whose
/// suspects are the changes both windows share. Whether two builds depart depends on the lanes'
/// values up to them (and on the lanes' own steps confirmed before them, as placed now); which
/// step a pair joins, and whether a departure is a return, on the steps found over the lanes'
/// history as judged now.
fn paired(
    store: &mut dyn Store,
    lanes: &[(&[BuildInfo], LaneSeries)],
    own: &[Vec<ChangePoint>],
    mut found: Vec<Found>,
    mut drafts: Vec<Draft>,
    how: &super::Judging,
) -> Result<(Vec<Found>, Vec<Draft>)> {
    if lanes.len() < 2 {
        return Ok((found, drafts));
    }
    let values: Vec<Vec<f64>> = (lanes.iter())
        .map(|(_, lane)| lane.points.iter().map(|p| p.value).collect())
        .collect();
    let (_, min_after, _) = sides(&how.params);
    // A departure back from a step of the lane's that has not returned, or at its return, is
    // that return (the step found), not a step.
    let returning = |l: usize, cp: &ChangePoint| {
        let last = (0..found.len())
            .filter(|&f| found[f].lane == l && found[f].cp.index < cp.index)
            .max_by_key(|&f| found[f].cp.index);
        last.filter(|&f| {
            let step = &found[f];
            let mid = (step.before + step.after) / 2.0;
            let x = values[l][cp.index];
            let back = if step.after > step.before {
                x < mid
            } else {
                x > mid
            };
            step.cp.kind != cp.kind
                && back
                && (step.fix.as_ref()).is_none_or(|(r, _)| r + min_after >= cp.index)
        })
    };
    // Each lane's builds that depart, with the changes of their windows and the step they return
    // from.
    type Departing<W> = Vec<(ChangePoint, W, Option<usize>)>;
    let mut departing: Vec<Departing<Vec<Id>>> = Vec::with_capacity(lanes.len());
    for (l, (builds, lane)) in lanes.iter().enumerate() {
        let steps = (1..values[l].len())
            .filter_map(|i| departure(&values[l], &own[l], i, how.direction, &how.params))
            .map(|cp| {
                let window = window_of(builds, &lane.points, cp.index);
                let back = returning(l, &cp);
                (cp, window, back)
            });
        departing.push(steps.collect());
    }
    if departing.iter().filter(|d| !d.is_empty()).count() < 2 {
        return Ok((found, drafts));
    }
    let mut wanted: Vec<Id> = (departing.iter().flatten())
        .flat_map(|(_, w, _)| w.iter().copied())
        .collect();
    wanted.sort_unstable();
    wanted.dedup();
    let blamelists = store.blamelists(&wanted)?;
    let departing: Vec<Departing<Vec<ChangeRef>>> = (departing.into_iter())
        .map(|d| {
            (d.into_iter())
                .map(|(cp, w, back)| (cp, window_changes(&blamelists, &w), back))
                .collect()
        })
        .collect();
    // A window that holds a change moving the series the other way is ambiguous, as in
    // `corroborated`.
    let against = [
        moves_against(&found, &drafts, StepKind::Regression),
        moves_against(&found, &drafts, StepKind::Improvement),
    ];
    let ambiguous = |changes: &[ChangeRef], kind: StepKind| {
        let against = &against[usize::from(kind == StepKind::Improvement)];
        changes.iter().any(|c| against.contains(&c.id))
    };
    let mut member_of: HashMap<usize, usize> = HashMap::new();
    for (d, draft) in drafts.iter().enumerate() {
        for &m in &draft.members {
            member_of.insert(m, d);
        }
    }
    // The steps made here, with the builds of their returns' windows, whose changes are looked
    // up at the end.
    let mut pending: Vec<(usize, Vec<Id>)> = Vec::new();
    for a in 0..lanes.len() {
        for b in a + 1..lanes.len() {
            for (cp_a, changes_a, back_a) in &departing[a] {
                for (cp_b, changes_b, back_b) in &departing[b] {
                    if cp_a.kind != cp_b.kind || back_a.is_some() != back_b.is_some() {
                        continue;
                    }
                    let shared: Vec<ChangeRef> = (changes_a.iter())
                        .filter(|c| changes_b.iter().any(|o| o.id == c.id))
                        .cloned()
                        .collect();
                    if shared.is_empty()
                        || ambiguous(changes_a, cp_a.kind)
                        || ambiguous(changes_b, cp_a.kind)
                    {
                        continue;
                    }
                    // Two lanes back at once: each step that has not returned returns there.
                    if let (Some(fa), Some(fb)) = (back_a, back_b) {
                        for (f, cp, changes) in [(*fa, cp_a, changes_a), (*fb, cp_b, changes_b)] {
                            let step = &mut found[f];
                            if step.fix.as_ref().is_none_or(|(r, _)| *r > cp.index) {
                                step.after =
                                    median(values[step.lane][step.cp.index..cp.index].to_vec());
                                step.fix = Some((cp.index, changes.clone()));
                            }
                        }
                        continue;
                    }
                    let (i, j) = (cp_a.index, cp_b.index);
                    let moment = (lanes[a].1.points[i].time).max(lanes[b].1.points[j].time);
                    let sides = [(a, cp_a, changes_a), (b, cp_b, changes_b)];
                    let near = sides.map(|(l, cp, _)| {
                        let at = cp.index;
                        (0..found.len())
                            .filter(|&f| {
                                found[f].lane == l
                                    && found[f].cp.kind == cp.kind
                                    && found[f].cp.index.abs_diff(at) <= min_after
                            })
                            .min_by_key(|&f| found[f].cp.index.abs_diff(at))
                    });
                    // A lane whose own step lies within `min_after` builds of the place found a
                    // step there itself: the pair makes none (as `corroborate` makes none).
                    let own_near = |n: usize| {
                        let (l, cp, _) = sides[n];
                        near[n].is_none()
                            && own[l]
                                .iter()
                                .any(|s| s.index.abs_diff(cp.index) <= min_after)
                    };
                    if own_near(0) || own_near(1) {
                        continue;
                    }
                    let mut steps = [None, None];
                    let mut fresh = Vec::new();
                    for (n, (l, cp, changes)) in sides.into_iter().enumerate() {
                        let at = cp.index;
                        if let Some(f) = near[n] {
                            // Never before the step's own first build.
                            let first = lanes[l].1.points[found[f].cp.index].time;
                            found[f].confirmed = found[f].confirmed.min(moment.max(first));
                            steps[n] = Some(f);
                            continue;
                        }
                        let (builds, lane) = &lanes[l];
                        let mut cp = cp.clone();
                        cp.confirmed_at = at;
                        let (mut f, _, fix) =
                            corroborated_found(l, builds, lane, &values[l], cp, &own[l], how);
                        f.changes = changes.clone();
                        f.confirmed = moment;
                        found.push(f);
                        let f = found.len() - 1;
                        pending.push((f, fix));
                        steps[n] = Some(f);
                        fresh.push((n, f));
                    }
                    // A step made here joins its partner's group where that has no step of its
                    // lane, else a group of its kind whose suspects its window holds, else a new
                    // one with the changes both windows share.
                    for (n, f) in fresh {
                        let partner = steps[1 - n].and_then(|p| member_of.get(&p).copied());
                        let lane = found[f].lane;
                        let free = |d: &Draft| !d.members.iter().any(|&m| found[m].lane == lane);
                        let holds = |d: &Draft| {
                            (d.suspects.iter())
                                .any(|c| found[f].changes.iter().any(|o| o.id == c.id))
                        };
                        let joins = partner.filter(|&d| free(&drafts[d]) && holds(&drafts[d]));
                        let joins = joins.or_else(|| {
                            (0..drafts.len()).find(|&d| {
                                free(&drafts[d])
                                    && found[drafts[d].members[0]].cp.kind == cp_a.kind
                                    && holds(&drafts[d])
                            })
                        });
                        let d = joins.unwrap_or_else(|| {
                            drafts.push(Draft {
                                members: Vec::new(),
                                suspects: shared.clone(),
                            });
                            drafts.len() - 1
                        });
                        drafts[d].members.push(f);
                        member_of.insert(f, d);
                    }
                }
            }
        }
    }
    // The changes of the returns of the steps made here.
    let fixes: Vec<Id> = pending
        .iter()
        .flat_map(|(_, w)| w.iter().copied())
        .collect();
    if !fixes.is_empty() {
        let mut fixes = fixes;
        fixes.sort_unstable();
        fixes.dedup();
        let blamelists = store.blamelists(&fixes)?;
        for (f, window) in pending {
            if let Some((_, changes)) = found[f].fix.as_mut() {
                *changes = window_changes(&blamelists, &window);
            }
        }
    }
    Ok((found, drafts))
}

/// The changes that move a series against a step of `kind`: the suspects of the groups of the
/// other kind, and the changes of the returns of the steps of this kind. A lane's window that
/// holds one may show that move rather than the step (*ambiguous*: a builder that paused has a
/// first build whose window holds every change of the pause); the suspects of other groups of
/// the same kind do not make it so (one step that lanes placed a change or two apart is two
/// groups of one kind).
fn moves_against(found: &[Found], drafts: &[Draft], kind: StepKind) -> HashSet<Id> {
    let mut out = HashSet::new();
    for draft in drafts {
        if found[draft.members[0]].cp.kind != kind {
            out.extend(draft.suspects.iter().map(|c| c.id));
            continue;
        }
        for &m in &draft.members {
            if let Some((_, changes)) = &found[m].fix {
                out.extend(changes.iter().map(|c| c.id));
            }
        }
    }
    out
}

/// A corroborated step (`cp`) on lane `l` as [`lane_found`] gives the lane's own: its levels and
/// where the series returned, measured from the level the step was confirmed at (the lane's own
/// next step of the other sign, where it comes first, is the return).
fn corroborated_found(
    l: usize,
    builds: &[BuildInfo],
    lane: &LaneSeries,
    values: &[f64],
    cp: ChangePoint,
    own: &[ChangePoint],
    how: &super::Judging,
) -> RawFound {
    let at = cp.index;
    let (before, ret) = corroborated_return(values, own, &cp, &how.params);
    let end = ret.unwrap_or(values.len()).max(at + 1);
    let after = median(values[at..end].to_vec());
    (
        Found {
            lane: l,
            confirmed: lane.points[cp.confirmed_at.min(values.len() - 1)].time,
            cp,
            changes: Vec::new(),
            before,
            after,
            fix: ret.map(|r| (r, Vec::new())),
        },
        window_of(builds, &lane.points, at),
        ret.map(|r| window_of(builds, &lane.points, r))
            .unwrap_or_default(),
    )
}

/// The steps found with their changes and their fixes' (one lookup for all).
fn with_changes(store: &mut dyn Store, found: Vec<RawFound>) -> Result<Vec<Found>> {
    let blamelists = blamelists_of(store, found.iter())?;
    Ok(attach_changes(found, &blamelists))
}

/// The blamelists of the builds of the steps found.
fn blamelists_of<'f>(
    store: &mut dyn Store,
    found: impl Iterator<Item = &'f RawFound>,
) -> Result<HashMap<Id, Vec<ChangeRef>>> {
    let mut all: Vec<Id> = found
        .flat_map(|(_, a, b)| a.iter().chain(b))
        .copied()
        .collect();
    all.sort_unstable();
    all.dedup();
    if all.is_empty() {
        return Ok(HashMap::new());
    }
    store.blamelists(&all)
}

/// The steps found with the changes of their builds and of their fixes'.
fn attach_changes(found: Vec<RawFound>, blamelists: &HashMap<Id, Vec<ChangeRef>>) -> Vec<Found> {
    found
        .into_iter()
        .map(|(mut f, start, fix)| {
            f.changes = window_changes(blamelists, &start);
            if let Some((_, changes)) = f.fix.as_mut() {
                *changes = window_changes(blamelists, &fix);
            }
            f
        })
        .collect()
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
        revision: p.revision.as_deref().map(str::to_owned),
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

/// Stores a series' recomputed Problems in place of those they replace, keeping ids (by first
/// build, else by overlapping builds on a builder) and acceptances; returns the ids of those it
/// created that are open regressions.
fn keep(store: &mut dyn Store, series: Id, recomputed: Recomputed) -> Result<Vec<Id>> {
    let Recomputed {
        mut records,
        replaces: existing,
    } = recomputed;
    debug_assert!(existing.iter().all(|e| e.test == series));
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
            match existing.iter().find(|e| e.id == record.id) {
                Some(stored) if same(stored, record) => {}
                // Only what changed (an open Problem grows by a build at each ingest).
                Some(stored) => {
                    store.update_problem(record, stored)?;
                }
                None => {
                    store.save_problem(record)?;
                }
            }
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
