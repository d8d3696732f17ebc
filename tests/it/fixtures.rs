//! Every fixture through `probtrack parse`: the exact results each yields (snapshots in
//! tests/it/snapshots), and that `--parser auto` picks the fixture's own parser.

use std::path::{Path, PathBuf};

use crate::harness::Test;

/// The report files under `fixtures/<family>/`: JUnit `*.xml`, trial `output.txt`, TRX `*.trx`,
/// NUnit `*.xml`, compiler `build*.log`, go test `output.json`, TAP `output.tap`, libtest and
/// unittest `output.txt` (sources written to provoke them are not reports).
pub fn reports(family: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(family);
    let mut all = Vec::new();
    walk(&root, &mut all);
    all.retain(|p| {
        let rel = p
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let top = rel.split('/').next().unwrap_or("");
        let source_dir =
            top.ends_with("-src") || rel.contains("/crate/") || rel.contains("/project");
        !source_dir
            && match family {
                "junit" => name.ends_with(".xml"),
                "trial" => name == "output.txt",
                "trx" => name.ends_with(".trx"),
                "nunit" => name.ends_with(".xml"),
                "gotest" => name == "output.json",
                "tap" => name == "output.tap",
                "libtest" | "unittest" => name == "output.txt",
                _ => name.starts_with("build") && name.ends_with(".log"),
            }
    });
    all
}

/// One line a result: status, attempts, identity, and the message's first line.
fn render(results: &serde_json::Value) -> String {
    let mut out = String::new();
    for r in results.as_array().unwrap() {
        let message = r["message"]
            .as_str()
            .map(|m| {
                m.lines()
                    .next()
                    .unwrap_or("")
                    .chars()
                    .take(80)
                    .collect::<String>()
            })
            .unwrap_or_default();
        let extra = match r["details"]["count"].as_u64() {
            Some(n) if n > 1 => format!(" ×{n}"),
            _ => String::new(),
        };
        out += &format!(
            "{:<18} {} {}{extra}  | {message}\n",
            r["status"].as_str().unwrap(),
            r["attempts"],
            r["test"].as_str().unwrap()
        );
    }
    out
}

fn sweep(family: &str) {
    let t = Test::new();
    let files = reports(family);
    assert!(!files.is_empty(), "no {family} fixtures");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    for file in files {
        let path = file.to_str().unwrap();
        let auto = t.json(&["parse", path]);
        let forced = t.json(&["parse", "--parser", family, path]);
        assert_eq!(
            auto, forced,
            "--parser auto does not pick {family} for {path}"
        );
        let name = file
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .replace(['/', '.'], "_");
        insta::assert_snapshot!(name, render(&auto));
    }
}

#[test]
fn every_junit_fixture() {
    sweep("junit");
}

#[test]
fn every_trial_fixture() {
    sweep("trial");
}

#[test]
fn every_compiler_fixture() {
    sweep("gcc");
}

#[test]
fn every_trx_fixture() {
    sweep("trx");
}

#[test]
fn every_nunit_fixture() {
    sweep("nunit");
}

/// The .NET reports through `ingest`, each as a build of its own: what was stored and which
/// Problems it opened.
#[test]
fn dotnet_fixtures_ingest() {
    let t = Test::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut out = String::new();
    let mut number = 0;
    for family in ["trx", "nunit"] {
        for file in reports(family) {
            number += 1;
            let relative = file
                .strip_prefix(&root)
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned();
            std::fs::create_dir_all(t.path(&relative).parent().unwrap()).unwrap();
            std::fs::copy(&file, t.path(&relative)).unwrap();
            let summary = t.ingest(family, number, &[&relative]);
            let report = &summary["reports"][0];
            out += &format!(
                "{relative}: {} {} results, counts {:?}, warnings {}\n",
                report["parser"],
                report["results"],
                crate::harness::counts(&summary),
                summary["warnings"]
            );
            let mut problems: Vec<&str> = summary["new_problems"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["test"].as_str().unwrap())
                .collect();
            problems.sort_unstable();
            for test in problems {
                out += &format!("  new Problem: {test}\n");
            }
        }
    }
    insta::assert_snapshot!("dotnet_ingest", out);
}

#[test]
fn every_gotest_fixture() {
    sweep("gotest");
}

#[test]
fn every_tap_fixture() {
    sweep("tap");
}

#[test]
fn every_libtest_fixture() {
    sweep("libtest");
}

#[test]
fn every_unittest_fixture() {
    sweep("unittest");
}

#[test]
fn binary_empty_and_invalid_utf8_inputs_end_cleanly() {
    let t = Test::new();
    // An ELF binary: no parser recognises it.
    let bin = crate::harness::BIN;
    let stderr = t.fails(&["parse", bin], 3);
    assert!(stderr.contains("cannot tell the format"), "{stderr}");
    for parser in [
        "junit", "trial", "gcc", "trx", "nunit", "gotest", "tap", "libtest", "unittest",
    ] {
        let out = t.run(&["parse", "--parser", parser, "--format", "json", bin]);
        assert!(
            matches!(out.status.code(), Some(0 | 3)),
            "{parser}: {:?}",
            out.status
        );
        assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    }
    std::fs::write(t.path("empty.log"), b"").unwrap();
    t.fails(&["parse", "empty.log"], 3);
    for parser in ["trial", "gcc", "gotest", "tap", "libtest", "unittest"] {
        let results = t.json(&["parse", "--parser", parser, "empty.log"]);
        assert_eq!(results, serde_json::json!([]), "{parser}");
    }
    t.fails(&["parse", "--parser", "junit", "empty.log"], 3);
    // The real Latin-1 compiler log: not valid UTF-8, read faithfully.
    let latin1 = crate::harness::fixture("gcc/latin1-gcc/build.log");
    let results = t.json(&["parse", latin1.to_str().unwrap()]);
    assert!(!results.as_array().unwrap().is_empty());
}
