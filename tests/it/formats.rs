//! The text formats of issue 23 (go test -json, TAP, libtest, unittest): every real fixture
//! through `ingest`, stored as `parse` read it; hostile inputs; and one Problem for a test that
//! fails on builders whose reports come in different formats.

use std::collections::BTreeSet;

use crate::fixtures::reports;
use crate::harness::{counts, Test};

/// The statuses of `parse --format json` results, tallied as `builds` counts them.
fn tally(results: &serde_json::Value) -> [u64; 7] {
    let order = [
        "passed",
        "failed",
        "error",
        "skipped",
        "expected_failure",
        "unexpected_success",
        "flaky",
    ];
    let mut out = [0; 7];
    for r in results.as_array().unwrap() {
        let status = r["status"].as_str().unwrap();
        out[order.iter().position(|s| *s == status).unwrap()] += 1;
    }
    out
}

/// Each fixture of `family` ingested alone as build 1: the build's counts are the parsed
/// statuses', and its open Problems are exactly the failing tests.
fn round_trip(family: &str) {
    let files = reports(family);
    assert!(!files.is_empty(), "no {family} fixtures");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut summary = String::new();
    for file in files {
        let t = Test::new();
        let path = file.to_str().unwrap();
        let parsed = t.json(&["parse", path]);
        t.ingest("b", 1, &["--parser", family, path]);
        let builds = t.json(&["builds"]);
        let stored = counts(&builds[0]);
        assert_eq!(stored, tally(&parsed), "{path}");
        let failing: BTreeSet<String> = parsed
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| matches!(r["status"].as_str(), Some("failed" | "error")))
            .map(|r| r["test"].as_str().unwrap().to_owned())
            .collect();
        let problems: BTreeSet<String> = t
            .json(&["problems", "--all", "--intermittent"])
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["test"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(problems, failing, "{path}");
        let name = file.strip_prefix(&root).unwrap().to_string_lossy();
        summary += &format!("{name}: {stored:?}\n");
    }
    insta::assert_snapshot!(format!("{family}_ingested"), summary);
}

#[test]
fn gotest_fixtures_ingest_as_parsed() {
    round_trip("gotest");
}

#[test]
fn tap_fixtures_ingest_as_parsed() {
    round_trip("tap");
}

#[test]
fn libtest_fixtures_ingest_as_parsed() {
    round_trip("libtest");
}

#[test]
fn unittest_fixtures_ingest_as_parsed() {
    round_trip("unittest");
}

#[test]
fn cut_unittest_output_keeps_what_it_has_and_says_so() {
    let t = Test::new();
    let real = std::fs::read(crate::harness::fixture("unittest/verbose/output.txt")).unwrap();
    let text = String::from_utf8_lossy(&real);
    // Cut before the details blocks and the `Ran` line.
    let cut = text.find("\n=====").unwrap();
    std::fs::write(t.path("cut.txt"), &real[..cut]).unwrap();
    let out = t.run(&[
        "parse", "--parser", "unittest", "--format", "json", "cut.txt",
    ]);
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cut.txt: the log ends before unittest's `Ran N tests` line"),
        "{stderr}"
    );
    let results: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(results.as_array().unwrap().len(), 13);
}

/// Bad input: a clear error naming the file and the line, exit 3, and nothing stored.
#[track_caller]
fn rejected(parser: &str, text: &[u8], line: u64, says: &str) {
    let t = Test::new();
    std::fs::write(t.path("bad.txt"), text).unwrap();
    let stderr = t.fails(&["parse", "--parser", parser, "bad.txt"], 3);
    assert!(stderr.contains(&format!("bad.txt:{line}")), "{stderr}");
    assert!(stderr.contains(says), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let stderr = t.fails(
        &[
            "ingest",
            "--builder",
            "b",
            "--build",
            "1",
            "--parser",
            parser,
            "bad.txt",
        ],
        3,
    );
    assert!(stderr.contains(&format!("bad.txt:{line}")), "{stderr}");
    if t.db_exists() {
        assert!(t.json(&["builds"]).as_array().unwrap().is_empty());
    }
}

#[test]
fn hostile_gotest_input_is_refused_with_its_place() {
    let real = std::fs::read(crate::harness::fixture("gotest/count/output.json")).unwrap();
    // Cut in the middle of its fifth event.
    let at = real
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .nth(3)
        .unwrap()
        .0;
    rejected("gotest", &real[..at + 20], 5, "truncated");
    rejected(
        "gotest",
        b"{\"Action\":\"run\",\"Package\":\"p\",\"Test\":\"TestA\"}\n{\"Action\":[]}\n",
        2,
        "not a test2json event",
    );
    // One event line of 20 MiB.
    let mut huge = b"{\"Action\":\"output\",\"Package\":\"p\",\"Output\":\"".to_vec();
    huge.resize(20 << 20, b'a');
    rejected("gotest", &huge, 1, "longer than");
}

#[test]
fn hostile_tap_input_is_refused_with_its_place() {
    let real = std::fs::read(crate::harness::fixture("tap/node/output.tap")).unwrap();
    // Cut inside the YAML block of the second test (its `---` is line 10).
    let text = String::from_utf8_lossy(&real);
    let cut: usize = text.lines().take(12).map(|l| l.len() + 1).sum();
    rejected("tap", &real[..cut], 10, "truncated");
    // Subtests nested 200 deep.
    let mut deep = String::new();
    for depth in 0..200 {
        deep += &" ".repeat(depth * 4);
        deep += "ok 1 - x\n";
    }
    rejected("tap", deep.as_bytes(), 101, "nested more than 100 deep");
}

#[test]
fn cut_libtest_output_keeps_what_it_has_and_says_so() {
    let t = Test::new();
    let real = std::fs::read(crate::harness::fixture("libtest/no-fail-fast/output.txt")).unwrap();
    let text = String::from_utf8_lossy(&real);
    // Cut after the unit tests' last test line: their failures section and summary are gone.
    let cut = text.find("\nfailures:").unwrap();
    std::fs::write(t.path("cut.txt"), &real[..cut]).unwrap();
    let out = t.run(&[
        "parse", "--parser", "libtest", "--format", "json", "cut.txt",
    ]);
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr
            .contains("cut.txt: the output of test binary sample ends without its `test result:`"),
        "{stderr}"
    );
    let results: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(results.as_array().unwrap().len(), 10);
}

/// One project, three builders, three report formats (go test -json, JUnit from pytest, TAP from
/// node): `calc.TestAdd` passes in build 1 and fails in build 2 everywhere. The formats' identity
/// rules give the same test one identity, so its failures are one Problem on all three builders.
#[test]
fn a_test_failing_in_three_formats_is_one_problem() {
    let t = Test::new();
    let builders = [("go-json", "json"), ("junit", "xml"), ("tap", "tap")];
    for build in [1, 2] {
        for (minute, (builder, ext)) in builders.iter().enumerate() {
            let report =
                crate::harness::fixture(&format!("history-mixed/builds/{builder}/{build}.{ext}"));
            let time = format!("2026-12-0{build}T10:0{minute}:00Z");
            let revision = format!("rev{build}");
            t.ingest(
                builder,
                build,
                &[
                    "--time",
                    &time,
                    "--revision",
                    &revision,
                    report.to_str().unwrap(),
                ],
            );
        }
    }
    let problems = t.json(&["problems", "--all", "--intermittent"]);
    let problems = problems.as_array().unwrap();
    assert_eq!(problems.len(), 1, "{problems:#?}");
    let problem = &problems[0];
    assert_eq!(problem["test"], "calc.TestAdd");
    assert_eq!(problem["state"], "open");
    let mut builders: Vec<&str> = problem["builders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_str().unwrap())
        .collect();
    builders.sort_unstable();
    assert_eq!(builders, ["go-json", "junit", "tap"]);
    assert_eq!(problem["failures"], 3);
    // Each builder's build 2 failed it, and its build 1 passed it.
    let history = t.json(&["history", "calc.TestAdd"]);
    let mut seen: Vec<(String, Vec<(i64, String)>)> = history["builders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            let mut results: Vec<(i64, String)> = b["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    let status = r["status"].as_str().unwrap().to_owned();
                    (r["build"].as_i64().unwrap(), status)
                })
                .collect();
            results.sort();
            (b["builder"].as_str().unwrap().to_owned(), results)
        })
        .collect();
    seen.sort();
    let expected = |name: &str| {
        (
            name.to_owned(),
            vec![(1, "passed".to_owned()), (2, "failed".to_owned())],
        )
    };
    assert_eq!(
        seen,
        [expected("go-json"), expected("junit"), expected("tap")],
        "{history}"
    );
}
