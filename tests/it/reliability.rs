//! Crash safety, a full disk, a read-only database, concurrent writers and readers, untrusted text.
//! Sizes grow with `PROBTRACK_HEAVY=1` (the heavy stage of .ci/run, in release mode).

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::generate::{history, Rng, Shape};
use crate::harness::{fixture, sqlite_only, without_ids, Test, BIN};

fn heavy() -> bool {
    std::env::var_os("PROBTRACK_HEAVY").is_some_and(|v| v == "1")
}

/// SQLite's own checks of the file (a server checks its storage itself).
fn integrity(t: &Test) {
    if t.location().is_server() {
        return;
    }
    let conn = rusqlite::Connection::open(t.db()).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let fk: i64 = conn
        .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(fk, 0, "foreign keys");
}

/// Every build in the database holds exactly the results of its report: none half-written.
fn every_build_whole(t: &Test, dir: &std::path::Path) {
    if !t.db_exists() {
        return;
    }
    integrity(t);
    let builds = t.json(&["builds", "--limit", "100000"]);
    for build in builds.as_array().unwrap() {
        let report = dir
            .join(build["builder"].as_str().unwrap())
            .join(format!("{}.xml", build["build"]));
        let expected = std::fs::read_to_string(&report)
            .unwrap()
            .matches("<testcase")
            .count() as u64;
        let total: u64 = build["counts"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum();
        assert_eq!(
            total, expected,
            "build {} #{} is partial",
            build["builder"], build["build"]
        );
    }
}

#[test]
fn killed_ingests_leave_whole_builds_and_a_rerun_completes_the_history() {
    let (builds, tests, kills) = if heavy() {
        (40, 20_000, 25)
    } else {
        (12, 2_000, 8)
    };
    let shape = Shape {
        builders: 2,
        builds,
        tests,
        flaky: 5,
        broken: 4,
        seed: 5,
    };
    let reference = Test::new();
    let dir = reference.path("history");
    history(&dir, &shape);
    reference.ok(&["import", dir.to_str().unwrap()]);
    let expected = reference.json(&["problems", "--all", "--intermittent"]);

    let t = Test::new();
    let mut rng = Rng::new(99);
    for _ in 0..kills {
        let mut child = t
            .command(&["import", dir.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(
            20 + rng.below(if heavy() { 3000 } else { 600 }),
        ));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        every_build_whole(&t, &dir);
    }
    t.ok(&["import", dir.to_str().unwrap()]);
    every_build_whole(&t, &dir);
    let got = t.json(&["problems", "--all", "--intermittent"]);
    if t.location().is_server() {
        // A server's sequences do not roll back with a killed transaction: the ids it handed out
        // stay used, so later Problems take higher ids. Everything else is as in one clean run.
        assert_eq!(
            crate::harness::without_ids(got),
            crate::harness::without_ids(expected)
        );
    } else {
        assert_eq!(got, expected);
    }
}

/// Runs probtrack with writes limited to `blocks` KiB and SIGXFSZ ignored: writes past the limit
/// fail with an error, as on a full disk.
fn with_file_size_limit(t: &Test, kib: u64, args: &[&str]) -> std::process::Output {
    let mut script = format!("trap '' XFSZ; ulimit -f {kib}; exec \"$0\"");
    for i in 1..=args.len() {
        script += &format!(" \"${i}\"");
    }
    let mut cmd = Command::new("bash");
    cmd.current_dir(t.dir.path())
        .env("PROBTRACK_DB", t.db())
        .arg("-c")
        .arg(script)
        .arg(BIN)
        .args(args);
    cmd.output().unwrap()
}

#[test]
fn a_full_disk_is_a_clear_error_and_the_database_stays_intact() {
    if !sqlite_only("a full disk") {
        return;
    }
    let t = Test::new();
    t.ingest(
        "b",
        1,
        &[fixture("junit/pytest-xunit2/report.xml").to_str().unwrap()],
    );
    let before = t.dump();
    // A big report: more than the database may grow by.
    let dir = t.path("big");
    history(
        &dir,
        &Shape {
            builders: 1,
            builds: 1,
            tests: 20_000,
            flaky: 0,
            broken: 0,
            seed: 1,
        },
    );
    let report = dir.join("builder-0").join("1000.xml");
    let size_kib = std::fs::metadata(t.db()).unwrap().len() / 1024 + 64;
    let out = with_file_size_limit(
        &t,
        size_kib,
        &[
            "ingest",
            "--builder",
            "b",
            "--build",
            "2",
            report.to_str().unwrap(),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("error:"), "{stderr}");
    integrity(&t);
    assert_eq!(t.dump(), before);
    // With room again, the same ingest lands.
    t.ok(&[
        "ingest",
        "--builder",
        "b",
        "--build",
        "2",
        report.to_str().unwrap(),
    ]);
}

#[test]
fn a_read_only_database_is_read_but_not_written() {
    if !sqlite_only("a read-only file") {
        return;
    }
    let t = Test::new();
    let dir = t.path("ro");
    std::fs::create_dir(&dir).unwrap();
    // As root permissions do not stop writes: a read-only file system does. Otherwise, modes.
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    let mounted = root
        && Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=16m", "tmpfs"])
            .arg(&dir)
            .status()
            .is_ok_and(|s| s.success());
    let db = dir.join("probtrack.db");
    let db = db.to_str().unwrap();
    let report = fixture("history/linux-py311/104.xml");
    t.ok(&[
        "--db",
        db,
        "ingest",
        "--builder",
        "b",
        "--build",
        "1",
        report.to_str().unwrap(),
    ]);
    t.ok(&["--db", db, "reanalyze"]); // folds the log into the file before it turns read-only
    let made_read_only = if mounted {
        Command::new("mount")
            .args(["-o", "remount,ro"])
            .arg(&dir)
            .status()
            .unwrap()
            .success()
    } else {
        use std::os::unix::fs::PermissionsExt;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
        }
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).unwrap();
        !root
    };
    if made_read_only {
        let stderr = t.fails(
            &[
                "--db",
                db,
                "ingest",
                "--builder",
                "b",
                "--build",
                "2",
                report.to_str().unwrap(),
            ],
            4,
        );
        assert!(
            stderr.contains("read-only") || stderr.contains("readonly"),
            "{stderr}"
        );
        // Queries still answer.
        let builds = t.json(&["--db", db, "builds"]);
        assert_eq!(builds.as_array().unwrap().len(), 1);
        t.json(&["--db", db, "problems", "--all"]);
    }
    if mounted {
        let _ = Command::new("umount").arg(&dir).status();
    } else {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755));
    }
    assert!(
        made_read_only || root,
        "could not make a read-only database to test"
    );
}

#[test]
fn eight_writers_and_readers_at_once_all_succeed() {
    let t = Test::new();
    t.ingest(
        "warmup",
        1,
        &[fixture("junit/mocha-junit-reporter/test-results.xml")
            .to_str()
            .unwrap()],
    );
    let reports: Vec<_> = (101..=115)
        .map(|n| fixture(&format!("history/linux-py311/{n}.xml")))
        .collect();
    let writers: Vec<_> = (0..8)
        .map(|w| {
            // Each writer ingests its own builder's builds one after another.
            let script: String = reports
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    format!(
                        "\"$0\" ingest --builder w{w} --build {} {} || exit 1; ",
                        i + 1,
                        r.display()
                    )
                })
                .collect();
            let mut cmd = Command::new("bash");
            cmd.current_dir(t.dir.path())
                .env("PROBTRACK_DB", t.db_url())
                .args(["-c", &script])
                .arg(BIN)
                .stdout(Stdio::null())
                .stderr(Stdio::piped());
            cmd.spawn().unwrap()
        })
        .collect();
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let script = "for i in $(seq 1 15); do \"$0\" problems --all >/dev/null || exit 1; \
                          \"$0\" builds >/dev/null || exit 1; \"$0\" flaky >/dev/null || exit 1; done";
            Command::new("bash")
                .current_dir(t.dir.path())
                .env("PROBTRACK_DB", t.db_url())
                .args(["-c", script])
                .arg(BIN)
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in writers.into_iter().chain(readers) {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let builds = t.json(&["builds", "--limit", "1000"]);
    assert_eq!(builds.as_array().unwrap().len(), 1 + 8 * reports.len());
    // Every writer's builder took its part in the Problems (builds at the same times on several
    // builders are one Problem), and reanalyze agrees with what the writers left.
    let problems = t.json(&["problems", "--all", "--intermittent"]);
    for w in 0..8 {
        let builder = format!("w{w}");
        let divide = problems
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["test"] == "tests.test_core.test_divide")
            .filter(|p| {
                p["builders"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|b| b == builder.as_str())
            })
            .count();
        assert_eq!(divide, 1, "{builder}");
    }
    t.ok(&["reanalyze"]);
    assert_eq!(t.json(&["problems", "--all", "--intermittent"]), problems);
    integrity(&t);
}

#[test]
fn untrusted_text_is_stored_faithfully() {
    let t = Test::new();
    // A report with bytes that are not UTF-8 in a test name and a message (a test that printed
    // Latin-1 into a UTF-8 report), written here byte by byte.
    let mut xml = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><testsuite name=\"s\">".to_vec();
    xml.extend_from_slice(b"<testcase classname=\"latin\" name=\"caf\xe9\"><failure message=\"got \xff\xfe\"/></testcase>");
    xml.extend_from_slice(b"<testcase classname=\"x\" name=\"a'); DROP TABLE tests; --\"><failure message=\"&lt;b&gt;\"/></testcase>");
    xml.extend_from_slice(b"</testsuite>");
    std::fs::write(t.path("bytes.xml"), &xml).unwrap();
    t.ingest("b", 1, &["bytes.xml"]);
    assert!(t
        .column_bytes("tests", "name")
        .contains(&b"latin.caf\xe9".to_vec()));
    assert!(t
        .column_bytes("messages", "text")
        .contains(&b"got \xff\xfe".to_vec()));
    // Shown safely: escaped in tables, lossy in JSON; found byte for byte by name.
    let table = t.ok(&["problems"]);
    assert!(table.contains("latin.caf\\xE9"), "{table}");
    let history = t.json(&["history", "latin.caf"]);
    assert_eq!(history["test"], "latin.caf\u{fffd}");
    // SQL and HTML in names are data.
    let history = t.json(&["history", "DROP TABLE"]);
    assert_eq!(history["test"], "x.a'); DROP TABLE tests; --");
    assert_eq!(history["builders"][0]["results"][0]["message"], "<b>");
}

#[test]
fn huge_logs_parse_within_an_address_space_limit() {
    // Build chatter with no diagnostics and no test results, streamed into each parser through a
    // pipe by the shell, while the address space is capped: memory must not grow with the input.
    let megabytes = if heavy() { 2048 } else { 32 };
    for parser in ["gcc", "trial"] {
        let script = format!(
            "ulimit -v 1048576; \
             yes 'make[2]: Nothing to be done for all; cc -O2 -c src/module.c -o build/module.o' \
             | head -c {megabytes}M | \"$0\" parse --parser {parser} --format json -"
        );
        let out = Command::new("bash")
            .args(["-c", &script])
            .arg(BIN)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{parser}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let results: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(results, serde_json::json!([]), "{parser}");
    }
}

/// A trigger that refuses to store build `number`: a database error in the middle of an import,
/// in a build that parsed cleanly (so it is written without a savepoint).
fn refuse_build(t: &Test, number: i64) {
    let sql = match crate::harness::backend() {
        crate::harness::Backend::Sqlite => format!(
            "CREATE TRIGGER refuse BEFORE INSERT ON builds WHEN NEW.number = {number} \
             BEGIN SELECT RAISE(ABORT, 'refused by a test'); END;"
        ),
        crate::harness::Backend::Postgres(_) => format!(
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
             IF NEW.number = {number} THEN RAISE EXCEPTION 'refused by a test'; END IF; \
             RETURN NEW; END $$; \
             CREATE TRIGGER refuse BEFORE INSERT ON builds FOR EACH ROW EXECUTE FUNCTION refuse();"
        ),
        crate::harness::Backend::Mysql(_) => format!(
            "CREATE TRIGGER refuse BEFORE INSERT ON builds FOR EACH ROW BEGIN \
             IF NEW.number = {number} THEN \
             SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused by a test'; END IF; END"
        ),
    };
    t.exec_sql(&sql);
}

#[test]
fn an_import_that_fails_mid_way_undoes_only_the_build_it_was_writing() {
    let t = Test::new();
    let dir = t.path("history");
    history(
        &dir,
        &Shape {
            builders: 3,
            builds: 10,
            tests: 40,
            flaky: 1,
            broken: 2,
            seed: 7,
        },
    );
    // The builds in the order import writes them: by time, then builder and number.
    let tsv = std::fs::read_to_string(dir.join("builds.tsv")).unwrap();
    let mut planned: Vec<(String, String, i64)> = tsv
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[4].to_owned(), f[0].to_owned(), f[1].parse().unwrap())
        })
        .collect();
    planned.sort();
    let failing = 2004;
    let before: Vec<String> = planned
        .iter()
        .take_while(|(_, _, n)| *n != failing)
        .map(|(_, b, n)| format!("{b} #{n}"))
        .collect();
    assert!(before.len() > 5 && before.len() < planned.len() - 5);

    // An empty import makes the schema; then the trigger, then the import that fails.
    std::fs::create_dir(t.path("empty")).unwrap();
    t.ok(&["import", t.path("empty").to_str().unwrap()]);
    refuse_build(&t, failing);
    let stderr = t.fails(&["import", dir.to_str().unwrap()], 4);
    assert!(stderr.contains("refused by a test"), "{stderr}");
    let landed = |t: &Test| -> Vec<String> {
        let mut keys: Vec<String> = (t.json(&["builds", "--limit", "1000"]).as_array().unwrap())
            .iter()
            .map(|b| format!("{} #{}", b["builder"].as_str().unwrap(), b["build"]))
            .collect();
        keys.sort();
        keys
    };
    let mut expected = before.clone();
    expected.sort();
    assert_eq!(
        landed(&t),
        expected,
        "the builds before the failing one are kept"
    );

    // With the fault gone, a rerun completes the history, as one clean import does.
    t.exec_sql(match crate::harness::backend() {
        crate::harness::Backend::Postgres(_) => "DROP TRIGGER refuse ON builds",
        _ => "DROP TRIGGER refuse",
    });
    let summary = t.json(&["import", dir.to_str().unwrap()]);
    assert_eq!(summary["skipped"], before.len());
    let clean = t.path("clean.db").display().to_string();
    t.ok(&["--db", &clean, "import", dir.to_str().unwrap()]);
    assert_eq!(landed(&t).len(), planned.len());
    assert_eq!(
        without_ids(t.json(&["problems", "--all", "--intermittent"])),
        without_ids(t.json(&["--db", &clean, "problems", "--all", "--intermittent"]))
    );
    every_build_whole(&t, &dir);
}

/// Refuses the rows of `results` of build `number` (a write an import holds on the servers).
fn refuse_results(t: &Test, number: i64) {
    let cond = format!("(SELECT number FROM builds WHERE id = NEW.build_id) = {number}");
    let sql = match crate::harness::backend() {
        crate::harness::Backend::Sqlite => format!(
            "CREATE TRIGGER refuse BEFORE INSERT ON results WHEN {cond} \
             BEGIN SELECT RAISE(ABORT, 'refused by a test'); END;"
        ),
        crate::harness::Backend::Postgres(_) => format!(
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
             IF {cond} THEN RAISE EXCEPTION 'refused by a test'; END IF; \
             RETURN NEW; END $$; \
             CREATE TRIGGER refuse BEFORE INSERT ON results FOR EACH ROW EXECUTE FUNCTION refuse();"
        ),
        crate::harness::Backend::Mysql(_) => format!(
            "CREATE TRIGGER refuse BEFORE INSERT ON results FOR EACH ROW BEGIN \
             IF {cond} THEN \
             SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused by a test'; END IF; END"
        ),
    };
    t.exec_sql(&sql);
}

#[test]
fn an_import_whose_results_fail_mid_way_keeps_only_whole_builds_before_it() {
    let t = Test::new();
    let dir = t.path("history");
    history(
        &dir,
        &Shape {
            builders: 3,
            builds: 10,
            tests: 40,
            flaky: 1,
            broken: 2,
            seed: 7,
        },
    );
    let tsv = std::fs::read_to_string(dir.join("builds.tsv")).unwrap();
    let mut planned: Vec<(String, String, i64)> = tsv
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[4].to_owned(), f[0].to_owned(), f[1].parse().unwrap())
        })
        .collect();
    planned.sort();
    let failing = 2004;
    let mut before: Vec<String> = planned
        .iter()
        .take_while(|(_, _, n)| *n != failing)
        .map(|(_, b, n)| format!("{b} #{n}"))
        .collect();
    before.sort();
    std::fs::create_dir(t.path("empty")).unwrap();
    t.ok(&["import", t.path("empty").to_str().unwrap()]);
    refuse_results(&t, failing);
    let stderr = t.fails(&["import", dir.to_str().unwrap()], 4);
    assert!(stderr.contains("refused by a test"), "{stderr}");
    let mut landed: Vec<String> = (t.json(&["builds", "--limit", "1000"]).as_array().unwrap())
        .iter()
        .map(|b| format!("{} #{}", b["builder"].as_str().unwrap(), b["build"]))
        .collect();
    landed.sort();
    assert_eq!(
        landed, before,
        "the builds before the failing one are kept, it is not"
    );
    every_build_whole(&t, &dir);
}

#[test]
fn an_import_whose_results_fail_before_a_bad_report_keeps_no_partial_build() {
    let t = Test::new();
    let dir = t.path("history");
    history(
        &dir,
        &Shape {
            builders: 3,
            builds: 10,
            tests: 40,
            flaky: 1,
            broken: 2,
            seed: 7,
        },
    );
    let tsv = std::fs::read_to_string(dir.join("builds.tsv")).unwrap();
    let mut planned: Vec<(String, String, i64)> = tsv
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[4].to_owned(), f[0].to_owned(), f[1].parse().unwrap())
        })
        .collect();
    planned.sort();
    let failing = 2004;
    let mut before: Vec<String> = planned
        .iter()
        .take_while(|(_, _, n)| *n != failing)
        .map(|(_, b, n)| format!("{b} #{n}"))
        .collect();
    before.sort();
    std::fs::create_dir(t.path("empty")).unwrap();
    t.ok(&["import", t.path("empty").to_str().unwrap()]);
    refuse_results(&t, failing);
    // The build after it has a report cut short: it is written under a savepoint.
    let at = planned.iter().position(|(_, _, n)| *n == failing).unwrap();
    let (_, b, n) = &planned[at + 1];
    let next = dir.join(b).join(format!("{n}.xml"));
    let xml = std::fs::read_to_string(&next).unwrap();
    std::fs::write(&next, &xml[..xml.len() / 2]).unwrap();
    let stderr = t.fails(&["import", dir.to_str().unwrap()], 4);
    assert!(stderr.contains("refused by a test"), "{stderr}");
    let mut landed: Vec<String> = (t.json(&["builds", "--limit", "1000"]).as_array().unwrap())
        .iter()
        .map(|b| format!("{} #{}", b["builder"].as_str().unwrap(), b["build"]))
        .collect();
    landed.sort();
    assert_eq!(
        landed, before,
        "the builds before the failing one are kept, it is not"
    );
    every_build_whole(&t, &dir);
}

#[test]
fn an_import_of_hostile_text_answers_as_sqlite_does() {
    let t = Test::new();
    let dir = t.path("history");
    history(
        &dir,
        &Shape {
            builders: 2,
            builds: 6,
            tests: 10,
            flaky: 1,
            broken: 1,
            seed: 3,
        },
    );
    let hostile = "b'\\'\\\\\";--#*x* é\u{1F600}";
    let tsv = std::fs::read_to_string(dir.join("builds.tsv")).unwrap();
    std::fs::write(dir.join("builds.tsv"), tsv.replace("builder-0", hostile)).unwrap();
    std::fs::rename(dir.join("builder-0"), dir.join(hostile)).unwrap();
    let evil = "x&apos;); DROP TABLE results; -- \\&apos; \\\\ /* &quot; # \u{7f} \u{1F600}";
    for entry in std::fs::read_dir(dir.join(hostile)).unwrap() {
        let path = entry.unwrap().path();
        let xml = std::fs::read_to_string(&path).unwrap();
        let case = format!(
            "  <testcase classname=\"{evil}\" name=\"{evil}\" time=\"0.1\"><failure message=\"{evil}\">{evil}{}</failure></testcase>\n</testsuite>",
            "z".repeat(200_000)
        );
        std::fs::write(&path, xml.replacen("</testsuite>", &case, 1)).unwrap();
    }
    t.ok(&["import", dir.to_str().unwrap()]);
    let clean = t.path("clean.db").display().to_string();
    t.ok(&["--db", &clean, "import", dir.to_str().unwrap()]);
    for view in [
        &["problems", "--all", "--intermittent"][..],
        &["builds", "--limit", "1000"],
        &["flaky", "--min-runs", "2", "--min-score", "0"],
        &["users", "--intermittent"],
    ] {
        let mut with = vec!["--db", clean.as_str()];
        with.extend(view);
        match view[0] {
            "problems" => assert_eq!(without_ids(t.json(view)), without_ids(t.json(&with))),
            _ => assert_eq!(t.json(view), t.json(&with), "{view:?}"),
        }
    }
}

/// The names of an ELF64 little-endian file's sections (what `readelf -S` lists), read from its
/// header, its section table and the table's names.
#[cfg(all(
    target_os = "linux",
    target_pointer_width = "64",
    target_endian = "little"
))]
fn elf_sections(path: &str) -> Vec<String> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path).unwrap();
    let mut read = |at: u64, len: usize| {
        let mut bytes = vec![0; len];
        file.seek(SeekFrom::Start(at)).unwrap();
        file.read_exact(&mut bytes).unwrap();
        bytes
    };
    let head = read(0, 64);
    assert_eq!(
        &head[..6],
        b"\x7fELF\x02\x01",
        "{path}: an ELF64 little-endian file"
    );
    let u16_at = |b: &[u8], at: usize| u16::from_le_bytes(b[at..at + 2].try_into().unwrap());
    let u32_at = |b: &[u8], at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
    let u64_at = |b: &[u8], at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap());
    let (table, size, count) = (
        u64_at(&head, 0x28),
        u16_at(&head, 0x3a),
        u16_at(&head, 0x3c),
    );
    let names_index = u16_at(&head, 0x3e);
    assert!(
        table != 0 && size >= 0x40 && names_index < count,
        "{path}: a section table"
    );
    let headers = read(table, usize::from(size) * usize::from(count));
    let header = |i: u16| &headers[usize::from(i) * usize::from(size)..][..usize::from(size)];
    let names_header = header(names_index);
    let names = read(
        u64_at(names_header, 0x18),
        u64_at(names_header, 0x20) as usize,
    );
    (0..count)
        .map(|i| {
            let start = u32_at(header(i), 0) as usize;
            let name = &names[start..];
            let end = name.iter().position(|&b| b == 0).unwrap();
            String::from_utf8_lossy(&name[..end]).into_owned()
        })
        .collect()
}

/// build.rs links the binary with packed relative relocations where the glibc it is built against
/// can load them, and tells this crate what it decided (`PROBTRACK_RELR`): the binary has the
/// packed table exactly when build.rs said `packed`, and the loader starts it.
#[cfg(all(
    target_os = "linux",
    target_pointer_width = "64",
    target_endian = "little"
))]
#[test]
fn the_binary_packs_its_relocations_where_glibc_can_load_them() {
    let decision = env!("PROBTRACK_RELR");
    let sections = elf_sections(BIN);
    assert_eq!(
        sections.iter().any(|s| s == ".relr.dyn"),
        decision == "packed",
        "build.rs decided {decision:?}; the binary's sections: {sections:?}"
    );
    let run = Command::new(BIN).arg("--version").output().unwrap();
    assert!(run.status.success(), "{run:?}");
}
