//! Secrets stay secret: a password given in a URL (in its user part or as `password=`), in a
//! password file, or the right one, never appears in probtrack's output or errors, in the servers'
//! logs, or in the database, whichever way a command fails (wrong password, no server, TLS refused,
//! a URL that does not parse, a password file others may read). Private servers with password
//! logins are started here (see tls.rs), so the shared ones are untouched.

use std::path::Path;
use std::process::{Command, Output};

use crate::harness::fixture;
use crate::tls::{
    in_the_sqlite_pass, probtrack_command, programs, Certs, PrivateMariadb, PrivatePostgres,
    PASSWORD,
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
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn postgres_passwords_never_show_in_output_logs_or_the_database() {
    if !in_the_sqlite_pass("the private PostgreSQL server")
        || programs(&["openssl", "pg_dump"]).is_none()
    {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path();
    let certs = Certs::make(&work.join("certs"));
    let Some(pg) = PrivatePostgres::start(&work.join("pg")) else {
        return;
    };
    let port = pg.port;
    let report = fixture("junit/pytest-xunit2/report.xml");
    let report = report.to_str().unwrap();
    let ingest = ["ingest", "--builder", "b", "--build", "1", report];
    let at = |userinfo: &str, port: u16, query: &str| {
        format!("postgres://{userinfo}@127.0.0.1:{port}/tls{query}")
    };

    // Wrong passwords, however given.
    let wrong = at(&format!("postgres:{SECRET}"), port, "");
    let err = hidden(
        "wrong password",
        probtrack_command(work, &wrong, &ingest),
        4,
    );
    assert!(err.contains("password authentication failed"), "{err}");
    hidden(
        "wrong password, read",
        probtrack_command(work, &wrong, &["builds"]),
        4,
    );
    hidden(
        "wrong password with --db",
        probtrack_command(work, "", &["--db", &wrong, "builds"]),
        4,
    );
    hidden(
        "wrong password= parameter",
        probtrack_command(
            work,
            &at("postgres", port, &format!("?password={SECRET}")),
            &ingest,
        ),
        4,
    );
    let pgpass = work.join("pgpass");
    private_file(
        &pgpass,
        &format!("127.0.0.1:{port}:*:postgres:{SECRET}\n"),
        0o600,
    );
    let mut cmd = probtrack_command(work, &at("postgres", port, ""), &ingest);
    cmd.env("PGPASSFILE", &pgpass);
    hidden("wrong password in PGPASSFILE", cmd, 4);
    // A password file others may read is refused, and says so.
    private_file(&pgpass, &format!("*:*:*:*:{SECRET}\n"), 0o644);
    let mut cmd = probtrack_command(work, &at("postgres", port, ""), &ingest);
    cmd.env("PGPASSFILE", &pgpass);
    let err = hidden("PGPASSFILE others may read", cmd, 2);
    assert!(err.contains("has group or world access"), "{err}");

    // No server there.
    let nobody = closed_port();
    let err = hidden(
        "no server",
        probtrack_command(
            work,
            &at(&format!("postgres:{SECRET}"), nobody, ""),
            &ingest,
        ),
        4,
    );
    assert!(err.contains("connection refused"), "{err}");
    // TLS asked for, and refused (this server has no TLS yet).
    let err = hidden(
        "TLS refused",
        probtrack_command(
            work,
            &at(
                &format!("postgres:{SECRET}"),
                port,
                &format!("?sslmode=verify-full&sslrootcert={}", certs.path("ca.pem")),
            ),
            &ingest,
        ),
        4,
    );
    assert!(err.contains("does not offer TLS"), "{err}");
    // A URL that does not parse, and one with a password that a URL cannot hold unescaped (the
    // driver takes it; the server refuses it).
    hidden(
        "a bad port",
        probtrack_command(
            work,
            &format!("postgres://postgres:{SECRET}@127.0.0.1:x/tls"),
            &ingest,
        ),
        2,
    );
    hidden(
        "a password with / and ?",
        probtrack_command(
            work,
            &format!("postgres://postgres:a/?{SECRET}@127.0.0.1:{port}/tls"),
            &ingest,
        ),
        4,
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

    // The right password, from the password file: the builds land, and neither password is in
    // the database or the server's log.
    private_file(
        &pgpass,
        &format!("127.0.0.1:{port}:tls:postgres:{PASSWORD}\n"),
        0o600,
    );
    let mut cmd = probtrack_command(work, &at("postgres", port, ""), &ingest);
    cmd.env("PGPASSFILE", &pgpass);
    hidden("the right password from PGPASSFILE", cmd, 0);
    let mut cmd = probtrack_command(
        work,
        &at("postgres", port, ""),
        &["builds", "--format", "json"],
    );
    cmd.env("PGPASSFILE", &pgpass);
    assert!(hidden("builds", cmd, 0).contains("\"build\": 1"));
    let dump = pg.dump("tls");
    assert!(dump.contains("pytest"), "the dump holds the ingested build");
    for secret in [SECRET, PASSWORD] {
        assert!(!dump.contains(secret), "a password in the database");
        assert!(!pg.log().contains(secret), "a password in the server's log");
    }
}

#[test]
fn mysql_passwords_never_show_in_output_logs_or_the_database() {
    if !in_the_sqlite_pass("the private MariaDB server")
        || programs(&["openssl", "mariadb-dump"]).is_none()
    {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path();
    let certs = Certs::make(&work.join("certs"));
    let Some(my) = PrivateMariadb::start(&work.join("my")) else {
        return;
    };
    let port = my.port;
    let report = fixture("junit/pytest-xunit2/report.xml");
    let report = report.to_str().unwrap();
    let ingest = ["ingest", "--builder", "b", "--build", "1", report];
    let at = |userinfo: &str, port: u16, query: &str| {
        format!("mysql://{userinfo}@127.0.0.1:{port}/tls{query}")
    };

    let wrong = at(&format!("probtrack:{SECRET}"), port, "");
    let err = hidden(
        "wrong password",
        probtrack_command(work, &wrong, &ingest),
        4,
    );
    assert!(err.contains("1045"), "{err}");
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
            &["--db", &wrong.replacen("mysql", "mariadb", 1), "builds"],
        ),
        4,
    );
    hidden(
        "wrong password= parameter",
        probtrack_command(
            work,
            &at("probtrack", port, &format!("?password={SECRET}")),
            &ingest,
        ),
        4,
    );
    let cnf = work.join("client.cnf");
    private_file(
        &cnf,
        &format!("[mysqld]\nport=1\n[client]\npassword = \"{SECRET}\"\n"),
        0o600,
    );
    let mut cmd = probtrack_command(work, &at("probtrack", port, ""), &ingest);
    cmd.env("PROBTRACK_MYSQL_DEFAULTS_FILE", &cnf);
    hidden("wrong password in the option file", cmd, 4);
    std::fs::set_permissions(&cnf, std::os::unix::fs::PermissionsExt::from_mode(0o640)).unwrap();
    let mut cmd = probtrack_command(work, &at("probtrack", port, ""), &ingest);
    cmd.env("PROBTRACK_MYSQL_DEFAULTS_FILE", &cnf);
    let err = hidden("an option file others may read", cmd, 2);
    assert!(err.contains("has group or world access"), "{err}");

    let nobody = closed_port();
    hidden(
        "no server",
        probtrack_command(
            work,
            &at(&format!("probtrack:{SECRET}"), nobody, ""),
            &ingest,
        ),
        4,
    );
    let err = hidden(
        "TLS refused",
        probtrack_command(
            work,
            &at(
                &format!("probtrack:{SECRET}"),
                port,
                &format!("?ssl-mode=VERIFY_IDENTITY&ssl-ca={}", certs.path("ca.pem")),
            ),
            &ingest,
        ),
        4,
    );
    assert!(err.contains("does not offer TLS"), "{err}");
    hidden(
        "a bad port",
        probtrack_command(
            work,
            &format!("mysql://probtrack:{SECRET}@127.0.0.1:x/tls"),
            &ingest,
        ),
        2,
    );

    // The right password, from the option file.
    private_file(
        &cnf,
        &format!("[client]\nuser=ignored\npassword={PASSWORD}\n"),
        0o600,
    );
    let mut cmd = probtrack_command(work, &at("probtrack", port, ""), &ingest);
    cmd.env("PROBTRACK_MYSQL_DEFAULTS_FILE", &cnf);
    hidden("the right password from the option file", cmd, 0);
    let dump = my.dump("tls");
    assert!(dump.contains("pytest"), "the dump holds the ingested build");
    for secret in [SECRET, PASSWORD] {
        assert!(!dump.contains(secret), "a password in the database");
        assert!(!my.log().contains(secret), "a password in the server's log");
    }
}
