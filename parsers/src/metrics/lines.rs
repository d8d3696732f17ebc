//! Reading text formats line by line in bounded memory.

use std::io::{BufRead, Read};

use crate::error::{ParseError, ParseErrorKind};

/// The longest line the text formats keep; a longer one is read past (its head kept).
pub(crate) const MAX_LINE: usize = 1024 * 1024;

/// One line (without its end), whether it was cut, and its 1-based number.
pub(crate) struct Line {
    pub(crate) text: Vec<u8>,
    pub(crate) cut: bool,
    pub(crate) number: u64,
}

pub(crate) struct Lines<'a> {
    input: &'a mut dyn BufRead,
    number: u64,
    format: &'static str,
    source: &'a str,
}

impl<'a> Lines<'a> {
    pub(crate) fn new(input: &'a mut dyn BufRead, format: &'static str, source: &'a str) -> Self {
        Lines {
            input,
            number: 0,
            format,
            source,
        }
    }

    /// The next line, `None` at the end.
    pub(crate) fn next_line(&mut self) -> Result<Option<Line>, ParseError> {
        let mut text = Vec::new();
        let read = (&mut *self.input)
            .take(MAX_LINE as u64)
            .read_until(b'\n', &mut text);
        self.number += 1;
        read.map_err(|err| self.error(0, ParseErrorKind::Io(err)))?;
        if text.is_empty() {
            return Ok(None);
        }
        let mut cut = false;
        if text.last() == Some(&b'\n') {
            text.pop();
        } else if text.len() >= MAX_LINE {
            // Read past the rest of the line, chunk by chunk.
            cut = true;
            loop {
                let buf = match self.input.fill_buf() {
                    Ok(buf) => buf,
                    Err(err) => return Err(self.error(0, ParseErrorKind::Io(err))),
                };
                if buf.is_empty() {
                    break;
                }
                match buf.iter().position(|&b| b == b'\n') {
                    Some(end) => {
                        self.input.consume(end + 1);
                        break;
                    }
                    None => {
                        let n = buf.len();
                        self.input.consume(n);
                    }
                }
            }
        }
        if text.last() == Some(&b'\r') {
            text.pop();
        }
        Ok(Some(Line {
            text,
            cut,
            number: self.number,
        }))
    }

    /// An error on the current line at a 1-based column (0: the line as a whole).
    pub(crate) fn error(&self, column: u64, kind: ParseErrorKind) -> ParseError {
        ParseError {
            format: self.format,
            source_name: self.source.to_string(),
            line: self.number,
            column,
            path: None,
            kind,
        }
    }
}

/// The fields of a line split on white space, each with its 1-based column (in characters).
pub(crate) fn fields(line: &str) -> Vec<(u64, &str)> {
    let mut out = Vec::new();
    let mut start: Option<(usize, u64)> = None;
    let mut column = 0u64;
    for (at, c) in line.char_indices() {
        column += 1;
        if c.is_whitespace() {
            if let Some((s, col)) = start.take() {
                out.push((col, &line[s..at]));
            }
        } else if start.is_none() {
            start = Some((at, column));
        }
    }
    if let Some((s, col)) = start {
        out.push((col, &line[s..]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_numbered_and_long_ones_cut() {
        let mut text = b"a\r\nb\n".to_vec();
        text.extend(std::iter::repeat_n(b'x', MAX_LINE + 10));
        text.extend(b"\nlast");
        let mut input = &text[..];
        let mut lines = Lines::new(&mut input, "t", "f");
        let mut seen = Vec::new();
        while let Some(line) = lines.next_line().unwrap() {
            seen.push((line.number, line.text.len(), line.cut));
        }
        assert_eq!(
            seen,
            vec![
                (1, 1, false),
                (2, 1, false),
                (3, MAX_LINE, true),
                (4, 4, false)
            ]
        );
    }

    #[test]
    fn fields_know_their_columns() {
        assert_eq!(fields("  ab\tcé  d"), vec![(3, "ab"), (6, "cé"), (10, "d")]);
    }
}
