//! A lane's metric state: the values of its last builds, every series', kept between ingests
//! (`metric_state`, `docs/schema.md`), so that judging the next build on a bounded window
//! (`judge`) reads them at once, and only the builds since from `metric_values`, where it read
//! every value of the window row by row.
//!
//! It is kept in parts, each the values of a run of the lane's consecutive builds (usually one
//! build: the one an ingest added), so that an ingest writes only its own build's part and drops
//! the parts that fell out of reach, not the whole state. It reaches back as far as the windows
//! of the lane's last ingest did: the detector's reach, and further over the open Problems.
//!
//! It is a cache of `metric_values` (and the values coverage carries), never the only copy: it
//! holds the lane's builds it was made from, by id, and is used only where those are still the
//! lane's builds in that place (a build deleted, moved, replaced or ingested late among them
//! makes it unusable); the store drops the parts that may hold a build that gets other values,
//! and those after it. What judging reads from it is what it would read from the table, so the
//! Problems are the same.

use std::collections::HashMap;

use crate::analyze::BuildInfo;
use crate::error::Result;
use crate::store::{Id, Store};

/// The format of a packed part (its first byte; 1 was one state in slices, before parts).
const VERSION: u8 = 2;

/// The most one part holds: well within a server's largest packet.
const PART_BYTES: usize = 1 << 20;

/// How many parts a state may be kept in before they are packed together again.
const MERGE_AFTER: usize = 32;

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

    /// This state followed by the rows (series, build, value) of the lane's builds `more`.
    pub(super) fn extend(&mut self, more: &[Id], rows: &[(Id, Id, f64)]) {
        let next = LaneState::from_rows(more.to_vec(), rows);
        let shift = self.builds.len() as u32;
        self.builds.extend_from_slice(more);
        let mut of: HashMap<Id, usize> = (self.series.iter().enumerate())
            .map(|(i, s)| (s.0, i))
            .collect();
        let held = self.series.len();
        for (s, values) in next.series {
            let slot = *of.entry(s).or_insert_with(|| {
                self.series.push((s, Vec::new()));
                self.series.len() - 1
            });
            let shifted = values.into_iter().map(|(i, v)| (i + shift, v));
            self.series[slot].1.extend(shifted);
        }
        if self.series.len() > held {
            self.series.sort_by_key(|s| s.0);
        }
    }

    /// The values of the builds `range` (indexes into `builds`) of the series `of` (indexes into
    /// `series`), packed as one part: a format byte, the count (u32) and ids (i64) of the builds,
    /// the count (u32) of series, then for each its id (i64), its count of values (u32), a byte 1
    /// when it has a value at every build (then the values alone follow) or 0 (then each value
    /// follows the index of its build, u32); each value an f64. All little-endian.
    fn pack(&self, range: std::ops::Range<usize>, of: std::ops::Range<usize>) -> Vec<u8> {
        let m = range.len();
        let (lo, hi) = (range.start as u32, range.end as u32);
        let mut out = Vec::with_capacity(9 + 8 * m + 21 * m * of.len());
        out.push(VERSION);
        out.extend((m as u32).to_le_bytes());
        for b in &self.builds[range] {
            out.extend(b.to_le_bytes());
        }
        let count_at = out.len();
        out.extend(0u32.to_le_bytes());
        let mut count = 0u32;
        for (s, values) in &self.series[of] {
            let from = values.partition_point(|v| v.0 < lo);
            let values = &values[from..from + values[from..].partition_point(|v| v.0 < hi)];
            if values.is_empty() {
                continue;
            }
            count += 1;
            out.extend(s.to_le_bytes());
            out.extend((values.len() as u32).to_le_bytes());
            // A value at every build (the usual case): the values alone.
            let dense = values.len() == m;
            out.push(u8::from(dense));
            for (i, v) in values {
                if !dense {
                    out.extend((i - lo).to_le_bytes());
                }
                out.extend(v.to_bits().to_le_bytes());
            }
        }
        out[count_at..count_at + 4].copy_from_slice(&count.to_le_bytes());
        out
    }

    /// The builds from index `from` on packed in parts of at most [`PART_BYTES`] (a build whose
    /// values need more is split by series into parts of the same build).
    fn parts(&self, from: usize) -> Vec<(std::ops::Range<usize>, Vec<u8>)> {
        let per_build = 8 + 25 * self.series.len().max(1);
        let builds = (PART_BYTES / per_build).max(1);
        let series = (PART_BYTES / 25).max(1);
        let mut out = Vec::new();
        let mut at = from;
        while at < self.builds.len() {
            let end = (at + builds).min(self.builds.len());
            let mut s = 0;
            loop {
                let to = (s + series).min(self.series.len());
                out.push((at..end, self.pack(at..end, s..to)));
                s = to;
                if s >= self.series.len() {
                    break;
                }
            }
            at = end;
        }
        out
    }

    /// Adds a part packed by [`LaneState::pack`]: builds after this state's, or more series of
    /// its last builds (a part split by series). `None` where the part is not such a part. A
    /// series new to the state is given room for `room` values (the builds of all the parts to
    /// come), so that it is not moved as the next parts add to it.
    fn unpack(&mut self, data: &[u8], room: usize) -> Option<()> {
        let mut r = Reader(data);
        if r.take(1)?[0] != VERSION {
            return None;
        }
        let m = r.u32()? as usize;
        let builds = (0..m).map(|_| r.i64()).collect::<Option<Vec<Id>>>()?;
        let held = self.builds.len();
        // The same builds as its last ones: a part split by series.
        let split = m > 0 && held >= m && self.builds[held - m..] == builds[..];
        let more = !split;
        let shift = if more { held } else { held - m } as u32;
        if more {
            self.builds.extend_from_slice(&builds);
        }
        let n = r.u32()? as usize;
        // The part's series and this state's are both in id order: one pass over both.
        let mut at = 0;
        let mut fresh: Vec<(Id, Vec<(u32, f64)>)> = Vec::new();
        let mut last: Option<Id> = None;
        for _ in 0..n {
            let s = r.i64()?;
            if last.is_some_and(|l| l >= s) {
                return None;
            }
            last = Some(s);
            let count = r.u32()? as usize;
            let dense = r.take(1)?[0] == 1;
            if count > m || (dense && count != m) {
                return None;
            }
            while at < self.series.len() && self.series[at].0 < s {
                at += 1;
            }
            let values = if self.series.get(at).is_some_and(|x| x.0 == s) {
                &mut self.series[at].1
            } else {
                fresh.push((s, Vec::with_capacity(count.max(room))));
                &mut fresh.last_mut()?.1
            };
            if dense {
                // The values alone, at the part's builds in order: only the first can come
                // before what the series holds.
                let bytes = r.take(8 * count)?;
                if count > 0 && values.last().is_some_and(|l| l.0 >= shift) {
                    return None;
                }
                values.reserve(count);
                values.extend(bytes.chunks_exact(8).zip(shift..).map(|(b, i)| {
                    let mut bits = [0; 8];
                    bits.copy_from_slice(b);
                    (i, f64::from_bits(u64::from_le_bytes(bits)))
                }));
                continue;
            }
            for _ in 0..count {
                let i = r.u32()?;
                if i as usize >= m || values.last().is_some_and(|l| l.0 >= i + shift) {
                    return None;
                }
                values.push((i + shift, f64::from_bits(r.i64()? as u64)));
            }
        }
        if !fresh.is_empty() {
            self.series.extend(fresh);
            self.series.sort_by_key(|s| s.0);
        }
        r.0.is_empty().then_some(())
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

/// A lane's state as judging uses it: the values, where its first build lies among the lane's
/// builds, and the parts it was read from.
pub(super) struct Held {
    pub(super) state: LaneState,
    /// The index of the state's first build among the lane's builds.
    pub(super) first: usize,
    /// The stored parts it was read from: their numbers, and the index (among the lane's
    /// builds) after each one's last build. Empty for a state made anew.
    parts: Vec<(i64, usize)>,
}

impl Held {
    /// A state made anew from the rows (series, build, value) of the lane's builds from index
    /// `first` on.
    pub(super) fn made(builds: &[BuildInfo], first: usize, rows: &[(Id, Id, f64)]) -> Held {
        let ids = builds[first.min(builds.len())..]
            .iter()
            .map(|b| b.id)
            .collect();
        Held {
            state: LaneState::from_rows(ids, rows),
            first,
            parts: Vec::new(),
        }
    }
}

/// The values of every series on the lane's `builds` from index `from` on (or from further back,
/// where the state kept reaches further), from the state kept where it still holds the lane's
/// builds in their place (the builds after it read from the table), else `None`.
pub(super) fn read(
    store: &mut dyn Store,
    lane: Id,
    builds: &[BuildInfo],
    from: usize,
) -> Result<Option<Held>> {
    let parts = store.metric_state(lane)?;
    let mut state = LaneState::default();
    let mut ends = Vec::with_capacity(parts.len());
    // The builds of all the parts (a part's count follows its format byte), and a few more read
    // from the table after them: each series' room.
    let room = (parts.iter())
        .filter_map(|(_, data)| Some(u32::from_le_bytes(data.get(1..5)?.try_into().ok()?)))
        .map(|m| m as usize)
        .sum::<usize>()
        .min(builds.len())
        + 16;
    for (part, data) in &parts {
        if state.unpack(data, room).is_none() {
            return Ok(None);
        }
        ends.push((*part, state.builds.len()));
    }
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
    if let Some(next) = builds.get(end) {
        let more: Vec<Id> = builds[end..].iter().map(|b| b.id).collect();
        let rows = crate::coverage::series::lane_levels(store, lane, None, next.number)?;
        state.extend(&more, &rows);
    }
    Ok(Some(Held {
        state,
        first: at,
        parts: ends.into_iter().map(|(p, e)| (p, at + e)).collect(),
    }))
}

/// Keeps `held` as the lane's state from its build `from` (an index among `builds`) on: the
/// parts it was read from that reach `from` stay, the others go, and the builds after them are
/// written as new parts (a state made anew, all of it).
pub(super) fn write(
    store: &mut dyn Store,
    lane: Id,
    builds: &[BuildInfo],
    held: &Held,
    from: usize,
) -> Result<()> {
    let from = from.max(held.first);
    // The first part kept: the first that holds a build from `from` on; where many are kept,
    // they are packed together again (a part of one build repeats every series' id).
    let kept =
        (held.parts.iter().position(|p| p.1 > from)).filter(|k| held.parts.len() - k < MERGE_AFTER);
    let (below, next, written) = match kept {
        Some(k) => {
            let last = held.parts.last().map_or(0, |p| p.0);
            (
                held.parts[k].0,
                last + 1,
                held.parts.last().map_or(from, |p| p.1),
            )
        }
        None => (i64::MAX, 0, from),
    };
    if kept == Some(0) && written >= builds.len() {
        return Ok(());
    }
    let parts: Vec<(i64, i64, Vec<u8>)> = (held.state.parts(written - held.first).into_iter())
        .zip(next..)
        .map(|((range, data), part)| {
            let newest = builds
                .get(held.first + range.end - 1)
                .map_or(i64::MIN, |b| b.number);
            (part, newest, data)
        })
        .collect();
    store.put_metric_state(lane, below, &parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_packs_in_parts_and_grows_as_its_rows_say() {
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
        // Whole, by builds, and split by series: each way read back the same.
        let whole = state.pack(0..3, 0..2);
        for parts in [
            vec![whole.clone()],
            vec![state.pack(0..1, 0..2), state.pack(1..3, 0..2)],
            vec![
                state.pack(0..2, 0..1),
                state.pack(0..2, 1..2),
                state.pack(2..3, 0..2),
            ],
        ] {
            let mut back = LaneState::default();
            for part in &parts {
                back.unpack(part, 0).unwrap();
            }
            assert_eq!(back.pack(0..3, 0..2), whole);
            assert!(back.series[1].1[2].1.is_nan());
        }
        for cut in 0..whole.len() {
            assert!(LaneState::default().unpack(&whole[..cut], 0).is_none());
        }
        // The same part twice is not a split part: its values would repeat.
        let mut twice = LaneState::default();
        twice.unpack(&whole, 0).unwrap();
        assert!(twice.unpack(&whole, 3).is_none());
        let mut later = LaneState::default();
        later.unpack(&state.pack(1..3, 0..2), 8).unwrap();
        assert_eq!(later.builds, vec![11, 12]);
        assert_eq!(later.series[0], (3, vec![(0, 2.0)]));
        later.extend(&[13], &[(3, 13, 5.0), (8, 13, 6.0)]);
        assert_eq!(later.series[0], (3, vec![(0, 2.0), (2, 5.0)]));
        assert_eq!(later.series[2], (8, vec![(2, 6.0)]));
        let parts = later.parts(1);
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].0, 1..3);
        let mut back = LaneState::default();
        back.unpack(&later.pack(0..1, 0..3), 0).unwrap();
        back.unpack(&parts[0].1, 0).unwrap();
        assert_eq!(back.pack(0..3, 0..3), later.pack(0..3, 0..3));
    }
}
