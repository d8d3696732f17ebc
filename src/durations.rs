//! Compact per-build durations: one blob per build (`builds.durations`, format in
//! `docs/schema.md`). Since schema 7 a blob starts with a 0 byte, then the build's unit (the
//! coarsest power of ten of a microsecond in which every duration of the build is exact, so
//! nothing is rounded beyond the microsecond), then the tests sorted by id in groups of
//! consecutive ids: the gap before the group, its length, and each test's duration in units plus
//! one (0: the report gave none), all unsigned LEB128 varints. About 1.3 bytes a result where
//! reports give milliseconds. Blobs of schema 5 and before (no leading 0 byte: two varints per
//! test, the id's difference from the previous one and microseconds plus one) are still read;
//! migration 7 rewrites them.

use crate::store::Id;

/// The first byte of a blob in the current format. The older format never starts with it: its
/// first varint is a test id (≥ 1), whose first byte is never 0.
const CURRENT: u8 = 0;

/// The largest unit exponent: whole seconds (10^6 µs).
const MAX_EXPONENT: u32 = 6;

fn micros(duration: Option<f64>) -> Option<u64> {
    duration
        .filter(|d| d.is_finite() && *d >= 0.0)
        .map(|d| (d * 1e6).round().min(u64::MAX as f64 / 4.0) as u64)
}

/// A build's durations, from `(test, duration)` pairs sorted by test id, each id once.
pub(crate) fn encode_sorted<I>(items: I) -> Vec<u8>
where
    I: Iterator<Item = (Id, Option<f64>)> + Clone,
{
    // The coarsest unit in which every duration is exact.
    let mut exponent = MAX_EXPONENT;
    for us in items.clone().filter_map(|(_, d)| micros(d)) {
        while exponent > 0 && us % 10u64.pow(exponent) != 0 {
            exponent -= 1;
        }
        if exponent == 0 {
            break;
        }
    }
    let unit = 10u64.pow(exponent);
    // The groups' lengths first, so that the values are written straight into the blob (a
    // million-test build's blob is not built twice).
    let mut groups: Vec<(i64, u64)> = Vec::new();
    let mut values = 0usize;
    for (id, _) in items.clone() {
        values += 1;
        match groups.last_mut() {
            Some((start, count)) if id == start.wrapping_add(*count as i64) => *count += 1,
            _ => groups.push((id, 1)),
        }
    }
    let mut out = Vec::with_capacity(2 + values + values / 2 + groups.len() * 4);
    out.extend([CURRENT, exponent as u8]);
    let mut items = items;
    let mut end = 0i64;
    for (start, count) in groups {
        push(&mut out, start.wrapping_sub(end) as u64);
        push(&mut out, count);
        for (_, duration) in items.by_ref().take(count as usize) {
            push(&mut out, micros(duration).map_or(0, |us| us / unit + 1));
        }
        end = start.wrapping_add(count as i64);
    }
    out
}

/// A build's durations, from `(test, duration)` pairs in any order, each id once.
pub(crate) fn encode(durations: &mut [(Id, Option<f64>)]) -> Vec<u8> {
    durations.sort_unstable_by_key(|(id, _)| *id);
    encode_sorted(durations.iter().copied())
}

/// Calls `each` with every test of a blob and its duration, in id order, until it returns
/// false. Stops quietly at a damaged tail.
fn walk(blob: &[u8], mut each: impl FnMut(Id, Option<f64>) -> bool) {
    let mut at = 0;
    if blob.first() != Some(&CURRENT) {
        // Schema 5 and before.
        let mut id = 0i64;
        while at < blob.len() {
            let (Some(delta), Some(us)) = (pull(blob, &mut at), pull(blob, &mut at)) else {
                return;
            };
            id = id.wrapping_add(delta as i64);
            if !each(id, (us > 0).then(|| (us - 1) as f64 / 1e6)) {
                return;
            }
        }
        return;
    }
    let Some(&exponent) = blob.get(1) else {
        return;
    };
    if u32::from(exponent) > MAX_EXPONENT {
        return;
    }
    let unit = 10u64.pow(u32::from(exponent));
    at = 2;
    let mut end = 0i64;
    while at < blob.len() {
        let (Some(gap), Some(count)) = (pull(blob, &mut at), pull(blob, &mut at)) else {
            return;
        };
        let start = end.wrapping_add(gap as i64);
        for i in 0..count {
            let Some(value) = pull(blob, &mut at) else {
                return;
            };
            let duration = (value > 0).then(|| ((value - 1).saturating_mul(unit)) as f64 / 1e6);
            if !each(start.wrapping_add(i as i64), duration) {
                return;
            }
        }
        end = start.wrapping_add(count as i64);
    }
}

/// The durations of a build, by test id, in id order. Stops quietly at a damaged tail.
pub(crate) fn decode(blob: &[u8]) -> Vec<(Id, Option<f64>)> {
    let mut out = Vec::new();
    walk(blob, |id, duration| {
        out.push((id, duration));
        true
    });
    out
}

/// The duration of one test in a build's blob: `Some(None)` when it ran without a duration.
pub(crate) fn find(blob: &[u8], test: Id) -> Option<Option<f64>> {
    let mut found = None;
    walk(blob, |id, duration| {
        if id == test {
            found = Some(duration);
        }
        id < test
    });
    found
}

/// A blob of schema 5 or before in the current format; `None` when it is current already.
pub(crate) fn upgrade(blob: &[u8]) -> Option<Vec<u8>> {
    if blob.first() == Some(&CURRENT) || blob.is_empty() {
        return None;
    }
    Some(encode(&mut decode(blob)))
}

fn push(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn pull(blob: &[u8], at: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    let mut shift = 0;
    loop {
        let byte = *blob.get(*at)?;
        *at += 1;
        value |= u64::from(byte & 0x7f).checked_shl(shift)?;
        if byte & 0x80 == 0 {
            return Some(value);
        }
        shift += 7;
        if shift > 63 {
            return None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The schema-5 encoding, as it was written, for the upgrade's tests.
    fn encode_v5(durations: &[(Id, Option<f64>)]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut previous = 0i64;
        for (id, duration) in durations {
            push(&mut out, id.wrapping_sub(previous) as u64);
            previous = *id;
            push(&mut out, micros(*duration).map_or(0, |us| us + 1));
        }
        out
    }

    #[test]
    fn round_trips_and_finds() {
        let mut d = vec![
            (7, Some(0.5)),
            (3, None),
            (1000, Some(12.345678)),
            (4, Some(0.0)),
        ];
        let blob = encode(&mut d);
        assert_eq!(
            decode(&blob),
            vec![
                (3, None),
                (4, Some(0.0)),
                (7, Some(0.5)),
                (1000, Some(12.345678))
            ]
        );
        assert_eq!(find(&blob, 7), Some(Some(0.5)));
        assert_eq!(find(&blob, 3), Some(None));
        assert_eq!(find(&blob, 5), None);
        assert_eq!(find(&blob, 2000), None);
    }

    #[test]
    fn the_example_of_docs_schema_md() {
        let blob = encode(&mut [(6, Some(0.123)), (5, None)]);
        assert_eq!(blob, [0x00, 0x03, 0x05, 0x02, 0x00, 0x7C]);
        // The coarsest exact unit: 0.5 s is 5 tenths of a second (exponent 5).
        assert_eq!(
            encode(&mut [(1, Some(0.5))]),
            [0x00, 0x05, 0x01, 0x01, 0x06]
        );
    }

    #[test]
    fn milliseconds_and_consecutive_ids_take_about_a_byte_a_test() {
        // 1,000 consecutive tests with durations in whole milliseconds under 0.127 s.
        let mut d: Vec<(Id, Option<f64>)> = (1..=1000)
            .map(|i| (i, Some(f64::from((i % 120) as u32) / 1000.0)))
            .collect();
        let blob = encode(&mut d.clone());
        assert!(blob.len() <= 1000 + 8, "{}", blob.len());
        assert_eq!(blob[1], 3, "unit: milliseconds");
        for (id, duration) in d.drain(..) {
            assert_eq!(find(&blob, id), Some(duration));
        }
        // One duration in microseconds makes the whole build microseconds, nothing rounded.
        let mut e = vec![(1, Some(0.001)), (2, Some(0.000_251)), (5, Some(3.0))];
        let blob = encode(&mut e);
        assert_eq!(blob[1], 0);
        assert_eq!(
            decode(&blob),
            vec![(1, Some(0.001)), (2, Some(0.000_251)), (5, Some(3.0))]
        );
        // Whole seconds, and none at all.
        let blob = encode(&mut [(9, Some(2.0)), (10, None)]);
        assert_eq!(blob[1], 6);
        assert_eq!(decode(&blob), vec![(9, Some(2.0)), (10, None)]);
        assert_eq!(decode(&encode(&mut [])), vec![]);
    }

    #[test]
    fn schema_5_blobs_read_and_upgrade_to_the_same_durations() {
        let old = vec![
            (1, Some(0.5)),
            (2, None),
            (40, Some(0.000_001)),
            (41, Some(1.25)),
        ];
        let v5 = encode_v5(&old);
        assert_eq!(decode(&v5), old);
        assert_eq!(find(&v5, 40), Some(Some(0.000_001)));
        let new = upgrade(&v5).expect("an old blob is rewritten");
        assert_eq!(new[0], CURRENT);
        assert_eq!(decode(&new), old);
        assert_eq!(upgrade(&new), None, "a current blob is left alone");
        assert_eq!(upgrade(&[]), None);
    }

    #[test]
    fn damaged_blobs_do_not_panic() {
        assert!(decode(&[0xff; 20]).is_empty());
        assert_eq!(find(&[0x80], 1), None);
        assert!(decode(&[0, 9, 1, 1, 1]).is_empty());
        assert_eq!(decode(&[0, 3, 1, 200]), vec![]);
        let _ = decode(&[
            0, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 5,
        ]);
    }
}
