//! A result's details — a JSON object: a traceback (`text`), a runner id, a skip's type — are kept
//! once per distinct object, deflated, in the `details` table (schema version 3): tracebacks are
//! most of a history's bytes, and they compress about four times; a skip's `{"type": …}` repeats in
//! every build. Results written by schema 2 keep theirs inline in `results.details`; readers take
//! whichever a row has.
//!
//! From schema 9 an object may be deflated against a *base* (`details.base_id`): another object,
//! stored on its own, whose JSON text is the preset dictionary (RFC 1951's window filled before
//! the stream starts). A test that fails the same way build after build gives tracebacks that
//! differ in a few numbers, and each alone is too small to compress well; against the previous
//! one it is a few dozen bytes. A base is never itself based on another (one level only), so any
//! object is read from at most two rows.

use std::borrow::Cow;
use std::cell::RefCell;
use std::io::Read;

use flate2::read::DeflateDecoder;
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// A result's details: a JSON object's text, and — when worked out ahead, as an ingest's parsing
/// thread does — its key and stored form, so that the thread writing to the database only looks
/// the object up (deflating tracebacks was a tenth of that thread's work in an import).
///
/// A huge build keeps only the stored form ([`Details::keep_packed`]): a build holds its
/// failures' details until it is written, and a traceback's text is four or five times its
/// stored form (a million-test build's tracebacks were 10 MB of text, a fifth of its
/// heap at the peak: docs/performance.md, *One huge build: details kept packed*).
/// [`Details::text`] inflates it where the text is wanted again (an object stored against a
/// base).
///
/// Two are equal when their texts are.
#[derive(Clone)]
pub struct Details(Form);

#[derive(Clone)]
enum Form {
    /// The JSON text, with its key where worked out.
    Text(String, Option<[u8; 16]>),
    /// The key, the stored form (what [`pack`] made of the text) and the text unless let go.
    Packed([u8; 16], Box<[u8]>, Option<String>),
}

impl Details {
    /// The details with their key worked out now, and their stored form too if `pack` (the
    /// stored form is needed only where the `details` table does not hold the object yet).
    pub fn prepared(json: String, pack: bool) -> Self {
        let key = crate::store::key(json.as_bytes());
        Details(if pack {
            Form::Packed(key, self::pack(&json).into_boxed_slice(), Some(json))
        } else {
            Form::Text(json, Some(key))
        })
    }

    /// Keeps only the key and the stored form, packing the text now where that was not done
    /// ahead; a text shorter than 128 bytes stays as it is (deflating it saves nothing).
    pub fn keep_packed(&mut self) {
        match &mut self.0 {
            Form::Packed(_, _, text) => *text = None,
            Form::Text(json, key) if json.len() >= PACK_FROM => {
                let key = key.unwrap_or_else(|| crate::store::key(json.as_bytes()));
                self.0 = Form::Packed(key, pack(json).into_boxed_slice(), None);
            }
            Form::Text(..) => {}
        }
    }

    /// The key the `details` table finds this object by.
    pub fn key(&self) -> [u8; 16] {
        match &self.0 {
            Form::Text(_, Some(key)) | Form::Packed(key, _, _) => *key,
            Form::Text(json, None) => crate::store::key(json.as_bytes()),
        }
    }

    /// The stored form: what `pack` makes of the JSON text.
    pub fn packed(&self) -> Cow<'_, [u8]> {
        match &self.0 {
            Form::Packed(_, data, _) => Cow::Borrowed(data),
            Form::Text(json, _) => Cow::Owned(pack(json)),
        }
    }

    /// The JSON text (inflated where it was let go; empty in the one case [`Details::try_text`]
    /// gives none).
    pub fn text(&self) -> Cow<'_, str> {
        self.try_text().unwrap_or_default()
    }

    /// The JSON text, or `None` where the stored form it was let go for does not inflate (it
    /// always does: this process packed it, and only a text of 1 GiB or more is refused).
    pub fn try_text(&self) -> Option<Cow<'_, str>> {
        match &self.0 {
            Form::Text(json, _) | Form::Packed(_, _, Some(json)) => Some(Cow::Borrowed(json)),
            Form::Packed(_, data, None) => unpack(data).map(Cow::Owned),
        }
    }

    pub fn into_json(self) -> String {
        match self.0 {
            Form::Text(json, _) | Form::Packed(_, _, Some(json)) => json,
            Form::Packed(_, data, None) => unpack(&data).unwrap_or_default(),
        }
    }
}

/// The shortest text [`Details::keep_packed`] packs: a skip's `{"type": …}` deflates to about
/// its own size.
const PACK_FROM: usize = 128;

/// As its text, whatever its form.
impl std::fmt::Debug for Details {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Details").field(&self.text()).finish()
    }
}

impl PartialEq for Details {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (Form::Text(a, _), Form::Text(b, _)) => a == b,
            // Keyed by BLAKE3 of the text, as the `details` table finds them.
            _ => self.key() == other.key(),
        }
    }
}

impl From<String> for Details {
    fn from(json: String) -> Self {
        Details(Form::Text(json, None))
    }
}

impl From<&str> for Details {
    fn from(json: &str) -> Self {
        Details::from(json.to_owned())
    }
}

/// The stored form of a details object: raw DEFLATE (RFC 1951) of its JSON text, at compression
/// level 6.
pub(crate) fn pack(json: &str) -> Vec<u8> {
    deflate(json.as_bytes(), None)
}

/// The JSON text of a stored details object; `None` if the bytes are not what `pack` wrote.
pub(crate) fn unpack(data: &[u8]) -> Option<String> {
    inflate(data, None)
}

/// The stored form of other bytes kept deflated (a build's compiled files): raw DEFLATE, as
/// [`pack`].
pub(crate) fn pack_bytes(bytes: &[u8]) -> Vec<u8> {
    deflate(bytes, None)
}

/// The bytes [`pack_bytes`] stored; `None` if they are not what it wrote.
pub(crate) fn unpack_bytes(data: &[u8]) -> Option<Vec<u8>> {
    let mut bytes = Vec::new();
    DeflateDecoder::new(data)
        .take(1 << 30)
        .read_to_end(&mut bytes)
        .ok()?;
    Some(bytes)
}

/// How much of a base's text is the dictionary: DEFLATE's window, 32 KiB (its last 32 KiB
/// where longer: a match reaches back no further).
const WINDOW: usize = 32 * 1024;

/// The dictionary of a base whose JSON text is `base`.
fn dictionary(base: &str) -> &[u8] {
    &base.as_bytes()[base.len().saturating_sub(WINDOW)..]
}

/// The stored form of a details object against a base (schema 9): raw DEFLATE of its JSON text,
/// as [`pack`], with the base's JSON text as the preset dictionary.
pub(crate) fn pack_on(json: &str, base: &str) -> Vec<u8> {
    deflate(json.as_bytes(), Some(dictionary(base)))
}

/// DEFLATE's level for details: the default. Level 1 of the zlib backend codes with fixed Huffman
/// tables only (a quarter larger here), and level 6 makes an object stored against a base a sixth
/// smaller than level 2 does; an import deflates only the objects it has not stored before.
const LEVEL: u32 = 6;

/// Raw DEFLATE of `input`, with `dictionary` preset. Each thread keeps one compressor: making one
/// allocates and clears ~300 KB of tables, more than deflating a typical traceback costs.
fn deflate(input: &[u8], dictionary: Option<&[u8]>) -> Vec<u8> {
    thread_local! {
        static COMPRESS: RefCell<Compress> =
            RefCell::new(Compress::new(Compression::new(LEVEL), false));
    }
    COMPRESS.with(|compress| {
        let mut compress = compress.borrow_mut();
        compress.reset();
        if let Some(dictionary) = dictionary {
            // A raw stream's dictionary is set right after the reset; it cannot fail then.
            let _ = compress.set_dictionary(dictionary);
        }
        let mut out = Vec::with_capacity(input.len() / 3 + 64);
        loop {
            let done = compress.total_in() as usize;
            match compress.compress_vec(&input[done..], &mut out, FlushCompress::Finish) {
                Ok(Status::StreamEnd) | Err(_) => return out,
                Ok(_) => out.reserve(out.capacity().max(64)),
            }
        }
    })
}

/// Whether an object that deflates to `on` bytes against a base whose stored size is `base` is
/// stored so (at most four fifths of the base: it resembles it), rather than alone, where it
/// becomes the base of the next ones.
pub(crate) fn resembles(on: usize, base: usize) -> bool {
    on * 5 <= base * 4
}

/// The JSON text of an object stored against the base whose JSON text is `base`; `None` if the
/// bytes are not what [`pack_on`] wrote.
pub(crate) fn unpack_on(data: &[u8], base: &str) -> Option<String> {
    inflate(data, Some(dictionary(base)))
}

/// The text that `data` (raw DEFLATE, `dictionary` preset) inflates to: `None` unless it is one
/// whole stream of UTF-8 under 1 GiB. Each thread keeps one decompressor: a new one allocates its
/// state and window (zlib-rs: aligned allocations), and `history` inflated one per result it
/// showed, which left the heap 10 MB larger (1,200 page faults, +40% of its time) for 0.4 MB live.
fn inflate(data: &[u8], dictionary: Option<&[u8]>) -> Option<String> {
    thread_local! {
        static DECOMPRESS: RefCell<Decompress> = RefCell::new(Decompress::new(false));
    }
    DECOMPRESS.with(|inflate| {
        let mut inflate = inflate.borrow_mut();
        inflate.reset(false);
        if let Some(dictionary) = dictionary {
            inflate.set_dictionary(dictionary).ok()?;
        }
        let mut out = Vec::with_capacity(data.len() * 8 + 64);
        loop {
            let done = usize::try_from(inflate.total_in()).ok()?;
            match inflate.decompress_vec(&data[done..], &mut out, FlushDecompress::Finish) {
                Ok(Status::StreamEnd) => break,
                Ok(_) if out.len() < out.capacity() || out.len() >= 1 << 30 => return None,
                Ok(_) => out.reserve(out.capacity()),
                Err(_) => return None,
            }
        }
        String::from_utf8(out).ok()
    })
}

/// A row's details: inline (schema 2), or packed (schema 3), on its own or (schema 9) against the
/// base whose packed form is `base`.
pub(crate) fn either(
    inline: Option<String>,
    packed: Option<&[u8]>,
    base: Option<&[u8]>,
) -> Option<String> {
    inline.or_else(|| match base {
        None => packed.and_then(unpack),
        Some(base) => unpack_on(packed?, &unpack(base)?),
    })
}

/// The `text` string of a details object (a traceback), as SQLite's `json_extract(details,
/// '$.text')` gives it.
pub(crate) fn text_of(details: Option<&str>) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(details?).ok()?;
    value.get("text")?.as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::DeflateEncoder;
    use std::io::Write;

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
        let mut fresh = DeflateEncoder::new(Vec::new(), Compression::new(LEVEL));
        fresh.write_all(traceback.as_bytes()).unwrap();
        assert_eq!(fresh.finish().unwrap(), packed);
        assert_eq!(unpack(&pack("{}")).as_deref(), Some("{}"));
        assert_eq!(unpack(b"\xff\xff not deflate"), None);
        assert_eq!(
            either(Some("{}".into()), Some(&packed), None).as_deref(),
            Some("{}")
        );
        assert_eq!(either(None, Some(&packed), None), Some(traceback));
        assert_eq!(either(None, None, None), None);
    }

    /// Two tracebacks of one test that differ in a number: the second, against the first, is a
    /// few dozen bytes, and reads back whole; against another base, or none, it does not.
    #[test]
    fn a_details_object_against_a_resembling_base_is_small_and_reads_back() {
        let frames = (0..30)
            .map(|i| {
                format!(
                    "  File \"/build/pkg/mod{i}.py\", line {}, in f{i}\n    call()\n",
                    17 * i + 3
                )
            })
            .collect::<String>();
        let object = |n: u32| {
            serde_json::json!({"type": "AssertionError", "text": format!("Traceback\n{frames}AssertionError: {n} != 3\n")})
                .to_string()
        };
        let (base, json) = (object(7), object(12));
        let alone = pack(&json);
        let on = pack_on(&json, &base);
        assert!(
            on.len() * 10 < alone.len(),
            "{} against {}",
            on.len(),
            alone.len()
        );
        assert!(resembles(on.len(), pack(&base).len()));
        assert!(!resembles(alone.len(), pack(&base).len()));
        assert_eq!(unpack_on(&on, &base).as_deref(), Some(json.as_str()));
        let other = "y".repeat(base.len());
        assert_ne!(unpack_on(&on, &other).as_deref(), Some(json.as_str()));
        assert_ne!(unpack(&on).as_deref(), Some(json.as_str()));
        // Read from its row and its base's row.
        let base_packed = pack(&base);
        assert_eq!(
            either(None, Some(&on), Some(&base_packed)),
            Some(json.clone())
        );
        assert_eq!(either(None, Some(&on), Some(b"\xff not deflate")), None);
        // A base longer than DEFLATE's window: its last 32 KiB are the dictionary.
        let long = format!("{}{base}", "x".repeat(3 * WINDOW));
        let on_long = pack_on(&json, &long);
        assert!(on_long.len() * 10 < alone.len());
        assert_eq!(unpack_on(&on_long, &long).as_deref(), Some(json.as_str()));
        // An empty object and an empty base.
        assert_eq!(unpack_on(&pack_on("", &base), &base).as_deref(), Some(""));
        assert_eq!(
            unpack_on(&pack_on(&json, ""), "").as_deref(),
            Some(json.as_str())
        );
        assert_eq!(unpack_on(b"\xff\xff not deflate", &base), None);
    }

    #[test]
    fn prepared_details_are_stored_as_plain_ones_are() {
        let json = r#"{"type":"AssertionError","text":"Traceback\n  File \"t.py\""}"#;
        let plain = Details::from(json);
        let prepared = Details::prepared(json.to_owned(), true);
        let keyed = Details::prepared(json.to_owned(), false);
        assert_eq!(plain, prepared);
        assert_eq!(prepared.text(), json);
        assert_eq!(keyed.text(), json);
        // Its text let go: inflated again, the same object.
        let mut shed = prepared.clone();
        shed.keep_packed();
        assert!(matches!(shed.0, Form::Packed(_, _, None)));
        assert!(matches!(shed.text(), Cow::Owned(_)));
        assert_eq!(shed.text(), json);
        assert_eq!(shed, plain);
        assert_eq!(shed.packed(), plain.packed());
        assert_eq!(shed.clone().into_json(), json);
        assert_eq!(format!("{shed:?}"), format!("{plain:?}"));
        // A text not packed ahead is packed now, with the same key and stored form.
        let traceback = format!(r#"{{"text":"{}"}}"#, "  File \"t.py\", line 3\n".repeat(20));
        let mut now = Details::from(traceback.as_str());
        now.keep_packed();
        assert!(matches!(now.0, Form::Packed(_, _, None)));
        assert_eq!(now.key(), Details::from(traceback.as_str()).key());
        assert_eq!(now.packed(), Details::from(traceback.as_str()).packed());
        assert_eq!(now.text(), traceback);
        // A short one stays text.
        let mut short = plain.clone();
        short.keep_packed();
        assert!(matches!(short.0, Form::Text(..)));
        assert_eq!(short.text(), json);
        // Bytes that do not inflate give no text.
        let broken = Details(Form::Packed(plain.key(), Box::new(*b"\xff\xff"), None));
        assert_eq!(broken.try_text(), None);
        assert_eq!(plain.key(), prepared.key());
        assert_eq!(plain.key(), keyed.key());
        assert_eq!(plain.key(), crate::store::key(json.as_bytes()));
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
