//! The byte source the XML readers (JUnit, TRX, NUnit) parse.
//!
//! [`Input`] sits between the caller's reader and quick-xml. It
//! - finds the document's encoding (a byte order mark, else the XML declaration) and, for anything
//!   but UTF-8, transcodes to UTF-8 as it goes; UTF-8 input passes through byte for byte, so bytes
//!   that are not valid UTF-8 reach the results unchanged;
//! - counts lines as bytes are consumed, so an error can say `line:column` cheaply;
//! - refuses to hand out more than a set number of bytes for one piece of markup, so a giant tag,
//!   comment or DOCTYPE cannot make quick-xml buffer it whole;
//! - reads character data itself ([`Input::text`]), keeping at most a bounded prefix of it: quick-xml
//!   would otherwise buffer a whole `<system-out>` or CDATA section in memory.

use std::io::{self, BufRead, Read};

use bstr::ByteSlice;
use encoding_rs::{CoderResult, Decoder, Encoding, UTF_16BE, UTF_16LE, UTF_8};

/// Size of the decoded buffer (and of the raw buffer when transcoding).
const BUF_LEN: usize = 64 * 1024;
/// How many of the most recent newline offsets are remembered, to place errors a little behind the
/// current position (e.g. at the `<` of a bad end tag).
const RING: usize = 256;
/// The longest entity or character reference looked at (`&#x10FFFF;` is 10 bytes).
const MAX_REF: usize = 40;

/// The error [`Input`] returns from `fill_buf` once a piece of markup passes its limit.
#[derive(Debug)]
pub(crate) struct MarkupTooLong;

impl std::fmt::Display for MarkupTooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("markup too long")
    }
}

impl std::error::Error for MarkupTooLong {}

/// Character data kept from the document, at most `limit` bytes of it; `total` counts all of it.
#[derive(Debug, Default)]
pub(crate) struct Bounded {
    pub bytes: Vec<u8>,
    pub total: u64,
}

impl Bounded {
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.total = 0;
    }

    pub fn push(&mut self, data: &[u8], limit: usize) {
        self.total += data.len() as u64;
        let room = limit.saturating_sub(self.bytes.len());
        if room > 0 {
            self.bytes.extend_from_slice(&data[..data.len().min(room)]);
        }
    }

    pub fn truncated(&self) -> bool {
        self.total > self.bytes.len() as u64
    }

    /// Whether everything kept is whitespace.
    pub fn is_blank(&self) -> bool {
        self.bytes.iter().all(u8::is_ascii_whitespace)
    }

    /// The kept text, cut at a character boundary and marked when it was truncated.
    pub fn to_text(&self) -> Vec<u8> {
        let mut out = self.bytes.clone();
        if self.truncated() {
            // Don't end in the middle of a UTF-8 sequence.
            let len = out.len();
            let mut start = len.saturating_sub(1);
            while start > 0 && len - start < 4 && out[start] & 0xC0 == 0x80 {
                start -= 1;
            }
            let need = match out.get(start) {
                Some(&lead) if lead >= 0xF0 => 4,
                Some(&lead) if lead >= 0xE0 => 3,
                Some(&lead) if lead >= 0xC0 => 2,
                _ => 1,
            };
            if start + need > len {
                out.truncate(start);
            }
            out.extend_from_slice(
                format!("\n[… truncated: {} bytes in all]", self.total).as_bytes(),
            );
        }
        out
    }
}

/// Where character data read by [`Input::text`] goes.
pub(crate) enum TextSink<'a> {
    /// Nobody wants it: find the next markup as fast as possible.
    Discard,
    /// Outside the root element: only whitespace is allowed. Reading stops at the first byte that
    /// is neither white space nor markup (so a stream that is no XML at all is not read to its
    /// end), and records that it came.
    Check(&'a mut bool),
    /// Decode references, normalise line ends, keep a bounded prefix.
    Keep(&'a mut Bounded, usize),
}

/// What stopped [`Input::text`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TextEnd {
    /// The next byte is the `<` of a piece of markup (not CDATA, which is text).
    Markup,
    Eof,
    /// The input ended inside a CDATA section.
    UnclosedCdata,
    /// Outside the root element, a byte that is neither white space nor markup (left unread).
    Stray,
}

/// Oddities found in character data, reported as warnings by the parser.
#[derive(Debug, Default)]
pub(crate) struct TextIssues {
    /// A reference to an entity XML does not predefine (`&name;`), kept as written.
    pub unknown_entity: Option<Vec<u8>>,
    /// A `&` that starts no reference, kept as written.
    pub bare_ampersand: bool,
}

pub(crate) struct Input<'a> {
    inner: &'a mut dyn BufRead,
    /// Set when the document is not UTF-8: raw bytes are decoded into `buf`.
    decoder: Option<Decoder>,
    decoder_done: bool,
    raw: Vec<u8>,
    raw_pos: usize,
    raw_end: usize,
    raw_eof: bool,
    /// Decoded (UTF-8, or passed-through) bytes; `pos..end` is unread.
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    eof: bool,
    /// Bytes of `buf` consumed so far, over the whole document.
    offset: u64,
    /// Newlines consumed so far.
    newlines: u64,
    /// Offsets of the most recent newlines, at `newlines % RING`.
    ring: [u64; RING],
    /// `fill_buf` fails with [`MarkupTooLong`] once `offset` passes this.
    limit: u64,
}

impl<'a> Input<'a> {
    /// Reads the start of the document to find its encoding; also returns a warning about the
    /// encoding, if there is one to give.
    pub fn new(inner: &'a mut dyn BufRead) -> io::Result<(Input<'a>, Option<String>)> {
        let mut input = Input {
            inner,
            decoder: None,
            decoder_done: false,
            raw: Vec::new(),
            raw_pos: 0,
            raw_end: 0,
            raw_eof: false,
            buf: vec![0; BUF_LEN],
            pos: 0,
            end: 0,
            eof: false,
            offset: 0,
            newlines: 0,
            ring: [0; RING],
            limit: u64::MAX,
        };
        // Enough of the head to hold a BOM and the XML declaration.
        while input.end < 1024 {
            let n = read_retrying(input.inner, &mut input.buf[input.end..])?;
            if n == 0 {
                input.eof = true;
                break;
            }
            input.end += n;
        }
        let (encoding, skip, warning) = detect(&input.buf[..input.end]);
        input.pos = skip;
        if encoding != UTF_8 {
            // Move what was read to the raw side and decode from there on.
            input.raw = vec![0; BUF_LEN];
            let n = input.end - skip;
            input.raw[..n].copy_from_slice(&input.buf[skip..input.end]);
            input.raw_end = n;
            input.raw_eof = input.eof;
            input.eof = false;
            input.pos = 0;
            input.end = 0;
            input.decoder = Some(encoding.new_decoder_without_bom_handling());
        }
        Ok((input, warning))
    }

    /// Bytes consumed so far (after any byte order mark, in UTF-8 when transcoding).
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// 1-based line and byte column of the current position.
    pub fn position(&self) -> (u64, u64) {
        self.position_at(self.offset)
    }

    /// 1-based line and byte column of an already consumed offset. Offsets further back than the
    /// remembered newlines give the current position instead.
    pub fn position_at(&self, at: u64) -> (u64, u64) {
        let at = at.min(self.offset);
        let remembered = self.newlines.min(RING as u64);
        let mut line = self.newlines;
        for back in 0..remembered {
            let index = ((self.newlines - 1 - back) % RING as u64) as usize;
            let newline = self.ring[index];
            if newline < at {
                return (line + 1, at - newline);
            }
            line -= 1;
        }
        if self.newlines <= RING as u64 {
            (1, at + 1)
        } else {
            // Further back than remembered: say where the reader is instead.
            self.position_at(self.offset)
        }
    }

    /// Makes `fill_buf` fail once more than `bytes` more bytes are consumed.
    pub fn arm_limit(&mut self, bytes: u64) {
        self.limit = self.offset.saturating_add(bytes);
    }

    pub fn disarm_limit(&mut self) {
        self.limit = u64::MAX;
    }

    /// Appends decoded bytes to `buf[end..]`; returns how many (0 at the end of the input).
    fn fill_more(&mut self) -> io::Result<usize> {
        if self.eof {
            return Ok(0);
        }
        if self.end == self.buf.len() {
            // Callers compact first; never loop without room.
            return Ok(0);
        }
        let Some(decoder) = self.decoder.as_mut() else {
            let n = read_retrying(self.inner, &mut self.buf[self.end..])?;
            if n == 0 {
                self.eof = true;
            }
            self.end += n;
            return Ok(n);
        };
        loop {
            if self.decoder_done {
                self.eof = true;
                return Ok(0);
            }
            if self.raw_pos == self.raw_end && !self.raw_eof {
                let n = read_retrying(self.inner, &mut self.raw)?;
                self.raw_pos = 0;
                self.raw_end = n;
                self.raw_eof = n == 0;
            }
            let (result, read, written, _) = decoder.decode_to_utf8(
                &self.raw[self.raw_pos..self.raw_end],
                &mut self.buf[self.end..],
                self.raw_eof,
            );
            self.raw_pos += read;
            self.end += written;
            if self.raw_eof && result == CoderResult::InputEmpty {
                self.decoder_done = true;
            }
            if written > 0 {
                return Ok(written);
            }
            if result == CoderResult::OutputFull {
                // Less room than one character needs; the caller compacts.
                return Ok(0);
            }
        }
    }

    /// The unread bytes, holding at least `n` of them unless the input ends first.
    pub fn peek(&mut self, n: usize) -> io::Result<&[u8]> {
        while self.end - self.pos < n && !self.eof {
            if self.buf.len() - self.pos < n.max(16) {
                self.buf.copy_within(self.pos..self.end, 0);
                self.end -= self.pos;
                self.pos = 0;
            }
            if self.fill_more()? == 0 {
                break;
            }
        }
        Ok(&self.buf[self.pos..self.end])
    }

    /// Reads character data up to the next markup (or the end), sending it to `sink`. CDATA
    /// sections are character data too.
    pub fn text(
        &mut self,
        sink: &mut TextSink<'_>,
        issues: &mut TextIssues,
    ) -> io::Result<TextEnd> {
        let stops: &[u8] = match sink {
            TextSink::Keep(..) => b"<&\r",
            _ => b"<",
        };
        loop {
            let avail = self.fill_buf()?;
            if avail.is_empty() {
                return Ok(TextEnd::Eof);
            }
            let found = match sink {
                TextSink::Check(_) => avail.iter().position(|b| !b.is_ascii_whitespace()),
                _ => avail.find_byteset(stops),
            };
            let Some(at) = found else {
                let n = avail.len();
                self.take(n, sink);
                continue;
            };
            let stop = avail[at];
            self.take(at, sink);
            if let TextSink::Check(seen) = sink {
                if stop != b'<' {
                    // Left unread: the caller names its place.
                    **seen = true;
                    return Ok(TextEnd::Stray);
                }
            }
            match stop {
                b'<' => {
                    if !self.peek(9)?.starts_with(b"<![CDATA[") {
                        return Ok(TextEnd::Markup);
                    }
                    self.consume(9);
                    if !self.cdata(sink)? {
                        return Ok(TextEnd::UnclosedCdata);
                    }
                }
                b'&' => self.reference(sink, issues)?,
                _ => {
                    // `\r\n` and a lone `\r` both end a line as `\n`.
                    self.consume(1);
                    if self.peek(1)?.first() == Some(&b'\n') {
                        self.consume(1);
                    }
                    if let TextSink::Keep(bounded, limit) = sink {
                        bounded.push(b"\n", *limit);
                    }
                }
            }
        }
    }

    /// Consumes `n` unread bytes, sending them to `sink` as they are.
    fn take(&mut self, n: usize, sink: &mut TextSink<'_>) {
        let data = &self.buf[self.pos..self.pos + n];
        match sink {
            TextSink::Discard => {}
            TextSink::Check(seen) => {
                if !**seen && !data.iter().all(u8::is_ascii_whitespace) {
                    **seen = true;
                }
            }
            TextSink::Keep(bounded, limit) => bounded.push(data, *limit),
        }
        self.consume(n);
    }

    /// Reads a CDATA section's content, after `<![CDATA[`. False when the input ends first.
    fn cdata(&mut self, sink: &mut TextSink<'_>) -> io::Result<bool> {
        loop {
            let avail = self.peek(3)?;
            if let Some(at) = avail.find(b"]]>") {
                self.take_normalised(at, sink);
                self.consume(3);
                return Ok(true);
            }
            if avail.len() < 3 {
                let n = avail.len();
                self.take(n, sink);
                return Ok(false);
            }
            // Keep the last two bytes: they may start the `]]>`.
            let n = avail.len() - 2;
            self.take_normalised(n, sink);
        }
    }

    /// Like `take`, turning `\r\n` and `\r` into `\n` when the text is kept. A `\r\n` split
    /// across two calls yields two newlines, which is rare enough to accept.
    fn take_normalised(&mut self, n: usize, sink: &mut TextSink<'_>) {
        let TextSink::Keep(bounded, limit) = sink else {
            self.take(n, sink);
            return;
        };
        let data = &self.buf[self.pos..self.pos + n];
        let mut rest = data;
        while let Some(at) = rest.find_byte(b'\r') {
            bounded.push(&rest[..at], *limit);
            bounded.push(b"\n", *limit);
            rest = &rest[at + 1..];
            if rest.first() == Some(&b'\n') {
                rest = &rest[1..];
            }
        }
        bounded.push(rest, *limit);
        self.consume(n);
    }

    /// Reads a reference at `&`, decoding it into `sink`.
    fn reference(&mut self, sink: &mut TextSink<'_>, issues: &mut TextIssues) -> io::Result<()> {
        let TextSink::Keep(bounded, limit) = sink else {
            self.consume(1);
            return Ok(());
        };
        let avail = self.peek(MAX_REF)?;
        let window = &avail[..avail.len().min(MAX_REF)];
        let mut decoded = [0u8; 4];
        match window.find_byte(b';') {
            Some(semi) if semi > 1 => {
                let name = &window[1..semi];
                match decode_reference(name, &mut decoded) {
                    Some(bytes) => bounded.push(bytes, *limit),
                    None => {
                        if issues.unknown_entity.is_none() {
                            issues.unknown_entity = Some(name.to_vec());
                        }
                        bounded.push(&window[..=semi], *limit);
                    }
                }
                self.consume(semi + 1);
            }
            _ => {
                issues.bare_ampersand = true;
                bounded.push(b"&", *limit);
                self.consume(1);
            }
        }
        Ok(())
    }
}

impl Read for Input<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let avail = self.fill_buf()?;
        let n = avail.len().min(out.len());
        out[..n].copy_from_slice(&avail[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Input<'_> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.offset > self.limit {
            return Err(io::Error::other(MarkupTooLong));
        }
        if self.pos == self.end {
            self.pos = 0;
            self.end = 0;
            self.fill_more()?;
        }
        Ok(&self.buf[self.pos..self.end])
    }

    fn consume(&mut self, n: usize) {
        let n = n.min(self.end - self.pos);
        let chunk = &self.buf[self.pos..self.pos + n];
        let mut from = 0;
        while let Some(at) = chunk[from..].find_byte(b'\n') {
            let newline = self.offset + (from + at) as u64;
            self.ring[(self.newlines % RING as u64) as usize] = newline;
            self.newlines += 1;
            from += at + 1;
        }
        self.pos += n;
        self.offset += n as u64;
    }
}

fn read_retrying(inner: &mut dyn BufRead, out: &mut [u8]) -> io::Result<usize> {
    loop {
        match inner.read(out) {
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// The document's encoding from its first bytes: `(encoding, bytes of BOM to skip, warning)`.
/// A byte order mark wins over the declaration; a declaration that names an encoding this reader
/// cannot honour (unknown, or not ASCII-compatible while the bytes are) is ignored with a warning.
fn detect(head: &[u8]) -> (&'static Encoding, usize, Option<String>) {
    if head.starts_with(b"\xEF\xBB\xBF") {
        return (UTF_8, 3, None);
    }
    if head.starts_with(b"\xFF\xFE") {
        return (UTF_16LE, 2, None);
    }
    if head.starts_with(b"\xFE\xFF") {
        return (UTF_16BE, 2, None);
    }
    if head.starts_with(b"<\0") {
        return (UTF_16LE, 0, None);
    }
    if head.starts_with(b"\0<") {
        return (UTF_16BE, 0, None);
    }
    let Some(label) = declared_encoding(head) else {
        return (UTF_8, 0, None);
    };
    let lower = label.to_ascii_lowercase();
    if lower == b"us-ascii" || lower == b"ascii" {
        // Passing ASCII through is faster than decoding it as windows-1252, and the same.
        return (UTF_8, 0, None);
    }
    match Encoding::for_label(label) {
        Some(encoding) if encoding.is_ascii_compatible() => (encoding, 0, None),
        Some(_) | None => (
            UTF_8,
            0,
            Some(format!(
                "the XML declaration names encoding {:?}, which does not match the bytes or is \
                 not supported; reading the report as UTF-8",
                label.as_bstr()
            )),
        ),
    }
}

/// The `encoding` pseudo-attribute of an XML declaration at the very start of `head`.
pub(crate) fn declared_encoding(head: &[u8]) -> Option<&[u8]> {
    if !head.starts_with(b"<?xml") {
        return None;
    }
    let decl = &head[..head.find(b"?>")?];
    let at = decl.find(b"encoding")?;
    let rest = decl[at + b"encoding".len()..].trim_start();
    let rest = rest.strip_prefix(b"=")?.trim_start();
    let quote = *rest.first()?;
    if quote != b'"' && quote != b'\'' {
        return None;
    }
    let rest = &rest[1..];
    let close = rest.find_byte(quote)?;
    Some(rest[..close].trim())
}

/// Decodes the reference `&name;` (given `name`) into `out`: the five predefined entities and
/// character references. `None` for anything else.
pub(crate) fn decode_reference<'o>(name: &[u8], out: &'o mut [u8; 4]) -> Option<&'o [u8]> {
    let c = match name {
        b"lt" => '<',
        b"gt" => '>',
        b"amp" => '&',
        b"quot" => '"',
        b"apos" => '\'',
        [b'#', b'x' | b'X', hex @ ..] => char_from(hex, 16),
        [b'#', dec @ ..] => char_from(dec, 10),
        _ => return None,
    };
    Some(c.encode_utf8(out).as_bytes())
}

/// A character reference's character; U+FFFD where the number is no character.
fn char_from(digits: &[u8], radix: u32) -> char {
    let parsed = std::str::from_utf8(digits)
        .ok()
        .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit()))
        .and_then(|s| u32::from_str_radix(s, radix).ok())
        .and_then(char::from_u32);
    parsed.unwrap_or(char::REPLACEMENT_CHARACTER)
}

/// Unescapes an attribute value into `out`: references decoded, and literal tabs and line ends
/// normalised to spaces as XML does. Returns the first unknown entity name, if any (kept as
/// written).
pub(crate) fn unescape_attr(raw: &[u8], out: &mut Vec<u8>) -> Option<Vec<u8>> {
    out.clear();
    // Tabs are rare: look for the other three with SIMD unless there is one.
    let stops: &[u8] = if raw.find_byte(b'\t').is_some() {
        b"&\t\n\r"
    } else {
        b"&\n\r"
    };
    let mut unknown = None;
    let mut rest = raw;
    let mut decoded = [0u8; 4];
    while let Some(at) = rest.find_byteset(stops) {
        out.extend_from_slice(&rest[..at]);
        let stop = rest[at];
        rest = &rest[at + 1..];
        match stop {
            b'&' => {
                let window = &rest[..rest.len().min(MAX_REF)];
                match window.find_byte(b';') {
                    Some(semi) if semi > 0 => {
                        match decode_reference(&window[..semi], &mut decoded) {
                            Some(bytes) => out.extend_from_slice(bytes),
                            None => {
                                if unknown.is_none() {
                                    unknown = Some(window[..semi].to_vec());
                                }
                                out.push(b'&');
                                out.extend_from_slice(&window[..=semi]);
                            }
                        }
                        rest = &rest[semi + 1..];
                    }
                    _ => out.push(b'&'),
                }
            }
            b'\r' => {
                out.push(b' ');
                if rest.first() == Some(&b'\n') {
                    rest = &rest[1..];
                }
            }
            _ => out.push(b' '),
        }
    }
    out.extend_from_slice(rest);
    unknown
}

// ---------------------------------------------------------------------------------------------
// Sniffing: what the root element of a report's first bytes is.

/// A report's first bytes as UTF-8 text: UTF-16 (with a byte order mark, or `<` and a zero byte)
/// decoded, a UTF-8 byte order mark dropped.
pub(crate) fn sniff_text(head: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    use std::borrow::Cow;
    if head.starts_with(b"\xFF\xFE") || head.starts_with(b"<\0") {
        let text = UTF_16LE
            .decode_without_bom_handling(head.strip_prefix(b"\xFF\xFE").unwrap_or(head))
            .0;
        Cow::Owned(text.into_owned().into_bytes())
    } else if head.starts_with(b"\xFE\xFF") || head.starts_with(b"\0<") {
        let text = UTF_16BE
            .decode_without_bom_handling(head.strip_prefix(b"\xFE\xFF").unwrap_or(head))
            .0;
        Cow::Owned(text.into_owned().into_bytes())
    } else {
        Cow::Borrowed(head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head))
    }
}

/// `text` after leading whitespace, XML declaration, processing instructions, comments and DOCTYPE.
pub(crate) fn skip_prolog(mut text: &[u8]) -> &[u8] {
    loop {
        text = text.trim_ascii_start();
        let end = if text.starts_with(b"<?") {
            text.find(b"?>").map(|at| at + 2)
        } else if text.starts_with(b"<!--") {
            text.find(b"-->").map(|at| at + 3)
        } else if text.starts_with(b"<!DOCTYPE") || text.starts_with(b"<!doctype") {
            doctype_end(text)
        } else {
            return text;
        };
        match end {
            Some(end) => text = &text[end..],
            None => return b"",
        }
    }
}

/// The length of a DOCTYPE declaration at the start of `text`, internal subset included.
fn doctype_end(text: &[u8]) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote = None;
    for (at, &byte) in text.iter().enumerate() {
        match (quote, byte) {
            (Some(q), _) if byte == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(byte),
            (None, b'[') => depth += 1,
            (None, b']') => depth = depth.saturating_sub(1),
            (None, b'>') if depth == 0 => return Some(at + 1),
            _ => {}
        }
    }
    None
}

/// Whether `text` starts with the start tag of element `name`.
pub(crate) fn starts_element(text: &[u8], name: &[u8]) -> bool {
    text.strip_prefix(b"<")
        .and_then(|rest| rest.strip_prefix(name))
        .and_then(|rest| rest.first())
        .is_some_and(|&next| next.is_ascii_whitespace() || next == b'>' || next == b'/')
}
