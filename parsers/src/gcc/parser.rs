//! The parser proper: diagnostics and their context, merged by identity, in the order seen.

use std::collections::HashMap;

use bstr::{BString, ByteSlice};

use super::command::{command_start, compiled_sources, is_link_command};
use super::identity::{identity_flag, normalize_message, severity, Severity};
use super::json::{json_text, Json, JsonDiagnostic};
use super::paths::{common_prefix, is_system_path, normalize, resolve, Root};
use super::shapes::{
    Prefix, BARE_LOCATION_RE, BUILD_TOOL_RE, CHAIN_RE, DIAG_RE, FLAG_RE, FROM_RE, INCLUDE_RE,
    LD64_UNDEFINED_RE, LD_OBJECT_RE, LD_RE, LINK_FAILED_RE, MAKE_DIR_RE, QUIET_CC_RE, SCOPE_RE,
    TOOL_RE, WRAPPED_RE, XCTEST_RE,
};
use super::wrap::{caret_like, continues_message, push_text};
use super::{COMMAND_CAP, COMPILED_CAP, CONTEXT_LINES_CAP, DIAGNOSTICS_CAP, DIRS_CAP, JSON_CAP};
use crate::format::{ParseOptions, Sink};
use crate::model::{Details, Kind, Status, TestResult};

/// Where a diagnostic is: a file, or a tool when it names none (`ld`, `cc1plus`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) enum Place {
    File(BString),
    Tool(BString),
}

/// One diagnostic as first seen, and how often its identity was seen.
#[derive(Debug)]
pub(super) struct Entry {
    place: Place,
    /// The identity's flag (the option, or the severity).
    flag: BString,
    normalized: BString,
    severity: Severity,
    severity_word: BString,
    message: BString,
    printed_file: BString,
    line: Option<u64>,
    column: Option<u64>,
    text: Vec<u8>,
    count: u64,
}

/// The diagnostic being read: more lines may still belong to it.
#[derive(Debug)]
pub(super) struct Current {
    entry: usize,
    /// Its lines go to `text` only while this is its first occurrence.
    first: bool,
    /// Lines after the last diagnostic or note line: source, caret and fix-it lines.
    window: usize,
    /// The diagnostic's message may go on on the next line (it names no flag): this occurrence,
    /// to record again with the longer message.
    open: Option<Box<Occurrence>>,
}

/// One occurrence of a diagnostic, owned: what [`Parser::record`] was given, and what it changed.
#[derive(Debug)]
pub(super) struct Occurrence {
    place: Place,
    printed_file: Vec<u8>,
    line: Option<u64>,
    column: Option<u64>,
    severity: Severity,
    severity_word: Vec<u8>,
    message: Vec<u8>,
    text: Vec<u8>,
    /// The severity of the entry this occurrence was merged into, before the merge.
    merged_from: Option<(Severity, BString)>,
}

/// What [`Parser::record`] did: the entry, whether it is new, the merged entry's severity before.
pub(super) type Recorded = (usize, bool, Option<(Severity, BString)>);

/// A location alone on a line: file, line, column and the line itself.
pub(super) type BareLocation = (Vec<u8>, u64, Option<u64>, Vec<u8>);

/// A diagnostic line, read.
pub(super) struct Parsed<'a> {
    place: Place,
    printed_file: &'a [u8],
    line: Option<u64>,
    column: Option<u64>,
    severity: Severity,
    severity_word: &'a [u8],
    message: &'a [u8],
    flag: Option<&'a [u8]>,
    linker: bool,
}

pub(super) fn parse_u64(bytes: &[u8]) -> Option<u64> {
    bytes.to_str().ok()?.parse().ok()
}

pub(super) fn split_flag(message: &[u8]) -> (&[u8], Option<&[u8]>) {
    match FLAG_RE.captures(message) {
        Some(caps) => match (caps.name("msg"), caps.name("flag")) {
            (Some(msg), Some(flag)) => (msg.as_bytes(), Some(flag.as_bytes())),
            _ => (message, None),
        },
        None => (message, None),
    }
}

pub(super) struct Parser<'s> {
    source: &'s str,
    entries: Vec<Entry>,
    index: HashMap<(Place, BString, BString), usize>,
    current: Option<Current>,
    /// Context lines waiting for the diagnostic (or note) they introduce.
    context: Vec<Vec<u8>>,
    /// The last line was an include line, so `from …` lines continue it.
    in_include_chain: bool,
    /// A location alone on the last line: `file.h:17:` (its diagnostic on the next line).
    bare_location: Option<BareLocation>,
    /// The linker diagnostic a `collect2: … ld returned 1 exit status` line belongs to.
    last_linker: Option<usize>,
    /// The last line, read as the current diagnostic's message wrapped onto it unless a caret line
    /// follows (then it was a source line).
    pending: Option<Vec<u8>>,
    /// A compiler command line continued with `\`.
    command: Option<Vec<u8>>,
    dirs: Vec<BString>,
    compiled: Vec<BString>,
    compiled_seen: std::collections::HashSet<BString>,
    warnings: Vec<String>,
    dropped: u64,
}

impl<'s> Parser<'s> {
    pub(super) fn new(source: &'s str) -> Self {
        Parser {
            source,
            entries: Vec::new(),
            index: HashMap::new(),
            current: None,
            context: Vec::new(),
            in_include_chain: false,
            bare_location: None,
            last_linker: None,
            pending: None,
            command: None,
            dirs: Vec::new(),
            compiled: Vec::new(),
            compiled_seen: std::collections::HashSet::new(),
            warnings: Vec::new(),
            dropped: 0,
        }
    }

    fn dir(&self) -> Option<&[u8]> {
        self.dirs.last().map(|d| d.as_slice())
    }

    /// One line of the log, prefixes removed.
    pub(super) fn line(&mut self, body: &[u8], prefix: Prefix, text: &[u8]) {
        self.settle(body);
        let include_chain = std::mem::take(&mut self.in_include_chain);
        let bare_location = self.bare_location.take();

        if let Some(mut command) = self.command.take() {
            command.pop(); // the `\`
            command.push(b' ');
            command.extend_from_slice(body);
            if command.ends_with(b"\\") && command.len() < COMMAND_CAP {
                self.command = Some(command);
            } else {
                self.compiler_command(&command);
            }
            return;
        }

        if body.is_empty() {
            self.other(body, false);
            return;
        }

        if let Some(caps) = MAKE_DIR_RE.captures(body) {
            let dir = caps.name("dir").map_or(&b""[..], |m| m.as_bytes());
            if caps
                .name("what")
                .is_some_and(|m| m.as_bytes() == b"Entering")
            {
                if self.dirs.len() < DIRS_CAP {
                    let resolved = resolve(self.dir(), dir);
                    self.dirs.push(resolved);
                }
            } else {
                self.dirs.pop();
            }
            self.close();
            return;
        }
        if BUILD_TOOL_RE.is_match(body) {
            self.close();
            return;
        }

        if let Some((file, line, column, text)) = bare_location {
            if let Some(caps) = WRAPPED_RE.captures(body) {
                let sev = caps.name("sev").map_or(&b""[..], |m| m.as_bytes());
                let msg = caps.name("msg").map_or(&b""[..], |m| m.as_bytes());
                let (message, flag) = split_flag(msg);
                let mut full = text;
                full.push(b'\n');
                full.extend_from_slice(body);
                let parsed = Parsed {
                    place: Place::File(resolve(self.dir(), &file)),
                    printed_file: &file,
                    line: Some(line),
                    column,
                    severity: severity(sev),
                    severity_word: sev,
                    message,
                    flag,
                    linker: false,
                };
                self.diagnostic(parsed, &full);
                return;
            }
        }

        if include_chain && FROM_RE.is_match(body) {
            self.push_context(text);
            self.in_include_chain = true;
            return;
        }
        if body.contains_str(": ") || body.ends_with(b":") {
            if let Some(caps) = DIAG_RE.captures(body) {
                let file = caps.name("file").map_or(&b""[..], |m| m.as_bytes());
                let sev = caps.name("sev").map_or(&b""[..], |m| m.as_bytes());
                let msg = caps.name("msg").map_or(&b""[..], |m| m.as_bytes());
                let line = caps.name("line").and_then(|m| parse_u64(m.as_bytes()));
                let column = caps.name("col").and_then(|m| parse_u64(m.as_bytes()));
                if XCTEST_RE.is_match(msg) || file.ends_with(b".java") {
                    self.other(text, prefix.indented);
                    return;
                }
                let mut severity = severity(sev);
                // Old gcc continued a warning with `file:line: warning:   in call to …`.
                if msg.starts_with(b"  ") && self.current.is_some() {
                    severity = Severity::Note;
                }
                let (message, flag) = split_flag(msg);
                let parsed = Parsed {
                    place: Place::File(resolve(self.dir(), file)),
                    printed_file: file,
                    line,
                    column,
                    severity,
                    severity_word: sev,
                    message,
                    flag,
                    linker: false,
                };
                self.diagnostic(parsed, body);
                return;
            }
            if let Some(caps) = LINK_FAILED_RE.captures(body) {
                let message = caps
                    .name("collect")
                    .or_else(|| caps.name("clang"))
                    .map_or(&b""[..], |m| m.as_bytes());
                self.link_failed(body, message);
                return;
            }
            if let Some(caps) = TOOL_RE.captures(body) {
                let tool = caps
                    .name("tool")
                    .or_else(|| caps.name("special"))
                    .map_or(&b""[..], |m| m.as_bytes());
                let sev = caps.name("sev").map_or(&b""[..], |m| m.as_bytes());
                let msg = caps.name("msg").map_or(&b""[..], |m| m.as_bytes());
                let (message, flag) = split_flag(msg);
                let parsed = Parsed {
                    place: Place::Tool(BString::from(tool)),
                    printed_file: tool,
                    line: None,
                    column: None,
                    severity: severity(sev),
                    severity_word: sev,
                    message,
                    flag,
                    linker: false,
                };
                self.diagnostic(parsed, body);
                return;
            }
            if let Some(caps) = LD_RE.captures(body) {
                let msg = caps.name("msg").map_or(&b""[..], |m| m.as_bytes());
                match caps.name("sev") {
                    Some(sev) => {
                        let sev = sev.as_bytes();
                        let (message, flag) = split_flag(msg);
                        self.linker(body, sev, message, flag);
                    }
                    None => self.linker_message(body, msg),
                }
                return;
            }
            if LD_OBJECT_RE.is_match(body) {
                self.linker_message(body, body);
                return;
            }
            if CHAIN_RE.is_match(body) {
                self.push_context(body);
                return;
            }
        }
        if INCLUDE_RE.is_match(body) {
            self.push_context(body);
            self.in_include_chain = true;
            return;
        }
        if body.ends_with(b":") || body.ends_with(b",") {
            if SCOPE_RE.is_match(body) {
                self.push_context(body);
                return;
            }
            if let Some(caps) = BARE_LOCATION_RE.captures(body) {
                let file = caps.name("file").map_or(&b""[..], |m| m.as_bytes());
                if let Some(line) = caps.name("line").and_then(|m| parse_u64(m.as_bytes())) {
                    let column = caps.name("col").and_then(|m| parse_u64(m.as_bytes()));
                    self.close();
                    self.bare_location = Some((file.to_vec(), line, column, body.to_vec()));
                    return;
                }
            }
        }
        if body.starts_with(b"inlined from ") && CHAIN_RE.is_match(body) {
            self.push_context(body);
            return;
        }
        if LD64_UNDEFINED_RE.is_match(body) {
            self.linker(body, b"error", body.trim_end_with(|c| c == ':'), None);
            return;
        }
        if command_start(body) {
            if body.ends_with(b"\\") {
                self.close();
                self.command = Some(body.to_vec());
                return;
            }
            if !compiled_sources(body).is_empty() || prefix.progress || is_link_command(body) {
                self.compiler_command(body);
                return;
            }
        }
        if let Some(caps) = QUIET_CC_RE.captures(body) {
            if let Some(obj) = caps.name("obj") {
                let mut source = obj.as_bytes().to_vec();
                source.extend_from_slice(b".c");
                let resolved = resolve(self.dir(), &source);
                self.add_compiled(resolved);
                self.close();
                return;
            }
        }
        if prefix.progress {
            self.close();
            return;
        }
        self.other(text, prefix.indented);
    }

    /// A line that is none of the shapes above: a source or caret line of the current diagnostic,
    /// or anything else (which ends it).
    pub(super) fn other(&mut self, body: &[u8], indented: bool) {
        let line = body;
        let body = body.trim_start();
        self.in_include_chain = false;
        self.bare_location = None;
        let Some(current) = &mut self.current else {
            self.context.clear();
            return;
        };
        // While `open`, every line since the diagnostic continued its message.
        let continues = !body.is_empty()
            && self.context.is_empty()
            && current
                .open
                .as_ref()
                .is_some_and(|open| continues_message(&open.message, body));
        let belongs = continues
            || (!body.is_empty()
                && self.context.is_empty()
                && (current.window == 0
                    || indented
                    || caret_like(body)
                    || body.starts_with(b">>>")));
        if belongs {
            if continues {
                // Settled by the next line (see `settle`): a caret line makes it a source line.
                self.pending = Some(line.to_vec());
            } else {
                current.open = None;
            }
            current.window += 1;
            if current.first {
                if let Some(entry) = self.entries.get_mut(current.entry) {
                    push_text(&mut entry.text, line);
                }
            }
        } else {
            self.close();
        }
    }

    /// Decides what the line before `next` was, when it may have continued the current
    /// diagnostic's message: a source line when `next` is a caret line, else the message's rest.
    pub(super) fn settle(&mut self, next: &[u8]) {
        let Some(line) = self.pending.take() else {
            return;
        };
        let next = next.trim();
        if !next.is_empty() && caret_like(next) {
            if let Some(current) = &mut self.current {
                current.open = None;
            }
            return;
        }
        self.continue_message(&line);
    }

    /// Records the current diagnostic again with `line` added to its message (and its flag, if
    /// the line ends with one), in place of the shorter one.
    fn continue_message(&mut self, line: &[u8]) {
        let Some(current) = &mut self.current else {
            return;
        };
        let Some(open) = current.open.take() else {
            return;
        };
        // Take back what recording the shorter message did.
        if current.first {
            if current.entry + 1 != self.entries.len() {
                return;
            }
            if let Some(entry) = self.entries.pop() {
                self.index
                    .remove(&(entry.place, entry.flag, entry.normalized));
            }
        } else {
            let Some(entry) = self.entries.get_mut(current.entry) else {
                return;
            };
            entry.count = entry.count.saturating_sub(1).max(1);
            if let Some((severity, word)) = open.merged_from {
                entry.severity = severity;
                entry.severity_word = word;
            }
        }
        let (rest, flag) = split_flag(line.trim());
        let mut message = open.message.trim().to_vec();
        message.push(b' ');
        message.extend_from_slice(rest.trim());
        let mut text = open.text;
        push_text(&mut text, line);
        let parsed = Parsed {
            place: open.place,
            printed_file: &open.printed_file,
            line: open.line,
            column: open.column,
            severity: open.severity,
            severity_word: &open.severity_word,
            message: &message,
            flag,
            linker: false,
        };
        self.current = None;
        let still_open = flag.is_none().then(|| Occurrence {
            place: parsed.place.clone(),
            printed_file: open.printed_file.clone(),
            line: open.line,
            column: open.column,
            severity: open.severity,
            severity_word: open.severity_word.clone(),
            message: message.clone(),
            text: text.clone(),
            merged_from: None,
        });
        if let Some((entry, first, before)) = self.record(parsed, text) {
            let open = still_open.map(|mut o| {
                o.merged_from = before;
                Box::new(o)
            });
            // The lines so far were the message: a line that is not indented ends it.
            self.current = Some(Current {
                entry,
                first,
                window: 1,
                open,
            });
        }
    }

    fn push_context(&mut self, body: &[u8]) {
        if let Some(current) = &mut self.current {
            // The current diagnostic's source lines are over; a note may still follow.
            current.window = usize::MAX / 2;
            current.open = None;
        }
        if self.context.len() < CONTEXT_LINES_CAP {
            self.context.push(body.to_vec());
        }
    }

    fn close(&mut self) {
        self.current = None;
        self.context.clear();
        self.in_include_chain = false;
    }

    fn diagnostic(&mut self, parsed: Parsed<'_>, line: &[u8]) {
        if parsed.severity == Severity::Note {
            let context = std::mem::take(&mut self.context);
            match &mut self.current {
                Some(current) => {
                    current.window = 0;
                    current.open = None;
                    if current.first {
                        if let Some(entry) = self.entries.get_mut(current.entry) {
                            for c in &context {
                                push_text(&mut entry.text, c);
                            }
                            push_text(&mut entry.text, line);
                        }
                    }
                }
                None => {
                    // A note with nothing to explain (e.g. `ld.lld: note: …`): not a result.
                }
            }
            return;
        }
        let context = std::mem::take(&mut self.context);
        self.current = None;
        let mut text = Vec::new();
        for c in &context {
            push_text(&mut text, c);
        }
        push_text(&mut text, line);
        let linker = parsed.linker;
        // A message that names no flag may be wrapped onto the next line.
        let mut open = (!linker && parsed.flag.is_none()).then(|| {
            Box::new(Occurrence {
                place: parsed.place.clone(),
                printed_file: parsed.printed_file.to_vec(),
                line: parsed.line,
                column: parsed.column,
                severity: parsed.severity,
                severity_word: parsed.severity_word.to_vec(),
                message: parsed.message.to_vec(),
                text: text.clone(),
                merged_from: None,
            })
        });
        if let Some((entry, first, before)) = self.record(parsed, text) {
            if let Some(open) = &mut open {
                open.merged_from = before;
            }
            self.current = Some(Current {
                entry,
                first,
                window: 0,
                open,
            });
            if linker {
                self.last_linker = Some(entry);
            }
        }
    }

    /// Keeps a diagnostic, merged with an earlier one of the same identity: its entry, whether it
    /// is new, and (when merged) the entry's severity before.
    fn record(&mut self, parsed: Parsed<'_>, text: Vec<u8>) -> Option<Recorded> {
        let flag = match parsed.flag {
            Some(flag) => identity_flag(flag),
            None => BString::from(match parsed.severity {
                Severity::Warning => "warning",
                _ => "error",
            }),
        };
        let normalized = normalize_message(parsed.message);
        let key = (parsed.place.clone(), flag.clone(), normalized.clone());
        if let Some(&at) = self.index.get(&key) {
            let entry = self.entries.get_mut(at)?;
            entry.count += 1;
            let before = (entry.severity, entry.severity_word.clone());
            if parsed.severity > entry.severity {
                entry.severity = parsed.severity;
                entry.severity_word = BString::from(parsed.severity_word);
            }
            return Some((at, false, Some(before)));
        }
        if self.entries.len() >= DIAGNOSTICS_CAP {
            self.dropped += 1;
            return None;
        }
        let at = self.entries.len();
        self.entries.push(Entry {
            place: parsed.place,
            flag,
            normalized,
            severity: parsed.severity,
            severity_word: BString::from(parsed.severity_word),
            message: BString::from(parsed.message.trim()),
            printed_file: BString::from(parsed.printed_file),
            line: parsed.line,
            column: parsed.column,
            text,
            count: 1,
        });
        self.index.insert(key, at);
        Some((at, true, None))
    }

    /// A linker line that names its severity.
    fn linker(&mut self, line: &[u8], sev: &[u8], message: &[u8], flag: Option<&[u8]>) {
        let sev = if sev == b"fatal" { &b"error"[..] } else { sev };
        // `ld: a.c:(.text+0x9): undefined reference to …`: the object goes, the message stays.
        let message = match LD_OBJECT_RE.captures(message) {
            Some(caps) => caps.name("msg").map_or(message, |m| m.as_bytes()),
            None => message,
        };
        let parsed = Parsed {
            place: Place::Tool(BString::from("ld")),
            printed_file: b"ld",
            line: None,
            column: None,
            severity: severity(sev),
            severity_word: sev,
            message,
            flag,
            linker: true,
        };
        self.diagnostic(parsed, line);
    }

    /// A linker line without a severity: an error, the context of one, or information.
    fn linker_message(&mut self, line: &[u8], message: &[u8]) {
        let (location, message) = match LD_OBJECT_RE.captures(message) {
            Some(caps) => (
                caps.name("loc").map(|m| m.as_bytes()),
                caps.name("msg").map_or(message, |m| m.as_bytes()),
            ),
            None => (None, message),
        };
        if message.starts_with(b"In function") || message.starts_with(b"in function") {
            self.push_context(line);
            return;
        }
        if message.starts_with(b"skipping incompatible") {
            self.other(line, true);
            return;
        }
        if message.starts_with(b"first defined here") {
            let parsed = Parsed {
                place: Place::Tool(BString::from("ld")),
                printed_file: location.unwrap_or(b"ld"),
                line: None,
                column: None,
                severity: Severity::Note,
                severity_word: b"note",
                message,
                flag: None,
                linker: true,
            };
            self.diagnostic(parsed, line);
            return;
        }
        if let Some(rest) = message.strip_prefix(b"warning: ") {
            self.linker(line, b"warning", rest, None);
            return;
        }
        self.linker(line, b"error", message, None);
    }

    /// `collect2: error: ld returned 1 exit status`: part of the linker error before it, or an
    /// error of its own where the linker's message was not recognised.
    fn link_failed(&mut self, line: &[u8], message: &[u8]) {
        if let Some(at) = self.last_linker {
            if let Some(entry) = self.entries.get_mut(at) {
                push_text(&mut entry.text, line);
                self.current = None;
                self.context.clear();
                return;
            }
        }
        self.linker(line, b"error", message, None);
        self.current = None;
    }

    fn compiler_command(&mut self, command: &[u8]) {
        self.close();
        self.last_linker = None;
        for (cwd, source) in compiled_sources(command) {
            let dir = match cwd {
                Some(cwd) => Some(resolve(self.dir(), &cwd)),
                None => self.dirs.last().cloned(),
            };
            let resolved = resolve(dir.as_ref().map(|d| d.as_slice()), &source);
            self.add_compiled(resolved);
        }
    }

    fn add_compiled(&mut self, path: BString) {
        if self.compiled_seen.len() < COMPILED_CAP && self.compiled_seen.insert(path.clone()) {
            self.compiled.push(path);
        }
    }

    pub(super) fn json(&mut self, json: Json, number: u64) {
        self.settle(b"");
        self.close();
        if json.too_big {
            self.warnings.push(format!(
                "{}:{number}: a JSON diagnostics array larger than {} MiB was skipped",
                self.source,
                JSON_CAP / (1024 * 1024)
            ));
            return;
        }
        let text = String::from_utf8_lossy(&json.buf);
        let diagnostics: Vec<JsonDiagnostic> = match serde_json::from_str(&text) {
            Ok(diagnostics) => diagnostics,
            Err(err) => {
                self.warnings.push(format!(
                    "{}:{number}: a JSON diagnostics array could not be read: {err}",
                    self.source
                ));
                return;
            }
        };
        for diagnostic in diagnostics {
            self.json_diagnostic(&diagnostic);
        }
    }

    fn json_diagnostic(&mut self, diagnostic: &JsonDiagnostic) {
        let sev = diagnostic.kind.as_bytes();
        let severity = severity(sev);
        if severity == Severity::Note {
            return;
        }
        let mut text = Vec::new();
        json_text(&mut text, diagnostic, 0);
        let point = diagnostic
            .locations
            .iter()
            .find_map(|location| location.caret.as_ref());
        let file = point.and_then(|p| p.file.as_deref());
        let (place, printed) = match file {
            Some(file) => (
                Place::File(resolve(self.dir(), file.as_bytes())),
                file.as_bytes(),
            ),
            None => (Place::Tool(BString::from("gcc")), &b"gcc"[..]),
        };
        let parsed = Parsed {
            place,
            printed_file: printed,
            line: point.and_then(|p| p.line),
            column: point.and_then(|p| p.column),
            severity,
            severity_word: sev,
            message: diagnostic.message.as_bytes(),
            flag: diagnostic.option.as_deref().map(str::as_bytes),
            linker: false,
        };
        self.record(parsed, text);
    }

    pub(super) fn finish(mut self, options: &ParseOptions, sink: &mut dyn Sink) {
        self.settle(b"");
        if let Some(command) = self.command.take() {
            self.compiler_command(&command);
        }
        let root = match &options.source_root {
            Some(root) => Root::Given(normalize(root.as_bytes())),
            None if !self.compiled.is_empty() => {
                Root::Prefix(common_prefix(self.compiled.iter().map(|p| p.as_slice())))
            }
            None => Root::Prefix(common_prefix(self.entries.iter().filter_map(
                |e| match &e.place {
                    Place::File(path) if !is_system_path(path) => Some(path.as_slice()),
                    _ => None,
                },
            ))),
        };
        for warning in self.warnings.drain(..) {
            sink.warning(warning);
        }
        if self.dropped > 0 {
            sink.warning(format!(
                "{}: more than {DIAGNOSTICS_CAP} distinct diagnostics; {} more were dropped",
                self.source, self.dropped
            ));
        }
        for path in &self.compiled {
            sink.compiled(root.relativize(path));
        }
        // Paths made relative may meet: merge once more.
        let mut results: Vec<(TestResult, Severity)> = Vec::new();
        let mut seen: HashMap<BString, usize> = HashMap::new();
        for entry in self.entries {
            let path = match &entry.place {
                Place::File(path) => root.relativize(path),
                Place::Tool(tool) => tool.clone(),
            };
            let mut id = path.to_vec();
            id.push(b':');
            id.extend_from_slice(&entry.flag);
            id.push(b':');
            id.extend_from_slice(&entry.normalized);
            let id = BString::from(id);
            if let Some(&at) = seen.get(&id) {
                if let Some((result, worst)) = results.get_mut(at) {
                    let count = result
                        .details
                        .get("count")
                        .and_then(serde_json::Value::as_u64)
                        .unwrap_or(1);
                    result
                        .details
                        .insert("count".into(), (count + entry.count).into());
                    if entry.severity > *worst {
                        *worst = entry.severity;
                        result.status = Status::Error;
                    }
                }
                continue;
            }
            let status = match entry.severity {
                Severity::Warning | Severity::Note => Status::Failed,
                Severity::Error => Status::Error,
            };
            let mut result = TestResult::new(id.clone(), Kind::Compile, status);
            result.message = Some(entry.message);
            let mut details = Details::new();
            details.insert("file".into(), entry.printed_file.to_str_lossy().into());
            if let Some(line) = entry.line {
                details.insert("line".into(), line.into());
            }
            if let Some(column) = entry.column {
                details.insert("column".into(), column.into());
            }
            details.insert("flag".into(), entry.flag.to_str_lossy().into());
            details.insert("severity".into(), entry.severity_word.to_str_lossy().into());
            details.insert("count".into(), entry.count.into());
            details.insert("text".into(), entry.text.to_str_lossy().into());
            result.details = details;
            seen.insert(id, results.len());
            results.push((result, entry.severity));
        }
        for (result, _) in results {
            sink.result(result);
        }
    }
}
