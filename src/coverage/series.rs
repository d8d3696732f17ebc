//! The per-file coverage series (`coverage.lines{file=PATH}`) as stored: a build holds a value
//! only where the file's line coverage changed from the build its coverage is stored against
//! (its *base*), and a keyframe holds every file's; the rest is carried when read, so that a
//! project of thousands of files whose coverage barely moves does not write thousands of values
//! a build (docs/coverage.md, *What is stored*). Readers of metric values see every value, as if
//! each had been written.

use std::collections::{HashMap, HashSet};

use crate::error::Result;
use crate::store::{Id, MetricPoint, MetricValue, Store};

/// The lane's stored values of `wanted` (`None`: every series) from build `since` on, with the
/// carried values of its per-file coverage series, by series then build number.
pub(crate) fn lane_values(
    store: &mut dyn Store,
    lane: Id,
    wanted: Option<&[Id]>,
    since: i64,
) -> Result<Vec<MetricPoint>> {
    let mut points = store.lane_metric_values(lane, wanted, since)?;
    let carried = carried(store, lane, wanted, since)?;
    if !carried.is_empty() {
        points.extend(carried);
        points.sort_by_key(|p| (p.series, p.number));
    }
    Ok(points)
}

/// What judging reads ([`Store::lane_metric_levels`]), with the carried values:
/// `(series, build, value)` of `series` (`None`: every series), in no set order.
pub(crate) fn lane_levels(
    store: &mut dyn Store,
    lane: Id,
    series: Option<&[Id]>,
    since: i64,
) -> Result<Vec<(Id, Id, f64)>> {
    let mut levels = store.lane_metric_levels(lane, series, since)?;
    let carried = carried(store, lane, series, since)?;
    levels.extend((carried.into_iter()).map(|p| (p.series, p.build, p.value.value)));
    Ok(levels)
}

/// The values of the lane's per-file coverage series among `wanted` that are carried, not
/// stored: at each build with coverage from `since` on that has none of its own, the value of
/// its base — unless the build is a keyframe (which holds every file's) or its spans removed the
/// file (no coverage of it there).
fn carried(
    store: &mut dyn Store,
    lane: Id,
    wanted: Option<&[Id]>,
    since: i64,
) -> Result<Vec<MetricPoint>> {
    let coverage = store.lane_coverage(lane)?;
    if coverage.is_empty() {
        return Ok(Vec::new());
    }
    let prefix = format!("{}{{", super::record::file_series("").name);
    let series = store.series(wanted)?;
    let files: Vec<(Id, String)> = (series.into_iter())
        .filter(|s| s.name.starts_with(&prefix))
        .map(|s| (s.id, s.name))
        .collect();
    if files.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Id> = files.iter().map(|(id, _)| *id).collect();
    let stored: HashMap<(Id, Id), MetricValue> =
        (store.lane_metric_values(lane, Some(&ids), i64::MIN)?)
            .into_iter()
            .map(|p| ((p.series, p.build), p.value))
            .collect();
    let removed: HashSet<(Id, String)> = (store.coverage_removals(lane)?.into_iter())
        .map(|(build, path)| (build, super::record::file_series(&path).to_string()))
        .collect();
    let builds: HashMap<Id, crate::store::LaneBuild> = (store.lane_builds(lane)?.into_iter())
        .map(|b| (b.id, b))
        .collect();
    let mut out = Vec::new();
    for (series, name) in &files {
        // Each build's value of the series, in build order (a base comes before its builds).
        let mut value: HashMap<Id, Option<MetricValue>> = HashMap::with_capacity(coverage.len());
        for c in &coverage {
            let own = stored.get(&(*series, c.build));
            let v = match (own, c.base) {
                (Some(v), _) => Some(v.clone()),
                (None, None) => None,
                (None, Some(_)) if removed.contains(&(c.build, name.clone())) => None,
                (None, Some(base)) => value.get(&base).cloned().flatten(),
            };
            if let (None, Some(v), Some(b)) = (own, &v, builds.get(&c.build)) {
                if c.number >= since {
                    out.push(MetricPoint {
                        series: *series,
                        build: c.build,
                        number: c.number,
                        time: b.time,
                        revision: b.revision.clone(),
                        value: MetricValue {
                            series: *series,
                            ..v.clone()
                        },
                    });
                }
            }
            value.insert(c.build, v);
        }
    }
    Ok(out)
}
