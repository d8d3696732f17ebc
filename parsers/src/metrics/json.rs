//! A small JSON reader for metric files that keeps where each value starts, so that an error
//! names the line and column of the value at fault, not only its path.
//!
//! It reads RFC 8259 JSON plus the bare `NaN`, `Infinity` and `-Infinity` that Python's `json`
//! module (pytest-benchmark) and Google Benchmark write. Limits keep memory and time bounded
//! whatever the input: [`MAX_BYTES`] of input, [`MAX_VALUES`] values and [`MAX_DEPTH`] levels
//! of nesting.

use std::io::{BufRead, Read};

use crate::error::{ParseError, ParseErrorKind};

/// The largest metric file read, in bytes.
pub(crate) const MAX_BYTES: usize = 64 * 1024 * 1024;
/// The most JSON values (numbers, strings, …) in one document.
pub(crate) const MAX_VALUES: usize = 2_000_000;
/// The deepest nesting of arrays and objects.
pub(crate) const MAX_DEPTH: usize = 64;

#[derive(Debug)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Array(Vec<Node>),
    Object(Vec<(String, Node)>),
}

/// A value and the byte offset where it starts.
#[derive(Debug)]
pub(crate) struct Node {
    pub(crate) at: usize,
    pub(crate) value: Value,
}

impl Node {
    pub(crate) fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Object(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub(crate) fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn as_f64(&self) -> Option<f64> {
        match self.value {
            Value::Number(n) => Some(n),
            _ => None,
        }
    }

    pub(crate) fn as_array(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }

    pub(crate) fn as_object(&self) -> Option<&[(String, Node)]> {
        match &self.value {
            Value::Object(fields) => Some(fields),
            _ => None,
        }
    }

    pub(crate) fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    /// What kind of value this is, for messages.
    pub(crate) fn kind(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        }
    }

    /// The value as it would be written in a parameter: a string as it is, a number or boolean
    /// as JSON writes it, anything else as compact JSON.
    pub(crate) fn to_param(&self) -> String {
        match &self.value {
            Value::String(s) => s.clone(),
            _ => {
                let mut out = String::new();
                self.write_compact(&mut out);
                out
            }
        }
    }

    fn write_compact(&self, out: &mut String) {
        match &self.value {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Number(n) => out.push_str(&format_number(*n)),
            Value::String(s) => {
                out.push_str(&serde_json::Value::String(s.clone()).to_string());
            }
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write_compact(out);
                }
                out.push(']');
            }
            Value::Object(fields) => {
                out.push('{');
                for (i, (key, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&serde_json::Value::String(key.clone()).to_string());
                    out.push(':');
                    value.write_compact(out);
                }
                out.push('}');
            }
        }
    }
}

/// A number as a parameter shows it: integers without a fraction (`100`, not `100.0`).
pub(crate) fn format_number(n: f64) -> String {
    if n.is_finite() && n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// Moves an error found in one line of a file (a document of its own) to that line.
pub(crate) trait AtLine {
    fn at_line(self, line: u64) -> Self;
}

impl AtLine for ParseError {
    fn at_line(mut self, line: u64) -> ParseError {
        self.line = self.line.max(1) - 1 + line;
        if self.column == 0 {
            self.column = 1;
        }
        self
    }
}

/// A document and what is needed to say where in it something is.
pub(crate) struct Doc {
    pub(crate) text: Vec<u8>,
    pub(crate) format: &'static str,
    pub(crate) source: String,
}

impl Doc {
    /// Reads all of `input` (at most [`MAX_BYTES`]).
    pub(crate) fn read(
        input: &mut dyn BufRead,
        format: &'static str,
        source: &str,
    ) -> Result<Doc, ParseError> {
        let mut doc = Doc {
            text: Vec::new(),
            format,
            source: source.to_string(),
        };
        let read = input
            .take(MAX_BYTES as u64 + 1)
            .read_to_end(&mut doc.text)
            .map_err(|err| doc.error(0, None, ParseErrorKind::Io(err)));
        read?;
        if doc.text.len() > MAX_BYTES {
            return Err(doc.error(
                0,
                None,
                ParseErrorKind::LimitExceeded(format!(
                    "the file is larger than {} MiB, the most a metric file may hold",
                    MAX_BYTES / (1024 * 1024)
                )),
            ));
        }
        Ok(doc)
    }

    /// A document already in memory (one line of JSON lines, for example).
    pub(crate) fn from_bytes(text: Vec<u8>, format: &'static str, source: &str) -> Doc {
        Doc {
            text,
            format,
            source: source.to_string(),
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub(crate) fn line_column(&self, at: usize) -> (u64, u64) {
        let at = at.min(self.text.len());
        let before = &self.text[..at];
        let line = before.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1);
        let column = String::from_utf8_lossy(&before[line_start..])
            .chars()
            .count() as u64
            + 1;
        (line, column)
    }

    /// An error at a byte offset, with a path in the document's structure.
    pub(crate) fn error(&self, at: usize, path: Option<&str>, kind: ParseErrorKind) -> ParseError {
        let (line, column) = self.line_column(at);
        ParseError {
            format: self.format,
            source_name: self.source.clone(),
            line,
            column,
            path: path.map(str::to_string),
            kind,
        }
    }

    /// An error about a node's value.
    pub(crate) fn bad(&self, node: &Node, path: &str, message: impl Into<String>) -> ParseError {
        let path = (!path.is_empty()).then_some(path);
        self.error(node.at, path, ParseErrorKind::Other(message.into()))
    }

    /// A string field, `None` when absent; an error when it is there but not a string.
    pub(crate) fn str_field<'n>(
        &self,
        node: &'n Node,
        path: &str,
        key: &str,
    ) -> Result<Option<&'n str>, ParseError> {
        match node.get(key) {
            None => Ok(None),
            Some(value) => match value.as_str() {
                Some(s) => Ok(Some(s)),
                None => Err(self.bad(
                    value,
                    &format!("{path}/{key}"),
                    format!("expected a string, found {}", value.kind()),
                )),
            },
        }
    }

    /// A number field, `None` when absent or null; an error when it is there but not a number.
    pub(crate) fn num_field(
        &self,
        node: &Node,
        path: &str,
        key: &str,
    ) -> Result<Option<f64>, ParseError> {
        match node.get(key) {
            None => Ok(None),
            Some(value) if value.is_null() => Ok(None),
            Some(value) => match value.as_f64() {
                Some(n) => Ok(Some(n)),
                None => Err(self.bad(
                    value,
                    &format!("{path}/{key}"),
                    format!("expected a number, found {}", value.kind()),
                )),
            },
        }
    }

    /// Parses the whole document as one JSON value.
    pub(crate) fn parse(&self) -> Result<Node, ParseError> {
        let mut parser = Parser {
            text: &self.text,
            pos: 0,
            values: 0,
        };
        let result = parser.document();
        result.map_err(|(at, kind)| self.error(at, None, kind))
    }
}

struct Parser<'a> {
    text: &'a [u8],
    pos: usize,
    values: usize,
}

type Failure = (usize, ParseErrorKind);

fn syntax(at: usize, message: impl Into<String>) -> Failure {
    (
        at,
        ParseErrorKind::Other(format!("invalid JSON: {}", message.into())),
    )
}

impl Parser<'_> {
    fn document(&mut self) -> Result<Node, Failure> {
        // A UTF-8 byte order mark is allowed before the document.
        if self.text.starts_with(b"\xEF\xBB\xBF") {
            self.pos = 3;
        }
        self.skip_space();
        if self.pos >= self.text.len() {
            return Err(syntax(self.pos, "the file is empty"));
        }
        let node = self.value(0)?;
        self.skip_space();
        if self.pos < self.text.len() {
            return Err(syntax(self.pos, "text after the end of the document"));
        }
        Ok(node)
    }

    fn skip_space(&mut self) {
        while self.pos < self.text.len()
            && matches!(self.text[self.pos], b' ' | b'\t' | b'\n' | b'\r')
        {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.pos).copied()
    }

    fn count(&mut self) -> Result<(), Failure> {
        self.values += 1;
        if self.values > MAX_VALUES {
            return Err((
                self.pos,
                ParseErrorKind::LimitExceeded(format!(
                    "more than {MAX_VALUES} JSON values, the most a metric file may hold"
                )),
            ));
        }
        Ok(())
    }

    fn value(&mut self, depth: usize) -> Result<Node, Failure> {
        self.count()?;
        let at = self.pos;
        let value = match self.peek() {
            None => return Err(syntax(at, "unexpected end of file: the file is truncated")),
            Some(b'{') => self.object(depth)?,
            Some(b'[') => self.array(depth)?,
            Some(b'"') => Value::String(self.string()?),
            Some(b't') => self.word("true", Value::Bool(true))?,
            Some(b'f') => self.word("false", Value::Bool(false))?,
            Some(b'n') => self.word("null", Value::Null)?,
            Some(b'N') => self.word("NaN", Value::Number(f64::NAN))?,
            Some(b'I') => self.word("Infinity", Value::Number(f64::INFINITY))?,
            Some(b'-') if self.text[at..].starts_with(b"-Infinity") => {
                self.word("-Infinity", Value::Number(f64::NEG_INFINITY))?
            }
            Some(b'-' | b'0'..=b'9') => self.number()?,
            Some(c) => return Err(syntax(at, format!("unexpected {}", show_byte(c)))),
        };
        Ok(Node { at, value })
    }

    fn word(&mut self, word: &str, value: Value) -> Result<Value, Failure> {
        if self.text[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(value)
        } else {
            Err(syntax(self.pos, format!("expected `{word}`")))
        }
    }

    fn nested(&self, depth: usize) -> Result<(), Failure> {
        if depth >= MAX_DEPTH {
            return Err((
                self.pos,
                ParseErrorKind::LimitExceeded(format!(
                    "JSON nested deeper than {MAX_DEPTH} levels"
                )),
            ));
        }
        Ok(())
    }

    fn object(&mut self, depth: usize) -> Result<Value, Failure> {
        self.nested(depth)?;
        self.pos += 1;
        let mut fields = Vec::new();
        self.skip_space();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Value::Object(fields));
        }
        loop {
            self.skip_space();
            if self.peek() != Some(b'"') {
                return Err(self.expected("a string (an object's key)"));
            }
            let key = self.string()?;
            self.skip_space();
            if self.peek() != Some(b':') {
                return Err(self.expected("`:`"));
            }
            self.pos += 1;
            self.skip_space();
            let value = self.value(depth + 1)?;
            fields.push((key, value));
            self.skip_space();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Value::Object(fields));
                }
                _ => return Err(self.expected("`,` or `}`")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value, Failure> {
        self.nested(depth)?;
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_space();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Value::Array(items));
        }
        loop {
            self.skip_space();
            items.push(self.value(depth + 1)?);
            self.skip_space();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Value::Array(items));
                }
                _ => return Err(self.expected("`,` or `]`")),
            }
        }
    }

    fn expected(&self, what: &str) -> Failure {
        match self.peek() {
            None => syntax(
                self.pos,
                format!("unexpected end of file (expected {what}): the file is truncated"),
            ),
            Some(c) => syntax(self.pos, format!("expected {what}, found {}", show_byte(c))),
        }
    }

    fn number(&mut self) -> Result<Value, Failure> {
        let start = self.pos;
        let text = self.text;
        let mut end = start;
        if text.get(end) == Some(&b'-') {
            end += 1;
        }
        let int_start = end;
        while end < text.len() && text[end].is_ascii_digit() {
            end += 1;
        }
        if end == int_start {
            return Err(syntax(start, "a number without digits"));
        }
        if text[int_start] == b'0' && end - int_start > 1 {
            return Err(syntax(start, "a number with a leading zero"));
        }
        if text.get(end) == Some(&b'.') {
            end += 1;
            let frac = end;
            while end < text.len() && text[end].is_ascii_digit() {
                end += 1;
            }
            if end == frac {
                return Err(syntax(start, "a number without digits after `.`"));
            }
        }
        if matches!(text.get(end), Some(b'e' | b'E')) {
            end += 1;
            if matches!(text.get(end), Some(b'+' | b'-')) {
                end += 1;
            }
            let exp = end;
            while end < text.len() && text[end].is_ascii_digit() {
                end += 1;
            }
            if end == exp {
                return Err(syntax(start, "a number without digits in its exponent"));
            }
        }
        // Only ASCII digits and signs were taken, so this is valid UTF-8 and a valid float.
        let literal = std::str::from_utf8(&text[start..end]).unwrap_or("0");
        let value: f64 = literal.parse().unwrap_or(f64::NAN);
        self.pos = end;
        Ok(Value::Number(value))
    }

    fn string(&mut self) -> Result<String, Failure> {
        let start = self.pos;
        self.pos += 1;
        let mut out: Vec<u8> = Vec::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(syntax(
                    start,
                    "unexpected end of file in a string: the file is truncated",
                ));
            };
            match c {
                b'"' => {
                    self.pos += 1;
                    break;
                }
                b'\\' => {
                    let at = self.pos;
                    self.pos += 1;
                    let Some(e) = self.peek() else {
                        return Err(syntax(at, "unexpected end of file in a string"));
                    };
                    self.pos += 1;
                    match e {
                        b'"' => out.push(b'"'),
                        b'\\' => out.push(b'\\'),
                        b'/' => out.push(b'/'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let first = self.hex4(at)?;
                            let c = if (0xD800..0xDC00).contains(&first)
                                && self.text[self.pos..].starts_with(b"\\u")
                            {
                                let save = self.pos;
                                self.pos += 2;
                                let second = self.hex4(at)?;
                                if (0xDC00..0xE000).contains(&second) {
                                    char::from_u32(
                                        0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00),
                                    )
                                } else {
                                    self.pos = save;
                                    None
                                }
                            } else {
                                char::from_u32(first)
                            };
                            // A lone surrogate cannot be text: it becomes U+FFFD.
                            let c = c.unwrap_or(char::REPLACEMENT_CHARACTER);
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                        }
                        other => {
                            return Err(syntax(
                                at,
                                format!("unknown escape `\\{}` in a string", other as char),
                            ))
                        }
                    }
                }
                0..=0x1F => {
                    return Err(syntax(self.pos, "a control character in a string"));
                }
                _ => {
                    // Copy a run of plain bytes at once.
                    let run_start = self.pos;
                    while self.pos < self.text.len()
                        && !matches!(self.text[self.pos], b'"' | b'\\' | 0..=0x1F)
                    {
                        self.pos += 1;
                    }
                    out.extend_from_slice(&self.text[run_start..self.pos]);
                }
            }
        }
        String::from_utf8(out).map_err(|err| {
            syntax(
                start + 1 + err.utf8_error().valid_up_to(),
                "a string that is not valid UTF-8",
            )
        })
    }

    fn hex4(&mut self, at: usize) -> Result<u32, Failure> {
        let digits = self.text.get(self.pos..self.pos + 4);
        let value = digits
            .and_then(|d| std::str::from_utf8(d).ok())
            .and_then(|d| u32::from_str_radix(d, 16).ok())
            .ok_or_else(|| syntax(at, "a `\\u` escape without four hex digits"))?;
        self.pos += 4;
        Ok(value)
    }
}

fn show_byte(c: u8) -> String {
    if c.is_ascii_graphic() {
        format!("`{}`", c as char)
    } else {
        format!("byte 0x{c:02X}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Node, ParseError> {
        Doc::from_bytes(text.as_bytes().to_vec(), "test JSON", "m.json").parse()
    }

    #[test]
    fn reads_values_and_their_places() {
        let node = parse("{\"a\": [1, -2.5e3, \"x\\u00e9\\ud83d\\ude00\"],\n \"b\": NaN, \"c\": -Infinity, \"d\": null, \"e\": true}").unwrap();
        let a = node.get("a").unwrap().as_array().unwrap();
        assert_eq!(a[0].as_f64(), Some(1.0));
        assert_eq!(a[1].as_f64(), Some(-2500.0));
        assert_eq!(a[2].as_str(), Some("xé😀"));
        assert!(node.get("b").unwrap().as_f64().unwrap().is_nan());
        assert_eq!(node.get("c").unwrap().as_f64(), Some(f64::NEG_INFINITY));
        assert!(node.get("d").unwrap().is_null());
        let doc = Doc::from_bytes(b"{\n  \"k\": 5}".to_vec(), "test JSON", "m.json");
        let node = doc.parse().unwrap();
        assert_eq!(doc.line_column(node.get("k").unwrap().at), (2, 8));
    }

    #[test]
    fn syntax_errors_name_line_and_column() {
        for (text, place, says) in [
            ("{\"a\": 1,\n  \"b\" 2}", ":2:7", "expected `:`"),
            ("[1, 2", ":1:6", "truncated"),
            ("", ":1:1", "empty"),
            ("{\"a\": 01}", ":1:7", "leading zero"),
            ("[1] x", ":1:5", "text after"),
            ("\"\\q\"", ":1:2", "unknown escape"),
            ("[\"a\u{1}\"]", ":1:4", "control character"),
            ("[tru]", ":1:2", "expected `true`"),
            ("{1: 2}", ":1:2", "expected a string"),
        ] {
            let err = parse(text).unwrap_err().to_string();
            assert!(
                err.starts_with(&format!("failed to parse test JSON at m.json{place}"))
                    && err.contains(says),
                "{text:?}: {err}"
            );
        }
    }

    #[test]
    fn invalid_utf8_in_a_string_is_an_error() {
        let doc = Doc::from_bytes(b"[\"ab\xFF\"]".to_vec(), "test JSON", "m.json");
        let err = doc.parse().unwrap_err().to_string();
        assert!(
            err.contains("m.json:1:5") && err.contains("not valid UTF-8"),
            "{err}"
        );
    }

    #[test]
    fn nesting_and_size_are_limited() {
        let deep = "[".repeat(MAX_DEPTH + 1);
        let err = parse(&deep).unwrap_err();
        assert!(
            matches!(err.kind, ParseErrorKind::LimitExceeded(_)),
            "{err}"
        );
        let many = format!("[{}0]", "0,".repeat(MAX_VALUES));
        let err = parse(&many).unwrap_err();
        assert!(
            err.to_string().contains("more than 2000000 JSON values"),
            "{err}"
        );
    }

    #[test]
    fn parameters_show_values_compactly() {
        let node =
            parse("{\"p\": [1, 2.5, \"x\", {\"k\": null}], \"n\": 100, \"s\": \"a\"}").unwrap();
        assert_eq!(
            node.get("p").unwrap().to_param(),
            "[1,2.5,\"x\",{\"k\":null}]"
        );
        assert_eq!(node.get("n").unwrap().to_param(), "100");
        assert_eq!(node.get("s").unwrap().to_param(), "a");
    }
}
