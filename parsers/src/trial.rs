//! Twisted trial's console output, as users save it from builds.
//!
//! trial prints one line per test (the default tree reporter, `--reporter=bwverbose` and
//! `--reporter=timing`), then a details section of blocks separated by `=` lines, each starting
//! with `[FAIL]`, `[ERROR]`, `[SKIPPED]`, `[TODO]` or `[SUCCESS!?!]` and ending with the ids of
//! the tests it applies to, then `Ran N tests in Xs` and a `PASSED`/`FAILED (…)` summary. The
//! output may sit inside a longer build log, carry ANSI colours and carriage returns, and repeat
//! (several trial runs in one log: each run's results are emitted on their own, so a test that
//! ran in two runs is two attempts).
//!
//! A test's status is the worst of its outcomes (trial reports a tearDown, cleanup or dirty
//! reactor error as an extra `[ERROR]` for a test that already passed or failed): error, then
//! failed, unexpected_success, expected_failure, passed, skipped. Its message is the last
//! exception line of the details block of that status (the block's first line where there is no
//! traceback), and the blocks' text is the `text` detail. See `docs/parsers.md`.

use std::collections::HashMap;
use std::io::BufRead;

use bstr::{BString, ByteSlice};

use crate::error::{ParseError, ParseErrorKind};
use crate::format::{Confidence, Format, ParseOptions, Sink};
use crate::line_reader::{skip_escape, Lines, Read};
use crate::model::{Details, Kind, Status, TestResult};

/// Twisted trial console output (tree, bwverbose, timing and text reporters, `-j N` runs).
#[derive(Clone, Copy, Debug, Default)]
pub struct Trial;

const HUMAN_NAME: &str = "trial output";

/// The longest line kept; the rest of a longer line is dropped.
const LINE_CAP: usize = 64 * 1024;
/// The most text kept for one test's details blocks.
const TEXT_CAP: usize = 64 * 1024;
/// The most test ids one details block may name (trial groups tests with the same traceback).
const BLOCK_IDS_CAP: usize = 100_000;
/// The shortest run of `=` or `-` taken as trial's separator (trial prints 79).
const SEPARATOR_MIN: usize = 40;

impl Format for Trial {
    fn name(&self) -> &'static str {
        "trial"
    }

    fn description(&self) -> &'static str {
        "Twisted trial console output (tree, bwverbose, timing and text reporters, -j runs)"
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
        let mut parser = Parser::new(&options.source);
        let mut lines = Lines::new(input);
        let mut raw = Vec::new();
        let mut line = Vec::new();
        loop {
            // A longer line's head is kept, its rest skipped by the next read.
            let read = lines
                .next_line(&mut raw, LINE_CAP)
                .map_err(|err| ParseError {
                    format: HUMAN_NAME,
                    source_name: options.source.clone(),
                    line: lines.number + 1,
                    column: 0,
                    path: None,
                    kind: ParseErrorKind::Io(err),
                })?;
            if read == Read::Eof {
                break;
            }
            clean_line(&raw, &mut line);
            parser.line(&line, sink);
        }
        parser.finish(sink);
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Reading lines

/// Copies `raw` into `out` without ANSI escape sequences and carriage returns.
fn clean_line(raw: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let mut i = 0;
    while let Some(&byte) = raw.get(i) {
        match byte {
            b'\r' => i += 1,
            0x1b => i = skip_escape(raw, i),
            _ => {
                out.push(byte);
                i += 1;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Recognising lines

/// The outcome words trial prints in brackets.
fn marker_status(word: &[u8]) -> Option<Status> {
    Some(match word {
        b"OK" => Status::Passed,
        b"FAIL" | b"FAILURE" => Status::Failed,
        b"ERROR" => Status::Error,
        b"SKIPPED" => Status::Skipped,
        b"TODO" => Status::ExpectedFailure,
        b"SUCCESS!?!" => Status::UnexpectedSuccess,
        _ => return None,
    })
}

/// Markers at the start of `text` (`[FAILURE][ERROR]…`), and what follows them.
fn leading_markers(mut text: &[u8]) -> (Vec<Status>, &[u8]) {
    let mut found = Vec::new();
    while let Some(rest) = text.strip_prefix(b"[") {
        let Some(end) = rest.find_byte(b']') else {
            break;
        };
        // `[SUCCESS!?!]` has no `]` inside, so the first `]` closes the marker.
        let Some(status) = rest.get(..end).and_then(marker_status) else {
            break;
        };
        found.push(status);
        text = rest.get(end + 1..).unwrap_or_default();
    }
    (found, text)
}

/// Markers at the end of `text` (after whatever a test printed), in order.
fn trailing_markers(text: &[u8]) -> Vec<Status> {
    let mut text = text.trim_end();
    let mut found = Vec::new();
    while let Some(rest) = text.strip_suffix(b"]") {
        let Some(start) = rest.rfind_byte(b'[') else {
            break;
        };
        let Some(status) = rest.get(start + 1..).and_then(marker_status) else {
            break;
        };
        found.push(status);
        text = rest.get(..start).unwrap_or_default();
    }
    found.reverse();
    found
}

/// A line that is nothing but markers: an extra outcome of the test before, or the outcome of a
/// test whose own line was interrupted by what it printed.
fn marker_only(line: &[u8]) -> Option<Vec<Status>> {
    let (found, rest) = leading_markers(line.trim());
    (!found.is_empty() && rest.is_empty()).then_some(found)
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

/// A Python identifier (non-ASCII bytes allowed, as Python 3 allows non-ASCII names).
fn is_ident(s: &[u8]) -> bool {
    matches!(s.first(), Some(b) if !b.is_ascii_digit()) && s.iter().all(|&b| is_ident_byte(b))
}

/// A dotted id as trial prints it: `package.module.Class.test_method` (one segment or more).
fn is_dotted_id(s: &[u8]) -> bool {
    !s.is_empty() && s.split_str(".").all(is_ident)
}

/// `  test_x ... rest`: the indentation, the name and the rest, for a per-test line.
fn split_test_line(line: &[u8]) -> Option<(usize, &[u8], &[u8])> {
    let indent = line.iter().take_while(|&&b| b == b' ').count();
    let body = line.get(indent..)?;
    let at = body.find(" ...")?;
    let name = body.get(..at)?;
    let rest = body.get(at + 4..)?;
    // `name ...` then a space (and the padding or the outcome), or the end of the line.
    let rest = match rest.first() {
        None => rest,
        Some(b' ') => rest.get(1..).unwrap_or_default(),
        Some(_) => return None,
    };
    is_dotted_id(name).then_some((indent, name, rest))
}

/// `Ran 26 tests in 0.115s`: the number of tests.
fn ran_line(line: &[u8]) -> Option<u64> {
    let rest = line.trim_end().strip_prefix(b"Ran ")?;
    let space = rest.find_byte(b' ')?;
    let count = parse_u64(rest.get(..space)?)?;
    let rest = rest.get(space + 1..)?;
    let rest = rest
        .strip_prefix(b"tests in ")
        .or_else(|| rest.strip_prefix(b"test in "))?;
    let seconds = rest.strip_suffix(b"s")?;
    (!seconds.is_empty() && seconds.iter().all(|b| b.is_ascii_digit() || *b == b'.'))
        .then_some(count)
}

fn parse_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    s.to_str().ok()?.parse().ok()
}

/// The counts trial's summary line names, indexed by [`Status::code`].
type Counts = [u64; 7];

/// The order and spelling of trial's summary keys.
const SUMMARY_KEYS: [(&str, Status); 6] = [
    ("skips", Status::Skipped),
    ("expectedFailures", Status::ExpectedFailure),
    ("failures", Status::Failed),
    ("errors", Status::Error),
    ("unexpectedSuccesses", Status::UnexpectedSuccess),
    ("successes", Status::Passed),
];

fn count_of(counts: &Counts, status: Status) -> u64 {
    counts.get(usize::from(status.code())).copied().unwrap_or(0)
}

fn bump(counts: &mut Counts, status: Status) {
    if let Some(count) = counts.get_mut(usize::from(status.code())) {
        *count += 1;
    }
}

/// `PASSED (successes=4)`, `FAILED (failures=2, errors=1)`, `PASSED`.
fn summary_line(line: &[u8]) -> Option<Counts> {
    let line = line.trim();
    let rest = line
        .strip_prefix(b"PASSED")
        .or_else(|| line.strip_prefix(b"FAILED"))?;
    let mut counts = Counts::default();
    if rest.is_empty() {
        return Some(counts);
    }
    let inner = rest.strip_prefix(b" (")?.strip_suffix(b")")?;
    for pair in inner.split_str(", ") {
        let eq = pair.find_byte(b'=')?;
        let key = pair.get(..eq)?;
        let value = parse_u64(pair.get(eq + 1..)?)?;
        if let Some((_, status)) = SUMMARY_KEYS.iter().find(|(k, _)| k.as_bytes() == key) {
            if let Some(count) = counts.get_mut(usize::from(status.code())) {
                *count = value;
            }
        } else if !key.iter().all(u8::is_ascii_alphabetic) {
            return None;
        }
    }
    Some(counts)
}

/// `0.108 26 26 9 3 4` (`--reporter=summary`): tests run, errors, failures, skips.
fn minimal_summary_line(line: &[u8]) -> Option<[u64; 4]> {
    let fields: Vec<&[u8]> = line.fields().collect();
    let [time, run, _, errors, failures, skips] = fields.as_slice() else {
        return None;
    };
    if time.is_empty() || !time.iter().all(|b| b.is_ascii_digit() || *b == b'.') {
        return None;
    }
    Some([
        parse_u64(run)?,
        parse_u64(errors)?,
        parse_u64(failures)?,
        parse_u64(skips)?,
    ])
}

/// `(0.001 secs)`, which `--reporter=timing` prints after each test.
fn timing_line(line: &[u8]) -> Option<f64> {
    let secs = line.trim().strip_prefix(b"(")?.strip_suffix(b" secs)")?;
    // "(nan secs)" parses as a float too: keep only what can be a duration.
    let secs: f64 = secs.to_str().ok()?.parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then_some(secs)
}

fn separator(line: &[u8], byte: u8) -> bool {
    let line = line.trim_end();
    line.len() >= SEPARATOR_MIN && line.iter().all(|&b| b == byte)
}

/// A details block's first line: `[FAIL]`, or the older `[ERROR]: pkg.mod.Class.test_x`.
fn block_start(line: &[u8]) -> Option<(Status, Option<BString>)> {
    let line = line.trim_end();
    let (found, rest) = leading_markers(line);
    let [status] = found.as_slice() else {
        return None;
    };
    if rest.is_empty() {
        return Some((*status, None));
    }
    let id = rest.strip_prefix(b":")?.trim();
    is_dotted_id(id).then(|| (*status, Some(BString::from(id))))
}

// ---------------------------------------------------------------------------------------------
// Sniffing

fn sniff(head: &[u8]) -> Confidence {
    let start = head.trim_start_with(|c| c == '\u{feff}' || c.is_whitespace());
    if start.starts_with(b"<") {
        // XML (a JUnit report may well hold trial output in its system-out).
        return Confidence::NONE;
    }
    let mut best = Confidence::NONE;
    let mut headers = 0usize;
    let mut after_equals = false;
    let mut ran = false;
    let mut line = Vec::new();
    for raw in ByteSlice::lines(head) {
        clean_line(raw, &mut line);
        let line = line.as_slice();
        if after_equals && block_start(line).is_some() {
            return Confidence::HIGH;
        }
        after_equals = separator(line, b'=');
        if let Some((indent, name, rest)) = split_test_line(line) {
            let marked = !leading_markers(rest.trim_start()).0.is_empty()
                || !trailing_markers(rest).is_empty();
            if marked {
                if indent == 0 && name.contains(&b'.') {
                    return Confidence::HIGH;
                }
                if indent > 0 && indent % 2 == 0 && !name.contains(&b'.') {
                    if headers >= indent / 2 {
                        return Confidence::HIGH;
                    }
                    best = best.max(Confidence::LOW);
                }
            }
            continue;
        }
        let indent = line.iter().take_while(|&&b| b == b' ').count();
        match line.get(indent..) {
            Some(token) if indent % 2 == 0 && indent <= 2 && is_dotted_id(token) => {
                headers = headers.max(indent / 2 + 1);
            }
            _ => {}
        }
        if ran_line(line).is_some() {
            ran = true;
            best = best.max(Confidence::LOW);
        } else if ran && !line.trim().is_empty() {
            if let Some(counts) = summary_line(line) {
                let trial_only = line.starts_with(b"PASSED")
                    || [
                        Status::Skipped,
                        Status::ExpectedFailure,
                        Status::UnexpectedSuccess,
                        Status::Passed,
                    ]
                    .into_iter()
                    .any(|status| count_of(&counts, status) > 0);
                return if trial_only {
                    Confidence::HIGH
                } else {
                    Confidence::MEDIUM
                };
            }
            ran = false;
        }
    }
    best
}

// ---------------------------------------------------------------------------------------------
// Parsing

/// What a run knows about one test.
#[derive(Debug)]
struct TestState {
    id: BString,
    status: Option<Status>,
    /// The first message of each status the details blocks gave.
    messages: Vec<(Status, BString)>,
    text: Vec<u8>,
    duration: Option<f64>,
}

/// How bad an outcome is when a test has several: the worst one is the test's status.
fn severity(status: Status) -> u8 {
    match status {
        Status::Skipped => 0,
        Status::Passed | Status::Flaky => 1,
        Status::ExpectedFailure => 2,
        Status::UnexpectedSuccess => 3,
        Status::Failed => 4,
        Status::Error => 5,
    }
}

/// A details block being read.
#[derive(Debug)]
struct Block {
    status: Status,
    /// The id on the marker line (`[ERROR]: pkg.mod.T.test_x`, older trial).
    header_id: Option<BString>,
    text: Vec<u8>,
    /// Lines read after the marker line.
    lines: u64,
    /// Id lines after the latest blank line; `None` once a line that is not an id followed.
    run: Option<Run>,
    /// The latest run that a line other than an id ended.
    last_run: Option<Run>,
    /// Inside a Python traceback's frames.
    in_traceback: bool,
    /// The latest exception lines (the line after a traceback's frames), with their line.
    exceptions: Vec<(u64, BString)>,
    /// The first line of text, with its line.
    first: Option<(u64, BString)>,
    /// A `-` separator was seen; it ends the details if `Ran N tests` follows.
    dashes: bool,
    /// More than [`BLOCK_IDS_CAP`] ids followed a blank line.
    overflow: bool,
}

/// Id lines after a blank line: where in the block's text and at which line the blank was.
#[derive(Debug)]
struct Run {
    text_at: usize,
    line_at: u64,
    ids: Vec<BString>,
}

impl Block {
    fn new(status: Status, header_id: Option<BString>, first_line: &[u8]) -> Self {
        let mut text = Vec::new();
        push_capped(&mut text, first_line);
        Block {
            status,
            header_id,
            text,
            lines: 0,
            run: None,
            last_run: None,
            in_traceback: false,
            exceptions: Vec::new(),
            first: None,
            dashes: false,
            overflow: false,
        }
    }

    fn line(&mut self, line: &[u8]) {
        let text_at = self.text.len();
        let line_at = self.lines;
        self.lines += 1;
        push_capped(&mut self.text, b"\n");
        push_capped(&mut self.text, line);
        if line.trim().is_empty() {
            self.end_run();
            self.run = Some(Run {
                text_at,
                line_at,
                ids: Vec::new(),
            });
            return;
        }
        if self.first.is_none() {
            self.first = Some((line_at, BString::from(line.trim())));
        }
        if line.trim_end() == b"Traceback (most recent call last):" {
            self.in_traceback = true;
        } else if self.in_traceback && !line.starts_with(b" ") && !line.starts_with(b"\t") {
            self.in_traceback = false;
            if self.exceptions.len() >= 4 {
                self.exceptions.remove(0);
            }
            self.exceptions.push((line_at, BString::from(line.trim())));
        }
        if is_dotted_id(line.trim_end()) {
            if let Some(run) = &mut self.run {
                if run.ids.len() < BLOCK_IDS_CAP {
                    run.ids.push(BString::from(line.trim_end()));
                } else {
                    self.overflow = true;
                }
            }
        } else {
            self.end_run();
        }
    }

    fn end_run(&mut self) {
        if let Some(run) = self.run.take().filter(|run| !run.ids.is_empty()) {
            self.last_run = Some(run);
        }
    }

    /// The tests the block applies to, its text without them, and its message.
    fn finish(mut self) -> (Status, Vec<BString>, Vec<u8>, Option<BString>) {
        self.end_run();
        let (mut text, ids, cut) = match (self.header_id, self.last_run) {
            (Some(id), _) => (self.text, vec![id], u64::MAX),
            (None, Some(run)) => {
                let mut text = self.text;
                text.truncate(run.text_at);
                (text, run.ids, run.line_at)
            }
            (None, None) => (self.text, Vec::new(), u64::MAX),
        };
        let keep = text.trim_end().len();
        text.truncate(keep);
        // The last exception before the ids (a crash may print another one after them), else
        // the first line: a skip reason, `Reason: '…'`.
        let message = self
            .exceptions
            .into_iter()
            .rev()
            .find(|(at, _)| *at < cut)
            .or(self.first.filter(|(at, _)| *at < cut))
            .map(|(_, line)| match line.strip_prefix(b"Failure: ") {
                Some(rest) => BString::from(rest),
                None => line,
            });
        (self.status, ids, text, message)
    }
}

fn push_capped(text: &mut Vec<u8>, bytes: &[u8]) {
    let room = TEXT_CAP.saturating_sub(text.len());
    text.extend_from_slice(bytes.get(..bytes.len().min(room)).unwrap_or_default());
}

/// Where the parser is within a trial run.
#[derive(Debug)]
enum State {
    /// Per-test lines (or anything else in the log).
    Tests,
    /// A `=` separator: a details block may start.
    AfterEquals,
    Block(Block),
    /// `Ran N tests in Xs` was seen: the summary line comes next.
    AfterRan(u64),
}

struct Parser<'a> {
    source: &'a str,
    state: State,
    tests: Vec<TestState>,
    index: HashMap<BString, usize>,
    /// Tree reporter headers: module, class.
    headers: Vec<BString>,
    /// Header-like lines seen while a test's line awaited its outcome (they may be what the test
    /// printed, or real headers if the test never got one).
    tentative: Vec<(usize, BString)>,
    /// A test whose line ended without an outcome (it printed something).
    pending: Option<BString>,
    /// The test whose outcome was the latest one seen.
    last: Option<BString>,
    /// The test that the previous line gave an outcome (for `(0.001 secs)`).
    just_resolved: bool,
    /// Per-test lines seen (trial's `testsRun`).
    started: u64,
    /// Per-test lines whose id could not be built (no module and class lines before them).
    unnamed: u64,
    /// A line with text on it was seen: a details block may start without its separator before
    /// it only on the first (a log cut off at the start).
    seen_text: bool,
    marker_counts: Counts,
    block_counts: Counts,
    ran: Option<u64>,
    /// The results of the runs finished so far, one per test (see [`Parser::keep`]).
    done: Vec<TestResult>,
    done_index: HashMap<BString, usize>,
}

impl<'a> Parser<'a> {
    fn new(source: &'a str) -> Self {
        Parser {
            source,
            state: State::Tests,
            tests: Vec::new(),
            index: HashMap::new(),
            headers: Vec::new(),
            tentative: Vec::new(),
            pending: None,
            last: None,
            just_resolved: false,
            started: 0,
            unnamed: 0,
            seen_text: false,
            marker_counts: Counts::default(),
            block_counts: Counts::default(),
            ran: None,
            done: Vec::new(),
            done_index: HashMap::new(),
        }
    }

    fn test(&mut self, id: &[u8]) -> &mut TestState {
        let at = match self.index.get(id.as_bstr()) {
            Some(&at) => at,
            None => {
                self.index.insert(BString::from(id), self.tests.len());
                self.tests.push(TestState {
                    id: BString::from(id),
                    status: None,
                    messages: Vec::new(),
                    text: Vec::new(),
                    duration: None,
                });
                self.tests.len() - 1
            }
        };
        &mut self.tests[at]
    }

    fn outcome(&mut self, id: &[u8], status: Status) {
        let test = self.test(id);
        if test.status.is_none_or(|s| severity(status) > severity(s)) {
            test.status = Some(status);
        }
    }

    fn line(&mut self, line: &[u8], sink: &mut dyn Sink) {
        if !self.seen_text && !line.trim().is_empty() {
            self.seen_text = true;
            // A log cut off at the start may begin with a details block, or with the end of the
            // separator before one, instead of the separator.
            if let Some((status, id)) = block_start(line) {
                self.state = State::Block(Block::new(status, id, line.trim_end()));
                return;
            }
            if line.trim_end().iter().all(|&b| b == b'=') {
                self.state = State::AfterEquals;
                return;
            }
        }
        let state = std::mem::replace(&mut self.state, State::Tests);
        self.state = match state {
            State::Block(mut block) => {
                if block.dashes {
                    if let Some(count) = ran_line(line) {
                        self.finish_block(block, sink);
                        self.ran = Some(count);
                        State::AfterRan(count)
                    } else {
                        block.dashes = false;
                        block.line(&[b'-'; 79]);
                        self.block_line(block, line, sink)
                    }
                } else {
                    self.block_line(block, line, sink)
                }
            }
            State::AfterEquals => match block_start(line) {
                Some((status, id)) => State::Block(Block::new(status, id, line.trim_end())),
                None => self.tests_line(line, sink),
            },
            State::AfterRan(count) => {
                if line.trim().is_empty() {
                    State::AfterRan(count)
                } else if let Some(counts) = summary_line(line) {
                    self.finish_run(Some(Summary::Full(counts)), sink);
                    State::Tests
                } else if let Some(minimal) = minimal_summary_line(line) {
                    self.finish_run(Some(Summary::Minimal(minimal)), sink);
                    State::Tests
                } else {
                    self.finish_run(None, sink);
                    self.tests_line(line, sink)
                }
            }
            State::Tests => self.tests_line(line, sink),
        };
    }

    fn block_line(&mut self, mut block: Block, line: &[u8], sink: &mut dyn Sink) -> State {
        if separator(line, b'=') {
            self.finish_block(block, sink);
            State::AfterEquals
        } else if separator(line, b'-') {
            block.dashes = true;
            State::Block(block)
        } else {
            block.line(line);
            State::Block(block)
        }
    }

    fn finish_block(&mut self, block: Block, sink: &mut dyn Sink) {
        if block.overflow {
            sink.warning(format!(
                "{}: a trial details block names more than {BLOCK_IDS_CAP} tests; the rest were \
                 dropped",
                self.source
            ));
        }
        let (status, ids, text, message) = block.finish();
        for id in ids {
            bump(&mut self.block_counts, status);
            self.outcome(&id, status);
            let test = self.test(&id);
            if let Some(message) = &message {
                if !test.messages.iter().any(|(s, _)| *s == status) {
                    test.messages.push((status, message.clone()));
                }
            }
            if !test.text.is_empty() {
                push_capped(&mut test.text, b"\n");
            }
            push_capped(&mut test.text, &text);
        }
    }

    fn tests_line(&mut self, line: &[u8], sink: &mut dyn Sink) -> State {
        let resolved = std::mem::take(&mut self.just_resolved);
        if separator(line, b'=') {
            return State::AfterEquals;
        }
        if let Some(count) = ran_line(line) {
            self.ran = Some(count);
            return State::AfterRan(count);
        }
        if resolved {
            if let Some(secs) = timing_line(line) {
                if let Some(last) = self.last.clone() {
                    self.test(&last).duration = Some(secs);
                }
                return State::Tests;
            }
        }
        if let Some((indent, name, rest)) = split_test_line(line) {
            self.test_line(indent, name, rest, sink);
            return State::Tests;
        }
        if let Some(found) = marker_only(line) {
            let target = self.pending.take().or_else(|| self.last.clone());
            if let Some(id) = target {
                self.tentative.clear();
                self.record(&id, &found);
            }
            return State::Tests;
        }
        if let Some(id) = self.pending.clone() {
            // What the pending test printed, unless it ends with the test's outcome.
            let found = trailing_markers(line);
            if !found.is_empty() {
                self.pending = None;
                self.tentative.clear();
                self.record(&id, &found);
                return State::Tests;
            }
        }
        self.header_line(line);
        State::Tests
    }

    fn header_line(&mut self, line: &[u8]) {
        let indent = line.iter().take_while(|&&b| b == b' ').count();
        let Some(token) = line.get(indent..).map(|t| t.trim_end()) else {
            return;
        };
        let level = indent / 2;
        if indent % 2 != 0 || level > 1 || !is_dotted_id(token) {
            return;
        }
        if level == 1 && token.contains(&b'.') {
            return;
        }
        if self.pending.is_some() {
            if self.tentative.len() >= 8 {
                self.tentative.remove(0);
            }
            self.tentative.push((level, BString::from(token)));
        } else {
            self.set_header(level, token);
        }
    }

    fn set_header(&mut self, level: usize, token: &[u8]) {
        let len = self.headers.len();
        match self.headers.get_mut(level) {
            Some(slot) => *slot = BString::from(token),
            None if level == len => self.headers.push(BString::from(token)),
            None => {}
        }
    }

    fn test_line(&mut self, indent: usize, name: &[u8], rest: &[u8], sink: &mut dyn Sink) {
        if let Some(id) = self.pending.take() {
            // The previous test never got an outcome; what looked like its output may have been
            // the headers of this one.
            self.unfinished(&id, sink);
            for (level, token) in std::mem::take(&mut self.tentative) {
                self.set_header(level, &token);
            }
        }
        let id = if indent == 0 {
            BString::from(name)
        } else {
            let level = indent / 2;
            if indent % 2 != 0 || name.contains(&b'.') {
                return;
            }
            if self.headers.len() < level {
                // The module and class lines the id is built from are missing.
                self.unnamed += 1;
                return;
            }
            let mut id = BString::from(Vec::new());
            for header in self.headers.iter().take(level) {
                id.extend_from_slice(header);
                id.push(b'.');
            }
            id.extend_from_slice(name);
            id
        };
        self.started += 1;
        let (mut found, _) = leading_markers(rest.trim_start());
        if found.is_empty() {
            found = trailing_markers(rest);
        }
        if found.is_empty() {
            self.test(&id);
            self.pending = Some(id);
        } else {
            self.record(&id, &found);
        }
    }

    fn record(&mut self, id: &[u8], found: &[Status]) {
        for &status in found {
            bump(&mut self.marker_counts, status);
            self.outcome(id, status);
        }
        self.last = Some(BString::from(id));
        self.just_resolved = true;
    }

    fn unfinished(&mut self, id: &[u8], sink: &mut dyn Sink) {
        sink.warning(format!(
            "{}: trial started {} but printed no result for it (the run may have been interrupted)",
            self.source,
            id.as_bstr()
        ));
    }

    fn finish(mut self, sink: &mut dyn Sink) {
        match std::mem::replace(&mut self.state, State::Tests) {
            State::Block(block) => self.finish_block(block, sink),
            State::AfterEquals | State::AfterRan(_) | State::Tests => {}
        }
        self.finish_run(None, sink);
        for result in self.done {
            sink.result(result);
        }
    }

    /// Keeps a finished run's result. A test that ran in several runs of one log (a build that
    /// reruns trial) is one result with its attempts: the contract's retry rules apply (failed
    /// then passed is flaky), except that a test that passed every time stays passed.
    fn keep(&mut self, result: TestResult) {
        match self.done_index.get(&result.test) {
            Some(&at) => {
                let prev = &mut self.done[at];
                if prev.status == Status::Passed && result.status == Status::Passed {
                    prev.attempts = prev.attempts.saturating_add(result.attempts);
                    prev.duration = match (prev.duration, result.duration) {
                        (Some(a), Some(b)) => Some(a + b),
                        (a, b) => a.or(b),
                    };
                } else {
                    crate::collect::merge(prev, result);
                }
            }
            None => {
                self.done_index.insert(result.test.clone(), self.done.len());
                self.done.push(result);
            }
        }
    }

    /// Checks a run's results against its summary and emits them.
    fn finish_run(&mut self, summary: Option<Summary>, sink: &mut dyn Sink) {
        if let Some(id) = self.pending.take() {
            self.unfinished(&id, sink);
        }
        let source = self.source;
        if self.unnamed > 0 {
            sink.warning(format!(
                "{source}: trial listed {} tests without the module and class lines their ids \
                 are built from (the log may have been cut or filtered); they are not reported",
                self.unnamed
            ));
        }
        let named = self.started > 0;
        match summary {
            Some(Summary::Full(said)) => {
                let parsed = if named {
                    self.marker_counts
                } else {
                    self.block_counts
                };
                let mut said_checked = said;
                if !named {
                    // The text reporter names only the tests that did not pass.
                    said_checked[usize::from(Status::Passed.code())] = 0;
                }
                if said_checked != parsed {
                    sink.warning(format!(
                        "{source}: trial summary says {} but parsed {}",
                        render_counts(&said_checked),
                        render_counts(&parsed)
                    ));
                }
                let passes = count_of(&said, Status::Passed);
                if !named && passes > 0 {
                    sink.warning(format!(
                        "{source}: this trial output names only the tests that did not pass; \
                         {passes} successes are not reported (use trial's default or bwverbose \
                         reporter to have them)"
                    ));
                }
                if let (true, Some(ran)) = (named, self.ran) {
                    if ran != self.started {
                        sink.warning(format!(
                            "{source}: trial says it ran {ran} tests but {} were listed",
                            self.started
                        ));
                    }
                }
            }
            Some(Summary::Minimal([run, errors, failures, skips])) => {
                if self.tests.is_empty() {
                    sink.warning(format!(
                        "{source}: trial's summary reporter names no tests: {run} ran \
                         ({errors} errors, {failures} failures, {skips} skips); no results can \
                         be reported"
                    ));
                }
            }
            None => {
                if !self.tests.is_empty() {
                    sink.warning(format!(
                        "{source}: trial output has no final PASSED/FAILED line (the run may \
                         have been cut short); its counts were not checked"
                    ));
                }
            }
        }
        for test in std::mem::take(&mut self.tests) {
            let Some(status) = test.status else {
                continue;
            };
            let mut result = TestResult::new(test.id, Kind::Test, status);
            result.duration = test.duration;
            let mut messages = test.messages.into_iter();
            let first = messages.next();
            result.message = match first {
                Some((s, message)) if s == status => Some(message),
                first => messages
                    .find(|(s, _)| *s == status)
                    .or(first)
                    .map(|(_, message)| message),
            };
            if !test.text.is_empty() {
                let mut details = Details::new();
                details.insert(
                    "text".to_owned(),
                    serde_json::Value::String(test.text.to_str_lossy().into_owned()),
                );
                result.details = details;
            }
            self.keep(result);
        }
        self.index.clear();
        self.headers.clear();
        self.tentative.clear();
        self.last = None;
        self.just_resolved = false;
        self.started = 0;
        self.unnamed = 0;
        self.marker_counts = Counts::default();
        self.block_counts = Counts::default();
        self.ran = None;
    }
}

#[derive(Clone, Copy, Debug)]
enum Summary {
    Full(Counts),
    /// `--reporter=summary`: run, errors, failures, skips.
    Minimal([u64; 4]),
}

/// `skips=1, failures=2`, in trial's order; `nothing` when all are zero.
fn render_counts(counts: &Counts) -> String {
    let parts: Vec<String> = SUMMARY_KEYS
        .iter()
        .filter_map(|(key, status)| {
            let n = count_of(counts, *status);
            (n > 0).then(|| format!("{key}={n}"))
        })
        .collect();
    if parts.is_empty() {
        "nothing".to_owned()
    } else {
        format!("({})", parts.join(", "))
    }
}

#[cfg(test)]
mod tests;
