//! Hostile inputs, generated here (no tool writes them): entity bombs, external entities, deep
//! nesting, giant attributes, text and lines. Each must end in a clear error or a correct parse,
//! with bounded memory (the process's peak RSS, `VmHWM`, grows by less than [`MEMORY_MARGIN_MB`])
//! and bounded time.
//!
//! The single-line test reads 64 MiB by default; `PROBTRACK_HEAVY=1` makes it 2 GiB per parser
//! (for the heavy CI stage, in release mode:
//! `PROBTRACK_HEAVY=1 cargo test -p probtrack-parsers --release hostile -- --nocapture`).

use std::io::{self, BufRead, Read, Write};
use std::net::TcpListener;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bstr::ByteSlice;

use crate::collect::{collect, Collected};
use crate::error::{ParseError, ParseErrorKind};
use crate::format::{Format, ParseOptions};
use crate::model::Status;
use crate::{Gcc, GoTest, JUnit, Libtest, Tap, Trial, Unittest};

/// How much the peak RSS may grow while one hostile input is parsed. The parsers keep at most a
/// few MiB (a 4 MiB tag, a 32 MiB JSON array); a parser that held its input would pass it.
const MEMORY_MARGIN_MB: u64 = 256;
/// A sanity bound on time (debug build, a loaded machine): a hang or a quadratic blowup passes it.
const TIME_LIMIT: Duration = Duration::from_secs(120);

/// Memory is measured per process: one measured parse at a time.
static MEASURING: Mutex<()> = Mutex::new(());

/// A field of /proc/self/status in MiB (`VmHWM`, `VmRSS`); `None` where there is no /proc.
fn status_mb(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with(field))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024)
}

/// Resets the high-water mark `VmHWM` to the current RSS (Linux ≥ 4.0). False where refused.
fn clear_peak() -> bool {
    std::fs::OpenOptions::new()
        .write(true)
        .open("/proc/self/clear_refs")
        .and_then(|mut file| file.write_all(b"5"))
        .is_ok()
}

/// Runs `parse` and checks its peak memory and time; returns its outcome.
#[track_caller]
fn bounded<T>(what: &str, parse: impl FnOnce() -> T) -> T {
    let _guard = MEASURING
        .lock()
        .unwrap_or_else(|poison| poison.into_inner());
    // Where the peak cannot be reset, the growth is measured from the old peak, which can only
    // make the check laxer.
    clear_peak();
    let before = status_mb("VmRSS:");
    let started = Instant::now();
    let outcome = parse();
    let elapsed = started.elapsed();
    let peak = status_mb("VmHWM:");
    if let (Some(before), Some(peak)) = (before, peak) {
        let growth = peak.saturating_sub(before);
        eprintln!("hostile: {what}: {elapsed:.2?}, peak RSS +{growth} MiB");
        assert!(
            growth < MEMORY_MARGIN_MB,
            "{what}: peak RSS grew by {growth} MiB"
        );
    }
    assert!(elapsed < TIME_LIMIT, "{what}: took {elapsed:?}");
    outcome
}

#[test]
fn the_memory_check_sees_an_allocation() {
    // The measure is not vacuous: holding 300 MiB (what a parser that buffered its input would)
    // is seen. Run under the same lock, so that the other checks don't see it.
    let _guard = MEASURING
        .lock()
        .unwrap_or_else(|poison| poison.into_inner());
    let (Some(before), true) = (status_mb("VmRSS:"), clear_peak()) else {
        return; // no /proc, or the peak cannot be reset: nothing to check
    };
    let held = std::hint::black_box(vec![1u8; 300 * MIB as usize]);
    let peak = status_mb("VmHWM:").unwrap();
    drop(held);
    assert!(
        peak.saturating_sub(before) >= MEMORY_MARGIN_MB,
        "{before} → {peak} MiB"
    );
}

fn parse(format: &dyn Format, input: &mut dyn BufRead) -> Result<Collected, ParseError> {
    collect(format, input, &ParseOptions::new("hostile.xml"))
}

#[track_caller]
fn limit_exceeded(outcome: Result<Collected, ParseError>, says: &str) -> ParseError {
    match outcome {
        Err(err) if matches!(err.kind, ParseErrorKind::LimitExceeded(_)) => {
            assert!(err.to_string().ends_with(says), "{err}");
            err
        }
        Err(err) => panic!("expected a limit error, got {err}"),
        Ok(collected) => panic!("expected a limit error, got {:?}", collected.results),
    }
}

/// A report made of pieces, some of them a byte repeated many times, produced as it is read:
/// gigabytes of input without holding them.
struct Lazy {
    pieces: Vec<Piece>,
    at: usize,
    /// Bytes of the current piece already handed out.
    done: u64,
    buf: Vec<u8>,
    pos: usize,
}

enum Piece {
    Bytes(Vec<u8>),
    Fill(u8, u64),
}

impl Lazy {
    fn new(pieces: Vec<Piece>) -> Self {
        Lazy {
            pieces,
            at: 0,
            done: 0,
            buf: Vec::with_capacity(64 * 1024),
            pos: 0,
        }
    }
}

fn bytes(text: impl AsRef<[u8]>) -> Piece {
    Piece::Bytes(text.as_ref().to_vec())
}

impl BufRead for Lazy {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
            let Some(piece) = self.pieces.get(self.at) else {
                return Ok(&[]);
            };
            let (n, left) = match piece {
                Piece::Bytes(bytes) => {
                    let rest = &bytes[self.done as usize..];
                    let n = rest.len().min(64 * 1024);
                    self.buf.extend_from_slice(&rest[..n]);
                    (n as u64, (rest.len() - n) as u64)
                }
                Piece::Fill(byte, len) => {
                    let n = (len - self.done).min(64 * 1024);
                    self.buf.resize(n as usize, *byte);
                    (n, len - self.done - n)
                }
            };
            self.done += n;
            if left == 0 {
                self.at += 1;
                self.done = 0;
            }
        }
        Ok(&self.buf[self.pos..])
    }

    fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.buf.len());
    }
}

impl Read for Lazy {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let avail = self.fill_buf()?;
        let n = avail.len().min(out.len());
        out[..n].copy_from_slice(&avail[..n]);
        self.consume(n);
        Ok(n)
    }
}

const MIB: u64 = 1024 * 1024;

// --- Entities ----------------------------------------------------------------------------------

/// `<!ENTITY lol0 "lol">` and nine levels of ten references each: 10⁹ copies if expanded.
fn bomb_doctype() -> String {
    let mut doctype = String::from("<!DOCTYPE testsuite [\n<!ENTITY lol0 \"lol\">\n");
    for level in 1..10 {
        let refs = format!("&lol{};", level - 1).repeat(10);
        doctype.push_str(&format!("<!ENTITY lol{level} \"{refs}\">\n"));
    }
    doctype.push_str("<!ENTITY % pe \"<!ENTITY lolp '&lol9;'>\">\n%pe;\n]>\n");
    doctype
}

#[test]
fn billion_laughs_are_never_expanded() {
    let mut report = format!("<?xml version=\"1.0\"?>\n{}", bomb_doctype());
    report.push_str("<testsuite name=\"&lol9;\">\n");
    report.push_str("<testcase classname=\"&lol9;\" name=\"t\">");
    report.push_str("<failure message=\"&lol9;&lolp;\">&lol9;&lol9;&lolp;</failure>");
    report.push_str("<system-out>");
    report.push_str(&"&lol9;".repeat(100_000));
    report.push_str("</system-out></testcase>\n</testsuite>\n");
    let collected =
        bounded("billion laughs", || parse(&JUnit, &mut report.as_bytes())).expect("parses");
    let [result] = collected.results.as_slice() else {
        panic!("{:?}", collected.results);
    };
    // References stay as written: the classname is the reference itself.
    assert_eq!(result.test, "&lol9;.t");
    assert_eq!(result.status, Status::Failed);
    assert_eq!(result.message.as_ref().unwrap(), "&lol9;&lolp;");
    assert_eq!(result.details["text"], "&lol9;&lol9;&lolp;");
    // 600 kB of references kept to the text limit, not a billion laughs each.
    let out = result.details["system_out"].as_str().unwrap();
    assert!(out.len() < 65 * 1024, "{}", out.len());
    assert!(out.ends_with("[… truncated: 600000 bytes in all]"));
    let warnings = collected.warnings.join("\n");
    assert!(warnings.contains("the DOCTYPE declares entities; they are not expanded"));
    assert!(warnings.contains("unknown entity reference &lol9;, kept as written"));
}

#[test]
fn quadratic_blowup_is_never_expanded() {
    // One 1 MiB entity referenced 200,000 times: 200 GiB if expanded.
    let mut report = format!(
        "<!DOCTYPE testsuite [<!ENTITY a \"{}\">]>\n<testsuite><testcase name=\"t\"><error>",
        "a".repeat(MIB as usize)
    );
    report.push_str(&"&a;".repeat(200_000));
    report.push_str("</error></testcase></testsuite>");
    let collected =
        bounded("quadratic blowup", || parse(&JUnit, &mut report.as_bytes())).expect("parses");
    assert_eq!(collected.results.len(), 1);
    assert_eq!(collected.results[0].status, Status::Error);
    // The message is the text's first line, as kept: 64 KiB of references as written.
    let message = collected.results[0].message.as_ref().unwrap();
    assert_eq!(message.len(), 64 * 1024);
    assert!(message.starts_with(b"&a;&a;"));
}

#[test]
fn external_entities_are_never_read() {
    // A file with a secret, and a port that would see any connection.
    let dir = std::env::temp_dir().join(format!("probtrack-xxe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let secret_path = dir.join("secret.txt");
    std::fs::write(&secret_path, "TOP-SECRET-CONTENT").unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let report = format!(
        "<?xml version=\"1.0\"?>\n\
         <!DOCTYPE testsuite SYSTEM \"http://127.0.0.1:{port}/junit.dtd\" [\n\
         <!ENTITY passwd SYSTEM \"file:///etc/passwd\">\n\
         <!ENTITY secret SYSTEM \"file://{}\">\n\
         <!ENTITY remote SYSTEM \"http://127.0.0.1:{port}/x\">\n\
         <!ENTITY % dtd SYSTEM \"http://127.0.0.1:{port}/evil.dtd\">\n\
         %dtd;\n\
         ]>\n\
         <testsuite name=\"&passwd;\">\n\
         <testcase classname=\"c\" name=\"t\"><failure message=\"&secret;\">&passwd; &secret; \
         &remote;</failure></testcase>\n\
         </testsuite>\n",
        secret_path.display()
    );
    let collected = bounded("external entities", || {
        parse(&JUnit, &mut report.as_bytes())
    })
    .expect("parses");
    std::fs::remove_dir_all(&dir).unwrap();
    // Nobody connected: neither the DTD nor an entity was fetched.
    match listener.accept() {
        Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
        Err(err) => panic!("{err}"),
        Ok((_, from)) => panic!("the parser connected from {from}"),
    }
    let [result] = collected.results.as_slice() else {
        panic!("{:?}", collected.results);
    };
    assert_eq!(result.test, "c.t");
    assert_eq!(result.message.as_ref().unwrap(), "&secret;");
    assert_eq!(result.details["text"], "&passwd; &secret; &remote;");
    let everything = format!("{:?} {:?}", collected.results, collected.warnings);
    assert!(!everything.contains("TOP-SECRET"), "{everything}");
    assert!(!everything.contains("root:"), "{everything}");
}

// --- Nesting -----------------------------------------------------------------------------------

#[test]
fn deep_nesting_is_refused() {
    const LEVELS: usize = 100_000;
    for (what, open, close) in [
        ("suites", "<testsuite name=\"s\">", "</testsuite>"),
        ("unknown elements", "<x>", "</x>"),
        ("empty names", "<a:b c=\"\">", "</a:b>"),
    ] {
        let report = format!(
            "<testsuites>{}{}</testsuites>",
            open.repeat(LEVELS),
            close.repeat(LEVELS)
        );
        let outcome = bounded(&format!("{LEVELS} nested {what}"), || {
            parse(&JUnit, &mut report.as_bytes())
        });
        limit_exceeded(outcome, "elements are nested more than 256 deep");
    }
    // The same nesting inside a failure, whose text is kept.
    let report = format!(
        "<testsuite><testcase name=\"t\"><failure>{}",
        "<b>".repeat(LEVELS)
    );
    let outcome = bounded("nesting in a failure", || {
        parse(&JUnit, &mut report.as_bytes())
    });
    limit_exceeded(outcome, "elements are nested more than 256 deep");
}

#[test]
fn deep_json_in_a_compiler_log_is_refused_with_a_warning() {
    const LEVELS: usize = 100_000;
    for (what, before, open, close, after) in [
        (
            "arrays",
            "[{\"kind\":\"warning\",\"message\":",
            "[",
            "]",
            "}]",
        ),
        (
            "children",
            "[",
            "{\"kind\":\"note\",\"children\":[",
            "]}",
            "]",
        ),
    ] {
        let log = format!(
            "src/a.c:1:1: warning: before [-Wx]\n{before}{}{}{after}\nsrc/a.c:2:1: warning: after [-Wy]\n",
            open.repeat(LEVELS),
            close.repeat(LEVELS)
        );
        let collected = bounded(&format!("{LEVELS} nested JSON {what}"), || {
            parse(&Gcc, &mut log.as_bytes())
        })
        .expect("a compiler log always parses");
        let tests: Vec<String> = collected
            .results
            .iter()
            .map(|r| r.test.to_string())
            .collect();
        assert_eq!(tests, ["a.c:-Wx:before", "a.c:-Wy:after"]);
        assert!(
            collected
                .warnings
                .iter()
                .any(|w| w.contains("JSON diagnostics array")),
            "{:?}",
            collected.warnings
        );
    }
}

#[test]
fn deep_indentation_in_trial_output() {
    let indent = " ".repeat(200_000);
    let mut log = String::new();
    for _ in 0..10 {
        log.push_str(&format!(
            "{indent}pkg\n{indent}  Test\n{indent}    test_a ... [OK]\n"
        ));
    }
    log.push_str("pkg.T.test_b ... [OK]\n\nRan 1 tests in 0.1s\n\nPASSED (successes=1)\n");
    let collected = bounded("deep indentation", || parse(&Trial, &mut log.as_bytes()))
        .expect("trial output always parses");
    let tests: Vec<String> = collected
        .results
        .iter()
        .map(|r| r.test.to_string())
        .collect();
    assert_eq!(tests, ["pkg.T.test_b"]);
}

// --- Giant markup and text ---------------------------------------------------------------------

#[test]
fn giant_attribute_is_refused_without_holding_it() {
    for key in ["name", "unknown"] {
        let mut input = Lazy::new(vec![
            bytes(format!("<testsuite name=\"s\">\n<testcase {key}=\"")),
            Piece::Fill(b'x', 50 * MIB),
            bytes("\"/></testsuite>"),
        ]);
        let outcome = bounded(&format!("50 MiB attribute {key}"), || {
            parse(&JUnit, &mut input)
        });
        let err = limit_exceeded(outcome, "a tag, comment or declaration longer than 4 MiB");
        assert_eq!((err.line, err.column), (2, 1), "{err}");
        // It stopped at the limit rather than reading the rest.
        assert!(input.at < 2, "read to the end");
    }
}

#[test]
fn giant_comment_and_doctype_are_refused() {
    for (what, open) in [
        ("comment", "<!--"),
        ("DOCTYPE", "<!DOCTYPE testsuite [<!ENTITY a \""),
    ] {
        let mut input = Lazy::new(vec![
            bytes(open),
            Piece::Fill(b'-', 50 * MIB),
            bytes("\">]>--><testsuite/>"),
        ]);
        let outcome = bounded(&format!("50 MiB {what}"), || parse(&JUnit, &mut input));
        limit_exceeded(outcome, "a tag, comment or declaration longer than 4 MiB");
    }
}

#[test]
fn giant_text_is_kept_to_its_limit() {
    for (what, open, close) in [
        ("text", "", ""),
        ("CDATA", "<![CDATA[", "]]>"),
        ("references", "", ""),
    ] {
        let fill = if what == "references" {
            bytes("&amp;&#x1F600;".repeat(4 * MIB as usize / 14))
        } else {
            Piece::Fill(b'y', 16 * MIB)
        };
        let mut input = Lazy::new(vec![
            bytes(format!(
                "<testsuite><testcase name=\"t\"><failure>{open}first\n"
            )),
            fill,
            bytes(format!("{close}</failure><system-err>")),
            Piece::Fill(b'z', 16 * MIB),
            bytes("</system-err></testcase></testsuite>"),
        ]);
        let collected =
            bounded(&format!("16 MiB {what}"), || parse(&JUnit, &mut input)).expect("parses");
        let result = &collected.results[0];
        assert_eq!(result.message.as_ref().unwrap(), "first");
        for key in ["text", "system_err"] {
            let kept = result.details[key].as_str().unwrap();
            assert!(kept.len() < 65 * 1024, "{what} {key}: {} bytes", kept.len());
            assert!(kept.contains("[… truncated: "), "{what} {key}");
        }
    }
}

/// How long the single line is: 64 MiB, or 2 GiB with `PROBTRACK_HEAVY=1`.
fn line_len() -> u64 {
    match std::env::var("PROBTRACK_HEAVY").as_deref() {
        Ok("1") => 2048 * MIB,
        _ => 64 * MIB,
    }
}

#[test]
fn one_giant_line_in_every_parser() {
    let len = line_len();
    let mb = len / MIB;

    // JUnit: a whole report on one line, with a giant system-out.
    let mut input = Lazy::new(vec![
        bytes("<testsuite name=\"s\"><testcase name=\"t\"><failure message=\"m\"/><system-out>"),
        Piece::Fill(b'o', len),
        bytes("</system-out></testcase></testsuite>"),
    ]);
    let collected = bounded(&format!("junit: one {mb} MiB line"), || {
        parse(&JUnit, &mut input)
    })
    .expect("parses");
    let result = &collected.results[0];
    assert_eq!(
        (result.test.as_bytes(), result.status),
        (&b"s.t"[..], Status::Failed)
    );
    let out = result.details["system_out"].as_str().unwrap();
    assert!(
        out.ends_with(&format!("[… truncated: {len} bytes in all]")),
        "{}",
        &out[out.len() - 60..]
    );

    // JUnit: text and nothing else is not a report, however long.
    let mut input = Lazy::new(vec![Piece::Fill(b'x', len)]);
    let outcome = bounded(&format!("junit: {mb} MiB of text"), || {
        parse(&JUnit, &mut input)
    });
    match outcome {
        Err(err) => assert!(
            matches!(err.kind, ParseErrorKind::NotThisFormat(_)),
            "{err}"
        ),
        Ok(collected) => panic!("{:?}", collected.results),
    }

    // trial: a test line whose outcome is beyond the line cap: it started, printed no result.
    let mut input = Lazy::new(vec![
        bytes("pkg.mod.T.test_a ... "),
        Piece::Fill(b'.', len),
        bytes(" [OK]\npkg.mod.T.test_b ... [FAIL]\n"),
    ]);
    let collected = bounded(&format!("trial: one {mb} MiB line"), || {
        parse(&Trial, &mut input)
    })
    .expect("trial output always parses");
    let tests: Vec<String> = collected
        .results
        .iter()
        .map(|r| r.test.to_string())
        .collect();
    assert_eq!(tests, ["pkg.mod.T.test_b"]);

    // gcc: a diagnostic with a giant message, then a normal one.
    let mut input = Lazy::new(vec![
        bytes("src/a.c:1:1: warning: "),
        Piece::Fill(b'w', len),
        bytes(" [-Wlong]\nsrc/b.c:2:2: error: short\n"),
    ]);
    let collected = bounded(&format!("gcc: one {mb} MiB line"), || {
        parse(&Gcc, &mut input)
    })
    .expect("a compiler log always parses");
    assert_eq!(collected.results.len(), 2, "{:?}", collected.results);
    assert!(collected.results[0].test.len() < 65 * 1024);
    assert_eq!(collected.results[1].test, "b.c:error:short");

    // gcc: a JSON array that never ends.
    let mut input = Lazy::new(vec![
        bytes("[{\"kind\": \"warning\", \"message\": \""),
        Piece::Fill(b'j', len),
    ]);
    let collected = bounded(&format!("gcc: an unterminated {mb} MiB JSON array"), || {
        parse(&Gcc, &mut input)
    })
    .expect("a compiler log always parses");
    assert!(collected.results.is_empty(), "{:?}", collected.results);
    assert!(!collected.warnings.is_empty());
}

#[test]
fn one_giant_line_in_the_text_formats() {
    let len = line_len();
    let mb = len / MIB;

    // go test -json: one event line past the cap is refused, at its line.
    let mut input = Lazy::new(vec![
        bytes("{\"Action\":\"run\",\"Package\":\"p\",\"Test\":\"TestA\"}\n"),
        bytes("{\"Action\":\"output\",\"Package\":\"p\",\"Output\":\""),
        Piece::Fill(b'o', len),
        bytes("\"}\n"),
    ]);
    let err = limit_exceeded(
        bounded(&format!("gotest: one {mb} MiB event"), || {
            parse(&GoTest, &mut input)
        }),
        "an event line longer than 16 MiB",
    );
    assert_eq!(err.line, 2);

    // TAP: a test point with a giant description is cut; the next one is read.
    let mut input = Lazy::new(vec![
        bytes("1..2\nok 1 - "),
        Piece::Fill(b'd', len),
        bytes("\nnot ok 2 - b\n"),
    ]);
    let collected = bounded(&format!("tap: one {mb} MiB line"), || {
        parse(&Tap, &mut input)
    })
    .expect("parses");
    assert_eq!(collected.results.len(), 2);
    assert!(collected.results[0].test.len() < 65 * 1024);
    assert_eq!(collected.results[1].test, "b");

    // libtest and unittest: a test line whose outcome is beyond the cap, then a normal one.
    let mut input = Lazy::new(vec![
        bytes("running 2 tests\ntest a ... "),
        Piece::Fill(b'.', len),
        bytes(" ok\ntest b ... FAILED\n"),
    ]);
    let collected = bounded(&format!("libtest: one {mb} MiB line"), || {
        parse(&Libtest, &mut input)
    })
    .expect("parses");
    let tests: Vec<String> = collected
        .results
        .iter()
        .map(|r| r.test.to_string())
        .collect();
    assert_eq!(tests, ["b"]);
    let mut input = Lazy::new(vec![
        bytes("test_a (m.C.test_a) ... "),
        Piece::Fill(b'.', len),
        bytes(" ok\ntest_b (m.C.test_b) ... FAIL\n\nRan 2 tests in 0.1s\n"),
    ]);
    let collected = bounded(&format!("unittest: one {mb} MiB line"), || {
        parse(&Unittest, &mut input)
    })
    .expect("parses");
    let tests: Vec<String> = collected
        .results
        .iter()
        .map(|r| r.test.to_string())
        .collect();
    assert_eq!(tests, ["m.C.test_a", "m.C.test_b"]);
}

#[test]
fn many_attributes_and_references_stay_linear() {
    // 400,000 attributes on one testcase (3.6 MB, under the tag limit), many of them `name`.
    let mut report = String::from("<testsuite><testcase");
    for i in 0..400_000 {
        if i % 2 == 0 {
            report.push_str(&format!(" a{i}=\"\""));
        } else {
            report.push_str(" name=\"n\"");
        }
    }
    report.push_str("/></testsuite>");
    let collected = bounded("400,000 attributes", || {
        parse(&JUnit, &mut report.as_bytes())
    })
    .expect("parses (duplicate attributes are not checked)");
    assert_eq!(collected.results[0].test, "n");

    // 500,000 distinct unknown entities: one warning and a count, not 500,000 warnings.
    let mut report = String::from("<testsuite><testcase name=\"t\"><failure>");
    for i in 0..500_000 {
        report.push_str(&format!("&e{i};"));
    }
    report.push_str("</failure></testcase></testsuite>");
    let collected = bounded("500,000 unknown entities", || {
        parse(&JUnit, &mut report.as_bytes())
    })
    .expect("parses");
    assert!(
        collected.warnings.len() <= 2,
        "{:?}",
        collected.warnings.len()
    );
    assert!(collected.results[0]
        .message
        .as_ref()
        .unwrap()
        .starts_with(b"&e0;&e1;"));
}
