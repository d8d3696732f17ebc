//! Ingesting reports through the real binary.

use crate::harness::{all_succeed, counts, fixture, Test};

/// Ingests one fixture as build 1 of builder `b` and returns the build's counts.
#[track_caller]
fn ingest_counts(relative: &str) -> [u64; 7] {
    let t = Test::new();
    let path = fixture(relative);
    t.ingest("b", 1, &[path.to_str().unwrap()]);
    let builds = t.json(&["builds"]);
    assert_eq!(builds.as_array().unwrap().len(), 1);
    counts(&builds[0])
}

// [passed, failed, error, skipped, expected_failure, unexpected_success, flaky]

#[test]
fn pytest_xunit1_and_xunit2_give_the_same_results() {
    // Console: 14 failed, 11 passed, 4 skipped, 2 xfailed, 1 xpassed (non-strict: a pass), 2 errors.
    let expected = [11, 14, 2, 4, 2, 0, 0];
    assert_eq!(ingest_counts("junit/pytest-xunit1/report.xml"), expected);
    assert_eq!(ingest_counts("junit/pytest-xunit2/report.xml"), expected);
}

#[test]
fn pytest_rerunfailures_repeats_are_one_result_with_attempts() {
    // 1 stable pass, 3 tests that passed on a rerun (flaky), 1 that failed every attempt.
    assert_eq!(
        ingest_counts("junit/pytest-rerunfailures/report.xml"),
        [1, 1, 0, 0, 0, 0, 3]
    );
    let t = Test::new();
    t.ingest(
        "b",
        1,
        &[fixture("junit/pytest-rerunfailures/report.xml")
            .to_str()
            .unwrap()],
    );
    let history = t.json(&["history", "test_always_fails"]);
    let result = &history["builders"][0]["results"][0];
    assert_eq!(result["status"], "failed");
    assert_eq!(result["attempts"], 3);
    let history = t.json(&["history", "TestRetriedInClass.test_fails_twice_then_passes"]);
    assert_eq!(history["builders"][0]["results"][0]["status"], "flaky");
    assert_eq!(history["builders"][0]["results"][0]["attempts"], 3);
}

#[test]
fn nextest_flaky_and_rerun_failures() {
    // 9 run: 5 plain passes, 2 flaky (passed on a retry), 2 failed every retry.
    assert_eq!(
        ingest_counts("junit/nextest-retries/junit.xml"),
        [5, 2, 0, 0, 0, 0, 2]
    );
}

#[test]
fn jest_and_mocha_reports() {
    let jest = ingest_counts("junit/jest-junit/junit.xml");
    let mocha = ingest_counts("junit/mocha-junit-reporter/test-results.xml");
    assert!(jest.iter().sum::<u64>() > 0 && mocha.iter().sum::<u64>() > 0);
    assert!(
        jest[1] > 0 && mocha[1] > 0,
        "both fixtures hold a failure: {jest:?} {mocha:?}"
    );
}

#[test]
fn ingesting_the_same_report_again_changes_nothing() {
    let t = Test::new();
    let report = fixture("junit/pytest-xunit2/report.xml");
    let report = report.to_str().unwrap();
    let first = t.ingest("b", 7, &["--time", "2024-03-01T10:00:00Z", report]);
    assert_eq!(first["action"], "created");
    let before = t.dump();
    let again = t.ingest("b", 7, &["--time", "2024-03-01T10:00:00Z", report]);
    assert_eq!(again["action"], "unchanged");
    assert_eq!(again["reports"][0]["added"], false);
    assert_eq!(t.dump(), before);
}

#[test]
fn several_reports_for_one_build_add_up() {
    let t = Test::new();
    let a = fixture("junit/pytest-xunit2/report.xml");
    let b = fixture("junit/nextest-retries/junit.xml");
    t.ingest("b", 1, &[a.to_str().unwrap()]);
    let second = t.ingest("b", 1, &[b.to_str().unwrap()]);
    assert_eq!(second["action"], "added");
    let builds = t.json(&["builds"]);
    let together = counts(&builds[0]);
    let mut expected = [11, 14, 2, 4, 2, 0, 0];
    for (e, n) in expected.iter_mut().zip([5, 2, 0, 0, 0, 0, 2]) {
        *e += n;
    }
    assert_eq!(together, expected);
    // The same two reports in one ingest give the same database answer.
    let u = Test::new();
    u.ingest("b", 1, &[a.to_str().unwrap(), b.to_str().unwrap()]);
    assert_eq!(counts(&u.json(&["builds"])[0]), expected);
}

#[test]
fn a_truncated_report_changes_nothing_and_names_the_place() {
    let t = Test::new();
    let good = fixture("junit/pytest-xunit2/report.xml");
    t.ingest("b", 1, &[good.to_str().unwrap()]);
    let before = t.dump();
    // The real report cut in the middle of an element, as a crashed test run leaves it.
    let text = std::fs::read(&good).unwrap();
    let cut = t.path("cut.xml");
    std::fs::write(&cut, &text[..text.len() / 2]).unwrap();
    let stderr = t.fails(
        &[
            "ingest",
            "--builder",
            "b",
            "--build",
            "2",
            good.to_str().unwrap(),
            cut.to_str().unwrap(),
        ],
        3,
    );
    assert!(stderr.contains("cut.xml:"), "names the file: {stderr}");
    let place = regex_line_col(&stderr);
    assert!(place.is_some(), "names line and column: {stderr}");
    assert_eq!(t.dump(), before, "the database is exactly as it was");
    // Also on a build that already exists.
    t.fails(
        &[
            "ingest",
            "--builder",
            "b",
            "--build",
            "1",
            cut.to_str().unwrap(),
        ],
        3,
    );
    assert_eq!(t.dump(), before);
}

/// `file:LINE:COL` in a message.
fn regex_line_col(text: &str) -> Option<(u64, u64)> {
    let at = text.find("cut.xml:")? + "cut.xml:".len();
    let mut parts = text[at..].split(|c: char| !c.is_ascii_digit());
    let line = parts.next()?.parse().ok()?;
    let col = parts.next()?.parse().ok()?;
    Some((line, col))
}

#[test]
fn garbage_and_empty_files_are_bad_input() {
    let t = Test::new();
    std::fs::write(t.path("empty.xml"), b"").unwrap();
    let stderr = t.fails(
        &["ingest", "--builder", "b", "--build", "1", "empty.xml"],
        3,
    );
    assert!(stderr.contains("empty.xml is empty"), "{stderr}");
    std::fs::write(t.path("noise.bin"), [0u8, 159, 146, 150, 1, 2, 3, 255]).unwrap();
    let stderr = t.fails(
        &["ingest", "--builder", "b", "--build", "1", "noise.bin"],
        3,
    );
    assert!(
        stderr.contains("cannot tell the format of noise.bin"),
        "{stderr}"
    );
    let stderr = t.fails(
        &["ingest", "--builder", "b", "--build", "1", "missing.xml"],
        3,
    );
    assert!(stderr.contains("missing.xml"), "{stderr}");
    assert!(t.dump().lines().all(|l| l.starts_with("==")));
}

#[test]
fn an_empty_compile_log_named_gcc_is_a_clean_compile() {
    let t = Test::new();
    let first = fixture("gcc/warning-fixed/build-1.log");
    t.ingest("b", 1, &[first.to_str().unwrap()]);
    let open = |t: &Test| {
        let problems = t.json(&["problems"]);
        let mut open: Vec<String> = problems
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["state"] == "open")
            .map(|p| p["test"].as_str().unwrap().to_owned())
            .collect();
        open.sort();
        open
    };
    let before = open(&t);
    assert_eq!(before.len(), 2, "{before:?}");
    std::fs::write(t.path("empty.log"), b"").unwrap();
    std::fs::write(t.path("blank.log"), b" \n\r\n\t\n").unwrap();
    for (number, log) in [(2, "empty.log"), (3, "blank.log")] {
        let parsed = t.json(&["parse", "--parser", "gcc", log]);
        assert_eq!(parsed, serde_json::json!([]), "{log}");
        let summary = t.ingest("b", number, &["--parser", "gcc", log]);
        assert_eq!(counts(&summary), [0; 7], "{log}: {summary}");
    }
    // The files the empty logs compiled are unknown: the warnings are not taken as fixed.
    assert_eq!(open(&t), before);
    // Without --parser an empty or blank report is still an error that says so.
    for (log, what) in [
        ("empty.log", "empty.log is empty: there is nothing to read"),
        ("blank.log", "blank.log is empty: it holds only white space"),
    ] {
        for command in [
            &["parse", log][..],
            &["ingest", "--builder", "b", "--build", "4", log],
        ] {
            let stderr = t.fails(command, 3);
            assert!(stderr.contains(what), "{stderr}");
        }
    }
    assert_eq!(t.json(&["builds"]).as_array().unwrap().len(), 3);
}

#[test]
fn standard_input_is_a_report() {
    let t = Test::new();
    let xml = std::fs::read(fixture("junit/mocha-junit-reporter/test-results.xml")).unwrap();
    let out = t.run_with_stdin(
        &[
            "ingest",
            "--builder",
            "b",
            "--build",
            "3",
            "--format",
            "json",
            "-",
        ],
        &xml,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["reports"][0]["file"], "-");
    assert_eq!(summary["reports"][0]["parser"], "junit");
}

#[test]
fn build_metadata_is_kept() {
    let t = Test::new();
    let report = fixture("junit/mocha-junit-reporter/test-results.xml");
    t.ingest(
        "linux",
        12,
        &[
            "--revision",
            "abc123",
            "--time",
            "2024-03-01T10:00:00.123456+02:00",
            "--result",
            "failure",
            "--property",
            "python=3.10",
            "--property",
            "workers=4",
            "--property",
            "ratio=0.5",
            "--change",
            "abc123:Ada Lovelace <ada@example.org>",
            report.to_str().unwrap(),
        ],
    );
    let build = &t.json(&["builds"])[0];
    assert_eq!(build["builder"], "linux");
    assert_eq!(build["build"], 12);
    assert_eq!(build["revision"], "abc123");
    assert_eq!(
        build["time"], "2024-03-01T08:00:00.123456Z",
        "UTC, microseconds kept"
    );
    assert_eq!(build["result"], "failure");
    assert_eq!(build["properties"]["python"], "3.10");
    assert_eq!(build["properties"]["workers"], 4);
    assert_eq!(build["properties"]["ratio"], 0.5);
    assert_eq!(
        build["changes"],
        serde_json::json!([{"revision": "abc123", "author": "Ada Lovelace <ada@example.org>"}])
    );
}

#[test]
fn a_build_that_arrives_late_takes_its_place() {
    let t = Test::new();
    let pass = fixture("history/linux-py311/103.xml");
    let fail = fixture("history/linux-py311/104.xml");
    t.ingest("b", 1, &[pass.to_str().unwrap()]);
    t.ingest("b", 3, &[pass.to_str().unwrap()]);
    t.ingest("b", 2, &[fail.to_str().unwrap()]);
    let history = t.json(&["history", "tests.test_core.test_divide"]);
    let statuses: Vec<(i64, String)> = history["builders"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["build"].as_i64().unwrap(),
                r["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            (3, "passed".into()),
            (2, "failed".into()),
            (1, "passed".into())
        ]
    );
    // Taking it back leaves the others as they were.
    t.ok(&["delete-build", "b", "2"]);
    let history = t.json(&["history", "tests.test_core.test_divide"]);
    assert_eq!(
        history["builders"][0]["results"].as_array().unwrap().len(),
        2
    );
    assert!(history["builders"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["status"] == "passed"));
    t.fails(&["delete-build", "b", "2"], 3);
}

#[test]
fn replace_records_a_build_from_scratch() {
    let t = Test::new();
    let pass = fixture("history/linux-py311/103.xml");
    let fail = fixture("history/linux-py311/104.xml");
    t.ingest("b", 1, &["--revision", "r1", pass.to_str().unwrap()]);
    let stderr = t.fails(
        &[
            "ingest",
            "--builder",
            "b",
            "--build",
            "1",
            "--revision",
            "r2",
            fail.to_str().unwrap(),
        ],
        3,
    );
    assert!(stderr.contains("--replace"), "{stderr}");
    let replaced = t.ingest(
        "b",
        1,
        &["--revision", "r2", "--replace", fail.to_str().unwrap()],
    );
    assert_eq!(replaced["action"], "replaced");
    let build = &t.json(&["builds"])[0];
    assert_eq!(build["revision"], "r2");
    assert_eq!(counts(build)[1], 1, "only the new report's failure");
}

#[test]
fn concurrent_ingests_all_land() {
    let t = Test::new();
    // Create the database first so that every process races on the same file.
    t.ingest(
        "warmup",
        1,
        &[fixture("junit/mocha-junit-reporter/test-results.xml")
            .to_str()
            .unwrap()],
    );
    let report = fixture("junit/pytest-xunit2/report.xml");
    let children: Vec<_> = (0..8)
        .map(|i| {
            t.command(&[
                "ingest",
                "--builder",
                &format!("b{}", i % 2),
                "--build",
                &(i + 1).to_string(),
                report.to_str().unwrap(),
            ])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
        })
        .collect();
    all_succeed(children);
    let builds = t.json(&["builds", "--limit", "100"]);
    assert_eq!(builds.as_array().unwrap().len(), 9);
    for build in builds
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["builder"] != "warmup")
    {
        assert_eq!(counts(build), [11, 14, 2, 4, 2, 0, 0]);
    }
}

/// A parser's warning names the file and what it read: both reach the terminal inert.
#[test]
fn warnings_reach_the_terminal_inert() {
    let t = Test::new();
    let name = "bad\x1b[31mname.xml";
    std::fs::write(
        t.path(name),
        "<testsuite name=\"s\"><testcase classname=\"c\" name=\"n\" time=\"\x1b]0;x\x07\"/></testsuite>",
    )
    .unwrap();
    for args in [
        &["parse", name][..],
        &["ingest", "--builder", "b", "--build", "1", name],
    ] {
        let out = t.run(args);
        assert!(out.status.success(), "{args:?}: {out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("warning:"), "{args:?}: {stderr}");
        assert!(
            !stderr.contains('\x1b') && !stderr.contains('\x07'),
            "{args:?}: {stderr:?}"
        );
    }
}

#[test]
/// `PROBTRACK_LOCK_TIMES` (for the bench) has `ingest` say on stderr how long it waited for the lock
/// that serialised it and held it; without it, nothing is said, and the summary is the same.
fn lock_times_are_told_on_stderr_only_when_asked() {
    let t = Test::new();
    let report = fixture("junit/pytest-xunit2/report.xml");
    let ingest = |n: &str, asked: bool| {
        let mut cmd = t.command(&["ingest", "--builder", "b", "--build", n]);
        cmd.arg(&report).env_remove("PROBTRACK_LOCK_TIMES");
        if asked {
            cmd.env("PROBTRACK_LOCK_TIMES", "1");
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success());
        (
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let (plain, quiet) = ingest("1", false);
    assert!(!quiet.contains("lock:"), "{quiet}");
    let (told, stderr) = ingest("2", true);
    assert_eq!(plain.replace("#1", "#2"), told);
    let line = stderr.lines().find(|l| l.starts_with("lock: ")).unwrap();
    let ms: Vec<f64> = line
        .split(' ')
        .filter_map(|w| w.trim_end_matches(',').parse().ok())
        .collect();
    assert_eq!(ms.len(), 2, "{line}");
    // Held: at least the judging and the commit, which take some time.
    assert!(ms[0] >= 0.0 && ms[1] > 0.0, "{line}");
}

/// A lane's runs read a chunk at a time (as one ingest reads a huge lane) are the runs read at
/// once, whatever the chunk: each test whole, in id order, once; a test with more runs than a
/// chunk's rows comes whole on its own.
#[test]
fn a_lanes_runs_read_in_chunks_are_the_runs_read_at_once() {
    use crate::generate::{scripted, Pattern};
    use probtrack::store::{self, OpenMode, RunsOf};
    let t = Test::new();
    let dir = t.path("history");
    let pattern = |test, outcomes| Pattern {
        builder: "b",
        test,
        outcomes,
    };
    scripted(
        &dir,
        &[
            pattern("a.Steady.test", "PPPPPPPP"),
            pattern("a.Flip.test", "PFPFPFPF"),
            pattern("a.Late.test", "----PPPP"),
            pattern("a.Gone.test", "PPF-----"),
            pattern("a.Broken.test", "PPFFFFPP"),
        ],
    );
    t.ok(&["import", dir.to_str().unwrap()]);
    let mut store = store::open(&t.location(), OpenMode::Existing).unwrap();
    let lane = store.lanes().unwrap()[0].id;
    let whole = store.runs(RunsOf::Lane(lane)).unwrap();
    assert_eq!(whole.len(), 5);
    assert!(whole.iter().any(|(_, runs)| runs.len() >= 8), "{whole:?}");
    for rows in [1, 2, 3, 5, 8, 100] {
        let mut read = Vec::new();
        let mut after = i64::MIN;
        loop {
            let chunk = store.runs(RunsOf::LaneAfter { lane, after, rows }).unwrap();
            let Some((last, _)) = chunk.last() else { break };
            after = *last;
            read.extend(chunk);
        }
        assert_eq!(read, whole, "chunks of {rows} rows");
    }
}

/// A build of more tests than an ingest holds as a plain list (65,536: past that the entries are
/// packed a chunk at a time and merged when settled, docs/performance.md, *Memory of one huge
/// build*), with tests that come again across the chunks: a retry within the first report whose
/// attempts are 65,000 results apart, and a second report that reruns failures in reverse order
/// (flaky) and skips passed tests (a skip hides no outcome). Each test is stored as the contracts
/// say, exactly as in a small build: its status, attempts, duration and message. Its 70,000 new
/// tests also pass the 32,768 that a SQLite write keeps in its map of tests: the second report's
/// tests past those are found as stored (taken for new ones, they would break the unique key).
#[test]
fn a_build_past_the_packing_bound_stores_each_test_as_the_contracts_say() {
    use probtrack::store::{self, OpenMode};
    use std::fmt::Write as _;
    const N: usize = 70_000;
    let t = Test::new();
    let name = |i: usize| format!("test_{i:05}");
    // Whole microseconds, as a report's `time="0.3015"` is.
    let time = |i: usize| ((i % 1000) * 1000 + 500) as f64 / 1e6;
    let fails = |i: usize| i % 997 == 0;
    let skipped_later = |i: usize| i % 5000 == 1;
    let case = |xml: &mut String, i: usize, child: &str, t: f64| {
        writeln!(
            xml,
            "  <testcase classname=\"pkg.Huge\" name=\"{}\" time=\"{t}\">{child}</testcase>",
            name(i)
        )
        .unwrap();
    };
    // The first report: every test once, the failures with their message; test 0 (a failure,
    // in the first chunk) again at the end, passing: a retry within the report.
    let mut first = String::from("<?xml version=\"1.0\"?>\n<testsuite name=\"huge\">\n");
    for i in 0..N {
        let child = if fails(i) {
            format!("<failure message=\"boom {i}\">trace {i}</failure>")
        } else {
            String::new()
        };
        case(&mut first, i, &child, time(i));
    }
    case(&mut first, 0, "", 0.25);
    first.push_str("</testsuite>\n");
    // The second: the other failures rerun, passing, last first; some passed tests skipped.
    let mut second = String::from("<?xml version=\"1.0\"?>\n<testsuite name=\"rerun\">\n");
    for i in (1..N).rev().filter(|&i| fails(i)) {
        case(&mut second, i, "", 0.125);
    }
    for i in (0..N).filter(|&i| skipped_later(i)) {
        case(&mut second, i, "<skipped message=\"not now\"/>", 0.0);
    }
    second.push_str("</testsuite>\n");
    let (a, b) = (t.path("first.xml"), t.path("second.xml"));
    std::fs::write(&a, first).unwrap();
    std::fs::write(&b, second).unwrap();
    t.ingest("b", 1, &[a.to_str().unwrap(), b.to_str().unwrap()]);

    let failures = (0..N).filter(|&i| fails(i)).count() as u64;
    let builds = t.json(&["builds"]);
    assert_eq!(
        counts(&builds[0]),
        [N as u64 - failures, 0, 0, 0, 0, 0, failures]
    );
    // Every result that is not a plain single pass, as stored.
    let mut store = store::open(&t.location(), OpenMode::Existing).unwrap();
    let rows = store.results(None, None, true).unwrap();
    let ids: Vec<_> = rows.iter().map(|(_, r)| r.test).collect();
    let names = store.tests_by_id(&ids).unwrap();
    // Test, status, attempts, duration, message.
    type Row = (String, String, u32, Option<f64>, Option<String>);
    let mut got: Vec<Row> = (rows.iter())
        .map(|(_, r)| {
            let status = serde_json::to_value(r.status).unwrap();
            (
                names[&r.test].name.to_string(),
                status.as_str().unwrap().to_owned(),
                r.attempts,
                r.duration,
                r.message.as_ref().map(|m| m.to_string()),
            )
        })
        .collect();
    got.sort_by(|x, y| x.0.cmp(&y.0));
    let expected: Vec<_> = (0..N)
        .filter(|&i| fails(i) || skipped_later(i))
        .map(|i| {
            let (status, duration, message) = if i == 0 {
                ("flaky", time(0) + 0.25, Some("boom 0".to_owned()))
            } else if fails(i) {
                ("flaky", time(i) + 0.125, Some(format!("boom {i}")))
            } else {
                ("passed", time(i), None)
            };
            let stored = format!("pkg.Huge.{}", name(i));
            (stored, status.to_owned(), 2, Some(duration), message)
        })
        .collect();
    assert_eq!(got.len(), expected.len());
    for (g, e) in got.iter().zip(&expected) {
        assert_eq!((&g.0, &g.1, g.2, &g.4), (&e.0, &e.1, e.2, &e.4));
        let (gd, ed) = (g.3.unwrap(), e.3.unwrap());
        assert!((gd - ed).abs() < 1e-6, "{}: {gd} != {ed}", g.0);
    }
    // A plain pass in the last chunk keeps its own duration.
    let history = t.json(&["history", &format!("pkg.Huge.{}", name(N - 2))]);
    let result = &history["builders"][0]["results"][0];
    assert_eq!(result["status"], "passed");
    let duration = result["duration"].as_f64().unwrap();
    assert!((duration - time(N - 2)).abs() < 1e-6, "{duration}");
}
