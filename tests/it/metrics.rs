//! Build metrics through the real CLI: `ingest --metric` and `--metrics` files, the built-in
//! series, metric Problems (found, attributed across builders, fixed, accepted, gating
//! `--exit-code`), `metrics` and `metric NAME`, and hostile metric files that change nothing.

use crate::harness::{fixture, Test};
use serde_json::Value;

/// The real builds of `fixtures/metrics/generic` replayed in an order that gives the detector a
/// baseline first: the ten builds without the slowdown (1–4, 8–10, 1–3), then the three with it
/// (5–7), then four without it again (8–10, 4). The detector needs five builds before a step.
const REPLAY: [u32; 17] = [1, 2, 3, 4, 8, 9, 10, 1, 2, 3, 5, 6, 7, 8, 9, 10, 4];

/// Ingests the replay on `builder`: build n has the change `c{n}` shared by every builder, and
/// one of its own; returns each build's exit code and the series of the Problems it opened.
fn replay(t: &Test, builder: &str, minute: u32) -> Vec<(i32, Vec<String>)> {
    let mut codes = Vec::new();
    for (i, file) in REPLAY.iter().enumerate() {
        let n = (i + 1).to_string();
        let path = fixture(&format!("metrics/generic/build-{file}.txt"));
        let time = format!("2026-01-{:02}T10:{minute:02}:00Z", i + 1);
        let shared = format!("c{n}:Dev {n} <dev{n}@example.org>");
        let own = format!("{builder}-{n}:Ops <ops@example.org>");
        let out = t.run(&[
            "ingest",
            "--builder",
            builder,
            "--build",
            &n,
            "--time",
            &time,
            "--change",
            &shared,
            "--change",
            &own,
            "--metrics",
            path.to_str().unwrap(),
            "--exit-code",
            "--format",
            "json",
        ]);
        let summary: Value = serde_json::from_slice(&out.stdout).expect("JSON summary");
        let opened = (summary["new_problems"].as_array().unwrap().iter())
            .map(|p| p["test"].as_str().unwrap().to_owned())
            .collect();
        codes.push((out.status.code().unwrap_or(-1), opened));
    }
    codes
}

fn problem_of<'a>(problems: &'a Value, series: &str) -> &'a Value {
    problems
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["test"] == series)
        .unwrap_or_else(|| panic!("no Problem of {series} in {problems:#}"))
}

fn revisions(changes: &Value) -> Vec<String> {
    changes
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["revision"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_metric_step_is_a_problem_found_narrowed_across_builders_and_fixed() {
    let t = Test::new();
    let size_series = "binary_size{target=x86_64}".to_owned();
    let linux = replay(&t, "linux", 0);
    // Build 13 is the third at the new level: it confirms the step, and the gate fails there.
    let gated: Vec<usize> = (0..linux.len()).filter(|&i| linux[i].0 != 0).collect();
    assert_eq!(gated, [12], "{linux:?}");
    assert!(linux[12].1.contains(&size_series), "{linux:?}");
    let mac = replay(&t, "mac", 30);
    // On the second builder the same step joins the Problem: it opens nothing new.
    assert!(
        mac.iter().all(|(_, opened)| !opened.contains(&size_series)),
        "{mac:?}"
    );

    let problems = t.json(&["problems", "--all", "--kind", "metric"]);
    let size = problem_of(&problems, "binary_size{target=x86_64}");
    assert_eq!(size["kind"], "metric");
    assert_eq!(size["state"], "fixed");
    assert_eq!(size["builders"], serde_json::json!(["linux", "mac"]));
    assert_eq!(size["first_failure"]["build"], 11);
    assert_eq!(size["fixed"]["build"], 14);
    // Each builder's window holds the shared change and one of its own: narrowed to the shared.
    assert_eq!(revisions(&size["started_by"]), ["c11"]);
    assert_eq!(revisions(&size["fixed_by"]), ["c14"]);
    assert_eq!(size["failures"], 6);
    let step = &size["metric"];
    assert_eq!(step["step"], "regression");
    assert_eq!(step["before"], 81608.0);
    assert_eq!(step["after"], 2113224.0);
    assert!(step["accepted"].is_null());
    // A test Problem's JSON has no `metric` key.
    assert!(size.get("metric").is_some());

    // `metric NAME`: the history per builder, with the step and the return linked to it.
    let history = t.json(&["metric", "binary_size"]);
    assert_eq!(history["series"], "binary_size{target=x86_64}");
    assert_eq!(history["unit"], "B");
    assert_eq!(history["direction"], "lower_is_better");
    let linux = &history["builders"][0];
    assert_eq!(linux["builder"], "linux");
    assert_eq!(linux["values"].as_array().unwrap().len(), 17);
    let steps: Vec<(i64, String, Value)> = linux["change_points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["build"].as_i64().unwrap(),
                c["step"].as_str().unwrap().to_owned(),
                c["problem"].clone(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            (11, "regression".to_owned(), size["id"].clone()),
            (14, "return".to_owned(), size["id"].clone())
        ]
    );
    let csv = t.ok(&["metric", "binary_size", "--format", "csv"]);
    assert!(
        csv.starts_with("series,builder,build,revision,time,value,rounds"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 1 + 2 * 17);

    // `metrics`: each series per builder, with its latest value and no open regression left.
    let rows = t.json(&["metrics"]);
    let rss: Vec<&Value> = rows
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["series"] == "peak_rss")
        .collect();
    assert_eq!(rss.len(), 2);
    assert_eq!(rss[0]["unit"], "B");
    assert_eq!(rss[0]["build"], 17);
    assert_eq!(rss[0]["trend"].as_array().unwrap().len(), 17);
    assert!(rss[0]["open_regressions"].as_array().unwrap().is_empty());
    // The rounds of a repeated name keep their spread.
    let history = t.json(&["metric", "peak_rss"]);
    let first = &history["builders"][0]["values"][0];
    assert_eq!(first["rounds"], 3);
    assert_eq!(first["min"], 1296.0 * 1024.0);
    assert_eq!(first["max"], 1580.0 * 1024.0);

    // reanalyze gives the same Problems.
    let before = t.json(&["problems", "--all"]);
    t.ok(&["reanalyze"]);
    assert_eq!(t.json(&["problems", "--all"]), before);
}

#[test]
fn an_accepted_regression_is_neither_open_nor_fixed_and_says_who_and_why() {
    let t = Test::new();
    // Stop at build 13: the regression is confirmed and still open.
    for (i, file) in REPLAY[..13].iter().enumerate() {
        let n = (i + 1).to_string();
        let path = fixture(&format!("metrics/generic/build-{file}.txt"));
        let change = format!("c{n}:Dev {n} <dev{n}@example.org>");
        t.ok(&[
            "ingest",
            "--builder",
            "ci",
            "--build",
            &n,
            "--change",
            &change,
            "--metrics",
            path.to_str().unwrap(),
        ]);
    }
    let open = t.json(&["problems", "--kind", "metric"]);
    let size = problem_of(&open, "binary_size{target=x86_64}");
    assert_eq!(size["state"], "open");
    let id = size["id"].as_i64().unwrap().to_string();
    let rows = t.json(&["metrics", "--name", "binary_size"]);
    assert_eq!(rows[0]["open_regressions"][0], size["id"]);
    let users = t.json(&["users"]);
    assert_eq!(users[0]["user"], "Dev 11", "{users:#}");
    assert!(users[0]["open_problems"]
        .as_array()
        .unwrap()
        .contains(&size["id"]));

    let accepted = t.json(&[
        "accept",
        &id,
        "--by",
        "Ada",
        "--reason",
        "static linking is worth 2 MB",
    ]);
    assert_eq!(accepted["state"], "accepted");
    assert_eq!(accepted["metric"]["accepted"]["by"], "Ada");
    assert_eq!(
        accepted["metric"]["accepted"]["reason"],
        "static linking is worth 2 MB"
    );
    let open = t.json(&["problems", "--kind", "metric"]);
    assert!(open
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["id"] != size["id"]));
    let shown = t.json(&["show", &id]);
    assert_eq!(shown["state"], "accepted", "{shown:#}");
    // A later build keeps it accepted.
    let path = fixture("metrics/generic/build-7.txt");
    t.ok(&[
        "ingest",
        "--builder",
        "ci",
        "--build",
        "14",
        "--metrics",
        path.to_str().unwrap(),
    ]);
    let all = t.json(&["problems", "--all", "--kind", "metric"]);
    assert_eq!(
        problem_of(&all, "binary_size{target=x86_64}")["state"],
        "accepted"
    );
    // Only a metric Problem can be accepted, and only by someone, for a reason.
    t.fails(&["accept", "999", "--by", "Ada", "--reason", "x"], 3);
    t.fails(&["accept", &id, "--by", " ", "--reason", "x"], 2);
}

#[test]
fn metric_values_built_in_series_and_properties_are_one_model() {
    let t = Test::new();
    let report = fixture("junit/pytest-xunit2/report.xml");
    let summary = t.json(&[
        "ingest",
        "--builder",
        "ci",
        "--build",
        "1",
        "--property",
        "image_mb=412.5",
        "--property",
        "os=linux",
        "--metric",
        "binary_size=12.5MiB",
        "--metric",
        "latency{endpoint=/api}=12ms",
        report.to_str().unwrap(),
    ]);
    assert!(
        summary["metric_values"].as_u64().unwrap() >= 7,
        "{summary:#}"
    );
    let rows = t.json(&["metrics"]);
    let value = |series: &str| -> (f64, Value) {
        let row = rows
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["series"] == series)
            .unwrap_or_else(|| panic!("no {series} in {rows:#}"));
        (row["value"].as_f64().unwrap(), row["unit"].clone())
    };
    assert_eq!(value("binary_size"), (12.5 * 1024.0 * 1024.0, "B".into()));
    assert_eq!(value("latency{endpoint=/api}"), (0.012, "s".into()));
    assert_eq!(value("image_mb"), (412.5, Value::Null));
    let tests = t.json(&["builds"])[0]["counts"].clone();
    let total: u64 = tests
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(value("tests.count").0, total as f64);
    assert_eq!(
        value("tests.failed").0,
        (tests["failed"].as_u64().unwrap() + tests["error"].as_u64().unwrap()) as f64
    );
    assert_eq!(value("tests.duration").1, "s");
    assert!(rows.as_array().unwrap().iter().all(|r| r["series"] != "os"));
    // Built-in series are graphed, not judged into Problems by default; a count rises well.
    let count = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["series"] == "tests.count")
        .unwrap();
    assert_eq!(count["direction"], "higher_is_better");
    // Metrics alone, without a report, are a build too.
    t.ok(&[
        "ingest",
        "--builder",
        "ci",
        "--build",
        "2",
        "--metric",
        "binary_size=13MiB",
    ]);
    let history = t.json(&["metric", "binary_size"]);
    assert_eq!(
        history["builders"][0]["values"].as_array().unwrap().len(),
        2
    );
    // A bad --metric is a usage error naming it.
    let err = t.fails(
        &[
            "ingest",
            "--builder",
            "ci",
            "--build",
            "3",
            "--metric",
            "size=big",
        ],
        2,
    );
    assert!(err.contains("--metric size=big"), "{err}");
}

#[test]
fn real_benchmark_files_are_sniffed_and_keep_their_rounds() {
    let t = Test::new();
    let files = [
        "metrics/google-benchmark/build-1.json",
        "metrics/pytest-benchmark/build-1.json",
        "metrics/hyperfine/build-1.json",
        "metrics/go-bench/build-1.txt",
        "metrics/criterion/build-1.jsonl",
        "metrics/generic/build-1.json",
    ];
    let paths: Vec<String> = files
        .iter()
        .map(|f| fixture(f).to_str().unwrap().to_owned())
        .collect();
    let mut args = vec!["ingest", "--builder", "bench", "--build", "1", "--metrics"];
    args.extend(paths.iter().map(String::as_str));
    let summary = t.json(&args);
    let parsers: Vec<&str> = summary["metric_files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["parser"].as_str().unwrap())
        .collect();
    assert_eq!(
        parsers,
        [
            "google-benchmark",
            "pytest-benchmark",
            "hyperfine",
            "go-bench",
            "cargo-criterion",
            "metrics-json"
        ]
    );
    let rows = t.json(&["metrics", "--builder", "bench"]);
    assert!(rows.as_array().unwrap().len() > 10, "{rows:#}");
    // Google Benchmark's five repetitions are the rounds of one value.
    let name = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["series"].as_str().unwrap())
        .find(|s| s.starts_with("BM_") && !s.contains('{'))
        .expect("a Google Benchmark series")
        .to_owned();
    let history = t.json(&["metric", &name]);
    assert_eq!(
        history["builders"][0]["values"][0]["rounds"], 5,
        "{history:#}"
    );
    // --metrics-parser names the format; a wrong one is a clear error.
    let go = fixture("metrics/go-bench/build-2.txt");
    t.ok(&[
        "ingest",
        "--builder",
        "bench",
        "--build",
        "2",
        "--metrics-parser",
        "go-bench",
        "--metrics",
        go.to_str().unwrap(),
    ]);
    t.fails(
        &[
            "ingest",
            "--builder",
            "bench",
            "--build",
            "3",
            "--metrics-parser",
            "nope",
            "--metrics",
            go.to_str().unwrap(),
        ],
        2,
    );
}

#[test]
fn hostile_metric_files_name_the_file_and_place_and_change_nothing() {
    let t = Test::new();
    let report = fixture("junit/pytest-xunit2/report.xml");
    let report = report.to_str().unwrap();
    // A first ingest whose metric file is bad creates no database.
    std::fs::write(
        t.path("trunc.json"),
        "{\"metrics\": [{\"name\": \"a\", \"value\": 1",
    )
    .unwrap();
    let err = t.fails(
        &[
            "ingest",
            "--builder",
            "ci",
            "--build",
            "1",
            report,
            "--metrics",
            "trunc.json",
        ],
        3,
    );
    assert!(err.contains("trunc.json"), "{err}");
    assert!(!t.db_exists(), "a failed first ingest left a database");

    t.ok(&[
        "ingest",
        "--builder",
        "ci",
        "--build",
        "1",
        report,
        "--metric",
        "a=1",
    ]);
    let before = t.dump();
    let cases: &[(&str, &[u8], &str)] = &[
        ("unknown.txt", b"size twelve\n", "unknown.txt"),
        ("trunc.json", b"{\"metrics\": [{\"name\": \"a\", \"value\": 1", "trunc.json:1"),
        (
            "type.json",
            b"{\"metrics\": [\n {\"name\": \"a\", \"value\": \"fast\"}]}",
            "type.json:2",
        ),
        (
            "bench.json",
            b"{\"context\": {}, \"benchmarks\": [{\"name\": \"BM\", \"run_name\": \"BM\", \"run_type\": \"iteration\", \"real_time\": \"x\"}]}",
            "bench.json:1",
        ),
        ("lines.txt", b"binary_size 12 B\nsize twelve\n", "lines.txt:2"),
        ("deep.json", &[b'['; 5000], "deep.json"),
        ("nan.txt", b"speed NaN s\n", "nan.txt"),
        ("unit.txt", b"size 12 M\x07B\n", "unit.txt"),
        ("empty.bin", b"\x00\x01\x02 not a metric file", "empty.bin"),
    ];
    for (name, bytes, place) in cases {
        std::fs::write(t.path(name), bytes).unwrap();
        // Named by its format (the generic lines) or sniffed (the rest).
        let mut args = vec!["ingest", "--builder", "ci", "--build", "2", report];
        if name.ends_with(".txt") && *name != "unknown.txt" {
            args.extend(["--metrics-parser", "metric-lines"]);
        }
        args.extend(["--metrics", name]);
        let err = t.fails(&args, 3);
        assert!(
            err.contains(place),
            "{name}: the error does not name {place}:\n{err}"
        );
        assert!(!err.contains("panicked"), "{err}");
        assert_eq!(t.dump(), before, "{name} changed the database");
    }
    // A hostile name is stored as given and shown inert.
    std::fs::write(
        t.path("evil.txt"),
        "<script>alert(1)</script>\x1b[31m 5 s\n",
    )
    .unwrap_or(());
    let out = t.run(&[
        "ingest",
        "--builder",
        "ci",
        "--build",
        "3",
        "--metrics",
        "evil.txt",
    ]);
    if out.status.success() {
        let table = t.ok(&["metrics"]);
        assert!(!table.contains('\x1b'), "{table}");
    } else {
        assert_eq!(out.status.code(), Some(3));
        assert_eq!(t.dump(), before);
    }
}

#[test]
fn steps_in_many_series_from_one_change_are_one_cluster_and_are_announced() {
    let t = Test::new();
    // Two series a build script measures, with a little noise, both stepping at build 11.
    let noise = [0.0, 1.0, -1.0, 0.5, -0.5, 1.5, -1.5, 0.2, -0.2, 0.8];
    for n in 1..=16usize {
        let step = if n >= 11 { 30.0 } else { 0.0 };
        let a = format!("startup={}ms", 100.0 + step + noise[n % 10]);
        let b = format!("rss={}MiB", 50.0 + step + noise[(n + 3) % 10]);
        let change = if n == 11 {
            "bad:Mallory <m@example.org>".to_owned()
        } else {
            format!("c{n}:Dev <dev@example.org>")
        };
        let n = n.to_string();
        t.ok(&[
            "ingest",
            "--builder",
            "ci",
            "--build",
            &n,
            "--change",
            &change,
            "--metric",
            &a,
            "--metric",
            &b,
        ]);
    }
    let problems = t.json(&["problems", "--kind", "metric"]);
    assert_eq!(problems.as_array().unwrap().len(), 2, "{problems:#}");
    for p in problems.as_array().unwrap() {
        assert_eq!(revisions(&p["started_by"]), ["bad"], "{p:#}");
        assert_eq!(p["first_failure"]["build"], 11);
    }
    let clusters = t.json(&["clusters"]);
    let metric: Vec<&Value> = clusters
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["signature"].as_str().unwrap().starts_with("metric steps"))
        .collect();
    assert_eq!(metric.len(), 1, "{clusters:#}");
    assert_eq!(metric[0]["tests"], serde_json::json!(["rss", "startup"]));
    assert!(metric[0]["signature"].as_str().unwrap().contains("bad"));
    assert_eq!(problems[0]["cluster"], metric[0]["id"]);
    // notify announces them like any Problem.
    let due = t.ok(&["notify", "--dry-run"]);
    assert!(due.contains("startup") && due.contains("rss"), "{due}");
    assert!(due.contains("Mallory"), "{due}");
}

#[test]
fn the_report_charts_each_series_inline_escaped_and_readable_with_many_builds() {
    let t = Test::new();
    let hostile = "<img src=x onerror=alert(1)>";
    for n in 1..=130usize {
        let step = if n > 100 { 40.0 } else { 0.0 };
        let value = 100.0 + step + [0.0, 1.0, -1.0, 0.5, -0.5][n % 5];
        let a = format!("{hostile}={value}ms");
        let change = format!("c{n}:Dev <dev@example.org>");
        let n = n.to_string();
        t.ok(&[
            "ingest",
            "--builder",
            "ci",
            "--build",
            &n,
            "--change",
            &change,
            "--metric",
            &a,
        ]);
    }
    let problem = &t.json(&["problems", "--kind", "metric"])[0];
    assert_eq!(problem["test"], hostile);
    assert_eq!(problem["first_failure"]["build"], 101);
    t.ok(&["report", "--html", "site"]);
    let page = std::fs::read_to_string(t.path("site/metrics.html")).unwrap();
    assert!(
        !page.contains("<img") && !page.contains("<script"),
        "{page}"
    );
    assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert_eq!(page.matches("<svg").count(), 1);
    // One line of 130 points, without a mark per point at that length.
    assert_eq!(page.matches("<polyline").count(), 1);
    assert_eq!(page.matches("<circle").count(), 0);
    // The step is marked and linked to its Problem's page, which exists.
    let link = format!("<a href=\"problem-{}.html\"><line", problem["id"]);
    assert!(page.contains(&link), "{page}");
    assert!(t
        .path(&format!("site/problem-{}.html", problem["id"]))
        .exists());
    let index = std::fs::read_to_string(t.path("site/index.html")).unwrap();
    assert!(
        index.contains("href=\"metrics.html#m-"),
        "no sparkline link on the overview"
    );
    assert!(!index.contains("<img"));
}

#[test]
fn parse_metrics_shows_what_a_metric_file_gives_without_a_database() {
    let t = Test::new();
    let hyperfine = fixture("metrics/hyperfine/build-1.json");
    let out = t.run(&[
        "parse",
        "--metrics",
        hyperfine.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{out:?}");
    let series: Value = serde_json::from_slice(&out.stdout).unwrap();
    let series = series.as_array().unwrap();
    assert_eq!(series.len(), 2, "{series:#?}");
    let level1 = &series[0];
    assert_eq!(level1["parser"], "hyperfine");
    assert_eq!(level1["params"]["level"], "1");
    assert_eq!(level1["unit"], "s");
    assert_eq!(level1["spread"]["rounds"], 10);
    assert_eq!(level1["spread"]["samples"].as_array().unwrap().len(), 10);
    assert!(!t.db_exists(), "parse --metrics made a database");

    // A file of no known format names the file; reports and metric files are not mixed.
    std::fs::write(t.path("unknown.txt"), "size twelve\n").unwrap();
    let err = t.fails(&["parse", "--metrics", "unknown.txt"], 3);
    assert!(err.contains("unknown.txt"), "{err}");
    let report = fixture("junit/pytest-xunit2/report.xml");
    let err = t.fails(
        &[
            "parse",
            report.to_str().unwrap(),
            "--metrics",
            hyperfine.to_str().unwrap(),
        ],
        2,
    );
    assert!(err.contains("not both"), "{err}");
}

/// A value of a generated series: level `base` with the `steps` (build, change) from their
/// builds on, and a deterministic noise of standard deviation about 1.
fn generated(build: u32, seed: u32, base: f64, steps: &[(u32, f64)]) -> f64 {
    let mut x = (build as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (seed as u64) << 32;
    let mut sum = 0.0;
    for _ in 0..4 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        sum += (x >> 11) as f64 / (1u64 << 53) as f64;
    }
    let level: f64 = steps
        .iter()
        .filter(|(at, _)| build >= *at)
        .map(|s| s.1)
        .sum();
    base + level + (sum - 2.0) * 1.7
}

/// An ingest judges a bounded window of the lane it appends to (the builds the detector
/// reaches, and the Problems that reach into them), keeping the Problems settled before it: it
/// must give what `reanalyze` gives over the whole history. A long series with a step that
/// returned long before the window and one still open in it; one whose Problem reaches back
/// before the builds the window reads first; one on two builders; one of noise only.
#[test]
fn judging_a_bounded_window_at_ingest_gives_what_reanalyze_gives() {
    let t = Test::new();
    let builds: u32 = 360;
    let latency = [(30, 9.0), (60, -9.0), (320, 15.0)];
    let size = [(150, -30.0), (200, 40.0)];
    let shared = [(100, 8.0), (250, 10.0), (262, -10.0)];
    let mut compared = 0;
    for b in 1..=builds {
        let n = b.to_string();
        let change = format!("c{b}:Dev {} <dev{}@example.org>", b % 7, b % 7);
        let metric = |name: &str, value: f64| format!("{name}={value:.4}ms");
        let values = [
            metric("latency", generated(b, 1, 100.0, &latency)),
            metric("size", generated(b, 2, 500.0, &size)),
            metric("shared", generated(b, 3, 50.0, &shared)),
            metric("quiet", generated(b, 5, 20.0, &[])),
        ];
        let mut args = vec![
            "ingest",
            "--builder",
            "main",
            "--build",
            &n,
            "--change",
            &change,
        ];
        for v in &values {
            args.extend(["--metric", v]);
        }
        t.ok(&args);
        // A second builder builds every fourth change, with the shared series only.
        if b % 4 == 0 {
            let value = metric("shared", generated(b, 4, 50.0, &shared));
            let n = (b / 4).to_string();
            t.ok(&[
                "ingest",
                "--builder",
                "slow",
                "--build",
                &n,
                "--metric",
                &value,
            ]);
        }
        // At a few builds, and at the end: what the ingests stored is what reanalyze gives.
        if [203, 325, builds].contains(&b) {
            let before = t.json(&["problems", "--all", "--kind", "metric"]);
            t.ok(&["reanalyze"]);
            let after = t.json(&["problems", "--all", "--kind", "metric"]);
            assert_eq!(after, before, "after build {b}");
            compared += 1;
        }
    }
    assert_eq!(compared, 3);
    let problems = t.json(&["problems", "--all", "--kind", "metric"]);
    let of = |series: &str| -> Vec<(String, i64)> {
        let mut found: Vec<(String, i64)> = (problems.as_array().unwrap().iter())
            .filter(|p| p["test"] == series)
            .map(|p| {
                let state = p["state"].as_str().unwrap().to_owned();
                (state, p["first_failure"]["build"].as_i64().unwrap())
            })
            .collect();
        found.sort_by_key(|p| p.1);
        found
    };
    let state = |s: &str, at: i64| (s.to_owned(), at);
    assert_eq!(
        of("latency"),
        [state("fixed", 30), state("open", 320)],
        "{problems:#}"
    );
    assert_eq!(of("size"), [state("fixed", 150)], "{problems:#}");
    assert!(!of("shared").is_empty(), "{problems:#}");
    assert_eq!(of("quiet"), [], "{problems:#}");
}

/// `mark-bad`, `unmark-bad` and `delete-build` re-judge the metric series of the builder at once,
/// over the whole history, as `reanalyze` would: the next ingest judges only a window and would
/// not look back at them.
#[test]
fn marking_builds_bad_or_deleting_them_rejudges_metric_problems_as_reanalyze_would() {
    let t = Test::new();
    replay(&t, "linux", 0);
    let metric_problems = |t: &Test| {
        let all = t.json(&["problems", "--all", "--kind", "metric"]);
        (all.as_array().unwrap().iter())
            .filter(|p| p["test"] == "binary_size{target=x86_64}")
            .cloned()
            .collect::<Vec<Value>>()
    };
    assert_eq!(metric_problems(&t).len(), 1, "the step is a Problem");
    // Builds 11-13 hold the step: marked bad, they give no evidence and the step is gone.
    t.ok(&[
        "mark-bad",
        "--builder",
        "linux",
        "--from",
        "11",
        "--to",
        "13",
        "--reason",
        "outage",
    ]);
    let marked = metric_problems(&t);
    assert!(marked.is_empty(), "{marked:#?}");
    t.ok(&["reanalyze"]);
    assert_eq!(
        metric_problems(&t),
        marked,
        "reanalyze disagrees after mark-bad"
    );
    // Unmarked, the step is back, with the Problem's id kept or given anew as reanalyze gives it.
    t.ok(&["unmark-bad", "--builder", "linux", "--from", "11"]);
    let unmarked = metric_problems(&t);
    assert_eq!(unmarked.len(), 1, "{unmarked:#?}");
    t.ok(&["reanalyze"]);
    assert_eq!(
        metric_problems(&t),
        unmarked,
        "reanalyze disagrees after unmark-bad"
    );
    // Deleting the builds at the new level removes the step too.
    for n in ["11", "12", "13"] {
        t.ok(&["delete-build", "linux", n]);
    }
    let deleted = metric_problems(&t);
    assert!(deleted.is_empty(), "{deleted:#?}");
    t.ok(&["reanalyze"]);
    assert_eq!(
        metric_problems(&t),
        deleted,
        "reanalyze disagrees after delete-build"
    );
}

/// The values of a lane's last builds are kept between ingests (`metric_state`); a build among
/// them replaced, added to, deleted (and its number ingested anew) or ingested late must not
/// leave stale values behind: after each, and after the ingests that follow, what the ingests
/// stored is what `reanalyze` gives.
#[test]
fn the_metric_state_kept_between_ingests_never_judges_stale_values() {
    let t = Test::new();
    let latency = [(30, 12.0)];
    let ingest = |b: u32, shift: f64, extra: &[&str]| {
        let n = b.to_string();
        let latency = format!("latency={:.4}ms", generated(b, 1, 100.0, &latency) + shift);
        let quiet = format!("quiet={:.4}ms", generated(b, 2, 20.0, &[]));
        let mut args = vec!["ingest", "--builder", "main", "--build", &n];
        args.extend(["--metric", &latency, "--metric", &quiet]);
        args.extend(extra);
        t.ok(&args);
    };
    let agrees = |t: &Test, what: &str| {
        let before = t.json(&["problems", "--all", "--kind", "metric"]);
        t.ok(&["reanalyze"]);
        let after = t.json(&["problems", "--all", "--kind", "metric"]);
        assert_eq!(after, before, "reanalyze disagrees after {what}");
        after
    };
    for b in (1..=60).filter(|b| *b != 45) {
        ingest(b, 0.0, &[]);
    }
    let first = agrees(&t, "the history");
    assert_eq!(first.as_array().unwrap().len(), 1, "{first:#}");
    // Builds 52-56 replaced with a level 30 higher: a step there, then back.
    for b in 52..=56 {
        ingest(b, 30.0, &["--replace"]);
    }
    for b in 61..=64 {
        ingest(b, 0.0, &[]);
    }
    let replaced = agrees(&t, "replaced builds and the ingests after them");
    assert!(replaced.as_array().unwrap().len() > first.as_array().unwrap().len());
    // Another series added to builds 57-60 (`added`), a step in it.
    for b in 57..=60 {
        let v = format!("added={}ms", if b < 59 { 5.0 } else { 50.0 });
        t.ok(&[
            "ingest",
            "--builder",
            "main",
            "--build",
            &b.to_string(),
            "--metric",
            &v,
        ]);
    }
    ingest(65, 0.0, &[]);
    agrees(&t, "values added to builds");
    // A late build, far off the level, then more.
    ingest(45, -40.0, &[]);
    for b in 66..=68 {
        ingest(b, 0.0, &[]);
    }
    agrees(&t, "a late build");
    // The newest build deleted and its number ingested anew (its id may be given again) at
    // another level, held.
    t.ok(&["delete-build", "main", "68"]);
    for b in 68..=73 {
        ingest(b, -30.0, &[]);
    }
    let deleted = agrees(&t, "a deleted build ingested anew");
    let latency_problems = (deleted.as_array().unwrap().iter())
        .filter(|p| p["test"] == "latency")
        .count();
    assert!(latency_problems >= 3, "{deleted:#}");
}

/// A step that one builder confirms on its own corroborates the same step on a builder that saw
/// too few builds at the new level to confirm it alone (*corroboration*): `fast` builds every
/// change, `slow` every fourth (its blamelists hold the four changes). The first step lasts six
/// changes, and `slow` sees one build of it, ingested after `fast` confirmed it; the second
/// lasts six too, and `slow` sees two builds of it, the first ingested before `fast` confirmed
/// it (so `fast`'s confirming ingest adds `slow`). A step only `fast` shows stays `fast`'s, and
/// what the ingests stored is what `reanalyze` gives.
#[test]
fn a_builder_that_saw_a_short_step_briefly_joins_the_problem_another_builder_confirmed() {
    let t = Test::new();
    let shared = [(101, 8.0), (107, -8.0), (203, 8.0), (209, -8.0)];
    let fast_only = [(150, 9.0)];
    let changes = |b: u32| format!("c{b}:Dev {} <dev{}@example.org>", b % 5, b % 5);
    let ingest = |builder: &str, n: u32, b: u32, values: &[String], from: u32| {
        let n = n.to_string();
        let mut args = vec!["ingest", "--builder", builder, "--build", &n];
        let changes: Vec<String> = (from..=b).map(changes).collect();
        for c in &changes {
            args.extend(["--change", c]);
        }
        for v in values {
            args.extend(["--metric", v]);
        }
        t.ok(&args);
    };
    let metric = |name: &str, value: f64| format!("{name}={value:.4}ms");
    for b in 1..=260u32 {
        let slow = || {
            let values = [
                metric("shared", generated(b, 8, 60.0, &shared)),
                metric("fast_only", generated(b, 9, 30.0, &[])),
            ];
            ingest("slow", b / 4, b, &values, b - 3);
        };
        // Around the second step `slow` is ingested before `fast`.
        if b % 4 == 0 && (190..230).contains(&b) {
            slow();
        }
        let values = [
            metric("shared", generated(b, 6, 60.0, &shared)),
            metric("fast_only", generated(b, 7, 30.0, &fast_only)),
        ];
        ingest("fast", b, b, &values, b);
        if b % 4 == 0 && !(190..230).contains(&b) {
            slow();
        }
        if [106, 206].contains(&b) {
            let before = t.json(&["problems", "--all", "--kind", "metric"]);
            t.ok(&["reanalyze"]);
            let after = t.json(&["problems", "--all", "--kind", "metric"]);
            assert_eq!(after, before, "after build {b}");
        }
    }
    let problems = t.json(&["problems", "--all", "--kind", "metric"]);
    let of = |series: &str| -> Vec<(i64, Value, Vec<String>, Vec<String>)> {
        let mut found: Vec<_> = (problems.as_array().unwrap().iter())
            .filter(|p| p["test"] == series)
            .map(|p| {
                (
                    p["first_failure"]["build"].as_i64().unwrap(),
                    p["builders"].clone(),
                    revisions(&p["started_by"]),
                    revisions(&p["fixed_by"]),
                )
            })
            .collect();
        found.sort_by_key(|p| p.0);
        found
    };
    let both = serde_json::json!(["fast", "slow"]);
    let step = |at: i64, builders: &Value, started: &str, fixed: &str| {
        (
            at,
            builders.clone(),
            vec![started.to_owned()],
            vec![fixed.to_owned()],
        )
    };
    assert_eq!(
        of("shared"),
        [
            step(101, &both, "c101", "c107"),
            step(203, &both, "c203", "c209")
        ],
        "{problems:#}"
    );
    let fast = of("fast_only");
    assert_eq!(fast.len(), 1, "{problems:#}");
    assert_eq!(fast[0].1, serde_json::json!(["fast"]), "{problems:#}");
    // Each Problem counts the builds at the new level on both builders: six on `fast`, and one,
    // then two, on `slow`.
    let mut failures: Vec<(i64, i64)> = (problems.as_array().unwrap().iter())
        .filter(|p| p["test"] == "shared")
        .map(|p| {
            let at = p["first_failure"]["build"].as_i64().unwrap();
            (at, p["failures"].as_i64().unwrap())
        })
        .collect();
    failures.sort_unstable();
    assert_eq!(failures, [(101, 6 + 1), (203, 6 + 2)], "{problems:#}");
    t.ok(&["reanalyze"]);
    assert_eq!(t.json(&["problems", "--all", "--kind", "metric"]), problems);
}

/// What `reanalyze` gives at this point, on a copy of the database (the copy judged over the
/// whole history; the database itself left as the ingests made it).
fn reanalyzed_copy(t: &Test, name: &str) -> Value {
    let copy = format!("sqlite:{name}.db");
    t.ok(&["copy", "--to", &copy]);
    t.ok(&["--db", &copy, "reanalyze"]);
    t.json(&["--db", &copy, "problems", "--all", "--kind", "metric"])
}

/// Each Problem of `series`: its first build, builders, suspects and fixers, by first build.
fn parts_of(problems: &Value, series: &str) -> Vec<(i64, Value, Vec<String>, Vec<String>)> {
    let mut found: Vec<_> = (problems.as_array().unwrap().iter())
        .filter(|p| p["test"] == series)
        .map(|p| {
            (
                p["first_failure"]["build"].as_i64().unwrap(),
                p["builders"].clone(),
                revisions(&p["started_by"]),
                revisions(&p["fixed_by"]),
            )
        })
        .collect();
    found.sort_by_key(|p| p.0);
    found
}

/// A lane's build whose blamelist window also holds a change that moves the series the other way
/// is *ambiguous*: its jump may be that move's, so it corroborates nothing. `fast` builds every
/// change and confirms two short steps of `shared`, from `c101` (back at `c107`) and from `c121`
/// (back at `c127`); `slow` builds every fourth change and joins each (its windows `c101`–`c104`
/// and `c121`–`c124` hold one suspect each); `paused` builds every fourth change too, but pauses
/// after `c96`: its next build, `c124`, holds `c97`–`c124` (both suspects and the first step's
/// return, `c107`) and shows the second step, then it goes on at the old level. It is a builder
/// of neither Problem. In `lasting` the two steps stay (no return): the same window holds two
/// steps of one kind and nothing against them, so `paused` joins the first (its jump is both).
/// What the ingests stored is what `reanalyze` gives.
#[test]
fn a_paused_builders_first_build_that_holds_two_groups_suspects_corroborates_neither() {
    let t = Test::new();
    let shared = [(101, 8.0), (107, -8.0), (121, 8.0), (127, -8.0)];
    let lasting = [(101, 8.0), (121, 8.0)];
    let changes = |b: u32| format!("c{b}:Dev {} <dev{}@example.org>", b % 5, b % 5);
    let ingest = |builder: &str, b: u32, from: u32, seed: u32| {
        let n = b.to_string();
        let value = format!("shared={:.4}ms", generated(b, seed, 60.0, &shared));
        let other = format!("lasting={:.4}ms", generated(b, seed + 20, 60.0, &lasting));
        let mut args = vec!["ingest", "--builder", builder, "--build", &n];
        let changes: Vec<String> = (from..=b).map(changes).collect();
        for c in &changes {
            args.extend(["--change", c]);
        }
        args.extend(["--metric", &value, "--metric", &other]);
        t.ok(&args);
    };
    for b in 1..=180u32 {
        ingest("fast", b, b, 6);
        if b % 4 == 0 {
            ingest("slow", b, b - 3, 8);
        }
        // `paused`'s build 124, ingested once `fast` has confirmed the second step.
        if b % 4 == 0 && !(100..=124).contains(&b) {
            ingest("paused", b, b - 3, 9);
        }
        if b == 126 {
            ingest("paused", 124, 97, 9);
            // At once, by corroboration (its own scan needs three builds at the new level).
            let problems = t.json(&["problems", "--all", "--kind", "metric"]);
            let first = (parts_of(&problems, "lasting").into_iter()).find(|p| p.0 == 101);
            let builders = first.map(|p| p.1);
            let all = serde_json::json!(["fast", "paused", "slow"]);
            assert_eq!(builders, Some(all), "{problems:#}");
        }
    }
    let problems = t.json(&["problems", "--all", "--kind", "metric"]);
    let step = |at: i64, started: &str, fixed: &str| {
        let builders = serde_json::json!(["fast", "slow"]);
        (
            at,
            builders,
            vec![started.to_owned()],
            vec![fixed.to_owned()],
        )
    };
    assert_eq!(
        parts_of(&problems, "shared"),
        [step(101, "c101", "c107"), step(121, "c121", "c127")],
        "{problems:#}"
    );
    for p in (problems.as_array().unwrap().iter()).filter(|p| p["test"] == "shared") {
        let id = p["id"].to_string();
        let shown = t.json(&["show", &id]);
        assert!(!shown.to_string().contains("paused"), "{shown:#}");
    }
    let lasting_parts: Vec<(i64, Value, Vec<String>)> = (parts_of(&problems, "lasting")
        .into_iter())
    .map(|(at, builders, started, _)| (at, builders, started))
    .collect();
    assert_eq!(
        lasting_parts,
        [
            (
                101,
                serde_json::json!(["fast", "paused", "slow"]),
                vec!["c101".to_owned()]
            ),
            (
                121,
                serde_json::json!(["fast", "slow"]),
                vec!["c121".to_owned()]
            ),
        ],
        "{problems:#}"
    );
    assert_eq!(reanalyzed_copy(&t, "whole"), problems);
}

/// A lane's own step found later, within `min_after` builds of where a group corroborated a step
/// of the lane, takes that place: the corroboration goes (*Corroboration*), although the builds
/// that decide it came after it. In `shared`, `fast` builds every change and confirms a short
/// step from `c101` (back at `c107`); `slow` builds every fourth change, shows it on its build
/// `c104` alone and joins it; from `c108` on `slow` alone is much lower (its own cause: a step
/// its own detector confirms at `c116`, placed next to `c104`), and it leaves. In `small`,
/// `slow` shows `fast`'s lasting step by 2.6σ only, which takes three builds to corroborate: the
/// windowed ingest must look back past the newest builds. After every ingest around them, what
/// the ingests stored is what `reanalyze` gives on a copy of the database.
#[test]
fn a_lanes_own_step_found_later_next_to_a_corroborated_place_undoes_the_corroboration() {
    let t = Test::new();
    let shared = [(101, 8.0), (107, -8.0)];
    let own = [(101, 8.0), (105, -20.0)];
    let changes = |b: u32| format!("c{b}:Dev {} <dev{}@example.org>", b % 5, b % 5);
    let ingest = |builder: &str, b: u32, from: u32, values: [(&str, f64); 2]| {
        let n = b.to_string();
        let values = values.map(|(name, value)| format!("{name}={value:.4}ms"));
        let mut args = vec!["ingest", "--builder", builder, "--build", &n];
        let changes: Vec<String> = (from..=b).map(changes).collect();
        for c in &changes {
            args.extend(["--change", c]);
        }
        for v in &values {
            args.extend(["--metric", v]);
        }
        t.ok(&args);
    };
    // After each ingest around the steps: the Problems `slow` is part of (series, first build,
    // suspects).
    type Parts = Vec<(String, i64, Vec<String>)>;
    let mut seen: Vec<(String, Parts)> = Vec::new();
    let mut agrees = |what: String| {
        let stored = t.json(&["problems", "--all", "--kind", "metric"]);
        let name = format!("copy{}", seen.len());
        assert_eq!(reanalyzed_copy(&t, &name), stored, "after {what}");
        let mut parts: Parts = (stored.as_array().unwrap().iter())
            .filter(|p| p["builders"].to_string().contains("slow"))
            .map(|p| {
                let series = p["test"].as_str().unwrap().to_owned();
                let at = p["first_failure"]["build"].as_i64().unwrap();
                (series, at, revisions(&p["started_by"]))
            })
            .collect();
        parts.sort();
        seen.push((what, parts));
    };
    for b in 1..=140u32 {
        let fast = [
            ("shared", generated(b, 6, 60.0, &shared)),
            ("small", generated(b, 10, 40.0, &[(101, 8.0)])),
        ];
        ingest("fast", b, b, fast);
        if (100..=124).contains(&b) {
            agrees(format!("fast {b}"));
        }
        if b % 4 == 0 {
            let slow = [
                ("shared", generated(b, 8, 60.0, &own)),
                ("small", generated(b, 11, 40.0, &[(101, 2.6)])),
            ];
            ingest("slow", b, b - 3, slow);
            if (100..=124).contains(&b) {
                agrees(format!("slow {b}"));
            }
        }
    }
    agrees("the history".to_owned());
    // `slow` joined `fast`'s `shared` Problem at its first build at the new level; it joined
    // `small` two builds later (the windowed ingest had to look back past its newest builds);
    // and it left `shared` for its own step at the ingest of its own that confirmed that step.
    let part = |series: &str, at: i64, started: &[&str]| {
        let started = started.iter().map(|c| c.to_string()).collect();
        (series.to_owned(), at, started)
    };
    let own_window = ["c105", "c106", "c107", "c108"];
    let changed: Vec<(&str, &Parts)> = (seen.windows(2))
        .filter(|w| w[0].1 != w[1].1)
        .map(|w| (w[1].0.as_str(), &w[1].1))
        .collect();
    assert_eq!(
        changed,
        [
            ("slow 104", &vec![part("shared", 101, &["c101"])]),
            (
                "slow 112",
                &vec![
                    part("shared", 101, &["c101"]),
                    part("small", 101, &["c101"])
                ]
            ),
            (
                "slow 116",
                &vec![
                    part("shared", 108, &own_window),
                    part("small", 101, &["c101"])
                ]
            ),
        ],
        "{seen:#?}"
    );
    let problems = t.json(&["problems", "--all", "--kind", "metric"]);
    let fast = serde_json::json!(["fast"]);
    let slow = serde_json::json!(["slow"]);
    let c = |c: &[&str]| c.iter().map(|c| c.to_string()).collect::<Vec<String>>();
    assert_eq!(
        parts_of(&problems, "shared"),
        [
            (101, fast, c(&["c101"]), c(&["c107"])),
            (108, slow, c(&own_window), c(&[])),
        ],
        "{problems:#}"
    );
}

/// A step corroborated at the last build it may take (`CORROBORATED_WITHIN` × `min_after` builds
/// from its place) is found by the ingest of that build, although its place lies that far behind
/// the new build: the windowed ingest must look that far back for another builder's suspects.
/// `fast` confirms a lasting step of `shared` from `c101` on its own; `slow`, which builds every
/// change too, shows it by so little that it joins only with its eighth build at the new level,
/// `c108` (`min_after` 4, set in `probtrack.toml`, with a `threshold` that `slow`'s own scan never
/// reaches and a `corroborate` that seven builds do not). After every ingest around it, what the
/// ingests stored is what `reanalyze` gives on a copy of the database.
#[test]
fn a_step_corroborated_at_the_last_build_it_may_take_is_found_by_that_builds_ingest() {
    let t = Test::new();
    // (`pair` out of reach too: `slow`'s first build at the new level would pair with `fast`'s.)
    let settings =
        "[metrics.\"shared\"]\nmin_after = 4\nthreshold = 30\ncorroborate = 10.2\npair = 30\n";
    std::fs::write(t.path("probtrack.toml"), settings).unwrap();
    let ingest = |builder: &str, b: u32, value: f64| {
        let n = b.to_string();
        let change = format!("c{b}:Dev {} <dev{}@example.org>", b % 5, b % 5);
        let value = format!("shared={value:.4}ms");
        let args = ["--build", &n, "--change", &change, "--metric", &value];
        t.ok(&[&["ingest", "--builder", builder][..], &args].concat());
    };
    let mut joined = Vec::new();
    for b in 1..=116u32 {
        ingest("fast", b, generated(b, 6, 60.0, &[(101, 60.0)]));
        ingest("slow", b, generated(b, 8, 60.0, &[(101, 5.0)]));
        if (100..=112).contains(&b) {
            let stored = t.json(&["problems", "--all", "--kind", "metric"]);
            let whole = reanalyzed_copy(&t, &format!("copy{b}"));
            assert_eq!(whole, stored, "after slow {b}");
            if parts_of(&stored, "shared")
                .iter()
                .any(|p| p.1 == serde_json::json!(["fast", "slow"]))
            {
                joined.push(b);
            }
        }
    }
    assert_eq!(joined, (108..=112).collect::<Vec<u32>>());
    let problems = t.json(&["problems", "--all", "--kind", "metric"]);
    let both = serde_json::json!(["fast", "slow"]);
    assert_eq!(
        parts_of(&problems, "shared"),
        [(101, both, vec!["c101".to_owned()], vec![])],
        "{problems:#}"
    );
}

/// Two builders' first builds after one change that both depart from their levels in the same
/// sign confirm the step together (*pairs*): `fast` and `slow` both build every change, and the
/// step of `shared` from `c101` is a Problem of both at the ingest of `slow`'s build `c101`, its
/// first build at the new level, with `c101` alone as suspect; both come back at `c111`, and the
/// Problem is fixed by `c111` at `slow`'s build of it. In `wide`, the same step, `batch` builds
/// every fourth change too (its windows hold four): its first build at the new level, `c104`,
/// pairs as well and joins the Problem without widening its suspects (its return, a step it
/// knows only through the pair, takes `min_after` builds back). One builder's lone jump (`lone`)
/// and two builders' jumps of opposite signs (`opposite`) open nothing. What the ingests stored
/// is what `reanalyze` gives.
#[test]
fn two_builders_first_builds_after_a_change_confirm_its_step_together() {
    let t = Test::new();
    let shared = [(101, 9.0), (111, -9.0)];
    let fast_values = |b: u32| {
        [
            ("shared", generated(b, 12, 60.0, &shared)),
            ("wide", generated(b, 19, 60.0, &shared)),
            ("lone", generated(b, 13, 40.0, &[(101, 9.0), (102, -9.0)])),
            (
                "opposite",
                generated(b, 14, 50.0, &[(101, 9.0), (102, -9.0)]),
            ),
        ]
    };
    let slow_values = |b: u32| {
        [
            ("shared", generated(b, 15, 80.0, &shared)),
            ("wide", generated(b, 20, 80.0, &shared)),
            ("lone", generated(b, 16, 40.0, &[])),
            (
                "opposite",
                generated(b, 17, 50.0, &[(101, -9.0), (102, 9.0)]),
            ),
        ]
    };
    let ingest = |builder: &str, b: u32, values: [(&str, f64); 4]| -> Vec<String> {
        let n = b.to_string();
        let change = format!("c{b}:Dev {} <dev{}@example.org>", b % 5, b % 5);
        let mut args = vec![
            "ingest",
            "--builder",
            builder,
            "--build",
            &n,
            "--change",
            &change,
        ];
        let values = values.map(|(name, value)| format!("{name}={value:.4}ms"));
        for v in &values {
            args.extend(["--metric", v]);
        }
        args.extend(["--format", "json"]);
        let summary: Value = serde_json::from_str(&t.ok(&args)).expect("JSON summary");
        (summary["new_problems"].as_array().unwrap().iter())
            .map(|p| p["test"].as_str().unwrap().to_owned())
            .collect()
    };
    let mut opened = Vec::new();
    let mut state_at = Vec::new();
    for b in 1..=130u32 {
        if b % 4 == 0 {
            let n = (b / 4).to_string();
            let value = format!("wide={:.4}ms", generated(b, 18, 70.0, &shared));
            let mut args = vec!["ingest", "--builder", "batch", "--build", &n];
            let changes: Vec<String> = (b - 3..=b)
                .map(|c| format!("c{c}:Dev {} <dev{}@example.org>", c % 5, c % 5))
                .collect();
            for c in &changes {
                args.extend(["--change", c]);
            }
            args.extend(["--metric", &value]);
            t.ok(&args);
        }
        for (builder, values) in [("fast", fast_values(b)), ("slow", slow_values(b))] {
            for series in ingest(builder, b, values) {
                opened.push((format!("{builder} {b}"), series));
            }
            if (110..=112).contains(&b) {
                let problems = t.json(&["problems", "--all", "--kind", "metric"]);
                let state = problem_of(&problems, "shared")["state"].clone();
                state_at.push((format!("{builder} {b}"), state));
            }
        }
    }
    let at_slow_101 = |series: &str| ("slow 101".to_owned(), series.to_owned());
    opened.sort();
    assert_eq!(
        opened,
        [at_slow_101("shared"), at_slow_101("wide")],
        "the Problems opened, by the ingest that opened them"
    );
    let problems = t.json(&["problems", "--all", "--kind", "metric"]);
    let step = |builders: &[&str]| {
        let (started, fixed) = (vec!["c101".to_owned()], vec!["c111".to_owned()]);
        (101, serde_json::json!(builders), started, fixed)
    };
    assert_eq!(
        parts_of(&problems, "shared"),
        [step(&["fast", "slow"])],
        "{problems:#}"
    );
    assert_eq!(
        parts_of(&problems, "wide"),
        [step(&["batch", "fast", "slow"])],
        "{problems:#}"
    );
    let open = serde_json::json!("open");
    let fixed = serde_json::json!("fixed");
    assert_eq!(
        state_at,
        [
            ("fast 110".to_owned(), open.clone()),
            ("slow 110".to_owned(), open.clone()),
            ("fast 111".to_owned(), open),
            ("slow 111".to_owned(), fixed.clone()),
            ("fast 112".to_owned(), fixed.clone()),
            ("slow 112".to_owned(), fixed),
        ]
    );
    t.ok(&["reanalyze"]);
    assert_eq!(t.json(&["problems", "--all", "--kind", "metric"]), problems);
}
