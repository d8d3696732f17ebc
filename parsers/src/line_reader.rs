//! The capped line reader the line-oriented formats share (gcc, trial): lines of at most a cap
//! of bytes each, whatever their length, and the ANSI escapes their logs carry.

use std::io::{self, BufRead};

use bstr::ByteSlice;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Read {
    Eof,
    /// A whole line (its newline consumed and not stored).
    Complete,
    /// The line went on past the cap; its rest is still unread.
    Cut,
}

/// Lines of at most a cap of bytes each, from any `BufRead`, whatever their length.
pub(crate) struct Lines<'a> {
    input: &'a mut dyn BufRead,
    /// Lines wholly read so far.
    pub(crate) number: u64,
    /// The last line was cut and its rest is still unread.
    rest_pending: bool,
}

impl<'a> Lines<'a> {
    pub(crate) fn new(input: &'a mut dyn BufRead) -> Self {
        Lines {
            input,
            number: 0,
            rest_pending: false,
        }
    }

    /// Reads the next line into `buf` (cleared first), skipping the rest of a cut line.
    pub(crate) fn next_line(&mut self, buf: &mut Vec<u8>, cap: usize) -> io::Result<Read> {
        if self.rest_pending {
            self.skip_rest()?;
        }
        buf.clear();
        self.fill(buf, cap)
    }

    /// Appends more of the current (cut) line to `buf`, at most `cap` bytes in all.
    pub(crate) fn continue_line(&mut self, buf: &mut Vec<u8>, cap: usize) -> io::Result<Read> {
        if !self.rest_pending {
            return Ok(Read::Complete);
        }
        self.fill(buf, cap)
    }

    fn fill(&mut self, buf: &mut Vec<u8>, cap: usize) -> io::Result<Read> {
        let mut any = self.rest_pending;
        loop {
            let available = match self.input.fill_buf() {
                Ok(available) => available,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(err),
            };
            if available.is_empty() {
                self.rest_pending = false;
                if any {
                    self.number += 1;
                    return Ok(Read::Complete);
                }
                return Ok(Read::Eof);
            }
            any = true;
            let newline = available.find_byte(b'\n');
            let take = newline.unwrap_or(available.len());
            let room = cap.saturating_sub(buf.len());
            if take > room {
                buf.extend_from_slice(&available[..room]);
                self.input.consume(room);
                self.rest_pending = true;
                return Ok(Read::Cut);
            }
            buf.extend_from_slice(&available[..take]);
            match newline {
                Some(_) => {
                    self.input.consume(take + 1);
                    self.rest_pending = false;
                    self.number += 1;
                    return Ok(Read::Complete);
                }
                None => self.input.consume(take),
            }
        }
    }

    fn skip_rest(&mut self) -> io::Result<()> {
        loop {
            let available = match self.input.fill_buf() {
                Ok(available) => available,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(err),
            };
            if available.is_empty() {
                self.number += 1;
                self.rest_pending = false;
                return Ok(());
            }
            match available.find_byte(b'\n') {
                Some(at) => {
                    self.input.consume(at + 1);
                    self.number += 1;
                    self.rest_pending = false;
                    return Ok(());
                }
                None => {
                    let len = available.len();
                    self.input.consume(len);
                }
            }
        }
    }
}

/// The index just past the escape sequence that starts at `start` (an ESC byte).
pub(crate) fn skip_escape(raw: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    match raw.get(i) {
        Some(b'[') => {
            i += 1;
            while let Some(&b) = raw.get(i) {
                i += 1;
                if (0x40..=0x7e).contains(&b) {
                    break;
                }
            }
            i
        }
        Some(b']') => {
            // OSC (e.g. gcc's hyperlinks): ends with BEL or ESC \.
            i += 1;
            while let Some(&b) = raw.get(i) {
                if b == 0x07 {
                    return i + 1;
                }
                if b == 0x1b {
                    return if raw.get(i + 1) == Some(&b'\\') {
                        i + 2
                    } else {
                        i
                    };
                }
                i += 1;
            }
            i
        }
        Some(_) => i + 1,
        None => i,
    }
}
