//! Secrets stay secret: a password given in a URL (in its user part or as `password=`), in a
//! password file, or the right one, never appears in probtrack's output or errors, in the servers'
//! logs, or in the database, whichever way a command fails (wrong password, no server, TLS refused,
//! a URL that does not parse, a password file others may read). Private servers with password
//! logins are started here (see tls.rs), so the shared ones are untouched.

use std::io::Read;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::harness::fixture;
use crate::tls::{
    in_the_sqlite_pass, probtrack_command, programs, set_mode, Certs, Engine, MYSQL, PASSWORD,
    POSTGRES,
};

/// A wrong password, which each failing command is given.
const SECRET: &str = "Wr0ngPw-7d3a91";

/// Runs `cmd`, asserts its exit code, and that neither password is in anything it wrote.
#[track_caller]
fn hidden(what: &str, mut cmd: Command, code: i32) -> String {
    let out: Output = cmd.output().expect("run probtrack");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(code), "{what}: exit code\n{text}");
    for secret in [SECRET, PASSWORD] {
        assert!(
            !text.contains(secret),
            "{what}: the password shown:\n{text}"
        );
    }
    text
}

fn private_file(path: &Path, text: &str, mode: u32) {
    std::fs::write(path, text).unwrap();
    set_mode(path, mode);
}

fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// What differs between the engines here, besides the server and its URL.
struct Secrets {
    engine: &'static Engine,
    dump: &'static str,
    /// The engine's other scheme, which `--db` is given.
    alias: &'static str,
    /// What the error of a wrong password says.
    wrong_says: &'static str,
    file_var: &'static str,
    /// The password file with the wrong password (port of the server), and with the right one.
    wrong_file: fn(u16) -> String,
    right_file: fn(u16) -> String,
    /// A mode that lets others read the password file.
    readable: u32,
    /// The exit code of a password with `/` and `?` in the URL: PostgreSQL's driver takes it
    /// (and the server refuses it), MySQL's does not parse it.
    odd_password_exit: i32,
}

const POSTGRES_SECRETS: Secrets = Secrets {
    engine: &POSTGRES,
    dump: "pg_dump",
    alias: "postgresql",
    wrong_says: "password authentication failed",
    file_var: "PGPASSFILE",
    wrong_file: |port| format!("127.0.0.1:{port}:*:postgres:{SECRET}\n"),
    right_file: |port| format!("127.0.0.1:{port}:tls:postgres:{PASSWORD}\n"),
    readable: 0o644,
    odd_password_exit: 4,
};

const MYSQL_SECRETS: Secrets = Secrets {
    engine: &MYSQL,
    dump: "mariadb-dump",
    alias: "mariadb",
    wrong_says: "1045",
    file_var: "PROBTRACK_MYSQL_DEFAULTS_FILE",
    // Other groups are ignored; quotes are taken off.
    wrong_file: |_| format!("[mysqld]\nport=1\n[client]\npassword = \"{SECRET}\"\n"),
    right_file: |_| format!("[client]\nuser=ignored\npassword={PASSWORD}\n"),
    readable: 0o640,
    odd_password_exit: 2,
};

/// Passwords given every way, to commands that fail every way and to ones that succeed, never
/// show in the output, the server's log or the database.
fn passwords_never_show(secrets: &Secrets) {
    let engine = secrets.engine;
    if !in_the_sqlite_pass(engine.what) || programs(&["openssl", secrets.dump]).is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path();
    let certs = Certs::make(&work.join("certs"));
    let Some(server) = (engine.start)(&work.join("server")) else {
        return;
    };
    let port = server.port();
    let report = fixture("junit/pytest-xunit2/report.xml");
    let report = report.to_str().unwrap();
    let ingest = ["ingest", "--builder", "b", "--build", "1", report];
    let (scheme, user) = (engine.scheme, engine.user);
    let at = |userinfo: &str, port: u16, query: &str| {
        format!("{scheme}://{userinfo}@127.0.0.1:{port}/tls{query}")
    };
    let with_file = |file: &Path| {
        let mut cmd = probtrack_command(work, &at(user, port, ""), &ingest);
        cmd.env(secrets.file_var, file);
        cmd
    };

    // Wrong passwords, however given.
    let wrong = at(&format!("{user}:{SECRET}"), port, "");
    let err = hidden(
        "wrong password",
        probtrack_command(work, &wrong, &ingest),
        4,
    );
    assert!(err.contains(secrets.wrong_says), "{err}");
    hidden(
        "wrong password, read",
        probtrack_command(work, &wrong, &["builds"]),
        4,
    );
    hidden(
        "wrong password with --db",
        probtrack_command(
            work,
            "",
            &["--db", &wrong.replacen(scheme, secrets.alias, 1), "builds"],
        ),
        4,
    );
    hidden(
        "wrong password= parameter",
        probtrack_command(
            work,
            &at(user, port, &format!("?password={SECRET}")),
            &ingest,
        ),
        4,
    );
    let file = work.join("password-file");
    private_file(&file, &(secrets.wrong_file)(port), 0o600);
    hidden("wrong password in the password file", with_file(&file), 4);
    // A password file others may read is refused, and says so.
    set_mode(&file, secrets.readable);
    let err = hidden("a password file others may read", with_file(&file), 2);
    assert!(err.contains("has group or world access"), "{err}");

    // No server there.
    let nobody = closed_port();
    let err = hidden(
        "no server",
        probtrack_command(work, &at(&format!("{user}:{SECRET}"), nobody, ""), &ingest),
        4,
    );
    assert!(err.to_lowercase().contains("connection refused"), "{err}");
    // TLS asked for, and refused (this server has no TLS yet).
    let err = hidden(
        "TLS refused",
        probtrack_command(
            work,
            &at(
                &format!("{user}:{SECRET}"),
                port,
                &format!("?{}", engine.verify_full(&certs.path("ca.pem"))),
            ),
            &ingest,
        ),
        4,
    );
    assert!(err.contains("does not offer TLS"), "{err}");
    // A URL that does not parse, and one with a password that a URL cannot hold unescaped.
    hidden(
        "a bad port",
        probtrack_command(
            work,
            &format!("{scheme}://{user}:{SECRET}@127.0.0.1:x/tls"),
            &ingest,
        ),
        2,
    );
    hidden(
        "a password with / and ?",
        probtrack_command(
            work,
            &format!("{scheme}://{user}:a/?{SECRET}@127.0.0.1:{port}/tls"),
            &ingest,
        ),
        secrets.odd_password_exit,
    );
    // copy to a server that refuses.
    hidden(
        "copy --to",
        probtrack_command(
            work,
            &work.join("local.db").display().to_string(),
            &["copy", "--to", &wrong],
        ),
        4,
    );

    // The right password, from the password file: the build lands, and neither password is in
    // the database or the server's log.
    private_file(&file, &(secrets.right_file)(port), 0o600);
    hidden(
        "the right password from the password file",
        with_file(&file),
        0,
    );
    let mut cmd = probtrack_command(work, &at(user, port, ""), &["builds", "--format", "json"]);
    cmd.env(secrets.file_var, &file);
    assert!(hidden("builds", cmd, 0).contains("\"build\": 1"));
    let dump = server.dump("tls");
    assert!(dump.contains("pytest"), "the dump holds the ingested build");
    for secret in [SECRET, PASSWORD] {
        assert!(!dump.contains(secret), "a password in the database");
        assert!(
            !server.log().contains(secret),
            "a password in the server's log"
        );
    }
}

#[test]
fn postgres_passwords_never_show_in_output_logs_or_the_database() {
    passwords_never_show(&POSTGRES_SECRETS);
}

#[test]
fn mysql_passwords_never_show_in_output_logs_or_the_database() {
    passwords_never_show(&MYSQL_SECRETS);
}

/// What a process shows of itself: its command line (which a program may rewrite as its title)
/// and the names of its threads.
fn title(pid: u32) -> String {
    let mut shown = std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
        .unwrap_or_default();
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten()
        .flatten()
    {
        shown += &std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
    }
    shown
}

#[test]
fn passwords_never_show_in_the_process_title_or_command_line() {
    if !in_the_sqlite_pass("the stalled server") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path();
    let report = fixture("junit/pytest-xunit2/report.xml");
    let report = report.to_str().unwrap();
    let ingest = ["ingest", "--builder", "b", "--build", "1", report];
    let pgpass = work.join("pgpass");
    private_file(&pgpass, &format!("*:*:*:*:{SECRET}\n"), 0o600);
    let cnf = work.join("client.cnf");
    private_file(&cnf, &format!("[client]\npassword={SECRET}\n"), 0o600);
    // Each way of giving a secret, to a server that accepts the connection and never answers, so
    // that the process is caught mid-run, its secret read and in use.
    type Case<'a> = (&'a str, &'a str, &'a [&'a str], Option<(&'a str, &'a Path)>);
    let cases: [Case; 5] = [
        (
            "a password in the URL (PostgreSQL)",
            "postgres://u:{SECRET}@{ADDR}/db",
            &ingest,
            None,
        ),
        (
            "PGPASSFILE",
            "postgres://u@{ADDR}/db",
            &ingest,
            Some(("PGPASSFILE", &pgpass)),
        ),
        (
            "a password in the URL (MySQL)",
            "mysql://u:{SECRET}@{ADDR}/db",
            &ingest,
            None,
        ),
        (
            "a MySQL option file",
            "mysql://u@{ADDR}/db",
            &ingest,
            Some(("PROBTRACK_MYSQL_DEFAULTS_FILE", &cnf)),
        ),
        (
            "a Buildbot token",
            "",
            &[
                "import",
                "--buildbot",
                "http://{ADDR}/",
                "--step",
                "trial=trial",
            ],
            None,
        ),
    ];
    for (what, url, args, file) in cases {
        let stalled = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = stalled.local_addr().unwrap().to_string();
        let fill = |s: &str| s.replace("{SECRET}", SECRET).replace("{ADDR}", &addr);
        let args: Vec<String> = args.iter().map(|a| fill(a)).collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let db = if url.is_empty() {
            work.join("local.db").display().to_string()
        } else {
            fill(url)
        };
        let mut cmd = probtrack_command(work, &db, &args);
        if let Some((var, path)) = file {
            cmd.env(var, path);
        }
        if url.is_empty() {
            cmd.env("PROBTRACK_BUILDBOT_TOKEN", SECRET);
        }
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run probtrack");
        // The connection, once the secret has been read; the process must still be running.
        stalled.set_nonblocking(true).unwrap();
        let start = Instant::now();
        let _connection = loop {
            if let Ok((connection, _)) = stalled.accept() {
                break connection;
            }
            if let Some(status) = child.try_wait().unwrap() {
                let mut stderr = String::new();
                let _ = child.stderr.take().unwrap().read_to_string(&mut stderr);
                panic!("{what}: probtrack ended ({status}) before it connected:\n{stderr}");
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "{what}: probtrack did not connect"
            );
            std::thread::sleep(Duration::from_millis(10));
        };
        for _ in 0..5 {
            let shown = title(child.id());
            assert!(
                shown.contains(args[0]),
                "{what}: the command line was read: {shown:?}"
            );
            assert!(!shown.contains(SECRET), "{what}: the secret in {shown:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "{what}: probtrack was still running"
        );
        // A process this test started, by its id.
        child.kill().unwrap();
        child.wait().unwrap();
    }
}
