//! What people use at a terminal and scripts use in CI: completions, man page, colour, escaping,
//! gating on new breakage, bulk import, pruning.

use crate::harness::{fixture, Test};
use crate::problems::sample_history;

#[test]
fn completions_and_man_page_render() {
    let t = Test::new();
    for shell in ["bash", "zsh", "fish"] {
        let script = t.ok(&["completions", shell]);
        assert!(script.contains("probtrack"), "{shell}");
        assert!(
            script.contains("ingest") && script.contains("flaky"),
            "{shell}"
        );
    }
    t.fails(&["completions", "tcsh-nope"], 2);
    let man = t.ok(&["man"]);
    assert!(man.contains(".TH probtrack 1"), "{man}");
    assert!(man.contains("ingest"));
}

/// Commands parse with only the given command's arguments built, but what clap prints comes
/// from the whole definition (`cli::whole`): the list of commands with their descriptions, and
/// each command's flags in the order they are defined, the global ones after its own.
#[test]
fn help_completions_and_man_page_show_every_command_as_defined() {
    let t = Test::new();
    let top = t.ok(&["--help"]);
    // Each command of `--help`, with its description (wrapped onto the lines below it).
    let mut commands: Vec<(&str, String)> = Vec::new();
    let listed = top
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1);
    for line in listed.take_while(|l| l.starts_with("  ")) {
        match commands.last_mut() {
            Some((_, description)) if line[2..].starts_with(' ') => description.push_str(line),
            _ => {
                let (name, description) = line.trim().split_once(' ').unwrap_or((line.trim(), ""));
                commands.push((name, description.to_owned()));
            }
        }
    }
    commands.retain(|(name, _)| *name != "help");
    assert!(commands.len() >= 30, "{top}");
    let words = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ");
    let man = t.ok(&["man"]);
    for &(command, ref description) in &commands {
        // The description is the command's own help's first paragraph…
        let help = t.ok(&[command, "--help"]);
        let about = help.split("\n\n").next().unwrap();
        assert!(!about.trim().is_empty(), "{command} --help:\n{help}");
        assert_eq!(
            words(description),
            words(about),
            "{command} in --help:\n{top}"
        );
        // …and the manual's.
        let entry = format!("probtrack\\-{}(1)\n", command.replace('-', "\\-"));
        let line = man
            .split(&entry)
            .nth(1)
            .and_then(|after| after.lines().next());
        assert!(
            line.is_some_and(|l| !l.trim().is_empty() && !l.starts_with('.')),
            "{command} in the manual:\n{man}"
        );
    }
    // Completions offer each command's flags in order: its own, then the global ones, then help.
    let bash = t.ok(&["completions", "bash"]);
    let mut offered = 0;
    for line in bash.lines() {
        let Some(opts) = line.trim().strip_prefix("opts=\"") else {
            continue;
        };
        let long: Vec<&str> = (opts.trim_end_matches('"').split(' '))
            .filter(|o| o.starts_with("--"))
            .collect();
        let Some(at) = long.iter().position(|o| *o == "--db") else {
            continue;
        };
        let last = long[at..]
            .strip_suffix(&["--version"])
            .unwrap_or(&long[at..]);
        assert_eq!(last, ["--db", "--config", "--color", "--help"], "{line}");
        offered += 1;
    }
    assert!(offered > commands.len(), "{bash}");
}

#[test]
fn colour_only_where_asked_and_never_with_no_color() {
    let t = Test::new();
    sample_history(&t);
    let plain = t.ok(&["problems"]);
    assert!(!plain.contains('\x1b'), "no colour into a pipe");
    let forced = t.ok(&["--color", "always", "history", "test_format_thousands"]);
    assert!(forced.contains('\x1b'), "--color always colours");
    let out = t
        .command(&["history", "test_format_thousands"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains('\x1b'));
}

#[test]
fn hostile_test_names_and_messages_are_shown_escaped() {
    let t = Test::new();
    // A report as a test that prints anything could leave it: escapes, HTML, control characters.
    let xml = "<?xml version=\"1.0\"?>\n<testsuite name=\"s\">\
        <testcase classname=\"evil\" name=\"red&#x1b;[31mALERT&#x1b;[0m&lt;script&gt;\">\
        <failure message=\"bell&#x7;and&#x1b;]0;title&#x7;\"/></testcase></testsuite>\n";
    std::fs::write(t.path("evil.xml"), xml).unwrap();
    t.ingest("b", 1, &["evil.xml"]);
    for args in [
        vec!["problems"],
        vec!["history", "ALERT"],
        vec!["parse", "evil.xml"],
        vec!["builds"],
    ] {
        let out = t.ok(&args);
        assert!(
            !out.contains('\x1b') && !out.contains('\x07'),
            "{args:?} sent a raw escape:\n{out}"
        );
    }
    let table = t.ok(&["problems"]);
    assert!(table.contains("\\u{1b}[31mALERT"), "{table}");
    // JSON keeps the text as it was (escaped by JSON itself).
    let json = t.json(&["problems"]);
    assert_eq!(json[0]["test"], "evil.red\u{1b}[31mALERT\u{1b}[0m<script>");
}

#[test]
fn ingest_exit_code_fails_on_new_breakage_only() {
    let t = Test::new();
    let pass = fixture("history/linux-py311/103.xml");
    let fail = fixture("history/linux-py311/104.xml");
    let gate = |number: &str, report: &std::path::Path| {
        t.run(&[
            "ingest",
            "--builder",
            "b",
            "--build",
            number,
            "--exit-code",
            "--change",
            &format!("r{number}:Ada <ada@example.org>"),
            report.to_str().unwrap(),
        ])
    };
    assert_eq!(gate("1", &pass).status.code(), Some(0));
    let broke = gate("2", &fail);
    assert_eq!(broke.status.code(), Some(1), "a new Problem fails the gate");
    let stderr = String::from_utf8_lossy(&broke.stderr);
    assert!(
        stderr.contains("tests.test_core.test_divide") && stderr.contains("Ada"),
        "{stderr}"
    );
    // Still failing: a known Problem, not new.
    assert_eq!(gate("3", &fail).status.code(), Some(0));
    // On another builder the same failure joins the open Problem: not new either.
    let other = t.run(&[
        "ingest",
        "--builder",
        "c",
        "--build",
        "1",
        "--exit-code",
        fail.to_str().unwrap(),
    ]);
    assert_eq!(other.status.code(), Some(0));
}

#[test]
fn import_without_builds_tsv_orders_by_number() {
    let t = Test::new();
    let dir = t.path("artifacts");
    for (builder, numbers) in [("linux-py311", [103, 104, 105]), ("macos", [53, 54, 55])] {
        for n in numbers {
            let dest = dir.join(builder).join(n.to_string());
            std::fs::create_dir_all(&dest).unwrap();
            std::fs::copy(
                fixture(&format!("history/{builder}/{n}.xml")),
                dest.join("junit.xml"),
            )
            .unwrap();
        }
    }
    let summary = t.json(&["import", dir.to_str().unwrap()]);
    assert_eq!(summary["imported"], 6);
    let builds = t.json(&["builds"]);
    assert_eq!(builds.as_array().unwrap().len(), 6);
    // Times come from the reports' own timestamps.
    assert!(builds[0]["time"].as_str().unwrap().starts_with("2024-03-0"));
    let problems = t.json(&["problems", "--all"]);
    assert!(problems
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["test"] == "tests.test_core.test_divide"));
}

#[test]
fn an_import_killed_midway_and_rerun_ends_as_one_run_would() {
    let once = Test::new();
    once.ok(&["import", fixture("history").to_str().unwrap()]);
    let expected = once.json(&["problems", "--all", "--intermittent"]);

    let t = Test::new();
    // Kill the import at several moments; every build in the database is whole.
    for delay_ms in [30, 80, 150] {
        let mut child = t
            .command(&["import", fixture("history").to_str().unwrap()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
    }
    if t.db().exists() {
        let conn = rusqlite::Connection::open(t.db()).unwrap();
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
    }
    let rerun = t.json(&["import", fixture("history").to_str().unwrap()]);
    assert_eq!(rerun["builds"], 37);
    assert_eq!(
        rerun["imported"].as_u64().unwrap() + rerun["skipped"].as_u64().unwrap(),
        37
    );
    let got = t.json(&["problems", "--all", "--intermittent"]);
    if t.location().is_server() {
        // A server's sequences do not roll back with a killed transaction: later Problems take
        // higher ids. Everything else is as in one clean run.
        assert_eq!(
            crate::harness::without_ids(got),
            crate::harness::without_ids(expected)
        );
    } else {
        assert_eq!(got, expected);
    }
}

#[test]
fn prune_keeps_open_problems_and_every_problem_record() {
    let t = Test::new();
    let dir = t.path("history");
    let truth = crate::generate::history(
        &dir,
        &crate::generate::Shape {
            builders: 2,
            builds: 150,
            tests: 20,
            flaky: 2,
            broken: 5,
            seed: 4,
        },
    );
    t.ok(&["import", dir.to_str().unwrap()]);
    let before = t.json(&["problems", "--all", "--intermittent"]);
    let open: Vec<String> = t
        .json(&["problems"])
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["test"].as_str().unwrap().to_owned())
        .collect();
    // The generated history is from 2023: every build is older than 30 days. (In this seed no
    // Problem is open from early on, which would rightly keep everything after it.)
    let dry = t.json(&["prune", "--older-than", "30d", "--dry-run"]);
    let dropping: u64 = dry
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["builds"].as_u64().unwrap())
        .sum();
    assert!(dropping > 0, "{dry}");
    assert_eq!(
        t.json(&["problems", "--all", "--intermittent"]),
        before,
        "--dry-run changes nothing"
    );
    t.ok(&["prune", "--older-than", "30d"]);
    let builds = t.json(&["builds", "--all-branches", "--limit", "1000"]);
    assert_eq!(builds.as_array().unwrap().len() as u64, 300 - dropping);
    // No Problem is dropped or changed, and reanalyze leaves them as they are.
    assert_eq!(t.json(&["problems", "--all", "--intermittent"]), before);
    t.ok(&["reanalyze"]);
    assert_eq!(t.json(&["problems", "--all", "--intermittent"]), before);
    // The open Problems keep their builds: since still answers.
    for test in &open {
        let since = t.json(&["since", test]);
        assert_eq!(since["failing"], true, "{test}");
    }
    assert!(!truth.broken.is_empty());
    // The setting gives the limit.
    std::fs::write(t.path("probtrack.toml"), "prune_days = 36500\n").unwrap();
    let none = t.json(&["prune", "--dry-run"]);
    assert!(none.as_array().unwrap().iter().all(|l| l["builds"] == 0));
    std::fs::remove_file(t.path("probtrack.toml")).unwrap();
    t.fails(&["prune"], 2);
    t.fails(&["prune", "--older-than", "soon"], 2);
}

#[test]
fn every_listing_command_speaks_table_json_and_csv() {
    let t = Test::new();
    sample_history(&t);
    let problem = t.json(&["problems"])[0]["id"].as_i64().unwrap().to_string();
    let report = fixture("junit/pytest-xunit2/report.xml");
    let commands: Vec<Vec<&str>> = vec![
        vec!["builds"],
        vec!["history", "test_format_thousands"],
        vec!["problems", "--all", "--intermittent"],
        vec!["flaky"],
        vec!["since", "test_format_thousands"],
        vec!["show", &problem],
        vec!["users"],
        vec!["builders"],
        vec!["parsers"],
        vec!["parse", report.to_str().unwrap()],
        vec!["prune", "--older-than", "30d", "--dry-run"],
    ];
    for command in commands {
        let table = t.ok(&command);
        assert!(!table.trim().is_empty(), "{command:?} table");
        let json = t.json(&command);
        assert!(json.is_array() || json.is_object(), "{command:?}");
        let mut args = command.clone();
        args.extend(["--format", "csv"]);
        let text = t.ok(&args);
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let width = reader
            .headers()
            .unwrap_or_else(|e| panic!("{command:?}: {e}"))
            .len();
        assert!(width > 0, "{command:?}");
        for record in reader.records() {
            assert_eq!(record.unwrap().len(), width, "{command:?}: ragged CSV");
        }
    }
}

/// Copies the sample history (reports, builds.tsv, revisions.tsv) into `dir`.
fn copy_history(dir: &std::path::Path) {
    let from = fixture("history");
    for entry in std::fs::read_dir(&from).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap();
        if path.is_dir() {
            std::fs::create_dir_all(dir.join(name)).unwrap();
            for report in std::fs::read_dir(&path).unwrap() {
                let report = report.unwrap().path();
                std::fs::copy(&report, dir.join(name).join(report.file_name().unwrap())).unwrap();
            }
        } else if name.to_string_lossy().ends_with(".tsv") {
            std::fs::copy(&path, dir.join(name)).unwrap();
        }
    }
}

/// An import answers as ingesting its builds one at a time, in its order, does: the same views
/// byte for byte and the same rows (ids included) in every table an ingest does not stamp with
/// the time of now. On a server the import holds its writes and sends several builds' worth in
/// one round trip; here is where that must not show. The sample history has real reports
/// (messages, details packed against a base, skips, retries); the generated one more builds and
/// changes shared between builders.
#[test]
fn an_import_answers_as_ingesting_its_builds_one_by_one() {
    let t = Test::new();
    let sample = t.path("sample");
    copy_history(&sample);
    let generated = t.path("generated");
    crate::generate::history(
        &generated,
        &crate::generate::Shape {
            builders: 3,
            builds: 40,
            tests: 30,
            flaky: 4,
            broken: 4,
            seed: 25,
        },
    );
    for dir in [sample, generated] {
        // Without revisions.tsv a change is its revision, with its author where it is the build's
        // own revision: what `--change` gives.
        std::fs::remove_file(dir.join("revisions.tsv")).unwrap();
        let imported = Test::new();
        let summary = imported.json(&["import", dir.to_str().unwrap()]);
        let one_by_one = Test::new();
        let tsv = std::fs::read_to_string(dir.join("builds.tsv")).unwrap();
        let mut rows: Vec<Vec<&str>> = tsv
            .lines()
            .skip(1)
            .map(|l| l.split('\t').collect())
            .collect();
        // import's order: time, then builder, then number.
        rows.sort_by_key(|r| (r[4], r[0], r[1].parse::<i64>().unwrap()));
        assert_eq!(summary["imported"], rows.len());
        for row in &rows {
            let (builder, number, revision, author, time) =
                (row[0], row[1], row[2], row[3], row[4]);
            let report = dir.join(builder).join(format!("{number}.xml"));
            let mut args = vec!["--revision", revision, "--time", time];
            let changes: Vec<String> = (row[5].split(',').filter(|c| !c.is_empty()))
                .map(|c| match c == revision {
                    true => format!("{c}:{author}"),
                    false => c.to_owned(),
                })
                .collect();
            for change in &changes {
                args.extend(["--change", change.as_str()]);
            }
            args.push(report.to_str().unwrap());
            one_by_one.ingest(builder, number.parse().unwrap(), &args);
        }
        for view in [
            &["problems", "--all", "--intermittent"][..],
            &["builds", "--limit", "1000"],
            &["flaky", "--min-runs", "2", "--min-score", "0"],
            &["users", "--intermittent"],
            &["metrics"],
        ] {
            assert_eq!(
                imported.ok(view),
                one_by_one.ok(view),
                "{view:?} of {dir:?}"
            );
        }
        // Every table but those that hold the time of now (builds and reports: when ingested;
        // problems: when judged) and the metric state (a cache of what the windows read).
        let tables = |t: &Test| -> Vec<String> {
            let stamped = ["builds", "reports", "problems", "metric_state"];
            (t.dump().split("== ").filter(|s| !s.is_empty()))
                .filter(|s| !stamped.contains(&s.lines().next().unwrap_or_default()))
                .map(str::to_owned)
                .collect()
        };
        let (a, b) = (tables(&imported), tables(&one_by_one));
        assert_eq!(a.len(), b.len());
        for (a, b) in a.iter().zip(&b) {
            assert_eq!(a, b, "{dir:?}");
        }
    }
}

/// An import whose batch opens more Problems than one statement writes (1,000 rows on a server,
/// 100 before PostgreSQL copies them) saves them together: each keeps its own test and builders,
/// and their ids ascend in the order of their first failures (time, builder, build, test) as
/// one by one.
#[test]
fn an_import_opening_many_problems_at_once_keeps_each_ones_own() {
    let t = Test::new();
    let tests: Vec<String> = (0..1300).map(|i| format!("t.m{i:04}")).collect();
    // Failing on `a` only, on `b` only, or on both: the builders tell the Problems apart.
    let on = |i: usize| match i % 3 {
        0 => ("PF", "PF"),
        1 => ("PF", "PP"),
        _ => ("PP", "PF"),
    };
    let mut patterns = Vec::new();
    for (i, test) in tests.iter().enumerate() {
        let (a, b) = on(i);
        patterns.push(crate::generate::Pattern {
            builder: "a",
            test,
            outcomes: a,
        });
        patterns.push(crate::generate::Pattern {
            builder: "b",
            test,
            outcomes: b,
        });
    }
    let dir = t.path("history");
    crate::generate::scripted(&dir, &patterns);
    t.ok(&["import", dir.to_str().unwrap()]);
    let problems = t.json(&["problems", "--all", "--limit", "10000"]);
    let problems = problems.as_array().unwrap();
    assert_eq!(problems.len(), tests.len());
    let mut order = Vec::new();
    for p in problems {
        let test = p["test"].as_str().unwrap();
        let i: usize = test.trim_start_matches("t.m").parse().unwrap();
        let builders: Vec<&str> = (p["builders"].as_array().unwrap().iter())
            .map(|b| b.as_str().unwrap())
            .collect();
        let expected: &[&str] = match i % 3 {
            0 => &["a", "b"],
            1 => &["a"],
            _ => &["b"],
        };
        assert_eq!(builders, expected, "{test}");
        assert_eq!(p["started_by"][0]["revision"], "r2", "{test}");
        let first = p["first_failure"]["builder"].as_str().unwrap().to_owned();
        order.push((p["id"].as_i64().unwrap(), first, test.to_owned()));
    }
    order.sort();
    let keys: Vec<(String, String)> = order
        .iter()
        .map(|(_, b, t)| (b.clone(), t.clone()))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(
        keys, sorted,
        "ids ascend with the first failures' builder, then test"
    );
}

#[test]
fn an_import_stopped_by_a_bad_report_keeps_the_builds_before_it() {
    let once = Test::new();
    once.ok(&["import", fixture("history").to_str().unwrap()]);
    let expected = once.json(&["problems", "--all", "--intermittent"]);

    let t = Test::new();
    let dir = t.path("history");
    copy_history(&dir);
    // linux-py311 #108 is the 18th build in time order: a batch holds it and the builds around it.
    let bad = dir.join("linux-py311").join("108.xml");
    let good = std::fs::read(&bad).unwrap();
    std::fs::write(&bad, &good[..good.len() / 2]).unwrap();
    let stderr = t.fails(&["import", dir.to_str().unwrap()], 3);
    assert!(
        stderr.contains("108.xml"),
        "the error names the file: {stderr}"
    );
    let builds = t.json(&["builds", "--limit", "100"]);
    let landed: Vec<(String, i64)> = builds
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["builder"].as_str().unwrap().to_owned(),
                b["build"].as_i64().unwrap(),
            )
        })
        .collect();
    // The 17 builds before it in time order landed, judged; it and those after it did not.
    assert_eq!(landed.len(), 17, "{landed:?}");
    assert!(!landed.contains(&("macos".to_owned(), 55)));
    assert!(landed.contains(&("linux-py311".to_owned(), 107)));
    assert!(!landed.contains(&("linux-py311".to_owned(), 108)));
    let partial = t.json(&["problems", "--all", "--intermittent"]);
    assert!(!partial.as_array().unwrap().is_empty());

    // Mended, the rerun imports the rest and ends as one clean import would, ids included.
    std::fs::write(&bad, &good).unwrap();
    let rerun = t.json(&["import", dir.to_str().unwrap()]);
    assert_eq!(rerun["skipped"], 17);
    assert_eq!(rerun["imported"], 20);
    // No Problem was written for the undone build, so no id was spent, on any backend.
    assert_eq!(t.json(&["problems", "--all", "--intermittent"]), expected);
}

#[test]
fn reports_imported_then_ingested_again_are_known_by_their_content() {
    // An import hashes each report as it parses it; `ingest` reads and hashes it whole. The two
    // must agree, trailing bytes after the report's end included, or the same report would be
    // stored twice.
    let t = Test::new();
    let dir = t.path("artifacts");
    let mut reports = Vec::new();
    for n in [103, 104] {
        let dest = dir.join("linux-py311").join(n.to_string());
        std::fs::create_dir_all(&dest).unwrap();
        let mut xml = std::fs::read(fixture(&format!("history/linux-py311/{n}.xml"))).unwrap();
        if n == 104 {
            xml.extend_from_slice(b"\n<!-- written after the report's end -->\n\n");
        }
        let report = dest.join("junit.xml");
        std::fs::write(&report, xml).unwrap();
        reports.push((n, report));
    }
    let summary = t.json(&["import", dir.to_str().unwrap()]);
    assert_eq!(summary["imported"], 2);
    let before = t.dump();
    for (n, report) in &reports {
        let again = t.ingest("linux-py311", *n, &[report.to_str().unwrap()]);
        assert_eq!(again["action"], "unchanged", "build {n}: {again}");
        assert_eq!(again["reports"][0]["added"], false, "build {n}");
    }
    assert_eq!(t.dump(), before);
}

/// Ingests build `number` of builder a, `11 - number` hours before `now`, with one test whose
/// `<testcase>` holds `child`.
fn ingest_a(t: &Test, now: chrono::DateTime<chrono::Utc>, number: i64, child: &str) {
    let report = t.path(&format!("a-{number}.xml"));
    std::fs::write(
        &report,
        format!("<testsuite name=\"s\"><testcase classname=\"pkg\" name=\"t\">{child}</testcase></testsuite>"),
    )
    .unwrap();
    let time = (now - chrono::Duration::hours(11 - number)).to_rfc3339();
    t.ok(&[
        "ingest",
        "--builder",
        "a",
        "--build",
        &number.to_string(),
        "--revision",
        &format!("{number:040x}"),
        "--time",
        &time,
        report.to_str().unwrap(),
    ]);
}

const FAILED: &str = "<failure message=\"boom\">boom</failure>";

/// `prune --older-than` takes minutes and seconds as well as weeks, days and hours: the same age
/// in each unit drops the same builds (a #1 to a #4 are 10 to 7 hours old), and an age without a
/// known unit is refused, and so is a bare `m` (months or minutes?) with a hint.
#[test]
fn prune_counts_age_in_minutes_and_seconds_too() {
    let t = Test::new();
    // `prune --older-than` counts back from the wall clock: the builds are placed from it.
    #[allow(clippy::disallowed_methods)]
    let now = chrono::Utc::now();
    for number in 1..=4 {
        ingest_a(&t, now, number, "");
    }
    let dropping = |age: &str| -> u64 {
        let dry = t.json(&["prune", "--older-than", age, "--dry-run"]);
        dry.as_array()
            .unwrap()
            .iter()
            .map(|l| l["builds"].as_u64().unwrap())
            .sum()
    };
    // 9.5 hours: a #1 goes; 8.5 hours: a #1 and a #2.
    for age in ["570min", "34200s"] {
        assert_eq!(dropping(age), 1, "{age}");
    }
    for age in ["510min", "30600s"] {
        assert_eq!(dropping(age), 2, "{age}");
    }
    assert_eq!(dropping("1w"), 0);
    for bad in ["90", "90x", "-5s", "m", "1.5h", "30é", "6m"] {
        t.fails(&["prune", "--older-than", bad], 2);
    }
    let months = t.fails(&["prune", "--older-than", "6m"], 2);
    assert!(
        months.contains("6min") && months.contains("24w"),
        "{months}"
    );
    assert_eq!(t.json(&["builds"]).as_array().unwrap().len(), 4);
    let pruned = t.json(&["prune", "--older-than", "30600s"]);
    assert_eq!(pruned[0]["builds"], 2, "{pruned}");
    let builds = t.json(&["builds"]);
    assert_eq!(builds.as_array().unwrap().len(), 2, "{builds}");
}

/// A fixed Problem that a known-bad range hid, on a lane that `prune` then cut just before it:
/// `unmark-bad` brings it back (it was left hidden for good, as a Problem whose evidence prune
/// took, though its failures were all still there; found by the model, issue 19).
#[test]
fn unmark_bad_after_prune_brings_back_the_problem_it_hid() {
    let t = Test::new();
    // `prune --older-than` counts back from the wall clock: the builds are placed from it.
    #[allow(clippy::disallowed_methods)]
    let now = chrono::Utc::now();
    for (number, child) in [(1, ""), (2, ""), (3, FAILED), (4, "")] {
        ingest_a(&t, now, number, child);
    }
    let problems = t.json(&["problems", "--all"]);
    assert_eq!(problems.as_array().unwrap().len(), 1, "{problems}");
    t.ok(&[
        "mark-bad",
        "--builder",
        "a",
        "--from",
        "1",
        "--reason",
        "outage",
    ]);
    assert_eq!(t.json(&["problems", "--all"]), serde_json::json!([]));
    // a #1 (10 hours old) goes; a #2 on stay.
    let pruned = t.json(&["prune", "--older-than", "10h"]);
    assert_eq!(pruned[0]["builds"], 1, "{pruned}");
    t.ok(&["unmark-bad", "--builder", "a", "--from", "1"]);
    let back = t.json(&["problems", "--all"]);
    assert_eq!(back, problems);
    t.ok(&["reanalyze"]);
    assert_eq!(t.json(&["problems", "--all"]), problems);
}

/// The long run's second shape (seed 110003): an open Problem hidden by an open-ended range, a
/// prune, a second range from the same build, and `unmark-bad` of both: the Problem is open again.
#[test]
fn unmark_bad_after_prune_brings_back_an_open_problem() {
    let t = Test::new();
    #[allow(clippy::disallowed_methods)]
    let now = chrono::Utc::now();
    ingest_a(&t, now, 2, FAILED);
    t.ok(&[
        "mark-bad",
        "--builder",
        "a",
        "--from",
        "1",
        "--reason",
        "outage",
    ]);
    ingest_a(&t, now, 3, FAILED);
    ingest_a(&t, now, 1, "<skipped/>");
    let pruned = t.json(&["prune", "--older-than", "10h"]);
    assert_eq!(pruned[0]["builds"], 1, "{pruned}");
    ingest_a(&t, now, 4, FAILED);
    t.ok(&[
        "mark-bad",
        "--builder",
        "a",
        "--from",
        "1",
        "--to",
        "1",
        "--reason",
        "outage",
    ]);
    t.ok(&["unmark-bad", "--builder", "a", "--from", "1"]);
    let open = t.json(&["problems"]);
    assert_eq!(open.as_array().unwrap().len(), 1, "{open}");
    assert_eq!(open[0]["failures"], 3, "{open}");
}

/// The model's short run (case 20,877, shrunk by hand): `prune` took every build of a's lane, a
/// later build printed a gcc warning (a compile Problem), and `mark-bad` then `unmark-bad` of that
/// build left the Problem hidden for good. A lane that lost all its builds records no first kept
/// build, so every later build counted as "before the cut", as if prune had taken its failures.
#[test]
fn unmark_bad_brings_back_a_compile_problem_after_prune_took_the_whole_lane() {
    let t = Test::new();
    #[allow(clippy::disallowed_methods)]
    let now = chrono::Utc::now();
    // a #1, 10 hours old, goes.
    ingest_a(&t, now, 1, "");
    let pruned = t.json(&["prune", "--older-than", "5h"]);
    assert_eq!(pruned[0]["builds"], 1, "{pruned}");
    // a #2, an hour old: real gcc output with a -Wsign-compare warning in src/two.c.
    let log = fixture("gcc/warning-fixed/build-3.log");
    let time = (now - chrono::Duration::hours(1)).to_rfc3339();
    let revision = format!("{:040x}", 2);
    t.ingest(
        "a",
        2,
        &[
            "--revision",
            &revision,
            "--time",
            &time,
            log.to_str().unwrap(),
        ],
    );
    let problems = t.json(&["problems", "--all"]);
    let list = problems.as_array().unwrap();
    assert_eq!(list.len(), 1, "{problems}");
    assert_eq!(list[0]["kind"], "compile", "{problems}");
    assert_eq!(list[0]["state"], "open", "{problems}");
    assert!(
        list[0]["test"]
            .as_str()
            .unwrap()
            .starts_with("two.c:-Wsign-compare:"),
        "{problems}"
    );
    t.ok(&[
        "mark-bad",
        "--builder",
        "a",
        "--from",
        "2",
        "--to",
        "2",
        "--reason",
        "outage",
    ]);
    assert_eq!(t.json(&["problems", "--all"]), serde_json::json!([]));
    t.ok(&["unmark-bad", "--builder", "a", "--from", "2"]);
    assert_eq!(t.json(&["problems", "--all"]), problems);
    t.ok(&["reanalyze"]);
    assert_eq!(t.json(&["problems", "--all"]), problems);
}

/// The long run's seed 800002: a build that arrived late failed (so it had the highest id), a
/// prune took it with the Problem it opened, and the next build was given its id again. That
/// Problem, fixed and kept as it was, names its first failure by that id, so the new build's
/// failure was taken for it and the Problem it opened was never listed. A build id is never
/// given twice (schema 12): the new failure opens a Problem of its own.
#[test]
fn a_build_after_a_prune_opens_its_own_problem_not_a_pruned_ones() {
    let t = Test::new();
    #[allow(clippy::disallowed_methods)]
    let now = chrono::Utc::now();
    // a #2 and a #3 pass; a #1 arrives after them and fails: a Problem fixed by a #2.
    for (number, child) in [(2, ""), (3, ""), (1, FAILED)] {
        ingest_a(&t, now, number, child);
    }
    let before = t.json(&["problems", "--all"]);
    assert_eq!(before.as_array().unwrap().len(), 1, "{before}");
    assert_eq!(before[0]["state"], "fixed", "{before}");
    assert_eq!(before[0]["first_failure"]["build"], 1, "{before}");
    // a #1 (10 hours old) and a #2 (9) go, the Problem with them; a #3 stays.
    let pruned = t.json(&["prune", "--older-than", "510min"]);
    assert_eq!(pruned[0]["builds"], 2, "{pruned}");
    ingest_a(&t, now, 4, FAILED);
    let open = t.json(&["problems"]);
    let list = open.as_array().unwrap();
    assert_eq!(
        list.len(),
        1,
        "a #4's failure is a Problem of its own: {open}"
    );
    assert_eq!(list[0]["state"], "open", "{open}");
    assert_eq!(list[0]["first_failure"]["build"], 4, "{open}");
    let all = t.json(&["problems", "--all"]);
    assert_eq!(all.as_array().unwrap().len(), 2, "{all}");
    assert!(all.as_array().unwrap().contains(&before[0]), "{all}");
    t.ok(&["reanalyze"]);
    assert_eq!(t.json(&["problems", "--all"]), all);
}

/// A prune that takes every build of a lane cuts it after the last: the Problems of builds that
/// come later are frozen only within `BEFORE` (50) builds after the cut, as after any other cut,
/// not for ever. Here a #61's failure, 60 builds after the cut, is fixed by a #63; a #62 then
/// arrives late and fails too: the Problem takes it in.
#[test]
fn a_prune_that_took_the_whole_lane_freezes_later_problems_only_for_a_while() {
    a_late_failure_long_after_the_whole_lane_went(false);
}

/// [`a_prune_that_took_the_whole_lane_freezes_later_problems_only_for_a_while`], with the cut
/// written as schema 11 wrote it (`legacy`: the largest integer) when `legacy`.
fn a_late_failure_long_after_the_whole_lane_went(legacy: bool) {
    let t = Test::new();
    #[allow(clippy::disallowed_methods)]
    let now = chrono::Utc::now();
    let ingest = |number: i64, child: &str| {
        let report = t.path(&format!("a-{number}.xml"));
        std::fs::write(
            &report,
            format!("<testsuite name=\"s\"><testcase classname=\"pkg\" name=\"t\">{child}</testcase></testsuite>"),
        )
        .unwrap();
        // a #1 ten hours old, then one build a minute.
        let time =
            (now - chrono::Duration::hours(10) + chrono::Duration::minutes(number)).to_rfc3339();
        t.ingest("a", number, &["--time", &time, report.to_str().unwrap()]);
    };
    ingest(1, "");
    let pruned = t.json(&["prune", "--older-than", "5h"]);
    assert_eq!(pruned[0]["builds"], 1, "{pruned}");
    if legacy {
        t.exec_sql("UPDATE lanes SET pruned_before = 9223372036854775807");
    }
    for number in 2..=60 {
        ingest(number, "");
    }
    ingest(61, FAILED);
    ingest(63, "");
    let fixed = t.json(&["problems", "--all"]);
    assert_eq!(fixed[0]["state"], "fixed", "{fixed}");
    assert_eq!(fixed[0]["failures"], 1, "{fixed}");
    ingest(62, FAILED);
    let problems = t.json(&["problems", "--all"]);
    let list = problems.as_array().unwrap();
    assert_eq!(list.len(), 1, "{problems}");
    assert_eq!(list[0]["failures"], 2, "{problems}");
    assert_eq!(list[0]["last_failure"]["build"], 62, "{problems}");
    assert_eq!(list[0]["id"], fixed[0]["id"], "{problems}");
    t.ok(&["reanalyze"]);
    assert_eq!(t.json(&["problems", "--all"]), problems);
}

/// A Problem's id, which people quote (a link, a chat message), is never given to another
/// Problem: after `delete-build` took the build that opened the newest Problem, the Problem the
/// same failure opens again is a new one, with a new id (SQLite gave it the old id before
/// schema 12; the servers never did).
#[test]
fn a_deleted_problems_id_is_not_given_again() {
    let t = Test::new();
    #[allow(clippy::disallowed_methods)]
    let now = chrono::Utc::now();
    ingest_a(&t, now, 1, "");
    ingest_a(&t, now, 2, FAILED);
    let first = t.json(&["problems"]);
    assert_eq!(first.as_array().unwrap().len(), 1, "{first}");
    t.ok(&["delete-build", "a", "2"]);
    assert_eq!(t.json(&["problems", "--all"]), serde_json::json!([]));
    ingest_a(&t, now, 2, FAILED);
    let again = t.json(&["problems"]);
    assert_eq!(again.as_array().unwrap().len(), 1, "{again}");
    assert!(
        again[0]["id"].as_i64().unwrap() > first[0]["id"].as_i64().unwrap(),
        "{first} then {again}"
    );
    assert!(
        t.fails(&["show", &first[0]["id"].to_string()], 3)
            .contains("there is no Problem"),
        "the deleted Problem's id names nothing"
    );
}

/// A lane that a prune before schema 12 emptied holds the largest integer as its cut (written
/// here as that version wrote it): probtrack reads it as the lane's first build stored since, so
/// its later Problems are frozen only within `BEFORE` builds of that one, as after any cut.
#[test]
fn a_lane_emptied_by_an_older_prune_freezes_later_problems_only_for_a_while() {
    a_late_failure_long_after_the_whole_lane_went(true);
}
