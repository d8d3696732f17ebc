//! A small harness: `Test::new()` makes a temporary directory with its own database; commands run
//! the real binary there.
//!
//! The whole suite runs against one backend, chosen by `PROBTRACK_TEST_DB`: unset (or `sqlite`) for
//! the embedded SQLite file, or a server URL without a database, `postgres://USER@HOST:PORT` or
//! `mysql://USER@HOST:PORT`, under which every test gets a fresh database of its own (dropped at
//! its end). Tests of what only a file can show (kills, permissions, full disks, file upgrades)
//! ask [`sqlite_only`] and skip other backends; a test whose server or tool is missing skips with
//! [`skip`], which says so (and fails under CI's `PROBTRACK_REQUIRE_*` flags).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use probtrack::store::{self, Cell, Location, OpenMode, TABLES};

pub const BIN: &str = env!("CARGO_BIN_EXE_probtrack");

/// A path under the project's `fixtures/`.
pub fn fixture(relative: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(relative);
    assert!(path.exists(), "missing fixture {}", path.display());
    path
}

/// The backend the suite runs against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    /// The server URL, without a database.
    Postgres(String),
    Mysql(String),
}

pub fn backend() -> Backend {
    let value = std::env::var("PROBTRACK_TEST_DB").unwrap_or_default();
    let server = |url: &str| {
        // Keep scheme://userinfo@host:port; the database is each test's own.
        let (scheme, rest) = url.split_once("://").expect("a URL");
        let authority = rest.split(['/', '?']).next().unwrap_or_default();
        format!("{scheme}://{authority}")
    };
    if value.is_empty() || value == "sqlite" {
        Backend::Sqlite
    } else if value.starts_with("postgres://") || value.starts_with("postgresql://") {
        Backend::Postgres(server(&value))
    } else if value.starts_with("mysql://") || value.starts_with("mariadb://") {
        Backend::Mysql(server(&value).replacen("mariadb://", "mysql://", 1))
    } else {
        panic!("PROBTRACK_TEST_DB={value}: expected sqlite, postgres://… or mysql://…")
    }
}

/// The database servers the tests that span backends may use: `PROBTRACK_TEST_POSTGRES` and
/// `PROBTRACK_TEST_MYSQL` (server URLs without a database; `scripts/test` sets them when the
/// servers answer). With `PROBTRACK_REQUIRE_SERVERS=1` (CI), a missing one is a failure, not a pass.
pub fn server(kind: &str) -> Option<Backend> {
    let var = match kind {
        "postgres" => "PROBTRACK_TEST_POSTGRES",
        "mysql" => "PROBTRACK_TEST_MYSQL",
        _ => panic!("no server kind {kind}"),
    };
    match std::env::var(var).ok().filter(|v| !v.is_empty()) {
        Some(url) if kind == "postgres" => {
            Some(Backend::Postgres(url.trim_end_matches('/').to_owned()))
        }
        Some(url) => Some(Backend::Mysql(url.trim_end_matches('/').replacen(
            "mariadb://",
            "mysql://",
            1,
        ))),
        None => {
            skip(
                Some("PROBTRACK_REQUIRE_SERVERS"),
                &format!("{var} is not set (scripts/test sets it when {kind} answers)"),
            );
            None
        }
    }
}

/// True on SQLite; on a server backend, says that `what` is a test of the SQLite file only.
pub fn sqlite_only(what: &str) -> bool {
    let sqlite = backend() == Backend::Sqlite;
    if !sqlite {
        skip(
            None,
            &format!("{what} is about the SQLite file, not {:?}", backend()),
        );
    }
    sqlite
}

/// The one way a test skips (the caller then returns): says so on the terminal, naming the test and
/// `why`, where the test runner shows it even though the test passes. Where what is missing is
/// required — the environment variable `required` (`PROBTRACK_REQUIRE_SERVERS`,
/// `PROBTRACK_REQUIRE_BROWSER`, which CI sets) is 1 — the test fails instead.
pub fn skip(required: Option<&str>, why: &str) {
    if let Some(var) = required {
        assert!(
            std::env::var(var).as_deref() != Ok("1"),
            "{var}=1, but {why}"
        );
    }
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("a test");
    // Straight to stderr: the test runner captures `eprintln!` and shows it only on failure.
    let _ = writeln!(std::io::stderr().lock(), "SKIPPED {test}: {why}");
}

/// A fresh database on a server, dropped when the test ends.
pub struct ServerDb {
    pub url: String,
    admin: Backend,
    name: String,
}

static NEXT_DB: AtomicUsize = AtomicUsize::new(0);

impl ServerDb {
    pub fn create(backend: &Backend) -> ServerDb {
        let name = format!(
            "probtrack_t{}_{}",
            std::process::id(),
            NEXT_DB.fetch_add(1, Ordering::Relaxed)
        );
        let url = match backend {
            Backend::Postgres(base) => {
                let mut admin = admin_postgres(base);
                admin
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .and_then(|()| admin.batch_execute(&format!("CREATE DATABASE {name}")))
                    .expect("create a PostgreSQL test database");
                format!("{base}/{name}")
            }
            Backend::Mysql(base) => {
                use mysql::prelude::Queryable;
                let mut conn = admin_mysql(base);
                conn.query_drop(format!("DROP DATABASE IF EXISTS {name}"))
                    .and_then(|()| conn.query_drop(format!("CREATE DATABASE {name}")))
                    .expect("create a MySQL test database");
                format!("{base}/{name}")
            }
            Backend::Sqlite => unreachable!("SQLite needs no server database"),
        };
        ServerDb {
            url,
            admin: backend.clone(),
            name,
        }
    }
}

fn admin_postgres(base: &str) -> postgres::Client {
    postgres::Client::connect(&format!("{base}/postgres"), postgres::NoTls)
        .unwrap_or_else(|e| panic!("PROBTRACK_TEST_DB: cannot reach PostgreSQL at {base}: {e}"))
}

fn admin_mysql(base: &str) -> mysql::Conn {
    let opts = mysql::Opts::from_url(base).expect("a MySQL URL");
    mysql::Conn::new(opts)
        .unwrap_or_else(|e| panic!("PROBTRACK_TEST_DB: cannot reach MySQL at {base}: {e}"))
}

impl Drop for ServerDb {
    fn drop(&mut self) {
        match &self.admin {
            Backend::Postgres(base) => {
                let _ = admin_postgres(base).batch_execute(&format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    self.name
                ));
            }
            Backend::Mysql(base) => {
                use mysql::prelude::Queryable;
                let _ =
                    admin_mysql(base).query_drop(format!("DROP DATABASE IF EXISTS {}", self.name));
            }
            Backend::Sqlite => {}
        }
    }
}

pub struct Test {
    pub dir: tempfile::TempDir,
    server: Option<ServerDb>,
}

impl Test {
    pub fn new() -> Test {
        let backend = backend();
        Test {
            dir: tempfile::tempdir().expect("temp dir"),
            server: (backend != Backend::Sqlite).then(|| ServerDb::create(&backend)),
        }
    }

    /// The database as `--db` / `PROBTRACK_DB` name it: the SQLite file, or the server URL.
    ///
    /// On PostgreSQL the URL asks for plain TCP (`sslmode=disable`): a server with TLS on (as
    /// Debian's is) would otherwise negotiate it for every command, the default `prefer`, and
    /// the handshakes cost the suite an eighth of its time. What TLS does is the business of
    /// `tls.rs` and of `shared::postgres_sslmode_require_encrypts_the_connection`, which also
    /// checks that the default negotiates it.
    pub fn db_url(&self) -> String {
        match &self.server {
            Some(server) if server.url.starts_with("postgres") => {
                format!("{}?sslmode=disable", server.url)
            }
            Some(server) => server.url.clone(),
            None => self.db().display().to_string(),
        }
    }

    /// Whether the database holds probtrack's schema yet.
    pub fn db_exists(&self) -> bool {
        store::exists(&self.location())
    }

    pub fn location(&self) -> Location {
        Location::parse(&self.db_url()).expect("a database location")
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    pub fn db(&self) -> PathBuf {
        self.path("probtrack.db")
    }

    /// A command for the real binary, run in the test's directory on its database.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.current_dir(self.dir.path())
            .env_remove("PROBTRACK_DB")
            .env_remove("PROBTRACK_CONFIG")
            .env_remove("NO_COLOR")
            .env("PROBTRACK_DB", self.db_url())
            .args(args)
            .stdin(Stdio::null());
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run probtrack")
    }

    pub fn run_with_stdin(&self, args: &[&str], stdin: &[u8]) -> Output {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn probtrack");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin)
            .expect("write stdin");
        child.wait_with_output().expect("wait")
    }

    /// Runs and asserts success; returns stdout.
    #[track_caller]
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "probtrack {args:?} failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 output")
    }

    /// Runs, asserts success, parses stdout as JSON.
    #[track_caller]
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--format", "json"]);
        let text = self.ok(&all);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"))
    }

    /// Runs and asserts the exit code; returns stderr.
    #[track_caller]
    pub fn fails(&self, args: &[&str], code: i32) -> String {
        let out = self.run(args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(
            out.status.code(),
            Some(code),
            "probtrack {args:?}: expected exit {code}\nstdout:\n{}\nstderr:\n{stderr}",
            String::from_utf8_lossy(&out.stdout)
        );
        stderr
    }

    /// `ingest --builder B --build N` plus `extra`.
    #[track_caller]
    pub fn ingest(&self, builder: &str, number: i64, extra: &[&str]) -> serde_json::Value {
        let number = number.to_string();
        let mut args = vec!["ingest", "--builder", builder, "--build", &number];
        args.extend(extra);
        self.json(&args)
    }

    /// The values of one column of a table, as bytes (text and blobs alike), in key order.
    pub fn column_bytes(&self, table: &str, column: &str) -> Vec<Vec<u8>> {
        let table = store::table(table).expect("a table");
        let index = table
            .columns
            .iter()
            .position(|c| c.name == column)
            .expect("a column");
        let mut db = store::open(&self.location(), OpenMode::Existing).expect("open db");
        let mut values = Vec::new();
        db.read_table(table, &mut |row| {
            values.push(match &row[index] {
                Cell::Bytes(b) => b.clone(),
                Cell::Text(t) => t.clone().into_bytes(),
                _ => Vec::new(),
            });
            Ok(())
        })
        .expect("read table");
        values
    }

    /// Runs SQL on the test's database directly, whatever the backend (to make states that
    /// probtrack itself never writes).
    pub fn exec_sql(&self, sql: &str) {
        match &self.server {
            None => {
                rusqlite::Connection::open(self.db())
                    .and_then(|conn| conn.execute_batch(sql))
                    .expect("run SQL on SQLite");
            }
            Some(server) if server.url.starts_with("mysql://") => {
                use mysql::prelude::Queryable;
                let opts = mysql::Opts::from_url(&server.url).expect("a MySQL URL");
                mysql::Conn::new(opts)
                    .and_then(|mut conn| conn.query_drop(sql))
                    .expect("run SQL on MySQL");
            }
            Some(server) => {
                postgres::Client::connect(&server.url, postgres::NoTls)
                    .and_then(|mut client| client.batch_execute(sql))
                    .expect("run SQL on PostgreSQL");
            }
        }
    }

    /// Every row of every table, as text: equal dumps mean an unchanged database. Empty when there
    /// is no database yet.
    pub fn dump(&self) -> String {
        if !self.db_exists() {
            return String::new();
        }
        let mut db = store::open(&self.location(), OpenMode::Existing).expect("open db");
        let mut out = String::new();
        for table in TABLES {
            out += &format!("== {}\n", table.name);
            db.read_table(table, &mut |row| {
                let cells: Vec<String> = row
                    .iter()
                    .map(|cell| match cell {
                        Cell::Bytes(b) => format!("{:?}", bstr::BStr::new(b)),
                        other => format!("{other:?}"),
                    })
                    .collect();
                out += &cells.join(" | ");
                out.push('\n');
                Ok(())
            })
            .expect("read table");
        }
        out
    }
}

/// Waits for every spawned probtrack and fails the test, with its stderr, if one did not succeed.
pub fn all_succeed(children: Vec<Child>) {
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// A `problems` listing without its ids (where a server's sequences skipped some), in an order
/// that does not depend on them (the listing breaks ties by id).
pub fn without_ids(mut problems: serde_json::Value) -> Vec<String> {
    let mut list: Vec<String> = problems
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .map(|p| {
            p.as_object_mut().unwrap().remove("id");
            p.to_string()
        })
        .collect();
    list.sort();
    list
}

/// The `counts` object of a build as a tuple (passed, failed, error, skipped, xfail, xpass, flaky).
pub fn counts(build: &serde_json::Value) -> [u64; 7] {
    let c = &build["counts"];
    [
        "passed",
        "failed",
        "error",
        "skipped",
        "expected_failure",
        "unexpected_success",
        "flaky",
    ]
    .map(|k| {
        c[k].as_u64()
            .unwrap_or_else(|| panic!("no count {k} in {build}"))
    })
}

/// A git repository in a temporary directory, with commits by named authors.
pub struct Repo {
    pub dir: tempfile::TempDir,
}

impl Repo {
    pub fn new() -> Repo {
        let repo = Repo {
            dir: tempfile::tempdir().expect("temp dir"),
        };
        repo.git(&["init", "-q", "-b", "main"]);
        repo
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    #[track_caller]
    pub fn git(&self, args: &[&str]) -> String {
        let out = Command::new("git")
            .current_dir(self.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", self.path())
            .args(args)
            .output()
            .expect("run git");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Commits a change to `file` as `author` ("Name <email>") at `epoch` seconds; returns its sha.
    pub fn commit(
        &self,
        author: &str,
        file: &str,
        content: &str,
        message: &str,
        epoch: i64,
    ) -> String {
        std::fs::write(self.path().join(file), content).expect("write");
        self.git(&["add", file]);
        let (name, email) = author
            .split_once(" <")
            .map(|(n, e)| (n, e.trim_end_matches('>')))
            .expect("Name <email>");
        let date = format!("{epoch} +0000");
        let out = Command::new("git")
            .current_dir(self.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", self.path())
            .env("GIT_AUTHOR_NAME", name)
            .env("GIT_AUTHOR_EMAIL", email)
            .env("GIT_COMMITTER_NAME", name)
            .env("GIT_COMMITTER_EMAIL", email)
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date)
            .args(["commit", "-q", "-m", message])
            .output()
            .expect("git commit");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        self.git(&["rev-parse", "HEAD"])
    }
}
