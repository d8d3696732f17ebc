//! A small harness: `Test::new()` makes a temporary directory with its own database; commands run
//! the real binary there.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_probtrack");

/// A path under the project's `fixtures/`.
pub fn fixture(relative: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(relative);
    assert!(path.exists(), "missing fixture {}", path.display());
    path
}

pub struct Test {
    pub dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Test {
    pub fn new() -> Test {
        Test {
            dir: tempfile::tempdir().expect("temp dir"),
            env: Vec::new(),
        }
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    pub fn db(&self) -> PathBuf {
        self.path("probtrack.db")
    }

    #[allow(dead_code)]
    pub fn env(mut self, key: &str, value: &str) -> Test {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// A command for the real binary, run in the test's directory on its database.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.current_dir(self.dir.path())
            .env_remove("PROBTRACK_DB")
            .env_remove("PROBTRACK_CONFIG")
            .env_remove("NO_COLOR")
            .env("PROBTRACK_DB", self.db())
            .args(args)
            .stdin(Stdio::null());
        for (key, value) in &self.env {
            cmd.env(key, value);
        }
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

    /// Every row of every table, as text: equal dumps mean an unchanged database.
    pub fn dump(&self) -> String {
        let conn = rusqlite::Connection::open(self.db()).expect("open db");
        let mut tables: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        tables.retain(|t| t != "schema_version");
        let mut out = String::new();
        for table in tables {
            out += &format!("== {table}\n");
            let mut stmt = conn
                .prepare(&format!("SELECT * FROM {table} ORDER BY 1, 2"))
                .unwrap();
            let columns = stmt.column_count();
            let mut rows = stmt.query([]).unwrap();
            while let Some(row) = rows.next().unwrap() {
                let cells: Vec<String> = (0..columns)
                    .map(|i| format!("{:?}", row.get_ref(i).unwrap()))
                    .collect();
                out += &cells.join(" | ");
                out.push('\n');
            }
        }
        out
    }
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
