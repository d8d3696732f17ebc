//! Properties over generated inputs.
//!
//! - JUnit round trip: a report built from random suites and testcases (names with unicode and
//!   the characters XML must escape, empty classnames and suite names, nested suites, every
//!   outcome and retry element, times) and written out by this test parses back to exactly the
//!   results the contract gives for it: identity, status, attempts, duration and message.
//! - trial and gcc: arbitrary lines (fragments of the real formats mixed with arbitrary bytes)
//!   never panic, always parse, and give no more results than the input has lines.

use bstr::{BString, ByteSlice};
use proptest::prelude::*;
use proptest::sample::select;

use super::Chunked;
use crate::collect::{collect, Collector};
use crate::format::{detect, registry, Format, ParseOptions, Sink};
use crate::model::{Kind, Status, TestResult};
use crate::{Gcc, JUnit, Trial};

// --- Generating JUnit reports ------------------------------------------------------------------

/// Characters names and messages are made of: plain, XML-special, white space (ASCII and
/// Unicode), multi-byte, and the dots identities are joined with.
const CHARS: &[char] = &[
    'a', 'b', 'z', 'A', 'Q', '0', '7', '_', '-', '.', '.', ' ', '<', '>', '&', '"', '\'', ';', '#',
    '[', ']', '=', '/', ':', '\t', '\n', '\r', '\u{a0}', 'é', 'ß', 'ж', '中', '😀', '\u{200b}',
];

fn text(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(select(CHARS), 0..max).prop_map(|chars| chars.into_iter().collect())
}

/// A name: often empty or plain, sometimes anything from [`CHARS`].
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => Just(String::new()),
        2 => select(&["test_a", "test_b", "pkg.mod.Class", "Class", "x"][..]).prop_map(String::from),
        3 => text(12),
    ]
}

#[derive(Clone, Debug)]
enum Outcome {
    Pass,
    /// `<failure>` (`error` false) or `<error>`, with `reruns` rerun elements beside it.
    Fail {
        error: bool,
        message: Option<String>,
        body: Option<String>,
        reruns: u8,
    },
    Skipped {
        xfail: bool,
        message: Option<String>,
    },
    /// `flaky` failures (or errors) before a pass; the messages of the flaky elements.
    Flaky {
        error: bool,
        messages: Vec<Option<String>>,
    },
}

fn outcome() -> impl Strategy<Value = Outcome> {
    let message = || prop::option::of(text(10));
    prop_oneof![
        3 => Just(Outcome::Pass),
        3 => (any::<bool>(), message(), prop::option::of(text(20)), 0u8..3).prop_map(
            |(error, message, body, reruns)| Outcome::Fail { error, message, body, reruns }
        ),
        1 => (any::<bool>(), message())
            .prop_map(|(xfail, message)| Outcome::Skipped { xfail, message }),
        2 => (any::<bool>(), prop::collection::vec(prop::option::of(text(10)), 1..4))
            .prop_map(|(error, messages)| Outcome::Flaky { error, messages }),
    ]
}

#[derive(Clone, Debug)]
struct Case {
    /// `None`: no `classname` attribute.
    classname: Option<String>,
    name: String,
    /// Milliseconds, written as seconds.
    millis: Option<u32>,
    outcome: Outcome,
    out: Option<String>,
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::option::of(name()),
        name(),
        prop::option::of(0u32..10_000_000),
        outcome(),
        prop::option::of(text(20)),
    )
        .prop_map(|(classname, name, millis, outcome, out)| Case {
            classname,
            name,
            millis,
            outcome,
            out,
        })
}

#[derive(Clone, Debug)]
struct Suite {
    name: Option<String>,
    cases: Vec<Case>,
    suites: Vec<Suite>,
}

fn suite() -> impl Strategy<Value = Suite> {
    let leaf = (
        prop::option::of(name()),
        prop::collection::vec(case(), 0..5),
    )
        .prop_map(|(name, cases)| Suite {
            name,
            cases,
            suites: Vec::new(),
        });
    leaf.prop_recursive(3, 24, 3, |inner| {
        (
            prop::option::of(name()),
            prop::collection::vec(case(), 0..4),
            prop::collection::vec(inner, 0..3),
        )
            .prop_map(|(name, cases, suites)| Suite {
                name,
                cases,
                suites,
            })
    })
}

#[derive(Clone, Debug)]
struct Report {
    /// A `<testsuites>` root (with testcases directly in it, too); else one bare `<testsuite>`.
    wrapped: bool,
    root_cases: Vec<Case>,
    suites: Vec<Suite>,
    /// Write non-ASCII characters as character references.
    refs: bool,
    encoding: Encoding,
}

#[derive(Clone, Copy, Debug)]
enum Encoding {
    Utf8,
    Utf8Bom,
    Utf16Le,
    Utf16Be,
}

fn report() -> impl Strategy<Value = Report> {
    (
        any::<bool>(),
        prop::collection::vec(case(), 0..3),
        prop::collection::vec(suite(), 1..4),
        any::<bool>(),
        select(
            &[
                Encoding::Utf8,
                Encoding::Utf8Bom,
                Encoding::Utf16Le,
                Encoding::Utf16Be,
            ][..],
        ),
    )
        .prop_map(|(wrapped, root_cases, mut suites, refs, encoding)| {
            if !wrapped {
                suites.truncate(1);
            }
            Report {
                wrapped,
                root_cases: if wrapped { root_cases } else { Vec::new() },
                suites,
                refs,
                encoding,
            }
        })
}

// --- Writing them out --------------------------------------------------------------------------

/// Escapes text for an attribute value or character data: the five specials as entities, the
/// line-end and tab characters as character references (an attribute would read them as spaces),
/// and, with `refs`, everything outside ASCII as a hexadecimal character reference.
fn escape(text: &str, refs: bool) -> String {
    let mut out = String::new();
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c if refs && !c.is_ascii() => out.push_str(&format!("&#x{:X};", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

fn attr(out: &mut String, key: &str, value: &str, refs: bool) {
    out.push_str(&format!(" {key}=\"{}\"", escape(value, refs)));
}

fn write_case(out: &mut String, case: &Case, refs: bool) {
    out.push_str("<testcase");
    if let Some(classname) = &case.classname {
        attr(out, "classname", classname, refs);
    }
    attr(out, "name", &case.name, refs);
    if let Some(millis) = case.millis {
        out.push_str(&format!(" time=\"{}\"", f64::from(millis) / 1000.0));
    }
    out.push('>');
    let element = |out: &mut String, tag: &str, message: &Option<String>, body: &Option<String>| {
        out.push('<');
        out.push_str(tag);
        if let Some(message) = message {
            attr(out, "message", message, refs);
        }
        match body {
            Some(body) => out.push_str(&format!(">{}</{tag}>", escape(body, refs))),
            None => out.push_str("/>"),
        }
    };
    match &case.outcome {
        Outcome::Pass => {}
        Outcome::Fail {
            error,
            message,
            body,
            reruns,
        } => {
            let (tag, rerun) = if *error {
                ("error", "rerunError")
            } else {
                ("failure", "rerunFailure")
            };
            element(out, tag, message, body);
            for _ in 0..*reruns {
                element(out, rerun, &Some("again".into()), &None);
            }
        }
        Outcome::Skipped { xfail, message } => {
            out.push_str("<skipped");
            if *xfail {
                out.push_str(" type=\"pytest.xfail\"");
            }
            if let Some(message) = message {
                attr(out, "message", message, refs);
            }
            out.push_str("/>");
        }
        Outcome::Flaky { error, messages } => {
            let tag = if *error { "flakyError" } else { "flakyFailure" };
            for message in messages {
                element(out, tag, message, &Some("trace".into()));
            }
        }
    }
    if let Some(text) = &case.out {
        out.push_str(&format!("<system-out>{}</system-out>", escape(text, refs)));
    }
    out.push_str("</testcase>\n");
}

fn write_suite(out: &mut String, suite: &Suite, refs: bool) {
    out.push_str("<testsuite");
    if let Some(name) = &suite.name {
        attr(out, "name", name, refs);
    }
    out.push_str(" tests=\"1\">\n<properties><property name=\"a\" value=\"b\"/></properties>\n");
    for case in &suite.cases {
        write_case(out, case, refs);
    }
    for inner in &suite.suites {
        write_suite(out, inner, refs);
    }
    out.push_str("</testsuite>\n");
}

fn write(report: &Report) -> Vec<u8> {
    let declared = match report.encoding {
        Encoding::Utf8 | Encoding::Utf8Bom => "UTF-8",
        Encoding::Utf16Le | Encoding::Utf16Be => "UTF-16",
    };
    let mut out = format!("<?xml version=\"1.0\" encoding=\"{declared}\"?>\n");
    if report.wrapped {
        out.push_str("<testsuites name=\"root\">\n");
        for case in &report.root_cases {
            write_case(&mut out, case, report.refs);
        }
    }
    for suite in &report.suites {
        write_suite(&mut out, suite, report.refs);
    }
    if report.wrapped {
        out.push_str("</testsuites>\n");
    }
    match report.encoding {
        Encoding::Utf8 => out.into_bytes(),
        Encoding::Utf8Bom => [&b"\xEF\xBB\xBF"[..], out.as_bytes()].concat(),
        Encoding::Utf16Le => {
            let mut bytes = vec![0xFF, 0xFE];
            bytes.extend(out.encode_utf16().flat_map(u16::to_le_bytes));
            bytes
        }
        Encoding::Utf16Be => {
            let mut bytes = vec![0xFE, 0xFF];
            bytes.extend(out.encode_utf16().flat_map(u16::to_be_bytes));
            bytes
        }
    }
}

// --- What the contract says they are -----------------------------------------------------------

/// The identity CONTRACTS.md and docs/parsers.md give: `classname.name`; the enclosing suite
/// names (empty ones skipped) where the classname is missing or empty; `name` alone where it
/// starts with `classname.` or equals it; the prefix alone for an empty name; `(unnamed)`.
fn identity(classname: &str, name: &str, suites: &[&str]) -> String {
    if !classname.is_empty() && (name == classname || name.starts_with(&format!("{classname}."))) {
        return name.to_owned();
    }
    let path = suites
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(".");
    let prefix = if classname.is_empty() {
        path.as_str()
    } else {
        classname
    };
    match (prefix.is_empty(), name.is_empty()) {
        (true, true) => "(unnamed)".to_owned(),
        (true, false) => name.to_owned(),
        (false, true) => prefix.to_owned(),
        (false, false) => format!("{prefix}.{name}"),
    }
}

/// A message attribute when it is not blank, else the first non-blank line of the body.
fn message(attribute: &Option<String>, body: &Option<String>) -> Option<BString> {
    if let Some(message) = attribute.as_ref().filter(|m| !m.trim().is_empty()) {
        return Some(BString::from(message.as_str()));
    }
    body.as_deref()?
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .map(BString::from)
}

fn expected_case(case: &Case, suites: &[&str]) -> TestResult {
    let classname = case.classname.as_deref().unwrap_or("");
    let test = identity(classname, &case.name, suites);
    let (status, attempts, message) = match &case.outcome {
        Outcome::Pass => (Status::Passed, 1, None),
        Outcome::Fail {
            error,
            message: attribute,
            body,
            reruns,
        } => {
            let status = if *error {
                Status::Error
            } else {
                Status::Failed
            };
            (status, 1 + u32::from(*reruns), message(attribute, body))
        }
        Outcome::Skipped {
            xfail,
            message: attribute,
        } => {
            let status = if *xfail {
                Status::ExpectedFailure
            } else {
                Status::Skipped
            };
            (status, 1, message(attribute, &None))
        }
        Outcome::Flaky { messages, .. } => {
            // The first flaky element's message attribute.
            let first = messages
                .iter()
                .flatten()
                .next()
                .map(|m| BString::from(m.as_str()));
            (Status::Flaky, 1 + messages.len() as u32, first)
        }
    };
    let mut result = TestResult::new(test, Kind::Test, status);
    result.attempts = attempts;
    result.duration = case.millis.map(|m| f64::from(m) / 1000.0);
    result.message = message;
    result
}

fn expected_suite<'r>(suite: &'r Suite, path: &mut Vec<&'r str>, sink: &mut Collector) {
    path.push(suite.name.as_deref().unwrap_or(""));
    for case in &suite.cases {
        sink.result(expected_case(case, path));
    }
    for inner in &suite.suites {
        expected_suite(inner, path, sink);
    }
    path.pop();
}

/// The results the report should give, merged by the `Collector` as a parse's would be (a test
/// that appears twice is a retry).
fn expected(report: &Report) -> Vec<Row> {
    let mut sink = Collector::new();
    for case in &report.root_cases {
        sink.result(expected_case(case, &[]));
    }
    for suite in &report.suites {
        expected_suite(suite, &mut Vec::new(), &mut sink);
    }
    rows(sink.finish().results)
}

type Row = (BString, Status, u32, Option<f64>, Option<BString>);

fn rows(results: Vec<TestResult>) -> Vec<Row> {
    results
        .into_iter()
        .map(|r| (r.test, r.status, r.attempts, r.duration, r.message))
        .collect()
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn junit_reports_parse_back_to_what_they_say(report in report(), chunk in 1usize..300) {
        let bytes = write(&report);
        let expected = expected(&report);
        let options = ParseOptions::new("generated.xml");
        let whole = collect(&JUnit, &mut &bytes[..], &options);
        let whole = whole.map_err(|err| TestCaseError::fail(err.to_string()))?;
        prop_assert!(whole.warnings.is_empty(), "{:?}", whole.warnings);
        prop_assert_eq!(rows(whole.results), expected.clone());
        // The same in small reads.
        let split = collect(&JUnit, &mut Chunked::new(&bytes, chunk), &options);
        let split = split.map_err(|err| TestCaseError::fail(err.to_string()))?;
        prop_assert_eq!(rows(split.results), expected);
        let head = &bytes[..bytes.len().min(crate::SNIFF_LEN)];
        prop_assert_eq!(detect(head).map(|f| f.name()), Some("junit"));
    }
}

// --- Arbitrary lines for the line-based formats -------------------------------------------------

/// Lines of the real formats and their near misses, to mix with arbitrary bytes.
const TRIAL_LINES: &[&str] = &[
    "pkg.test.test_mod.TestX.test_a ... [OK]",
    "pkg.test.test_mod.TestX.test_b ... [FAIL]",
    "pkg.test.test_mod.TestX.test_c ... [ERROR]",
    "pkg.test.test_mod.TestX.test_d ... [SKIPPED]",
    "pkg.test.test_mod.TestX.test_e ... [TODO]",
    "pkg.test.test_mod.TestX.test_f ... [SUCCESS!?!]",
    "pkg.test.test_mod.TestX.test_g ... hello [OK]",
    "pkg.test.test_mod.TestX.test_h ...",
    "[ERROR]",
    "[FAIL][ERROR]",
    "pkg.test.test_mod",
    "  TestX",
    "    test_a ...                                                     [OK]",
    "    test_b ...                                                   [FAIL]",
    "(0.001 secs)",
    "===============================================================================",
    "-------------------------------------------------------------------------------",
    "[FAIL]",
    "[ERROR]: pkg.test.test_mod.TestX.test_c",
    "Traceback (most recent call last):",
    "  File \"x.py\", line 3, in test_b",
    "twisted.trial.unittest.FailTest: 1 != 2",
    "Reason: 'skip'",
    "",
    "Ran 3 tests in 0.012s",
    "Ran 1 test in 0.1s",
    "PASSED (successes=3)",
    "FAILED (failures=1, errors=1, skips=1, successes=2)",
    "0.108 26 26 9 3 4",
    "\u{1b}[32m[OK]\u{1b}[0m",
];

const GCC_LINES: &[&str] = &[
    "src/a.c:12:5: warning: unused variable 'x' [-Wunused-variable]",
    "src/a.c:12: error: expected ';' before '}' token",
    "/abs/src/b.h:3:1: fatal error: c.h: No such file or directory",
    "src/a.c:47:15:{47:8-47:14}: warning: format '%d' [-Wformat,Format String]",
    "src/a.c:9:2: note: in expansion of macro 'M'",
    "src/a.c: In function 'main':",
    "In file included from src/a.c:1:",
    "                 from src/b.c:2:",
    "   12 |     int x;",
    "      |         ^",
    "src/c.h:17:",
    "warning: something wrapped",
    "exceeds maximum object size 9223372036854775807 [-Wstringop-overflow=]",
    "make[1]: Entering directory '/home/ci/src/sub'",
    "make[1]: Leaving directory '/home/ci/src/sub'",
    "gcc -Wall -c -o a.o src/a.c",
    "cd /home/ci/src && g++ -c x.cpp -o x.o \\",
    "g++ a.o b.o -lx -o app",
    "  CC      foo.o",
    "[3/10] cc -c b.c",
    "[ 50%] Building C object CMakeFiles/x.dir/a.c.o",
    "/usr/bin/ld: a.o: in function `f':",
    "m.c:(.text+0x16): undefined reference to `other'",
    "collect2: error: ld returned 1 exit status",
    "ld.lld: error: undefined symbol: g",
    "ld: cannot find -lfoo",
    "Undefined symbols for architecture x86_64:",
    "cc1plus: warning: command-line option '-Wx' is valid for C",
    "[{\"kind\": \"warning\", \"message\": \"m\", \"option\": \"-Wall\", \"children\": [], \"locations\": [{\"caret\": {\"file\": \"a.c\", \"line\": 1, \"column\": 2}}]}]",
    "[{\"kind\": \"error\", \"message\": \"n\",",
    "\"locations\": []}]",
    "\u{1b}[01m\u{1b}[Ksrc/a.c:1:1:\u{1b}[m\u{1b}[K \u{1b}[01;35m\u{1b}[Kwarning: \u{1b}[m\u{1b}[Kx",
    "12:34:56 src/a.c:1:1: warning: stamped",
    "1>src/a.c:1:1: error: msbuild",
    "progress 10%\rsrc/a.c:2:2: warning: after CR",
];

/// One line: a real one, a real one with a byte changed, or arbitrary bytes.
fn line(pool: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
    let arbitrary = prop::collection::vec(any::<u8>(), 0..40).prop_map(|mut bytes| {
        bytes.retain(|&b| b != b'\n');
        bytes
    });
    prop_oneof![
        4 => select(pool).prop_map(|line| line.as_bytes().to_vec()),
        2 => (select(pool), any::<prop::sample::Index>(), any::<u8>()).prop_map(
            |(line, at, byte)| {
                let mut bytes = line.as_bytes().to_vec();
                if !bytes.is_empty() {
                    let at = at.index(bytes.len());
                    bytes[at] = if byte == b'\n' { b' ' } else { byte };
                }
                bytes
            }
        ),
        1 => arbitrary,
    ]
}

fn log(pool: &'static [&'static str]) -> impl Strategy<Value = (Vec<u8>, usize)> {
    (
        prop::collection::vec(line(pool), 0..60),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(lines, crlf, final_newline)| {
            let count = lines.len();
            let mut out = lines.join(if crlf { &b"\r\n"[..] } else { &b"\n"[..] });
            if final_newline && count > 0 {
                out.push(b'\n');
            }
            (out, count)
        })
}

/// Parses `bytes` whole and in `chunk`-byte reads: both succeed, agree, and every result is a
/// test with at least one attempt. Returns the results.
fn parse_lines(format: &dyn Format, bytes: &[u8], chunk: usize) -> Result<Vec<Row>, TestCaseError> {
    let options = ParseOptions::new("lines");
    let whole = collect(format, &mut &bytes[..], &options)
        .map_err(|err| TestCaseError::fail(err.to_string()))?;
    let split = collect(format, &mut Chunked::new(bytes, chunk), &options)
        .map_err(|err| TestCaseError::fail(err.to_string()))?;
    for result in &whole.results {
        prop_assert!(result.attempts >= 1);
        prop_assert!(!result.test.is_empty());
    }
    let whole = rows(whole.results);
    prop_assert_eq!(&whole, &rows(split.results));
    Ok(whole)
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn trial_arbitrary_lines_never_panic((bytes, lines) in log(TRIAL_LINES), chunk in 1usize..100) {
        let results = parse_lines(&Trial, &bytes, chunk)?;
        // Every result was named by a line of its own.
        prop_assert!(results.len() <= lines, "{} results from {lines} lines", results.len());
    }

    #[test]
    fn gcc_arbitrary_lines_never_panic((bytes, lines) in log(GCC_LINES), chunk in 1usize..100) {
        let results = parse_lines(&Gcc, &bytes, chunk)?;
        // A diagnostic is a line, or an object in a JSON array.
        let objects = bytes.iter().filter(|&&b| b == b'{').count();
        prop_assert!(
            results.len() <= lines + objects,
            "{} results from {lines} lines",
            results.len()
        );
        for (test, ..) in &results {
            prop_assert!(test.find_byte(b'\n').is_none(), "{test:?}");
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2000)) {
        let head = &bytes[..bytes.len().min(crate::SNIFF_LEN)];
        detect(head);
        for format in registry() {
            format.sniff(head);
            let outcome = collect(*format, &mut &bytes[..], &ParseOptions::new("bytes"));
            match outcome {
                // An XML report, go test's JSON events and TAP's YAML blocks can be malformed;
                // the error says where.
                Err(err) if matches!(format.name(), "junit" | "trx" | "nunit" | "gotest" | "tap") => {
                    prop_assert!(err.to_string().starts_with("failed to parse "), "{err}");
                }
                // The other line formats read anything.
                outcome => {
                    prop_assert!(outcome.is_ok(), "{}: {:?}", format.name(), outcome.err());
                }
            }
        }
    }
}
