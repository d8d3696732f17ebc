//! Every metric fixture through its parser (fixtures/metrics/<tool>/, made by running the tools):
//! what each file yields, checked against the file's own numbers read independently (with
//! serde_json); that sniffing picks the right format; that the real step of builds 5-7 is there;
//! and that errors name the file and place.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::*;
use crate::format::ParseOptions;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/metrics")
}

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The fixture at `rel` (below fixtures/metrics), parsed by the format `detect` picks for it,
/// the source named by its relative path (Criterion's estimates are named by it).
fn parse_fixture(rel: &str) -> (&'static str, MetricsCollected) {
    let bytes = read(rel);
    let options = ParseOptions::new(format!("target/{rel}"));
    let format = detect(&bytes, &options).unwrap_or_else(|| panic!("{rel}: no format"));
    let collected =
        collect(format, &mut &bytes[..], &options).unwrap_or_else(|e| panic!("{rel}: {e}"));
    (format.name(), collected)
}

fn json(rel: &str) -> Value {
    serde_json::from_slice(&read(rel)).unwrap()
}

fn metric<'a>(collected: &'a MetricsCollected, series: &str) -> &'a Metric {
    collected
        .metrics
        .iter()
        .find(|m| m.series.to_string() == series)
        .unwrap_or_else(|| panic!("no {series} in {:?}", names(collected)))
}

fn names(collected: &MetricsCollected) -> Vec<String> {
    collected
        .metrics
        .iter()
        .map(|m| m.series.to_string())
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

#[track_caller]
fn close(a: f64, b: f64) {
    assert!((a - b).abs() <= 1e-9 * a.abs().max(b.abs()), "{a} != {b}");
}

/// The value of `series` in builds 1..=10 of a tool's fixtures.
fn by_build(file: impl Fn(u32) -> String, series: &str) -> Vec<f64> {
    (1..=10)
        .map(|b| metric(&parse_fixture(&file(b)).1, series).value)
        .collect()
}

/// Builds 5-7 (the slowdown) against the others: the ratio of their medians.
fn step_ratio(values: &[f64]) -> f64 {
    let slow = median(values[4..7].to_vec());
    let fast = median([&values[..4], &values[7..]].concat());
    slow / fast
}

#[test]
fn google_benchmark_repetitions_are_rounds() {
    let (format, got) = parse_fixture("google-benchmark/build-1.json");
    assert_eq!(format, "google-benchmark");
    assert_eq!(
        names(&got),
        [
            "BM_Sum/4096",
            "BM_Sum/4096{measure=cpu_time}",
            "BM_Sum/4096{measure=items_per_second}",
            "BM_Sum/65536",
            "BM_Sum/65536{measure=cpu_time}",
            "BM_Sum/65536{measure=items_per_second}",
            "BM_Copy/65536",
            "BM_Copy/65536{measure=cpu_time}",
            "BM_Copy/65536{measure=bytes_per_second}",
        ]
    );
    let file = json("google-benchmark/build-1.json");
    let runs: Vec<&Value> = file["benchmarks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["run_name"] == "BM_Sum/4096" && b["run_type"] == "iteration")
        .collect();
    assert_eq!(runs.len(), 5);
    let real: Vec<f64> = runs
        .iter()
        .map(|b| b["real_time"].as_f64().unwrap() * 1e-9)
        .collect();
    let m = metric(&got, "BM_Sum/4096");
    assert_eq!(m.unit.as_deref(), Some("s"));
    assert_eq!(m.spread.rounds, 5);
    assert_eq!(m.spread.samples.len(), 5);
    close(m.value, median(real.clone()));
    close(
        m.spread.min.unwrap(),
        real.iter().copied().fold(f64::INFINITY, f64::min),
    );
    let ips = metric(&got, "BM_Sum/4096{measure=items_per_second}");
    assert_eq!(ips.unit.as_deref(), Some("items/s"));
    assert_eq!(ips.direction_or_default(), Direction::HigherIsBetter);
    assert_eq!(m.direction_or_default(), Direction::LowerIsBetter);
    assert_eq!(
        got.timestamp.unwrap().to_rfc3339(),
        "2026-12-06T01:10:16+00:00"
    );
    assert!(got.warnings.is_empty(), "{:?}", got.warnings);
}

#[test]
fn google_benchmark_aggregates_alone_and_single_runs() {
    let (_, got) = parse_fixture("google-benchmark/aggregates-only.json");
    let file = json("google-benchmark/aggregates-only.json");
    let agg = |name: &str| -> f64 {
        file["benchmarks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["name"] == name)
            .unwrap()["cpu_time"]
            .as_f64()
            .unwrap()
            * 1e-9
    };
    let m = metric(&got, "BM_Copy/65536{measure=cpu_time}");
    assert_eq!(m.spread.rounds, 3);
    assert!(m.spread.samples.is_empty());
    close(m.value, agg("BM_Copy/65536_median"));
    close(m.spread.mean.unwrap(), agg("BM_Copy/65536_mean"));
    close(m.spread.stddev.unwrap(), agg("BM_Copy/65536_stddev"));
    let (_, single) = parse_fixture("google-benchmark/single.json");
    assert_eq!(single.metrics.len(), 9);
    assert!(single.metrics.iter().all(|m| m.spread.rounds == 1));
}

#[test]
fn google_benchmark_builds_show_the_real_step() {
    let file = |b| format!("google-benchmark/build-{b}.json");
    let sum = by_build(file, "BM_Sum/4096{measure=cpu_time}");
    assert!(step_ratio(&sum) > 1.7, "{sum:?}");
    let copy = by_build(file, "BM_Copy/65536{measure=cpu_time}");
    assert!((0.9..1.1).contains(&step_ratio(&copy)), "{copy:?}");
}

#[test]
fn pytest_benchmark_rounds_and_parameters() {
    let (format, got) = parse_fixture("pytest-benchmark/build-2.json");
    assert_eq!(format, "pytest-benchmark");
    assert_eq!(
        names(&got),
        [
            "test_bench.py::test_join{n=100}",
            "test_bench.py::test_join{n=1000}",
            "test_bench.py::test_sorted",
        ]
    );
    let file = json("pytest-benchmark/build-2.json");
    let stats = &file["benchmarks"][1]["stats"];
    let m = metric(&got, "test_bench.py::test_join{n=1000}");
    assert_eq!(m.unit.as_deref(), Some("s"));
    assert_eq!(m.spread.rounds, stats["rounds"].as_u64().unwrap());
    assert_eq!(m.spread.samples.len() as u64, m.spread.rounds);
    close(m.value, stats["median"].as_f64().unwrap());
    close(m.spread.max.unwrap(), stats["max"].as_f64().unwrap());
    assert!(got.timestamp.is_some());
    let join = by_build(
        |b| format!("pytest-benchmark/build-{b}.json"),
        "test_bench.py::test_join{n=100}",
    );
    assert!(step_ratio(&join) > 100.0, "{join:?}");
    let sorted = by_build(
        |b| format!("pytest-benchmark/build-{b}.json"),
        "test_bench.py::test_sorted",
    );
    assert!((0.9..1.1).contains(&step_ratio(&sorted)), "{sorted:?}");
}

#[test]
fn pytest_benchmark_statistics_without_data() {
    // The same file without `stats.data`: the statistics alone make the metric.
    let mut file = json("pytest-benchmark/build-3.json");
    for b in file["benchmarks"].as_array_mut().unwrap() {
        b["stats"].as_object_mut().unwrap().remove("data");
    }
    let bytes = serde_json::to_vec(&file).unwrap();
    let got = collect(
        &PytestBenchmark,
        &mut &bytes[..],
        &ParseOptions::new("x.json"),
    )
    .unwrap();
    let stats = &file["benchmarks"][2]["stats"];
    let m = metric(&got, "test_bench.py::test_sorted");
    close(m.value, stats["median"].as_f64().unwrap());
    close(m.spread.stddev.unwrap(), stats["stddev"].as_f64().unwrap());
    assert_eq!(m.spread.rounds, stats["rounds"].as_u64().unwrap());
    assert!(m.spread.samples.is_empty());
}

#[test]
fn hyperfine_times_are_rounds_and_parameters_kept() {
    let (format, got) = parse_fixture("hyperfine/build-6.json");
    assert_eq!(format, "hyperfine");
    assert_eq!(
        names(&got),
        ["sh compress.sh 1{level=1}", "sh compress.sh 9{level=9}"]
    );
    let file = json("hyperfine/build-6.json");
    let m = metric(&got, "sh compress.sh 1{level=1}");
    assert_eq!(m.spread.rounds, 10);
    close(m.value, file["results"][0]["median"].as_f64().unwrap());
    let (_, single) = parse_fixture("hyperfine/single.json");
    assert_eq!(names(&single), ["gzip -1 -c data.txt"]);
    let level1 = by_build(
        |b| format!("hyperfine/build-{b}.json"),
        "sh compress.sh 1{level=1}",
    );
    assert!(step_ratio(&level1) > 1.5, "{level1:?}");
}

#[test]
fn go_bench_lines_merge_into_rounds() {
    let (format, got) = parse_fixture("go-bench/build-1.txt");
    assert_eq!(format, "go-bench");
    assert_eq!(got.metrics.len(), 11);
    let m = metric(&got, "BenchmarkJoin/n=100{pkg=example.com/fixture,procs=2}");
    assert_eq!(m.spread.rounds, 5);
    // The five ns/op of the file, read here by hand.
    let text = String::from_utf8(read("go-bench/build-1.txt")).unwrap();
    let ns: Vec<f64> = text
        .lines()
        .filter(|l| l.starts_with("BenchmarkJoin/n=100-2 "))
        .map(|l| l.split_whitespace().nth(2).unwrap().parse::<f64>().unwrap() * 1e-9)
        .collect();
    assert_eq!(ns.len(), 5);
    close(m.value, median(ns));
    let allocs = metric(
        &got,
        "BenchmarkJoin/n=100{measure=allocs/op,pkg=example.com/fixture,procs=2}",
    );
    assert_eq!(
        (allocs.value, allocs.unit.as_deref()),
        (1.0, Some("allocs"))
    );
    let mbs = metric(
        &got,
        "BenchmarkUpper{measure=MB/s,pkg=example.com/fixture,procs=2}",
    );
    assert_eq!(mbs.direction_or_default(), Direction::HigherIsBetter);
    let (_, one) = parse_fixture("go-bench/procs1.txt");
    assert!(names(&one).contains(&"BenchmarkUpper{pkg=example.com/fixture}".to_string()));
    let file = |b| format!("go-bench/build-{b}.txt");
    let allocs = by_build(
        file,
        "BenchmarkJoin/n=100{measure=allocs/op,pkg=example.com/fixture,procs=2}",
    );
    assert_eq!(
        allocs,
        [1.0, 1.0, 1.0, 1.0, 198.0, 198.0, 198.0, 1.0, 1.0, 1.0]
    );
}

#[test]
fn criterion_estimates_are_named_by_their_path() {
    let rel = "criterion/build-5/criterion/join/100/new/estimates.json";
    let (format, got) = parse_fixture(rel);
    assert_eq!(format, "criterion");
    assert_eq!(names(&got), ["join/100"]);
    let file = json(rel);
    let m = &got.metrics[0];
    close(
        m.value,
        file["median"]["point_estimate"].as_f64().unwrap() * 1e-9,
    );
    close(
        m.spread.stddev.unwrap(),
        file["std_dev"]["point_estimate"].as_f64().unwrap() * 1e-9,
    );
    assert_eq!(m.spread.rounds, 0);
    let (_, sort) = parse_fixture("criterion/build-1/criterion/sort 4096/new/estimates.json");
    assert_eq!(names(&sort), ["sort 4096"]);
    // Without a path that names the benchmark, a clear error.
    let err = collect(
        &CriterionEstimates,
        &mut &read(rel)[..],
        &ParseOptions::new("-"),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("comes from the file's path"),
        "{err}"
    );
}

#[test]
fn cargo_criterion_samples_are_rounds() {
    let (format, got) = parse_fixture("criterion/build-2.jsonl");
    assert_eq!(format, "cargo-criterion");
    assert_eq!(names(&got), ["join/100", "join/1000", "sort 4096"]);
    let line: Value = String::from_utf8(read("criterion/build-2.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|v| v["id"] == "join/1000")
        .unwrap();
    let per_iter: Vec<f64> = line["measured_values"]
        .as_array()
        .unwrap()
        .iter()
        .zip(line["iteration_count"].as_array().unwrap())
        .map(|(m, i)| m.as_f64().unwrap() / i.as_f64().unwrap() * 1e-9)
        .collect();
    let m = metric(&got, "join/1000");
    assert_eq!(m.spread.rounds, 20);
    close(m.value, median(per_iter));
    let join = by_build(|b| format!("criterion/build-{b}.jsonl"), "join/100");
    assert!(step_ratio(&join) > 5.0, "{join:?}");
    let est = by_build(
        |b| format!("criterion/build-{b}/criterion/join/100/new/estimates.json"),
        "join/100",
    );
    assert!(step_ratio(&est) > 5.0, "{est:?}");
}

#[test]
fn generic_forms_agree_with_each_other() {
    for b in 1..=10 {
        let (lf, lines) = parse_fixture(&format!("generic/build-{b}.txt"));
        let (jf, json) = parse_fixture(&format!("generic/build-{b}.json"));
        assert_eq!((lf, jf), ("metric-lines", "metrics-json"));
        assert_eq!(
            names(&lines),
            ["binary_size{target=x86_64}", "compile_time", "peak_rss"]
        );
        assert_eq!(names(&json), names(&lines));
        for (l, j) in lines.metrics.iter().zip(&json.metrics) {
            close(l.value, j.value);
            assert_eq!(l.unit, j.unit);
            assert_eq!(l.spread.rounds, j.spread.rounds);
        }
        let rss = metric(&json, "peak_rss");
        assert_eq!((rss.spread.rounds, rss.unit.as_deref()), (3, Some("B")));
        assert_eq!(rss.direction, Some(Direction::LowerIsBetter));
    }
    let size = by_build(
        |b| format!("generic/build-{b}.txt"),
        "binary_size{target=x86_64}",
    );
    assert!(step_ratio(&size) > 10.0, "{size:?}");
}

#[test]
fn every_fixture_is_sniffed_as_its_own_format_even_without_a_name() {
    let expect = [
        ("google-benchmark/", "google-benchmark"),
        ("pytest-benchmark/", "pytest-benchmark"),
        ("hyperfine/", "hyperfine"),
        ("go-bench/", "go-bench"),
        ("generic/build-1.txt", "metric-lines"),
        ("generic/build-1.json", "metrics-json"),
        ("criterion/build-1.jsonl", "cargo-criterion"),
        (
            "criterion/build-1/criterion/join/100/new/estimates.json",
            "criterion",
        ),
    ];
    for (prefix, name) in expect {
        let files: Vec<String> = if prefix.ends_with('/') {
            let mut files: Vec<String> = std::fs::read_dir(root().join(prefix))
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|f| f.ends_with(".json") || f.ends_with(".txt"))
                .map(|f| format!("{prefix}{f}"))
                .collect();
            files.sort();
            files
        } else {
            vec![prefix.to_string()]
        };
        assert!(!files.is_empty(), "{prefix}");
        for rel in files {
            let bytes = read(&rel);
            let anonymous = detect(&bytes, &ParseOptions::new("-")).map(|f| f.name());
            assert_eq!(anonymous, Some(name), "{rel}");
        }
    }
    // Test reports are not metric files.
    for other in [
        &b"<?xml version=\"1.0\"?><testsuites/>"[..],
        b"tests.test_a ... ok\n",
        b"src/a.c:1:2: warning: x [-Wall]\n",
        b"",
    ] {
        assert!(detect(other, &ParseOptions::new("-")).is_none());
    }
}

/// Parses `text` with `format` and returns the error's text.
fn error(format: &dyn MetricFormat, source: &str, text: &str) -> String {
    collect(format, &mut text.as_bytes(), &ParseOptions::new(source))
        .map(|c| panic!("no error: {:?}", names(&c)))
        .unwrap_err()
        .to_string()
}

#[test]
fn errors_name_the_file_the_place_and_what() {
    let cases: Vec<(&dyn MetricFormat, &str, &str, &str)> = vec![
        (
            &GoogleBenchmark,
            "{\"benchmarks\": [\n {\"name\": \"a\", \"real_time\": \"fast\"}]}",
            "failed to parse Google Benchmark JSON at gb.json:2:29 (benchmarks[0]/real_time): expected a number, found a string",
            "gb.json",
        ),
        (
            &GoogleBenchmark,
            "{\"benchmarks\": [{\"name\": \"a\", \"real_time\": 1, \"time_unit\": \"fortnights\"}]}",
            "failed to parse Google Benchmark JSON at gb.json:1:60 (benchmarks[0]/time_unit): unknown time unit \"fortnights\"",
            "gb.json",
        ),
        (
            &GoogleBenchmark,
            "{\"context\": {}}",
            "failed to parse Google Benchmark JSON at gb.json:1:1: no `benchmarks` array: not a Google Benchmark JSON file",
            "gb.json",
        ),
        (
            &PytestBenchmark,
            "{\"benchmarks\": [{\"fullname\": \"t\", \"stats\": {\"data\": [1, null]}}]}",
            "failed to parse pytest-benchmark JSON at pb.json:1:57 (benchmarks[0]/stats/data[1]): expected a number, found null",
            "pb.json",
        ),
        (
            &Hyperfine,
            "{\"results\": [{\"command\": \"x\", \"times\": [0.1,\n 0.2,",
            "failed to parse hyperfine JSON at hf.json:2:6: invalid JSON: unexpected end of file: the file is truncated",
            "hf.json",
        ),
        (
            &CargoCriterion,
            "{\"reason\":\"group-complete\"}\n{\"reason\":\"benchmark-complete\",\"id\":\"a\",\"iteration_count\":[1],\"measured_values\":[]}\n",
            "failed to parse cargo-criterion JSON at cc.jsonl:2:81 (measured_values): 0 measured values for 1 iteration counts",
            "cc.jsonl",
        ),
        (
            &GenericJson,
            "{\"metrics\": [{\"name\": \"size\", \"value\": 3, \"direction\": \"up\"}]}",
            "failed to parse generic metrics JSON at m.json:1:56 (metrics[0]/direction): unknown direction `up` (expected `lower` or `higher`)",
            "m.json",
        ),
        (
            &GenericJson,
            "{\"metrics\": [{\"name\": \"size\"}]}",
            "failed to parse generic metrics JSON at m.json:1:14 (metrics[0]): metric size has neither `value` nor `samples`",
            "m.json",
        ),
        (
            &GenericLines,
            "# sizes\nsize 12 MB\nspeed fast\n",
            "failed to parse generic metric lines at m.txt:3:7: invalid number \"fast\"",
            "m.txt",
        ),
        (
            &GenericLines,
            "size 12MB extra\n",
            "failed to parse generic metric lines at m.txt:1:11: a unit after a value that has one: \"extra\"",
            "m.txt",
        ),
        (
            &GenericLines,
            "size{a} 1\n",
            "failed to parse generic metric lines at m.txt:1:1: parameter `a` of `size{a}` has no `=value`",
            "m.txt",
        ),
    ];
    for (format, text, says, source) in cases {
        assert_eq!(error(format, source, text), says);
    }
}

#[test]
fn truncated_fixtures_fail_cleanly_at_every_cut() {
    for rel in [
        "google-benchmark/build-1.json",
        "pytest-benchmark/build-1.json",
        "hyperfine/build-1.json",
        "criterion/build-1.jsonl",
        "criterion/build-1/criterion/join/100/new/estimates.json",
        "generic/build-1.json",
    ] {
        let bytes = read(rel);
        let options = ParseOptions::new(format!("target/{rel}"));
        let format = detect(&bytes, &options).unwrap();
        let step = (bytes.len() / 97).max(1);
        for cut in (1..bytes.len()).step_by(step) {
            match collect(format, &mut &bytes[..cut], &options) {
                // JSON lines cut at a line's end are whole lines.
                Ok(_) => assert_eq!(format.name(), "cargo-criterion", "{rel} cut at {cut}"),
                Err(err) => {
                    let text = err.to_string();
                    assert!(text.contains(&format!("target/{rel}:")), "{text}");
                }
            }
        }
    }
}
