//! The analysis on long generated histories: incremental and `reanalyze` agree, ids are stable,
//! and the broken tests' Problems name the changes that broke and fixed them.

use crate::generate::{history, Shape};
use crate::harness::Test;

#[test]
fn incremental_analysis_and_reanalyze_agree_on_a_long_history() {
    let t = Test::new();
    let dir = t.path("history");
    let truth = history(
        &dir,
        &Shape {
            builders: 3,
            builds: 200,
            tests: 24,
            flaky: 4,
            broken: 6,
            seed: 7,
        },
    );
    // Hold some builds back and send them late, out of order, as a lagging CI would.
    let late = t.path("late");
    std::fs::create_dir_all(&late).unwrap();
    let mut held = Vec::new();
    for number in [1050i64, 1120, 1121, 1199] {
        let from = dir.join("builder-0").join(format!("{number}.xml"));
        let to = late.join(format!("{number}.xml"));
        std::fs::rename(&from, &to).unwrap();
        held.push(("builder-0", number, to));
    }
    // And a slow builder whose last builds report after the others' later ones: each is the
    // newest of its builder, but not the newest in time.
    for number in 2190i64..2200 {
        let from = dir.join("builder-1").join(format!("{number}.xml"));
        let to = late.join(format!("{number}.xml"));
        std::fs::rename(&from, &to).unwrap();
        held.push(("builder-1", number, to));
    }
    let summary = t.json(&["import", dir.to_str().unwrap()]);
    assert_eq!(summary["imported"], 600 - held.len());
    let tsv = std::fs::read_to_string(dir.join("builds.tsv")).unwrap();
    let (late0, late1): (Vec<_>, Vec<_>) = held.iter().partition(|(b, ..)| *b == "builder-0");
    for (builder, number, path) in late1.iter().chain(late0.iter().rev()) {
        let row: Vec<&str> = tsv
            .lines()
            .find(|l| l.starts_with(&format!("{builder}\t{number}\t")))
            .unwrap()
            .split('\t')
            .collect();
        t.ingest(
            builder,
            *number,
            &[
                "--revision",
                row[2],
                "--time",
                row[4],
                path.to_str().unwrap(),
            ],
        );
    }
    // And take one back.
    t.ok(&["delete-build", "builder-1", "2100"]);

    let incremental = t.json(&["problems", "--all", "--intermittent"]);
    assert!(incremental.as_array().unwrap().len() > 10);
    t.ok(&["reanalyze"]);
    let reanalyzed = t.json(&["problems", "--all", "--intermittent"]);
    assert_eq!(incremental, reanalyzed, "incremental and reanalyze differ");

    // Every broken episode that hit a builder is a non-intermittent Problem of its test.
    let problems = incremental.as_array().unwrap();
    for (test, start, _, _) in &truth.broken {
        let found: Vec<_> = problems
            .iter()
            .filter(|p| p["test"] == test.as_str() && p["intermittent"] == false)
            .collect();
        assert!(!found.is_empty(), "no Problem for broken {test}");
        // The breaking revision is among the starting changes of one of them.
        assert!(
            found.iter().any(|p| p["started_by"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["revision"] == truth.revisions[*start].as_str())),
            "{test}: breaking revision {} not among suspects: {found:#?}",
            truth.revisions[*start]
        );
    }
    // A flaky test's failures are intermittent Problems, not a string of breaks: only its very
    // first one (before there was evidence) or a rare long streak of chance failures may look like a
    // break.
    for flaky in &truth.flaky {
        let mine: Vec<_> = problems
            .iter()
            .filter(|p| p["test"] == flaky.as_str())
            .collect();
        let breaks: Vec<_> = mine.iter().filter(|p| p["intermittent"] == false).collect();
        assert!(mine.len() >= 5, "{flaky} flips often: {}", mine.len());
        assert!(
            breaks.len() * 10 <= mine.len(),
            "{flaky}: {} of {} are breaks: {breaks:#?}",
            breaks.len(),
            mine.len()
        );
    }
}

/// A Problem judged intermittent at its fix becomes a break as its builder passes after it: the
/// test's failure rate around it falls with each pass, until its long streak is too unlikely for a
/// flaky test (docs/flaky.md, *When a Problem is intermittent*). The test only passes in those
/// builds, so ingest must judge again the Problems its builder fixed in its last AFTER builds, not
/// only the tests that fail or failed last; `reanalyze`, judging the whole history, agrees.
#[test]
fn passes_after_a_fix_make_an_intermittent_problem_a_break() {
    let t = Test::new();
    let dir = t.path("reports");
    std::fs::create_dir_all(&dir).unwrap();
    // Two short streaks, then a streak of four fixed by build 18; then passes only.
    let pattern = format!("PPPPPPFFPPFPPFFFFP{}", "P".repeat(8));
    let streak = |problems: &serde_json::Value| {
        let found: Vec<&serde_json::Value> = (problems.as_array().unwrap().iter())
            .filter(|p| p["test"] == "c.sometimes" && p["first_failure"]["build"] == 14)
            .collect();
        assert_eq!(found.len(), 1, "one Problem from build 14: {problems:#}");
        found[0].clone()
    };
    for (k, outcome) in pattern.chars().enumerate() {
        let number = k as i64 + 1;
        let path = dir.join(format!("{number}.xml"));
        write_report(&path, "sometimes", outcome);
        let time = format!("2026-01-01T{:02}:{:02}:00Z", k / 60, k % 60);
        t.ingest("linux", number, &["--time", &time, path.to_str().unwrap()]);
        let problems = t.json(&["problems", "--all", "--intermittent"]);
        // Around the streak, 3 failures outside it (builds 7, 8 and 11) of 14 runs at its fix: a
        // flaky test with that failure rate fails four times running with a chance of
        // (3/14)^4 = 0.0021, and of (3/15)^4, (3/16)^4 = 0.0016, 0.0012 one and two passes on, all
        // at least `CHANCE` (0.001); three passes on, (3/17)^4 = 0.00097 is under it.
        match number {
            // At its fix and two passes on, two short streaks before it make it a flaky test's
            // failure...
            18..=20 => assert_eq!(streak(&problems)["intermittent"], true, "at build {number}"),
            // ... and three passes on, a break.
            21.. => assert_eq!(
                streak(&problems)["intermittent"],
                false,
                "after build {number}"
            ),
            _ => {}
        }
    }
    let incremental = t.json(&["problems", "--all", "--intermittent"]);
    t.ok(&["reanalyze"]);
    let reanalyzed = t.json(&["problems", "--all", "--intermittent"]);
    assert_eq!(incremental, reanalyzed, "incremental and reanalyze differ");
}

/// A retired builder's failure, then another builder's passes, then its failures fixed again: two
/// Problems. A prune takes the passes and freezes the later Problem (it starts within 50 builds of
/// the cut); judged again, the stored results read as one streak from the retired builder's
/// failure, which the frozen Problem stands for. The retired builder's Problem stays (its failure
/// is still stored), hidden by a known-bad range over its failure and shown again when the range is
/// taken back (docs/ARCHITECTURE.md, *Prune*).
#[test]
fn a_problem_before_a_frozen_one_stays_and_a_known_bad_range_hides_and_shows_it() {
    let t = Test::new();
    let dir = t.path("reports");
    std::fs::create_dir_all(&dir).unwrap();
    // `prune --older-than` counts back from the wall clock: the builds are placed from it.
    #[allow(clippy::disallowed_methods)]
    let now = chrono::Utc::now().timestamp();
    // (builder, number, hours ago, outcome of c.flaky: P, F or absent)
    let builds = [
        ("b", 1, 20, 'P'),
        ("a", 1, 19, 'F'),
        ("b", 2, 18, 'P'),
        ("b", 3, 17, 'P'),
        ("b", 4, 16, 'P'),
        ("a", 2, 15, '-'),
        ("b", 5, 4, '-'),
        ("b", 6, 3, 'F'),
        ("b", 7, 2, 'F'),
        ("b", 8, 1, 'P'),
    ];
    for (builder, number, hours, outcome) in builds {
        let path = dir.join(format!("{builder}-{number}.xml"));
        write_report(&path, "flaky", outcome);
        let time = chrono::DateTime::from_timestamp(now - hours * 3600, 0)
            .unwrap()
            .to_rfc3339();
        t.ingest(builder, number, &["--time", &time, path.to_str().unwrap()]);
    }
    t.ok(&["builders", "retire", "a"]);
    let firsts = |t: &Test| -> Vec<(String, i64)> {
        let problems = t.json(&["problems", "--all", "--intermittent"]);
        let mut out: Vec<(String, i64)> = (problems.as_array().unwrap().iter())
            .map(|p| {
                let first = &p["first_failure"];
                (
                    first["builder"].as_str().unwrap().to_owned(),
                    first["build"].as_i64().unwrap(),
                )
            })
            .collect();
        out.sort();
        out
    };
    let both = vec![("a".to_owned(), 1), ("b".to_owned(), 6)];
    assert_eq!(firsts(&t), both);
    // b #2-4 go (b #5, the build before b #6's failure, stays); a #1's open failure stays.
    t.ok(&["prune", "--older-than", "10h"]);
    let kept = t.json(&["builds", "--builder", "b"]);
    assert!(
        !kept.to_string().contains("\"number\":3"),
        "b #3 pruned: {kept}"
    );
    t.ok(&["reanalyze"]);
    assert_eq!(firsts(&t), both, "after the prune");
    t.ok(&[
        "mark-bad",
        "--builder",
        "a",
        "--from",
        "1",
        "--to",
        "1",
        "--reason",
        "runner broken",
    ]);
    assert_eq!(firsts(&t), vec![("b".to_owned(), 6)], "a #1 known bad");
    t.ok(&["unmark-bad", "--builder", "a", "--from", "1"]);
    assert_eq!(firsts(&t), both, "a #1 counts again");
    t.ok(&["reanalyze"]);
    assert_eq!(firsts(&t), both, "reanalyzed again");
}

/// A JUnit report of `c.NAME` (`F` failed, `P` passed, anything else not run) beside `c.steady`,
/// which always passes.
fn write_report(path: &std::path::Path, name: &str, outcome: char) {
    let case = match outcome {
        'F' => format!(
            "<testcase classname=\"c\" name=\"{name}\"><failure message=\"boom\"/></testcase>"
        ),
        'P' => format!("<testcase classname=\"c\" name=\"{name}\"/>"),
        _ => String::new(),
    };
    let suite = format!(
        "<testsuite name=\"s\">{case}<testcase classname=\"c\" name=\"steady\"/></testsuite>"
    );
    std::fs::write(path, suite).unwrap();
}
