//! Issue 19: Problems stay whole through retirements and renames, and the same history gives the
//! same answers whatever order its builds arrived in. Each test builds the history it needs: a real
//! git repository made here, and the sample history's real pytest reports (fixtures/history).

use serde_json::Value;

use crate::harness::{fixture, Repo, Test};

const ADA: &str = "Ada Lovelace <ada@example.org>";
const BOB: &str = "Bob Brown <bob@example.org>";
const CAROL: &str = "Carol Chen <carol@example.org>";
const DAVE: &str = "Dave Dunn <dave@example.org>";

/// The test whose failures these histories follow, and the reports it passes and fails in
/// (linux-py311 103 and 104 differ only in it: `assert 3 == 3.5`).
const DIVIDE: &str = "tests.test_core.test_divide";
const PASS: &str = "history/linux-py311/103.xml";
const FAIL: &str = "history/linux-py311/104.xml";

/// One build to ingest: builder, number, minute of the day (its `--time`), report, and the rest of
/// its arguments (`--git`/`--revision`, `--change`).
struct Build {
    builder: &'static str,
    number: i64,
    minute: i64,
    report: &'static str,
    extra: Vec<String>,
}

fn build(builder: &'static str, number: i64, minute: i64, report: &'static str) -> Build {
    Build {
        builder,
        number,
        minute,
        report,
        extra: Vec::new(),
    }
}

impl Build {
    fn git(mut self, repo: &Repo, revision: &str) -> Build {
        self.extra.extend([
            "--git".to_owned(),
            repo.path().display().to_string(),
            "--revision".to_owned(),
            revision.to_owned(),
        ]);
        self
    }

    fn change(mut self, revision: &str, author: &str) -> Build {
        self.extra
            .extend(["--change".to_owned(), format!("{revision}:{author}")]);
        self
    }

    #[track_caller]
    fn ingest(&self, t: &Test) {
        let report = fixture(self.report);
        let time = format!(
            "2024-03-01T{:02}:{:02}:00Z",
            self.minute / 60,
            self.minute % 60
        );
        let mut args: Vec<&str> = vec!["--time", &time];
        args.extend(self.extra.iter().map(String::as_str));
        args.push(report.to_str().unwrap());
        t.ingest(self.builder, self.number, &args);
    }
}

/// What a database answers about a history, as the commands print it (JSON and tables).
fn answers(t: &Test) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut ask = |args: &[&str]| {
        out.push((args.join(" "), t.ok(args)));
    };
    for format in ["json", "table"] {
        ask(&["problems", "--all", "--intermittent", "--format", format]);
        ask(&["users", "--intermittent", "--format", format]);
    }
    let problems: Value =
        serde_json::from_str(&t.ok(&["problems", "--all", "--format", "json"])).unwrap();
    for p in problems.as_array().unwrap() {
        let id = p["id"].to_string();
        ask(&["show", &id, "--format", "json"]);
        ask(&["show", &id]);
    }
    ask(&["builds", "--limit", "100", "--format", "json"]);
    out
}

#[track_caller]
fn assert_same_answers(first: &Test, second: &Test) {
    let (a, b) = (answers(first), answers(second));
    assert_eq!(a.len(), b.len());
    for ((command, x), (_, y)) in a.iter().zip(&b) {
        assert_eq!(x, y, "`{command}` differs between the two arrival orders");
    }
}

fn revisions(changes: &Value) -> Vec<&str> {
    changes
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["revision"].as_str().unwrap())
        .collect()
}

// See: issue 19, bug 4. A build's changes came back in the order the database first stored them
// (by row id where times tie, and `--change` changes have none), so two databases holding the same
// history listed suspects, fixers and people in different orders.
#[test]
fn the_same_history_gives_the_same_answers_whatever_order_it_arrived_in() {
    let repo = Repo::new();
    let c1 = repo.commit(ADA, "core.py", "1", "base", 1_709_280_000);
    // Bob's and Carol's commits land in the same second (a rebase, a merge train).
    let c2 = repo.commit(BOB, "core.py", "2", "floor division", 1_709_281_000);
    let c3 = repo.commit(CAROL, "docs.txt", "3", "document divide", 1_709_281_000);
    // Builders e and f pass; each first builds one of the two commits alone, so whichever arrives
    // first stores its commit first. a and b then fail on both, and are fixed by changes given by
    // hand (no time), listed in opposite orders.
    let builds = vec![
        build("e", 1, 61, PASS).git(&repo, &c2),
        build("f", 1, 62, PASS).git(&repo, &c3),
        build("a", 1, 63, PASS).git(&repo, &c1),
        build("b", 1, 64, PASS).git(&repo, &c1),
        build("a", 2, 65, FAIL).git(&repo, &c3),
        build("b", 2, 66, FAIL).git(&repo, &c3),
        build("a", 3, 67, PASS)
            .change("f1x0000", DAVE)
            .change("0aa1111", ADA),
        build("b", 3, 68, PASS)
            .change("0aa1111", ADA)
            .change("f1x0000", DAVE),
    ];
    let in_time_order = Test::new();
    for b in &builds {
        b.ingest(&in_time_order);
    }
    // The other way round, a's fix arriving before its failure.
    let other_way = Test::new();
    for i in [1, 0, 3, 2, 5, 7, 6, 4] {
        builds[i].ingest(&other_way);
    }
    assert_same_answers(&in_time_order, &other_way);

    // The order is the changes' own: by time, then by revision.
    let problems = in_time_order.json(&["problems", "--all"]);
    let [p] = problems.as_array().unwrap().as_slice() else {
        panic!("one Problem: {problems:#}");
    };
    assert_eq!(p["test"], DIVIDE);
    let mut suspects = vec![c2.as_str(), c3.as_str()];
    suspects.sort_unstable();
    assert_eq!(revisions(&p["started_by"]), suspects);
    assert_eq!(revisions(&p["fixed_by"]), ["0aa1111", "f1x0000"]);
    assert_eq!(
        p["fixers"],
        serde_json::json!(["Ada Lovelace", "Dave Dunn"])
    );
    let builds = in_time_order.json(&["builds", "--builder", "a"]);
    assert_eq!(revisions(&builds[0]["changes"]), ["0aa1111", "f1x0000"]);
}

/// The test's name after the commit that renames it.
const TRUE_DIVIDE: &str = "tests.test_core.test_true_divide";

/// A real report as it would read after test_divide was renamed test_true_divide: the fixture with
/// that one `name` attribute changed (written into the test's directory).
fn renamed_report(t: &Test, relative: &str) -> String {
    let text = std::fs::read_to_string(fixture(relative)).unwrap();
    assert!(text.contains("name=\"test_divide\""), "{relative}");
    let renamed = text.replace("name=\"test_divide\"", "name=\"test_true_divide\"");
    let file = t.path(&relative.replace('/', "-"));
    std::fs::write(&file, renamed).unwrap();
    file.display().to_string()
}

/// Builders a and b pass test_divide, then fail it; a's next build has the test renamed
/// test_true_divide (still failing), while b builds an older revision under the old name, the last
/// failure. Then `rename` says they are one test.
fn renamed_history(t: &Test) {
    let renamed = renamed_report(t, FAIL);
    for (builder, number, minute, report) in [
        ("a", 1, 61, fixture(PASS).display().to_string()),
        ("b", 1, 62, fixture(PASS).display().to_string()),
        ("a", 2, 63, fixture(FAIL).display().to_string()),
        ("b", 2, 64, fixture(FAIL).display().to_string()),
        ("a", 3, 65, renamed.clone()),
        ("b", 3, 66, fixture(FAIL).display().to_string()),
    ] {
        let time = format!("2024-03-01T{:02}:{:02}:00Z", minute / 60, minute % 60);
        t.ingest(builder, number, &["--time", &time, &report]);
    }
    t.ok(&["rename", DIVIDE, TRUE_DIVIDE]);
}

// See: issue 19, bug 2. `show` looked a failure's message up under the test's new name only, so
// builds that failed under the old name showed `failed` with no message (and a Problem whose last
// failure was under the old name had no message and no cause cluster).
#[test]
fn show_finds_the_messages_of_failures_under_a_test_s_old_name() {
    let t = Test::new();
    renamed_history(&t);
    let problems = t.json(&["problems", "--all"]);
    let [p] = problems.as_array().unwrap().as_slice() else {
        panic!("one Problem: {problems:#}");
    };
    assert_eq!(p["test"], TRUE_DIVIDE);
    assert_eq!(p["failures"], 4);
    assert_eq!(p["last_failure"]["builder"], "b");
    assert_eq!(p["message"], "assert 3 == 3.5");
    assert!(p["cluster"].is_string(), "{p:#}");
    let show = t.json(&["show", &p["id"].to_string()]);
    let mut failed = 0;
    for builder in show["timeline"].as_array().unwrap() {
        for b in builder["builds"].as_array().unwrap() {
            if b["status"] == "failed" {
                failed += 1;
                assert_eq!(b["message"], "assert 3 == 3.5", "{builder:#}");
            } else {
                assert!(b["message"].is_null(), "{builder:#}");
            }
        }
    }
    assert_eq!(failed, 4, "{show:#}");
    // history agrees (it always followed the old name).
    let history = t.json(&["history", TRUE_DIVIDE, "--builder", "b"]);
    let whole = history["builders"][0]["results"][0]["message"]
        .as_str()
        .unwrap();
    assert_eq!(whole.lines().next(), p["message"].as_str());
}

// See: issue 19, bug 3. `clusters` grouped failures under the names they were recorded with: the
// renamed test was listed twice, and `--open` kept only the failures under the new name.
#[test]
fn clusters_follow_renames() {
    let t = Test::new();
    renamed_history(&t);
    for open in [false, true] {
        let mut args = vec!["clusters"];
        if open {
            args.push("--open");
        }
        let clusters = t.json(&args);
        let [c] = clusters.as_array().unwrap().as_slice() else {
            panic!("one cluster: {clusters:#}");
        };
        assert_eq!(c["tests"], serde_json::json!([TRUE_DIVIDE]), "{c:#}");
        assert_eq!(c["failures"], 4, "{c:#}");
        assert_eq!(c["builders"], serde_json::json!(["a", "b"]));
        assert_eq!(
            (&c["first_seen"]["builder"], &c["first_seen"]["build"]),
            (&"a".into(), &2.into())
        );
        assert_eq!(
            (&c["last_seen"]["builder"], &c["last_seen"]["build"]),
            (&"b".into(), &3.into())
        );
        // The Problem names the same cluster.
        let problems = t.json(&["problems"]);
        assert_eq!(problems[0]["cluster"], c["id"]);
    }
}

/// A repository where Bob's c2 breaks test_divide, Carol's c3 only documents it, and Dave's c4
/// fixes it.
struct Breakage {
    repo: Repo,
    c1: String,
    c2: String,
    c3: String,
    c4: String,
}

fn breakage() -> Breakage {
    let repo = Repo::new();
    let c1 = repo.commit(ADA, "core.py", "1", "base", 1_709_280_000);
    let c2 = repo.commit(BOB, "core.py", "2", "floor division", 1_709_281_000);
    let c3 = repo.commit(CAROL, "docs.txt", "3", "document divide", 1_709_282_000);
    let c4 = repo.commit(DAVE, "core.py", "4", "true division again", 1_709_283_000);
    Breakage {
        repo,
        c1,
        c2,
        c3,
        c4,
    }
}

fn only_problem(t: &Test) -> Value {
    let problems = t.json(&["problems", "--all", "--intermittent"]);
    let [p] = problems.as_array().unwrap().as_slice() else {
        panic!("one Problem: {problems:#}");
    };
    p.clone()
}

// See: issue 19, bug 1. Builder x built the breaking change first and never built again; y and z
// failed in their next builds. Retiring x split the Problem in two: one on x alone, "fixed" with no
// fix, and one on y and z whose suspects x no longer narrowed.
#[test]
fn a_retired_builder_does_not_split_the_problem_it_opened() {
    let h = breakage();
    let builds = [
        build("x", 1, 61, PASS).git(&h.repo, &h.c1),
        build("y", 1, 62, PASS).git(&h.repo, &h.c1),
        build("z", 1, 63, PASS).git(&h.repo, &h.c1),
        build("x", 2, 64, FAIL).git(&h.repo, &h.c2),
        build("y", 2, 65, FAIL).git(&h.repo, &h.c3),
        build("z", 2, 66, FAIL).git(&h.repo, &h.c3),
        build("y", 3, 67, PASS).git(&h.repo, &h.c4),
        build("z", 3, 68, PASS).git(&h.repo, &h.c4),
    ];
    let t = Test::new();
    for b in &builds[..7] {
        b.ingest(&t);
    }
    t.ok(&["builders", "retire", "x"]);
    let p = only_problem(&t);
    assert_eq!(p["builders"], serde_json::json!(["x", "y", "z"]));
    assert_eq!(p["first_failure"]["builder"], "x");
    // x's window (c2 alone) narrows y's and z's (c2 and c3).
    assert_eq!(revisions(&p["started_by"]), [h.c2.as_str()]);
    // Open until y and z pass; x need not.
    assert_eq!(p["state"], "open", "{p:#}");
    assert!(p["fixed"].is_null());
    builds[7].ingest(&t);
    let p = only_problem(&t);
    assert_eq!(p["state"], "fixed", "{p:#}");
    assert_eq!(
        (&p["fixed"]["builder"], &p["fixed"]["build"]),
        (&"z".into(), &3.into())
    );
    assert_eq!(revisions(&p["fixed_by"]), [h.c4.as_str()]);
    assert_eq!(revisions(&p["started_by"]), [h.c2.as_str()]);
    let fixed = t.ok(&["problems", "--all", "--intermittent", "--format", "json"]);
    t.ok(&["reanalyze"]);
    assert_eq!(
        t.ok(&["problems", "--all", "--intermittent", "--format", "json"]),
        fixed
    );
    // Retired before y and z built, the same.
    let early = Test::new();
    for b in &builds[..4] {
        b.ingest(&early);
    }
    early.ok(&["builders", "retire", "x"]);
    for b in &builds[4..] {
        b.ingest(&early);
    }
    assert_eq!(
        early.ok(&["problems", "--all", "--intermittent", "--format", "json"]),
        fixed
    );
}

// See: issue 19, bug 1: what a Problem becomes when every builder that failed it is retired. It
// is not open (no retired builder keeps a Problem open), and nothing fixed it: its state is
// `retired`, it has no fix, and no listing of open or fixed Problems shows it.
#[test]
fn a_problem_whose_every_builder_is_retired_is_neither_open_nor_fixed() {
    let h = breakage();
    let t = Test::new();
    // Only x fails (a platform of its own); y builds the same change and passes.
    for b in [
        build("x", 1, 61, PASS).git(&h.repo, &h.c1),
        build("y", 1, 62, PASS).git(&h.repo, &h.c1),
        build("x", 2, 64, FAIL).git(&h.repo, &h.c2),
        build("y", 2, 65, PASS).git(&h.repo, &h.c3),
    ] {
        b.ingest(&t);
    }
    let id = only_problem(&t)["id"].to_string();
    assert_eq!(t.json(&["problems"]).as_array().unwrap().len(), 1);
    t.ok(&["notify", "--mark-all-sent"]);
    t.ok(&["builders", "retire", "x"]);
    let p = only_problem(&t);
    assert_eq!(p["id"].to_string(), id);
    assert_eq!(p["state"], "retired", "{p:#}");
    assert!(p["fixed"].is_null());
    assert_eq!(p["fixed_by"], serde_json::json!([]));
    assert_eq!(revisions(&p["started_by"]), [h.c2.as_str()]);
    for listing in [&["problems"][..], &["problems", "--fixed"]] {
        let list = t.json(listing);
        assert_eq!(list, serde_json::json!([]), "{listing:?}");
    }
    let builders = t.json(&["builders"]);
    assert!(builders
        .as_array()
        .unwrap()
        .iter()
        .all(|b| b["open_problems"] == 0));
    let users = t.json(&["users"]);
    assert!(users
        .as_array()
        .unwrap()
        .iter()
        .all(|u| u["open_problems"] == serde_json::json!([])));
    let show = t.ok(&["show", &id]);
    assert!(show.contains("retired"), "{show}");
    // Nothing to announce: it was not fixed.
    let due = t.json(&["notify", "--dry-run"]);
    assert_eq!(due, serde_json::json!([]));
    // y fails later, after passing since x's failure: a Problem of its own, not x's reopened.
    build("y", 3, 70, FAIL).git(&h.repo, &h.c4).ingest(&t);
    let all = t.json(&["problems", "--all"]);
    assert_eq!(all.as_array().unwrap().len(), 2, "{all:#}");
    let open = t.json(&["problems"]);
    assert_eq!(open[0]["builders"], serde_json::json!(["y"]));
    assert_eq!(revisions(&open[0]["started_by"]), [h.c4.as_str()]);
    // Unretired, x keeps its Problem open again.
    t.ok(&["builders", "unretire", "x"]);
    let open = t.json(&["problems"]);
    assert_eq!(open.as_array().unwrap().len(), 1, "{open:#}");
    assert_eq!(open[0]["id"].to_string(), id);
    assert_eq!(open[0]["builders"], serde_json::json!(["x", "y"]));
}

/// The sources of `fixtures/gcc/warning-fixed/project-N/`.
fn warning_fixed_source(n: u8, file: &str) -> String {
    let path = fixture(&format!("gcc/warning-fixed/project-{n}/src/{file}"));
    std::fs::read_to_string(path).unwrap()
}

// See: issue 19 (compile Problems). A compile diagnostic absent from a build that compiled its file
// is a pass there; which files a build compiled was not stored, so a build that recompiled the file
// cleanly and arrived before the diagnostic's first failure never fixed it (the Problem stayed
// open), and `reanalyze` could not mend it. The logs are real gcc output (warning-fixed: builder
// a builds incrementally, b from scratch).
#[test]
fn compile_problems_are_the_same_whatever_order_their_builds_arrived_in() {
    let repo = Repo::new();
    std::fs::create_dir_all(repo.path().join("src")).unwrap();
    repo.commit(
        ADA,
        "src/one.c",
        &warning_fixed_source(1, "one.c"),
        "one",
        1_709_280_000,
    );
    let c1 = repo.commit(
        ADA,
        "src/two.c",
        &warning_fixed_source(1, "two.c"),
        "two",
        1_709_280_060,
    );
    let c2 = repo.commit(
        BOB,
        "src/one.c",
        &warning_fixed_source(2, "one.c"),
        "drop spare",
        1_709_281_000,
    );
    let c3 = repo.commit(
        CAROL,
        "src/two.c",
        &warning_fixed_source(3, "two.c"),
        "cap two",
        1_709_282_000,
    );
    let builds = [
        // a and b compile both files: one.c's -Wunused-variable, two.c's -Wunused-parameter.
        build("a", 1, 61, "gcc/warning-fixed/build-1.log").git(&repo, &c1),
        build("b", 1, 62, "gcc/warning-fixed/build-1.log").git(&repo, &c1),
        // a compiles only one.c: its warning is fixed on a.
        build("a", 2, 63, "gcc/warning-fixed/build-2.log").git(&repo, &c2),
        // a compiles only two.c: its warning is fixed on a, and a -Wsign-compare comes.
        build("a", 3, 64, "gcc/warning-fixed/build-3.log").git(&repo, &c3),
        // b compiles both again: both first warnings fixed on b, the -Wsign-compare on b too.
        build("b", 2, 65, "gcc/warning-fixed/build-3-full.log").git(&repo, &c3),
    ];
    let in_time_order = Test::new();
    for b in &builds {
        b.ingest(&in_time_order);
    }
    // Every fix before the failures it fixes.
    let backwards = Test::new();
    for b in builds.iter().rev() {
        b.ingest(&backwards);
    }
    // The failures first on one builder, its fixes first on the other.
    let interleaved = Test::new();
    for i in [2, 3, 0, 4, 1] {
        builds[i].ingest(&interleaved);
    }
    assert_same_answers_but_ids(&in_time_order, &backwards);
    assert_same_answers_but_ids(&in_time_order, &interleaved);

    let problems = in_time_order.json(&["problems", "--all"]);
    let list = problems.as_array().unwrap();
    let of = |test: &str| -> &Value {
        let found: Vec<&Value> = (list.iter())
            .filter(|p| p["test"].as_str().unwrap().contains(test))
            .collect();
        let [p] = found.as_slice() else {
            panic!("one Problem of {test}: {problems:#}");
        };
        p
    };
    assert_eq!(list.len(), 3, "{problems:#}");
    let unused_variable = of("one.c:-Wunused-variable:");
    let unused_parameter = of("two.c:-Wunused-parameter:");
    // a's fix window of two.c's warning holds a #2 too, which did not compile two.c.
    let fixes = [
        (unused_variable, vec![c2.as_str()]),
        (unused_parameter, vec![c2.as_str(), c3.as_str()]),
    ];
    for (p, fixed_by) in fixes {
        assert_eq!(p["kind"], "compile");
        assert_eq!(p["state"], "fixed", "{p:#}");
        assert_eq!(names(&p["builders"]), ["a", "b"]);
        assert_eq!(revisions(&p["started_by"]), [c1.as_str()]);
        assert_eq!(revisions(&p["fixed_by"]), fixed_by, "{p:#}");
        assert_eq!(at(&p["fixed"]), ("b".to_owned(), 2));
    }
    let sign_compare = of("two.c:-Wsign-compare:");
    assert_eq!(sign_compare["state"], "open");
    assert_eq!(names(&sign_compare["builders"]), ["a", "b"]);
    assert_eq!(revisions(&sign_compare["started_by"]), [c3.as_str()]);

    // `reanalyze` judges every test again from what is stored: the same answers.
    for t in [&in_time_order, &backwards, &interleaved] {
        t.ok(&["reanalyze"]);
    }
    assert_same_answers_but_ids(&in_time_order, &backwards);
    assert_same_answers_but_ids(&in_time_order, &interleaved);
    assert_eq!(in_time_order.json(&["problems", "--all"]), problems);
}

/// `value` without its Problem ids (`id`, and `open_problems` counted): a Problem's id is given
/// when it is first stored (the three orders store these three Problems in other orders) and never
/// changes.
fn without_ids(value: Value) -> Value {
    match value {
        Value::Object(map) => (map.into_iter())
            .filter(|(k, _)| k != "id")
            .map(|(k, v)| match (k.as_str(), &v) {
                ("open_problems", Value::Array(ids)) => (k, Value::from(ids.len())),
                _ => (k, without_ids(v)),
            })
            .collect(),
        Value::Array(list) => list.into_iter().map(without_ids).collect(),
        other => other,
    }
}

/// A later report of a build that says `--clean-build` is kept with the build: a diagnostic that
/// arrives late from an earlier build passes at it, as it does when the builds come in order.
#[test]
fn a_clean_build_said_by_a_later_report_passes_a_late_diagnostic() {
    let first = build("a", 1, 61, "gcc/warning-fixed/build-1.log").change("1111111", "ada");
    // a #2 compiles only one.c, then another report says the build was clean (every file).
    let second = build("a", 2, 62, "gcc/warning-fixed/build-2.log").change("2222222", "bob");
    let mut clean = build("a", 2, 62, "junit/ctest/junit.xml");
    clean.extra.push("--clean-build".to_owned());
    let in_order = Test::new();
    for b in [&first, &second, &clean] {
        b.ingest(&in_order);
    }
    let late = Test::new();
    for b in [&second, &clean, &first] {
        b.ingest(&late);
    }
    assert_same_answers_but_ids(&in_order, &late);
    // two.c's warning, which a #2 did not compile but cleanly rebuilt, is fixed there.
    let problems = late.json(&["problems", "--all"]);
    let found: Vec<&Value> = (problems.as_array().unwrap().iter())
        .filter(|p| {
            p["test"]
                .as_str()
                .unwrap()
                .contains("two.c:-Wunused-parameter:")
        })
        .collect();
    let [p] = found.as_slice() else {
        panic!("one Problem of two.c's warning: {problems:#}");
    };
    assert_eq!(p["state"], "fixed", "{p:#}");
}

/// [`answers`] in JSON, each Problem's `show` by its test, without the Problems' ids.
#[track_caller]
fn assert_same_answers_but_ids(first: &Test, second: &Test) {
    let answers = |t: &Test| {
        let mut out = Vec::new();
        for args in [
            &["problems", "--all", "--intermittent"][..],
            &["users", "--intermittent"],
            &["builds", "--limit", "100"],
        ] {
            out.push((args.join(" "), without_ids(t.json(args))));
        }
        let problems = t.json(&["problems", "--all"]);
        let mut by_test: Vec<(String, String)> = (problems.as_array().unwrap().iter())
            .map(|p| (p["test"].to_string(), p["id"].to_string()))
            .collect();
        by_test.sort();
        for (test, id) in by_test {
            out.push((format!("show {test}"), without_ids(t.json(&["show", &id]))));
        }
        out
    };
    let (a, b) = (answers(first), answers(second));
    assert_eq!(a.len(), b.len());
    for ((command, x), (_, y)) in a.iter().zip(&b) {
        assert_eq!(x, y, "`{command}` differs between the two arrival orders");
    }
}

fn names(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect()
}

fn at(value: &Value) -> (String, i64) {
    (
        value["builder"].as_str().unwrap().to_owned(),
        value["build"].as_i64().unwrap(),
    )
}
