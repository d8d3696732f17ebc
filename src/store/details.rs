//! A result's details — a JSON object: a traceback (`text`), a runner id, a skip's type — are kept
//! once per distinct object, deflated, in the `details` table (schema version 3): tracebacks are
//! most of a history's bytes, and they compress about four times; a skip's `{"type": …}` repeats in
//! every build. Results written by schema 2 keep theirs inline in `results.details`; readers take
//! whichever a row has.

use std::borrow::Cow;
use std::cell::RefCell;
use std::io::{Read, Write};
use std::ops::Deref;

use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use flate2::Compression;

/// A result's details: a JSON object's text, and — when worked out ahead, as an ingest's parsing
/// thread does — its key and stored form, so that the thread writing to the database only looks
/// the object up (deflating tracebacks was a tenth of that thread's work in an import).
///
/// It reads as the JSON text (`Deref<Target = str>`); two are equal when their texts are.
#[derive(Clone, Debug)]
pub struct Details {
    json: String,
    /// The key, and the stored form where it was packed ahead.
    ahead: Option<([u8; 16], Option<Vec<u8>>)>,
}

impl Details {
    /// The details with their key worked out now, and their stored form too if `pack` (the
    /// stored form is needed only where the `details` table does not hold the object yet).
    pub fn prepared(json: String, pack: bool) -> Self {
        let key = super::key(json.as_bytes());
        let packed = pack.then(|| self::pack(&json));
        Details {
            json,
            ahead: Some((key, packed)),
        }
    }

    /// The key the `details` table finds this object by.
    pub fn key(&self) -> [u8; 16] {
        match &self.ahead {
            Some((key, _)) => *key,
            None => super::key(self.json.as_bytes()),
        }
    }

    /// The stored form: what [`pack`] makes of the JSON text.
    pub fn packed(&self) -> Cow<'_, [u8]> {
        match &self.ahead {
            Some((_, Some(data))) => Cow::Borrowed(data),
            _ => Cow::Owned(pack(&self.json)),
        }
    }

    pub fn into_json(self) -> String {
        self.json
    }
}

impl Deref for Details {
    type Target = str;

    fn deref(&self) -> &str {
        &self.json
    }
}

impl PartialEq for Details {
    fn eq(&self, other: &Self) -> bool {
        self.json == other.json
    }
}

impl From<String> for Details {
    fn from(json: String) -> Self {
        Details { json, ahead: None }
    }
}

impl From<&str> for Details {
    fn from(json: &str) -> Self {
        Details::from(json.to_owned())
    }
}

/// The stored form of a details object: raw DEFLATE (RFC 1951) of its JSON text, at the fastest
/// level: an import deflates every new traceback, and level 1 takes a third of the default level's
/// time for ~7% more bytes (tracebacks repeat their frames). Each thread keeps one encoder: making
/// one allocates and clears ~300 KB of tables, more than deflating a typical traceback costs.
pub fn pack(json: &str) -> Vec<u8> {
    thread_local! {
        static ENCODER: RefCell<DeflateEncoder<Vec<u8>>> =
            RefCell::new(DeflateEncoder::new(Vec::new(), Compression::fast()));
    }
    ENCODER.with(|encoder| {
        let mut encoder = encoder.borrow_mut();
        // The encoder is fresh (new, or reset by the previous call): only its output changes.
        // Resetting clears its tables, so it is done once per object, after it.
        *encoder.get_mut() = Vec::with_capacity(json.len() / 3 + 16);
        // Writing into a Vec cannot fail; `reset` hands back the finished stream.
        let _ = encoder.write_all(json.as_bytes());
        let _ = encoder.try_finish();
        encoder.reset(Vec::new()).unwrap_or_default()
    })
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
        // The thread's encoder starts afresh each time: what a new encoder would write.
        assert_eq!(pack(&traceback), packed);
        let mut fresh = DeflateEncoder::new(Vec::new(), Compression::fast());
        fresh.write_all(traceback.as_bytes()).unwrap();
        assert_eq!(fresh.finish().unwrap(), packed);
        assert_eq!(unpack(&pack("{}")).as_deref(), Some("{}"));
        assert_eq!(unpack(b"\xff\xff not deflate"), None);
        assert_eq!(
            either(Some("{}".into()), Some(&packed)).as_deref(),
            Some("{}")
        );
        assert_eq!(either(None, Some(&packed)), Some(traceback));
        assert_eq!(either(None, None), None);
    }

    #[test]
    fn prepared_details_are_stored_as_plain_ones_are() {
        let json = r#"{"type":"AssertionError","text":"Traceback\n  File \"t.py\""}"#;
        let plain = Details::from(json);
        let prepared = Details::prepared(json.to_owned(), true);
        let keyed = Details::prepared(json.to_owned(), false);
        assert_eq!(plain, prepared);
        assert_eq!(&*prepared, json);
        assert_eq!(plain.key(), prepared.key());
        assert_eq!(plain.key(), keyed.key());
        assert_eq!(plain.key(), super::super::key(json.as_bytes()));
        assert!(matches!(prepared.packed(), Cow::Borrowed(_)));
        assert_eq!(plain.packed(), prepared.packed());
        assert_eq!(keyed.packed(), prepared.packed());
        assert_eq!(unpack(&prepared.packed()).as_deref(), Some(json));
        assert_ne!(Details::from("{}").key(), plain.key());
        assert_eq!(prepared.into_json(), json);
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
