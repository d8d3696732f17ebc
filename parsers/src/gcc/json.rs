//! gcc's `-fdiagnostics-format=json` arrays: gathered across lines, then read.

use serde::Deserialize;

use super::wrap::push_text;
use super::JSON_CAP;

/// A JSON array being gathered.
pub(super) struct Json {
    pub(super) buf: Vec<u8>,
    pub(super) depth: i64,
    pub(super) in_string: bool,
    pub(super) escaped: bool,
    pub(super) started: bool,
    pub(super) end: Option<usize>,
    pub(super) too_big: bool,
}

impl Json {
    pub(super) fn new() -> Self {
        Json {
            buf: Vec::new(),
            depth: 0,
            in_string: false,
            escaped: false,
            started: false,
            end: None,
            too_big: false,
        }
    }

    pub(super) fn done(&self) -> bool {
        self.end.is_some()
    }

    pub(super) fn feed(&mut self, bytes: &[u8]) {
        if self.done() {
            return;
        }
        let base = self.buf.len();
        let mut end = None;
        for (i, &b) in bytes.iter().enumerate() {
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if b == b'\\' {
                    self.escaped = true;
                } else if b == b'"' {
                    self.in_string = false;
                }
                continue;
            }
            match b {
                b'"' => self.in_string = true,
                b'[' | b'{' => {
                    self.depth += 1;
                    self.started = true;
                }
                b']' | b'}' => {
                    self.depth -= 1;
                    if self.started && self.depth <= 0 {
                        end = Some(i + 1);
                        break;
                    }
                }
                _ => {}
            }
        }
        let take = end.unwrap_or(bytes.len());
        if !self.too_big {
            if base + take > JSON_CAP {
                self.too_big = true;
                self.buf = Vec::new();
            } else {
                self.buf.extend_from_slice(&bytes[..take]);
            }
        }
        if end.is_some() {
            self.end = Some(self.buf.len());
        }
    }
}

#[derive(Deserialize)]
pub(super) struct JsonDiagnostic {
    #[serde(default)]
    pub(super) kind: String,
    #[serde(default)]
    pub(super) message: String,
    #[serde(default)]
    pub(super) option: Option<String>,
    #[serde(default)]
    pub(super) locations: Vec<JsonLocation>,
    #[serde(default)]
    pub(super) children: Vec<JsonDiagnostic>,
}

#[derive(Deserialize)]
pub(super) struct JsonLocation {
    #[serde(default)]
    pub(super) caret: Option<JsonPoint>,
}

#[derive(Deserialize)]
pub(super) struct JsonPoint {
    #[serde(default)]
    pub(super) file: Option<String>,
    #[serde(default)]
    pub(super) line: Option<u64>,
    #[serde(default)]
    pub(super) column: Option<u64>,
}

pub(super) fn json_text(text: &mut Vec<u8>, diagnostic: &JsonDiagnostic, depth: usize) {
    let mut line = Vec::new();
    if let Some(point) = diagnostic
        .locations
        .iter()
        .find_map(|location| location.caret.as_ref())
    {
        if let Some(file) = &point.file {
            line.extend_from_slice(file.as_bytes());
            line.push(b':');
        }
        if let Some(l) = point.line {
            line.extend_from_slice(l.to_string().as_bytes());
            line.push(b':');
        }
        if let Some(c) = point.column {
            line.extend_from_slice(c.to_string().as_bytes());
            line.push(b':');
        }
        line.push(b' ');
    }
    line.extend_from_slice(diagnostic.kind.as_bytes());
    line.extend_from_slice(b": ");
    line.extend_from_slice(diagnostic.message.as_bytes());
    if let Some(option) = &diagnostic.option {
        line.extend_from_slice(b" [");
        line.extend_from_slice(option.as_bytes());
        line.push(b']');
    }
    push_text(text, &line);
    if depth < 8 {
        for child in &diagnostic.children {
            json_text(text, child, depth + 1);
        }
    }
}
