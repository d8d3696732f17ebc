//! A result's details — a JSON object: a traceback (`text`), a runner id, a skip's type — are kept
//! once per distinct object, deflated, in the `details` table (schema version 3): tracebacks are
//! most of a history's bytes, and they compress about four times; a skip's `{"type": …}` repeats in
//! every build. Results written by schema 2 keep theirs inline in `results.details`; readers take
//! whichever a row has.

use std::io::{Read, Write};

use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use flate2::Compression;

/// The stored form of a details object: raw DEFLATE (RFC 1951) of its JSON text, at the fastest
/// level: an import deflates every new traceback, and level 1 takes a third of the default level's
/// time for ~7% more bytes (tracebacks repeat their frames).
pub fn pack(json: &str) -> Vec<u8> {
    let mut encoder =
        DeflateEncoder::new(Vec::with_capacity(json.len() / 3 + 16), Compression::fast());
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(json.as_bytes());
    encoder.finish().unwrap_or_default()
}

/// The JSON text of a stored details object; `None` if the bytes are not what `pack` wrote.
pub fn unpack(data: &[u8]) -> Option<String> {
    let mut json = String::new();
    DeflateDecoder::new(data)
        .take(1 << 30)
        .read_to_string(&mut json)
        .ok()?;
    Some(json)
}

/// A row's details: inline (schema 2) or packed (schema 3).
pub fn either(inline: Option<String>, packed: Option<&[u8]>) -> Option<String> {
    inline.or_else(|| packed.and_then(unpack))
}

/// The `text` string of a details object (a traceback), as SQLite's `json_extract(details,
/// '$.text')` gives it.
pub fn text_of(details: Option<&str>) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(details?).ok()?;
    value.get("text")?.as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_round_trip_and_tracebacks_shrink() {
        let traceback = format!(
            r#"{{"type":"AssertionError","text":"{}"}}"#,
            "Traceback (most recent call last):\n  File \"/build/x.py\", line 3, in t\n".repeat(40)
        );
        let packed = pack(&traceback);
        assert!(
            packed.len() * 4 < traceback.len(),
            "{} of {}",
            packed.len(),
            traceback.len()
        );
        assert_eq!(unpack(&packed).as_deref(), Some(traceback.as_str()));
        assert_eq!(unpack(&pack("")).as_deref(), Some(""));
        assert_eq!(unpack(b"\xff\xff not deflate"), None);
        assert_eq!(
            either(Some("{}".into()), Some(&packed)).as_deref(),
            Some("{}")
        );
        assert_eq!(either(None, Some(&packed)), Some(traceback));
        assert_eq!(either(None, None), None);
    }

    #[test]
    fn text_is_the_text_string_only() {
        assert_eq!(
            text_of(Some(r#"{"text": "Traceback\n"}"#)).as_deref(),
            Some("Traceback\n")
        );
        assert_eq!(text_of(Some(r#"{"text": 3}"#)), None);
        assert_eq!(text_of(Some(r#"{"other": "x"}"#)), None);
        assert_eq!(text_of(Some("not json")), None);
        assert_eq!(text_of(None), None);
    }
}
