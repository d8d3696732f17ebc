//! Reading a text report line by line in bounded memory, for the line-oriented formats (go test
//! -json, TAP, libtest, unittest).

use std::io::{self, BufRead};

use bstr::ByteSlice;

use crate::error::{ParseError, ParseErrorKind};

/// Lines of a report, each without its `\n` and trailing `\r`, at most `cap` bytes of each kept.
pub(crate) struct Lines<'a> {
    input: &'a mut dyn BufRead,
    cap: usize,
    format: &'static str,
    source: &'a str,
    /// The 1-based number of the line last read; 0 before the first.
    pub(crate) number: u64,
    /// Whether the line last read was longer than `cap` (and was cut).
    pub(crate) cut: bool,
    /// Whether the line last read ended with `\n` (false only for a last line without one).
    pub(crate) ended: bool,
}

impl<'a> Lines<'a> {
    pub(crate) fn new(
        input: &'a mut dyn BufRead,
        cap: usize,
        format: &'static str,
        source: &'a str,
    ) -> Self {
        Lines {
            input,
            cap,
            format,
            source,
            number: 0,
            cut: false,
            ended: true,
        }
    }

    /// Reads the next line into `buf`; false at the end of the input.
    pub(crate) fn next(&mut self, buf: &mut Vec<u8>) -> Result<bool, ParseError> {
        buf.clear();
        self.cut = false;
        self.ended = false;
        let mut any = false;
        loop {
            let available = match self.input.fill_buf() {
                Ok(available) => available,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => {
                    return Err(self.error(self.number + 1, 0, ParseErrorKind::Io(err)));
                }
            };
            if available.is_empty() {
                break;
            }
            any = true;
            let (chunk, used, done) = match available.find_byte(b'\n') {
                Some(at) => (&available[..at], at + 1, true),
                None => (available, available.len(), false),
            };
            let room = self.cap.saturating_sub(buf.len());
            if chunk.len() > room {
                self.cut = true;
            }
            buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
            self.input.consume(used);
            if done {
                self.ended = true;
                break;
            }
        }
        if !any {
            return Ok(false);
        }
        self.number += 1;
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
        Ok(true)
    }

    /// An error at `line`:`column` of this report.
    pub(crate) fn error(&self, line: u64, column: u64, kind: ParseErrorKind) -> ParseError {
        ParseError {
            format: self.format,
            source_name: self.source.to_owned(),
            line,
            column,
            path: None,
            kind,
        }
    }
}

/// Appends `text` to `out`, keeping at most `cap` bytes; returns how many bytes were dropped.
pub(crate) fn push_capped(out: &mut Vec<u8>, text: &[u8], cap: usize) -> usize {
    let room = cap.saturating_sub(out.len());
    let kept = text.len().min(room);
    out.extend_from_slice(&text[..kept]);
    text.len() - kept
}

/// `text` with a note that `dropped` more bytes were not kept, as the other parsers write it.
pub(crate) fn finish_capped(mut text: Vec<u8>, dropped: usize) -> Vec<u8> {
    if dropped > 0 {
        let total = text.len() + dropped;
        text.extend_from_slice(format!("\n[… truncated: {total} bytes in all]").as_bytes());
    }
    text
}

/// Copies `raw` into `out` without ANSI escape sequences (colours) and carriage returns.
pub(crate) fn strip_ansi(raw: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let mut i = 0;
    while let Some(&byte) = raw.get(i) {
        match byte {
            b'\r' => i += 1,
            0x1b => {
                i = match raw.get(i + 1) {
                    Some(b'[') => {
                        let mut j = i + 2;
                        while let Some(&b) = raw.get(j) {
                            j += 1;
                            if (0x40..=0x7e).contains(&b) {
                                break;
                            }
                        }
                        j
                    }
                    Some(_) => i + 2,
                    None => i + 1,
                };
            }
            _ => {
                out.push(byte);
                i += 1;
            }
        }
    }
}
