//! JUnit XML reports: `<testsuites>` or a bare `<testsuite>` (also Ant/Eclipse's `<testrun>`), with
//! the dialects real producers write — pytest (xunit1/xunit2, rerunfailures), Maven Surefire and
//! cargo-nextest retries (`flakyFailure`, `rerunFailure`, …), jest, mocha, go-junit-report,
//! googletest, Catch2, PHPUnit and friends.
//!
//! The reader streams: quick-xml parses the markup, and [`crate::xml_input::Input`] reads character data
//! itself, keeping at most [`TEXT_LIMIT`] bytes of any message, traceback or captured output, so
//! memory does not grow with the report. Entities a DOCTYPE declares are never expanded and nothing
//! external is ever read. See `docs/parsers.md` for the identity rule and status mapping.

#[cfg(test)]
mod tests;

use std::io::{self, BufRead};

use bstr::{BString, ByteSlice};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use quick_xml::errors::SyntaxError;
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use serde_json::Value;

use crate::error::{ParseError, ParseErrorKind};
use crate::format::{Confidence, Format, ParseOptions, Sink};
use crate::model::{Details, Kind, Status, TestResult};
use crate::xml_input::{self, Bounded, Input, MarkupTooLong, TextEnd, TextIssues, TextSink};

/// The format's human name, as errors show it.
const FORMAT: &str = "JUnit XML";
/// The most bytes of one message, traceback or captured output kept; the rest is counted and
/// noted as truncated.
pub const TEXT_LIMIT: usize = 64 * 1024;
/// The longest single piece of markup (a tag with its attributes, a comment, a DOCTYPE) accepted.
const MARKUP_LIMIT: u64 = 4 * 1024 * 1024;
/// The deepest element nesting accepted.
const DEPTH_LIMIT: usize = 256;
/// The identity of a test that has no name, no classname and no named suite around it.
const UNNAMED: &str = "(unnamed)";

/// JUnit XML (`--parser junit`).
#[derive(Clone, Copy, Debug, Default)]
pub struct JUnit;

impl Format for JUnit {
    fn name(&self) -> &'static str {
        "junit"
    }

    fn description(&self) -> &'static str {
        "JUnit XML reports (pytest, Maven Surefire, cargo-nextest, jest, go-junit-report, …)"
    }

    fn sniff(&self, head: &[u8]) -> Confidence {
        sniff(head)
    }

    fn parse(
        &self,
        input: &mut dyn BufRead,
        options: &ParseOptions,
        sink: &mut dyn Sink,
    ) -> Result<(), ParseError> {
        Parser::new(&options.source, sink).run(input)
    }
}

/// HIGH when the root element (after a BOM, the XML declaration, comments and a DOCTYPE) is
/// `<testsuites>` or `<testsuite>`; MEDIUM for other XML that mentions `<testcase`.
fn sniff(head: &[u8]) -> Confidence {
    let text = xml_input::sniff_text(head);
    let root = xml_input::skip_prolog(&text);
    if xml_input::starts_element(root, b"testsuites")
        || xml_input::starts_element(root, b"testsuite")
    {
        Confidence::HIGH
    } else if root.starts_with(b"<") && text.find(b"<testcase").is_some() {
        Confidence::MEDIUM
    } else {
        Confidence::NONE
    }
}

/// What an open element is to the reader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    /// `<testsuites>` (or `<testrun>`) at the root.
    Suites,
    Suite,
    Case,
    /// `<failure>`, `<error>` or `<skipped>` in a testcase.
    Outcome,
    /// `<flakyFailure>`/`<flakyError>` (the test passed on a retry) in a testcase.
    Flaky,
    /// `<rerunFailure>`/`<rerunError>` (the test failed its retries too) in a testcase.
    Rerun,
    CaseOut,
    CaseErr,
    /// `<failure>` or `<error>` directly in a testsuite: the suite itself failed (e.g. set-up).
    SuiteOutcome,
    /// Anything else (`<properties>`, a suite's `<system-out>`, unknown elements): skipped.
    Other,
}

/// A testcase's result elements, least to most severe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    Skipped,
    ExpectedFailure,
    Failure,
    Error,
}

#[derive(Debug)]
struct Frame {
    role: Role,
    /// Where the element's name starts in `Parser::names`.
    name_start: usize,
    /// The position among its parent's `<testsuite>`s or `<testcase>`s.
    index: Option<u32>,
    suites: u32,
    cases: u32,
    /// The length of `Parser::suite_path` before this element.
    suite_path_len: usize,
}

/// One result element (`<failure>`, `<error>`, `<skipped>`) as it is read.
#[derive(Debug, Default)]
struct Report {
    outcome: Option<Outcome>,
    message: Option<Vec<u8>>,
    kind: Option<Vec<u8>>,
    text: Bounded,
}

impl Report {
    fn clear(&mut self) {
        self.outcome = None;
        self.message = None;
        self.kind = None;
        self.text.clear();
    }
}

/// The testcase being read. Buffers are reused from one testcase to the next.
#[derive(Debug, Default)]
struct Case {
    name: Vec<u8>,
    classname: Vec<u8>,
    file: Option<Vec<u8>>,
    line: Option<Vec<u8>>,
    time: Option<f64>,
    /// A `status` attribute saying the test did not run (googletest `notrun`, tst `disabled`).
    not_run: bool,
    /// The most severe result element so far.
    report: Report,
    flaky: u32,
    reruns: u32,
    /// The first flaky/rerun element's message and type.
    retry_message: Option<Vec<u8>>,
    retry_kind: Option<Vec<u8>>,
    out: Bounded,
    err: Bounded,
}

impl Case {
    fn clear(&mut self) {
        self.name.clear();
        self.classname.clear();
        self.file = None;
        self.line = None;
        self.time = None;
        self.not_run = false;
        self.report.clear();
        self.flaky = 0;
        self.reruns = 0;
        self.retry_message = None;
        self.retry_kind = None;
        self.out.clear();
        self.err.clear();
    }
}

/// Warnings that may repeat: the first of each kind is reported, then how many more there were.
#[derive(Clone, Copy, Debug)]
enum Warn {
    Time,
    Timestamp,
    Entity,
    Ampersand,
    Doctype,
}

impl Warn {
    const COUNT: usize = 5;

    fn more(self) -> &'static str {
        match self {
            Warn::Time => "invalid times were ignored",
            Warn::Timestamp => "invalid timestamps were ignored",
            Warn::Entity => "unknown entity references were kept as written",
            Warn::Ampersand => "bare `&` characters were kept as written",
            Warn::Doctype => "DOCTYPE declarations were ignored",
        }
    }
}

struct Parser<'s> {
    source: &'s str,
    sink: &'s mut dyn Sink,
    frames: Vec<Frame>,
    /// The names of the open elements, back to back.
    names: Vec<u8>,
    /// The names of the open `<testsuite>`s, joined with `.`.
    suite_path: Vec<u8>,
    root_seen: bool,
    case: Case,
    /// The result element being read (moved into `case.report` when it is the most severe).
    pending: Report,
    scratch: Vec<u8>,
    issues: TextIssues,
    warned: [u64; Warn::COUNT],
}

impl<'s> Parser<'s> {
    fn new(source: &'s str, sink: &'s mut dyn Sink) -> Self {
        Parser {
            source,
            sink,
            frames: Vec::new(),
            names: Vec::new(),
            suite_path: Vec::new(),
            root_seen: false,
            case: Case::default(),
            pending: Report::default(),
            scratch: Vec::new(),
            issues: TextIssues::default(),
            warned: [0; Warn::COUNT],
        }
    }

    fn run(mut self, input: &mut dyn BufRead) -> Result<(), ParseError> {
        let (input, warning) = Input::new(input).map_err(|err| self.io_error((0, 0), err))?;
        if let Some(warning) = warning {
            self.sink.warning(format!("{}: {warning}", self.source));
        }
        let mut reader = Reader::from_reader(input);
        let config = reader.config_mut();
        config.check_end_names = true;
        config.expand_empty_elements = false;
        config.trim_text(false);
        let mut buf = Vec::new();
        let result = self.events(&mut reader, &mut buf);
        for kind in [
            Warn::Time,
            Warn::Timestamp,
            Warn::Entity,
            Warn::Ampersand,
            Warn::Doctype,
        ] {
            let more = self.warned[kind as usize].saturating_sub(1);
            if more > 0 {
                let text = format!("{}: {more} more {}", self.source, kind.more());
                self.sink.warning(text);
            }
        }
        result
    }

    fn events(
        &mut self,
        reader: &mut Reader<Input<'_>>,
        buf: &mut Vec<u8>,
    ) -> Result<(), ParseError> {
        loop {
            self.text(reader.get_mut())?;
            let qx_before = reader.buffer_position();
            let at = reader.get_ref().offset();
            reader.get_mut().arm_limit(MARKUP_LIMIT);
            buf.clear();
            let event = reader.read_event_into(buf);
            reader.get_mut().disarm_limit();
            let event = match event {
                Ok(event) => event,
                Err(err) => {
                    let err_at = at + reader.error_position().saturating_sub(qx_before);
                    return Err(self.xml_error(reader.get_ref(), err, at, err_at));
                }
            };
            match event {
                Event::Start(start) => self.start(&start, reader.get_ref(), at)?,
                Event::Empty(start) => {
                    self.start(&start, reader.get_ref(), at)?;
                    self.end();
                }
                Event::End(_) => self.end(),
                Event::Text(text) => self.stray_text(&text, reader.get_ref(), at)?,
                Event::CData(text) => self.stray_text(&text, reader.get_ref(), at)?,
                Event::GeneralRef(name) => {
                    let mut text = b"&".to_vec();
                    text.extend_from_slice(&name);
                    text.push(b';');
                    self.stray_text(&text, reader.get_ref(), at)?;
                }
                Event::DocType(doctype) => {
                    if doctype.find(b"ENTITY").is_some() {
                        let place = self.place(reader.get_ref(), at);
                        self.warn(Warn::Doctype, || {
                            format!(
                                "{place}: the DOCTYPE declares entities; they are not expanded \
                                 and references to them are kept as written"
                            )
                        });
                    }
                }
                Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
                Event::Eof => return self.finish(reader.get_ref()),
            }
        }
    }

    /// Reads character data up to the next markup, keeping it where the open element wants it.
    fn text(&mut self, input: &mut Input<'_>) -> Result<(), ParseError> {
        let start = input.offset();
        let mut outside = false;
        let mut sink = match self.frames.last().map(|frame| frame.role) {
            None => TextSink::Check(&mut outside),
            Some(Role::Outcome | Role::SuiteOutcome) => {
                TextSink::Keep(&mut self.pending.text, TEXT_LIMIT)
            }
            Some(Role::CaseOut) => TextSink::Keep(&mut self.case.out, TEXT_LIMIT),
            Some(Role::CaseErr) => TextSink::Keep(&mut self.case.err, TEXT_LIMIT),
            Some(_) => TextSink::Discard,
        };
        let end = input
            .text(&mut sink, &mut self.issues)
            .map_err(|err| self.io_error(input.position(), err))?;
        if outside {
            // Where the first byte that cannot be there is (and the input is read no further).
            let at = if end == TextEnd::Stray {
                input.offset()
            } else {
                start
            };
            return Err(self.outside_text(input, at));
        }
        if end == TextEnd::UnclosedCdata {
            return Err(self.error(input.position(), self.path(), ParseErrorKind::Truncated));
        }
        if let Some(name) = self.issues.unknown_entity.take() {
            let place = self.place(input, input.offset());
            self.warn(Warn::Entity, || {
                format!(
                    "{place}: unknown entity reference &{};, kept as written",
                    name.as_bstr()
                )
            });
        }
        if std::mem::take(&mut self.issues.bare_ampersand) {
            let place = self.place(input, input.offset());
            self.warn(Warn::Ampersand, || {
                format!("{place}: a `&` that starts no reference, kept as written")
            });
        }
        Ok(())
    }

    /// Character data that quick-xml itself returned (normally [`Parser::text`] reads it all).
    fn stray_text(&mut self, text: &[u8], input: &Input<'_>, at: u64) -> Result<(), ParseError> {
        let target = match self.frames.last().map(|frame| frame.role) {
            None if text.iter().all(u8::is_ascii_whitespace) => return Ok(()),
            None => return Err(self.outside_text(input, at)),
            Some(Role::Outcome | Role::SuiteOutcome) => &mut self.pending.text,
            Some(Role::CaseOut) => &mut self.case.out,
            Some(Role::CaseErr) => &mut self.case.err,
            Some(_) => return Ok(()),
        };
        target.push(text, TEXT_LIMIT);
        Ok(())
    }

    fn outside_text(&self, input: &Input<'_>, at: u64) -> ParseError {
        let kind = if self.root_seen {
            ParseErrorKind::Xml("text after the root element".into())
        } else {
            ParseErrorKind::NotThisFormat(
                "not XML: the report starts with text, not an element".into(),
            )
        };
        self.error(input.position_at(at), None, kind)
    }

    fn start(
        &mut self,
        element: &BytesStart<'_>,
        input: &Input<'_>,
        at: u64,
    ) -> Result<(), ParseError> {
        if self.frames.len() >= DEPTH_LIMIT {
            let kind = ParseErrorKind::LimitExceeded(format!(
                "elements are nested more than {DEPTH_LIMIT} deep"
            ));
            return Err(self.error(input.position_at(at), self.path(), kind));
        }
        let name = element.name();
        let name = name.as_ref();
        let local = element.local_name();
        let local = local.as_ref();
        let (role, index) = match self.frames.last_mut() {
            None => {
                if self.root_seen {
                    let kind = ParseErrorKind::Xml(format!(
                        "a second root element <{}> after the first one ended",
                        name.as_bstr()
                    ));
                    return Err(self.error(input.position_at(at), None, kind));
                }
                self.root_seen = true;
                match local {
                    b"testsuites" | b"testrun" => (Role::Suites, None),
                    b"testsuite" => (Role::Suite, None),
                    _ => {
                        let kind = ParseErrorKind::NotThisFormat(format!(
                            "the root element is <{}>, not <testsuites> or <testsuite>",
                            name.as_bstr()
                        ));
                        return Err(self.error(input.position_at(at), None, kind));
                    }
                }
            }
            Some(parent) => match (parent.role, local) {
                (Role::Suites | Role::Suite, b"testsuite") => {
                    parent.suites += 1;
                    (Role::Suite, Some(parent.suites - 1))
                }
                (Role::Suites | Role::Suite, b"testcase") => {
                    parent.cases += 1;
                    (Role::Case, Some(parent.cases - 1))
                }
                (Role::Suite, b"failure" | b"error") => (Role::SuiteOutcome, None),
                (Role::Case, b"failure" | b"error" | b"skipped") => (Role::Outcome, None),
                (Role::Case, b"flakyFailure" | b"flakyError") => (Role::Flaky, None),
                (Role::Case, b"rerunFailure" | b"rerunError") => (Role::Rerun, None),
                (Role::Case, b"system-out") => (Role::CaseOut, None),
                (Role::Case, b"system-err") => (Role::CaseErr, None),
                _ => (Role::Other, None),
            },
        };
        self.frames.push(Frame {
            role,
            name_start: self.names.len(),
            index,
            suites: 0,
            cases: 0,
            suite_path_len: self.suite_path.len(),
        });
        self.names.extend_from_slice(name);
        match role {
            Role::Case => self.case.clear(),
            Role::Outcome | Role::SuiteOutcome => {
                self.pending.clear();
                self.pending.outcome = Some(match local {
                    b"failure" => Outcome::Failure,
                    b"error" => Outcome::Error,
                    _ => Outcome::Skipped,
                });
            }
            Role::Flaky => self.case.flaky = self.case.flaky.saturating_add(1),
            Role::Rerun => self.case.reruns = self.case.reruns.saturating_add(1),
            Role::CaseOut | Role::CaseErr | Role::Other => return Ok(()),
            Role::Suites | Role::Suite => {}
        }
        self.attributes(element, role, input, at)
    }

    fn attributes(
        &mut self,
        element: &BytesStart<'_>,
        role: Role,
        input: &Input<'_>,
        at: u64,
    ) -> Result<(), ParseError> {
        let mut attributes = element.attributes();
        attributes.with_checks(false);
        for attribute in attributes {
            let attribute = attribute.map_err(|err| {
                self.error(
                    input.position_at(at),
                    self.path(),
                    ParseErrorKind::Xml(err.to_string()),
                )
            })?;
            let key = attribute.key.as_ref();
            let wanted = matches!(
                (role, key),
                (Role::Suites | Role::Suite, b"timestamp")
                    | (Role::Suite, b"name")
                    | (
                        Role::Case,
                        b"name" | b"classname" | b"time" | b"file" | b"line" | b"status"
                    )
                    | (
                        Role::Outcome | Role::SuiteOutcome | Role::Flaky | Role::Rerun,
                        b"message" | b"type"
                    )
            );
            if !wanted {
                continue;
            }
            if let Some(name) = xml_input::unescape_attr(&attribute.value, &mut self.scratch) {
                let place = self.place(input, at);
                self.warn(Warn::Entity, || {
                    format!(
                        "{place}: unknown entity reference &{};, kept as written",
                        name.as_bstr()
                    )
                });
            }
            let value = &self.scratch;
            match (role, key) {
                (Role::Suites | Role::Suite, b"timestamp") => self.timestamp(input, at),
                (Role::Suite, b"name") if !value.is_empty() => {
                    if !self.suite_path.is_empty() {
                        self.suite_path.push(b'.');
                    }
                    self.suite_path.extend_from_slice(value);
                }
                (Role::Case, b"name") => self.case.name.clone_from(value),
                (Role::Case, b"classname") => self.case.classname.clone_from(value),
                (Role::Case, b"file") => self.case.file = Some(value.clone()),
                (Role::Case, b"line") => self.case.line = Some(value.clone()),
                (Role::Case, b"status") => {
                    self.case.not_run = matches!(
                        value.trim_ascii().to_ascii_lowercase().as_slice(),
                        b"notrun" | b"disabled" | b"skipped" | b"ignored"
                    );
                }
                (Role::Case, b"time") => self.time(input, at),
                (Role::Outcome | Role::SuiteOutcome, b"message") => {
                    self.pending.message = Some(bounded(value));
                }
                (Role::Outcome | Role::SuiteOutcome, b"type") => {
                    if value.as_slice() == b"pytest.xfail"
                        && self.pending.outcome == Some(Outcome::Skipped)
                    {
                        self.pending.outcome = Some(Outcome::ExpectedFailure);
                    }
                    self.pending.kind = Some(bounded(value));
                }
                (Role::Flaky | Role::Rerun, b"message") if self.case.retry_message.is_none() => {
                    self.case.retry_message = Some(bounded(value));
                }
                (Role::Flaky | Role::Rerun, b"type") if self.case.retry_kind.is_none() => {
                    self.case.retry_kind = Some(bounded(value));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The testcase's `time` attribute, in `scratch`.
    fn time(&mut self, input: &Input<'_>, at: u64) {
        match parse_duration(&self.scratch) {
            Ok(time) => self.case.time = time,
            Err(()) => {
                self.case.time = None;
                let place = self.place(input, at);
                let path = self.path().unwrap_or_default();
                let value = BString::from(self.scratch.as_slice());
                self.warn(Warn::Time, || {
                    format!("{place} ({path}/@time): invalid number {value:?}; duration unknown")
                });
            }
        }
    }

    /// A suite's `timestamp` attribute, in `scratch`.
    fn timestamp(&mut self, input: &Input<'_>, at: u64) {
        if self.scratch.trim_ascii().is_empty() {
            return;
        }
        match parse_timestamp(&self.scratch) {
            Some(time) => self.sink.timestamp(time),
            None => {
                let place = self.place(input, at);
                let path = self.path().unwrap_or_default();
                let value = BString::from(self.scratch.as_slice());
                self.warn(Warn::Timestamp, || {
                    format!("{place} ({path}/@timestamp): invalid timestamp {value:?} ignored")
                });
            }
        }
    }

    fn end(&mut self) {
        let Some(frame) = self.frames.pop() else {
            return;
        };
        self.names.truncate(frame.name_start);
        match frame.role {
            Role::Case => self.emit_case(),
            // The most severe result element decides the status and supplies the message.
            Role::Outcome if self.pending.outcome > self.case.report.outcome => {
                std::mem::swap(&mut self.pending, &mut self.case.report);
            }
            Role::SuiteOutcome => self.emit_suite_outcome(),
            Role::Suite => self.suite_path.truncate(frame.suite_path_len),
            _ => {}
        }
    }

    fn emit_case(&mut self) {
        let case = &self.case;
        let test = identity(&case.classname, &case.name, &self.suite_path);
        let retried = case.flaky.saturating_add(case.reruns);
        let status = match case.report.outcome {
            Some(Outcome::Error) => Status::Error,
            Some(Outcome::Failure) => Status::Failed,
            Some(Outcome::ExpectedFailure) => Status::ExpectedFailure,
            Some(Outcome::Skipped) => Status::Skipped,
            None if retried > 0 => Status::Flaky,
            None if case.not_run => Status::Skipped,
            None => Status::Passed,
        };
        let mut message = message(case.report.message.as_deref(), &case.report.text);
        if message.is_none() && status == Status::Flaky {
            message = case.retry_message.as_deref().map(BString::from);
        }
        let mut details = Details::new();
        if let Some(id) = pytest_node_id(case) {
            details.insert("runner_id".into(), Value::String(id));
        }
        if let Some(file) = &case.file {
            details.insert("file".into(), lossy(file));
        }
        if let Some(line) = &case.line {
            let number = std::str::from_utf8(line.trim_ascii())
                .ok()
                .and_then(|s| s.parse::<u64>().ok());
            let value = number.map_or_else(|| lossy(line), Value::from);
            details.insert("line".into(), value);
        }
        let kind = case.report.kind.as_ref().or(if status == Status::Flaky {
            case.retry_kind.as_ref()
        } else {
            None
        });
        if let Some(kind) = kind.filter(|kind| !kind.trim().is_empty()) {
            details.insert("type".into(), lossy(kind));
        }
        if !case.report.text.is_blank() {
            details.insert("text".into(), lossy(&case.report.text.to_text()));
        }
        if matches!(status, Status::Failed | Status::Error | Status::Flaky) {
            if !case.out.is_blank() {
                details.insert("system_out".into(), lossy(&case.out.to_text()));
            }
            if !case.err.is_blank() {
                details.insert("system_err".into(), lossy(&case.err.to_text()));
            }
        }
        self.sink.result(TestResult {
            test,
            kind: Kind::Test,
            status,
            duration: case.time,
            message,
            attempts: 1u32.saturating_add(retried),
            details,
        });
    }

    /// A `<failure>`/`<error>` directly in a `<testsuite>`: the suite (its set-up, say) failed.
    fn emit_suite_outcome(&mut self) {
        let report = &self.pending;
        let test = if self.suite_path.is_empty() {
            BString::from(UNNAMED)
        } else {
            BString::from(self.suite_path.as_slice())
        };
        let status = match report.outcome {
            Some(Outcome::Error) => Status::Error,
            _ => Status::Failed,
        };
        let mut details = Details::new();
        if let Some(kind) = report.kind.as_ref().filter(|kind| !kind.trim().is_empty()) {
            details.insert("type".into(), lossy(kind));
        }
        if !report.text.is_blank() {
            details.insert("text".into(), lossy(&report.text.to_text()));
        }
        let mut result = TestResult::new(test, Kind::Test, status);
        result.message = message(report.message.as_deref(), &report.text);
        result.details = details;
        self.sink.result(result);
    }

    fn finish(&mut self, input: &Input<'_>) -> Result<(), ParseError> {
        if !self.frames.is_empty() {
            return Err(self.error(input.position(), self.path(), ParseErrorKind::Truncated));
        }
        if !self.root_seen {
            let text = if input.offset() == 0 {
                "the report is empty"
            } else {
                "the report is empty: it holds no XML element"
            };
            return Err(self.error(input.position(), None, ParseErrorKind::Other(text.into())));
        }
        Ok(())
    }

    /// The path of the open elements, like `testsuites/testsuite[0]/testcase[3]`.
    fn path(&self) -> Option<String> {
        if self.frames.is_empty() {
            return None;
        }
        let mut path = String::new();
        for (at, frame) in self.frames.iter().enumerate() {
            let end = self
                .frames
                .get(at + 1)
                .map_or(self.names.len(), |next| next.name_start);
            if at > 0 {
                path.push('/');
            }
            path.push_str(&String::from_utf8_lossy(&self.names[frame.name_start..end]));
            if let Some(index) = frame.index {
                path.push_str(&format!("[{index}]"));
            }
        }
        Some(path)
    }

    /// `source:line:column` of an offset, for warnings.
    fn place(&self, input: &Input<'_>, at: u64) -> String {
        let (line, column) = input.position_at(at);
        format!("{}:{line}:{column}", self.source)
    }

    fn warn(&mut self, kind: Warn, text: impl FnOnce() -> String) {
        let count = &mut self.warned[kind as usize];
        *count += 1;
        if *count == 1 {
            self.sink.warning(text());
        }
    }

    fn error(
        &self,
        (line, column): (u64, u64),
        path: Option<String>,
        kind: ParseErrorKind,
    ) -> ParseError {
        ParseError {
            format: FORMAT,
            source_name: self.source.to_owned(),
            line,
            column,
            path,
            kind,
        }
    }

    fn io_error(&self, at: (u64, u64), err: io::Error) -> ParseError {
        self.error(at, self.path(), ParseErrorKind::Io(err))
    }

    /// Maps a quick-xml error; `at` is where the failing event started, `err_at` where quick-xml
    /// places the error.
    fn xml_error(
        &self,
        input: &Input<'_>,
        err: quick_xml::Error,
        at: u64,
        err_at: u64,
    ) -> ParseError {
        match err {
            quick_xml::Error::Io(err) => {
                if err
                    .get_ref()
                    .is_some_and(|inner| inner.is::<MarkupTooLong>())
                {
                    let kind = ParseErrorKind::LimitExceeded(format!(
                        "a tag, comment or declaration longer than {} MiB",
                        MARKUP_LIMIT >> 20
                    ));
                    self.error(input.position_at(at), self.path(), kind)
                } else {
                    let err = io::Error::new(err.kind(), err.to_string());
                    self.io_error(input.position(), err)
                }
            }
            quick_xml::Error::Syntax(SyntaxError::InvalidBangMarkup) => {
                let kind = ParseErrorKind::Xml(err.to_string());
                self.error(input.position_at(err_at), self.path(), kind)
            }
            // Every other syntax error is the input ending inside a piece of markup.
            quick_xml::Error::Syntax(_) => {
                self.error(input.position(), self.path(), ParseErrorKind::Truncated)
            }
            err => {
                let kind = ParseErrorKind::Xml(err.to_string());
                self.error(input.position_at(err_at), self.path(), kind)
            }
        }
    }
}

/// The test's identity, per the contract: `classname.name`; where `classname` is missing or empty,
/// the enclosing suite names joined with `.`, then `.name`; where `name` already starts with
/// `classname.`, `name` alone. An empty name leaves the prefix alone.
fn identity(classname: &[u8], name: &[u8], suite_path: &[u8]) -> BString {
    // `name` already carries the classname (nextest-style `classname.name`), or is the classname
    // (jest-junit and ctest write the same text in both): `name` alone.
    if !classname.is_empty()
        && name.starts_with(classname)
        && (name.len() == classname.len() || name.get(classname.len()) == Some(&b'.'))
    {
        return BString::from(name);
    }
    let prefix = if classname.is_empty() {
        suite_path
    } else {
        classname
    };
    match (prefix.is_empty(), name.is_empty()) {
        (true, true) => BString::from(UNNAMED),
        (true, false) => BString::from(name),
        (false, true) => BString::from(prefix),
        (false, false) => {
            let mut test = Vec::with_capacity(prefix.len() + 1 + name.len());
            test.extend_from_slice(prefix);
            test.push(b'.');
            test.extend_from_slice(name);
            BString::from(test)
        }
    }
}

/// pytest's node id (`tests/test_x.py::Class::test`) from xunit1's `file` attribute, where the
/// classname is that file's module path followed by class names. `None` when they don't match.
fn pytest_node_id(case: &Case) -> Option<String> {
    let file = case.file.as_deref()?;
    let module_path = file.strip_suffix(b".py")?;
    let module: Vec<u8> = module_path
        .iter()
        .map(|&b| if b == b'/' || b == b'\\' { b'.' } else { b })
        .collect();
    let classname = case.classname.as_slice();
    let classes = if classname == module.as_slice() {
        &b""[..]
    } else if classname.starts_with(&module) && classname.get(module.len()) == Some(&b'.') {
        &classname[module.len() + 1..]
    } else {
        return None;
    };
    if case.name.is_empty() {
        return None;
    }
    let mut id = String::from_utf8_lossy(file).into_owned();
    for class in classes.split_str(".").filter(|part| !part.is_empty()) {
        id.push_str("::");
        id.push_str(&String::from_utf8_lossy(class));
    }
    id.push_str("::");
    id.push_str(&String::from_utf8_lossy(&case.name));
    Some(id)
}

/// The `message` attribute when it says something, else the first non-blank line of the body.
fn message(attribute: Option<&[u8]>, text: &Bounded) -> Option<BString> {
    if let Some(message) = attribute.filter(|message| !message.trim().is_empty()) {
        return Some(BString::from(message));
    }
    ByteSlice::lines(text.bytes.as_slice())
        .map(ByteSlice::trim)
        .find(|line| !line.is_empty())
        .map(BString::from)
}

/// An attribute value cut to [`TEXT_LIMIT`], marked when it was cut.
fn bounded(value: &[u8]) -> Vec<u8> {
    let mut kept = Bounded::default();
    kept.push(value, TEXT_LIMIT);
    if kept.truncated() {
        kept.to_text()
    } else {
        kept.bytes
    }
}

fn lossy(bytes: &[u8]) -> Value {
    Value::String(String::from_utf8_lossy(bytes).into_owned())
}

/// A duration in seconds: `1.5`, `1,234.5` (thousands separators), `1.234,5` or `0,5` (decimal
/// comma). Absent or blank is `Ok(None)`; anything else that is not a finite, non-negative number
/// is `Err`.
fn parse_duration(raw: &[u8]) -> Result<Option<f64>, ()> {
    let raw = raw.trim_ascii();
    if raw.is_empty() {
        return Ok(None);
    }
    let text = std::str::from_utf8(raw).map_err(|_| ())?;
    let seconds: f64 = match (text.rfind(','), text.rfind('.')) {
        (None, _) => text.parse().map_err(|_| ())?,
        // `1,234.5`: commas group thousands before the decimal point.
        (Some(comma), Some(point)) if comma < point => {
            grouped(&text[..point], ',')?;
            text.replace(',', "").parse().map_err(|_| ())?
        }
        // `1.234,5`: points group thousands before the decimal comma.
        (Some(comma), Some(_)) => {
            grouped(&text[..comma], '.')?;
            text.replace('.', "")
                .replace(',', ".")
                .parse()
                .map_err(|_| ())?
        }
        // `1,234` groups thousands; `0,5` or `12,34` has a decimal comma.
        (Some(_), None) => {
            if grouped(text, ',').is_ok() && text.contains(',') && !text.starts_with('0') {
                text.replace(',', "").parse().map_err(|_| ())?
            } else if text.matches(',').count() == 1 {
                text.replace(',', ".").parse().map_err(|_| ())?
            } else {
                return Err(());
            }
        }
    };
    if seconds.is_finite() && seconds >= 0.0 {
        Ok(Some(seconds))
    } else {
        Err(())
    }
}

/// Checks that `integer` is digits grouped by `separator` in threes (`1,234,567`), or plain digits.
fn grouped(integer: &str, separator: char) -> Result<(), ()> {
    let integer = integer.strip_prefix(['-', '+']).unwrap_or(integer);
    let mut groups = integer.split(separator);
    let first = groups.next().unwrap_or_default();
    let digits = |group: &str| !group.is_empty() && group.bytes().all(|b| b.is_ascii_digit());
    if !digits(first) || (integer.contains(separator) && first.len() > 3) {
        return Err(());
    }
    if groups.all(|group| group.len() == 3 && digits(group)) {
        Ok(())
    } else {
        Err(())
    }
}

/// A suite timestamp: RFC 3339 or RFC 2822, or a date and time without zone (or with a ` UTC`
/// suffix) taken as UTC, or a date alone (midnight UTC).
fn parse_timestamp(raw: &[u8]) -> Option<DateTime<Utc>> {
    let text = std::str::from_utf8(raw.trim_ascii()).ok()?;
    let naive = text
        .strip_suffix(" UTC")
        .or_else(|| text.strip_suffix(" GMT"))
        .unwrap_or(text);
    let layouts = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"];
    if let Some(time) = layouts
        .iter()
        .find_map(|layout| NaiveDateTime::parse_from_str(naive, layout).ok())
    {
        return Some(time.and_utc());
    }
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Some(time.with_timezone(&Utc));
    }
    if let Ok(time) = DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z") {
        return Some(time.with_timezone(&Utc));
    }
    if let Ok(time) = DateTime::parse_from_rfc2822(text) {
        return Some(time.with_timezone(&Utc));
    }
    let date = NaiveDate::parse_from_str(naive, "%Y-%m-%d").ok()?;
    Some(date.and_hms_opt(0, 0, 0)?.and_utc())
}
