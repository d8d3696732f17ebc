//! TAP, the Test Anything Protocol (versions 12 to 14), as `prove -v` and `node --test
//! --test-reporter=tap` print it.
//!
//! Test points (`ok 3 - name # SKIP why`), plans (`1..N`), subtests (an indented block, announced
//! by `# Subtest: name`, closed by its parent's test point), YAML diagnostics (`---` … `...`
//! indented under a test point), `#` diagnostics, `Bail out!`; and prove's own lines around them
//! (`t/basic.t .. ` before each file's TAP, `Dubious, test returned 255`, its summary). A subtest's
//! results are known only when its parent's test point names it, so they wait for it; everything
//! else streams. See `docs/parsers.md`.

use std::collections::HashSet;

use bstr::{BString, ByteSlice};

use crate::error::{ParseError, ParseErrorKind};
use crate::format::{Confidence, Format, ParseOptions, Sink};
use crate::lines::{finish_capped, push_capped, Lines};
use crate::model::{Kind, Status, TestResult};

/// TAP streams (prove, node --test, tap-producing runners).
#[derive(Clone, Copy, Debug, Default)]
pub struct Tap;

const HUMAN_NAME: &str = "TAP";

/// The longest line kept; the rest of a longer line is dropped.
const LINE_CAP: usize = 64 * 1024;
/// The most diagnostics kept for one test.
const TEXT_CAP: usize = 64 * 1024;
/// The deepest subtest nesting read.
const DEPTH_CAP: usize = 100;

impl Format for Tap {
    fn name(&self) -> &'static str {
        "tap"
    }

    fn description(&self) -> &'static str {
        "TAP 13/14 streams (prove -v, node --test --test-reporter=tap): subtests, SKIP/TODO, YAML"
    }

    fn sniff(&self, head: &[u8]) -> Confidence {
        sniff(head)
    }

    fn parse(
        &self,
        input: &mut dyn std::io::BufRead,
        options: &ParseOptions,
        sink: &mut dyn Sink,
    ) -> Result<(), ParseError> {
        let mut lines = Lines::new(input, LINE_CAP, HUMAN_NAME, &options.source);
        let mut parser = Parser::new(&options.source);
        let mut line = Vec::new();
        while lines.next(&mut line)? {
            parser
                .line(&line, lines.number, sink)
                .map_err(|kind| lines.error(lines.number, 0, kind))?;
        }
        if let Some(yaml) = &parser.yaml {
            return Err(lines.error(
                yaml.start,
                0,
                ParseErrorKind::Other(format!(
                    "the report is truncated: the YAML block that starts at line {} is not \
                     closed by `...`",
                    yaml.start
                )),
            ));
        }
        parser.close_file(sink);
        if let Some(reason) = parser.bail.filter(|_| !parser.bail_used) {
            sink.warning(format!(
                "{}: the run bailed out: {}",
                options.source,
                reason.to_str_lossy()
            ));
        }
        Ok(())
    }
}

/// HIGH for a `TAP version` line, or test points with a plan or under a prove file header;
/// MEDIUM for two or more test points; NONE otherwise and for anything starting with `<`.
fn sniff(head: &[u8]) -> Confidence {
    if head.trim_start().starts_with(b"<") {
        return Confidence::NONE;
    }
    let mut points = 0;
    let mut plan = false;
    let mut header = false;
    for line in head.lines().take(2000) {
        let trimmed = line.trim_start();
        if line.starts_with(b"TAP version 1") {
            return Confidence::HIGH;
        }
        if test_point(trimmed).is_some() {
            points += 1;
        } else if parse_plan(trimmed).is_some() {
            plan = true;
        } else if prove_header(line).is_some() {
            header = true;
        }
    }
    match points {
        0 => Confidence::NONE,
        _ if plan || header => Confidence::HIGH,
        1 => Confidence::LOW,
        _ => Confidence::MEDIUM,
    }
}

/// A test point: `ok`/`not ok`, the number, the description and the directive.
#[derive(Debug)]
struct Point {
    ok: bool,
    number: Option<u64>,
    description: BString,
    directive: Option<(Directive, BString)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Directive {
    Skip,
    Todo,
}

fn test_point(line: &[u8]) -> Option<Point> {
    let (ok, rest) = if let Some(rest) = line.strip_prefix(b"not ok") {
        (false, rest)
    } else {
        (true, line.strip_prefix(b"ok")?)
    };
    if !(rest.is_empty() || rest.starts_with(b" ") || rest.starts_with(b"\t")) {
        return None;
    }
    let rest = rest.trim_start();
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let number = rest[..digits].to_str().ok().and_then(|n| n.parse().ok());
    let mut rest = rest[digits..].trim_start();
    if let Some(after) = rest.strip_prefix(b"-") {
        rest = after.trim_start();
    }
    // The directive follows the first `#` that is not escaped as `\#`.
    let mut description = Vec::new();
    let mut directive = None;
    let mut i = 0;
    while let Some(&byte) = rest.get(i) {
        match byte {
            b'\\' if matches!(rest.get(i + 1), Some(b'#' | b'\\')) => {
                description.push(rest[i + 1]);
                i += 2;
            }
            b'#' => {
                directive = parse_directive(&rest[i + 1..]);
                if directive.is_none() {
                    // A `#` that starts no directive is part of the description.
                    description.push(byte);
                    i += 1;
                    continue;
                }
                break;
            }
            _ => {
                description.push(byte);
                i += 1;
            }
        }
    }
    Some(Point {
        ok,
        number,
        description: BString::from(description.trim()),
        directive,
    })
}

fn parse_directive(text: &[u8]) -> Option<(Directive, BString)> {
    let text = text.trim_start();
    let word: Vec<u8> = text
        .iter()
        .take_while(|b| b.is_ascii_alphabetic())
        .map(u8::to_ascii_lowercase)
        .collect();
    let directive = if word.starts_with(b"skip") {
        Directive::Skip
    } else if word.starts_with(b"todo") {
        Directive::Todo
    } else {
        return None;
    };
    let reason = text[word.len()..].trim_start_with(|c| c == ':').trim();
    Some((directive, BString::from(reason)))
}

/// `1..N`, with an optional `# SKIP reason`: the number of tests and whether all are skipped.
fn parse_plan(line: &[u8]) -> Option<(u64, Option<BString>)> {
    let rest = line.strip_prefix(b"1..")?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let count = rest[..digits].to_str().ok()?.parse().ok()?;
    let rest = rest[digits..].trim();
    if rest.is_empty() {
        return Some((count, None));
    }
    let skip = rest
        .strip_prefix(b"#")
        .and_then(parse_directive)
        .filter(|(d, _)| *d == Directive::Skip)?;
    Some((count, Some(skip.1)))
}

/// prove's line before a file's TAP: `t/basic.t .. ` (with `--timer`, `[12:00:00] ` before it);
/// without `-v`, the file's verdict follows the dots on the same line.
fn prove_header(line: &[u8]) -> Option<BString> {
    let line = strip_timer(line);
    let space = line.find(b" ..")?;
    let name = &line[..space];
    if name.is_empty() || name.contains(&b' ') || name.starts_with(b"#") {
        return None;
    }
    let rest = line[space + 1..].trim_start_with(|c| c == '.');
    let rest = rest.trim();
    let verdicts: [&[u8]; 7] = [
        b"ok",
        b"skipped",
        b"Failed",
        b"Dubious",
        b"No subtests run",
        b"All ",
        b"Parse errors",
    ];
    if rest.is_empty() || verdicts.iter().any(|v| rest.starts_with(v)) {
        Some(BString::from(name))
    } else {
        None
    }
}

fn strip_timer(line: &[u8]) -> &[u8] {
    if line.len() > 11
        && line[0] == b'['
        && line[9] == b']'
        && line[1..9].iter().all(|b| b.is_ascii_digit() || *b == b':')
    {
        &line[11..]
    } else {
        line
    }
}

/// One result waiting for its place: inside a subtest, until the parent's test point names it.
#[derive(Debug)]
struct Pending {
    /// The identity relative to the frame it sits in.
    result: TestResult,
    /// A test point that closed a subtest: not a result of its own (unless it failed on its own).
    container: bool,
    /// Its diagnostics: the YAML block and `#` lines after it.
    text: Vec<u8>,
    dropped: usize,
    yaml_message: Option<BString>,
    diag_message: Option<BString>,
}

/// The test points at one indentation (one subtest level).
#[derive(Debug, Default)]
struct Frame {
    indent: usize,
    results: Vec<Pending>,
    plan: Option<u64>,
    points: u64,
}

/// An open YAML block.
#[derive(Debug)]
struct Yaml {
    start: u64,
    indent: usize,
}

/// One TAP stream: a prove file, or the whole input when nothing names files.
#[derive(Debug, Default)]
struct File {
    name: Option<BString>,
    frames: Vec<Frame>,
    any_failed: bool,
    /// `1..0 # SKIP why`: the whole file was skipped.
    skipped_all: Option<BString>,
    dubious: Option<BString>,
    seen: HashSet<BString>,
    any_content: bool,
}

struct Parser {
    source: String,
    file: File,
    yaml: Option<Yaml>,
    /// Whether `#` lines attach to the last test point (until the next test point or subtest).
    diag_open: bool,
    /// prove printed its summary: nothing after it is TAP.
    summary: bool,
    /// A bail-out not yet blamed on a file that stopped short.
    bail: Option<BString>,
    /// Whether a bail-out was blamed on a file.
    bail_used: bool,
}

impl Parser {
    fn new(source: &str) -> Self {
        Parser {
            source: source.to_owned(),
            file: File::default(),
            yaml: None,
            diag_open: false,
            summary: false,
            bail: None,
            bail_used: false,
        }
    }

    fn line(
        &mut self,
        line: &[u8],
        number: u64,
        sink: &mut dyn Sink,
    ) -> Result<(), ParseErrorKind> {
        let indent = line.iter().take_while(|b| **b == b' ').count();
        let trimmed = line[indent..].trim_end();
        if let Some(yaml) = &self.yaml {
            if trimmed == b"..." && indent <= yaml.indent + 1 {
                self.yaml = None;
                self.finish_yaml();
            } else {
                self.attach(line);
            }
            return Ok(());
        }
        if let Some(name) = prove_header(line) {
            self.close_file(sink);
            self.summary = false;
            self.file.name = Some(name);
            return Ok(());
        }
        if line.starts_with(b"Test Summary Report") {
            self.close_file(sink);
            self.summary = true;
            return Ok(());
        }
        if let Some(reason) = bail_out(trimmed) {
            // prove reports a bail-out apart from the file's TAP (before or after it, as its
            // output streams interleave): it belongs to the run.
            if self.bail.is_none() {
                self.bail = Some(reason);
            }
            self.diag_open = false;
            return Ok(());
        }
        if self.summary {
            return Ok(());
        }
        if let Some(dubious) = line.strip_prefix(b"Dubious, ") {
            self.file.dubious = Some(BString::from(dubious.trim()));
            return Ok(());
        }
        if indent == 0 && trimmed.starts_with(b"TAP version ") {
            if self.file.any_content && self.file.name.is_none() {
                // A second stream in the same log.
                self.close_file(sink);
            }
            return Ok(());
        }
        if trimmed == b"---" && self.diag_open {
            if let Some(frame_indent) = self.last_indent() {
                if indent >= frame_indent {
                    self.yaml = Some(Yaml {
                        start: number,
                        indent,
                    });
                    self.attach(line);
                    return Ok(());
                }
            }
        }
        if let Some(point) = test_point(trimmed) {
            self.point(point, indent)?;
            return Ok(());
        }
        if let Some((count, skip)) = parse_plan(trimmed) {
            let depth = self.frame_at(indent)?;
            self.file.frames[depth].plan = Some(count);
            self.file.any_content = true;
            if depth == 0 && count == 0 {
                self.file.skipped_all = Some(skip.unwrap_or_default());
            }
            self.diag_open = false;
            return Ok(());
        }
        if !trimmed.is_empty() && !trimmed.starts_with(b"#") {
            // Any other text (a program's own output, prove's verdicts) ends the diagnostics.
            self.diag_open = false;
        }
        if let Some(comment) = trimmed.strip_prefix(b"#") {
            if comment.trim_start().starts_with(b"Subtest:") {
                self.diag_open = false;
            } else if self.diag_open {
                self.attach(line);
                let text = comment.trim();
                if let Some(pending) = self.last_pending() {
                    if pending.diag_message.is_none() && is_message(text) {
                        pending.diag_message = Some(BString::from(text));
                    }
                }
            }
        }
        Ok(())
    }

    /// The frame for `indent`, opening (a subtest) or closing (back to a parent) frames.
    fn frame_at(&mut self, indent: usize) -> Result<usize, ParseErrorKind> {
        let frames = &mut self.file.frames;
        if frames.is_empty() {
            // The top level is the unindented one, whatever comes first (node announces a
            // subtest before the first test point, which is indented under it).
            frames.push(Frame::default());
        }
        while frames.len() > 1 && frames.last().is_some_and(|f| f.indent > indent) {
            // A subtest whose parent's test point never came (a cut-off stream): its results go
            // to the level above as they are.
            if let Some(orphan) = frames.pop() {
                if let Some(parent) = frames.last_mut() {
                    parent.results.extend(orphan.results);
                }
            }
        }
        let last = frames.len() - 1;
        if indent > frames[last].indent {
            if frames.len() >= DEPTH_CAP {
                return Err(ParseErrorKind::LimitExceeded(format!(
                    "subtests nested more than {DEPTH_CAP} deep"
                )));
            }
            frames.push(Frame {
                indent,
                ..Frame::default()
            });
            return Ok(frames.len() - 1);
        }
        Ok(last)
    }

    fn point(&mut self, point: Point, indent: usize) -> Result<(), ParseErrorKind> {
        self.file.any_content = true;
        // A test point closes the subtest indented under it: its results are its children.
        let children = {
            let frames = &mut self.file.frames;
            let mut children = None;
            while frames.len() > 1 && frames.last().is_some_and(|f| f.indent > indent) {
                let child = frames.pop().unwrap_or_default();
                match frames.last_mut() {
                    Some(parent) if parent.indent > indent => parent.results.extend(child.results),
                    _ => {
                        children = Some(child);
                        break;
                    }
                }
            }
            children
        };
        let depth = self.frame_at(indent)?;
        let mut name = point.description.clone();
        if name.is_empty() {
            name = BString::from(format!("#{}", point.number.unwrap_or_default()));
        }
        let (status, reason) = match (&point.directive, point.ok) {
            (Some((Directive::Skip, reason)), _) => (Status::Skipped, Some(reason.clone())),
            (Some((Directive::Todo, reason)), false) => {
                (Status::ExpectedFailure, Some(reason.clone()))
            }
            (Some((Directive::Todo, reason)), true) => {
                (Status::UnexpectedSuccess, Some(reason.clone()))
            }
            (None, true) => (Status::Passed, None),
            (None, false) => (Status::Failed, None),
        };
        let frame = &mut self.file.frames[depth];
        frame.points += 1;
        let mut child_failed = false;
        if let Some(children) = children {
            for mut pending in children.results {
                child_failed |= pending.result.status.is_failing();
                let mut test = name.clone();
                test.push(b'.');
                test.extend_from_slice(&pending.result.test);
                pending.result.test = test;
                frame.results.push(pending);
            }
            // The parent of a subtest is a result of its own only where it failed by itself.
            let container = !status.is_failing() || child_failed;
            let mut result = TestResult::new(name, Kind::Test, status);
            result.message = reason.filter(|r| !r.is_empty());
            frame.results.push(Pending {
                result,
                container,
                text: Vec::new(),
                dropped: 0,
                yaml_message: None,
                diag_message: None,
            });
        } else {
            let mut result = TestResult::new(name, Kind::Test, status);
            result.message = reason.filter(|r| !r.is_empty());
            frame.results.push(Pending {
                result,
                container: false,
                text: Vec::new(),
                dropped: 0,
                yaml_message: None,
                diag_message: None,
            });
        }
        self.diag_open = true;
        Ok(())
    }

    fn last_pending(&mut self) -> Option<&mut Pending> {
        self.file.frames.iter_mut().rev().find_map(|f| {
            if f.results.is_empty() {
                None
            } else {
                f.results.last_mut()
            }
        })
    }

    fn last_indent(&self) -> Option<usize> {
        self.file
            .frames
            .iter()
            .rev()
            .find(|f| !f.results.is_empty())
            .map(|f| f.indent)
    }

    fn attach(&mut self, line: &[u8]) {
        if let Some(pending) = self.last_pending() {
            pending.dropped += push_capped(&mut pending.text, line, TEXT_CAP);
            pending.dropped += push_capped(&mut pending.text, b"\n", TEXT_CAP);
        }
    }

    /// Reads the message, duration and kind of failure out of the YAML block just closed.
    fn finish_yaml(&mut self) {
        let Some(pending) = self.last_pending() else {
            return;
        };
        let yaml = yaml_block(&pending.text);
        if let Some(ms) = yaml.duration_ms {
            pending.result.duration = Some(ms / 1000.0);
        }
        if pending.yaml_message.is_none() {
            pending.yaml_message = yaml.message;
        }
        if pending.result.status == Status::Failed
            && matches!(
                yaml.failure_type.as_deref(),
                Some("hookFailed" | "cancelledByParent")
            )
        {
            pending.result.status = Status::Error;
        }
        if let Some(kind) = yaml.failure_type {
            pending
                .result
                .details
                .insert("failure_type".into(), kind.into());
        }
    }

    /// The end of one file's (or the stream's) TAP: its results, and a failure of the file itself.
    fn close_file(&mut self, sink: &mut dyn Sink) {
        self.diag_open = false;
        let mut file = std::mem::take(&mut self.file);
        // Subtests never closed by a parent: their results stand as they are.
        while file.frames.len() > 1 {
            let orphan = file.frames.pop().unwrap_or_default();
            if let Some(parent) = file.frames.last_mut() {
                parent.results.extend(orphan.results);
            }
        }
        let top = file.frames.pop().unwrap_or_default();
        let prefix = file.name.clone();
        for pending in top.results {
            if pending.container {
                continue;
            }
            let mut result = pending.result;
            if let Some(prefix) = &prefix {
                let mut test = prefix.clone();
                test.push(b'.');
                test.extend_from_slice(&result.test);
                result.test = test;
            }
            if !file.seen.insert(result.test.clone()) {
                // Two test points with one description: told apart by their place.
                let n = file.seen.len();
                result.test.extend_from_slice(format!(" #{n}").as_bytes());
                file.seen.insert(result.test.clone());
            }
            if result.status.is_failing() {
                file.any_failed = true;
            }
            if result.status != Status::Passed
                && (result.message.is_none() || result.status.is_failing())
            {
                if let Some(message) = pending.yaml_message.or(pending.diag_message) {
                    result.message = Some(message);
                }
            }
            if !pending.text.is_empty() && result.status != Status::Passed {
                let text = finish_capped(pending.text, pending.dropped);
                result.details.insert(
                    "text".into(),
                    serde_json::Value::String(text.to_str_lossy().into_owned()),
                );
            }
            sink.result(result);
        }
        // The file itself failed: it bailed out, ran a number of tests other than its plan, or
        // exited abnormally, with no failing test to show for it.
        let mut why = Vec::new();
        match top.plan {
            Some(plan) if plan != top.points && file.skipped_all.is_none() => {
                why.push(format!("planned {plan} tests but ran {}", top.points));
            }
            None if top.points > 0 && (file.dubious.is_some() || file.name.is_some()) => {
                why.push("no plan: the test ended early".to_owned());
            }
            _ => {}
        }
        if let Some(dubious) = &file.dubious {
            why.push(format!("Dubious, {dubious}"));
        }
        if let Some(reason) = file.skipped_all {
            if let Some(name) = &file.name {
                let mut result = TestResult::new(name.clone(), Kind::Test, Status::Skipped);
                result.message = Some(reason).filter(|r| !r.is_empty());
                sink.result(result);
            }
        }
        if why.is_empty() || file.any_failed {
            return;
        }
        if let Some(reason) = self.bail.as_ref().filter(|_| !self.bail_used) {
            why.insert(0, format!("bailed out: {reason}"));
            self.bail_used = true;
        }
        let message = why.join("; ");
        match file.name {
            Some(name) => {
                let mut result = TestResult::new(name, Kind::Test, Status::Error);
                result.message = Some(BString::from(message));
                sink.result(result);
            }
            None if file.any_content => {
                sink.warning(format!("{}: the TAP stream failed: {message}", self.source));
            }
            None => {}
        }
    }
}

/// `Bail out! reason`, and prove's report of one.
fn bail_out(line: &[u8]) -> Option<BString> {
    for prefix in [
        &b"Bail out!"[..],
        b"Bailout called.  Further testing stopped:",
        b"FAILED--Further testing stopped:",
    ] {
        if let Some(reason) = line.strip_prefix(prefix) {
            return Some(BString::from(reason.trim()));
        }
    }
    None
}

/// A `#` line worth being a test's message: not Test::More's `Failed test '…'` and `at FILE line
/// N.` lines that only repeat the test's name and place.
fn is_message(text: &[u8]) -> bool {
    !(text.is_empty()
        || text.starts_with(b"Failed test")
        || text.starts_with(b"Failed (TODO) test")
        || text.starts_with(b"Looks like")
        || (text.starts_with(b"at ") && text.ends_with(b".") && text.find(b" line ").is_some()))
}

#[derive(Debug, Default)]
struct YamlFacts {
    message: Option<BString>,
    duration_ms: Option<f64>,
    failure_type: Option<String>,
}

/// The few keys of a YAML diagnostic block that matter (`message`/`error`, `duration_ms`,
/// `failureType`), read from its top-level lines without a YAML library.
fn yaml_block(text: &[u8]) -> YamlFacts {
    let mut facts = YamlFacts::default();
    let mut lines = text
        .lines()
        .skip_while(|l| l.trim() != b"---")
        .skip(1)
        .peekable();
    let mut top: Option<usize> = None;
    while let Some(line) = lines.next() {
        let indent = line.iter().take_while(|b| **b == b' ').count();
        let content = line[indent..].trim_end();
        if content.is_empty() || content == b"..." {
            continue;
        }
        let top_indent = *top.get_or_insert(indent);
        if indent != top_indent {
            continue;
        }
        let Some(colon) = content
            .find(b": ")
            .or_else(|| content.ends_with(b":").then(|| content.len() - 1))
        else {
            continue;
        };
        let key = &content[..colon];
        let value = content[colon + 1..].trim();
        match key {
            b"message" | b"error" if facts.message.is_none() => {
                let scalar = if matches!(value, b"|" | b"|-" | b"|+" | b">" | b">-" | b">+")
                    || value.is_empty()
                {
                    // A block scalar: its first non-empty line.
                    let mut first = None;
                    while let Some(next) = lines.peek() {
                        let next_indent = next.iter().take_while(|b| **b == b' ').count();
                        if !next.trim().is_empty() && next_indent <= top_indent {
                            break;
                        }
                        let next = lines.next().unwrap_or_default();
                        if first.is_none() && !next.trim().is_empty() {
                            first = Some(BString::from(next.trim()));
                        }
                    }
                    first
                } else {
                    Some(unquote(value))
                };
                facts.message = scalar.filter(|m| !m.is_empty());
            }
            b"duration_ms" => {
                facts.duration_ms = value
                    .to_str()
                    .ok()
                    .and_then(|v| v.parse::<f64>().ok())
                    .filter(|v| v.is_finite() && *v >= 0.0);
            }
            b"failureType" => {
                facts.failure_type = Some(unquote(value).to_str_lossy().into_owned());
            }
            _ => {}
        }
    }
    facts
}

/// A YAML flow scalar without its quotes (`'it''s'`, `"a \"b\""`).
fn unquote(value: &[u8]) -> BString {
    if value.len() >= 2 && value.starts_with(b"'") && value.ends_with(b"'") {
        return BString::from(value[1..value.len() - 1].replace(b"''", b"'"));
    }
    if value.len() >= 2 && value.starts_with(b"\"") && value.ends_with(b"\"") {
        let inner = &value[1..value.len() - 1];
        let mut out = Vec::with_capacity(inner.len());
        let mut i = 0;
        while let Some(&byte) = inner.get(i) {
            if byte == b'\\' {
                match inner.get(i + 1) {
                    Some(b'n') => out.push(b'\n'),
                    Some(b't') => out.push(b'\t'),
                    Some(&other) => out.push(other),
                    None => out.push(b'\\'),
                }
                i += 2;
            } else {
                out.push(byte);
                i += 1;
            }
        }
        return BString::from(out);
    }
    BString::from(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::collect;

    fn parse(text: &str) -> Result<crate::Collected, ParseError> {
        collect(&Tap, &mut text.as_bytes(), &ParseOptions::new("t.tap"))
    }

    fn summary(text: &str) -> Vec<(String, Status)> {
        parse(text)
            .unwrap()
            .results
            .into_iter()
            .map(|r| (r.test.to_string(), r.status))
            .collect()
    }

    #[test]
    fn test_points_and_directives() {
        let point = test_point(b"not ok 4 - parses dates # TODO not written yet").unwrap();
        assert!(!point.ok);
        assert_eq!(point.number, Some(4));
        assert_eq!(point.description, "parses dates");
        assert_eq!(
            point.directive,
            Some((Directive::Todo, BString::from("not written yet")))
        );
        let point = test_point(br"ok 2 - has a \# in it # skip: later").unwrap();
        assert_eq!(point.description, "has a # in it");
        assert_eq!(point.directive.unwrap().0, Directive::Skip);
        assert!(test_point(b"okay then").is_none());
        assert!(test_point(b"not okay").is_none());
    }

    #[test]
    fn subtests_take_their_parents_name_even_without_a_subtest_comment() {
        let text = "TAP version 14\n1..1\n    ok 1 - inner\n    not ok 2 - broken\n    1..2\nnot ok 1 - outer\n";
        assert_eq!(
            summary(text),
            vec![
                ("outer.inner".to_owned(), Status::Passed),
                ("outer.broken".to_owned(), Status::Failed)
            ]
        );
    }

    #[test]
    fn a_parent_that_fails_by_itself_is_a_result() {
        let text = "1..1\n    ok 1 - inner\n    1..2\nnot ok 1 - outer\n";
        let results = summary(text);
        assert_eq!(results.len(), 2, "{results:?}");
        assert_eq!(results[1], ("outer".to_owned(), Status::Failed));
    }

    #[test]
    fn an_unclosed_yaml_block_is_a_truncated_report() {
        let err = parse("1..1\nnot ok 1 - x\n  ---\n  message: 'boom'\n").unwrap_err();
        assert_eq!(err.line, 3);
        assert!(err.to_string().contains("truncated"), "{err}");
    }

    #[test]
    fn yaml_messages_and_durations() {
        let text = "1..2\nnot ok 1 - a\n  ---\n  duration_ms: 1500\n  error: |-\n    Expected 1\n    got 2\n  code: 'X'\n  ...\nnot ok 2 - b\n  ---\n  message: 'it''s broken'\n  ...\n";
        let results = parse(text).unwrap().results;
        assert_eq!(results[0].message.as_ref().unwrap(), "Expected 1");
        assert_eq!(results[0].duration, Some(1.5));
        assert_eq!(results[1].message.as_ref().unwrap(), "it's broken");
    }

    #[test]
    fn deep_nesting_is_refused() {
        let mut text = String::new();
        for depth in 0..200 {
            text += &" ".repeat(depth * 4);
            text += "ok 1 - x\n";
        }
        let err = parse(&text).unwrap_err();
        assert!(err.to_string().contains("nested more than"), "{err}");
    }

    #[test]
    fn sniffs_tap_and_not_other_logs() {
        assert_eq!(sniff(b"TAP version 13\n"), Confidence::HIGH);
        assert_eq!(sniff(b"1..2\nok 1\nok 2\n"), Confidence::HIGH);
        assert_eq!(sniff(b"ok 1 - a\nok 2 - b\n"), Confidence::MEDIUM);
        assert_eq!(sniff(b"test_x ... [OK]\n"), Confidence::NONE);
        assert_eq!(sniff(b"<testsuite>ok 1</testsuite>"), Confidence::NONE);
    }
}
