//! `probtrack flaky` on scripted and generated histories.

use crate::generate::{history, scripted, Pattern, Shape};
use crate::harness::Test;

/// Imports scripted outcomes and returns `flaky --min-score 0` as (test, score, builders).
fn ranking(t: &Test, patterns: &[Pattern<'_>]) -> Vec<(String, f64, Vec<String>)> {
    let dir = t.path("scripted");
    scripted(&dir, patterns);
    t.ok(&["import", dir.to_str().unwrap()]);
    scores(t, &["--min-score", "0"])
}

fn scores(t: &Test, extra: &[&str]) -> Vec<(String, f64, Vec<String>)> {
    let mut args = vec!["flaky"];
    args.extend(extra);
    t.json(&args)
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["test"].as_str().unwrap().to_owned(),
                r["score"].as_f64().unwrap(),
                r["builders"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|b| b.as_str().unwrap().to_owned())
                    .collect(),
            )
        })
        .collect()
}

fn rank_of(list: &[(String, f64, Vec<String>)], test: &str) -> Option<usize> {
    list.iter().position(|(t, ..)| t == test)
}

#[test]
fn a_retry_flake_outranks_one_old_flip_and_a_real_break_is_not_flaky() {
    let t = Test::new();
    let retried = format!("{}RPPPP", "P".repeat(40));
    let old_flip = format!("PF{}", "P".repeat(43));
    let broken = format!("PPPPPFFFFFFFF{}", "P".repeat(32));
    let stable = "P".repeat(45);
    let list = ranking(
        &t,
        &[
            Pattern {
                builder: "linux",
                test: "pkg.T.test_retried",
                outcomes: &retried,
            },
            Pattern {
                builder: "linux",
                test: "pkg.T.test_old_flip",
                outcomes: &old_flip,
            },
            Pattern {
                builder: "linux",
                test: "pkg.T.test_broken_then_fixed",
                outcomes: &broken,
            },
            Pattern {
                builder: "linux",
                test: "pkg.T.test_stable",
                outcomes: &stable,
            },
        ],
    );
    let retried = rank_of(&list, "pkg.T.test_retried").expect("a retry flake is flaky");
    let old = rank_of(&list, "pkg.T.test_old_flip");
    assert!(old.is_none_or(|old| retried < old), "{list:?}");
    assert_eq!(
        rank_of(&list, "pkg.T.test_broken_then_fixed"),
        None,
        "{list:?}"
    );
    assert_eq!(rank_of(&list, "pkg.T.test_stable"), None);
    // The default list (over the threshold) has the retry flake and not the one old flip.
    let default = scores(&t, &[]);
    assert!(rank_of(&default, "pkg.T.test_retried").is_some());
    assert!(
        rank_of(&default, "pkg.T.test_old_flip").is_none(),
        "{default:?}"
    );
    // The quarantine list is bare identities.
    assert_eq!(t.ok(&["flaky", "--format", "list"]), "pkg.T.test_retried\n");
}

#[test]
fn a_test_flaky_on_one_builder_names_that_builder() {
    let t = Test::new();
    let list = ranking(
        &t,
        &[
            Pattern {
                builder: "windows",
                test: "pkg.T.test_race",
                outcomes: "PPFPPPFPPFPPPPFPPPFPPP",
            },
            Pattern {
                builder: "linux",
                test: "pkg.T.test_race",
                outcomes: "PPPPPPPPPPPPPPPPPPPPPP",
            },
            Pattern {
                builder: "macos",
                test: "pkg.T.test_race",
                outcomes: "PPPPPPPPPPPPPPPPPPPPPP",
            },
        ],
    );
    let (_, score, builders) = &list[rank_of(&list, "pkg.T.test_race").expect("flaky")];
    assert!(*score > 0.05, "{list:?}");
    assert_eq!(builders, &["windows"]);
    // On its own builder it is flakier than across all of them.
    let windows = scores(&t, &["--builder", "windows"]);
    assert!(windows[0].1 > *score);
    assert!(scores(&t, &["--builder", "linux", "--min-score", "0"]).is_empty());
}

#[test]
fn a_fixed_flaky_test_falls_as_passing_runs_accumulate() {
    let t = Test::new();
    let flaky_then_fixed = format!("{}{}", "PFPPFPFPPFPFPPF", "P".repeat(80));
    let list = ranking(
        &t,
        &[
            Pattern {
                builder: "linux",
                test: "pkg.T.test_fixed",
                outcomes: &flaky_then_fixed[..15],
            },
            Pattern {
                builder: "linux",
                test: "pkg.T.test_mild",
                outcomes: "PPPPPPPFPPPPPPP",
            },
        ],
    );
    let before = list[rank_of(&list, "pkg.T.test_fixed").unwrap()].1;
    assert_eq!(rank_of(&list, "pkg.T.test_fixed"), Some(0));
    // The same history, with the fix's passes after it.
    let u = Test::new();
    let mild = format!("PPPPPPPFPPPPPPP{}", "P".repeat(70));
    let mild = format!("{mild}FPPPPPPPPP");
    let later = ranking(
        &u,
        &[
            Pattern {
                builder: "linux",
                test: "pkg.T.test_fixed",
                outcomes: &flaky_then_fixed,
            },
            Pattern {
                builder: "linux",
                test: "pkg.T.test_mild",
                outcomes: &mild,
            },
        ],
    );
    let after = later[rank_of(&later, "pkg.T.test_fixed").unwrap()].1;
    assert!(after < before / 2.0, "{before} → {after}");
    assert!(
        rank_of(&later, "pkg.T.test_mild") < rank_of(&later, "pkg.T.test_fixed"),
        "{later:?}"
    );
}

#[test]
fn flaky_finds_the_generated_flaky_tests_and_no_broken_one() {
    let t = Test::new();
    let dir = t.path("history");
    let truth = history(
        &dir,
        &Shape {
            builders: 3,
            builds: 80,
            tests: 60,
            flaky: 6,
            broken: 8,
            seed: 11,
        },
    );
    t.ok(&["import", dir.to_str().unwrap()]);
    let all = t.json(&["flaky", "--min-score", "0", "--min-runs", "1"]);
    let failures = |test: &str| {
        all.as_array()
            .unwrap()
            .iter()
            .find(|r| r["test"] == test)
            .map_or(0, |r| r["failures"].as_u64().unwrap())
    };
    let listed: Vec<String> = scores(&t, &[]).into_iter().map(|(t, ..)| t).collect();
    let k = truth.flaky.len();
    let top: Vec<&String> = listed.iter().take(k).collect();
    let true_positives = top.iter().filter(|t| truth.flaky.contains(t)).count();
    let precision = true_positives as f64 / top.len().max(1) as f64;
    let eligible: Vec<&String> = truth.flaky.iter().filter(|f| failures(f) >= 3).collect();
    let recall =
        eligible.iter().filter(|f| top.contains(f)).count() as f64 / eligible.len().max(1) as f64;
    assert!(
        precision >= 0.95,
        "precision {precision}: {top:?} vs {:?}",
        truth.flaky
    );
    assert!(recall >= 0.95, "recall {recall}: {top:?} vs {eligible:?}");
    for (broken, ..) in &truth.broken {
        assert!(!top.contains(&broken), "broken {broken} ranked flaky");
    }
}

#[test]
fn message_variety_is_shown() {
    let t = Test::new();
    ranking(
        &t,
        &[
            Pattern {
                builder: "linux",
                test: "pkg.T.test_varied",
                outcomes: "PPFPPPTPPFPPTP",
            },
            Pattern {
                builder: "linux",
                test: "pkg.T.test_same",
                outcomes: "PPFPPPFPPFPPFP",
            },
        ],
    );
    let list = t.json(&["flaky"]);
    let messages = |test: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|r| r["test"] == test)
            .unwrap()["messages"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(messages("pkg.T.test_varied"), 2);
    assert_eq!(messages("pkg.T.test_same"), 1);
}

#[test]
fn history_marks_flaky_outcomes() {
    let t = Test::new();
    ranking(
        &t,
        &[
            Pattern {
                builder: "linux",
                test: "pkg.T.test_race",
                outcomes: "PPFPPPFPPRPPFP",
            },
            Pattern {
                builder: "linux",
                test: "pkg.T.test_broken",
                outcomes: "PPPPPPPFFFFFFF",
            },
        ],
    );
    let race = t.json(&["history", "test_race"]);
    let results = race["builders"][0]["results"].as_array().unwrap();
    let flakes: Vec<i64> = results
        .iter()
        .filter(|r| r["flake"] == true)
        .map(|r| r["build"].as_i64().unwrap())
        .collect();
    assert_eq!(flakes, [13, 10, 7, 3], "{race:#}");
    let retry = results.iter().find(|r| r["build"] == 10).unwrap();
    assert_eq!(retry["status"], "flaky");
    let broken = t.json(&["history", "test_broken"]);
    assert!(broken["builders"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["flake"] == false));
    let table = t.ok(&["history", "test_race"]);
    assert!(table.contains("failed (flake)"), "{table}");
}

/// A test's runner id (pytest's node id, from the report's `file`) is the last one given, where a
/// build of hundreds of tests has the store read the whole `tests` table once a write and keep it
/// up to date, and an import writes several builds in one write.
#[test]
fn a_flaky_tests_runner_id_is_the_last_one_its_reports_gave() {
    let t = Test::new();
    let dir = t.path("history");
    std::fs::create_dir_all(dir.join("ci")).unwrap();
    // 300 tests; tests.test_a.test_7 fails in every other build.
    let report = |number: usize, file: Option<&str>| {
        let mut xml = String::from("<?xml version=\"1.0\"?>\n<testsuite name=\"s\">\n");
        for i in 0..300 {
            let file = file.map_or(String::new(), |f| format!(" file=\"{f}\""));
            let failure = if i == 7 && number % 2 == 1 {
                "<failure message=\"boom\"/>"
            } else {
                ""
            };
            xml.push_str(&format!(
                "  <testcase classname=\"tests.test_a\" name=\"test_{i}\"{file} time=\"0.1\">{failure}</testcase>\n"
            ));
        }
        xml + "</testsuite>\n"
    };
    let mut tsv = String::from("builder\tnumber\trevision\tauthor\ttimestamp\tchanges\n");
    for number in 1..=6 {
        // Builds 3 and 4 give another node id (a Windows path) than the others.
        let file = if matches!(number, 3 | 4) {
            "tests\\test_a.py"
        } else {
            "tests/test_a.py"
        };
        std::fs::write(
            dir.join("ci").join(format!("{number}.xml")),
            report(number, Some(file)),
        )
        .unwrap();
        tsv.push_str(&format!(
            "ci\t{number}\tr{number}\tAda <ada@example.org>\t2026-01-0{number}T00:00:00Z\tr{number}\n"
        ));
    }
    std::fs::write(dir.join("builds.tsv"), tsv).unwrap();
    t.ok(&["import", dir.to_str().unwrap()]);
    let runner_id = |t: &Test| {
        let flaky = t.json(&["flaky", "--min-score", "0"]);
        let row = (flaky.as_array().unwrap().iter())
            .find(|r| r["test"] == "tests.test_a.test_7")
            .unwrap_or_else(|| panic!("{flaky}"))
            .clone();
        row["runner_id"].clone()
    };
    assert_eq!(runner_id(&t), "tests/test_a.py::test_7");
    // An ingest that gives another one replaces it; one that gives none keeps it.
    let ingest = |number: usize, file: Option<&str>| {
        let path = t.path(&format!("{number}.xml"));
        std::fs::write(&path, report(number, file)).unwrap();
        let number = number.to_string();
        t.ok(&[
            "ingest",
            "--builder",
            "ci",
            "--build",
            &number,
            path.to_str().unwrap(),
        ]);
    };
    ingest(7, Some("tests\\test_a.py"));
    assert_eq!(runner_id(&t), "tests\\test_a.py::test_7");
    ingest(8, None);
    assert_eq!(runner_id(&t), "tests\\test_a.py::test_7");
}
