//! The coverage readers against reports the real tools wrote (fixtures/coverage, see its
//! PROVENANCE), and against broken and hostile input.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::*;
use crate::error::ParseErrorKind;

const ROOT: &str = "/build/calc";

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/coverage")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

fn options(name: &str) -> ParseOptions {
    ParseOptions {
        source: name.to_string(),
        source_root: Some(ROOT.to_string()),
    }
}

/// The report read with the format detection picks, which must be `expected`.
fn read(name: &str, expected: &str) -> Coverage {
    let bytes = fixture(name);
    let format = detect(&bytes).unwrap_or_else(|| panic!("{name}: no format detected"));
    assert_eq!(
        format.name(),
        expected,
        "{name}: detected as {}",
        format.name()
    );
    collect(format, &mut &bytes[..], &options(name)).unwrap_or_else(|err| panic!("{err}"))
}

fn lines(coverage: &Coverage, path: &str) -> BTreeMap<u32, LineCoverage> {
    let paths: Vec<&str> = coverage.files.iter().map(|f| f.path.as_str()).collect();
    coverage
        .file(path)
        .unwrap_or_else(|| panic!("no {path} among {paths:?}"))
        .lines
        .clone()
}

fn hits(lines: &BTreeMap<u32, LineCoverage>, line: u32) -> u64 {
    lines
        .get(&line)
        .unwrap_or_else(|| panic!("line {line} not executable"))
        .hits
}

#[test]
fn gcc_reports_by_gcovr_and_lcov_agree_line_by_line() {
    let cobertura = lines(&read("gcovr.cobertura.xml", "cobertura"), "calc.c");
    let gcovr_lcov = lines(&read("gcovr.info", "lcov"), "calc.c");
    let lcov = lines(&read("lcov-gcc.info", "lcov"), "calc.c");
    assert_eq!(cobertura, gcovr_lcov);
    assert_eq!(cobertura, lcov);
    // What the program did (src/calc.c run with 5): the loop body ran five times, `return 0`
    // never, never_called not at all, and `if (n == 0)` went one way only.
    assert_eq!(hits(&lcov, 19), 5);
    assert_eq!(hits(&lcov, 11), 0);
    assert!((25..=27).all(|line| hits(&lcov, line) == 0));
    assert!(lcov[&10].partial());
    assert!(!lcov[&8].partial() && lcov[&8].branches.is_some());
    assert_eq!(cobertura.len(), 22);
}

#[test]
fn clang_reports_by_llvm_cov_agree_line_by_line() {
    let json = lines(&read("llvm-cov.json", "llvm-cov-json"), "calc.c");
    let lcov = lines(&read("llvm-cov.info", "lcov"), "calc.c");
    assert_eq!(json, lcov);
    assert_eq!(hits(&json, 19), 5);
    assert_eq!(hits(&json, 11), 0);
    assert!((24..=28).all(|line| hits(&json, line) == 0));
    assert!(json[&10].partial());
    assert_eq!(
        json[&25].branches,
        Some(Branches {
            covered: 0,
            total: 2
        })
    );
}

#[test]
fn coverage_py_reports_agree_line_by_line() {
    let xml = lines(&read("coveragepy.cobertura.xml", "cobertura"), "calc.py");
    let json = lines(&read("coveragepy.json", "coverage-py-json"), "calc.py");
    let lcov = lines(&read("coveragepy.info", "lcov"), "calc.py");
    assert_eq!(xml, json);
    // coverage.py's lcov gives a branch per arc with its own numbering: the counts agree.
    assert_eq!(xml, lcov);
    assert_eq!(hits(&json, 9), 0);
    assert!((21..=23).all(|line| hits(&json, line) == 0));
    assert_eq!(
        hits(&json, 16),
        1,
        "coverage.py records that a line ran, not how often"
    );
    assert!(json[&8].partial());
}

#[test]
fn a_go_profile_gives_lines_by_block() {
    let mut opts = options("go.coverprofile");
    opts.source_root = Some("example.com/calc".into());
    let bytes = fixture("go.coverprofile");
    let format = detect(&bytes).unwrap();
    assert_eq!(format.name(), "go-coverprofile");
    let coverage = collect(format, &mut &bytes[..], &opts).unwrap();
    let go = lines(&coverage, "calc.go");
    assert_eq!(hits(&go, 5), 2, "Classify ran twice");
    assert_eq!(hits(&go, 9), 0, "return 0 never ran");
    assert_eq!(hits(&go, 17), 5, "the loop body ran five times");
    assert!((22..=26).all(|line| hits(&go, line) == 0));
    // Without a source root, the directories every import path shares go.
    let alone = collect(
        format,
        &mut &bytes[..],
        &ParseOptions::new("go.coverprofile"),
    )
    .unwrap();
    assert_eq!(alone.files[0].path, "calc.go");
}

#[test]
fn a_jacoco_report_gives_lines_and_branches() {
    let java = lines(&read("jacoco.xml", "jacoco"), "calc/Calc.java");
    assert_eq!(hits(&java, 9), 0, "return 0 never ran");
    assert_eq!(hits(&java, 16), 1);
    assert!((21..=23).all(|line| hits(&java, line) == 0));
    assert!(java[&8].partial());
    assert_eq!(
        java[&8].branches,
        Some(Branches {
            covered: 1,
            total: 2
        })
    );
}

#[test]
fn reports_of_one_build_merge() {
    let mut collector = CoverageCollector::new();
    for name in [
        "gcovr.cobertura.xml",
        "coveragepy.json",
        "gcovr.cobertura.xml",
    ] {
        let bytes = fixture(name);
        let format = detect(&bytes).unwrap();
        collector
            .read(format, &mut &bytes[..], &options(name))
            .unwrap();
    }
    let merged = collector.finish(Some(ROOT));
    let paths: Vec<&str> = merged.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["calc.c", "calc.py"]);
    let c = lines(&merged, "calc.c");
    assert_eq!(hits(&c, 19), 10, "the same report twice: hits add up");
    assert_eq!(hits(&c, 11), 0);
    assert_eq!(
        c[&10].branches,
        Some(Branches {
            covered: 1,
            total: 2
        })
    );
    let (covered, total) = merged.line_totals();
    assert_eq!(total, 22 + 23);
    assert_eq!(covered, 16 + 18);
}

#[test]
fn without_a_source_root_absolute_paths_lose_their_shared_directories() {
    let bytes = fixture("lcov-gcc.info");
    let coverage = collect(&Lcov, &mut &bytes[..], &ParseOptions::new("lcov-gcc.info")).unwrap();
    assert_eq!(coverage.files[0].path, "calc.c");
}

#[test]
fn every_fixture_is_detected_and_test_reports_are_not() {
    for (name, format) in [
        ("gcovr.cobertura.xml", "cobertura"),
        ("coveragepy.cobertura.xml", "cobertura"),
        ("gcovr.info", "lcov"),
        ("lcov-gcc.info", "lcov"),
        ("llvm-cov.info", "lcov"),
        ("coveragepy.info", "lcov"),
        ("llvm-cov.json", "llvm-cov-json"),
        ("coveragepy.json", "coverage-py-json"),
        ("go.coverprofile", "go-coverprofile"),
        ("jacoco.xml", "jacoco"),
    ] {
        assert_eq!(
            detect(&fixture(name)).map(|f| f.name()),
            Some(format),
            "{name}"
        );
        assert_eq!(by_name(format).map(|f| f.name()), Some(format));
    }
    for report in ["ctest/junit.xml", "nextest-retries/junit.xml"] {
        let junit = fixture(&format!("../junit/{report}"));
        assert!(
            detect(&junit).is_none(),
            "{report}: a JUnit report is not coverage"
        );
    }
    assert!(detect(b"").is_none());
    assert!(detect(b"hello world\n").is_none());
}

fn parse_err(format: &dyn CoverageFormat, text: &[u8]) -> ParseError {
    match collect(format, &mut &text[..], &ParseOptions::new("bad.report")) {
        Ok(coverage) => panic!("{}: accepted {:?}", format.name(), coverage.files),
        Err(err) => err,
    }
}

#[test]
fn broken_reports_name_the_file_and_the_place() {
    let err = parse_err(&Lcov, b"TN:\nSF:a.c\nDA:1,1\nDA:x,2\nend_of_record\n");
    assert_eq!((err.line, err.column), (4, 4));
    assert_eq!(
        err.to_string(),
        "failed to parse lcov tracefile at bad.report:4:4: invalid number \"x\""
    );
    let err = parse_err(&Lcov, b"SF:a.c\nDA:1,1\n");
    assert!(err.to_string().contains("truncated"), "{err}");
    assert_eq!(err.line, 1);
    let err = parse_err(&Lcov, b"DA:1,1\n");
    assert!(err.to_string().contains("no SF:"), "{err}");
    // A negative count is refused, as lcov refuses it, at its field.
    let err = parse_err(&Lcov, b"TN:\nSF:src/a.c\nDA:1,1\nDA:7,-5\nend_of_record\n");
    assert_eq!((err.line, err.column), (4, 6));
    assert!(
        err.to_string().starts_with(
            "failed to parse lcov tracefile at bad.report:4:6: a negative hit count -5 for line 7 \
             of \"src/a.c\""
        ),
        "{err}"
    );
    // A source path with control characters, at its SF: line (not at end_of_record).
    let err = parse_err(&Lcov, b"TN:\nSF:src/\x1b[31ma.c\nDA:1,1\nend_of_record\n");
    assert_eq!((err.line, err.column), (2, 4));
    assert_eq!(
        err.to_string(),
        "failed to parse lcov tracefile at bad.report:2:4: a source path with control \
         characters: \"src/\\u{1b}[31ma.c\""
    );
    let err = parse_err(
        &CoveragePyJson,
        b"{\"meta\": {}, \"files\": {\"a\\u0007.py\": {\"executed_lines\": [1], \"missing_lines\": []}}}",
    );
    assert!(err.to_string().contains("control characters"), "{err}");
    assert!(err.line == 1 && err.column > 0, "{err}");

    let err = parse_err(&GoCoverProfile, b"mode: count\na.go:3.1,2.1 1 1\n");
    assert_eq!(err.line, 2);
    assert!(err.to_string().contains("ends before it starts"), "{err}");
    let err = parse_err(&GoCoverProfile, b"a.go:1.1,2.1 1 1\n");
    assert!(
        matches!(err.kind, ParseErrorKind::NotThisFormat(_)),
        "{err}"
    );

    let err = parse_err(
        &Cobertura,
        b"<coverage line-rate=\"1\">\n<packages><package><classes>\n<class filename=\"a.c\"><lines>\n<line number=\"x1\" hits=\"1\"/>",
    );
    assert_eq!(err.line, 4);
    assert_eq!(
        err.path.as_deref(),
        Some("coverage/packages/package/classes/class/lines")
    );
    assert!(
        err.to_string().contains("invalid number \\\"x1\\\"") || err.to_string().contains("x1"),
        "{err}"
    );
    let err = parse_err(&Cobertura, b"<testsuites><testsuite/></testsuites>");
    assert!(
        matches!(err.kind, ParseErrorKind::NotThisFormat(_)),
        "{err}"
    );

    let err = parse_err(&LlvmCovJson, b"{\"data\": [{\"files\": [{\"filename\": \"a.c\", \"segments\": [[1, 1, 1, true, true, false], [0, 1");
    assert!(matches!(err.kind, ParseErrorKind::Truncated), "{err}");
    assert_eq!(err.line, 1);
    let err = parse_err(
        &LlvmCovJson,
        b"{\"data\": [], \"type\": \"something.else\"}",
    );
    assert!(
        matches!(err.kind, ParseErrorKind::NotThisFormat(_)),
        "{err}"
    );
    let err = parse_err(
        &LlvmCovJson,
        b"{\"data\": [{\"files\": [{\"filename\": \"a.c\",\n \"segments\": [[5, 1, 1, true, true, false], [2, 1, 0, false, false, false]]}]}],\n \"type\": \"llvm.coverage.json.export\"}",
    );
    assert!(err.to_string().contains("out of order"), "{err}");
    assert_eq!(err.line, 2);

    let err = parse_err(
        &CoveragePyJson,
        b"{\"meta\": {}, \"files\": {\"a.py\": {\"executed_lines\": [1, -2]}}}",
    );
    assert_eq!((err.line, err.column), (1, 57));
    let err = parse_err(&CoveragePyJson, b"{\"meta\": {}}");
    assert!(
        matches!(err.kind, ParseErrorKind::NotThisFormat(_)),
        "{err}"
    );
}

#[test]
fn hostile_numbers_are_refused_not_obeyed() {
    let err = parse_err(&Lcov, b"SF:a.c\nDA:4000000000,1\nend_of_record\n");
    assert!(
        matches!(err.kind, ParseErrorKind::LimitExceeded(_)),
        "{err}"
    );
    let err = parse_err(&GoCoverProfile, b"mode: set\na.go:1.1,9000000.1 1 1\n");
    assert!(
        matches!(err.kind, ParseErrorKind::LimitExceeded(_)),
        "{err}"
    );
    let err = parse_err(
        &LlvmCovJson,
        b"{\"data\": [{\"files\": [{\"filename\": \"a.c\", \"segments\": [[1, 1, 1, true, true, false], [99999999, 1, 0, false, false, false]]}]}], \"type\": \"llvm.coverage.json.export\"}",
    );
    assert!(
        matches!(err.kind, ParseErrorKind::LimitExceeded(_)),
        "{err}"
    );
    let long = format!(
        "SF:{}\nDA:1,1\nend_of_record\n",
        "a".repeat(MAX_PATH_LEN + 1)
    );
    let err = parse_err(&Lcov, long.as_bytes());
    assert!(
        matches!(err.kind, ParseErrorKind::LimitExceeded(_)),
        "{err}"
    );
    let deep = format!("<coverage line-rate=\"1\">{}", "<x>".repeat(100));
    let err = parse_err(&Cobertura, deep.as_bytes());
    assert!(
        matches!(err.kind, ParseErrorKind::LimitExceeded(_)),
        "{err}"
    );
}

#[test]
fn every_truncation_of_every_fixture_fails_cleanly_or_reads_a_prefix() {
    for name in [
        "gcovr.cobertura.xml",
        "coveragepy.cobertura.xml",
        "gcovr.info",
        "lcov-gcc.info",
        "llvm-cov.json",
        "coveragepy.json",
        "go.coverprofile",
        "jacoco.xml",
    ] {
        let bytes = fixture(name);
        let format = detect(&bytes).unwrap();
        let whole = collect(format, &mut &bytes[..], &options(name)).unwrap();
        let mut failures = 0;
        // Some 300 cuts a file, at odd offsets so that every kind of place is met.
        for cut in (0..bytes.len()).step_by((bytes.len() / 300).max(1) | 1) {
            match collect(format, &mut &bytes[..cut], &options(name)) {
                Err(err) => {
                    failures += 1;
                    let text = err.to_string();
                    assert!(text.contains(name), "{text}");
                }
                // A cut between records or blocks (lcov, Go) is a shorter report, never more.
                Ok(part) => assert!(
                    part.line_totals().1 <= whole.line_totals().1,
                    "{name} at {cut}"
                ),
            }
        }
        assert!(failures > 0, "{name}: no truncation was noticed");
    }
}

const FIXTURES: [&str; 10] = [
    "gcovr.cobertura.xml",
    "coveragepy.cobertura.xml",
    "gcovr.info",
    "lcov-gcc.info",
    "llvm-cov.info",
    "coveragepy.info",
    "llvm-cov.json",
    "coveragepy.json",
    "go.coverprofile",
    "jacoco.xml",
];

/// The outcome of reading `bytes` with `format` in reads of `chunk` bytes: the coverage, or the
/// error's text.
fn outcome(format: &dyn CoverageFormat, bytes: &[u8], chunk: usize) -> Result<Coverage, String> {
    let mut input = crate::robustness_tests::Chunked::new(bytes, chunk);
    collect(format, &mut input, &options("report")).map_err(|err| {
        let text = err.to_string();
        assert!(text.starts_with("failed to parse "), "{text}");
        text
    })
}

/// Every file below `fixtures/` of another kind (test reports, logs, metric files, malformed
/// inputs): foreign input for the coverage readers.
fn foreign_inputs() -> Vec<Vec<u8>> {
    fn walk(dir: &std::path::Path, out: &mut Vec<Vec<u8>>) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
        entries.sort();
        for path in entries {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                if name != "coverage" && name != "db" {
                    walk(&path, out);
                }
            } else if !name.ends_with(".md") && std::fs::metadata(&path).unwrap().len() < 64 * 1024
            {
                out.push(std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = Vec::new();
    walk(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures"),
        &mut out,
    );
    out
}

#[test]
fn every_format_reads_every_fixture_and_foreign_input_alike_in_any_chunks() {
    let mut accepted = 0;
    for name in FIXTURES {
        let bytes = fixture(name);
        for format in registry() {
            let whole = outcome(*format, &bytes, usize::MAX);
            accepted += usize::from(whole.is_ok());
            for chunk in [1, 7, 4096] {
                let read = outcome(*format, &bytes, chunk);
                assert_eq!(
                    read,
                    whole,
                    "{name} as {} in {chunk}-byte reads",
                    format.name()
                );
            }
        }
    }
    // Each fixture is read by its own format at least.
    assert!(accepted >= FIXTURES.len(), "{accepted}");
    let foreign = foreign_inputs();
    assert!(
        foreign.len() > 100,
        "only {} files found below fixtures/",
        foreign.len()
    );
    for bytes in &foreign {
        for format in registry() {
            let whole = outcome(*format, bytes, usize::MAX);
            assert_eq!(outcome(*format, bytes, 7), whole, "{}", format.name());
        }
    }
}

mod roundtrip {
    //! Coverage written out as an lcov tracefile and as Cobertura XML reads back as it was.

    use proptest::prelude::*;

    use super::*;

    fn coverage() -> impl Strategy<Value = BTreeMap<String, BTreeMap<u32, LineCoverage>>> {
        let line = (0u64..5, proptest::option::of((0u32..4, 1u32..4))).prop_map(|(hits, b)| {
            LineCoverage {
                hits,
                branches: b.map(|(covered, total)| Branches {
                    covered: covered.min(total),
                    total,
                }),
            }
        });
        let file = proptest::collection::btree_map(1u32..400, line, 1..30);
        proptest::collection::btree_map("[a-z]{1,8}(/[a-z0-9_]{1,8}){0,2}\\.(c|py|go)", file, 1..6)
    }

    fn lcov(files: &BTreeMap<String, BTreeMap<u32, LineCoverage>>) -> String {
        let mut out = String::new();
        for (path, lines) in files {
            out.push_str(&format!("TN:\nSF:/build/calc/{path}\n"));
            for (n, line) in lines {
                if let Some(b) = line.branches {
                    for i in 0..b.total {
                        let taken = if i < b.covered {
                            "1".to_string()
                        } else {
                            "-".to_string()
                        };
                        out.push_str(&format!("BRDA:{n},0,{i},{taken}\n"));
                    }
                }
                out.push_str(&format!("DA:{n},{}\n", line.hits));
            }
            out.push_str("end_of_record\n");
        }
        out
    }

    fn cobertura(files: &BTreeMap<String, BTreeMap<u32, LineCoverage>>) -> String {
        let mut out = String::from(
            "<?xml version=\"1.0\"?>\n<coverage line-rate=\"0.5\">\n<sources><source>/build/calc</source></sources>\n<packages><package name=\"\"><classes>\n",
        );
        for (path, lines) in files {
            out.push_str(&format!("<class name=\"x\" filename=\"{path}\"><methods><method name=\"m\"><lines><line number=\"1\" hits=\"99\"/></lines></method></methods><lines>\n"));
            for (n, line) in lines {
                match line.branches {
                    Some(b) => out.push_str(&format!(
                        "<line number=\"{n}\" hits=\"{}\" branch=\"true\" condition-coverage=\"50% ({}/{})\"/>\n",
                        line.hits, b.covered, b.total
                    )),
                    None => out.push_str(&format!("<line number=\"{n}\" hits=\"{}\"/>\n", line.hits)),
                }
            }
            out.push_str("</lines></class>\n");
        }
        out.push_str("</classes></package></packages></coverage>\n");
        out
    }

    fn read(
        format: &dyn CoverageFormat,
        text: &str,
    ) -> BTreeMap<String, BTreeMap<u32, LineCoverage>> {
        let coverage = collect(format, &mut text.as_bytes(), &options("generated")).unwrap();
        coverage
            .files
            .into_iter()
            .map(|f| (f.path, f.lines))
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn lcov_and_cobertura_read_back(files in coverage()) {
            prop_assert_eq!(&read(&Lcov, &lcov(&files)), &files);
            prop_assert_eq!(&read(&Cobertura, &cobertura(&files)), &files);
        }
    }
}
