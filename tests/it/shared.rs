//! Shared databases: `copy` between backends with every answer kept, and many ingest processes at
//! once. The rest of the suite runs on each backend in turn (`PROBTRACK_TEST_DB`, see harness.rs).

use std::process::{Command, Stdio};

use crate::generate::{history, Shape, Truth};
use crate::harness::{all_succeed, fixture, server, Backend, ServerDb, Test, BIN};

/// The answers a copy must keep, as JSON text: Problems (every one), flaky, since and show for the
/// broken tests, and the builds.
fn answers(t: &Test, db: &str, truth: &Truth) -> Vec<String> {
    let mut out = Vec::new();
    let mut ask = |args: &[&str]| {
        let mut all = vec!["--db", db];
        all.extend(args);
        out.push(format!("{args:?} {}", t.json(&all)));
    };
    ask(&["problems", "--all", "--intermittent"]);
    ask(&["flaky"]);
    ask(&["builds", "--limit", "100000"]);
    ask(&["clusters"]);
    for (test, ..) in &truth.broken {
        ask(&["since", test]);
        ask(&["history", test]);
    }
    for id in ["1", "2", "3"] {
        ask(&["show", id]);
    }
    out
}

/// Asserts equal answers, showing where the first difference is (the answers are long).
#[track_caller]
fn same(got: &[String], expected: &[String], what: &str) {
    assert_eq!(got.len(), expected.len(), "{what}");
    for (a, b) in got.iter().zip(expected) {
        if a != b {
            let at = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
            let from = at.saturating_sub(300);
            let window = |s: &str| s.get(from..(at + 200).min(s.len())).unwrap_or(s).to_owned();
            panic!(
                "{what}: answers differ at byte {at} of {}\n got: …{}\nwant: …{}",
                &b[..b.find(']').map_or(0, |i| i + 1)],
                window(a),
                window(b)
            );
        }
    }
}

/// A generated history with broken and flaky tests, a note, a link and a known-bad range, and a
/// report whose test name and message are not UTF-8.
fn a_history(t: &Test, db: &str) -> Truth {
    let dir = t.path("history");
    let truth = history(
        &dir,
        &Shape {
            builders: 3,
            builds: 30,
            tests: 60,
            flaky: 3,
            broken: 3,
            seed: 11,
        },
    );
    t.ok(&["--db", db, "import", dir.to_str().unwrap()]);
    let mut xml = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><testsuite name=\"s\">".to_vec();
    xml.extend_from_slice(
        b"<testcase classname=\"latin\" name=\"caf\xe9\"><failure message=\"got \xff\xfe\"/></testcase>",
    );
    xml.extend_from_slice(b"<testcase classname=\"Case\" name=\"Sensitive\"/>");
    xml.extend_from_slice(b"<testcase classname=\"case\" name=\"sensitive\"/></testsuite>");
    std::fs::write(t.path("bytes.xml"), &xml).unwrap();
    t.ok(&[
        "--db",
        db,
        "ingest",
        "--builder",
        "builder-0",
        "--build",
        "2000",
        "bytes.xml",
    ]);
    t.ok(&["--db", db, "note", "1", "seen on the lab machines"]);
    t.ok(&["--db", db, "link", "2", "https://bugs.example.org/42"]);
    t.ok(&[
        "--db",
        db,
        "mark-bad",
        "--builder",
        "builder-1",
        "--from",
        "1010",
        "--to",
        "1011",
        "--reason",
        "disk full",
    ]);
    truth
}

#[test]
fn copy_moves_a_whole_history_with_every_answer_and_id() {
    let t = Test::new();
    let source = t.db_url();
    let truth = a_history(&t, &source);
    let before = t.dump();
    let expected = answers(&t, &source, &truth);
    let copy = t.json(&["copy", "--to", "sqlite:copy.db"]);
    assert_eq!(
        copy["tables"].as_array().unwrap().len(),
        probtrack::store::TABLES.len()
    );
    same(&answers(&t, "copy.db", &truth), &expected, "the copy");
    assert_eq!(t.dump(), before, "the source is unchanged");
    // The copy goes on as the original would: new rows take ids after the copied ones.
    let next = fixture("junit/pytest-xunit2/report.xml");
    for db in [source.as_str(), "copy.db"] {
        t.ok(&[
            "--db",
            db,
            "ingest",
            "--builder",
            "builder-2",
            "--build",
            "3100",
            "--time",
            "2024-01-01T00:00:00Z",
            next.to_str().unwrap(),
        ]);
    }
    same(
        &answers(&t, "copy.db", &truth),
        &answers(&t, &source, &truth),
        "after one more ingest",
    );
}

#[test]
fn copy_into_a_database_with_a_history_changes_nothing() {
    let t = Test::new();
    let report = fixture("junit/pytest-xunit2/report.xml");
    t.ingest("b", 1, &[report.to_str().unwrap()]);
    t.ok(&[
        "--db",
        "other.db",
        "ingest",
        "--builder",
        "c",
        "--build",
        "1",
        report.to_str().unwrap(),
    ]);
    let before = t.dump();
    let other = std::fs::read(t.path("other.db")).unwrap();
    let stderr = t.fails(&["copy", "--to", "other.db"], 2);
    assert!(stderr.contains("already holds data"), "{stderr}");
    assert_eq!(std::fs::read(t.path("other.db")).unwrap(), other);
    assert_eq!(t.dump(), before);
    let stderr = t.fails(&["copy", "--from", "missing.db", "--to", "new.db"], 4);
    assert!(stderr.contains("no probtrack database"), "{stderr}");
    assert!(!t.path("new.db").exists());
}

#[test]
fn copy_round_trips_sqlite_postgres_mysql_sqlite_with_identical_answers() {
    let (Some(pg), Some(my)) = (server("postgres"), server("mysql")) else {
        return;
    };
    let t = Test::new();
    let start = t.path("start.db").display().to_string();
    let truth = a_history(&t, &start);
    let expected = answers(&t, &start, &truth);
    let pg = ServerDb::create(&pg);
    let my = ServerDb::create(&my);
    let end = t.path("end.db").display().to_string();
    let mut from = start.clone();
    for to in [&pg.url, &my.url, &end] {
        let copied = t.json(&["copy", "--from", &from, "--to", to]);
        assert!(copied["rows"].as_u64().unwrap() > 1000, "{copied}");
        same(
            &answers(&t, to, &truth),
            &expected,
            &format!("after copying into {to}"),
        );
        from = to.clone();
    }
    // Byte for byte: the names that are not UTF-8 came back as they went.
    let dump = |path: &str| {
        Command::new("sqlite3")
            .arg(path)
            .arg(".dump")
            .output()
            .ok()
            .map(|o| o.stdout)
    };
    // (`schema_version` records when each database was made: not history, not copied.)
    let rows = |dump: Vec<u8>| -> String {
        String::from_utf8_lossy(&dump)
            .lines()
            .filter(|l| !l.contains("schema_version"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    if let (Some(a), Some(b)) = (dump(&start), dump(&end)) {
        assert_eq!(rows(a), rows(b));
    }
    let latin = t.json(&["--db", &end, "history", "latin.caf"]);
    assert_eq!(latin["builders"][0]["results"][0]["status"], "failed");
    // Case matters in identities on every engine.
    for db in [&start, &pg.url, &my.url, &end] {
        let stderr = t.fails(&["--db", db, "history", "ensitive"], 3);
        assert!(
            stderr.contains("Case.Sensitive") && stderr.contains("case.sensitive"),
            "{stderr}"
        );
    }
}

/// `writers` processes ingest at once, each its own builder's builds; every build lands once and
/// the Problems equal those of a sequential run. Every fourth builder builds another branch, and
/// every other one sends its builds in pairs swapped (each second build late), so that ingests
/// judge the same branch's Problems at once, and re-judge them for late builds.
fn concurrent_ingests(db: &str, t: &Test, writers: usize) {
    let dir = t.path("history");
    history(
        &dir,
        &Shape {
            builders: writers,
            builds: 8,
            tests: 300,
            flaky: 2,
            broken: 3,
            seed: 23,
        },
    );
    let mut builds: Vec<(String, std::path::PathBuf)> = Vec::new();
    for w in 0..writers {
        let builder = format!("builder-{w}");
        let mut files: Vec<_> = std::fs::read_dir(dir.join(&builder))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "xml"))
            .collect();
        files.sort();
        for f in files {
            builds.push((builder.clone(), f));
        }
    }
    let branch = |builder: &str| -> &'static str {
        let w: usize = builder.trim_start_matches("builder-").parse().unwrap();
        if w % 4 == 3 {
            "release"
        } else {
            ""
        }
    };
    let args = |b: &str, f: &std::path::Path| -> Vec<String> {
        let n = f.file_stem().unwrap().to_str().unwrap();
        let mut args = vec![
            "ingest".into(),
            "--builder".into(),
            b.into(),
            "--build".into(),
        ];
        args.push(n.into());
        if !branch(b).is_empty() {
            args.extend(["--branch".into(), branch(b).into()]);
        }
        // The same new changes (and their authors) in every builder's build of this number, in
        // an order of their own: rows that ingests of other lanes share.
        let w: usize = b.trim_start_matches("builder-").parse().unwrap();
        let mut changes: Vec<String> = (0..6)
            .map(|c| format!("{c:x}{n:0>6}:dev{}@example.org", c % 3))
            .collect();
        changes.rotate_left(w % 6);
        if w % 2 == 1 {
            changes.reverse();
        }
        for change in changes {
            args.extend(["--change".into(), change]);
        }
        args.push(f.display().to_string());
        args
    };
    let script = |builder: &str| -> String {
        let mut mine: Vec<&(String, std::path::PathBuf)> =
            builds.iter().filter(|(b, _)| b == builder).collect();
        if builder.ends_with(['1', '3', '5', '7', '9']) {
            for pair in mine.chunks_mut(2) {
                pair.reverse();
            }
        }
        mine.iter()
            .map(|(b, f)| format!("\"$0\" {} || exit 1; ", args(b, f).join(" ")))
            .collect()
    };
    let children: Vec<_> = (0..writers)
        .map(|w| {
            Command::new("bash")
                .current_dir(t.dir.path())
                .env("PROBTRACK_DB", db)
                .args(["-c", &script(&format!("builder-{w}"))])
                .arg(BIN)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    all_succeed(children);
    let mut keys: Vec<String> = Vec::new();
    for on in [&[][..], &["--branch", "release"][..]] {
        let landed = t.json(&[&["--db", db, "builds", "--limit", "100000"][..], on].concat());
        keys.extend(
            (landed.as_array().unwrap().iter()).map(|b| format!("{} {}", b["builder"], b["build"])),
        );
    }
    keys.sort();
    let total = keys.len();
    keys.dedup();
    assert_eq!(keys.len(), total, "no build twice");
    assert_eq!(total, builds.len(), "every build landed");
    // The same builds one at a time, in the order of their times, into a fresh SQLite file.
    let sequential = t.path("sequential.db").display().to_string();
    let mut ordered = builds.clone();
    ordered.sort_by_key(|(b, f)| (f.file_stem().unwrap().to_owned(), b.clone()));
    for (b, f) in &ordered {
        let mut line = vec!["--db".to_string(), sequential.clone()];
        line.extend(args(b, f));
        t.ok(&line.iter().map(String::as_str).collect::<Vec<_>>());
    }
    let strip = |mut v: serde_json::Value| {
        // Ids are given in the order Problems were found, which differs between the runs.
        for p in v.as_array_mut().unwrap() {
            p.as_object_mut().unwrap().remove("id");
        }
        let mut list: Vec<String> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.to_string())
            .collect();
        list.sort();
        list
    };
    // No test, message, change or user stored twice.
    let rows = |db: &str| -> Vec<(String, u64)> {
        let location = probtrack::store::Location::parse(db).unwrap();
        let mut store =
            probtrack::store::open(&location, probtrack::store::OpenMode::Existing).unwrap();
        [
            "tests", "messages", "changes", "users", "builders", "lanes", "builds",
        ]
        .iter()
        .map(|name| {
            let table = probtrack::store::table(name).unwrap();
            (name.to_string(), store.count_rows(table).unwrap())
        })
        .collect()
    };
    assert_eq!(rows(db), rows(&sequential));
    for on in [&[][..], &["--branch", "release"][..]] {
        let problems = |db: &str| {
            strip(t.json(&[&["--db", db, "problems", "--all", "--intermittent"][..], on].concat()))
        };
        let concurrent = problems(db);
        assert!(!concurrent.is_empty(), "Problems on {on:?}");
        assert_eq!(concurrent, problems(&sequential), "Problems on {on:?}");
    }
}

#[test]
fn many_ingests_at_once_all_land_with_the_problems_of_a_sequential_run() {
    let t = Test::new();
    let writers = if matches!(crate::harness::backend(), Backend::Sqlite) {
        8
    } else {
        16
    };
    concurrent_ingests(&t.db_url(), &t, writers);
}

/// The key of the writers' advisory lock on PostgreSQL (docs/schema.md).
const WRITERS_LOCK: i64 = 8102661148244077312;

/// How many of probtrack's connections to the database wait on a lock.
fn waiting_on_locks(watcher: &mut postgres::Client) -> i64 {
    watcher
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'probtrack' \
             AND wait_event_type = 'Lock' AND datname = current_database()",
            &[],
        )
        .unwrap()
        .get::<_, i64>(0)
}

/// Waits (up to 30 s) until `n` of probtrack's connections wait on a lock; fails with `what`.
fn await_waiting(watcher: &mut postgres::Client, n: i64, what: &str) {
    let mut waiting = 0;
    for _ in 0..1500 {
        waiting = waiting_on_locks(watcher);
        if waiting == n {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(waiting, n, "{what}");
}

#[test]
/// On PostgreSQL ingests hold the writers' lock shared (docs/deploy.md): one goes on while another
/// holder shares it, and a whole-database writer (`reanalyze`) waits until the last lets go.
fn ingests_share_the_writers_lock_that_reanalyze_takes_whole() {
    let Some(Backend::Postgres(base)) = server("postgres") else {
        return;
    };
    let t = Test::new();
    let db = ServerDb::create(&Backend::Postgres(base));
    let report = fixture("junit/pytest-xunit2/report.xml");
    let ingest = |n: &str| {
        let args = ["--db", &db.url, "ingest", "--builder", "b", "--build", n];
        t.command(&[&args[..], &[report.to_str().unwrap()]].concat())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    all_succeed(vec![ingest("1")]);
    let mut admin = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
    admin
        .execute("SELECT pg_advisory_lock_shared($1)", &[&WRITERS_LOCK])
        .unwrap();
    // An ingest shares the lock: it lands while the admin holds it (a writer that took turns
    // would wait for ever; the test gives it a minute).
    let mut child = ingest("2");
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > std::time::Duration::from_secs(60) {
            let _ = child.kill();
            panic!("the ingest waited on the shared writers' lock");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    all_succeed(vec![child]);
    // reanalyze takes it whole: it waits for the admin.
    let reanalyze = t
        .command(&["--db", &db.url, "reanalyze"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut watcher = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
    await_waiting(
        &mut watcher,
        1,
        "reanalyze waits on the ingests' shared lock",
    );
    admin
        .execute("SELECT pg_advisory_unlock_shared($1)", &[&WRITERS_LOCK])
        .unwrap();
    all_succeed(vec![reanalyze]);
    let builds = t.json(&["--db", &db.url, "builds"]);
    assert_eq!(builds.as_array().unwrap().len(), 2);
}

#[test]
/// On PostgreSQL two first ingests of one build number on two branches run at once (each under
/// its own lane's lock): the second's insert of the build meets the first's, and the answer is a
/// sequential run's — the build stays on the first branch and the second ingest is told so (bad
/// input), not a raw unique-key error.
fn one_build_on_two_branches_at_once_answers_as_in_sequence() {
    let Some(Backend::Postgres(base)) = server("postgres") else {
        return;
    };
    let t = Test::new();
    let db = ServerDb::create(&Backend::Postgres(base));
    let report = fixture("junit/pytest-xunit2/report.xml");
    let report = report.to_str().unwrap();
    // A first build makes the schema and the tests, so the race below is only the build's.
    let first = [
        "--db",
        &db.url,
        "ingest",
        "--builder",
        "b",
        "--build",
        "1",
        report,
    ];
    assert!(t.command(&first).status().unwrap().success());
    let ingest = |branch: &str| {
        let args = ["--db", &db.url, "ingest", "--builder", "b", "--build", "2"];
        t.command(&[&args[..], &["--branch", branch, report]].concat())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    // The main branch's judging waits on this lock with its build written, not committed.
    let judging = probtrack::store::Lock::Branch(Some("main")).key();
    let mut admin = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
    admin
        .execute("SELECT pg_advisory_lock($1)", &[&judging])
        .unwrap();
    let mut watcher = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
    let on_main = ingest("main");
    await_waiting(
        &mut watcher,
        1,
        "the main ingest waits on its branch's lock",
    );
    // The release ingest inserts the same build and waits on main's uncommitted row.
    let on_release = ingest("release");
    await_waiting(&mut watcher, 2, "the release ingest waits on main's build");
    admin
        .execute("SELECT pg_advisory_unlock($1)", &[&judging])
        .unwrap();
    all_succeed(vec![on_main]);
    let out = on_release.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Exit 3, bad input, as when the two ingests come one after the other.
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("build b #2 is already recorded on branch main, not release"),
        "{stderr}"
    );
    let on_main = t.json(&["--db", &db.url, "builds", "--branch", "main"]);
    assert_eq!(on_main.as_array().unwrap().len(), 1, "{on_main}");
    let on_release = t.json(&["--db", &db.url, "builds", "--branch", "release"]);
    assert_eq!(on_release.as_array().unwrap().len(), 0, "{on_release}");
}

#[test]
/// On PostgreSQL `ingest --replace` of a build recorded on another branch rewrites that branch's
/// lane too: it waits for that lane's lock, and then moves the build.
fn replace_from_another_branch_waits_for_that_lanes_lock() {
    let Some(Backend::Postgres(base)) = server("postgres") else {
        return;
    };
    let t = Test::new();
    let db = ServerDb::create(&Backend::Postgres(base));
    let report = fixture("junit/pytest-xunit2/report.xml");
    let report = report.to_str().unwrap();
    let ingest = |extra: &[&str]| {
        let args = ["--db", &db.url, "ingest", "--builder", "b", "--build", "1"];
        t.command(&[&args[..], extra, &[report]].concat())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    all_succeed(vec![ingest(&["--branch", "release"])]);
    let release = probtrack::store::Lock::Lane {
        builder: "b",
        branch: Some("release"),
    };
    let mut admin = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
    admin
        .execute("SELECT pg_advisory_lock($1)", &[&release.key()])
        .unwrap();
    let child = ingest(&["--replace"]);
    let mut watcher = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
    await_waiting(
        &mut watcher,
        1,
        "the replace waits on the other lane's lock",
    );
    admin
        .execute("SELECT pg_advisory_unlock($1)", &[&release.key()])
        .unwrap();
    all_succeed(vec![child]);
    let builds = t.json(&["--db", &db.url, "builds"]);
    assert_eq!(builds.as_array().unwrap().len(), 1, "{builds}");
    let on_release = t.json(&["--db", &db.url, "builds", "--branch", "release"]);
    assert_eq!(on_release.as_array().unwrap().len(), 0, "{on_release}");
}

#[test]
fn first_ingests_that_wait_on_one_another_all_find_the_schema() {
    let Some(Backend::Postgres(base)) = server("postgres") else {
        return;
    };
    let t = Test::new();
    let db = ServerDb::create(&Backend::Postgres(base));
    // Hold the writers' lock (docs/schema.md) so that every first ingest has looked for the schema,
    // found none, and waits to make it; then let them go one by one. Those after the first must
    // look again and find it made. (Looked up through `to_regclass`, the answer could come from
    // the session's catalog cache, made before the wait; CI once saw such an ingest fail with
    // "schema_version already exists". That needs the server not to have reset the cache, so
    // `many_ingests_at_once_…` and this test catch it only sometimes.)
    let mut admin = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
    admin
        .execute("SELECT pg_advisory_lock($1)", &[&WRITERS_LOCK])
        .unwrap();
    let report = fixture("junit/pytest-xunit2/report.xml");
    let children: Vec<_> = (0..3)
        .map(|n| {
            t.command(&[
                "--db",
                &db.url,
                "ingest",
                "--builder",
                &format!("b{n}"),
                "--build",
                "1",
                report.to_str().unwrap(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
        })
        .collect();
    let mut watcher = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
    let mut waiting = 0;
    for _ in 0..500 {
        waiting = watcher
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'probtrack' \
                 AND wait_event_type = 'Lock' AND datname = current_database()",
                &[],
            )
            .unwrap()
            .get::<_, i64>(0);
        if waiting == 3 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(waiting, 3, "every ingest waits on the lock");
    admin
        .execute("SELECT pg_advisory_unlock($1)", &[&WRITERS_LOCK])
        .unwrap();
    all_succeed(children);
    let builds = t.json(&["--db", &db.url, "builds"]);
    assert_eq!(builds.as_array().unwrap().len(), 3);
}

/// What a PostgreSQL connection of probtrack's looks like to the server while it waits on a lock
/// that the test holds, with `sslmode` in its URL (none: the default): `Some(ssl)`, or `None` if
/// the server does not do TLS.
fn probtrack_connection_ssl(
    t: &Test,
    base: &str,
    db: &ServerDb,
    sslmode: Option<&str>,
) -> Option<bool> {
    let mut admin = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
    if admin
        .query_one("SHOW ssl", &[])
        .unwrap()
        .get::<_, String>(0)
        != "on"
    {
        eprintln!("passed over: the PostgreSQL server at {base} has ssl off");
        return None;
    }
    let mut tx = admin.transaction().unwrap();
    tx.batch_execute("LOCK TABLE builders IN ACCESS EXCLUSIVE MODE")
        .unwrap();
    let report = fixture("junit/pytest-xunit2/report.xml");
    let child = t
        .command(&[
            "--db",
            &match sslmode {
                Some(mode) => format!("{}?sslmode={mode}", db.url),
                None => db.url.clone(),
            },
            "ingest",
            "--builder",
            "tls",
            "--build",
            // A build of its own for each, so that each ingest writes and waits on the lock.
            match sslmode {
                Some("require") => "1",
                Some("disable") => "2",
                Some(_) => "3",
                None => "4",
            },
            report.to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // (From another connection: statistics views are a snapshot within one transaction.)
    let mut watcher = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
    let mut ssl = None;
    for _ in 0..500 {
        let rows = watcher
            .query(
                "SELECT s.ssl FROM pg_stat_activity a JOIN pg_stat_ssl s ON s.pid = a.pid \
                 WHERE a.application_name = 'probtrack' AND a.wait_event_type = 'Lock' \
                 AND a.datname = current_database()",
                &[],
            )
            .unwrap();
        if let Some(row) = rows.first() {
            ssl = Some(row.get::<_, bool>(0));
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    tx.commit().unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(ssl.expect("probtrack's connection was seen waiting on the lock"))
}

#[test]
fn postgres_sslmode_require_encrypts_the_connection() {
    let Some(Backend::Postgres(base)) = server("postgres") else {
        return;
    };
    let t = Test::new();
    let db = ServerDb::create(&Backend::Postgres(base.clone()));
    let report = fixture("junit/pytest-xunit2/report.xml");
    t.ok(&[
        "--db",
        &db.url,
        "ingest",
        "--builder",
        "b",
        "--build",
        "1",
        report.to_str().unwrap(),
    ]);
    if let Some(ssl) = probtrack_connection_ssl(&t, &base, &db, Some("require")) {
        assert!(ssl, "sslmode=require: the connection is encrypted");
        assert_eq!(
            probtrack_connection_ssl(&t, &base, &db, Some("disable")),
            Some(false),
            "sslmode=disable: plain TCP"
        );
        // No sslmode is libpq's `prefer`: a server that does TLS gets it.
        assert_eq!(
            probtrack_connection_ssl(&t, &base, &db, None),
            Some(true),
            "no sslmode: TLS, where the server does it"
        );
    }
}

#[test]
fn long_identities_exact_case_and_microseconds_are_kept_on_every_backend() {
    let t = Test::new();
    // A builder name, a revision and a test name longer than any engine's index key.
    let builder = format!("builder-{}", "x".repeat(3000));
    let revision = "f".repeat(2000);
    let class = format!("pkg.{}", "Long".repeat(1500));
    let xml = format!(
        "<?xml version=\"1.0\"?><testsuite name=\"s\">\
         <testcase classname=\"{class}\" name=\"t\"><failure message=\"boom\"/></testcase>\
         <testcase classname=\"Case\" name=\"x \"/><testcase classname=\"Case\" name=\"x\"/>\
         </testsuite>"
    );
    std::fs::write(t.path("long.xml"), xml).unwrap();
    for (number, time) in [
        ("1", "2024-03-01T08:52:19.123456Z"),
        ("2", "2024-03-01T09:00:00.000001Z"),
    ] {
        t.ok(&[
            "ingest",
            "--builder",
            &builder,
            "--build",
            number,
            "--revision",
            &revision,
            "--time",
            time,
            "long.xml",
        ]);
    }
    // Ingesting the same names again found them: one test each, one builder, one change.
    let builds = t.json(&["builds", "--builder", &builder]);
    assert_eq!(builds.as_array().unwrap().len(), 2, "{builds}");
    assert_eq!(builds[0]["time"], "2024-03-01T09:00:00.000001Z");
    assert_eq!(builds[1]["time"], "2024-03-01T08:52:19.123456Z");
    assert_eq!(builds[0]["revision"], revision.as_str());
    let history = t.json(&["history", &format!("{class}.t")]);
    assert_eq!(history["builders"][0]["builder"], builder.as_str());
    assert_eq!(
        history["builders"][0]["results"].as_array().unwrap().len(),
        2
    );
    let problems = t.json(&["problems"]);
    assert_eq!(problems.as_array().unwrap().len(), 1, "{problems}");
    assert_eq!(problems[0]["failures"], 2);
    // `Case.x ` and `Case.x` are two tests (no trailing-space padding in comparisons).
    assert_eq!(t.json(&["history", "Case.x"])["test"], "Case.x");
    assert_eq!(t.json(&["history", "Case.x "])["test"], "Case.x ");
    // Three tests, beside the build's built-in metric series (`tests.count`, …).
    let names = t.column_bytes("tests", "name");
    let tests = names.iter().filter(|n| !n.starts_with(b"tests.")).count();
    assert_eq!(tests, 3, "{names:?}");
    // NUL bytes in a test's name, its file and its message (a compiler log can hold them).
    std::fs::write(
        t.path("nul.log"),
        b"src/a.c:1:2: warning: bad\0byte here [-Wfoo]\nsrc/b\0c.c:3:4: error: oops\n",
    )
    .unwrap();
    t.ok(&[
        "ingest",
        "--builder",
        "gcc",
        "--build",
        "1",
        "--parser",
        "gcc",
        "nul.log",
    ]);
    let names = t.column_bytes("tests", "name");
    assert!(
        names.contains(&b"a.c:-Wfoo:bad\0byte here".to_vec()),
        "{names:?}"
    );
    assert!(names.contains(&b"b\0c.c:error:oops".to_vec()), "{names:?}");
    assert!(t
        .column_bytes("tests", "file")
        .contains(&b"b\0c.c".to_vec()));
    assert!(t
        .column_bytes("messages", "text")
        .contains(&b"bad\0byte here".to_vec()));
    let shown = t.json(&["history", "Wfoo:bad"]);
    assert_eq!(shown["test"], "a.c:-Wfoo:bad\u{0}byte here");
    // A builder name differing only in case is another builder.
    let upper = builder.to_uppercase();
    t.ok(&["ingest", "--builder", &upper, "--build", "1", "long.xml"]);
    assert_eq!(t.column_bytes("builders", "name").len(), 3);
}

/// `copy` keeps a build id from being given twice: `schema-v11-pruned.db` holds a Problem whose
/// first failing build a prune took, with an id above every stored build's. Copied into each
/// engine, the next build must get an id above it too, or its failure is taken for that Problem's
/// first one and the Problem it opens is never listed (the seed 800002 of the model's long run).
#[test]
fn copy_gives_no_pruned_builds_id_again() {
    let t = Test::new();
    let from = t.path("pruned.db");
    std::fs::copy(fixture("db/schema-v11-pruned.db"), &from).unwrap();
    let from = from.display().to_string();
    let servers: Vec<ServerDb> = ["postgres", "mysql"]
        .into_iter()
        .filter_map(server)
        .map(|s| ServerDb::create(&s))
        .collect();
    let file = t.path("copy.db").display().to_string();
    let mut targets = vec![file];
    targets.extend(servers.iter().map(|s| s.url.clone()));
    let report = fixture("history/linux-py311/104.xml");
    for to in &targets {
        t.json(&["copy", "--from", &from, "--to", to]);
        let args = ["--db", to, "ingest", "--builder", "a", "--build", "4"];
        let mut args = args.to_vec();
        args.extend(["--time", "2026-12-06T21:00:00Z", report.to_str().unwrap()]);
        t.json(&args);
        let open = t.json(&["--db", to, "problems"]);
        assert_eq!(open.as_array().unwrap().len(), 1, "{to}: {open}");
        assert_eq!(open[0]["first_failure"]["build"], 4, "{to}: {open}");
        let all = t.json(&["--db", to, "problems", "--all"]);
        assert_eq!(all.as_array().unwrap().len(), 2, "{to}: {all}");
    }
}

/// `copy` gives no id again that the source gave, a deleted row's included: a Problem's id is named
/// outside probtrack (notes, links, `show 4`), and the next Problem must not take it. Each engine's
/// source gave builds 1..3 and Problems 1..4, then lost build 3 and the Problems it opened
/// (`delete-build`); copied into each engine (and on through a chain of copies with no ingest in
/// between), the next build and Problems get the ids the source would give them.
#[test]
fn copy_gives_no_deleted_problems_or_builds_id_again() {
    let t = Test::new();
    let servers: Vec<Backend> = ["postgres", "mysql"]
        .into_iter()
        .filter_map(server)
        .collect();
    let mut dbs: Vec<ServerDb> = Vec::new();
    let mut fresh = |engine: Option<&Backend>, name: &str| match engine {
        None => t.path(name).display().to_string(),
        Some(backend) => {
            dbs.push(ServerDb::create(backend));
            dbs[dbs.len() - 1].url.clone()
        }
    };
    let engines: Vec<Option<&Backend>> = std::iter::once(None)
        .chain(servers.iter().map(Some))
        .collect();
    let history = fixture("history/linux-py311");
    let report = |n: &str| history.join(format!("{n}.xml")).display().to_string();
    let ingest = |db: &str, number: &str, n: &str| {
        t.ok(&[
            "--db",
            db,
            "ingest",
            "--builder",
            "a",
            "--build",
            number,
            &report(n),
        ]);
    };
    let ids = |db: &str| {
        let problems = t.json(&["--db", db, "problems", "--all"]);
        let mut problems: Vec<i64> = (problems.as_array().unwrap().iter())
            .map(|p| p["id"].as_i64().unwrap())
            .collect();
        problems.sort_unstable();
        (problems, build_ids(db))
    };
    let mut wrong = Vec::new();
    for (i, from_engine) in engines.iter().enumerate() {
        let from = fresh(*from_engine, &format!("source-{i}.db"));
        // Build 3 (id 3) opens Problems 2, 3 and 4; deleting it deletes them.
        for (number, n) in [("1", "103"), ("2", "104"), ("3", "110")] {
            ingest(&from, number, n);
        }
        assert_eq!(ids(&from), (vec![1, 2, 3, 4], vec![1, 2, 3]), "{from}");
        t.ok(&["--db", &from, "delete-build", "a", "3"]);
        assert_eq!(ids(&from), (vec![1], vec![1, 2]), "{from}");
        let mut targets = Vec::new();
        for (j, to_engine) in engines.iter().enumerate() {
            let to = fresh(*to_engine, &format!("copy-{i}-{j}.db"));
            t.json(&["copy", "--from", &from, "--to", &to]);
            targets.push(to);
        }
        // A copy of a copy, with no new id given in between.
        let mut chained = from.clone();
        for (j, to_engine) in engines.iter().enumerate().skip(1).chain([(0, &None)]) {
            let to = fresh(*to_engine, &format!("chain-{i}-{j}.db"));
            t.json(&["copy", "--from", &chained, "--to", &to]);
            chained = to;
        }
        targets.push(chained);
        for db in std::iter::once(&from).chain(&targets) {
            ingest(db, "4", "110");
            let got = ids(db);
            if got != (vec![1, 5, 6, 7], vec![1, 2, 4]) {
                wrong.push(format!("{db}, a copy of {from}: {got:?}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "(Problem ids, build ids) not ([1, 5, 6, 7], [1, 2, 4]):\n{}",
        wrong.join("\n")
    );
}

/// The ids of the builds in `db`, in order.
fn build_ids(db: &str) -> Vec<i64> {
    let location = probtrack::store::Location::parse(db).expect("a database location");
    let mut store = probtrack::store::open(&location, probtrack::store::OpenMode::Existing)
        .expect("open the database");
    let builds = probtrack::store::table("builds").expect("the builds table");
    let mut ids = Vec::new();
    store
        .read_table(builds, &mut |row| {
            if let probtrack::store::Cell::Int(id) = row[0] {
                ids.push(id);
            }
            Ok(())
        })
        .expect("read builds");
    ids
}
