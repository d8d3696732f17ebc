//! A metric value's rounds (`metric_values.samples`): little-endian f64s, deflated (raw DEFLATE,
//! RFC 1951), as `docs/schema.md` describes.

use std::io::{Read, Write};

use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use flate2::Compression;

/// The stored form of `samples`; `None` when there are none.
pub(crate) fn pack(samples: &[f64]) -> Option<Vec<u8>> {
    if samples.is_empty() {
        return None;
    }
    let mut encoder = DeflateEncoder::new(Vec::new(), Compression::default());
    for x in samples {
        // Writing to a Vec cannot fail.
        let _ = encoder.write_all(&x.to_le_bytes());
    }
    encoder.finish().ok()
}

/// The samples of a stored form; a damaged one gives the whole values it still holds.
pub(crate) fn unpack(data: &[u8]) -> Vec<f64> {
    let mut bytes = Vec::new();
    // At most MAX_SAMPLES values are ever written; read no more than that.
    let limit = (probtrack_parsers::metrics::MAX_SAMPLES as u64 + 1) * 8;
    let _ = DeflateDecoder::new(data)
        .take(limit)
        .read_to_end(&mut bytes);
    bytes
        .chunks_exact(8)
        .filter_map(|c| <[u8; 8]>::try_from(c).ok())
        .map(f64::from_le_bytes)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_round_trip_and_damage_reads_as_fewer() {
        let samples = [1.5, -0.25, f64::MAX, 3.0e-9];
        let packed = pack(&samples).unwrap();
        assert_eq!(unpack(&packed), samples);
        assert_eq!(pack(&[]), None);
        assert!(unpack(b"not deflate at all").len() < 4);
    }
}
