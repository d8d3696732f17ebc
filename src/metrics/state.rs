//! A lane's metric state: the values of its last builds, every series', kept between ingests
//! (`metric_state`, `docs/schema.md`), so that judging the next build on a bounded window
//! (`judge`) reads them at once, and only the builds since from `metric_values`, where it read
//! every value of the window row by row.
//!
//! It is a cache of `metric_values` (and the values coverage carries), never the only copy: it
//! holds the lane's builds it was made from, by id, and is used only where those are still the
//! lane's builds in that place (a build deleted, moved, replaced or ingested late among them
//! makes it unusable); the store drops it where a build it holds gets other values. What judging
//! reads from it is what it would read from the table, so the Problems are the same.

use std::collections::HashMap;

use crate::analyze::BuildInfo;
use crate::error::Result;
use crate::store::{Id, Store};

/// The format of the packed state (its first byte).
const VERSION: u8 = 1;

/// The values of every series on a run of a lane's consecutive builds.
#[derive(Debug, Default, PartialEq)]
pub(super) struct LaneState {
    /// The builds, in the lane's order.
    pub(super) builds: Vec<Id>,
    /// Each series' values: (index into `builds`, value), in build order.
    pub(super) series: Vec<(Id, Vec<(u32, f64)>)>,
}

impl LaneState {
    /// From the rows (series, build, value) of the lane's `builds` (in order), in any order.
    pub(super) fn from_rows(builds: Vec<Id>, rows: &[(Id, Id, f64)]) -> LaneState {
        let at: HashMap<Id, u32> = (builds.iter().enumerate())
            .map(|(i, b)| (*b, i as u32))
            .collect();
        let mut series: Vec<(Id, Vec<(u32, f64)>)> = Vec::new();
        let mut of: HashMap<Id, usize> = HashMap::new();
        for &(s, build, value) in rows {
            let Some(&i) = at.get(&build) else { continue };
            let slot = *of.entry(s).or_insert_with(|| {
                series.push((s, Vec::new()));
                series.len() - 1
            });
            series[slot].1.push((i, value));
        }
        for (_, values) in &mut series {
            values.sort_by_key(|v| v.0);
        }
        series.sort_by_key(|s| s.0);
        LaneState { builds, series }
    }

    /// The state from the lane's build `first` (an index into `builds`) on.
    pub(super) fn since_build(mut self, first: usize) -> LaneState {
        let first = first.min(self.builds.len());
        self.builds.drain(..first);
        let cut = first as u32;
        for (_, values) in &mut self.series {
            values.retain(|v| v.0 >= cut);
            for v in values.iter_mut() {
                v.0 -= cut;
            }
        }
        self.series.retain(|(_, v)| !v.is_empty());
        self
    }

    /// This state followed by the rows (series, build, value) of the lane's builds `more`.
    pub(super) fn extend(&mut self, more: &[Id], rows: &[(Id, Id, f64)]) {
        let next = LaneState::from_rows(more.to_vec(), rows);
        let shift = self.builds.len() as u32;
        self.builds.extend_from_slice(more);
        let mut of: HashMap<Id, usize> = (self.series.iter().enumerate())
            .map(|(i, s)| (s.0, i))
            .collect();
        for (s, values) in next.series {
            let slot = *of.entry(s).or_insert_with(|| {
                self.series.push((s, Vec::new()));
                self.series.len() - 1
            });
            let shifted = values.into_iter().map(|(i, v)| (i + shift, v));
            self.series[slot].1.extend(shifted);
        }
    }

    pub(super) fn pack(&self) -> Vec<u8> {
        let m = self.builds.len();
        let values: usize = self.series.iter().map(|s| s.1.len()).sum();
        let mut out = Vec::with_capacity(9 + 8 * m + 13 * self.series.len() + 8 * values);
        out.push(VERSION);
        out.extend((m as u32).to_le_bytes());
        for b in &self.builds {
            out.extend(b.to_le_bytes());
        }
        out.extend((self.series.len() as u32).to_le_bytes());
        for (s, values) in &self.series {
            out.extend(s.to_le_bytes());
            out.extend((values.len() as u32).to_le_bytes());
            // A value at every build (the usual case): the values alone.
            let dense = values.len() == m;
            out.push(u8::from(dense));
            for (i, v) in values {
                if !dense {
                    out.extend(i.to_le_bytes());
                }
                out.extend(v.to_bits().to_le_bytes());
            }
        }
        out
    }

    /// The state packed by [`LaneState::pack`]; `None` for anything else.
    pub(super) fn unpack(data: &[u8]) -> Option<LaneState> {
        let mut r = Reader(data);
        if r.take(1)?[0] != VERSION {
            return None;
        }
        let m = r.u32()? as usize;
        let builds = (0..m).map(|_| r.i64()).collect::<Option<Vec<Id>>>()?;
        let n = r.u32()? as usize;
        let mut series = Vec::with_capacity(n.min(data.len()));
        for _ in 0..n {
            let s = r.i64()?;
            let count = r.u32()? as usize;
            let dense = r.take(1)?[0] == 1;
            if count > m || (dense && count != m) {
                return None;
            }
            let mut values = Vec::with_capacity(count);
            for k in 0..count {
                let i = if dense { k as u32 } else { r.u32()? };
                if i as usize >= m || values.last().is_some_and(|l: &(u32, f64)| l.0 >= i) {
                    return None;
                }
                values.push((i, f64::from_bits(r.i64()? as u64)));
            }
            series.push((s, values));
        }
        r.0.is_empty().then_some(LaneState { builds, series })
    }
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let (head, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        Some(head)
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    fn i64(&mut self) -> Option<i64> {
        Some(i64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
}

/// The values of every series on the lane's `builds` from index `from` on, from the state kept
/// where it still holds the lane's builds in that place (the builds after it read from the
/// table), else `None`.
pub(super) fn read(
    store: &mut dyn Store,
    lane: Id,
    builds: &[BuildInfo],
    from: usize,
) -> Result<Option<LaneState>> {
    let Some(state) = store
        .metric_state(lane)?
        .as_deref()
        .and_then(LaneState::unpack)
    else {
        return Ok(None);
    };
    // Where its first build is among the lane's, and the builds after it there are its own.
    let Some(first) = state.builds.first() else {
        return Ok(None);
    };
    let Some(at) = builds.iter().position(|b| b.id == *first) else {
        return Ok(None);
    };
    let end = at + state.builds.len();
    let same = builds
        .get(at..end)
        .is_some_and(|held| held.iter().map(|b| b.id).eq(state.builds.iter().copied()));
    if !same || at > from {
        return Ok(None);
    }
    let mut state = state.since_build(from - at);
    if let Some(next) = builds.get(end) {
        let more: Vec<Id> = builds[end..].iter().map(|b| b.id).collect();
        let rows = crate::coverage::series::lane_levels(store, lane, None, next.number)?;
        state.extend(&more, &rows);
    }
    Ok(Some(state))
}

/// Keeps `state` as the lane's, made up to its newest build.
pub(super) fn write(
    store: &mut dyn Store,
    lane: Id,
    builds: &[BuildInfo],
    state: &LaneState,
) -> Result<()> {
    let last = builds.last().map_or(i64::MIN, |b| b.number);
    store.put_metric_state(lane, last, Some(&state.pack()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_packs_cuts_and_grows_as_its_rows_say() {
        let rows = [
            (7, 10, 1.5),
            (3, 11, 2.0),
            (7, 12, f64::NAN),
            (3, 10, -0.0),
            (7, 11, 4.0),
            (9, 99, 1.0),
        ];
        let state = LaneState::from_rows(vec![10, 11, 12], &rows);
        assert_eq!(state.series[0], (3, vec![(0, -0.0), (1, 2.0)]));
        assert_eq!(state.series[1].0, 7);
        assert_eq!(state.series.len(), 2, "a build not held is left out");
        let packed = state.pack();
        let back = LaneState::unpack(&packed).unwrap();
        assert_eq!(back.pack(), packed);
        assert!(back.series[1].1[2].1.is_nan());
        for cut in 0..packed.len() {
            assert!(LaneState::unpack(&packed[..cut]).is_none());
        }
        let mut later = back.since_build(1);
        assert_eq!(later.builds, vec![11, 12]);
        assert_eq!(later.series[0], (3, vec![(0, 2.0)]));
        later.extend(&[13], &[(3, 13, 5.0), (8, 13, 6.0)]);
        assert_eq!(later.series[0], (3, vec![(0, 2.0), (2, 5.0)]));
        assert_eq!(later.series[2], (8, vec![(2, 6.0)]));
        let packed = later.pack();
        assert_eq!(LaneState::unpack(&packed).unwrap().pack(), packed);
    }
}
