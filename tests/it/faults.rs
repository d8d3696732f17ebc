//! Faults on the shared engines. While many ingests run, the test (a) restarts the server, (b)
//! terminates the writing connections from the server side (`pg_terminate_backend`, `KILL`), (c)
//! cuts their TCP connections through a small proxy at random points of the transaction, and (d)
//! kills the probtrack process that holds the writers' lock. Every ingest must land whole, or fail
//! with exit 4 and a message that says it can be retried, and then land when retried; no build may
//! be half-stored or stored twice, and the Problems must equal those of a sequential run. Each
//! scenario prints builds attempted / landed / retried / lost (lost must be 0); docs/reliability.md
//! has the table.
//!
//! The servers are private: a PostgreSQL (`initdb`, `pg_ctl`, as an unprivileged user) and a
//! MariaDB (`mariadb-install-db`, `mariadbd`) started by the test on free ports in a temporary
//! directory, so restarting them disturbs no one. The tests run when `PROBTRACK_FAULTS=1` (the
//! faults stage of .ci/run, in the debug build the suite built); without the servers' programs
//! they skip, which fails under `PROBTRACK_REQUIRE_SERVERS=1`.

use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::generate::{history, Rng, Shape};
use crate::harness::{skip, without_ids, BIN};

/// Writers at once, builds each, tests per build.
const WRITERS: usize = 6;
const BUILDS: usize = 6;
const TESTS: usize = 120;
/// How long one ingest may take before the test calls it hung.
const HUNG: Duration = Duration::from_secs(180);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Postgres,
    Mariadb,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    Restart,
    Terminate,
    Cut,
    KillHolder,
}

impl Fault {
    fn name(self) -> &'static str {
        match self {
            Fault::Restart => "restart the server",
            Fault::Terminate => "terminate the connection (server side)",
            Fault::Cut => "cut the TCP connection (proxy)",
            Fault::KillHolder => "kill the writers' lock holder",
        }
    }

    /// How many faults a scenario makes at most: enough to meet every phase of an ingest, few
    /// enough that the writers get through.
    fn most(self) -> usize {
        match self {
            Fault::Restart => 3,
            Fault::Terminate => 30,
            Fault::Cut => 20,
            Fault::KillHolder => 8,
        }
    }

    fn database(self) -> &'static str {
        match self {
            Fault::Restart => "faults_restart",
            Fault::Terminate => "faults_terminate",
            Fault::Cut => "faults_cut",
            Fault::KillHolder => "faults_kill",
        }
    }
}

/// Whether the fault tests are asked for; says why not otherwise.
fn wanted() -> bool {
    let on = std::env::var("PROBTRACK_FAULTS").as_deref() == Ok("1");
    if !on {
        skip(
            None,
            "the fault tests start private servers and take minutes: PROBTRACK_FAULTS=1 runs \
             them (the faults stage of .ci/run)",
        );
    }
    on
}

/// The first of `names` found in `dirs` or on the PATH.
fn program(names: &[&str], dirs: &[PathBuf]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut all: Vec<PathBuf> = dirs.to_vec();
    all.extend(std::env::split_paths(&path));
    all.extend(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from));
    names
        .iter()
        .flat_map(|n| all.iter().map(move |d| d.join(n)))
        .find(|p| p.is_file())
}

/// PostgreSQL's server programs: `PROBTRACK_PG_BINDIR`, `pg_config --bindir`, Debian's
/// `/usr/lib/postgresql/VERSION/bin` (newest first), or the PATH.
fn postgres_bindir() -> Option<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(dir) = std::env::var_os("PROBTRACK_PG_BINDIR") {
        dirs.push(PathBuf::from(dir));
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        dirs.push(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
    }
    if let Ok(entries) = std::fs::read_dir("/usr/lib/postgresql") {
        let mut versions: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        versions.sort_by_key(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            std::cmp::Reverse(name.parse::<u32>().unwrap_or(0))
        });
        dirs.extend(versions.into_iter().map(|v| v.join("bin")));
    }
    let initdb = program(&["initdb"], &dirs)?;
    let dir = initdb.parent()?.to_owned();
    dir.join("pg_ctl").is_file().then_some(dir)
}

/// A free TCP port on the loopback interface.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().unwrap().port()
}

/// The uid and gid of `nobody`, for running PostgreSQL when the test runs as root (it refuses to).
fn unprivileged() -> Option<(u32, u32)> {
    use std::os::unix::fs::MetadataExt;
    if std::fs::metadata("/proc/self").ok()?.uid() != 0 {
        return None;
    }
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let ids = passwd.lines().find_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        if f.first() != Some(&"nobody") || f.len() < 4 {
            return None;
        }
        Some((f[2].parse().ok()?, f[3].parse().ok()?))
    });
    Some(ids.unwrap_or((65534, 65534)))
}

fn answers(port: u16) -> bool {
    TcpStream::connect_timeout(
        &format!("127.0.0.1:{port}").parse().unwrap(),
        Duration::from_secs(1),
    )
    .is_ok()
}

/// A database server of the test's own, in a temporary directory, on a free port.
struct Server {
    kind: Kind,
    dir: tempfile::TempDir,
    port: u16,
    /// PostgreSQL: the directory of its programs.
    bindir: PathBuf,
    /// MariaDB: the program, and the running server.
    mariadbd: PathBuf,
    child: Option<Child>,
    as_user: Option<(u32, u32)>,
    restarts: u32,
}

impl Server {
    /// Starts one, or says why it cannot (and the caller skips).
    fn start(kind: Kind) -> Option<Server> {
        let dir = tempfile::tempdir().expect("temp dir");
        let as_user = unprivileged();
        let mut server = Server {
            kind,
            port: free_port(),
            bindir: PathBuf::new(),
            mariadbd: PathBuf::new(),
            child: None,
            as_user,
            restarts: 0,
            dir,
        };
        let missing = |what: &str| {
            skip(
                Some("PROBTRACK_REQUIRE_SERVERS"),
                &format!("{what} is not installed (.ci/run installs it)"),
            );
        };
        match kind {
            Kind::Postgres => {
                let Some(bindir) = postgres_bindir() else {
                    missing("PostgreSQL's initdb and pg_ctl");
                    return None;
                };
                server.bindir = bindir;
                if let Some((uid, gid)) = as_user {
                    std::os::unix::fs::chown(server.dir.path(), Some(uid), Some(gid)).unwrap();
                }
                let data = server.data();
                server.run_pg(
                    "initdb",
                    &["-D", &data, "-U", "postgres", "--auth=trust", "-E", "UTF8"],
                );
                server.run_pg("pg_ctl", &server.pg_ctl_args("start"));
            }
            Kind::Mariadb => {
                let install = program(&["mariadb-install-db", "mysql_install_db"], &[]);
                let daemon = program(&["mariadbd", "mysqld"], &[]);
                let (Some(install), Some(daemon)) = (install, daemon) else {
                    missing("MariaDB's mariadb-install-db and mariadbd");
                    return None;
                };
                server.mariadbd = daemon;
                let out = Command::new(install)
                    .args([
                        "--no-defaults",
                        &format!("--datadir={}", server.data()),
                        "--auth-root-authentication-method=normal",
                        "--skip-test-db",
                        "--skip-name-resolve",
                    ])
                    .args(server.mariadb_user())
                    .output()
                    .expect("run mariadb-install-db");
                assert!(
                    out.status.success(),
                    "mariadb-install-db: {}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
                server.start_mariadb();
            }
        }
        Some(server)
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    /// The server's URL without a database.
    fn base(&self) -> String {
        match self.kind {
            Kind::Postgres => format!("postgres://postgres@127.0.0.1:{}", self.port),
            Kind::Mariadb => format!("mysql://root@127.0.0.1:{}", self.port),
        }
    }

    fn pg_ctl_args(&self, action: &str) -> Vec<String> {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
            self.port,
            self.dir.path().display()
        );
        [
            action,
            "-D",
            &self.data(),
            "-w",
            "-t",
            "120",
            "-l",
            &self.dir.path().join("log").display().to_string(),
            "-o",
            &options,
        ]
        .map(str::to_owned)
        .to_vec()
    }

    fn run_pg(&self, name: &str, args: &[impl AsRef<std::ffi::OsStr>]) {
        let mut cmd = Command::new(self.bindir.join(name));
        cmd.args(args).stdin(Stdio::null());
        if let Some((uid, gid)) = self.as_user {
            cmd.uid(uid).gid(gid);
        }
        let out = cmd.output().unwrap_or_else(|e| panic!("run {name}: {e}"));
        let log = std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default();
        assert!(
            out.status.success(),
            "{name} {:?}: {}{}\n{log}",
            args.iter().map(AsRef::as_ref).collect::<Vec<_>>(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// MariaDB runs as root only when told to.
    fn mariadb_user(&self) -> Vec<String> {
        if self.as_user.is_some() {
            vec!["--user=root".to_owned()]
        } else {
            Vec::new()
        }
    }

    fn start_mariadb(&mut self) {
        let dir = self.dir.path();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("log"))
            .unwrap();
        let child = Command::new(&self.mariadbd)
            .args([
                "--no-defaults".to_owned(),
                format!("--datadir={}", self.data()),
                format!("--port={}", self.port),
                "--bind-address=127.0.0.1".to_owned(),
                format!("--socket={}", dir.join("sock").display()),
                format!("--pid-file={}", dir.join("pid").display()),
                "--skip-name-resolve".to_owned(),
                "--innodb-flush-log-at-trx-commit=2".to_owned(),
                "--max-connections=200".to_owned(),
            ])
            .args(self.mariadb_user())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start mariadbd");
        self.child = Some(child);
        let start = Instant::now();
        while !answers(self.port) {
            assert!(
                start.elapsed() < Duration::from_secs(120),
                "mariadbd did not start: {}",
                std::fs::read_to_string(dir.join("log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops the server and starts it again: cleanly (fast shutdown, SIGTERM) and as after a
    /// crash (immediate shutdown, SIGKILL), in turn.
    fn restart(&mut self) {
        let crash = self.restarts % 2 == 1;
        self.restarts += 1;
        match self.kind {
            Kind::Postgres => {
                let mut args = self.pg_ctl_args("restart");
                args.extend(["-m", if crash { "immediate" } else { "fast" }].map(str::to_owned));
                self.run_pg("pg_ctl", &args);
            }
            Kind::Mariadb => {
                self.stop_mariadb(crash);
                self.start_mariadb();
            }
        }
    }

    fn stop_mariadb(&mut self, crash: bool) {
        if let Some(mut child) = self.child.take() {
            if crash {
                let _ = child.kill();
            } else {
                let _ = Command::new("kill")
                    .args(["-TERM", &child.id().to_string()])
                    .status();
            }
            let _ = child.wait();
        }
    }

    fn create_database(&self, name: &str) {
        match self.kind {
            Kind::Postgres => {
                let mut admin = self.postgres();
                // A scenario run again (it made no fault) starts from a fresh database.
                // Two statements: DROP DATABASE cannot run in the transaction of a batch.
                admin
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .expect("drop database");
                admin
                    .batch_execute(&format!("CREATE DATABASE {name}"))
                    .expect("create database");
            }
            Kind::Mariadb => {
                use mysql::prelude::Queryable;
                let mut admin = self.mysql();
                admin
                    .query_drop(format!("DROP DATABASE IF EXISTS {name}"))
                    .expect("drop database");
                admin
                    .query_drop(format!("CREATE DATABASE {name}"))
                    .expect("create database");
            }
        }
    }

    fn postgres(&self) -> postgres::Client {
        postgres::Client::connect(&format!("{}/postgres", self.base()), postgres::NoTls)
            .expect("connect to the private PostgreSQL")
    }

    fn mysql(&self) -> mysql::Conn {
        mysql::Conn::new(mysql::Opts::from_url(&self.base()).unwrap())
            .expect("connect to the private MariaDB")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        match self.kind {
            Kind::Postgres if !self.bindir.as_os_str().is_empty() => {
                let mut cmd = Command::new(self.bindir.join("pg_ctl"));
                cmd.args(["stop", "-D", &self.data(), "-m", "immediate", "-w"])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null());
                if let Some((uid, gid)) = self.as_user {
                    cmd.uid(uid).gid(gid);
                }
                let _ = cmd.status();
            }
            Kind::Postgres => {}
            Kind::Mariadb => self.stop_mariadb(true),
        }
    }
}

/// Builds attempted, landed, retried (by probtrack's `--retry` or by running it again) and lost,
/// and how many faults the scenario made.
#[derive(Debug, Default)]
struct Tally {
    attempted: usize,
    landed: usize,
    retried: usize,
    lost: usize,
    faults: usize,
}

/// The probtrack processes running now, by pid, and those the test killed.
#[derive(Default)]
struct Running {
    pids: Mutex<HashSet<u32>>,
    killed: Mutex<HashSet<u32>>,
}

/// One ingest, run until it lands: exit 0, or exit 4 with a message that says it can be retried
/// (then it runs again), or killed by the test (then it runs again). Anything else fails the test.
/// Returns how often it was retried.
fn ingest_until_landed(
    url: &str,
    builder: &str,
    report: &Path,
    extra: &[&str],
    running: &Running,
) -> usize {
    let number = report.file_stem().unwrap().to_str().unwrap();
    let mut retried = 0;
    for attempt in 0.. {
        assert!(attempt < 40, "{builder} #{number} never landed");
        let log = tempfile::NamedTempFile::new().unwrap();
        let mut child = Command::new(BIN)
            .env_remove("PROBTRACK_CONFIG")
            .env("PROBTRACK_DB", url)
            .args(["ingest", "--builder", builder, "--build", number])
            .args(extra)
            .arg(report)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log.reopen().unwrap())
            .spawn()
            .expect("run probtrack");
        let pid = child.id();
        running.pids.lock().unwrap().insert(pid);
        let start = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if start.elapsed() > HUNG {
                let _ = child.kill();
                panic!("{builder} #{number}: the ingest hung for {HUNG:?}");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        running.pids.lock().unwrap().remove(&pid);
        let stderr = std::fs::read_to_string(log.path()).unwrap_or_default();
        // Retries made by `--retry`, each announced.
        retried += stderr.matches("; retry ").count();
        let killed = running.killed.lock().unwrap().contains(&pid);
        match status.code() {
            Some(0) => return retried,
            Some(4) => {
                assert!(
                    stderr.contains("this can be retried"),
                    "{builder} #{number}: exit 4 without saying it can be retried:\n{stderr}"
                );
                assert!(!stderr.contains("panicked"), "{stderr}");
            }
            None if killed && status.signal() == Some(9) => {}
            other => panic!("{builder} #{number}: exit {other:?} ({status}):\n{stderr}"),
        }
        retried += 1;
        std::thread::sleep(Duration::from_millis(100));
    }
    unreachable!()
}

/// A TCP proxy to `port` that cuts about half the connections after a random number of bytes
/// (either way), so that connections break at random points of a transaction; at most `most`.
struct Proxy {
    port: u16,
    cuts: Arc<AtomicU64>,
    done: Arc<AtomicBool>,
}

impl Proxy {
    fn start(upstream: u16, seed: u64, most: u64) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let cuts = Arc::new(AtomicU64::new(0));
        let done = Arc::new(AtomicBool::new(false));
        let (c, d) = (cuts.clone(), done.clone());
        std::thread::spawn(move || {
            let mut rng = Rng::new(seed);
            while !d.load(Ordering::Relaxed) {
                let client = match listener.accept() {
                    Ok((client, _)) => client,
                    Err(_) => {
                        std::thread::sleep(Duration::from_millis(5));
                        continue;
                    }
                };
                client.set_nonblocking(false).unwrap();
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    continue;
                };
                // Half the connections go through whole; the others are cut after up to 60 kB,
                // about what an ingest of one build sends and receives.
                let budget = (rng.below(2) == 0 && c.load(Ordering::Relaxed) < most)
                    .then(|| rng.below(60_000));
                let moved = Arc::new(AtomicU64::new(0));
                let ends = Arc::new([client.try_clone().unwrap(), server.try_clone().unwrap()]);
                let directions = [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ];
                for (from, to) in directions {
                    let (moved, cuts, ends) = (moved.clone(), c.clone(), ends.clone());
                    std::thread::spawn(move || pump(from, to, budget, &moved, &ends, &cuts));
                }
            }
        });
        Proxy { port, cuts, done }
    }
}

/// Copies `from` to `to` until either closes or the connection's bytes reach `budget`; then cuts
/// both ends.
fn pump(
    mut from: TcpStream,
    mut to: TcpStream,
    budget: Option<u64>,
    moved: &AtomicU64,
    ends: &[TcpStream; 2],
    cuts: &AtomicU64,
) {
    let mut buf = vec![0; 16 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let before = moved.fetch_add(n as u64, Ordering::SeqCst);
        if let Some(budget) = budget {
            if before + n as u64 >= budget {
                let keep = budget.saturating_sub(before) as usize;
                let _ = to.write_all(&buf[..keep.min(n)]);
                if before < budget {
                    cuts.fetch_add(1, Ordering::Relaxed);
                }
                break;
            }
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    for end in ends {
        let _ = end.shutdown(Shutdown::Both);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Relaxed);
    }
}

/// The pid among `pids` that has a TCP socket with local port `port` (the client side of a
/// connection the server reports).
fn pid_of_port(port: u16, pids: &HashSet<u32>) -> Option<u32> {
    let mut inodes = HashSet::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        for line in std::fs::read_to_string(table)
            .unwrap_or_default()
            .lines()
            .skip(1)
        {
            let f: Vec<&str> = line.split_whitespace().collect();
            let local = f.get(1).and_then(|a| a.rsplit(':').next());
            if local.and_then(|p| u16::from_str_radix(p, 16).ok()) == Some(port) {
                inodes.insert(format!("socket:[{}]", f.get(9).unwrap_or(&"")));
            }
        }
    }
    pids.iter().copied().find(|pid| {
        std::fs::read_dir(format!("/proc/{pid}/fd"))
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .filter_map(|fd| std::fs::read_link(fd.path()).ok())
            .any(|link| inodes.contains(&*link.to_string_lossy()))
    })
}

/// The client port of the connection that holds the writers' lock of `db`, if one does.
fn lock_holder_port(server: &Server, db: &str) -> Option<u16> {
    match server.kind {
        Kind::Postgres => {
            let mut admin = server.postgres();
            let row = admin
                .query_opt(
                    "SELECT a.client_port FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
                     WHERE l.locktype = 'advisory' AND l.granted AND a.datname = $1 LIMIT 1",
                    &[&db],
                )
                .ok()??;
            row.get::<_, Option<i32>>(0)
                .and_then(|p| u16::try_from(p).ok())
        }
        Kind::Mariadb => {
            use mysql::prelude::Queryable;
            let mut admin = server.mysql();
            let id: Option<u64> = admin
                .exec_first::<Option<u64>, _, _>(
                    "SELECT IS_USED_LOCK(CONCAT('probtrack_write:', ?))",
                    (db,),
                )
                .ok()??;
            let host: String = admin
                .exec_first(
                    "SELECT HOST FROM information_schema.PROCESSLIST WHERE ID = ?",
                    (id?,),
                )
                .ok()??;
            // `HOST:PORT` over TCP; a connection over the Unix socket (`localhost`) would leave
            // the holder unfound, and the scenario unexercised.
            let port = host.rsplit_once(':').and_then(|(_, p)| p.parse().ok());
            assert!(
                port.is_some(),
                "the lock holder is not on TCP: HOST {host:?}"
            );
            port
        }
    }
}

/// Terminates one of the connections to `db` from the server side; whether there was one.
fn terminate_one(server: &Server, db: &str) -> bool {
    match server.kind {
        Kind::Postgres => server
            .postgres()
            .query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 \
                 AND pid <> pg_backend_pid() ORDER BY random() LIMIT 1",
                &[&db],
            )
            .is_ok_and(|rows| !rows.is_empty()),
        Kind::Mariadb => {
            use mysql::prelude::Queryable;
            let mut admin = server.mysql();
            let id: Option<u64> = admin
                .exec_first(
                    "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ? \
                     AND ID <> CONNECTION_ID() ORDER BY RAND() LIMIT 1",
                    (db,),
                )
                .ok()
                .flatten();
            id.is_some_and(|id| admin.query_drop(format!("KILL {id}")).is_ok())
        }
    }
}

/// The history every scenario ingests, and the answers of ingesting it one build at a time.
struct Expected {
    dir: tempfile::TempDir,
    builds: Vec<(String, PathBuf)>,
    /// `builder #number` → the build's counts.
    counts: HashMap<String, serde_json::Value>,
    problems: Vec<String>,
    rows: Vec<(String, u64)>,
}

fn builds_json(db: &str) -> serde_json::Value {
    json(db, &["builds", "--limit", "100000"])
}

fn json(db: &str, args: &[&str]) -> serde_json::Value {
    let out = Command::new(BIN)
        .env_remove("PROBTRACK_CONFIG")
        .env("PROBTRACK_DB", db)
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn rows(db: &str) -> Vec<(String, u64)> {
    let location = probtrack::store::Location::parse(db).unwrap();
    let mut store =
        probtrack::store::open(&location, probtrack::store::OpenMode::Existing).unwrap();
    [
        "tests", "messages", "changes", "users", "builders", "lanes", "builds", "results",
    ]
    .iter()
    .map(|name| {
        let table = probtrack::store::table(name).unwrap();
        (name.to_string(), store.count_rows(table).unwrap())
    })
    .collect()
}

fn by_build(builds: &serde_json::Value) -> HashMap<String, serde_json::Value> {
    let mut out = HashMap::new();
    for b in builds.as_array().unwrap() {
        let key = format!("{} #{}", b["builder"].as_str().unwrap(), b["build"]);
        assert!(
            out.insert(key.clone(), b["counts"].clone()).is_none(),
            "{key} stored twice"
        );
    }
    out
}

fn expected() -> Expected {
    let dir = tempfile::tempdir().unwrap();
    let history_dir = dir.path().join("history");
    history(
        &history_dir,
        &Shape {
            builders: WRITERS,
            builds: BUILDS,
            tests: TESTS,
            flaky: 2,
            broken: 3,
            seed: 26,
        },
    );
    let mut builds = Vec::new();
    for w in 0..WRITERS {
        let builder = format!("builder-{w}");
        let mut files: Vec<PathBuf> = std::fs::read_dir(history_dir.join(&builder))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "xml"))
            .collect();
        files.sort_by_key(|f| {
            f.file_stem()
                .unwrap()
                .to_str()
                .unwrap()
                .parse::<i64>()
                .unwrap()
        });
        builds.extend(files.into_iter().map(|f| (builder.clone(), f)));
    }
    // One build at a time, in the order of their numbers, into a SQLite file.
    let sequential = dir.path().join("sequential.db").display().to_string();
    let mut ordered = builds.clone();
    ordered.sort_by_key(|(b, f)| (f.file_stem().unwrap().to_owned(), b.clone()));
    for (b, f) in &ordered {
        let n = f.file_stem().unwrap().to_str().unwrap();
        json(
            &sequential,
            &["ingest", "--builder", b, "--build", n, f.to_str().unwrap()],
        );
    }
    Expected {
        counts: by_build(&builds_json(&sequential)),
        problems: without_ids(json(&sequential, &["problems", "--all", "--intermittent"])),
        rows: rows(&sequential),
        builds,
        dir,
    }
}

/// Runs one scenario on a fresh database of `server`: the writers ingest while the fault is made,
/// then the database is checked against the sequential run.
fn scenario(server: &Mutex<Server>, fault: Fault, expected: &Expected, seed: u64) -> Tally {
    let db = fault.database();
    let (base, port, kind) = {
        let s = server.lock().unwrap();
        s.create_database(db);
        (s.base(), s.port, s.kind)
    };
    let proxy = (fault == Fault::Cut).then(|| Proxy::start(port, seed, fault.most() as u64));
    let mut url = match &proxy {
        Some(proxy) => format!(
            "{}/{db}",
            base.replace(&port.to_string(), &proxy.port.to_string())
        ),
        None => format!("{base}/{db}"),
    };
    if kind == Kind::Mariadb {
        // The MySQL client moves a connection to 127.0.0.1 onto the server's Unix socket unless
        // told not to; the writers stay on TCP, as from another machine (through the proxy, and
        // with a client port that finds the lock holder).
        url += "?prefer_socket=false";
    }
    // Riding out a restart is what `--retry` is for; the other faults are retried by running the
    // ingest again, as a CI step would on exit 4.
    let extra: &[&str] = if fault == Fault::Restart {
        &["--retry", "10"]
    } else {
        &[]
    };
    let running = Running::default();
    let done = AtomicBool::new(false);
    let mut tally = Tally {
        attempted: expected.builds.len(),
        ..Tally::default()
    };
    std::thread::scope(|scope| {
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let (url, running) = (&url, &running);
                let builder = format!("builder-{w}");
                let builds: Vec<&PathBuf> = (expected.builds.iter())
                    .filter(|(b, _)| *b == builder)
                    .map(|(_, f)| f)
                    .collect();
                scope.spawn(move || {
                    (builds.iter())
                        .map(|f| ingest_until_landed(url, &builder, f, extra, running))
                        .sum::<usize>()
                })
            })
            .collect();
        let faults = scope.spawn(|| {
            let mut rng = Rng::new(seed);
            let mut made = 0;
            // The first fault early, so that even a quick run meets one.
            std::thread::sleep(Duration::from_millis(300));
            while !done.load(Ordering::Relaxed) {
                if made >= fault.most() && fault != Fault::Cut {
                    std::thread::sleep(Duration::from_millis(50));
                    continue;
                }
                match fault {
                    Fault::Restart => {
                        server.lock().unwrap().restart();
                        made += 1;
                        std::thread::sleep(Duration::from_millis(2000 + rng.below(2000)));
                    }
                    Fault::Terminate => {
                        made += usize::from(terminate_one(&server.lock().unwrap(), db));
                        std::thread::sleep(Duration::from_millis(100 + rng.below(400)));
                    }
                    Fault::Cut => {
                        made = proxy
                            .as_ref()
                            .map_or(0, |p| p.cuts.load(Ordering::Relaxed) as usize);
                        std::thread::sleep(Duration::from_millis(50));
                    }
                    Fault::KillHolder => {
                        let holder = lock_holder_port(&server.lock().unwrap(), db);
                        let pids = running.pids.lock().unwrap().clone();
                        if let Some(pid) = holder.and_then(|p| pid_of_port(p, &pids)) {
                            running.killed.lock().unwrap().insert(pid);
                            // A process this test started, by its id; a fault only if it was
                            // still there to kill.
                            let killed = Command::new("kill")
                                .args(["-KILL", &pid.to_string()])
                                .stderr(Stdio::null())
                                .status();
                            made += usize::from(killed.is_ok_and(|s| s.success()));
                            std::thread::sleep(Duration::from_millis(300 + rng.below(700)));
                        } else {
                            std::thread::sleep(Duration::from_millis(20));
                        }
                    }
                }
            }
            made
        });
        let retried: Vec<_> = writers.into_iter().map(|w| w.join()).collect();
        // The faults stop also when a writer failed, so that the failure is reported.
        done.store(true, Ordering::Relaxed);
        tally.faults = faults.join().unwrap();
        tally.retried = retried.into_iter().map(|r| r.unwrap()).sum();
    });
    drop(proxy);
    let direct = format!("{base}/{db}");
    let landed = by_build(&builds_json(&direct));
    for (key, counts) in &expected.counts {
        match landed.get(key) {
            Some(got) => {
                assert_eq!(
                    got,
                    counts,
                    "{kind:?}, {}: {key} is half-stored",
                    fault.name()
                );
                tally.landed += 1;
            }
            None => tally.lost += 1,
        }
    }
    let line = format!(
        "faults: {kind:?}, {}: {} faults; builds attempted {}, landed {}, retried {}, lost {}",
        fault.name(),
        tally.faults,
        tally.attempted,
        tally.landed,
        tally.retried,
        tally.lost
    );
    let _ = writeln!(std::io::stderr().lock(), "{line}");
    assert_eq!(tally.lost, 0, "{line}");
    assert_eq!(
        landed.len(),
        expected.counts.len(),
        "{line}: a build no one ingested"
    );
    assert_eq!(
        rows(&direct),
        expected.rows,
        "{line}: rows stored twice or missing"
    );
    assert_eq!(
        without_ids(json(&direct, &["problems", "--all", "--intermittent"])),
        expected.problems,
        "{line}: the Problems differ from a sequential run's"
    );
    tally
}

fn every_fault(kind: Kind) {
    if !wanted() {
        return;
    }
    let Some(server) = Server::start(kind) else {
        return;
    };
    let server = Mutex::new(server);
    let expected = expected();
    let _keep = &expected.dir;
    for (i, fault) in [
        Fault::Restart,
        Fault::Terminate,
        Fault::Cut,
        Fault::KillHolder,
    ]
    .into_iter()
    .enumerate()
    {
        // Whether a fault meets a writer is a matter of timing (a quick release build can finish
        // before the lock holder is seen): a run that made none is run again, twice.
        let mut runs = 1;
        let mut tally = scenario(&server, fault, &expected, 26 + i as u64);
        while (tally.faults == 0 || tally.retried == 0) && runs < 3 {
            tally = scenario(&server, fault, &expected, 126 + 100 * runs + i as u64);
            runs += 1;
        }
        let what = format!("{kind:?}, {} ({runs} runs)", fault.name());
        assert!(tally.faults > 0, "{what}: no fault was made");
        assert!(tally.retried > 0, "{what}: no ingest met a fault");
    }
}

#[test]
fn postgres_faults_lose_no_build_and_store_none_twice() {
    every_fault(Kind::Postgres);
}

#[test]
fn mariadb_faults_lose_no_build_and_store_none_twice() {
    every_fault(Kind::Mariadb);
}
