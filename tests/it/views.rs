//! The output contract byte for byte: every JSON and CSV view of `docs/output.md` on the sample
//! history, as the real binary prints it, against snapshots (`tests/it/snapshots/it__views__*`).
//! The other tests read JSON back as values; these pin the bytes (key order, number and time
//! formats, CSV columns), so that moving code around cannot change what tools read.

use crate::harness::{fixture, Test};
use crate::problems::sample_history;

/// `probtrack ARGS --format F` for each format, with the exit code where it is not 0, as one
/// text; temporary paths, the database's name and the times of now masked.
fn outputs(t: &Test, args: &[&str], formats: &[&str]) -> String {
    let mut text = String::new();
    for format in formats {
        let mut all = args.to_vec();
        all.extend(["--format", format]);
        let out = t.run(&all);
        text += &format!("$ probtrack {}\n", all.join(" "));
        if out.status.code() != Some(0) {
            text += &format!("(exit {:?})\n", out.status.code());
        }
        text += &String::from_utf8(out.stdout).expect("UTF-8 output");
    }
    mask(t, &text)
}

fn mask(t: &Test, text: &str) -> String {
    let text = text
        .replace(&t.db_url(), "<db>")
        .replace(&t.dir.path().display().to_string(), "<dir>")
        .replace(env!("CARGO_MANIFEST_DIR"), "<project>");
    // The sample history is of 2024; a time of another year is when this test ran.
    let now = regex::Regex::new(r"20(2[5-9]|[3-9][0-9])-[0-9]{2}-[0-9]{2}T[0-9:.]+Z").unwrap();
    now.replace_all(&text, "<now>").into_owned()
}

const BOTH: &[&str] = &["json", "csv"];

#[test]
fn every_view_of_the_sample_history() {
    let t = Test::new();
    sample_history(&t);
    std::fs::copy(fixture("history/macos/60.xml"), t.path("60.xml")).unwrap();
    let history = fixture("history");
    let views: &[(&str, &[&str], &[&str])] = &[
        ("parsers", &["parsers"], BOTH),
        ("parse", &["parse", "60.xml"], BOTH),
        ("builds", &["builds", "--limit", "6"], BOTH),
        (
            "builds_all_branches",
            &[
                "builds",
                "--all-branches",
                "--builder",
                "macos",
                "--limit",
                "3",
            ],
            BOTH,
        ),
        (
            "history",
            &["history", "test_format_thousands", "--limit", "4"],
            BOTH,
        ),
        ("history_ambiguous", &["history", "test_format"], &["json"]),
        ("problems", &["problems", "--all", "--intermittent"], BOTH),
        ("problems_default", &["problems"], BOTH),
        ("since_failing", &["since", "test_format_thousands"], BOTH),
        (
            "since_fixed",
            &["since", "tests.test_core.test_divide"],
            BOTH,
        ),
        ("since_never", &["since", "tests.test_core.test_add"], BOTH),
        ("show", &["show", "3"], BOTH),
        ("show_intermittent", &["show", "5"], BOTH),
        ("users", &["users", "--intermittent"], BOTH),
        ("builders", &["builders"], BOTH),
        ("flaky", &["flaky"], &["json", "csv", "list"]),
        (
            "flaky_options",
            &[
                "flaky",
                "--min-runs",
                "2",
                "--min-score",
                "0",
                "--limit",
                "3",
            ],
            BOTH,
        ),
        ("clusters", &["clusters"], BOTH),
        (
            "clusters_open",
            &["clusters", "--open", "--limit", "2"],
            BOTH,
        ),
        ("notify_dry_run", &["notify", "--dry-run"], BOTH),
        ("metrics", &["metrics", "--builder", "macos"], BOTH),
        ("metric", &["metric", "tests.count", "--limit", "4"], BOTH),
        (
            "prune_dry_run",
            &["prune", "--older-than", "5200w", "--dry-run"],
            BOTH,
        ),
        ("import", &["import", history.to_str().unwrap()], BOTH),
    ];
    for (name, args, formats) in views {
        insta::assert_snapshot!(*name, outputs(&t, args, formats));
    }

    // What people add shows in the views, at the time they added it.
    t.ok(&["link", "6", "https://bugs.example.org/1234"]);
    t.ok(&["link", "6", "https://bugs.example.org/99", "--closed"]);
    t.ok(&["note", "6", "Dave is on it", "--author", "carol"]);
    t.ok(&[
        "mark-bad",
        "--builder",
        "macos",
        "--from",
        "57",
        "--to",
        "58",
        "--reason",
        "disk full",
    ]);
    let after: &[(&str, &[&str], &[&str])] = &[
        ("show_annotated", &["show", "6"], BOTH),
        ("mark_bad_list", &["mark-bad", "--list"], BOTH),
        ("notify_baseline", &["notify", "--mark-all-sent"], &["json"]),
        ("copy", &["copy", "--to", "copy.db"], &["json"]),
        ("copy_csv", &["copy", "--to", "copy-csv.db"], &["csv"]),
    ];
    for (name, args, formats) in after {
        insta::assert_snapshot!(*name, outputs(&t, args, formats));
    }
    let out = t.run(&[
        "ingest",
        "--builder",
        "macos",
        "--build",
        "61",
        "--time",
        "2024-03-03T18:00:00Z",
        "--change",
        "0123456789abcdef:Eve Example <eve@example.org>",
        "--property",
        "python=3.12",
        "--format",
        "json",
        "60.xml",
    ]);
    assert_eq!(out.status.code(), Some(0));
    insta::assert_snapshot!("ingest", mask(&t, &String::from_utf8(out.stdout).unwrap()));
}

#[test]
fn the_coverage_views() {
    let t = Test::new();
    for (n, report, root) in [
        ("1", "coverage/gcovr.cobertura.xml", "/build/calc"),
        (
            "2",
            "coverage/gcovr-v2.cobertura.xml",
            "/build/calc/v2build",
        ),
    ] {
        let report = fixture(report);
        t.ok(&[
            "ingest",
            "--builder",
            "linux",
            "--build",
            n,
            "--time",
            &format!("2024-05-0{n}T10:00:00Z"),
            "--change",
            &format!("c{n}:Dev {n} <dev{n}@example.org>"),
            "--source-root",
            root,
            report.to_str().unwrap(),
        ]);
    }
    let views: &[(&str, &[&str], &[&str])] = &[
        ("coverage", &["coverage"], BOTH),
        ("coverage_file", &["coverage", "calc.c"], BOTH),
        (
            "problems_coverage",
            &["problems", "--kind", "coverage"],
            BOTH,
        ),
    ];
    for (name, args, formats) in views {
        insta::assert_snapshot!(*name, outputs(&t, args, formats));
    }
}
