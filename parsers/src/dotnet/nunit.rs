//! NUnit 3's result XML (`nunit3-console --result=TestResult.xml`, NUnit's own adapters).
//!
//! A `<test-run>` holds nested `<test-suite>`s (assembly, namespaces, fixtures, and a
//! parameterized method's or theory's rows) and `<test-case>`s, each with its `result`, `label`,
//! `duration`, a `<failure>` (message and stack trace) or `<reason>` (a skip's message) and
//! `<output>`. Results are sent as each `<test-case>` ends.

use std::io::BufRead;

use bstr::{BString, ByteSlice};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::Value;

use super::{attribute, identity, kept, lines, Doc, Node};
use crate::error::{ParseError, ParseErrorKind};
use crate::format::{Confidence, Format, ParseOptions, Sink};
use crate::model::{Details, Kind, Status, TestResult};
use crate::xml_input::{self, Bounded};

/// NUnit 3 result XML.
#[derive(Clone, Copy, Debug, Default)]
pub struct NUnit;

const FORMAT: &str = "NUnit XML";

impl Format for NUnit {
    fn name(&self) -> &'static str {
        "nunit"
    }

    fn description(&self) -> &'static str {
        "NUnit 3 result XML (nunit3-console --result, <test-run>)"
    }

    fn sniff(&self, head: &[u8]) -> Confidence {
        let text = xml_input::sniff_text(head);
        let root = xml_input::skip_prolog(&text);
        if xml_input::starts_element(root, b"test-run") {
            Confidence::HIGH
        } else {
            Confidence::NONE
        }
    }

    fn parse(
        &self,
        input: &mut dyn BufRead,
        options: &ParseOptions,
        sink: &mut dyn Sink,
    ) -> Result<(), ParseError> {
        let (mut doc, warning) = Doc::new(input, FORMAT, &options.source)?;
        if let Some(warning) = warning {
            sink.warning(format!("{}: {warning}", options.source));
        }
        let mut unknown: Option<(Vec<u8>, u64)> = None;
        loop {
            let (name, attributes) = match doc.next(None)? {
                Node::Start(name, attributes) => (name, attributes),
                Node::End => continue,
                Node::Eof => break,
            };
            match name.as_slice() {
                b"test-run" if doc.depth() == 1 => {
                    if let Some(time) = attribute(&attributes, b"start-time").and_then(timestamp) {
                        sink.timestamp(time);
                    }
                }
                _ if doc.depth() == 1 => {
                    let kind = ParseErrorKind::NotThisFormat(format!(
                        "the root element is <{}>, not <test-run> (NUnit 2's <test-results> is \
                         not read)",
                        name.as_bstr()
                    ));
                    return Err(doc.error_here(kind));
                }
                b"test-case" => {
                    let case = read_case(&mut doc, &attributes)?;
                    match case.result(&mut unknown) {
                        Some(result) => sink.result(result),
                        None => sink.warning(format!(
                            "{}: a <test-case> names no test (no fullname or name); it is left out",
                            options.source
                        )),
                    }
                }
                _ => {}
            }
        }
        if let Some((result, count)) = unknown {
            sink.warning(format!(
                "{}: {count} test cases have a result NUnit does not define (the first: {:?}); \
                 they are read as errors",
                options.source,
                result.as_bstr()
            ));
        }
        Ok(())
    }
}

/// One `<test-case>` as read.
#[derive(Default)]
struct Case {
    fullname: Vec<u8>,
    name: Vec<u8>,
    classname: Vec<u8>,
    result: Vec<u8>,
    label: Vec<u8>,
    duration: Option<f64>,
    message: Bounded,
    stack: Bounded,
    output: Bounded,
}

/// Reads a `<test-case>` (just started) to its end.
fn read_case(doc: &mut Doc<'_>, attributes: &[(Vec<u8>, Vec<u8>)]) -> Result<Case, ParseError> {
    let get = |key: &[u8]| attribute(attributes, key).unwrap_or_default().to_vec();
    let mut case = Case {
        fullname: get(b"fullname"),
        name: get(b"name"),
        classname: get(b"classname"),
        result: get(b"result"),
        label: get(b"label"),
        duration: attribute(attributes, b"duration")
            .and_then(|d| d.to_str().ok()?.trim().parse::<f64>().ok())
            .filter(|d| d.is_finite() && *d >= 0.0),
        ..Case::default()
    };
    let depth = doc.depth();
    loop {
        match doc.next(None)? {
            Node::End if doc.depth() < depth => return Ok(case),
            Node::End => {}
            Node::Eof => return Err(doc.error_here(ParseErrorKind::Truncated)),
            // Only the case's own failure or reason: `<assertions>` repeats them per assertion.
            Node::Start(name, _) => match (doc.open_name(1), name.as_slice()) {
                (b"failure" | b"reason", b"message") if doc.depth() == depth + 2 => {
                    doc.read_text(&mut case.message)?;
                }
                (b"failure", b"stack-trace") if doc.depth() == depth + 2 => {
                    doc.read_text(&mut case.stack)?;
                }
                (b"test-case", b"output") => doc.read_text(&mut case.output)?,
                _ => {}
            },
        }
    }
}

impl Case {
    fn result(self, unknown: &mut Option<(Vec<u8>, u64)>) -> Option<TestResult> {
        let test: BString = if !self.fullname.trim().is_empty() {
            BString::from(self.fullname.trim())
        } else if !self.name.trim().is_empty() {
            identity(self.classname.trim(), self.name.trim())
        } else {
            return None;
        };
        let status = match status(&self.result, &self.label) {
            Some(status) => status,
            None => {
                let entry = unknown.get_or_insert_with(|| (self.result.clone(), 0));
                entry.1 += 1;
                Status::Error
            }
        };
        let mut result = TestResult::new(test, Kind::Test, status);
        result.duration = self.duration;
        result.message = kept(&self.message);
        if !status.is_passing() {
            let mut details = Details::new();
            if !self.label.is_empty() {
                details.insert("label".into(), lossy(&self.label));
            }
            if !self.stack.is_blank() {
                details.insert("text".into(), lossy(&lines(&self.stack)));
            }
            if !self.output.is_blank() {
                details.insert("system_out".into(), lossy(&lines(&self.output)));
            }
            result.details = details;
        }
        Some(result)
    }
}

/// NUnit's `result` and `label` as probtrack's statuses.
fn status(result: &[u8], label: &[u8]) -> Option<Status> {
    Some(match (result, label) {
        (b"Passed" | b"Warning", _) => Status::Passed,
        (b"Failed", b"Error" | b"Cancelled" | b"Invalid") => Status::Error,
        (b"Failed", _) => Status::Failed,
        (b"Skipped" | b"Inconclusive", _) => Status::Skipped,
        _ => return None,
    })
}

/// NUnit's `start-time`: `2021-06-28 20:23:41Z` or ISO 8601.
fn timestamp(text: &[u8]) -> Option<DateTime<Utc>> {
    let text = text.to_str().ok()?.trim();
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Some(time.with_timezone(&Utc));
    }
    let bare = text.strip_suffix('Z').unwrap_or(text);
    NaiveDateTime::parse_from_str(bare, "%Y-%m-%d %H:%M:%S%.f")
        .ok()
        .map(|naive| naive.and_utc())
}

fn lossy(bytes: &[u8]) -> Value {
    Value::String(String::from_utf8_lossy(bytes).into_owned())
}
