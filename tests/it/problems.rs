//! Problems end to end: the sample history (a real git repository, three builders building
//! different revisions at different cadences) plus compiler logs of a warning fixed in an
//! incremental build.

use crate::harness::{fixture, Test};

/// The sample history's commits (fixtures/history/README.md).
const C4: &str = "39c1293d605ca13401738c95bafbb35dc0a73b18";
const C6: &str = "92f86c2ba41df2c2ae509907eb2ceeb4d3cf5b91";
const C7: &str = "cb020fe6eed936bfc4dae40465bf7ec30cfc75d2";
const C10: &str = "ef0ba61b3a54b6a1a1f0bd760ac0dfe2ad2ba152";
const C12: &str = "0e97e7259119076296f52fd6b586429b5294a070";
const C13: &str = "e790ecbd8223b0578fd4a999dd22f7b88b85a5fd";
const ALICE: &str = "Alice Anders <alice@example.org>";
const BOB: &str = "Bob Brown <bob@example.org>";
const CAROL: &str = "Carol Chen <carol@example.org>";
const DAVE: &str = "Dave Dunn <dave@example.org>";

const SIGN_COMPARE: &str = "src/two.c:-Wsign-compare:comparison of integer expressions of \
     different signedness: 'int' and 'unsigned int'";

/// The compiler logs ingested beside macos's test reports: build-1 has two warnings, build-2
/// recompiles one.c without its warning, build-3 recompiles two.c: one warning gone, a new one.
const COMPILES: [(i64, &str); 3] = [
    (52, "build-1.log"),
    (54, "build-2.log"),
    (56, "build-3.log"),
];

/// Ingests the whole sample history in time order, as a CI would send it.
pub fn sample_history(t: &Test) {
    let repo = t.path("minicalc");
    let out = std::process::Command::new("git")
        .args(["clone", "--quiet"])
        .arg(fixture("history/repo.bundle"))
        .arg(&repo)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let builds = std::fs::read_to_string(fixture("history/builds.tsv")).unwrap();
    let mut rows: Vec<Vec<&str>> = builds
        .lines()
        .skip(1)
        .map(|l| l.split('\t').collect())
        .collect();
    rows.sort_by_key(|r| r[4]);
    for row in rows {
        let (builder, number, revision, time) = (row[0], row[1], row[2], row[3 + 1]);
        let report = fixture(&format!("history/{builder}/{number}.xml"));
        let mut args = vec![
            "ingest",
            "--builder",
            builder,
            "--build",
            number,
            "--revision",
            revision,
            "--time",
            time,
            "--git",
            repo.to_str().unwrap(),
            "--format",
            "json",
        ];
        let log;
        if let Some((_, file)) = COMPILES
            .iter()
            .find(|(n, _)| builder == "macos" && n.to_string() == number)
        {
            log = fixture(&format!("gcc/warning-fixed/{file}"));
            args.push(log.to_str().unwrap());
        }
        args.push(report.to_str().unwrap());
        t.ok(&args);
    }
}

fn problems(t: &Test, extra: &[&str]) -> Vec<serde_json::Value> {
    let mut args = vec!["problems"];
    args.extend(extra);
    t.json(&args).as_array().unwrap().clone()
}

fn find<'a>(list: &'a [serde_json::Value], test: &str) -> Vec<&'a serde_json::Value> {
    list.iter().filter(|p| p["test"] == test).collect()
}

fn changes(value: &serde_json::Value) -> Vec<(String, String)> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["revision"].as_str().unwrap().to_owned(),
                c["author"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn names(value: &serde_json::Value) -> Vec<&str> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect()
}

fn at(value: &serde_json::Value) -> (String, i64) {
    (
        value["builder"].as_str().unwrap().to_owned(),
        value["build"].as_i64().unwrap(),
    )
}

#[test]
fn the_sample_history_has_exactly_its_problems() {
    let t = Test::new();
    sample_history(&t);
    let all = problems(&t, &["--all", "--intermittent"]);

    // Broken by C4 (Bob) on every builder, fixed by C7 (Carol): each builder's evidence narrows the
    // blamelists (macos built C3 and C4 together) to the one change.
    let divide = find(&all, "tests.test_core.test_divide");
    assert_eq!(divide.len(), 1);
    let divide = divide[0];
    assert_eq!(divide["state"], "fixed");
    assert_eq!(divide["intermittent"], false);
    assert_eq!(
        names(&divide["builders"]),
        ["linux-py311", "linux-py312", "macos"]
    );
    assert_eq!(at(&divide["first_failure"]), ("linux-py311".into(), 104));
    assert_eq!(changes(&divide["started_by"]), [(C4.into(), BOB.into())]);
    assert_eq!(changes(&divide["fixed_by"]), [(C7.into(), CAROL.into())]);
    assert_eq!(divide["failures"], 8);
    assert!(divide["message"].as_str().unwrap().contains("assert"));

    // Broken by C6 (Alice) on macos only, fixed in macos 58, which built C12 and C13 together.
    let separator = find(&all, "tests.test_platform.test_path_separator");
    assert_eq!(separator.len(), 1);
    let separator = separator[0];
    assert_eq!(names(&separator["builders"]), ["macos"]);
    assert_eq!(
        changes(&separator["started_by"]),
        [(C6.into(), ALICE.into())]
    );
    assert_eq!(
        changes(&separator["fixed_by"]),
        [(C12.into(), ALICE.into()), (C13.into(), BOB.into())]
    );
    assert_eq!(at(&separator["fixed"]), ("macos".into(), 58));

    // Broken by C10 (Dave) and still failing everywhere.
    for test in [
        "tests.test_fmt.test_format_thousands",
        "tests.test_fmt.test_format_currency",
    ] {
        let found = find(&all, test);
        assert_eq!(found.len(), 1, "{test}");
        let p = found[0];
        assert_eq!(p["state"], "open");
        assert_eq!(p["intermittent"], false);
        assert_eq!(
            names(&p["builders"]),
            ["linux-py311", "linux-py312", "macos"]
        );
        assert_eq!(changes(&p["started_by"]), [(C10.into(), DAVE.into())]);
        assert!(changes(&p["fixed_by"]).is_empty());
        assert!(p["fixed"].is_null());
        assert_eq!(p["responsible"], serde_json::json!(["Dave Dunn"]));
    }

    // The flaky test's failures are intermittent Problems, kept out of the default list.
    let flaky = find(&all, "tests.test_network.test_retry_connection");
    assert!(flaky.len() >= 3, "{flaky:?}");
    assert!(
        flaky.iter().all(|p| p["intermittent"] == true),
        "{flaky:#?}"
    );
    let default = problems(&t, &[]);
    let mut open: Vec<&str> = default
        .iter()
        .map(|p| p["test"].as_str().unwrap())
        .collect();
    open.sort_unstable();
    assert_eq!(
        open,
        [
            SIGN_COMPARE,
            "tests.test_fmt.test_format_currency",
            "tests.test_fmt.test_format_thousands"
        ]
    );

    // Compiler warnings (paths relative to the --git checkout, where the log's relative paths stay
    // as they are): one.c's is fixed where one.c is compiled again (macos 54); two.c's stays
    // open while two.c is not compiled (54) and is fixed where it is (56), which brings a new one.
    let compile = problems(&t, &["--all", "--kind", "compile"]);
    let unused_var = find(
        &compile,
        "src/one.c:-Wunused-variable:unused variable 'spare'",
    )[0];
    assert_eq!(unused_var["kind"], "compile");
    assert_eq!(unused_var["state"], "fixed");
    assert_eq!(at(&unused_var["first_failure"]), ("macos".into(), 52));
    assert_eq!(at(&unused_var["fixed"]), ("macos".into(), 54));
    let unused_param = find(
        &compile,
        "src/two.c:-Wunused-parameter:unused parameter 'limit'",
    )[0];
    assert_eq!(unused_param["state"], "fixed");
    assert_eq!(at(&unused_param["last_failure"]), ("macos".into(), 52));
    assert_eq!(at(&unused_param["fixed"]), ("macos".into(), 56));
    let sign = find(&compile, SIGN_COMPARE)[0];
    assert_eq!(sign["state"], "open");
    assert_eq!(at(&sign["first_failure"]), ("macos".into(), 56));
    assert_eq!(compile.len(), 3);
    assert!(problems(&t, &["--kind", "compile", "--builder", "linux-py311"]).is_empty());
}

#[test]
fn since_tells_when_where_and_who() {
    let t = Test::new();
    sample_history(&t);
    let since = t.json(&["since", "test_format_thousands"]);
    assert_eq!(since["test"], "tests.test_fmt.test_format_thousands");
    assert_eq!(since["failing"], true);
    let builders: Vec<(String, i64, i64)> = since["builders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            assert_eq!(b["since_revision"], C10);
            (
                b["builder"].as_str().unwrap().to_owned(),
                b["since_build"].as_i64().unwrap(),
                b["last_pass_build"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        builders,
        [
            ("linux-py311".into(), 110, 109),
            ("linux-py312".into(), 2008, 2007),
            ("macos".into(), 56, 55)
        ]
    );
    assert_eq!(changes(&since["started_by"]), [(C10.into(), DAVE.into())]);
    assert!(since["problem"].as_i64().is_some());

    // A fixed test: when its last Problem was fixed, and by whom.
    let divide = t.json(&["since", "tests.test_core.test_divide"]);
    assert_eq!(divide["failing"], false);
    assert!(divide["builders"].as_array().unwrap().is_empty());
    assert_eq!(changes(&divide["started_by"]), [(C4.into(), BOB.into())]);
    assert_eq!(changes(&divide["fixed_by"]), [(C7.into(), CAROL.into())]);
    assert_eq!(divide["fixed_builder"], "macos");
    assert_eq!(divide["fixed_build"], 55);
    // macos 55 built C7 and C8 together.
    assert_eq!(
        divide["fixed_revision"],
        "f71c74d02a5b295d1f665fc9f3e80f6414e4edf7"
    );
    assert!(divide["fixed_time"]
        .as_str()
        .unwrap()
        .starts_with("2024-03-02T"));

    let separator = t.json(&["since", "test_path_separator"]);
    assert_eq!(separator["failing"], false);
    assert_eq!(
        changes(&separator["started_by"]),
        [(C6.into(), ALICE.into())]
    );

    // Never failed.
    let add = t.json(&["since", "tests.test_core.test_add"]);
    assert_eq!(add["failing"], false);
    assert!(add["problem"].is_null());
    let table = t.ok(&["since", "tests.test_core.test_add"]);
    assert!(table.contains("never failed"), "{table}");

    // Several matches: exit 3 with the candidates.
    let out = t.run(&["since", "test_format", "--format", "json"]);
    assert_eq!(out.status.code(), Some(3));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(json["candidates"].as_array().unwrap().len() >= 3);
}

#[test]
fn reanalyze_gives_the_same_problems_with_the_same_ids() {
    let t = Test::new();
    sample_history(&t);
    let before = t.json(&["problems", "--all", "--intermittent"]);
    t.ok(&["reanalyze"]);
    let after = t.json(&["problems", "--all", "--intermittent"]);
    assert_eq!(before, after);
}

#[test]
fn users_show_and_builders() {
    let t = Test::new();
    sample_history(&t);
    let users = t.json(&["users"]);
    let dave = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["user"] == "Dave Dunn")
        .expect("Dave is on the hook");
    // The two format tests, and the compile warning that first showed in macos 56, which built C10.
    assert_eq!(dave["open_problems"].as_array().unwrap().len(), 3);
    let mine = t.json(&["problems", "--user", "dave@example.org"]);
    assert_eq!(mine.as_array().unwrap().len(), 3);
    assert!(t
        .json(&["problems", "--user", "Carol Chen"])
        .as_array()
        .unwrap()
        .is_empty());

    // The users map makes two addresses one person.
    std::fs::write(
        t.path("probtrack.toml"),
        "[[users]]\nname = \"Dave D.\"\nemails = [\"dave@example.org\", \"dave@home.example\"]\nchat = \"@dave\"\n",
    )
    .unwrap();
    let users = t.json(&["users"]);
    assert!(users
        .as_array()
        .unwrap()
        .iter()
        .any(|u| u["user"] == "Dave D." && u["chat"] == "@dave"));
    assert_eq!(
        t.json(&["problems", "--user", "Dave D."])
            .as_array()
            .unwrap()
            .len(),
        3
    );

    let id = t
        .json(&["problems", "--all"])
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["test"] == "tests.test_core.test_divide")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let show = t.json(&["show", &id.to_string()]);
    assert_eq!(show["id"], id);
    assert_eq!(show["timeline"].as_array().unwrap().len(), 3);
    let started: Vec<&serde_json::Value> = show["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["role"] == "start")
        .collect();
    assert_eq!(started.len(), 1);
    assert!(started[0]["comments"]
        .as_str()
        .unwrap()
        .contains("floor division"));
    t.fails(&["show", "99999"], 3);
    let table = t.ok(&["show", &id.to_string()]);
    assert!(
        table.contains("Bob Brown") && table.contains("macos"),
        "{table}"
    );

    let builders = t.json(&["builders"]);
    assert_eq!(builders.as_array().unwrap().len(), 3);
    let macos = builders
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["builder"] == "macos")
        .unwrap();
    assert_eq!(macos["latest"]["build"], 60);
    // Retiring macos stops it keeping its compile Problem open.
    t.ok(&["builders", "retire", "macos"]);
    let open_compile = t.json(&["problems", "--kind", "compile"]);
    assert!(
        open_compile.as_array().unwrap().is_empty(),
        "{open_compile}"
    );
    t.ok(&["builders", "unretire", "macos"]);
    assert_eq!(
        t.json(&["problems", "--kind", "compile"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    t.fails(&["builders", "retire", "nosuch"], 3);
}

/// An open Problem's message and cause cluster are its last failure's: where a later failure has
/// the same message but another traceback, the cluster follows it (judging keeps the stored
/// cluster only where the last failure's text is the stored one's), as `reanalyze` finds it.
#[test]
fn an_open_problems_cluster_follows_its_last_failures_traceback() {
    let t = Test::new();
    let ingest = |number: i64, frame: Option<&str>| {
        let failure = match frame {
            Some(f) => format!(
                "<failure message=\"AssertionError: boom\">Traceback (most recent call last):\n  \
                 File \"tests/{f}.py\", line 3, in {f}\nAssertionError: boom</failure>"
            ),
            None => String::new(),
        };
        let xml = format!(
            "<?xml version=\"1.0\"?>\n<testsuite name=\"s\">\
             <testcase classname=\"t\" name=\"one\" time=\"0.1\">{failure}</testcase>\
             <testcase classname=\"t\" name=\"two\" time=\"0.1\"/></testsuite>\n"
        );
        let path = t.path(&format!("{number}.xml"));
        std::fs::write(&path, xml).unwrap();
        let time = format!("2024-03-01T0{number}:00:00Z");
        t.ingest("linux", number, &["--time", &time, path.to_str().unwrap()]);
        let listed = problems(&t, &["--all"]);
        let [p] = listed.as_slice() else {
            return (serde_json::Value::Null, String::new());
        };
        (
            p["message"].clone(),
            p["cluster"].as_str().unwrap().to_owned(),
        )
    };
    assert_eq!(ingest(1, None).0, serde_json::Value::Null);
    let (message, alpha) = ingest(2, Some("alpha"));
    assert_eq!(message, "AssertionError: boom");
    assert_eq!(ingest(3, Some("alpha")), (message.clone(), alpha.clone()));
    let (again, beta) = ingest(4, Some("beta"));
    assert_eq!(again, message);
    assert_ne!(beta, alpha, "another traceback, another cause");
    t.ok(&["reanalyze"]);
    let [p] = problems(&t, &["--all"]).try_into().unwrap();
    assert_eq!(p["cluster"], beta.as_str());
}
