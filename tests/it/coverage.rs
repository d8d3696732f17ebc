//! Test coverage through the real CLI: coverage reports ingested beside test reports (sniffed or
//! `--coverage`), stored per build, shown by `coverage` and `coverage FILE`, lost coverage as
//! Problems of kind `coverage` (attributed, narrowed across builders, fixed, gating
//! `--exit-code`, linked to the test that broke), flaky coverage kept out, the `[coverage]`
//! thresholds, and hostile reports that change nothing.
//!
//! The reports are `fixtures/coverage/`'s: gcovr's Cobertura of `src/calc.c` run with 5
//! (`gcovr.cobertura.xml`, under `/build/calc`) and of `src/v2/calc.c` (a new branch) run with 0
//! (`gcovr-v2.cobertura.xml`, under `/build/calc/v2build`): against the first, the second loses
//! lines 9 and 12 (the negative and positive returns) and adds uncovered code.

use crate::harness::{fixture, Repo, Test};
use serde_json::Value;

fn v1() -> String {
    fixture("coverage/gcovr.cobertura.xml")
        .to_str()
        .unwrap()
        .to_owned()
}

fn v2() -> String {
    fixture("coverage/gcovr-v2.cobertura.xml")
        .to_str()
        .unwrap()
        .to_owned()
}

fn root(report: &str) -> &'static str {
    if report.contains("v2-fixed") {
        "/build/calc/v2fix"
    } else if report.contains("v2") {
        "/build/calc/v2build"
    } else {
        "/build/calc"
    }
}

/// Ingests `report` as build `number` of `builder` with the changes given; returns the exit code
/// (with `--exit-code`) and the JSON summary.
fn ingest(t: &Test, builder: &str, number: u32, report: &str, changes: &[&str]) -> (i32, Value) {
    let n = number.to_string();
    let time = format!("2026-02-{number:02}T10:00:00Z");
    let mut args = vec![
        "ingest",
        "--builder",
        builder,
        "--build",
        &n,
        "--time",
        &time,
        "--source-root",
        root(report),
        "--exit-code",
        "--format",
        "json",
    ];
    for c in changes {
        args.extend(["--change", c]);
    }
    args.push(report);
    let out = t.run(&args);
    let summary = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap_or(-1), summary)
}

fn coverage_problems(t: &Test) -> Vec<Value> {
    let all = t.json(&["problems", "--all", "--kind", "coverage"]);
    all.as_array().unwrap().clone()
}

/// A git repository of the program's history: `c1` the first version, `x` a change elsewhere,
/// `c2` the new branch in `classify`, `c3` a change elsewhere again.
struct History {
    repo: Repo,
    c1: String,
    x: String,
    c2: String,
    c3: String,
}

fn history() -> History {
    let repo = Repo::new();
    let src = |p: &str| std::fs::read_to_string(fixture(&format!("coverage/src/{p}"))).unwrap();
    let c1 = repo.commit(
        "Ann Alder <ann@example.org>",
        "calc.c",
        &src("calc.c"),
        "calc",
        1_700_000_000,
    );
    let x = repo.commit(
        "Xavier Xu <xavier@example.org>",
        "README",
        "calc\n",
        "readme",
        1_700_000_100,
    );
    let c2 = repo.commit(
        "Bob Birch <bob@example.org>",
        "calc.c",
        &src("v2/calc.c"),
        "classify huge numbers",
        1_700_000_200,
    );
    let c3 = repo.commit(
        "Cy Cedar <cy@example.org>",
        "README",
        "calc, tested\n",
        "test more",
        1_700_000_300,
    );
    History {
        repo,
        c1,
        x,
        c2,
        c3,
    }
}

/// Ingests `report` as build `number` of `builder` at `revision` of the history, blamelist from
/// git; returns the exit code with `--exit-code` and the JSON summary.
fn ingest_at(
    t: &Test,
    h: &History,
    builder: &str,
    number: u32,
    revision: &str,
    report: &str,
) -> (i32, Value) {
    let n = number.to_string();
    let out = t.run(&[
        "ingest",
        "--builder",
        builder,
        "--build",
        &n,
        "--git",
        h.repo.path().to_str().unwrap(),
        "--revision",
        revision,
        "--source-root",
        root(report),
        "--exit-code",
        "--format",
        "json",
        report,
    ]);
    let summary = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap_or(-1), summary)
}

#[test]
fn lost_coverage_is_a_problem_attributed_narrowed_across_builders_and_fixed() {
    let t = Test::new();
    let h = history();
    let fixed_report = fixture("coverage/gcovr-v2-fixed.cobertura.xml")
        .to_str()
        .unwrap()
        .to_owned();
    // linux builds c1 then c2 (blamelist x, c2); mac builds x then c2 (blamelist c2).
    assert_eq!(ingest_at(&t, &h, "linux", 1, &h.c1, &v1()).0, 0);
    assert_eq!(ingest_at(&t, &h, "mac", 1, &h.x, &v1()).0, 0);
    let (code, summary) = ingest_at(&t, &h, "linux", 2, &h.c2, &v2());
    assert_eq!(code, 1, "{summary:#}");
    assert_eq!(summary["new_problems"][0]["test"], "calc.c", "{summary:#}");
    // Coverage files are not tests: the build counts no results.
    assert_eq!(crate::harness::counts(&t.json(&["builds"])[0]), [0; 7]);
    let (code, summary) = ingest_at(&t, &h, "mac", 2, &h.c2, &v2());
    assert_eq!(
        code, 0,
        "the same loss on another builder joins the Problem: {summary:#}"
    );
    let problems = coverage_problems(&t);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    let p = &problems[0];
    assert_eq!(p["kind"], "coverage");
    assert_eq!(p["test"], "calc.c");
    assert_eq!(p["state"], "open");
    assert_eq!(p["builders"], serde_json::json!(["linux", "mac"]));
    let started: Vec<&str> = (p["started_by"].as_array().unwrap().iter())
        .map(|c| c["revision"].as_str().unwrap())
        .collect();
    assert_eq!(
        started,
        [h.c2.as_str()],
        "narrowed to the change both builders share"
    );
    assert_eq!(p["responsible"], serde_json::json!(["Bob Birch"]));
    // fixtures/coverage/v1-v2.diff: lines 12-13 are new (`if (n > 1000) return 2;`), and the
    // run with 0 does not reach them; the returns of -1 and 1 (now 9 and 14) and the loop body
    // (now 21) ran before.
    assert_eq!(
        p["coverage"]["uncovered_new"],
        serde_json::json!([12, 13]),
        "{p:#}"
    );
    assert_eq!(
        p["coverage"]["lost"],
        serde_json::json!([9, 14, 21]),
        "{p:#}"
    );
    assert!(
        p["message"]
            .as_str()
            .unwrap()
            .contains("lost coverage (9, 14, 21)"),
        "{p:#}"
    );
    // The lines run again (the program run with 0, 5 and 2000) on linux: mac still owes them.
    assert_eq!(ingest_at(&t, &h, "linux", 3, &h.c3, &fixed_report).0, 0);
    assert_eq!(coverage_problems(&t)[0]["state"], "open");
    assert_eq!(ingest_at(&t, &h, "mac", 3, &h.c3, &fixed_report).0, 0);
    let fixed = coverage_problems(&t);
    assert_eq!(fixed.len(), 1, "{fixed:#?}");
    assert_eq!(fixed[0]["state"], "fixed", "{fixed:#?}");
    assert_eq!(fixed[0]["fixed_by"][0]["revision"], h.c3.as_str());
    assert_eq!(fixed[0]["id"], p["id"], "the same Problem");
}

#[test]
fn lines_still_uncovered_keep_the_problem_open_until_they_run() {
    let t = Test::new();
    ingest(&t, "linux", 1, &v1(), &["c1:Ann <ann@example.org>"]);
    ingest(&t, "linux", 2, &v2(), &["c2:Bob <bob@example.org>"]);
    // The same coverage again: nothing is newly lost, but the lines are still owed.
    let (code, _) = ingest(&t, "linux", 3, &v2(), &["c3:Cy <cy@example.org>"]);
    assert_eq!(code, 0, "no new Problem");
    let problems = coverage_problems(&t);
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0]["state"], "open");
    assert_eq!(problems[0]["last_failure"]["build"], 3);
    let still = problems[0]["coverage"]["lines"].as_array().unwrap();
    assert!(still.contains(&Value::from(9)) && still.contains(&Value::from(12)));
}

#[test]
fn the_coverage_command_shows_totals_files_trend_problems_and_lines() {
    let t = Test::new();
    ingest(&t, "linux", 1, &v1(), &["c1:Ann <ann@example.org>"]);
    ingest(&t, "linux", 2, &v2(), &["c2:Bob <bob@example.org>"]);
    let summary = t.json(&["coverage"]);
    assert_eq!(summary["builder"], "linux");
    assert_eq!(summary["build"], 2);
    assert_eq!(summary["previous_build"], 1);
    // gcovr's own totals for the second run (its <coverage lines-covered lines-valid>).
    assert_eq!(summary["totals"]["lines_covered"], 14, "{summary:#}");
    assert_eq!(summary["totals"]["lines_total"], 24);
    assert_eq!(summary["totals"]["files"], 1);
    assert_eq!(summary["trend"].as_array().unwrap().len(), 2);
    let file = &summary["files"][0];
    assert_eq!(file["path"], "calc.c");
    assert_eq!(file["new"], false);
    assert_eq!(file["lost"], 2);
    assert!(file["change"].as_f64().unwrap() < 0.0, "{file:#}");
    assert_eq!(summary["problems"][0]["path"], "calc.c");
    // The first build: nothing to compare with.
    let first = t.json(&["coverage", "--build", "1"]);
    assert_eq!(first["previous_build"], Value::Null);
    assert_eq!(first["files"][0]["new"], true);

    let lines = t.json(&["coverage", "calc.c"]);
    let line = |n: u64| {
        lines["lines"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["line"] == n)
            .unwrap_or_else(|| panic!("no line {n} in {lines:#}"))
            .clone()
    };
    assert_eq!(line(9)["covered"], false);
    assert_eq!(line(9)["class"], "LBC");
    assert_eq!(line(8)["partial"], true);
    assert_eq!(line(8)["branches_total"], 2);
    assert_eq!(line(6)["class"], "CBC");
    // Hits to the power of two below: line 9 did not run, 17 ran once, 6 two or three times.
    assert_eq!(line(9)["hits"], 0);
    assert_eq!(line(17)["hits"], 1);
    assert_eq!(line(17)["hits_max"], 1);
    assert_eq!(line(6)["hits"], 2);
    assert_eq!(line(6)["hits_max"], 3);
    // Build 1 (gcovr's report: line 18 ran 6 times, line 19 5 times): both kept as 4 to 7.
    let first_lines = t.json(&["coverage", "calc.c", "--build", "1"]);
    let at = |n: u64| {
        (first_lines["lines"].as_array().unwrap().iter())
            .find(|l| l["line"] == n)
            .map(|l| (l["hits"].clone(), l["hits_max"].clone()))
    };
    assert_eq!(at(18), Some((Value::from(4), Value::from(7))));
    assert_eq!(at(19), Some((Value::from(4), Value::from(7))));
    assert_eq!(at(20), Some((Value::from(1), Value::from(1))));
    let first_table = t.ok(&["coverage", "calc.c", "--build", "1"]);
    let row18 = (first_table.lines())
        .find(|l| l.contains(" 18 "))
        .unwrap_or_else(|| panic!("{first_table}"));
    assert!(row18.contains("4-7"), "{first_table}");
    // Tables and CSV, one row per file or line.
    let table = t.ok(&["coverage"]);
    assert!(
        table.contains("calc.c") && table.contains("58.33%"),
        "{table}"
    );
    let csv = t.ok(&["coverage", "calc.c", "--format", "csv"]);
    assert!(csv.starts_with("line,covered,"), "{csv}");
    assert_eq!(csv.lines().count(), 1 + 24);
    assert!(
        csv.lines().next().unwrap().ends_with(",hits,hits_max"),
        "{csv}"
    );
    // What there is not.
    let err = t.fails(&["coverage", "nope.c"], 3);
    assert!(err.contains("no coverage of nope.c"), "{err}");
    let err = t.fails(&["coverage", "--builder", "mac"], 3);
    assert!(err.contains("no coverage recorded on builder mac"), "{err}");
    // Totals and the file are metric series too, higher is better.
    let metric = t.json(&["metric", "coverage.lines"]);
    let values = metric["builders"][0]["values"].as_array().unwrap();
    assert_eq!(values.len(), 2);
    assert!((values[1]["value"].as_f64().unwrap() - 14.0 * 100.0 / 24.0).abs() < 1e-9);
    assert_eq!(metric["direction"], "higher_is_better");
    let per_file = t.json(&["metric", "coverage.lines{file=calc.c}"]);
    assert_eq!(
        per_file["builders"][0]["values"].as_array().unwrap().len(),
        2
    );
}

#[test]
fn coverage_file_classifies_lines_with_the_git_diff() {
    let t = Test::new();
    let h = history();
    ingest_at(&t, &h, "linux", 1, &h.c1, &v1());
    ingest_at(&t, &h, "linux", 2, &h.c2, &v2());
    let git = h.repo.path().to_str().unwrap();
    let lines = t.json(&["coverage", "calc.c", "--git", git]);
    assert_eq!(lines["diff"], true);
    let class = |n: u64| {
        (lines["lines"].as_array().unwrap().iter())
            .find(|l| l["line"] == n)
            .map(|l| l["class"].clone())
    };
    assert_eq!(class(12), Some(Value::from("UNC")));
    assert_eq!(class(14), Some(Value::from("LBC")));
    assert_eq!(class(11), Some(Value::from("GBC")));
    // Without the repository the source is taken as unchanged: line 12 was line 12 before.
    let plain = t.json(&["coverage", "calc.c"]);
    assert_eq!(plain["diff"], false);
}

#[test]
fn lost_lines_where_nothing_changed_are_flaky_coverage_not_a_problem() {
    let t = Test::new();
    ingest(&t, "linux", 1, &v1(), &["c1:Ann <ann@example.org>"]);
    // Build 2 has no change: coverage moved on its own.
    let (code, _) = ingest(&t, "linux", 2, &v2(), &[]);
    assert_eq!(code, 0);
    assert!(coverage_problems(&t).is_empty());
    let history = t.json(&["history", "calc.c"]);
    let results = history["builders"][0]["results"].as_array().unwrap();
    let statuses: Vec<&str> = results
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["flaky", "passed"], "newest first: {history:#}");
    let summary = t.json(&["coverage"]);
    assert_eq!(summary["flaky"][0]["path"], "calc.c", "{summary:#}");
    assert_eq!(summary["flaky"][0]["builds"], serde_json::json!([2]));
    assert_eq!(summary["flaky"][0]["lines"], serde_json::json!([9, 12]));
    assert!(t.ok(&["coverage"]).contains("flaky coverage: calc.c"));
}

#[test]
fn coverage_settings_ignore_small_losses_and_paths() {
    for (settings, expect) in [
        ("[coverage]\nmin_lost_lines = 9\n", 0),
        ("[coverage]\nmin_lost_lines = 8\n", 1),
        ("[coverage]\nignore = [\"*.c\"]\n", 0),
        ("[coverage]\nignore = [\"vendor/*\"]\n", 1),
    ] {
        let t = Test::new();
        std::fs::write(t.path("probtrack.toml"), settings).unwrap();
        ingest(&t, "linux", 1, &v1(), &["c1:Ann <ann@example.org>"]);
        ingest(&t, "linux", 2, &v2(), &["c2:Bob <bob@example.org>"]);
        // Without the diff: 2 lines lost, 6 that became executable and do not run.
        assert_eq!(coverage_problems(&t).len(), expect, "{settings}");
    }
}

#[test]
fn a_coverage_problem_names_the_test_that_broke_in_its_build() {
    let t = Test::new();
    // fixtures/history: tests.test_core.test_divide passes in linux-py311 #103, fails in #104.
    for (n, report) in [(103, v1()), (104, v2())] {
        let junit = fixture(&format!("history/linux-py311/{n}.xml"));
        let n = n.to_string();
        t.ok(&[
            "ingest",
            "--builder",
            "linux-py311",
            "--build",
            &n,
            "--change",
            &format!("c{n}:Dev <dev@example.org>"),
            "--source-root",
            root(&report),
            junit.to_str().unwrap(),
            &report,
        ]);
    }
    let problems = t.json(&["problems", "--all"]);
    let divide = (problems.as_array().unwrap().iter())
        .find(|p| p["test"] == "tests.test_core.test_divide")
        .unwrap_or_else(|| panic!("{problems:#}"));
    let coverage = (problems.as_array().unwrap().iter())
        .find(|p| p["kind"] == "coverage")
        .unwrap_or_else(|| panic!("{problems:#}"));
    let tests = coverage["coverage"]["tests"].as_array().unwrap();
    let related = tests
        .iter()
        .find(|r| r["test"] == "tests.test_core.test_divide")
        .unwrap_or_else(|| panic!("{coverage:#}"));
    assert_eq!(related["problem"], divide["id"]);
    // Said everywhere, not only in JSON: the message (so `problems` and notifications), the
    // `show` table and the HTML Problem page, each with the test's Problem.
    let (id, divide_id) = (
        coverage["id"].as_i64().unwrap(),
        divide["id"].as_i64().unwrap(),
    );
    let message = coverage["message"].as_str().unwrap();
    assert!(
        message.contains("lost coverage (9, 12) as test tests.test_core.test_divide broke"),
        "{message}"
    );
    let shown = t.ok(&["show", &id.to_string()]);
    assert!(
        shown.contains(&format!(
            "Broke where it started: tests.test_core.test_divide (Problem {divide_id}, `probtrack show {divide_id}`)"
        )),
        "{shown}"
    );
    assert!(shown.contains("; lost where it started: 9, 12;"), "{shown}");
    t.ok(&["report", "--html", "site"]);
    let page = std::fs::read_to_string(t.path(&format!("site/problem-{id}.html"))).unwrap();
    let section = page
        .split_once("<ul class=\"coverage-tests\">")
        .and_then(|(_, rest)| rest.split_once("</ul>"))
        .map(|(list, _)| list)
        .unwrap_or_else(|| panic!("no list of tests: {page}"));
    assert!(
        section.contains(&format!(
            "<a href=\"problem-{divide_id}.html\">#{divide_id}</a>"
        )),
        "{section}"
    );
    assert!(section.contains("test_divide"), "{section}");
    // The builds count their tests only.
    let builds = t.json(&["builds"]);
    let total: u64 = crate::harness::counts(&builds[0]).iter().sum();
    let junit_tests = t.json(&[
        "parse",
        fixture("history/linux-py311/104.xml").to_str().unwrap(),
    ]);
    assert_eq!(total, junit_tests.as_array().unwrap().len() as u64);
}

#[test]
fn several_reports_of_one_build_merge_and_are_ingested_once() {
    let t = Test::new();
    let py = fixture("coverage/coveragepy.cobertura.xml");
    let lcov = fixture("coverage/gcovr.info");
    let first = t.ingest(
        "linux",
        1,
        &[
            "--source-root",
            "/build/calc",
            &v1(),
            "--coverage",
            py.to_str().unwrap(),
            lcov.to_str().unwrap(),
        ],
    );
    let reports = first["reports"].as_array().unwrap();
    assert_eq!(reports.len(), 3, "{first:#}");
    let parsers: Vec<&str> = reports
        .iter()
        .map(|r| r["parser"].as_str().unwrap())
        .collect();
    assert!(
        parsers.contains(&"cobertura") && parsers.contains(&"lcov"),
        "{parsers:?}"
    );
    let summary = t.json(&["coverage"]);
    let paths: Vec<&str> = (summary["files"].as_array().unwrap().iter())
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["calc.c", "calc.py"], "{summary:#}");
    // gcovr's Cobertura and its lcov of the same run agree: merged, calc.c is as either says.
    assert_eq!(summary["files"][0]["lines_covered"], 16, "{summary:#}");
    // The same reports again change nothing.
    let again = t.ingest(
        "linux",
        1,
        &[
            "--source-root",
            "/build/calc",
            &v1(),
            "--coverage",
            py.to_str().unwrap(),
        ],
    );
    assert_eq!(again["action"], "unchanged", "{again:#}");
    // Another report for a build that has coverage adds to it.
    let t = Test::new();
    t.ingest("linux", 1, &["--source-root", "/build/calc", &v1()]);
    t.ingest("linux", 2, &["--source-root", "/build/calc", &v1()]);
    let added = t.ingest(
        "linux",
        1,
        &[
            "--source-root",
            "/build/calc",
            "--coverage",
            py.to_str().unwrap(),
        ],
    );
    assert_eq!(added["action"], "added", "{added:#}");
    let first = t.json(&["coverage", "--build", "1"]);
    let paths: Vec<&str> = (first["files"].as_array().unwrap().iter())
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["calc.c", "calc.py"], "{first:#}");
    // Build 2, stored against build 1, keeps its own coverage.
    let second = t.json(&["coverage", "--build", "2"]);
    assert_eq!(second["totals"]["files"], 1, "{second:#}");
    assert_eq!(second["files"][0]["lines_covered"], 16);
    assert_eq!(crate::harness::counts(&t.json(&["builds"])[1]), [0; 7]);
}

#[test]
fn deleting_or_replacing_a_build_keeps_the_coverage_of_the_builds_after_it() {
    let t = Test::new();
    let reports = [v1(), v2(), v1(), v2(), v2()];
    for (i, report) in reports.iter().enumerate() {
        ingest(
            &t,
            "linux",
            i as u32 + 1,
            report,
            &["c:Ann <ann@example.org>"],
        );
    }
    let before: Vec<Value> = (1..=5)
        .map(|n| t.json(&["coverage", "calc.c", "--build", &n.to_string()])["lines"].clone())
        .collect();
    t.ok(&["delete-build", "linux", "2"]);
    let after4 = t.json(&["coverage", "calc.c", "--build", "4"]);
    let covered = |lines: &Value| -> Vec<bool> {
        (lines.as_array().unwrap().iter())
            .map(|l| l["covered"].as_bool().unwrap())
            .collect()
    };
    assert_eq!(covered(&after4["lines"]), covered(&before[3]));
    assert_eq!(
        covered(&t.json(&["coverage", "calc.c", "--build", "3"])["lines"]),
        covered(&before[2])
    );
    // Build 4 again with build 1's coverage: build 5, stored against it, keeps its own.
    t.ok(&[
        "ingest",
        "--builder",
        "linux",
        "--build",
        "4",
        "--replace",
        "--source-root",
        "/build/calc",
        &v1(),
    ]);
    let five = t.json(&["coverage", "calc.c", "--build", "5"]);
    assert_eq!(covered(&five["lines"]), covered(&before[4]));
    assert_eq!(
        covered(&t.json(&["coverage", "calc.c", "--build", "4"])["lines"]),
        covered(&before[0])
    );
}

#[test]
fn hostile_and_truncated_coverage_reports_change_nothing() {
    let t = Test::new();
    ingest(&t, "linux", 1, &v1(), &["c1:Ann <ann@example.org>"]);
    let dump = t.dump();
    let whole = std::fs::read(v1()).unwrap();
    let truncated = t.path("truncated.xml");
    std::fs::write(&truncated, &whole[..whole.len() / 2]).unwrap();
    let bad_lcov = t.path("bad.info");
    std::fs::write(
        &bad_lcov,
        "TN:\nSF:/build/calc/calc.c\nDA:4,x\nend_of_record\n",
    )
    .unwrap();
    let huge_line = t.path("huge.info");
    std::fs::write(&huge_line, "SF:a.c\nDA:99999999999,1\nend_of_record\n").unwrap();
    let not_coverage = t.path("notes.txt");
    std::fs::write(&not_coverage, "just some words\n").unwrap();
    // A negative count (lcov refuses it too) and a source path with control characters: named
    // with the report, the line and the column.
    let negative = t.path("negative.info");
    std::fs::write(
        &negative,
        "TN:\nSF:/build/calc/calc.c\nDA:4,1\nDA:5,-5\nend_of_record\n",
    )
    .unwrap();
    let control = t.path("control.info");
    std::fs::write(
        &control,
        "TN:\nSF:/build/calc/calc.c\nDA:4,1\nend_of_record\nSF:/build/calc/\x1b]0;x\x07.c\nDA:1,1\nend_of_record\n",
    )
    .unwrap();
    for (file, expect) in [
        (&truncated, "truncated.xml"),
        (&bad_lcov, "bad.info:3"),
        (&huge_line, "huge.info:2"),
        (
            &negative,
            "negative.info:4:6: a negative hit count -5 for line 5 of \"/build/calc/calc.c\"",
        ),
        (
            &control,
            "control.info:5:4: a source path with control characters: \"/build/calc/\\u{1b}]0;x\\u{7}.c\"",
        ),
        (&not_coverage, "cannot tell the format of coverage report"),
    ] {
        let err = t.fails(
            &[
                "ingest",
                "--builder",
                "linux",
                "--build",
                "2",
                "--coverage",
                file.to_str().unwrap(),
            ],
            3,
        );
        assert!(err.contains(expect), "{expect}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(!err.contains('\x1b') && !err.contains('\x07'), "{err}");
        assert_eq!(t.dump(), dump, "{expect}: the database changed");
    }
    // A truncated report among the test reports (sniffed as coverage) too.
    let junit = fixture("history/linux-py311/103.xml");
    let err = t.fails(
        &[
            "ingest",
            "--builder",
            "linux",
            "--build",
            "2",
            junit.to_str().unwrap(),
            truncated.to_str().unwrap(),
        ],
        3,
    );
    assert!(err.contains("truncated.xml"), "{err}");
    assert_eq!(t.dump(), dump);
}

#[test]
fn the_sample_history_s_uncovered_mac_branch_is_attributed_to_its_change_and_fixed() {
    let t = Test::new();
    let work = t.path("minicalc");
    let bundle = fixture("history/repo.bundle");
    let status = std::process::Command::new("git")
        .args(["clone", "-q"])
        .arg(&bundle)
        .arg(&work)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .status()
        .expect("git clone");
    assert!(status.success());
    let git = work.to_str().unwrap();
    t.ok(&["import", "--git", git, fixture("history").to_str().unwrap()]);
    let builds = std::fs::read_to_string(fixture("history/builds.tsv")).unwrap();
    for row in builds.lines().skip(1) {
        let fields: Vec<&str> = row.split('\t').collect();
        let (builder, number, revision) = (fields[0], fields[1], fields[2]);
        if !builder.starts_with("linux-") {
            continue;
        }
        let report = fixture(&format!("history-coverage/{builder}/{number}.xml"));
        t.ok(&[
            "ingest",
            "--builder",
            builder,
            "--build",
            number,
            "--revision",
            revision,
            "--git",
            git,
            "--source-root",
            "/build/minicalc",
            report.to_str().unwrap(),
        ]);
    }
    let problems = t.json(&["problems", "--all", "--intermittent", "--kind", "coverage"]);
    let platform = (problems.as_array().unwrap().iter())
        .find(|p| p["test"] == "minicalc/platform.py")
        .unwrap_or_else(|| panic!("{problems:#}"));
    assert!(platform["started_by"][0]["revision"]
        .as_str()
        .unwrap()
        .starts_with("92f86c2"));
    assert_eq!(platform["responsible"], serde_json::json!(["Alice Anders"]));
    assert_eq!(platform["state"], "fixed");
    assert!(platform["fixed_by"][0]["revision"]
        .as_str()
        .unwrap()
        .starts_with("0e97e72"));
    assert_eq!(
        platform["coverage"]["uncovered_new"],
        serde_json::json!([7])
    );
    assert_eq!(
        platform["builders"],
        serde_json::json!(["linux-py311", "linux-py312"])
    );
    // The network client's retry path flips with the simulated network: flaky coverage.
    let summary = t.json(&["coverage", "--builder", "linux-py311"]);
    assert_eq!(
        summary["flaky"][0]["path"], "minicalc/network.py",
        "{summary:#}"
    );
    assert_eq!(summary["totals"]["lines_covered"], 37);
    let flaky = t.json(&["flaky"]);
    assert!(
        (flaky.as_array().unwrap().iter()).any(|f| f["test"] == "minicalc/network.py"),
        "ranked with the flaky tests: {flaky:#}"
    );
    assert_eq!(summary["totals"]["lines_total"], 38);
}

#[test]
fn a_previous_revision_git_does_not_have_leaves_lines_matched_by_number() {
    let t = Test::new();
    let h = history();
    t.ok(&[
        "ingest",
        "--builder",
        "linux",
        "--build",
        "1",
        "--revision",
        "0123456789abcdef0123456789abcdef01234567",
        "--source-root",
        "/build/calc",
        &v1(),
    ]);
    let (code, summary) = ingest_at(&t, &h, "linux", 2, &h.c2, &v2());
    assert_eq!(code, 1, "{summary:#}");
    let warning = summary["warnings"][0].as_str().unwrap_or_default();
    assert!(warning.contains("without a git diff"), "{summary:#}");
    assert_eq!(t.json(&["coverage", "calc.c"])["diff"], false);
}

#[test]
fn coverage_stored_before_hit_counts_shows_none_and_the_next_build_has_them() {
    let t = Test::new();
    ingest(&t, "linux", 1, &v1(), &[]);
    // As schema 5 wrote it: whether each line ran, no hit count.
    t.exec_sql("UPDATE coverage_spans SET hits = NULL");
    let hits_at = |build: &str, n: u64| {
        let lines = t.json(&["coverage", "calc.c", "--build", build]);
        (lines["lines"].as_array().unwrap().iter())
            .find(|l| l["line"] == n)
            .map(|l| (l["covered"].clone(), l["hits"].clone()))
            .unwrap_or_else(|| panic!("no line {n}: {lines:#}"))
    };
    assert_eq!(hits_at("1", 18), (Value::from(true), Value::Null));
    assert_eq!(hits_at("1", 11), (Value::from(false), Value::from(0)));
    let table = t.ok(&["coverage", "calc.c", "--build", "1"]);
    assert!(table.contains(" ? "), "{table}");
    // The same coverage again: the counts are known from this build on.
    ingest(&t, "linux", 2, &v1(), &[]);
    assert_eq!(hits_at("2", 18), (Value::from(true), Value::from(4)));
    assert_eq!(hits_at("1", 18), (Value::from(true), Value::Null));
}

fn v2_fixed() -> String {
    fixture("coverage/gcovr-v2-fixed.cobertura.xml")
        .to_str()
        .unwrap()
        .to_owned()
}

#[test]
fn a_late_build_takes_its_place_and_the_builds_after_it_are_judged_again() {
    // #1 and #3 ran the same tests: nothing lost. #2 arrives late having run more (the program
    // also run with 5 and 2000): against it, #3 lost those lines.
    let t = Test::new();
    ingest(&t, "linux", 1, &v2(), &["c1:Ann <ann@example.org>"]);
    let (code, _) = ingest(&t, "linux", 3, &v2(), &["c3:Cy <cy@example.org>"]);
    assert_eq!(code, 0);
    assert!(coverage_problems(&t).is_empty());
    let (code, summary) = ingest(&t, "linux", 2, &v2_fixed(), &["c2:Bob <bob@example.org>"]);
    assert_eq!(code, 0, "#2 itself lost nothing: {summary:#}");
    let problems = coverage_problems(&t);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    let p = &problems[0];
    assert_eq!(p["state"], "open");
    assert_eq!(p["first_failure"]["build"], 3, "{p:#}");
    assert_eq!(p["started_by"][0]["revision"], "c3", "{p:#}");
    assert!(
        !p["coverage"]["lost"].as_array().unwrap().is_empty(),
        "{p:#}"
    );
    // The other way: #3 lost coverage against #1 and opened a Problem; #2 arrives late with
    // #3's coverage, so the loss was #2's, and #3 only still owes the lines.
    let t = Test::new();
    ingest(&t, "linux", 1, &v2_fixed(), &["c1:Ann <ann@example.org>"]);
    let (code, _) = ingest(&t, "linux", 3, &v2(), &["c3:Cy <cy@example.org>"]);
    assert_eq!(code, 1, "#3 lost coverage against #1");
    let before = coverage_problems(&t);
    assert_eq!(before[0]["started_by"][0]["revision"], "c3");
    assert!(before[0]["message"]
        .as_str()
        .unwrap()
        .contains("lost coverage"));
    let (code, _) = ingest(&t, "linux", 2, &v2(), &["c2:Bob <bob@example.org>"]);
    assert_eq!(code, 1, "the loss is #2's now");
    let after = coverage_problems(&t);
    assert_eq!(after.len(), 1, "{after:#?}");
    let p = &after[0];
    assert_eq!(p["id"], before[0]["id"], "the same file's Problem");
    assert_eq!(p["first_failure"]["build"], 2, "{p:#}");
    assert_eq!(p["last_failure"]["build"], 3, "{p:#}");
    assert_eq!(p["started_by"][0]["revision"], "c2", "{p:#}");
    assert_eq!(
        p["coverage"]["lost"], before[0]["coverage"]["lost"],
        "{p:#}"
    );
    // #3, judged against #2, lost nothing new: it still owes the lines.
    let message = p["message"].as_str().unwrap();
    assert!(
        message.contains("still uncovered") && !message.contains("lost coverage"),
        "{p:#}"
    );
}

#[test]
fn deleting_or_replacing_a_build_judges_the_coverage_after_it_again() {
    let t = Test::new();
    ingest(&t, "linux", 1, &v1(), &["c1:Ann <ann@example.org>"]);
    ingest(&t, "linux", 2, &v2(), &["c2:Bob <bob@example.org>"]);
    ingest(&t, "linux", 3, &v2(), &["c3:Cy <cy@example.org>"]);
    let p = &coverage_problems(&t)[0];
    assert_eq!(p["first_failure"]["build"], 2);
    // #2 goes: #3, judged against #1 now, is where the lines were lost.
    t.ok(&["delete-build", "linux", "2"]);
    let problems = coverage_problems(&t);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    let p = &problems[0];
    assert_eq!(p["first_failure"]["build"], 3, "{p:#}");
    assert_eq!(p["coverage"]["lost"], serde_json::json!([9, 12]), "{p:#}");
    assert!(
        p["message"]
            .as_str()
            .unwrap()
            .contains("lost coverage (9, 12)"),
        "{p:#}"
    );
    // #1 again, with #3's coverage: #3, judged against it, lost nothing and owes nothing.
    t.ok(&[
        "ingest",
        "--builder",
        "linux",
        "--build",
        "1",
        "--replace",
        "--source-root",
        "/build/calc/v2build",
        &v2(),
    ]);
    let problems = coverage_problems(&t);
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn a_file_s_coverage_value_is_written_when_it_changes_and_read_in_every_build() {
    let t = Test::new();
    // One source file: its series and the totals' must agree in every build.
    let values = |series: &str| -> Vec<(i64, f64)> {
        let history = t.json(&["metric", series]);
        (history["builders"][0]["values"].as_array().unwrap().iter())
            .map(|v| (v["build"].as_i64().unwrap(), v["value"].as_f64().unwrap()))
            .collect()
    };
    let written = |number: u32, report: &str| {
        ingest(&t, "linux", number, report, &["c:A <a@x>"]).1["metric_values"]
            .as_u64()
            .unwrap()
    };
    let first = written(1, &v1());
    let same = written(2, &v1());
    let changed = written(3, &v2());
    assert_eq!(
        same + 1,
        first,
        "the file's value did not change: not written again"
    );
    assert_eq!(changed, first, "it changed: written");
    written(4, &v2());
    written(5, &v1());
    let per_file = values("coverage.lines{file=calc.c}");
    assert_eq!(per_file.len(), 5, "{per_file:?}");
    assert_eq!(per_file, values("coverage.lines"));
    let listed = t.json(&["metrics", "--name", "file=calc.c"]);
    assert_eq!(
        listed[0]["trend"].as_array().unwrap().len(),
        5,
        "{listed:#}"
    );
    // A build whose coverage changes under it, a late build, and a file that goes and comes back.
    t.ok(&["delete-build", "linux", "3"]);
    assert_eq!(
        values("coverage.lines{file=calc.c}"),
        values("coverage.lines")
    );
    written(3, &v1());
    assert_eq!(
        values("coverage.lines{file=calc.c}"),
        values("coverage.lines")
    );
    let elsewhere = [
        "ingest",
        "--builder",
        "linux",
        "--build",
        "6",
        "--source-root",
        "/build",
        "--change",
        "d:A <a@x>",
    ];
    t.ok(&[&elsewhere[..], &[v1().as_str()]].concat());
    written(7, &v1());
    let per_file = values("coverage.lines{file=calc.c}");
    let builds: Vec<i64> = per_file.iter().map(|(b, _)| *b).collect();
    assert_eq!(builds, [1, 2, 3, 4, 5, 7], "no coverage of calc.c in #6");
    let totals: Vec<(i64, f64)> = (values("coverage.lines").into_iter())
        .filter(|(b, _)| *b != 6)
        .collect();
    assert_eq!(per_file, totals);
}

/// A build's coverage in the long-chain test: calc.c at one version (0: v1, 1: v2, 2: v2
/// fixed), with calc.py always, and the Java and Go files or not.
type Variant = (usize, bool, bool);

/// The arguments that ingest `variant`'s reports.
fn variant_args(variant: Variant) -> Vec<String> {
    let (c, java, go) = variant;
    let calc = [v1(), v2(), v2_fixed()][c].clone();
    let mut args = vec![
        "--source-root".to_owned(),
        root(&calc).to_owned(),
        "--coverage".to_owned(),
        calc,
    ];
    let mut add = |name: &str| args.push(fixture(name).to_str().unwrap().to_owned());
    add("coverage/coveragepy.cobertura.xml");
    if java {
        add("coverage/jacoco.xml");
    }
    if go {
        add("coverage/go.coverprofile");
    }
    args
}

/// Each file's lines in build `number` of `builder` as `coverage FILE` answers them, without
/// their class (which depends on the build before).
fn lines_of_build(t: &Test, builder: &str, number: i64) -> Vec<(String, Value)> {
    let n = number.to_string();
    let summary = t.json(&["coverage", "--builder", builder, "--build", &n]);
    let paths: Vec<String> = (summary["files"].as_array().unwrap().iter())
        .map(|f| f["path"].as_str().unwrap().to_owned())
        .collect();
    paths
        .into_iter()
        .map(|path| {
            let mut file = t.json(&["coverage", &path, "--builder", builder, "--build", &n]);
            for line in file["lines"].as_array_mut().unwrap() {
                line.as_object_mut().unwrap().remove("class");
            }
            (path, file["lines"].clone())
        })
        .collect()
}

/// Checks through the library that every build with coverage on `builder`'s lane reads back
/// through at most MAX_DELTAS deltas whose rows add up to no more than the build's own keyframe;
/// returns the builds stored as keyframes.
fn chains_are_bounded(t: &Test, builder: &str) -> Vec<i64> {
    use probtrack::coverage::delta;
    use std::collections::HashMap;
    let mut db = probtrack::store::open(&t.location(), probtrack::store::OpenMode::Existing)
        .expect("open db");
    let lane = (db.lanes().unwrap().into_iter())
        .find(|l| l.builder == builder)
        .expect("the lane");
    let records = db.lane_coverage(lane.id).unwrap();
    let by_id: HashMap<i64, _> = records.iter().map(|c| (c.build, c)).collect();
    let mut keyframes = Vec::new();
    for record in &records {
        let mut chain = vec![record.build];
        while let Some(base) = by_id[chain.last().unwrap()].base {
            assert!(
                chain.len() <= delta::MAX_DELTAS as usize,
                "a chain too long"
            );
            chain.push(base);
        }
        chain.reverse();
        // As written; a build before it made a keyframe since (detached) shortens the chain.
        assert!(
            record.depth as usize >= chain.len() - 1,
            "#{}",
            record.number
        );
        if record.base.is_none() {
            keyframes.push(record.number);
        }
        let rows = db.coverage_spans(&chain).unwrap();
        let spans = |build: i64| -> Vec<delta::Span> {
            (rows.iter().filter(|(b, _)| *b == build))
                .map(|(_, s)| delta::Span {
                    path: s.path.clone(),
                    first: s.first,
                    last: s.last,
                    state: s.state,
                })
                .collect()
        };
        let deltas: Vec<Vec<delta::Span>> = chain[1..].iter().map(|&b| spans(b)).collect();
        let read = delta::decode(&spans(chain[0]), deltas.iter().map(Vec::as_slice));
        let delta_rows: usize = deltas.iter().map(Vec::len).sum();
        assert!(
            delta_rows <= delta::keyframe(&read).len(),
            "#{}: {delta_rows} rows of deltas, a keyframe of {}",
            record.number,
            delta::keyframe(&read).len()
        );
    }
    keyframes
}

#[test]
fn a_long_chain_reads_every_build_back_and_keyframes_come_by_size() {
    let t = Test::new();
    // No coverage Problems (they would keep builds from prune): only the storage is at test.
    std::fs::write(
        t.path("probtrack.toml"),
        "[coverage]\nmin_lost_lines = 100000\n",
    )
    .unwrap();
    #[allow(clippy::disallowed_methods)]
    let now = chrono::Utc::now();
    let time = |number: i64| (now - chrono::Duration::days(100 - number)).to_rfc3339();
    let ingest = |builder: &str, number: i64, variant: Variant| {
        let mut args = vec!["--time".to_owned(), time(number)];
        args.extend(variant_args(variant));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        t.ingest(builder, number, &args);
    };
    // What each variant reads back as the first build of a lane of its own (a keyframe).
    let mut expected: std::collections::HashMap<Variant, Vec<(String, Value)>> =
        std::collections::HashMap::new();
    let mut expect = |variant: Variant| {
        let name = format!("alone-{}-{}-{}", variant.0, variant.1, variant.2);
        (expected.entry(variant).or_insert_with(|| {
            ingest(&name, 99, variant);
            lines_of_build(&t, &name, 99)
        }))
        .clone()
    };
    // Even numbers, so that builds can arrive late between them. Most builds move a file or
    // nothing; a few change calc.c's version.
    let (y, n) = (true, false);
    let sequence: Vec<Variant> = vec![
        (0, y, y),
        (0, y, y),
        (0, y, n),
        (0, y, y),
        (0, n, y),
        (0, y, y),
        (0, y, n),
        (0, y, y),
        (0, y, y),
        (0, n, n),
        (0, y, y),
        (0, n, y),
        (0, y, y),
        (0, y, n),
        (0, y, y),
        (0, n, n),
        (0, y, y),
        (1, y, y),
        (1, y, y),
        (1, y, n),
        (1, y, y),
        (2, y, y),
        (2, n, y),
        (2, y, y),
        (2, y, n),
        (2, y, y),
        (2, y, y),
        (0, y, y),
        (0, y, n),
        (0, y, y),
        (0, n, y),
        (0, y, y),
    ];
    let mut builds: Vec<(i64, Variant)> = Vec::new();
    for (i, &variant) in sequence.iter().enumerate() {
        let number = 2 * (i as i64 + 1);
        ingest("linux", number, variant);
        builds.push((number, variant));
    }
    let check = |builds: &[(i64, Variant)],
                 expect: &mut dyn FnMut(Variant) -> Vec<(String, Value)>| {
        for &(number, variant) in builds {
            let read: Vec<(String, Value)> = lines_of_build(&t, "linux", number);
            assert_eq!(read, expect(variant), "build #{number}, {variant:?}");
        }
    };
    check(&builds, &mut expect);
    let keyframes = chains_are_bounded(&t, "linux");
    // Deltas, not a keyframe a build; and keyframes written because the deltas since the last
    // one added up to the whole, at builds that only added or dropped a file.
    assert!(keyframes.len() < builds.len() / 2, "{keyframes:?}");
    let by_size: Vec<&i64> = (keyframes.iter())
        .filter(|&&k| {
            let i = builds.iter().position(|b| b.0 == k).unwrap();
            i > 0 && builds[i].1 .0 == builds[i - 1].1 .0
        })
        .collect();
    assert!(!by_size.is_empty(), "{keyframes:?}");
    // A build arrives late, one goes, one is replaced, and the oldest are pruned: every build
    // left reads back as it was ingested.
    ingest("linux", 13, (2, n, n));
    builds.push((13, (2, n, n)));
    t.ok(&["delete-build", "linux", "20"]);
    builds.retain(|b| b.0 != 20);
    let mut args = vec!["--time".to_owned(), time(30), "--replace".to_owned()];
    args.extend(variant_args((1, n, y)));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    t.ingest("linux", 30, &args);
    builds.retain(|b| b.0 != 30);
    builds.push((30, (1, n, y)));
    // Builds 2 to 10 are more than 89 days old; the references (#99) are not.
    t.ok(&["prune", "--older-than", "89d"]);
    let left: Vec<i64> = (t
        .json(&["builds", "--builder", "linux", "--limit", "100"])
        .as_array()
        .unwrap()
        .iter())
    .map(|b| b["build"].as_i64().unwrap())
    .collect();
    assert!(left.iter().all(|&b| b > 10), "{left:?}");
    builds.retain(|b| b.0 > 10);
    builds.sort();
    assert_eq!(builds.len(), left.len(), "{left:?}");
    check(&builds, &mut expect);
    // The first build kept has nothing before it to be a delta of.
    let keyframes = chains_are_bounded(&t, "linux");
    assert_eq!(keyframes.first(), Some(&12), "{keyframes:?}");
}

#[test]
fn a_file_s_coverage_step_is_judged_at_the_builds_that_carry_its_value() {
    // With coverage steps made Problems, calc.c's coverage drops at #9 and stays: its value is
    // written at #9 only, and the builds that confirm the step carry it.
    let t = Test::new();
    std::fs::write(
        t.path("probtrack.toml"),
        "[metrics.\"coverage.lines\"]\nproblems = true\n",
    )
    .unwrap();
    for number in 1..=14 {
        let report = if number <= 8 { v1() } else { v2() };
        let (_, summary) = ingest(&t, "linux", number, &report, &["c:A <a@x>"]);
        // The totals' values and, where it changed, the file's.
        let written = if number == 1 || number == 9 { 3 } else { 2 };
        assert_eq!(summary["metric_values"].as_u64(), Some(written + 4));
    }
    let problems = t.json(&["problems", "--all", "--kind", "metric"]);
    let mut steps: Vec<(String, i64)> = (problems.as_array().unwrap().iter())
        .map(|p| {
            (
                p["test"].as_str().unwrap().to_owned(),
                p["first_failure"]["build"].as_i64().unwrap(),
            )
        })
        .collect();
    steps.sort();
    assert_eq!(
        steps,
        [
            ("coverage.lines".to_owned(), 9),
            ("coverage.lines{file=calc.c}".to_owned(), 9)
        ],
        "{problems:#}"
    );
    // Judging every build again finds the same.
    t.ok(&["reanalyze"]);
    let again = t.json(&["problems", "--all", "--kind", "metric"]);
    assert_eq!(again.as_array().unwrap().len(), 2, "{again:#}");
}

/// Path fixing: JaCoCo names `calc/Calc.java` relative to the Java source directory; with
/// `--git` it becomes the repository's `src/main/java/calc/Calc.java` (a Maven layout), never
/// `xcalc/Calc.java` (a suffix, but not on a `/`), and the git diff classes its new lines.
#[test]
fn jacoco_package_paths_resolve_to_the_repository_file_with_git() {
    let t = Test::new();
    let repo = Repo::new();
    for dir in ["src/main/java/calc", "xcalc"] {
        std::fs::create_dir_all(repo.path().join(dir)).unwrap();
    }
    let java = "src/main/java/calc/Calc.java";
    let source = std::fs::read_to_string(fixture("coverage/src/java/calc/Calc.java")).unwrap();
    // The first commit lacks lines 30-31 (`if (args.length > 5) … neverCalled(n));`).
    let lines: Vec<&str> = source.lines().collect();
    let before = [&lines[..29], &lines[31..]].concat().join("\n") + "\n";
    repo.commit(
        "Ann Alder <ann@example.org>",
        "xcalc/Calc.java",
        "class Calc {}\n",
        "decoy",
        1_700_000_000,
    );
    let c1 = repo.commit(
        "Ann Alder <ann@example.org>",
        java,
        &before,
        "calc",
        1_700_000_100,
    );
    let c2 = repo.commit(
        "Bob Birch <bob@example.org>",
        java,
        &source,
        "call neverCalled",
        1_700_000_200,
    );
    let git = repo.path().to_str().unwrap();
    let report = fixture("coverage/jacoco.xml");
    for (number, revision) in [("1", &c1), ("2", &c2)] {
        t.ok(&[
            "ingest",
            "--builder",
            "linux",
            "--build",
            number,
            "--git",
            git,
            "--revision",
            revision,
            "--coverage",
            report.to_str().unwrap(),
        ]);
    }
    let summary = t.json(&["coverage"]);
    let paths: Vec<&str> = (summary["files"].as_array().unwrap().iter())
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, [java], "{summary:#}");
    let file = t.json(&["coverage", java, "--git", git]);
    assert_eq!(file["diff"], true, "{file:#}");
    let class = |n: u64| {
        (file["lines"].as_array().unwrap().iter())
            .find(|l| l["line"] == n)
            .map(|l| l["class"].clone())
    };
    // Line 31 is new in c2 and JaCoCo saw it missed.
    assert_eq!(class(31), Some(Value::from("UNC")), "{file:#}");
    assert_eq!(class(22), Some(Value::from("UBC")), "{file:#}");
}
