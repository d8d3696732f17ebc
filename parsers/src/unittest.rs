//! Python's unittest runner output (`python -m unittest -v`, and without `-v`).
//!
//! With `-v` each test prints `test_x (pkg.mod.Class.test_x) ... ok` (Python 3.11 and later; before,
//! `(pkg.mod.Class)`), with `FAIL`, `ERROR`, `skipped 'why'`, `expected failure` or `unexpected
//! success` instead of `ok`; a test with failing `subTest`s prints its line without an outcome, then
//! one indented line per failing subtest. Then come the details blocks (between `====` lines:
//! `FAIL: test_x (pkg.mod.Class.test_x) (i=1)`, a `----` line, the traceback), then `Ran N tests in
//! Xs` and `OK`/`FAILED (…)`. Without `-v` only the blocks name tests. A run's results wait for its
//! `Ran` line; several runs in one log repeat tests (see `docs/parsers.md`).

use std::collections::HashMap;

use bstr::{BString, ByteSlice};

use crate::error::ParseError;
use crate::format::{Confidence, Format, ParseOptions, Sink};
use crate::lines::{finish_capped, push_capped, strip_ansi, Lines};
use crate::model::{Kind, Status, TestResult};

/// Python unittest console output.
#[derive(Clone, Copy, Debug, Default)]
pub struct Unittest;

const HUMAN_NAME: &str = "unittest output";

const LINE_CAP: usize = 64 * 1024;
const TEXT_CAP: usize = 64 * 1024;
/// The shortest run of `=` or `-` taken as unittest's separator (it prints 70).
const SEPARATOR_MIN: usize = 40;

impl Format for Unittest {
    fn name(&self) -> &'static str {
        "unittest"
    }

    fn description(&self) -> &'static str {
        "Python unittest output (-v lines, subTest failures, setUpClass errors, failure blocks)"
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
        let mut raw = Vec::new();
        let mut line = Vec::new();
        while lines.next(&mut raw)? {
            strip_ansi(&raw, &mut line);
            parser.line(&line);
        }
        parser.finish(sink);
        Ok(())
    }
}

/// HIGH for a `-v` test line (`name (dotted.id) ... outcome`) or a details block header
/// (`FAIL: name (dotted.id)` after a `====` line); NONE otherwise and for anything starting with
/// `<`.
fn sniff(head: &[u8]) -> Confidence {
    if head.trim_start().starts_with(b"<") {
        return Confidence::NONE;
    }
    let mut after_separator = false;
    for line in head.lines().take(5000) {
        if let Some((_, Some(_))) = test_line(line.trim_start()) {
            return Confidence::HIGH;
        }
        if after_separator && block_header(line).is_some() {
            return Confidence::HIGH;
        }
        after_separator = is_separator(line, b'=');
    }
    Confidence::NONE
}

fn is_separator(line: &[u8], byte: u8) -> bool {
    line.len() >= SEPARATOR_MIN && line.iter().all(|b| *b == byte)
}

/// What unittest prints after ` ... `.
fn outcome(text: &[u8]) -> Option<(Status, Option<BString>)> {
    let text = text.trim_end();
    Some(match text {
        b"ok" => (Status::Passed, None),
        b"FAIL" => (Status::Failed, None),
        b"ERROR" => (Status::Error, None),
        b"expected failure" => (Status::ExpectedFailure, None),
        b"unexpected success" => (Status::UnexpectedSuccess, None),
        _ => {
            let reason = text.strip_prefix(b"skipped")?;
            let reason = reason.trim();
            let reason = reason
                .strip_prefix(b"'")
                .and_then(|r| r.strip_suffix(b"'"))
                .or_else(|| {
                    reason
                        .strip_prefix(b"\"")
                        .and_then(|r| r.strip_suffix(b"\""))
                })
                .unwrap_or(reason);
            (Status::Skipped, Some(BString::from(reason)))
        }
    })
}

/// `name (description)`, optionally followed by subtest parameters `(i=1)` or `[msg]`: the test's
/// identity and the parameters.
fn test_id(text: &[u8]) -> Option<(BString, Option<BString>)> {
    let open = text.find(b" (")?;
    let name = &text[..open];
    if name.is_empty() || name.contains(&b' ') {
        return None;
    }
    let rest = &text[open + 2..];
    let close = rest.find_byte(b')')?;
    let description = &rest[..close];
    if description.is_empty() || description.contains(&b' ') || !description.contains(&b'.') {
        return None;
    }
    let params = rest[close + 1..].trim();
    let params = (!params.is_empty()).then(|| BString::from(params));
    Some((identity(name, description), params))
}

/// `pkg.mod.Class.test_x`: the description when it already ends with the name (Python 3.11+),
/// else the description and the name; a module that failed to import is the module's name.
fn identity(name: &[u8], description: &[u8]) -> BString {
    if description.starts_with(b"unittest.loader._FailedTest") {
        return BString::from(name);
    }
    let mut suffix = b".".to_vec();
    suffix.extend_from_slice(name);
    if description.ends_with(&suffix) {
        return BString::from(description);
    }
    let mut id = BString::from(description);
    id.extend_from_slice(&suffix);
    id
}

/// A `-v` test line: the identity, subtest parameters and outcome (none when the test's output or
/// its subtests follow).
#[allow(clippy::type_complexity)]
fn test_line(
    line: &[u8],
) -> Option<(
    (BString, Option<BString>),
    Option<(Status, Option<BString>)>,
)> {
    let at = line.find(b" ... ")?;
    let id = test_id(&line[..at])?;
    Some((id, outcome(&line[at + 5..])))
}

/// `FAIL: name (description) (params)`, `ERROR: …`, `UNEXPECTED SUCCESS: …`.
fn block_header(line: &[u8]) -> Option<(Status, BString, Option<BString>)> {
    let (status, rest) = if let Some(rest) = line.strip_prefix(b"FAIL: ") {
        (Status::Failed, rest)
    } else if let Some(rest) = line.strip_prefix(b"ERROR: ") {
        (Status::Error, rest)
    } else if let Some(rest) = line.strip_prefix(b"UNEXPECTED SUCCESS: ") {
        (Status::UnexpectedSuccess, rest)
    } else {
        return None;
    };
    let (id, params) = test_id(rest)?;
    Some((status, id, params))
}

fn severity(status: Status) -> u8 {
    match status {
        Status::Error => 5,
        Status::Failed => 4,
        Status::UnexpectedSuccess => 3,
        Status::ExpectedFailure => 2,
        Status::Passed | Status::Flaky => 1,
        Status::Skipped => 0,
    }
}

#[derive(Debug)]
struct Test {
    id: BString,
    status: Option<Status>,
    message: Option<BString>,
    subtests: Vec<BString>,
    text: Vec<u8>,
    dropped: usize,
}

struct Parser {
    source: String,
    run: Vec<Test>,
    index: HashMap<BString, usize>,
    /// A test line whose outcome has not come yet (its output, or its subtests, follow).
    pending: Option<usize>,
    /// The details block being read: the test it belongs to.
    block: Option<usize>,
    after_equals: bool,
    /// Results of finished runs, one per identity (repeats merged at the end).
    done: Vec<TestResult>,
    done_index: HashMap<BString, usize>,
}

impl Parser {
    fn new(source: &str) -> Self {
        Parser {
            source: source.to_owned(),
            run: Vec::new(),
            index: HashMap::new(),
            pending: None,
            block: None,
            after_equals: false,
            done: Vec::new(),
            done_index: HashMap::new(),
        }
    }

    fn test(&mut self, id: BString) -> usize {
        if let Some(&at) = self.index.get(&id) {
            return at;
        }
        self.index.insert(id.clone(), self.run.len());
        self.run.push(Test {
            id,
            status: None,
            message: None,
            subtests: Vec::new(),
            text: Vec::new(),
            dropped: 0,
        });
        self.run.len() - 1
    }

    /// Records an outcome: a test's status is the worst of its own and its subtests'.
    fn outcome(
        &mut self,
        at: usize,
        status: Status,
        reason: Option<BString>,
        params: Option<BString>,
    ) {
        let test = &mut self.run[at];
        if let Some(params) = params {
            if status.is_failing() && !test.subtests.contains(&params) {
                test.subtests.push(params);
            }
        }
        let worse = test
            .status
            .is_none_or(|old| severity(status) > severity(old));
        if worse {
            test.status = Some(status);
            if reason.is_some() {
                test.message = reason;
            }
        }
    }

    fn line(&mut self, line: &[u8]) {
        let separator_equals = is_separator(line, b'=');
        let after_equals = std::mem::replace(&mut self.after_equals, separator_equals);
        if separator_equals {
            self.block = None;
            self.pending = None;
            return;
        }
        if after_equals {
            if let Some((status, id, params)) = block_header(line) {
                let at = self.test(id);
                self.outcome(at, status, None, params);
                self.block = Some(at);
                return;
            }
        }
        if let Some(at) = self.block {
            if line.starts_with(b"Ran ") && line.contains_str(" test") {
                self.block = None;
            } else {
                if is_separator(line, b'-') && self.run[at].text.is_empty() {
                    return;
                }
                let test = &mut self.run[at];
                test.dropped += push_capped(&mut test.text, line, TEXT_CAP);
                test.dropped += push_capped(&mut test.text, b"\n", TEXT_CAP);
                return;
            }
        }
        if line.starts_with(b"Ran ") && line.contains_str(" test") {
            self.end_run();
            return;
        }
        if let Some(((id, params), outcome)) = test_line(line.trim_start()) {
            let at = self.test(id);
            match outcome {
                Some((status, reason)) => {
                    self.outcome(at, status, reason, params);
                    if line.starts_with(b" ") && self.pending == Some(at) {
                        // A subtest line: the parent's line may still get an outcome.
                        return;
                    }
                    self.pending = None;
                }
                None => self.pending = Some(at),
            }
            return;
        }
        if let Some(at) = self.pending {
            // What a test printed, then its outcome at the end of a line.
            let outcome = line
                .rfind(b" ... ")
                .map_or_else(|| outcome(line), |at| outcome(&line[at + 5..]));
            if let Some((status, reason)) = outcome {
                self.outcome(at, status, reason, None);
                self.pending = None;
            }
        }
    }

    /// `Ran N tests`: the run's results are complete.
    fn end_run(&mut self) {
        self.pending = None;
        self.block = None;
        for test in self.run.drain(..) {
            let status = match test.status {
                Some(status) => status,
                // A test line without an outcome and nothing after it (subtests passed, or the
                // run was cut): it ran; unittest prints nothing more for passing subtests.
                None => Status::Passed,
            };
            let mut result = TestResult::new(test.id, Kind::Test, status);
            result.message = test.message.or_else(|| exception_line(&test.text));
            if !test.subtests.is_empty() {
                let list: Vec<serde_json::Value> = test
                    .subtests
                    .iter()
                    .map(|p| p.to_str_lossy().into_owned().into())
                    .collect();
                result.details.insert("subtests".into(), list.into());
                if let Some(message) = &mut result.message {
                    let mut prefixed = test.subtests[0].clone();
                    prefixed.push(b' ');
                    prefixed.extend_from_slice(message);
                    *message = prefixed;
                }
            }
            if !test.text.is_empty() {
                let text = finish_capped(test.text, test.dropped);
                result.details.insert(
                    "text".into(),
                    serde_json::Value::String(text.to_str_lossy().into_owned()),
                );
            }
            match self.done_index.get(&result.test) {
                Some(&at) => {
                    let prev = &mut self.done[at];
                    if prev.status == Status::Passed && result.status == Status::Passed {
                        prev.attempts = prev.attempts.saturating_add(1);
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
        self.index.clear();
    }

    fn finish(mut self, sink: &mut dyn Sink) {
        if !self.run.is_empty() {
            sink.warning(format!(
                "{}: the log ends before unittest's `Ran N tests` line: {} test(s) read so far are \
                 reported",
                self.source,
                self.run.len()
            ));
            self.end_run();
        }
        for result in self.done {
            sink.result(result);
        }
    }
}

/// The exception that ends a traceback: the block's last line that is not indented.
fn exception_line(text: &[u8]) -> Option<BString> {
    text.lines()
        .rfind(|l| {
            !l.trim().is_empty()
                && !l.starts_with(b" ")
                && !l.starts_with(b"\t")
                && !l.starts_with(b"Traceback ")
                && !is_separator(l, b'-')
        })
        .map(|l| BString::from(l.trim_end()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::collect;

    #[test]
    fn identities_old_and_new() {
        let ((id, _), outcome) =
            test_line(b"test_add (pkg.test_calc.CalcTests.test_add) ... ok").unwrap();
        assert_eq!(id, "pkg.test_calc.CalcTests.test_add");
        assert_eq!(outcome.unwrap().0, Status::Passed);
        let ((id, _), _) = test_line(b"test_add (pkg.test_calc.CalcTests) ... FAIL").unwrap();
        assert_eq!(id, "pkg.test_calc.CalcTests.test_add");
        let ((id, _), _) =
            test_line(b"pkg.test_x (unittest.loader._FailedTest.pkg.test_x) ... ERROR").unwrap();
        assert_eq!(id, "pkg.test_x");
        let ((id, params), _) = test_line(b"test_s (m.C.test_s) (i=1) ... FAIL").unwrap();
        assert_eq!(
            (id.as_slice(), params.unwrap().as_slice()),
            (&b"m.C.test_s"[..], &b"(i=1)"[..])
        );
        assert!(test_line(b"pkg.mod.Class.test_method ... [OK]").is_none());
    }

    #[test]
    fn a_run_cut_before_ran_is_kept_with_a_warning() {
        let text = "test_a (m.C.test_a) ... ok\ntest_b (m.C.test_b) ... FAIL\n";
        let collected =
            collect(&Unittest, &mut text.as_bytes(), &ParseOptions::new("log")).unwrap();
        assert_eq!(collected.results.len(), 2);
        assert_eq!(collected.warnings.len(), 1);
    }

    #[test]
    fn two_runs_that_pass_stay_passed() {
        let run = "test_a (m.C.test_a) ... ok\n\nRan 1 test in 0.001s\n\nOK\n";
        let text = format!("{run}{run}");
        let collected =
            collect(&Unittest, &mut text.as_bytes(), &ParseOptions::new("log")).unwrap();
        assert_eq!(collected.results[0].status, Status::Passed);
        assert_eq!(collected.results[0].attempts, 2);
    }

    #[test]
    fn sniffs() {
        assert_eq!(sniff(b"test_a (m.C.test_a) ... ok\n"), Confidence::HIGH);
        assert_eq!(sniff(b"pkg.C.test_x ... [OK]\n"), Confidence::NONE);
        assert_eq!(sniff(b"running 1 test\ntest a ... ok\n"), Confidence::NONE);
    }
}
