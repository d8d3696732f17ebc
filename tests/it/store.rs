//! The database file: where it is, what happens when it is missing, newer or not ours.

use crate::harness::{fixture, sqlite_only, Test};

#[test]
fn a_query_on_a_missing_database_says_how_to_make_one() {
    let t = Test::new();
    let stderr = t.fails(&["builds"], 4);
    assert!(stderr.contains("no probtrack database at"), "{stderr}");
    assert!(stderr.contains("hint:"), "{stderr}");
    assert!(!t.db_exists(), "no empty database is left behind");
}

#[test]
fn a_newer_schema_is_refused_naming_both_versions() {
    let t = Test::new();
    let report = fixture("junit/mocha-junit-reporter/test-results.xml");
    t.ingest("b", 1, &[report.to_str().unwrap()]);
    t.exec_sql("INSERT INTO schema_version (version, applied_at) VALUES (999, 0)");
    let stderr = t.fails(&["builds"], 4);
    assert!(stderr.contains("version 999"), "{stderr}");
    assert!(stderr.contains("upgrade probtrack"), "{stderr}");
    t.fails(
        &[
            "ingest",
            "--builder",
            "b",
            "--build",
            "2",
            report.to_str().unwrap(),
        ],
        4,
    );
}

#[test]
fn a_database_of_another_tool_is_refused_and_left_as_it_was() {
    let t = Test::new();
    t.exec_sql("CREATE TABLE invoices (id INTEGER PRIMARY KEY, amount INTEGER)");
    let report = fixture("junit/mocha-junit-reporter/test-results.xml");
    for args in [
        vec![
            "ingest",
            "--builder",
            "b",
            "--build",
            "1",
            report.to_str().unwrap(),
        ],
        vec!["builds"],
    ] {
        let stderr = t.fails(&args, 4);
        assert!(stderr.contains("but not one of probtrack's"), "{stderr}");
        assert!(stderr.contains("hint:"), "{stderr}");
    }
    // Nothing of probtrack's was made beside it: the name is still free.
    t.exec_sql("CREATE TABLE schema_version (version INTEGER); INSERT INTO invoices VALUES (1, 2)");
}

#[test]
fn a_file_that_is_not_a_database_is_refused() {
    if !sqlite_only("a file that is not SQLite") {
        return;
    }
    let t = Test::new();
    std::fs::write(
        t.db(),
        "this is not sqlite, just text that happens to be here\n".repeat(100),
    )
    .unwrap();
    let stderr = t.fails(&["builds"], 4);
    assert!(stderr.contains("not a probtrack database"), "{stderr}");
}

#[test]
fn the_database_comes_from_flag_then_environment_then_settings_then_default() {
    let t = Test::new();
    let report = fixture("junit/mocha-junit-reporter/test-results.xml");
    let report = report.to_str().unwrap();
    // --db beats PROBTRACK_DB (which the harness sets).
    t.ok(&[
        "--db",
        "flag.db",
        "ingest",
        "--builder",
        "b",
        "--build",
        "1",
        report,
    ]);
    assert!(t.path("flag.db").exists());
    assert!(!t.db().exists());
    // Global flags go after the subcommand too.
    t.ok(&[
        "ingest",
        "--builder",
        "b",
        "--build",
        "2",
        report,
        "--db",
        "flag.db",
    ]);
    // The settings file names a database when neither flag nor environment does.
    std::fs::write(t.path("probtrack.toml"), "db = \"settings.db\"\n").unwrap();
    let out = t
        .command(&["ingest", "--builder", "b", "--build", "1", report])
        .env_remove("PROBTRACK_DB")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(t.path("settings.db").exists());
    // A bad settings file is a usage error that names it.
    std::fs::write(t.path("probtrack.toml"), "db = 3\n").unwrap();
    let stderr = t.fails(&["builds"], 2);
    assert!(stderr.contains("probtrack.toml"), "{stderr}");
    std::fs::remove_file(t.path("probtrack.toml")).unwrap();
    // With nothing named, ./probtrack.db.
    let out = t
        .command(&["ingest", "--builder", "b", "--build", "1", report])
        .env_remove("PROBTRACK_DB")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(t.path("probtrack.db").exists());
}

#[test]
fn the_database_is_in_wal_mode_with_foreign_keys() {
    if !sqlite_only("WAL mode") {
        return;
    }
    let t = Test::new();
    t.ingest(
        "b",
        1,
        &[fixture("junit/mocha-junit-reporter/test-results.xml")
            .to_str()
            .unwrap()],
    );
    let conn = rusqlite::Connection::open(t.db()).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let fk = foreign_key_violations(&conn);
    assert!(fk.is_empty(), "{fk:?}");
}

#[test]
fn databases_made_by_earlier_versions_upgrade_in_place() {
    let backend = crate::harness::backend();
    // SQLite: schema-vN.db files; the servers: schema-vN.BACKEND.sql dumps (pg_dump,
    // mariadb-dump), which start at version 2, the first with server backends.
    let suffix = match backend {
        crate::harness::Backend::Sqlite => "db",
        crate::harness::Backend::Postgres(_) => "postgres.sql",
        crate::harness::Backend::Mysql(_) => "mysql.sql",
    };
    // Every version before the current one (a migration, `NNNN_*.sql`, each) has its files
    // (fixtures/db/PROVENANCE.md), made by the probtrack that introduced it; the servers' start
    // at version 2.
    let current = std::fs::read_dir(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/store/migrations/sqlite"),
    )
    .unwrap()
    .filter(|e| {
        let name = e.as_ref().unwrap().file_name();
        let name = name.to_string_lossy();
        name.ends_with(".sql") && name.as_bytes().first().is_some_and(u8::is_ascii_digit)
    })
    .count() as i64;
    let first = if suffix == "db" { 1 } else { 2 };
    let mut seen = 0;
    for version in first..current {
        let name = format!("db/schema-v{version}.{suffix}");
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(&name);
        assert!(
            path.exists(),
            "fixtures/{name} is missing: make it with the probtrack of schema {version} \
             (fixtures/db/PROVENANCE.md)"
        );
        seen += 1;
        let t = Test::new();
        let db = if suffix == "db" {
            let db = t.path(&format!("v{version}.db"));
            std::fs::copy(&path, &db).unwrap();
            db.to_str().unwrap().to_owned()
        } else {
            // What psql would run: the dump's SQL, without psql's own backslash commands.
            let dump = std::fs::read_to_string(&path).unwrap();
            let sql: Vec<&str> = dump.lines().filter(|l| !l.starts_with('\\')).collect();
            t.exec_sql(&sql.join("\n"));
            t.db_url()
        };
        let db = db.as_str();
        // Its data, read through the current probtrack (which upgrades it first).
        let builds = t.json(&["--db", db, "builds", "--limit", "100"]);
        assert_eq!(builds.as_array().unwrap().len(), 37, "{name}");
        let problems = t.json(&["--db", db, "problems", "--all"]);
        let divide = problems
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["test"] == "tests.test_core.test_divide")
            .unwrap_or_else(|| panic!("{name}: {problems}"));
        assert!(divide["started_by"][0]["revision"]
            .as_str()
            .unwrap()
            .starts_with("39c1293d"));
        // Triage data (schema 2 on) survives: the link and note on test_divide's Problem.
        if version >= 2 {
            let show = t.json(&["--db", db, "show", &divide["id"].to_string()]);
            assert_eq!(
                show["links"][0]["url"], "https://bugs.example.org/42",
                "{name}"
            );
            assert_eq!(show["notes"][0]["author"], "carol", "{name}");
        }
        // Metric values (schema 4 on) survive, every build's (schema 11 keys them by build): a
        // built-in series has one value in each build of each builder, in build order.
        if version >= 4 {
            let metric = t.json(&["--db", db, "metric", "binary_size"]);
            assert_eq!(
                metric["builders"][0]["values"][0]["value"], 13_107_200.0,
                "{name}"
            );
            let count = t.json(&["--db", db, "metric", "tests.count"]);
            let per_builder: Vec<(String, Vec<i64>)> = (count["builders"].as_array().unwrap())
                .iter()
                .map(|b| {
                    let values = b["values"].as_array().unwrap();
                    let builds = values.iter().map(|v| v["build"].as_i64().unwrap());
                    (b["builder"].as_str().unwrap().to_owned(), builds.collect())
                })
                .collect();
            let expected = [
                ("linux-py311", 101..=115),
                ("linux-py312", 2001..=2012),
                ("macos", 51..=60),
            ];
            assert_eq!(per_builder.len(), expected.len(), "{name}: {count}");
            for ((builder, builds), (want, numbers)) in per_builder.iter().zip(expected) {
                assert_eq!(builder, want, "{name}");
                assert_eq!(*builds, numbers.collect::<Vec<i64>>(), "{name}: {builder}");
            }
        }
        // Durations survive (schema 7 rewrote every build's blob in a new format): a plain pass's
        // as its report gave it (linux-py312 #2010: 0.004 s), and 0 s stays 0, not "none".
        let history = t.json(&[
            "--db",
            db,
            "history",
            "tests.test_network.test_timeout",
            "--builder",
            "linux-py312",
        ]);
        let results = history["builders"][0]["results"].as_array().unwrap();
        let duration =
            |build: i64| results.iter().find(|r| r["build"] == build).unwrap()["duration"].clone();
        assert_eq!(
            duration(2010),
            serde_json::json!(0.004),
            "{name}: {history}"
        );
        assert_eq!(duration(2009), serde_json::json!(0.0), "{name}: {history}");
        // It is now at the newest version, and still takes new builds, with coverage (schema 5).
        let report = fixture("history/linux-py311/115.xml");
        let coverage = fixture("history-coverage/linux-py311/115.xml");
        let ingested = t.json(&[
            "--db",
            db,
            "ingest",
            "--builder",
            "linux-py311",
            "--build",
            "116",
            "--source-root",
            "/build/minicalc",
            report.to_str().unwrap(),
            coverage.to_str().unwrap(),
        ]);
        assert_eq!(ingested["build"], 116, "{name}");
        let summary = t.json(&["--db", db, "coverage"]);
        assert_eq!(summary["totals"]["lines_covered"], 37, "{name}");
        assert_eq!(
            t.json(&["--db", db, "builds", "--limit", "100"])
                .as_array()
                .unwrap()
                .len(),
            38,
            "{name}"
        );
        if suffix != "db" {
            continue;
        }
        let conn = rusqlite::Connection::open(db).unwrap();
        let (found, latest): (i64, i64) = conn
            .query_row(
                "SELECT max(version), count(*) FROM schema_version",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert!(found >= version && latest >= 1);
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
    }
    assert_eq!(seen, current - first, "{backend:?}");
}

/// Many first commands on one fresh database, at the same moment: each looks for the schema, and
/// all but one wait while it is made. None may take the half-made or just-made schema for another
/// tool's tables ("not one of probtrack's"), nor make it twice. Several fresh databases in turn,
/// since the moment when one process looks while another commits is short.
#[test]
fn first_opens_of_one_fresh_database_at_once_all_find_one_schema() {
    use probtrack::store::{self, OpenMode};
    use std::sync::{Arc, Barrier};
    let report = fixture("junit/mocha-junit-reporter/test-results.xml");
    for round in 0..6 {
        let t = Test::new();
        let location = t.location();
        let openers = 8;
        let start = Arc::new(Barrier::new(openers));
        let threads: Vec<_> = (0..openers)
            .map(|_| {
                let (location, start) = (location.clone(), Arc::clone(&start));
                std::thread::spawn(move || {
                    start.wait();
                    store::open(&location, OpenMode::Create).map(drop)
                })
            })
            .collect();
        for thread in threads {
            if let Err(e) = thread.join().expect("no panic") {
                panic!("round {round}: a first open failed: {e}");
            }
        }
        // One schema, whole: it takes a build and lists it.
        t.ingest("b", 1, &[report.to_str().unwrap()]);
        let builds = t.json(&["builds"]);
        assert_eq!(builds.as_array().unwrap().len(), 1, "round {round}");
    }
}

/// A port on the loopback interface where nothing listens (it was free a moment ago).
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn an_unreachable_server_is_retried_as_asked_and_then_exit_4_says_it_can_be_retried() {
    let t = Test::new();
    let report = fixture("junit/mocha-junit-reporter/test-results.xml");
    let report = report.to_str().unwrap();
    for scheme in ["postgres", "mysql"] {
        let db = format!("{scheme}://probtrack@127.0.0.1:{}/probtrack", closed_port());
        let ingest = ["--db", &db, "ingest", "--builder", "b", "--build", "1"];
        // Without --retry: one attempt, and the message says it can be retried.
        let stderr = t.fails(&[&ingest[..], &[report]].concat(), 4);
        assert!(stderr.contains("this can be retried"), "{stderr}");
        assert!(!stderr.contains("; retry "), "{stderr}");
        // --retry 2: two retries, each announced, then the same exit 4.
        let stderr = t.fails(&[&ingest[..], &["--retry", "2", report]].concat(), 4);
        assert_eq!(stderr.matches("; retry ").count(), 2, "{stderr}");
        assert!(stderr.contains("retry 2 of 2 in "), "{stderr}");
        assert!(stderr.contains("this can be retried"), "{stderr}");
        // `retry` in the settings, and the flag over it.
        std::fs::write(t.path("probtrack.toml"), "retry = 1\n").unwrap();
        let stderr = t.fails(&[&ingest[..], &[report]].concat(), 4);
        assert_eq!(stderr.matches("; retry ").count(), 1, "{stderr}");
        let stderr = t.fails(&[&ingest[..], &["--retry", "0", report]].concat(), 4);
        assert_eq!(stderr.matches("; retry ").count(), 0, "{stderr}");
        std::fs::remove_file(t.path("probtrack.toml")).unwrap();
        // import too.
        let stderr = t.fails(
            &[
                "--db",
                &db,
                "import",
                "--retry",
                "1",
                fixture("history").to_str().unwrap(),
            ],
            4,
        );
        assert_eq!(stderr.matches("; retry ").count(), 1, "{stderr}");
    }
}

/// A server that accepts connections and closes them once the client has said what it wants, as
/// a restarting server or a dropping network does. PostgreSQL's request for TLS is answered
/// "no" first, so that the client gets as far as its login.
fn closing_server() -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            let mut first = [0; 8];
            conn.set_read_timeout(Some(std::time::Duration::from_millis(200)))
                .unwrap();
            if conn.read_exact(&mut first).is_ok() && first == [0, 0, 0, 8, 4, 210, 22, 47] {
                let _ = conn.write_all(b"N");
                let _ = conn.read(&mut [0; 256]);
            }
        }
    });
    port
}

#[test]
fn a_connection_closed_while_it_is_made_is_retried_and_then_exit_4_says_it_can_be_retried() {
    let t = Test::new();
    let report = fixture("junit/mocha-junit-reporter/test-results.xml");
    let port = closing_server();
    for scheme in ["postgres", "mysql"] {
        let db = format!("{scheme}://probtrack@127.0.0.1:{port}/probtrack");
        let ingest = ["--db", &db, "ingest", "--builder", "b", "--build", "1"];
        let stderr = t.fails(
            &[&ingest[..], &["--retry", "1", report.to_str().unwrap()]].concat(),
            4,
        );
        assert_eq!(stderr.matches("; retry ").count(), 1, "{scheme}: {stderr}");
        assert!(stderr.contains("this can be retried"), "{scheme}: {stderr}");
    }
}

#[test]
fn an_error_that_waiting_cannot_mend_is_not_retried() {
    let t = Test::new();
    let report = fixture("junit/mocha-junit-reporter/test-results.xml");
    t.ingest("b", 1, &[report.to_str().unwrap()]);
    t.exec_sql("INSERT INTO schema_version (version, applied_at) VALUES (999, 0)");
    let stderr = t.fails(
        &[
            "ingest",
            "--builder",
            "b",
            "--build",
            "2",
            "--retry",
            "5",
            report.to_str().unwrap(),
        ],
        4,
    );
    assert!(stderr.contains("version 999"), "{stderr}");
    assert!(!stderr.contains("retry"), "{stderr}");
}

/// Every distinct details object the results of `location` read back, as JSON text.
fn details_read_back(location: &probtrack::store::Location) -> std::collections::BTreeSet<String> {
    let mut db = probtrack::store::open(location, probtrack::store::OpenMode::Existing).unwrap();
    (db.results(None, None, true).unwrap().into_iter())
        .filter_map(|(_, r)| r.details.map(|d| d.into_json()))
        .collect()
}

/// The `base_id` of every row of `details` (schema 9), `None` for one stored alone.
fn details_bases(location: &probtrack::store::Location) -> Vec<Option<i64>> {
    use probtrack::store::{self, Cell, OpenMode};
    let table = store::table("details").unwrap();
    let at = table
        .columns
        .iter()
        .position(|c| c.name == "base_id")
        .unwrap();
    let mut db = store::open(location, OpenMode::Existing).unwrap();
    let mut bases = Vec::new();
    db.read_table(table, &mut |row| {
        bases.push(match row[at] {
            Cell::Int(id) => Some(id),
            _ => None,
        });
        Ok(())
    })
    .unwrap();
    bases
}

/// A test that fails the same way build after build (test_divide: the same traceback but for a
/// function's address) has its later tracebacks stored against an earlier one (schema 9), and
/// every details object reads back as the parser gave it, whatever its base.
#[test]
fn details_stored_against_a_base_read_back_as_parsed() {
    let t = Test::new();
    let history = fixture("history");
    t.ok(&["import", history.to_str().unwrap()]);
    let bases = details_bases(&t.location());
    let based = bases.iter().flatten().count();
    assert!(based > 0, "no object stored against a base: {bases:?}");
    // A base is stored alone: one level only.
    let ids: Vec<usize> = bases.iter().flatten().map(|&b| b as usize).collect();
    for id in ids {
        assert_eq!(bases[id - 1], None, "base {id} has a base itself");
    }
    // What the parser gives for every report of the history, object by object.
    let mut reports: Vec<std::path::PathBuf> = Vec::new();
    for builder in std::fs::read_dir(&history).unwrap() {
        let builder = builder.unwrap().path();
        if builder.is_dir() {
            for report in std::fs::read_dir(&builder).unwrap() {
                reports.push(report.unwrap().path());
            }
        }
    }
    let mut args = vec!["parse"];
    args.extend(reports.iter().map(|p| p.to_str().unwrap()));
    // As JSON values, written again: the same object, whatever the order of its keys.
    let parsed: std::collections::BTreeSet<String> = (t.json(&args).as_array())
        .unwrap()
        .iter()
        .filter(|r| r["details"].as_object().is_some_and(|o| !o.is_empty()))
        .map(|r| r["details"].to_string())
        .collect();
    let read: std::collections::BTreeSet<String> = (details_read_back(&t.location()).iter())
        .map(|d| {
            serde_json::from_str::<serde_json::Value>(d)
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(read, parsed);
    assert!(read.len() > based);
}

/// A details object packed ahead (as an ingest's parsing thread packs those it has not met when
/// it is ahead of the database) may keep only its stored form until it is written (a huge
/// build's). Stored against a resembling base it is inflated again first: stored as the same
/// object given as text is, with the same base, and both read back whole.
#[test]
fn details_packed_ahead_are_stored_as_text_is_against_a_base() {
    use probtrack::store::{self, Details, NewBuild, NewTest, OpenMode, ResultRecord};
    use probtrack_parsers::{Kind, Status};
    let traceback = |n: u32| {
        let frames: String = (0..30)
            .map(|i| {
                format!(
                    "  File \"/build/pkg/mod{i}.py\", line {}, in f{i}\n",
                    7 * i + 1
                )
            })
            .collect();
        serde_json::json!({"type": "AssertionError", "text": format!("Traceback\n{frames}AssertionError: {n} != 3\n")})
            .to_string()
    };
    let t = Test::new();
    let mut db = store::open(&t.location(), OpenMode::Create).unwrap();
    db.begin_write().unwrap();
    let builder = db.create_builder("b").unwrap();
    let lane = db.lane_id(builder, None).unwrap();
    let tests: Vec<NewTest> = ["t.packed", "t.text"]
        .iter()
        .map(|name| NewTest {
            name: (*name).into(),
            kind: Kind::Test,
            file: None,
            runner_id: None,
        })
        .collect();
    let ids = db.test_ids(&tests).unwrap();
    for number in 1..=3 {
        let build = db
            .save_build(
                None,
                &NewBuild {
                    builder,
                    number,
                    lane,
                    revision: None,
                    time: number * 1_000_000,
                    result: None,
                    properties: "{}".into(),
                    clean: false,
                    ingested_at: number * 1_000_000,
                },
            )
            .unwrap();
        // Each test's own traceback, differing build to build in one number.
        let json = |test: u32| traceback(10 * number as u32 + test);
        // Packed, its text let go (as a huge build's are).
        let mut packed = Details::prepared(json(1), true);
        packed.keep_packed();
        assert_eq!(packed.text(), json(1));
        let results =
            [(ids[0], packed), (ids[1], Details::from(json(2)))].map(|(test, details)| {
                ResultRecord {
                    test,
                    status: Status::Failed,
                    duration: None,
                    message: None,
                    attempts: 1,
                    details: Some(details),
                }
            });
        db.replace_build_results(build, &results).unwrap();
    }
    db.commit().unwrap();
    drop(db);
    // Both tests: the first object alone, the next two against it.
    let bases = details_bases(&t.location());
    assert_eq!(bases.len(), 6, "{bases:?}");
    assert_eq!(bases.iter().flatten().count(), 4, "{bases:?}");
    let read = details_read_back(&t.location());
    let written: std::collections::BTreeSet<String> = (1..=3)
        .flat_map(|n| [traceback(10 * n + 1), traceback(10 * n + 2)])
        .collect();
    assert_eq!(read, written);
}

/// Databases of schema 3 to 8 kept every details object alone; the upgrade to schema 9 stores the
/// ones that resemble an earlier one of their test and lane against it, and every object reads
/// back with the very text it had.
#[test]
fn upgraded_details_keep_their_text() {
    use std::io::Read;
    if !sqlite_only("the fixture's details, read with rusqlite") {
        return;
    }
    for version in [3, 5] {
        let t = Test::new();
        let db = t.db();
        let path = fixture(&format!("db/schema-v{version}.db"));
        std::fs::copy(&path, &db).unwrap();
        let before: std::collections::BTreeSet<String> = {
            let conn = rusqlite::Connection::open(&path).unwrap();
            let mut statement = conn
                .prepare(
                    "SELECT d.data FROM details d WHERE d.id IN (SELECT details_id FROM results)",
                )
                .unwrap();
            let rows = statement.query_map([], |r| r.get::<_, Vec<u8>>(0)).unwrap();
            rows.map(|data| {
                let mut json = String::new();
                flate2::read::DeflateDecoder::new(&data.unwrap()[..])
                    .read_to_string(&mut json)
                    .unwrap();
                json
            })
            .collect()
        };
        assert!(before.len() > 5, "v{version}: {before:?}");
        let after = details_read_back(&t.location());
        assert_eq!(after, before, "v{version}");
        let based = details_bases(&t.location()).iter().flatten().count();
        assert!(based > 0, "v{version}: nothing rewritten against a base");
    }
}

/// Schema 12 gives a build id once. `schema-v11-pruned.db` (fixtures/db/PROVENANCE.md) holds a
/// Problem whose first failing build a prune took, and that build had the highest id: schema 11
/// gave the next build that id again, which was then taken for the pruned Problem's first failure
/// (the Problem the new build opened was never listed). Upgraded, the next build's id is above it,
/// and the upgrade (which makes `builds` again) keeps every row of the tables that refer to it.
#[test]
fn an_upgraded_database_never_gives_a_pruned_builds_id_again() {
    let t = Test::new();
    let db = t.path("v11-pruned.db");
    std::fs::copy(fixture("db/schema-v11-pruned.db"), &db).unwrap();
    let db = db.to_str().unwrap();
    let test = "tests.test_core.test_divide";
    let pruned = t.json(&["--db", db, "problems", "--all"]);
    assert_eq!(pruned.as_array().unwrap().len(), 1, "{pruned}");
    assert_eq!(pruned[0]["state"], "fixed", "{pruned}");
    assert_eq!(pruned[0]["first_failure"]["build"], 1, "{pruned}");
    // a #3, the build the prune kept, still has its results.
    let history = t.json(&["--db", db, "history", test]);
    let results = &history["builders"][0]["results"];
    assert_eq!(results.as_array().unwrap().len(), 1, "{history}");
    assert_eq!(results[0]["build"], 3, "{history}");
    assert_eq!(results[0]["status"], "passed", "{history}");
    let report = fixture("history/linux-py311/104.xml");
    t.json(&[
        "--db",
        db,
        "ingest",
        "--builder",
        "a",
        "--build",
        "4",
        "--time",
        "2026-12-06T21:00:00Z",
        report.to_str().unwrap(),
    ]);
    let open = t.json(&["--db", db, "problems"]);
    assert_eq!(open.as_array().unwrap().len(), 1, "{open}");
    assert_eq!(open[0]["test"], test, "{open}");
    assert_eq!(open[0]["first_failure"]["build"], 4, "{open}");
    let all = t.json(&["--db", db, "problems", "--all"]);
    assert_eq!(all.as_array().unwrap().len(), 2, "{all}");
    let conn = rusqlite::Connection::open(db).unwrap();
    let fk = foreign_key_violations(&conn);
    assert!(fk.is_empty(), "{fk:?}");
    // Foreign keys are on again in the process that upgraded: its first command deletes a build,
    // and the rows that refer to it go with it.
    let other = t.path("v11-pruned-delete.db");
    std::fs::copy(fixture("db/schema-v11-pruned.db"), &other).unwrap();
    let other = other.to_str().unwrap();
    t.ok(&["--db", other, "delete-build", "a", "3"]);
    let conn = rusqlite::Connection::open(other).unwrap();
    let rows: i64 = conn
        .query_row(
            "SELECT (SELECT count(*) FROM results) + (SELECT count(*) FROM reports) \
             + (SELECT count(*) FROM metric_values)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(rows, 0, "a #3's rows went with it");
}

/// The tables with rows that refer to a row that is not there (`PRAGMA foreign_key_check`).
fn foreign_key_violations(conn: &rusqlite::Connection) -> Vec<String> {
    conn.prepare("PRAGMA foreign_key_check")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}
