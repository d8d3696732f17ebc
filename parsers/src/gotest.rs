//! `go test -json`: the test2json event stream, one JSON object a line.
//!
//! Each event has an `Action` (`run`, `pause`, `cont`, `output`, `pass`, `fail`, `skip`, and since
//! Go 1.20 `start`, since 1.24 `build-output`/`build-fail`), a `Package` and, for a test's events, a
//! `Test` (`TestX/sub/case`). Packages run in parallel, so their events interleave, and so do a
//! package's parallel subtests: everything is keyed by package and test. A test ends with its own
//! `pass`/`fail`/`skip`; one that never does (a panic in another test, `-timeout`, a killed binary)
//! is an `error` when its package ends. A package that fails with no failing test (a build failure,
//! `TestMain`, a panic outside tests) is an `error` under the package's path. Lines that are not
//! JSON (stderr in the same log: compiler errors, Go before 1.24's `FAIL pkg [build failed]`) are
//! read for build failures and otherwise passed over. See `docs/parsers.md`.

use std::collections::{HashMap, HashSet};

use bstr::{BString, ByteSlice};
use serde::Deserialize;

use crate::error::{ParseError, ParseErrorKind};
use crate::format::{Confidence, Format, ParseOptions, Sink};
use crate::lines::{finish_capped, push_capped, Lines};
use crate::model::{Details, Kind, Status, TestResult};

/// `go test -json` output (test2json events).
#[derive(Clone, Copy, Debug, Default)]
pub struct GoTest;

const HUMAN_NAME: &str = "go test -json output";

/// The longest event line read; a longer one is an error (test2json writes one output line per
/// event, so only a test printing megabytes without a newline comes near).
const LINE_CAP: usize = 16 * 1024 * 1024;
/// The most output kept for one test or package.
const TEXT_CAP: usize = 64 * 1024;
/// The most packages whose build output is kept before their failure is reported.
const BUILD_OUTPUT_CAP: usize = 10_000;

impl Format for GoTest {
    fn name(&self) -> &'static str {
        "gotest"
    }

    fn description(&self) -> &'static str {
        "go test -json output (test2json events: tests, subtests, build failures, panics, -count)"
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
            let trimmed = line.trim_start();
            if !trimmed.starts_with(b"{") {
                parser.text_line(&line);
                continue;
            }
            if lines.cut {
                return Err(lines.error(
                    lines.number,
                    0,
                    ParseErrorKind::LimitExceeded(format!(
                        "an event line longer than {} MiB",
                        LINE_CAP / (1024 * 1024)
                    )),
                ));
            }
            let event: Event = match serde_json::from_slice(trimmed) {
                Ok(event) => event,
                Err(err) if !lines.ended && err.is_eof() => {
                    return Err(lines.error(
                        lines.number,
                        err.column() as u64,
                        ParseErrorKind::Truncated,
                    ));
                }
                Err(err) => {
                    let indent = (line.len() - trimmed.len()) as u64;
                    return Err(lines.error(
                        lines.number,
                        err.column() as u64 + indent,
                        ParseErrorKind::Other(format!("not a test2json event: {err}")),
                    ));
                }
            };
            parser.event(event, lines.number, sink);
        }
        parser.finish(sink);
        Ok(())
    }
}

/// HIGH for a JSON object line with test2json's `Action` and `Package` (or `ImportPath`) keys among
/// the first lines; NONE otherwise.
fn sniff(head: &[u8]) -> Confidence {
    if head.trim_start().starts_with(b"<") {
        return Confidence::NONE;
    }
    let events = head
        .lines()
        .take(200)
        .map(|line| line.trim_start())
        .filter(|line| line.starts_with(b"{\""))
        .filter(|line| {
            line.find(b"\"Action\":\"").is_some()
                && (line.find(b"\"Package\":\"").is_some()
                    || line.find(b"\"ImportPath\":\"").is_some())
        })
        .count();
    if events > 0 {
        Confidence::HIGH
    } else {
        Confidence::NONE
    }
}

/// One test2json event (unknown fields are ignored).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Event {
    time: Option<String>,
    action: String,
    #[serde(default)]
    package: String,
    test: Option<String>,
    elapsed: Option<f64>,
    output: Option<String>,
    import_path: Option<String>,
    failed_build: Option<String>,
}

/// A test that started and has not ended yet.
#[derive(Debug, Default)]
struct Running {
    output: Vec<u8>,
    dropped: usize,
}

/// What is known of one package while its events arrive.
#[derive(Debug, Default)]
struct Package {
    running: HashMap<String, Running>,
    /// Whether one of its tests failed (then a failing package needs no result of its own).
    test_failed: bool,
    /// Output not attributed to a test.
    output: Vec<u8>,
    dropped: usize,
}

struct Parser {
    source: String,
    packages: HashMap<String, Package>,
    /// Package order of first appearance, for reporting what the log left unfinished.
    order: Vec<String>,
    /// Compiler output by import path (`# pkg` blocks and `build-output` events).
    build_output: HashMap<String, Vec<u8>>,
    /// The `# pkg` block the plain-text lines go to.
    current_build: Option<String>,
    /// Packages reported as failing to build (reported once, whichever way the log says it).
    build_failed: HashSet<String>,
    timestamp_seen: bool,
    odd_events: u64,
    /// Results, one per identity, handed to the sink at the end (`-count N` repeats merge).
    results: Vec<TestResult>,
    index: HashMap<BString, usize>,
}

impl Parser {
    fn new(source: &str) -> Self {
        Parser {
            source: source.to_owned(),
            packages: HashMap::new(),
            order: Vec::new(),
            build_output: HashMap::new(),
            current_build: None,
            build_failed: HashSet::new(),
            timestamp_seen: false,
            odd_events: 0,
            results: Vec::new(),
            index: HashMap::new(),
        }
    }

    /// Keeps a result; a repeat of a test (`-count N`) merges into the first: the contract's
    /// retry rules (failed then passed is flaky), except that a test that passed every time stays
    /// passed.
    fn result(&mut self, result: TestResult) {
        match self.index.get(&result.test) {
            Some(&at) => {
                let prev = &mut self.results[at];
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
                self.index.insert(result.test.clone(), self.results.len());
                self.results.push(result);
            }
        }
    }

    fn package(&mut self, name: &str) -> &mut Package {
        if !self.packages.contains_key(name) {
            self.order.push(name.to_owned());
        }
        self.packages.entry(name.to_owned()).or_default()
    }

    /// A line that is not an event: stderr in the same log.
    fn text_line(&mut self, line: &[u8]) {
        if let Some(header) = line.strip_prefix(b"# ") {
            // `# example.com/pkg [example.com/pkg.test]`: the compiler's output for a package.
            let path = header.split_str(" ").next().unwrap_or_default();
            let path = path.to_str_lossy().into_owned();
            self.current_build = Some(path.clone());
            self.add_build_output(&path, line);
            return;
        }
        if let Some(rest) = line.strip_prefix(b"FAIL\t") {
            // Go before 1.24: `FAIL\texample.com/pkg [build failed]` on stdout, not as an event.
            let mut words = rest.split_str(" ");
            let path = words.next().unwrap_or_default().to_str_lossy().into_owned();
            let why = rest.get(path.len()..).unwrap_or_default().trim();
            if why == b"[build failed]" || why == b"[setup failed]" {
                let what = why.trim_start_with(|c| c == '[');
                let what = what.trim_end_with(|c| c == ']').to_str_lossy().into_owned();
                self.package_failed_to_build(&path, &path, &what);
            }
            self.current_build = None;
            return;
        }
        if let Some(path) = self.current_build.clone() {
            self.add_build_output(&path, line);
        }
    }

    fn add_build_output(&mut self, path: &str, line: &[u8]) {
        if !self.build_output.contains_key(path) && self.build_output.len() >= BUILD_OUTPUT_CAP {
            return;
        }
        let text = self.build_output.entry(path.to_owned()).or_default();
        push_capped(text, line, TEXT_CAP);
        push_capped(text, b"\n", TEXT_CAP);
    }

    fn event(&mut self, event: Event, line: u64, sink: &mut dyn Sink) {
        self.current_build = None;
        if !self.timestamp_seen {
            if let Some(time) = event
                .time
                .as_deref()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            {
                self.timestamp_seen = true;
                sink.timestamp(time.with_timezone(&chrono::Utc));
            }
        }
        match event.action.as_str() {
            "build-output" => {
                if let (Some(path), Some(output)) = (&event.import_path, &event.output) {
                    let key = path.split(' ').next().unwrap_or_default().to_owned();
                    let output = output.strip_suffix('\n').unwrap_or(output);
                    self.add_build_output(&key, output.as_bytes());
                }
                return;
            }
            "build-fail" | "start" | "bench" => return,
            _ => {}
        }
        if event.package.is_empty() {
            self.odd(line, "an event without a Package", sink);
            return;
        }
        match event.test.as_deref().filter(|t| !t.is_empty()) {
            Some(test) => self.test_event(&event, test, line, sink),
            None => self.package_event(&event),
        }
    }

    fn odd(&mut self, line: u64, what: &str, sink: &mut dyn Sink) {
        self.odd_events += 1;
        if self.odd_events == 1 {
            sink.warning(format!(
                "{}:{line}: {what} is not a test2json event this parser knows; passed over",
                self.source
            ));
        }
    }

    fn test_event(&mut self, event: &Event, test: &str, line: u64, sink: &mut dyn Sink) {
        let package = event.package.clone();
        match event.action.as_str() {
            "run" => {
                // A second `run` of a running test (-count N reruns a test only after it ended).
                self.package(&package)
                    .running
                    .insert(test.to_owned(), Running::default());
            }
            "output" => {
                let output = event.output.as_deref().unwrap_or_default();
                let running = self
                    .package(&package)
                    .running
                    .entry(test.to_owned())
                    .or_default();
                running.dropped += push_capped(&mut running.output, output.as_bytes(), TEXT_CAP);
            }
            "pass" | "fail" | "skip" => {
                let status = match event.action.as_str() {
                    "pass" => Status::Passed,
                    "fail" => Status::Failed,
                    _ => Status::Skipped,
                };
                let state = self.package(&package);
                let running = state.running.remove(test).unwrap_or_default();
                if status == Status::Failed {
                    state.test_failed = true;
                }
                let duration = event.elapsed.filter(|e| e.is_finite() && *e >= 0.0);
                self.result(test_result(&package, test, status, duration, running, None));
            }
            "pause" | "cont" => {}
            _ => self.odd(line, &format!("the action {:?}", event.action), sink),
        }
    }

    fn package_event(&mut self, event: &Event) {
        let package = event.package.clone();
        match event.action.as_str() {
            "output" => {
                let output = event.output.as_deref().unwrap_or_default();
                let state = self.package(&package);
                state.dropped += push_capped(&mut state.output, output.as_bytes(), TEXT_CAP);
            }
            "pass" | "fail" | "skip" => {
                if let Some(build) = &event.failed_build {
                    let key = build.split(' ').next().unwrap_or_default().to_owned();
                    self.package_failed_to_build(&package, &key, "build failed");
                    self.packages.remove(&package);
                    return;
                }
                let Some(state) = self.packages.remove(&package) else {
                    return;
                };
                let failed = event.action == "fail";
                self.end_package(&package, state, failed);
            }
            _ => {}
        }
    }

    /// A package's test binary ended: the tests still running never finished; a failing package
    /// with no failing test is an error of its own.
    fn end_package(&mut self, package: &str, state: Package, failed: bool) {
        let mut any_error = state.test_failed;
        let mut unfinished: Vec<_> = state.running.into_iter().collect();
        unfinished.sort_by(|a, b| a.0.cmp(&b.0));
        let reason = if failed {
            "the test did not finish: its test binary failed"
        } else {
            "the test did not finish"
        };
        for (test, running) in unfinished {
            // A parent whose subtest was still running did not finish either: both are reported.
            any_error = true;
            self.result(test_result(
                package,
                &test,
                Status::Error,
                None,
                running,
                Some(reason),
            ));
        }
        if failed && !any_error {
            let text = finish_capped(state.output, state.dropped);
            let message = output_message(&text, Status::Error)
                .unwrap_or_else(|| BString::from("the package's tests failed"));
            let mut result = TestResult::new(package, Kind::Test, Status::Error);
            result.message = Some(message);
            result.details.insert("package".into(), package.into());
            result.details.insert(
                "text".into(),
                serde_json::Value::String(text.to_str_lossy().into_owned()),
            );
            self.result(result);
        }
    }

    fn package_failed_to_build(&mut self, package: &str, key: &str, what: &str) {
        if !self.build_failed.insert(package.to_owned()) {
            return;
        }
        let text = self.build_output.remove(key).unwrap_or_default();
        // The first compiler message (after the `# pkg` header) says why.
        let first = text
            .lines()
            .map(|l| l.trim())
            .find(|l| !l.is_empty() && !l.starts_with(b"#"))
            .map(|l| l.to_str_lossy().into_owned());
        let mut result = TestResult::new(package, Kind::Test, Status::Error);
        result.message = Some(BString::from(match first {
            Some(first) => format!("{what}: {first}"),
            None => what.to_owned(),
        }));
        result.details.insert("package".into(), package.into());
        if !text.is_empty() {
            result.details.insert(
                "text".into(),
                serde_json::Value::String(text.to_str_lossy().into_owned()),
            );
        }
        self.result(result);
    }

    /// The end of the log: packages that never ended were cut off.
    fn finish(mut self, sink: &mut dyn Sink) {
        let order = std::mem::take(&mut self.order);
        for package in order {
            let Some(state) = self.packages.remove(&package) else {
                continue;
            };
            if state.running.is_empty() {
                continue;
            }
            sink.warning(format!(
                "{}: the log ends before package {package} does: {} test(s) without a result are \
                 reported as errors",
                self.source,
                state.running.len()
            ));
            let mut unfinished: Vec<_> = state.running.into_iter().collect();
            unfinished.sort_by(|a, b| a.0.cmp(&b.0));
            for (test, running) in unfinished {
                self.result(test_result(
                    &package,
                    &test,
                    Status::Error,
                    None,
                    running,
                    Some("the test did not finish: the log ends before its result"),
                ));
            }
        }
        for result in self.results {
            sink.result(result);
        }
    }
}

/// The result of one run of one test.
fn test_result(
    package: &str,
    test: &str,
    status: Status,
    duration: Option<f64>,
    running: Running,
    fallback: Option<&str>,
) -> TestResult {
    let mut result = TestResult::new(identity(package, test), Kind::Test, status);
    result.duration = duration;
    let mut details = Details::new();
    details.insert("package".into(), package.into());
    if status != Status::Passed {
        let text = finish_capped(running.output, running.dropped);
        result.message = output_message(&text, status)
            .or_else(|| fallback.map(BString::from))
            .or_else(|| {
                (status == Status::Error).then(|| BString::from("the test did not finish"))
            });
        if !text.is_empty() {
            details.insert(
                "text".into(),
                serde_json::Value::String(text.to_str_lossy().into_owned()),
            );
        }
    }
    result.details = details;
    result
}

/// `package.Test/sub`: the `classname.name` that go-junit-report and gotestsum write for the same
/// test.
fn identity(package: &str, test: &str) -> String {
    if package.is_empty() {
        test.to_owned()
    } else {
        format!("{package}.{test}")
    }
}

/// What a test's output says about its failure or skip: a `panic:` line, else the first line that
/// is not go test's own `=== RUN`/`--- FAIL:` bookkeeping.
fn output_message(text: &[u8], status: Status) -> Option<BString> {
    let lines = || {
        text.lines()
            .map(|l| l.trim())
            .filter(|l| !l.is_empty())
            .filter(|l| !l.starts_with(b"=== "))
            .filter(|l| {
                !(l.starts_with(b"--- PASS:")
                    || l.starts_with(b"--- FAIL:")
                    || l.starts_with(b"--- SKIP:"))
            })
    };
    if status.is_failing() {
        if let Some(panic) = lines().find(|l| l.starts_with(b"panic: ")) {
            return Some(BString::from(panic));
        }
    }
    // `t.Error`, `t.Fatal`, `t.Skip` and `t.Log` print `file_test.go:12: text`; the last one is the
    // one that ended the test, or the latest complaint.
    if let Some(located) = lines().rfind(|l| is_located(l)) {
        return Some(BString::from(located));
    }
    let first = lines()
        .find(|l| !(l.starts_with(b"FAIL") || l.starts_with(b"PASS") || l.starts_with(b"ok ")))?;
    Some(BString::from(first))
}

/// `name.go:12: …`, as the testing package prints a test's messages.
fn is_located(line: &[u8]) -> bool {
    let Some(colon) = line.find(b".go:") else {
        return false;
    };
    let file = &line[..colon];
    let rest = &line[colon + 4..];
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    !file.is_empty() && !file.contains(&b' ') && digits > 0 && rest.get(digits) == Some(&b':')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::collect;

    fn parse(text: &str) -> Result<crate::Collected, ParseError> {
        collect(&GoTest, &mut text.as_bytes(), &ParseOptions::new("go.json"))
    }

    #[test]
    fn sniffs_events_and_nothing_else() {
        let event =
            br#"{"Time":"2024-01-01T00:00:00Z","Action":"run","Package":"p","Test":"TestA"}"#;
        assert_eq!(sniff(event), Confidence::HIGH);
        assert_eq!(sniff(b"ok  \tp\t0.1s\n"), Confidence::NONE);
        assert_eq!(sniff(b"<testsuites/>"), Confidence::NONE);
        assert_eq!(sniff(br#"[{"kind":"warning"}]"#), Confidence::NONE);
    }

    #[test]
    fn a_truncated_last_event_is_an_error_naming_the_place() {
        let text = "{\"Action\":\"run\",\"Package\":\"p\",\"Test\":\"TestA\"}\n{\"Action\":\"pa";
        let err = parse(text).unwrap_err();
        assert_eq!(err.line, 2);
        assert!(matches!(err.kind, ParseErrorKind::Truncated), "{err}");
        assert!(err
            .to_string()
            .starts_with("failed to parse go test -json output at go.json:2"));
    }

    #[test]
    fn a_broken_event_in_mid_log_is_an_error() {
        let text = "{\"Action\":\"run\",\"Package\":\"p\",\"Test\":\"TestA\"}\n{\"Action\":1}\n";
        let err = parse(text).unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.to_string().contains("not a test2json event"), "{err}");
    }

    #[test]
    fn a_package_cut_off_reports_its_running_tests() {
        let text = "{\"Action\":\"run\",\"Package\":\"p\",\"Test\":\"TestA\"}\n";
        let collected = parse(text).unwrap();
        assert_eq!(collected.results.len(), 1);
        assert_eq!(collected.results[0].status, Status::Error);
        assert_eq!(collected.results[0].test, "p.TestA");
        assert_eq!(collected.warnings.len(), 1, "{:?}", collected.warnings);
    }

    #[test]
    fn go_1_24_build_failures_are_one_error_under_the_package() {
        let text = concat!(
            "{\"ImportPath\":\"p [p.test]\",\"Action\":\"build-output\",\"Output\":\"# p [p.test]\\n\"}\n",
            "{\"ImportPath\":\"p [p.test]\",\"Action\":\"build-output\",\"Output\":\"p/a.go:1:1: bad\\n\"}\n",
            "{\"ImportPath\":\"p [p.test]\",\"Action\":\"build-fail\"}\n",
            "{\"Action\":\"start\",\"Package\":\"p\"}\n",
            "{\"Action\":\"output\",\"Package\":\"p\",\"Output\":\"FAIL\\tp [build failed]\\n\"}\n",
            "{\"Action\":\"fail\",\"Package\":\"p\",\"Elapsed\":0,\"FailedBuild\":\"p [p.test]\"}\n",
        );
        let collected = parse(text).unwrap();
        assert_eq!(collected.results.len(), 1, "{:?}", collected.results);
        let result = &collected.results[0];
        assert_eq!(
            (result.test.as_slice(), result.status),
            (&b"p"[..], Status::Error)
        );
        assert_eq!(
            result.message.as_ref().unwrap(),
            "build failed: p/a.go:1:1: bad"
        );
    }
}
