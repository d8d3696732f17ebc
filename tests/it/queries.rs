//! Queries and their output formats.

use crate::harness::{fixture, Test};

fn with_history() -> Test {
    let t = Test::new();
    for (number, file) in [(103, "103"), (104, "104"), (105, "105")] {
        let report = fixture(&format!("history/linux-py311/{file}.xml"));
        t.ingest("linux-py311", number, &[report.to_str().unwrap()]);
    }
    t
}

#[test]
fn parse_reads_reports_without_a_database() {
    let t = Test::new();
    let report = fixture("junit/pytest-xunit2/report.xml");
    let results = t.json(&["parse", report.to_str().unwrap()]);
    let results = results.as_array().unwrap();
    assert_eq!(results.len(), 33);
    for key in [
        "file", "test", "kind", "status", "duration", "message", "attempts", "details",
    ] {
        assert!(results[0].get(key).is_some(), "key {key} in {}", results[0]);
    }
    let divide = results
        .iter()
        .find(|r| r["test"] == "tests.test_sample.TestCalculator.test_divide_by_zero")
        .expect("the class test, identified as classname.name");
    assert_eq!(divide["status"], "failed");
    assert_eq!(divide["kind"], "test");
    assert!(!t.db_exists(), "parse touches no database");
}

#[test]
fn builds_lists_newest_first_with_counts_and_changes() {
    let t = with_history();
    let builds = t.json(&["builds"]);
    let numbers: Vec<i64> = builds
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["build"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, [105, 104, 103]);
    for key in [
        "builder", "build", "branch", "revision", "time", "result", "counts", "changes",
    ] {
        assert!(builds[0].get(key).is_some(), "key {key}");
    }
    assert_eq!(
        t.json(&["builds", "--limit", "1"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let table = t.ok(&["builds"]);
    assert!(
        table.contains("linux-py311") && table.contains("105"),
        "{table}"
    );
}

#[test]
fn history_shows_each_builds_outcome() {
    let t = with_history();
    let history = t.json(&["history", "tests.test_core.test_divide"]);
    assert_eq!(history["test"], "tests.test_core.test_divide");
    let results = history["builders"][0]["results"].as_array().unwrap();
    let statuses: Vec<&str> = results
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["failed", "failed", "passed"]);
    assert!(results[0]["duration"].as_f64().is_some());
    assert!(
        results[2]["duration"].as_f64().is_some(),
        "a pass keeps its duration"
    );
    assert!(results[0]["message"].as_str().unwrap().contains("assert"));
    // A unique part of a name is enough.
    let again = t.json(&["history", "test_divide_by"]);
    assert_eq!(again["test"], "tests.test_core.test_divide_by_zero");
}

#[test]
fn an_ambiguous_test_name_lists_the_candidates() {
    let t = with_history();
    let stderr = t.fails(&["history", "test_divide"], 3);
    // `test_divide` is an exact identity's part, but not an identity: both tests match.
    assert!(
        stderr.contains("tests.test_core.test_divide_by_zero"),
        "{stderr}"
    );
    let out = t.run(&["history", "test_format", "--format", "json"]);
    assert_eq!(out.status.code(), Some(3));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(json["candidates"].as_array().unwrap().len() >= 2, "{json}");
    t.fails(&["history", "no_such_test_anywhere"], 3);
}

#[test]
fn csv_has_one_row_per_item_with_flattened_columns() {
    let t = with_history();
    let text = t.ok(&["builds", "--format", "csv"]);
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    for column in [
        "builder",
        "build",
        "counts.passed",
        "counts.failed",
        "changes",
    ] {
        assert!(
            headers.iter().any(|h| h == column),
            "{column} in {headers:?}"
        );
    }
    assert_eq!(reader.records().count(), 3);
}

#[test]
fn usage_errors_exit_2() {
    let t = Test::new();
    t.fails(&["ingest", "--builder", "b"], 2);
    t.fails(&["builds", "--format", "yaml"], 2);
    t.fails(&["no-such-command"], 2);
    let report = fixture("junit/pytest-xunit2/report.xml");
    let stderr = t.fails(
        &[
            "ingest",
            "--builder",
            "b",
            "--build",
            "1",
            "--parser",
            "nope",
            report.to_str().unwrap(),
        ],
        2,
    );
    assert!(stderr.contains("probtrack parsers"), "{stderr}");
    t.fails(
        &[
            "ingest",
            "--builder",
            "b",
            "--build",
            "1",
            "--time",
            "yesterday",
            report.to_str().unwrap(),
        ],
        2,
    );
}

#[test]
fn parsers_lists_the_formats() {
    let t = Test::new();
    let parsers = t.json(&["parsers"]);
    let names: Vec<&str> = parsers
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"junit"), "{names:?}");
}

#[test]
fn help_teaches_with_examples() {
    let t = Test::new();
    // Every subcommand `probtrack --help` lists.
    let top = t.ok(&["--help"]);
    let commands: Vec<&str> = top
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter(|l| l.len() > 2 && !l.as_bytes()[2].is_ascii_whitespace())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    assert!(commands.len() >= 15, "{commands:?}");
    for command in commands {
        let help = t.ok(&[command, "--help"]);
        assert!(
            help.contains("Example"),
            "{command} --help has an example:\n{help}"
        );
    }
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let t = with_history();
    let mut child = t
        .command(&["builds", "--format", "json", "--limit", "100"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
