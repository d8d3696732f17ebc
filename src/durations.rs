//! Compact per-build durations: one blob per build, the tests sorted by id, each as two LEB128
//! varints — the id's difference from the previous id, and the duration in microseconds plus one
//! (0: the report gave none). About three bytes a result.

use crate::store::Id;

pub(crate) fn encode(durations: &mut [(Id, Option<f64>)]) -> Vec<u8> {
    durations.sort_unstable_by_key(|(id, _)| *id);
    let mut out = Vec::with_capacity(durations.len() * 3);
    let mut previous = 0i64;
    for (id, duration) in durations.iter() {
        push(&mut out, id.wrapping_sub(previous) as u64);
        previous = *id;
        let micros = duration.map_or(0, |d| {
            if d.is_finite() && d >= 0.0 {
                (d * 1e6).round().min(u64::MAX as f64 / 2.0) as u64 + 1
            } else {
                0
            }
        });
        push(&mut out, micros);
    }
    out
}

/// The durations of a build, by test id, in id order. Stops quietly at a damaged tail.
pub(crate) fn decode(blob: &[u8]) -> Vec<(Id, Option<f64>)> {
    let mut out = Vec::new();
    let mut at = 0;
    let mut id = 0i64;
    while at < blob.len() {
        let (Some(delta), Some(micros)) = (pull(blob, &mut at), pull(blob, &mut at)) else {
            break;
        };
        id = id.wrapping_add(delta as i64);
        let duration = (micros > 0).then(|| (micros - 1) as f64 / 1e6);
        out.push((id, duration));
    }
    out
}

/// The duration of one test in a build's blob: `Some(None)` when it ran without a duration.
pub(crate) fn find(blob: &[u8], test: Id) -> Option<Option<f64>> {
    let mut at = 0;
    let mut id = 0i64;
    while at < blob.len() {
        let delta = pull(blob, &mut at)?;
        let micros = pull(blob, &mut at)?;
        id = id.wrapping_add(delta as i64);
        if id == test {
            return Some((micros > 0).then(|| (micros - 1) as f64 / 1e6));
        }
        if id > test {
            return None;
        }
    }
    None
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
        assert!(blob.len() <= 4 * 4);
    }

    #[test]
    fn damaged_blobs_do_not_panic() {
        assert!(decode(&[0xff; 20]).is_empty());
        assert_eq!(find(&[0x80], 1), None);
    }
}
