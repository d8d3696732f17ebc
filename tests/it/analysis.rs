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
