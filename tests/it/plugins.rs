//! Parser plugins: the example plugin (examples/plugins/pytest_reportlog.py) reads a format
//! probtrack does not, through `parse`, `ingest` and `import`; plugins that misbehave are errors
//! that name them, and nothing is stored.

use std::path::Path;

use crate::harness::{counts, fixture, Test};

/// A test directory whose probtrack.toml registers `plugins` (TOML tables, without headers), and
/// the real pytest-reportlog report as `report.jsonl`.
fn with_plugins(plugins: &[(&str, String)]) -> Test {
    let t = Test::new();
    let mut toml = String::new();
    for (name, body) in plugins {
        toml += &format!("[parsers.{name}]\n{body}\n");
    }
    std::fs::write(t.path("probtrack.toml"), toml).unwrap();
    std::fs::copy(
        fixture("plugins/pytest-reportlog/report.jsonl"),
        t.path("report.jsonl"),
    )
    .unwrap();
    t
}

fn example() -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/plugins/pytest_reportlog.py");
    format!(
        "command = [\"python3\", {:?}]\nglob = \"*.jsonl\"\ncontent = '\"\\$report_type\": \"SessionStart\"'\n",
        script.to_str().unwrap()
    )
}

/// `(test, status)` of `parse --format json` output.
fn outline(results: &serde_json::Value) -> Vec<(String, String)> {
    results
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["test"].as_str().unwrap().to_owned(),
                r["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn the_example_plugin_is_used_like_a_built_in_parser() {
    let t = with_plugins(&[("reportlog", example())]);
    let listed = t.json(&["parsers"]);
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"reportlog"), "{names:?}");

    let expected: Vec<(String, String)> = [
        ("tests.test_sample.test_passes", "passed"),
        ("tests.test_sample.test_fails", "failed"),
        ("tests.test_sample.test_skipped", "skipped"),
        (
            "tests.test_sample.test_expected_failure",
            "expected_failure",
        ),
        ("tests.test_sample.test_setup_error", "error"),
        ("tests.test_sample.test_even[1]", "failed"),
        ("tests.test_sample.test_even[2]", "passed"),
        ("tests.test_sample.test_even[3]", "failed"),
    ]
    .iter()
    .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
    .collect();
    // Detected by its rule, and by name, from a file and from standard input.
    let auto = t.json(&["parse", "report.jsonl"]);
    assert_eq!(outline(&auto), expected);
    let named = t.json(&["parse", "--parser", "reportlog", "report.jsonl"]);
    assert_eq!(named, auto);
    let report = std::fs::read(t.path("report.jsonl")).unwrap();
    let out = t.run_with_stdin(
        &["parse", "--parser", "reportlog", "--format", "json", "-"],
        &report,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let piped: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(outline(&piped), expected);
    let failing = &auto[1];
    assert_eq!(
        failing["message"],
        "AssertionError: 2 + 2 should be 5 in this test\nassert (2 + 2) == 5"
    );
    assert_eq!(failing["details"]["when"], "call");
    assert_eq!(failing["attempts"], 1);

    // ingest: stored as any report is.
    let summary = t.ingest("ci", 1, &["report.jsonl"]);
    assert_eq!(summary["reports"][0]["parser"], "reportlog");
    assert_eq!(counts(&summary), [2, 3, 1, 1, 1, 0, 0]);

    // import: a history directory of such reports.
    for number in [2, 3] {
        std::fs::create_dir_all(t.path("history/ci")).unwrap();
        std::fs::write(t.path(&format!("history/ci/{number}.jsonl")), &report).unwrap();
    }
    t.ok(&["import", "history"]);
    let builds = t.json(&["builds"]);
    assert_eq!(builds.as_array().unwrap().len(), 3, "{builds}");
    let problems = t.json(&["problems"]);
    let open: Vec<&str> = problems
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["test"].as_str().unwrap())
        .collect();
    assert!(open.contains(&"tests.test_sample.test_even[3]"), "{open:?}");
}

/// Each way a plugin can misbehave: the error names the plugin and, for a record, which one;
/// nothing is stored.
#[test]
fn a_plugin_that_misbehaves_is_an_error_and_nothing_is_stored() {
    let python =
        |code: &str| format!("command = [\"python3\", \"-c\", {code:?}]\nglob = \"*.jsonl\"\n");
    let good = r#"{\"test\": \"a.b\", \"status\": \"passed\"}"#;
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "badstatus",
            python(&format!(
                "import sys; sys.stdin.read(); print('{good}'); print('{{\"test\": \"a.c\", \"status\": \"bogus\"}}')"
            )),
            "failed to parse parser plugin `badstatus` at report.jsonl:2: record 2 (line 2 of its output): `status` \"bogus\" is not one of",
        ),
        (
            "notjson",
            python("print('this is not JSON')"),
            "record 1 (line 1 of its output): not a JSON object",
        ),
        (
            "unknownfield",
            python(r#"print('{"test": "a", "status": "passed", "outcome": "ok"}')"#),
            "unknown field \"outcome\"",
        ),
        (
            "crash",
            python(&format!(
                "import sys; print('{good}'); sys.stderr.write('\\x1b[31m'); raise RuntimeError('the plugin broke')"
            )),
            "parser plugin `crash` at report.jsonl: it exited with status 1; its standard error ends: ",
        ),
        (
            "killed",
            python("import os, signal; os.kill(os.getpid(), signal.SIGKILL)"),
            "it was killed by a signal (it crashed)",
        ),
        (
            "hang",
            python("import time; time.sleep(30)") + "timeout = 1\n",
            "parser plugin `hang` at report.jsonl: it ran past its time limit of 1 s and was stopped",
        ),
        (
            // Its output closed, it runs on: the time limit still stops it.
            "quiet",
            python("import os, sys, time; sys.stdin.read(); os.close(1); os.close(2); time.sleep(90)")
                + "timeout = 1\n",
            "parser plugin `quiet` at report.jsonl: it ran past its time limit of 1 s and was stopped",
        ),
        (
            // It leaves a child of its own behind, which holds its output open: the time limit
            // stops the child too (its process group), instead of waiting for the output to end.
            "orphan",
            python("import subprocess, sys; sys.stdin.read(); subprocess.Popen(['sleep', '90'])")
                + "timeout = 1\n",
            "parser plugin `orphan` at report.jsonl: it ran past its time limit of 1 s and was stopped",
        ),
    ];
    for (name, body, says) in cases {
        let t = with_plugins(&[(name, body)]);
        for args in [
            &["parse", "report.jsonl"][..],
            &["ingest", "--builder", "b", "--build", "1", "report.jsonl"],
        ] {
            let started = std::time::Instant::now();
            let stderr = t.fails(args, 3);
            assert!(stderr.contains(says), "{name} {args:?}: {stderr}");
            // Stopped at its limit (1 s, or its own end well before that), not when it chose to end.
            let took = started.elapsed();
            assert!(
                took.as_secs() < 45,
                "{name} {args:?}: stopped after {took:?}"
            );
        }
        if name == "crash" {
            let stderr = t.fails(&["parse", "report.jsonl"], 3);
            assert!(
                stderr.contains("RuntimeError: the plugin broke"),
                "{stderr}"
            );
            // Its standard error is quoted inert: no escape sequence reaches the terminal.
            assert!(
                !stderr.contains('\x1b') && stderr.contains("\\u{1b}[31m"),
                "{stderr}"
            );
        }
        // Nothing stored: no database (SQLite's is removed after a failed first ingest), or, on
        // a server, no build in it.
        if t.db_exists() {
            assert_eq!(t.json(&["builds"]), serde_json::json!([]), "{name}");
        }
    }
}

#[test]
fn plugin_settings_are_checked() {
    for (body, says) in [
        (
            "command = [\"true\"]\n",
            "the name is taken by a built-in parser",
        ),
        ("command = []\n", "`command` names no program"),
        (
            "command = [\"true\"]\ncontent = \"(\"\n",
            "`content` is no valid regex",
        ),
        (
            "command = [\"true\"]\ntimeout = 0\n",
            "`timeout` must be at least 1 second",
        ),
        (
            "command = [\"true\"]\nshell = true\n",
            "unknown field `shell`",
        ),
    ] {
        let name = if says.contains("built-in") {
            "junit"
        } else {
            "mine"
        };
        let t = with_plugins(&[(name, body.to_owned())]);
        let stderr = t.fails(&["parse", "report.jsonl"], 2);
        assert!(stderr.contains(says), "{body}: {stderr}");
    }
    // A plugin without a detection rule is used only by name.
    let t = with_plugins(&[("byname", "command = [\"true\"]\n".to_owned())]);
    let stderr = t.fails(&["parse", "report.jsonl"], 3);
    assert!(
        stderr.contains("cannot tell the format of report.jsonl"),
        "{stderr}"
    );
    assert!(stderr.contains("byname"), "{stderr}");
    assert_eq!(
        t.json(&["parse", "--parser", "byname", "report.jsonl"]),
        serde_json::json!([])
    );
}

/// `[parsers.NAME]` lines that register an example plugin of `examples/plugins/`.
fn example_plugin(script: &str, extra: &str) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/plugins")
        .join(script);
    format!(
        "command = [\"python3\", {:?}]\n{extra}",
        script.to_str().unwrap()
    )
}

/// A test directory whose probtrack.toml registers the example metric plugin (GNU time's
/// report) and the example coverage plugin (gcov's text files), with their real reports
/// `time-v.txt` and `calc.c.gcov`, and `plugins` more.
fn with_metric_and_coverage_plugins(plugins: &[(&str, String)]) -> Test {
    let mut all = vec![
        (
            "gnu-time",
            example_plugin(
                "gnu_time.py",
                "produces = \"metrics\"\ncontent = 'Command being timed: '\n",
            ),
        ),
        (
            "gcov",
            example_plugin(
                "gcov_text.py",
                "produces = \"coverage\"\nglob = \"*.gcov\"\n",
            ),
        ),
    ];
    all.extend(plugins.iter().cloned());
    let t = with_plugins(&all);
    for (from, to) in [
        ("plugins/gnu-time/time-v.txt", "time-v.txt"),
        ("plugins/gcov/calc.c.gcov", "calc.c.gcov"),
    ] {
        std::fs::copy(fixture(from), t.path(to)).unwrap();
    }
    t
}

/// `(line, hits)` of `coverage calc.c` on `builder`.
fn hits_of(t: &Test, builder: &str) -> Vec<(u64, u64)> {
    let file = t.json(&["coverage", "calc.c", "--builder", builder]);
    (file["lines"].as_array().unwrap().iter())
        .map(|l| (l["line"].as_u64().unwrap(), l["hits"].as_u64().unwrap()))
        .collect()
}

#[test]
fn metric_and_coverage_plugins_are_used_like_built_in_formats() {
    let t = with_metric_and_coverage_plugins(&[]);
    // Listed with what they produce; `parsers` alone keeps listing what `--parser` takes.
    let all = t.json(&["parsers", "--produces", "all"]);
    let listed: Vec<(&str, &str)> = (all.as_array().unwrap().iter())
        .map(|p| (p["name"].as_str().unwrap(), p["produces"].as_str().unwrap()))
        .collect();
    for expected in [
        ("gnu-time", "metrics"),
        ("gcov", "coverage"),
        ("metric-lines", "metrics"),
        ("lcov", "coverage"),
        ("junit", "results"),
    ] {
        assert!(listed.contains(&expected), "{expected:?}: {listed:?}");
    }
    let results = t.json(&["parsers"]);
    assert!(
        (results.as_array().unwrap().iter()).all(|p| p["produces"] == "results"),
        "{results}"
    );
    let metrics = t.json(&["parsers", "--produces", "metrics"]);
    assert!(metrics.to_string().contains("gnu-time"), "{metrics}");

    // Metrics: detected by its rule, and by name, through parse and ingest.
    let parsed = t.json(&["parse", "--metrics", "time-v.txt"]);
    let named = t.json(&[
        "parse",
        "--metrics",
        "time-v.txt",
        "--metrics-parser",
        "gnu-time",
    ]);
    assert_eq!(parsed, named);
    let series: Vec<&str> = (parsed.as_array().unwrap().iter())
        .map(|m| m["series"].as_str().unwrap())
        .collect();
    assert_eq!(
        series,
        [
            "user_time{command=gcc -O2 -c calc.c -o calc.o}",
            "system_time{command=gcc -O2 -c calc.c -o calc.o}",
            "wall_time{command=gcc -O2 -c calc.c -o calc.o}",
            "peak_rss{command=gcc -O2 -c calc.c -o calc.o}",
        ]
    );
    let summary = t.ingest("ci", 1, &["--metrics", "time-v.txt"]);
    assert_eq!(
        summary["metric_files"][0]["parser"], "gnu-time",
        "{summary}"
    );
    let rows = t.json(&["metrics", "--name", "peak_rss"]);
    assert_eq!(rows[0]["value"], 30256.0 * 1024.0, "{rows}");
    assert_eq!(rows[0]["unit"], "B");
    assert_eq!(rows[0]["direction"], "lower_is_better");

    // Coverage: recognised among the reports by its rule, or named; the same per-line answer
    // as lcov's tracefile of the same program run with the same argument.
    let summary = t.ingest("gcov", 1, &["calc.c.gcov"]);
    assert_eq!(summary["reports"][0]["parser"], "gcov", "{summary}");
    t.ingest(
        "gcov-named",
        1,
        &["--coverage", "calc.c.gcov", "--coverage-parser", "gcov"],
    );
    let lcov = fixture("coverage/lcov-gcc.info");
    t.ingest(
        "lcov",
        1,
        &[
            "--source-root",
            "/build/calc",
            "--coverage",
            lcov.to_str().unwrap(),
        ],
    );
    let gcov = hits_of(&t, "gcov");
    assert_eq!(gcov.len(), 22, "{gcov:?}");
    assert_eq!(gcov, hits_of(&t, "lcov"));
    assert_eq!(gcov, hits_of(&t, "gcov-named"));

    // A plugin is named only with the flag of what it produces.
    let stderr = t.fails(&["parse", "--parser", "gcov", "calc.c.gcov"], 2);
    assert!(
        stderr.contains("--parser `gcov`: that parser plugin reads coverage reports")
            && stderr.contains("--coverage-parser"),
        "{stderr}"
    );
    let stderr = t.fails(
        &[
            "parse",
            "--metrics",
            "time-v.txt",
            "--metrics-parser",
            "gcov",
        ],
        2,
    );
    assert!(stderr.contains("reads coverage reports"), "{stderr}");
}

/// Each way a metric or coverage plugin can misbehave: the error names the plugin, the report
/// and the line of its output; the database is left as it was.
#[test]
fn metric_and_coverage_plugins_that_misbehave_are_errors_and_nothing_is_stored() {
    let python = |produces: &str, glob: &str, code: &str| {
        format!(
            "produces = \"{produces}\"\nglob = \"{glob}\"\ncommand = [\"python3\", \"-c\", {code:?}]\n"
        )
    };
    // (name, produces, settings, what the error says)
    let cases: Vec<(&str, &str, String, &str)> = vec![
        (
            "badlines",
            "metrics",
            python("metrics", "*.m", "print('size 12 KiB'); print('speed fast')"),
            "failed to parse parser plugin `badlines` at run.m:2:7: line 2 of its output \
             (generic metric lines):",
        ),
        (
            "badjson",
            "metrics",
            python("metrics", "*.m", r#"print('{"metrics": [{"name": "x", "value": "big"}]}')"#),
            "parser plugin `badjson` at run.m:1:",
        ),
        (
            "badunit",
            "metrics",
            python("metrics", "*.m", r#"print('{"metrics": [{"name": "x", "value": 1, "unit": "s\\u001b"}]}')"#),
            "run.m (parser plugin `badunit`'s output): series x has a unit with control characters",
        ),
        (
            "mcrash",
            "metrics",
            python("metrics", "*.m", "import sys; print('size 1'); sys.exit('cannot read it')"),
            "parser plugin `mcrash` at run.m: it exited with status 1; its standard error ends: cannot read it",
        ),
        (
            "mhang",
            "metrics",
            python("metrics", "*.m", "import time; time.sleep(30)") + "timeout = 1\n",
            "parser plugin `mhang` at run.m: it ran past its time limit of 1 s and was stopped",
        ),
        (
            "badlcov",
            "coverage",
            python("coverage", "*.cov", "print('TN:'); print('SF:calc.c'); print('DA:4,x'); print('end_of_record')"),
            "failed to parse parser plugin `badlcov` at run.cov:3:4: line 3 of its output (lcov \
             tracefile): invalid number \"x\"",
        ),
        (
            "negative",
            "coverage",
            python("coverage", "*.cov", "print('SF:calc.c'); print('DA:4,-3'); print('end_of_record')"),
            "line 2 of its output (lcov tracefile): a negative hit count -3 for line 4 of \"calc.c\"",
        ),
        (
            "cutshort",
            "coverage",
            python("coverage", "*.cov", "print('SF:calc.c'); print('DA:4,1')"),
            "parser plugin `cutshort` at run.cov:1:1: line 1 of its output (lcov tracefile): the \
             report ends inside the record",
        ),
        (
            "ccrash",
            "coverage",
            python("coverage", "*.cov", "import os, signal; print('SF:calc.c', flush=True); os.kill(os.getpid(), signal.SIGKILL)"),
            "parser plugin `ccrash` at run.cov: it was killed by a signal (it crashed)",
        ),
        (
            "chang",
            "coverage",
            python("coverage", "*.cov", "import subprocess, sys; sys.stdin.read(); subprocess.Popen(['sleep', '90'])") + "timeout = 1\n",
            "parser plugin `chang` at run.cov: it ran past its time limit of 1 s and was stopped",
        ),
    ];
    for (name, produces, body, says) in cases {
        let t = with_metric_and_coverage_plugins(&[(name, body)]);
        std::fs::write(t.path("run.m"), "input\n").unwrap();
        std::fs::write(t.path("run.cov"), "input\n").unwrap();
        // A build stored first: the failed ingest must leave the database exactly as it was.
        t.ingest("ci", 1, &["calc.c.gcov", "--metrics", "time-v.txt"]);
        let dump = t.dump();
        let attempts: Vec<Vec<&str>> = if produces == "metrics" {
            vec![
                vec![
                    "ingest",
                    "--builder",
                    "ci",
                    "--build",
                    "2",
                    "--metrics",
                    "run.m",
                ],
                vec!["parse", "--metrics", "run.m"],
            ]
        } else {
            vec![
                vec!["ingest", "--builder", "ci", "--build", "2", "run.cov"],
                vec![
                    "ingest",
                    "--builder",
                    "ci",
                    "--build",
                    "2",
                    "--coverage",
                    "run.cov",
                ],
            ]
        };
        for args in attempts {
            let started = std::time::Instant::now();
            let stderr = t.fails(&args, 3);
            assert!(stderr.contains(says), "{name} {args:?}: {stderr}");
            assert!(!stderr.contains("panicked"), "{stderr}");
            let took = started.elapsed();
            assert!(
                took.as_secs() < 45,
                "{name} {args:?}: stopped after {took:?}"
            );
            assert_eq!(t.dump(), dump, "{name} {args:?}: the database changed");
        }
    }
}

#[test]
fn metric_and_coverage_plugin_settings_are_checked() {
    for (name, body, says) in [
        (
            "mine",
            "command = [\"true\"]\nproduces = \"benchmarks\"\n",
            "`produces` \"benchmarks\" is not one of results, metrics, coverage",
        ),
        (
            // A built-in metric or coverage format's name is taken too.
            "metric-lines",
            "command = [\"true\"]\nproduces = \"metrics\"\n",
            "the name is taken by a built-in parser",
        ),
        (
            "lcov",
            "command = [\"true\"]\nproduces = \"coverage\"\n",
            "the name is taken by a built-in parser",
        ),
    ] {
        let t = with_plugins(&[(name, body.to_owned())]);
        let stderr = t.fails(&["parsers"], 2);
        assert!(stderr.contains(says), "{body}: {stderr}");
        assert!(stderr.contains(&format!("[parsers.{name}]")), "{stderr}");
    }
}
