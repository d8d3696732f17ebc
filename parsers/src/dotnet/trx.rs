//! Visual Studio's TRX test results (`dotnet test --logger trx`, `vstest.console /logger:trx`).
//!
//! A `<TestRun>` holds `<Results>` (one `<UnitTestResult>` per test run, with its outcome,
//! duration, `<ErrorInfo>` and output; a data-driven MSTest test nests its rows' results in
//! `<InnerResults>`), then `<TestDefinitions>` (each test's class). The class comes after the
//! results, so results are kept until the end of the report.

use std::collections::HashMap;
use std::io::BufRead;

use bstr::{BString, ByteSlice};
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{attribute, identity, kept, lines, Doc, Node};
use crate::error::{ParseError, ParseErrorKind};
use crate::format::{Confidence, Format, ParseOptions, Sink};
use crate::model::{Details, Kind, Status, TestResult};
use crate::xml_input::{self, Bounded};

/// Visual Studio TRX test results.
#[derive(Clone, Copy, Debug, Default)]
pub struct Trx;

const FORMAT: &str = "TRX";

impl Format for Trx {
    fn name(&self) -> &'static str {
        "trx"
    }

    fn description(&self) -> &'static str {
        "Visual Studio TRX test results (dotnet test --logger trx: MSTest, xUnit, NUnit)"
    }

    fn sniff(&self, head: &[u8]) -> Confidence {
        let text = xml_input::sniff_text(head);
        let root = xml_input::skip_prolog(&text);
        if xml_input::starts_element(root, b"TestRun") {
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
        let mut run = Run::default();
        // The results being read: a data-driven test's rows nest inside it.
        let mut open: Vec<Pending> = Vec::new();
        let mut definition: Option<Vec<u8>> = None;
        loop {
            let (name, attributes) = match doc.next(None)? {
                Node::Start(name, attributes) => (name, attributes),
                Node::End => continue,
                Node::Eof => break,
            };
            match name.as_slice() {
                b"TestRun" if doc.depth() == 1 => {}
                _ if doc.depth() == 1 => {
                    let kind = ParseErrorKind::NotThisFormat(format!(
                        "the root element is <{}>, not <TestRun>",
                        name.as_bstr()
                    ));
                    return Err(doc.error_here(kind));
                }
                b"Times" => {
                    if let Some(time) = attribute(&attributes, b"start")
                        .and_then(|s| s.to_str().ok())
                        .and_then(|s| DateTime::parse_from_rfc3339(s.trim()).ok())
                    {
                        sink.timestamp(time.with_timezone(&Utc));
                    }
                }
                b"UnitTestResult" => {
                    let pending = Pending::new(&attributes, !open.is_empty());
                    if let Some(parent) = open.last_mut() {
                        parent.has_rows = true;
                    }
                    open.push(pending);
                    // Read up to this result's end, or to a row nested in it.
                    read_result(&mut doc, &mut open, &mut run)?;
                }
                b"UnitTest" => definition = attribute(&attributes, b"id").map(<[u8]>::to_vec),
                b"TestMethod" => {
                    if let (Some(id), Some(class)) =
                        (definition.take(), attribute(&attributes, b"className"))
                    {
                        // Older MSTest writes the assembly-qualified name: `Ns.Class, Assembly, …`.
                        let class = class.split_str(",").next().unwrap_or(class).trim();
                        run.classes.insert(id, class.to_vec());
                    }
                }
                _ => {}
            }
        }
        run.finish(&options.source, sink);
        Ok(())
    }
}

/// Reads the parts of the innermost open result that matter, up to its end (or, for a
/// data-driven test, through each of its rows).
fn read_result(
    doc: &mut Doc<'_>,
    open: &mut Vec<Pending>,
    run: &mut Run,
) -> Result<(), ParseError> {
    let depth = doc.depth();
    loop {
        match doc.next(None)? {
            Node::End if doc.depth() < depth => {
                let done = open.pop().expect("a result is open");
                run.results.push(done);
                return Ok(());
            }
            Node::End => {}
            Node::Eof => return Err(doc.error_here(ParseErrorKind::Truncated)),
            Node::Start(name, attributes) => {
                let Some(current) = open.last_mut() else {
                    doc.skip()?;
                    continue;
                };
                match (doc.open_name(1), name.as_slice()) {
                    (b"ErrorInfo", b"Message") => doc.read_text(&mut current.message)?,
                    (b"ErrorInfo", b"StackTrace") => doc.read_text(&mut current.stack)?,
                    (b"Output", b"StdOut") => doc.read_text(&mut current.stdout)?,
                    (b"Output", b"StdErr") => doc.read_text(&mut current.stderr)?,
                    (b"InnerResults", b"UnitTestResult") => {
                        current.has_rows = true;
                        open.push(Pending::new(&attributes, true));
                        read_result(doc, open, run)?;
                    }
                    _ => {}
                }
            }
        }
    }
}

/// One `<UnitTestResult>` as read.
#[derive(Default)]
struct Pending {
    test_id: Vec<u8>,
    name: Vec<u8>,
    outcome: Vec<u8>,
    duration: Option<f64>,
    /// A row of a data-driven test.
    row: bool,
    /// A data-driven test whose rows are results of their own.
    has_rows: bool,
    message: Bounded,
    stack: Bounded,
    stdout: Bounded,
    stderr: Bounded,
}

impl Pending {
    fn new(attributes: &[(Vec<u8>, Vec<u8>)], row: bool) -> Pending {
        let get = |key: &[u8]| attribute(attributes, key).unwrap_or_default().to_vec();
        Pending {
            test_id: get(b"testId"),
            name: get(b"testName"),
            outcome: get(b"outcome"),
            duration: attribute(attributes, b"duration").and_then(duration),
            row,
            has_rows: attribute(attributes, b"resultType") == Some(b"DataDrivenTest"),
            ..Pending::default()
        }
    }
}

#[derive(Default)]
struct Run {
    results: Vec<Pending>,
    /// Each test id's class, from `<TestDefinitions>`.
    classes: HashMap<Vec<u8>, Vec<u8>>,
}

impl Run {
    fn finish(self, source: &str, sink: &mut dyn Sink) {
        let mut unknown: Option<(Vec<u8>, u64)> = None;
        let mut nameless = 0u64;
        for pending in self.results {
            // A data-driven test's own result only sums up its rows, which are reported.
            if pending.has_rows {
                continue;
            }
            if pending.name.trim().is_empty() {
                nameless += 1;
                continue;
            }
            let class = self
                .classes
                .get(&pending.test_id)
                .map_or(&b""[..], Vec::as_slice);
            let test: BString = identity(class, &pending.name);
            let status = match status(&pending.outcome) {
                Some(status) => status,
                None => {
                    let entry = unknown.get_or_insert_with(|| (pending.outcome.clone(), 0));
                    entry.1 += 1;
                    Status::Error
                }
            };
            let mut result = TestResult::new(test, Kind::Test, status);
            result.duration = pending.duration;
            result.message = kept(&pending.message);
            if !status.is_passing() {
                let mut details = Details::new();
                if pending.row {
                    details.insert("data_row".into(), Value::Bool(true));
                }
                for (key, text) in [
                    ("text", &pending.stack),
                    ("system_out", &pending.stdout),
                    ("system_err", &pending.stderr),
                ] {
                    if !text.is_blank() {
                        let text = String::from_utf8_lossy(&lines(text)).into_owned();
                        details.insert(key.into(), Value::String(text));
                    }
                }
                result.details = details;
            }
            sink.result(result);
        }
        if let Some((outcome, count)) = unknown {
            sink.warning(format!(
                "{source}: {count} results have an outcome TRX does not define (the first: {:?}); \
                 they are read as errors",
                outcome.as_bstr()
            ));
        }
        if nameless > 0 {
            sink.warning(format!(
                "{source}: {nameless} results name no test (an empty testName); they are left out"
            ));
        }
    }
}

/// TRX's outcomes (vstst.xsd `TestOutcome`) as probtrack's statuses.
fn status(outcome: &[u8]) -> Option<Status> {
    Some(match outcome {
        b"Passed" | b"PassedButRunAborted" | b"Completed" | b"Warning" => Status::Passed,
        b"Failed" => Status::Failed,
        b"Error" | b"Timeout" | b"Aborted" | b"NotRunnable" | b"Disconnected" => Status::Error,
        b"NotExecuted" | b"Inconclusive" | b"InProgress" | b"Pending" => Status::Skipped,
        _ => return None,
    })
}

/// A TRX duration, `hh:mm:ss.fffffff` (hours may be preceded by days, `d.hh`), in seconds.
fn duration(text: &[u8]) -> Option<f64> {
    let text = text.to_str().ok()?.trim();
    let mut parts = text.split(':');
    let (hours, minutes, seconds) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let hours = match hours.split_once('.') {
        Some((days, hours)) => {
            days.parse::<u32>().ok()? as f64 * 24.0 + hours.parse::<u32>().ok()? as f64
        }
        None => hours.parse::<u32>().ok()? as f64,
    };
    let minutes = minutes.parse::<u32>().ok()? as f64;
    let seconds: f64 = seconds.parse().ok()?;
    let total = hours * 3600.0 + minutes * 60.0 + seconds;
    (total.is_finite() && total >= 0.0 && seconds >= 0.0).then_some(total)
}
