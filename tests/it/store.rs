//! The database file: where it is, what happens when it is missing, newer or not ours.

use crate::harness::{fixture, Test};

#[test]
fn a_query_on_a_missing_database_says_how_to_make_one() {
    let t = Test::new();
    let stderr = t.fails(&["builds"], 4);
    assert!(stderr.contains("no probtrack database at"), "{stderr}");
    assert!(stderr.contains("hint:"), "{stderr}");
    assert!(!t.db().exists(), "no empty file is left behind");
}

#[test]
fn a_newer_schema_is_refused_naming_both_versions() {
    let t = Test::new();
    let report = fixture("junit/mocha-junit-reporter/test-results.xml");
    t.ingest("b", 1, &[report.to_str().unwrap()]);
    {
        let conn = rusqlite::Connection::open(t.db()).unwrap();
        conn.execute(
            "INSERT INTO schema_version (version, applied_at) VALUES (999, 0)",
            [],
        )
        .unwrap();
    }
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
fn a_file_that_is_not_a_database_is_refused() {
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
    let fk: Vec<String> = conn
        .prepare("PRAGMA foreign_key_check")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(fk.is_empty(), "{fk:?}");
}
