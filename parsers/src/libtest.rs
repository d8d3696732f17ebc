//! Rust's libtest, as `cargo test` prints it (the default "pretty" format).
//!
//! cargo runs one test binary after another — `Running unittests src/lib.rs (…/deps/name-hash)`,
//! `Running tests/x.rs (…)`, `Doc-tests name` — and each prints `running N tests`, one
//! `test path ... ok|FAILED|ignored[, reason]` line a test, a `failures:` section with each failed
//! test's captured output under `---- path stdout ----`, and `test result: …`. A binary's results
//! wait for its `test result:` line (their messages come last); a binary that dies in mid-test (an
//! abort, a segfault) leaves a `test path ... ` line without an outcome: that test is an `error`.
//! See `docs/parsers.md`.

use std::collections::HashMap;

use bstr::{BString, ByteSlice};

use crate::error::ParseError;
use crate::format::{Confidence, Format, ParseOptions, Sink};
use crate::lines::{finish_capped, push_capped, strip_ansi, Lines};
use crate::model::{Kind, Status, TestResult};

/// Plain `cargo test` output (libtest's pretty format).
#[derive(Clone, Copy, Debug, Default)]
pub struct Libtest;

const HUMAN_NAME: &str = "cargo test output";

/// The longest line kept; the rest of a longer line is dropped.
const LINE_CAP: usize = 64 * 1024;
/// The most captured output kept for one test.
const TEXT_CAP: usize = 64 * 1024;

impl Format for Libtest {
    fn name(&self) -> &'static str {
        "libtest"
    }

    fn description(&self) -> &'static str {
        "Rust cargo test output (libtest: unit, integration and doc-tests, several binaries)"
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
            parser.line(&line, lines.number, sink);
        }
        parser.end_binary(sink);
        Ok(())
    }
}

/// HIGH for `running N tests` with a `test … ... ok|FAILED|ignored` line or a `test result:` line;
/// MEDIUM for such test lines alone (two or more); NONE otherwise and for anything starting with `<`.
fn sniff(head: &[u8]) -> Confidence {
    if head.trim_start().starts_with(b"<") {
        return Confidence::NONE;
    }
    let mut running = false;
    let mut cargo = false;
    let mut tests = 0;
    let mut started = 0;
    for line in head.lines().take(5000) {
        if running_count(line).is_some() {
            running = true;
        } else if line.starts_with(b"     Running ") || line.starts_with(b"   Doc-tests ") {
            cargo = true;
        } else if line.starts_with(b"test result: ") {
            if running {
                return Confidence::HIGH;
            }
        } else if let Some((_, outcome)) = test_line(line) {
            match outcome {
                Some(_) => tests += 1,
                None => started += 1,
            }
        }
    }
    match tests {
        _ if running && (tests > 0 || (cargo && started > 0)) => Confidence::HIGH,
        0 => Confidence::NONE,
        1 => Confidence::LOW,
        _ => Confidence::MEDIUM,
    }
}

/// `running 3 tests` / `running 1 test`.
fn running_count(line: &[u8]) -> Option<u64> {
    let rest = line.strip_prefix(b"running ")?;
    let (count, word) = rest.split_once_str(" ")?;
    if word != b"tests" && word != b"test" {
        return None;
    }
    count.to_str().ok()?.parse().ok()
}

/// An outcome libtest prints after ` ... `.
#[derive(Clone, Debug, PartialEq)]
enum Outcome {
    Ok,
    Failed,
    Ignored(Option<BString>),
    Bench,
}

fn outcome(text: &[u8]) -> Option<Outcome> {
    let text = text.trim_end();
    Some(match text {
        b"ok" => Outcome::Ok,
        b"FAILED" => Outcome::Failed,
        b"ignored" => Outcome::Ignored(None),
        _ if text.starts_with(b"ignored, ") => {
            Outcome::Ignored(Some(BString::from(text[b"ignored, ".len()..].trim())))
        }
        _ if text.starts_with(b"bench:") => Outcome::Bench,
        _ => return None,
    })
}

/// `test path ... outcome`: the test's path (without ` - should panic`) and its outcome, if the
/// line has one (a test whose binary died has none).
fn test_line(line: &[u8]) -> Option<(BString, Option<Outcome>)> {
    let rest = line.strip_prefix(b"test ")?;
    let at = rest.find(b" ... ")?;
    let mut name = &rest[..at];
    if let Some(stripped) = name.strip_suffix(b" - should panic") {
        name = stripped;
    }
    if name.is_empty() || name.starts_with(b" ") {
        return None;
    }
    Some((BString::from(name), outcome(&rest[at + 5..])))
}

/// The test binary a `Running …`/`Doc-tests …` line names, as nextest's binary ids are where
/// they can be told: `name` (a library's unit tests), `package::bin/name` (a binary's),
/// `package::name` (an integration test), `name` for doc-tests.
fn binary_id(line: &[u8], package: &mut Option<String>) -> Option<String> {
    let trimmed = line.trim_start();
    if let Some(name) = trimmed.strip_prefix(b"Doc-tests ") {
        return Some(name.trim().to_str_lossy().into_owned());
    }
    let rest = trimmed.strip_prefix(b"Running ")?;
    // `Running unittests src/lib.rs (target/debug/deps/name-0123abcd)`, or older cargo's
    // `Running target/debug/deps/name-0123abcd`.
    let path = match (rest.find_byte(b'('), rest.rfind_byte(b')')) {
        (Some(open), Some(close)) if open < close => &rest[open + 1..close],
        _ => rest.trim(),
    };
    let file = path.rsplit_str("/").next().unwrap_or(path);
    let file = file.rsplit_str("\\").next().unwrap_or(file);
    let file = file.strip_suffix(b".exe").unwrap_or(file);
    let name = match file.rfind_byte(b'-') {
        Some(dash) if file[dash + 1..].iter().all(u8::is_ascii_hexdigit) => &file[..dash],
        _ => file,
    };
    let name = name.to_str_lossy().into_owned();
    if rest.starts_with(b"unittests src/lib.rs") {
        *package = Some(name.clone());
        return Some(name);
    }
    if rest.starts_with(b"unittests ") {
        let owner = package.get_or_insert_with(|| name.clone());
        return Some(format!("{owner}::bin/{name}"));
    }
    Some(match package {
        Some(owner) => format!("{owner}::{name}"),
        None => name,
    })
}

/// One test of the running binary.
#[derive(Debug)]
struct Test {
    name: BString,
    status: Status,
    message: Option<BString>,
    text: Vec<u8>,
    dropped: usize,
}

struct Parser {
    source: String,
    /// The package of the last library unit tests, for naming its other binaries.
    package: Option<String>,
    binary: Option<String>,
    tests: Vec<Test>,
    index: HashMap<BString, usize>,
    /// A test line without an outcome yet (its output may follow with `--nocapture`).
    pending: Option<BString>,
    running: bool,
    /// The test whose captured output the `failures:` section is showing.
    capturing: Option<usize>,
    in_failures: bool,
    /// cargo's `process didn't exit successfully: … (signal: 6, SIGABRT…)`.
    killed: Option<BString>,
    summary: Option<[u64; 3]>,
}

impl Parser {
    fn new(source: &str) -> Self {
        Parser {
            source: source.to_owned(),
            package: None,
            binary: None,
            tests: Vec::new(),
            index: HashMap::new(),
            pending: None,
            running: false,
            capturing: None,
            in_failures: false,
            killed: None,
            summary: None,
        }
    }

    fn line(&mut self, line: &[u8], number: u64, sink: &mut dyn Sink) {
        // cargo right-aligns its status words to 12 columns.
        if line.starts_with(b"     Running ") || line.starts_with(b"   Doc-tests ") {
            self.end_binary(sink);
            let mut package = self.package.take();
            self.binary = binary_id(line, &mut package);
            self.package = package;
            return;
        }
        if let Some(_count) = running_count(line) {
            if self.running {
                self.end_binary(sink);
            }
            self.running = true;
            return;
        }
        if let Some(at) = line.find(b"process didn't exit successfully: ") {
            let tail = &line[at..];
            let why = match (tail.rfind(b" ("), tail.ends_with(b")")) {
                (Some(open), true) => &tail[open + 2..tail.len() - 1],
                _ => tail,
            };
            self.killed = Some(BString::from(why));
            return;
        }
        if !self.running {
            return;
        }
        if line.starts_with(b"test result: ") {
            self.summary = Some(summary_counts(line));
            self.end_binary(sink);
            return;
        }
        if let Some((name, outcome)) = test_line(line) {
            if !self.in_failures {
                self.resolve_pending(number, sink);
                match outcome {
                    Some(outcome) => self.add(name, outcome),
                    None => self.pending = Some(name),
                }
                return;
            }
        }
        if self.pending.is_some() {
            // `--nocapture`: the test's own output, then its outcome on a line of its own.
            if let Some(outcome) = outcome(line) {
                if let Some(name) = self.pending.take() {
                    self.add(name, outcome);
                }
                return;
            }
        }
        if line == b"failures:" {
            self.in_failures = true;
            self.capturing = None;
            return;
        }
        if let Some(header) = line
            .strip_prefix(b"---- ")
            .and_then(|rest| rest.strip_suffix(b" ----"))
        {
            let name = header
                .strip_suffix(b" stdout")
                .or_else(|| header.strip_suffix(b" stderr"))
                .unwrap_or(header);
            self.capturing = self.index.get(name.as_bstr()).copied();
            return;
        }
        if let Some(at) = self.capturing {
            let test = &mut self.tests[at];
            test.dropped += push_capped(&mut test.text, line, TEXT_CAP);
            test.dropped += push_capped(&mut test.text, b"\n", TEXT_CAP);
        }
    }

    /// A test line without an outcome followed by another test line: the first one's output
    /// swallowed its outcome (`--nocapture` with several threads); it is reported as it stands.
    fn resolve_pending(&mut self, number: u64, sink: &mut dyn Sink) {
        if let Some(name) = self.pending.take() {
            sink.warning(format!(
                "{}:{number}: the line of test {} before this one has no outcome (output mixed \
                 into it?); the test is not reported",
                self.source,
                name.to_str_lossy()
            ));
        }
    }

    fn add(&mut self, name: BString, outcome: Outcome) {
        let (status, message) = match outcome {
            Outcome::Ok | Outcome::Bench => (Status::Passed, None),
            Outcome::Failed => (Status::Failed, None),
            Outcome::Ignored(reason) => (Status::Skipped, reason),
        };
        let test = Test {
            name: name.clone(),
            status,
            message,
            text: Vec::new(),
            dropped: 0,
        };
        match self.index.get(&name) {
            // The same name twice in one binary (a test harness of its own): the later stands.
            Some(&at) => self.tests[at] = test,
            None => {
                self.index.insert(name, self.tests.len());
                self.tests.push(test);
            }
        }
    }

    /// The end of a test binary's output: its results, with their messages.
    fn end_binary(&mut self, sink: &mut dyn Sink) {
        if let Some(name) = self.pending.take() {
            let message = match self.killed.take() {
                Some(why) => format!(
                    "the test binary died while the test ran: {}",
                    why.to_str_lossy()
                ),
                None => "the test did not finish: the log ends before its outcome".to_owned(),
            };
            self.add(name, Outcome::Failed);
            if let Some(test) = self.tests.last_mut() {
                test.status = Status::Error;
                test.message = Some(BString::from(message));
            }
        } else if self.running && self.summary.is_none() && !self.tests.is_empty() {
            sink.warning(format!(
                "{}: the output of test binary {} ends without its `test result:` line",
                self.source,
                self.binary.as_deref().unwrap_or("(unnamed)")
            ));
        }
        if let Some([passed, failed, ignored]) = self.summary.take() {
            let count = |s: Status| self.tests.iter().filter(|t| t.status == s).count() as u64;
            let found = [
                count(Status::Passed),
                count(Status::Failed),
                count(Status::Skipped),
            ];
            if found != [passed, failed, ignored] {
                sink.warning(format!(
                    "{}: test binary {} says {passed} passed, {failed} failed, {ignored} ignored \
                     but {} passed, {} failed, {} ignored were read",
                    self.source,
                    self.binary.as_deref().unwrap_or("(unnamed)"),
                    found[0],
                    found[1],
                    found[2]
                ));
            }
        }
        let prefix = self.binary.take();
        for test in self.tests.drain(..) {
            let identity = match &prefix {
                Some(prefix) => {
                    let mut id = BString::from(prefix.as_str());
                    id.push(b'.');
                    id.extend_from_slice(&test.name);
                    id
                }
                None => test.name.clone(),
            };
            let mut result = TestResult::new(identity, Kind::Test, test.status);
            result.message = test.message.or_else(|| panic_message(&test.text));
            if !test.text.is_empty() {
                let text = finish_capped(test.text, test.dropped);
                result.details.insert(
                    "text".into(),
                    serde_json::Value::String(text.to_str_lossy().into_owned()),
                );
            }
            if let Some(prefix) = &prefix {
                result
                    .details
                    .insert("binary".into(), prefix.as_str().into());
            }
            sink.result(result);
        }
        self.index.clear();
        self.running = false;
        self.in_failures = false;
        self.capturing = None;
        self.killed = None;
    }
}

/// `test result: FAILED. 3 passed; 4 failed; 2 ignored; 0 measured; 0 filtered out; …`.
fn summary_counts(line: &[u8]) -> [u64; 3] {
    let mut counts = [0; 3];
    for part in line.split_str(";") {
        let part = part.rsplit_str(". ").next().unwrap_or(part).trim();
        let Some((number, word)) = part.split_once_str(" ") else {
            continue;
        };
        let Some(n) = number.to_str().ok().and_then(|n| n.parse().ok()) else {
            continue;
        };
        match word {
            b"passed" => counts[0] = n,
            b"failed" => counts[1] = n,
            b"ignored" => counts[2] = n,
            _ => {}
        }
    }
    counts
}

/// The panic message in a failed test's captured output: the line after `thread '…' panicked at
/// file:line:col:` (Rust 1.73 and later) or the quoted text of `panicked at 'msg', file` (before),
/// else libtest's `note: test did not panic as expected`, else the first line.
fn panic_message(text: &[u8]) -> Option<BString> {
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let Some(at) = line.find(b"panicked at ") else {
            continue;
        };
        if !line.starts_with(b"thread ") {
            continue;
        }
        let rest = &line[at + b"panicked at ".len()..];
        if let Some(quoted) = rest.strip_prefix(b"'") {
            let end = quoted.rfind(b"', ").unwrap_or(quoted.len());
            return Some(BString::from(&quoted[..end]));
        }
        return lines
            .find(|l| !l.trim().is_empty())
            .map(|l| BString::from(l.trim_end()));
    }
    if let Some(note) = text
        .lines()
        .find(|l| l.starts_with(b"note: test did not panic as expected"))
    {
        return Some(BString::from(note));
    }
    text.lines()
        .map(|l| l.trim())
        .find(|l| !l.is_empty())
        .map(BString::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::collect;

    #[test]
    fn test_lines() {
        let (name, outcome) = test_line(b"test tests::x - should panic ... ok").unwrap();
        assert_eq!(name, "tests::x");
        assert_eq!(outcome, Some(Outcome::Ok));
        let (name, outcome) = test_line(b"test src/lib.rs - add (line 5) ... FAILED").unwrap();
        assert_eq!(name, "src/lib.rs - add (line 5)");
        assert_eq!(outcome, Some(Outcome::Failed));
        let (_, outcome) = test_line(b"test a ... ignored, needs a network").unwrap();
        assert_eq!(
            outcome,
            Some(Outcome::Ignored(Some("needs a network".into())))
        );
        assert_eq!(test_line(b"test a ... error: test failed").unwrap().1, None);
        assert!(test_line(b"test result: ok. 1 passed").is_none());
    }

    #[test]
    fn binary_ids_follow_nextest() {
        let mut package = None;
        let id = |line: &str, package: &mut Option<String>| binary_id(line.as_bytes(), package);
        assert_eq!(
            id(
                "     Running unittests src/lib.rs (target/debug/deps/sample-e6daf73c296d6df0)",
                &mut package
            ),
            Some("sample".into())
        );
        assert_eq!(
            id("     Running tests/integration.rs (target/debug/deps/integration-ce6dc0bc40927308)", &mut package),
            Some("sample::integration".into())
        );
        assert_eq!(
            id(
                "     Running unittests src/main.rs (target/debug/deps/app-0123456789abcdef)",
                &mut package
            ),
            Some("sample::bin/app".into())
        );
        assert_eq!(
            id("   Doc-tests sample", &mut package),
            Some("sample".into())
        );
    }

    #[test]
    fn old_panic_messages() {
        let text = b"thread 'a' panicked at 'boom', src/lib.rs:1:1\nnote: run with RUST_BACKTRACE";
        assert_eq!(panic_message(text).unwrap(), "boom");
    }

    #[test]
    fn a_binary_without_its_summary_is_reported_with_a_warning() {
        let text = "running 2 tests\ntest a ... ok\ntest b ... FAILED\n";
        let collected = collect(&Libtest, &mut text.as_bytes(), &ParseOptions::new("log")).unwrap();
        assert_eq!(collected.results.len(), 2);
        assert_eq!(collected.warnings.len(), 1, "{:?}", collected.warnings);
    }

    #[test]
    fn sniffs() {
        assert_eq!(
            sniff(b"running 1 test\ntest a ... ok\n\ntest result: ok. 1 passed;"),
            Confidence::HIGH
        );
        assert_eq!(sniff(b"test_x (m.C.test_x) ... ok\n"), Confidence::NONE);
        assert_eq!(sniff(b"pkg.C.test_x ... [OK]\n"), Confidence::NONE);
    }
}
