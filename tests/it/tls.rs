//! Verified TLS on the server engines, against private PostgreSQL and MariaDB servers that each test
//! starts on a free port with a certificate authority it makes (openssl), so the shared servers are
//! untouched: the right authority and host name connect; a wrong authority, a wrong host name, or a
//! server without TLS when verification is asked for are refused with exit 4, a message that says
//! why and what to do, and nothing but the request for TLS sent (seen through a recording proxy).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};

use crate::harness::{backend, fixture, skip, Backend, BIN};

/// The password of the private servers' test user.
pub const PASSWORD: &str = "tls-test-pw-5e1f";

/// A program on the PATH, or in Debian's versioned PostgreSQL directory.
fn program(name: &str) -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    });
    on_path.or_else(|| {
        let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| Some(e.ok()?.path().join("bin").join(name)))
            .filter(|p| p.is_file())
            .collect();
        found.sort();
        found.pop()
    })
}

/// The programs a test needs, or a skip (a failure in CI) naming the missing ones.
pub fn programs(names: &[&str]) -> Option<Vec<PathBuf>> {
    let found: Vec<Option<PathBuf>> = names.iter().map(|n| program(n)).collect();
    let missing: Vec<&str> = names
        .iter()
        .zip(&found)
        .filter(|(_, p)| p.is_none())
        .map(|(n, _)| *n)
        .collect();
    if !missing.is_empty() {
        skip(
            Some("PROBTRACK_REQUIRE_SERVERS"),
            &format!(
                "{} not installed (.ci/run installs them)",
                missing.join(", ")
            ),
        );
        return None;
    }
    Some(found.into_iter().flatten().collect())
}

/// Private servers are started once, in the SQLite pass of the suite.
pub fn in_the_sqlite_pass(what: &str) -> bool {
    let sqlite = backend() == Backend::Sqlite;
    if !sqlite {
        skip(
            None,
            &format!("{what} runs in the SQLite pass of the suite"),
        );
    }
    sqlite
}

#[track_caller]
fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn is_root() -> bool {
    let out = run(Command::new("id").arg("-u"));
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

/// A certificate authority, a server certificate it signed for `localhost` only, a client
/// certificate it signed for the user `probtrack_cert`, and an unrelated authority.
pub struct Certs {
    pub dir: PathBuf,
}

impl Certs {
    pub fn make(dir: &Path) -> Certs {
        std::fs::create_dir_all(dir).unwrap();
        let openssl = |args: &[&str]| {
            run(Command::new("openssl").current_dir(dir).args(args));
        };
        for ca in ["ca", "other-ca"] {
            openssl(&[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-keyout",
                &format!("{ca}.key"),
                "-out",
                &format!("{ca}.pem"),
                "-days",
                "2",
                "-subj",
                &format!("/CN=probtrack test {ca}"),
            ]);
        }
        for (name, cn, ext) in [
            (
                "server",
                "localhost",
                "subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n",
            ),
            ("client", "probtrack_cert", "extendedKeyUsage=clientAuth\n"),
        ] {
            std::fs::write(dir.join(format!("{name}.ext")), ext).unwrap();
            openssl(&[
                "req",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.csr"),
                "-subj",
                &format!("/CN={cn}"),
            ]);
            openssl(&[
                "x509",
                "-req",
                "-in",
                &format!("{name}.csr"),
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                &format!("{name}.ext"),
                "-out",
                &format!("{name}.pem"),
            ]);
            set_mode(&dir.join(format!("{name}.key")), 0o600);
        }
        Certs {
            dir: dir.to_owned(),
        }
    }

    pub fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }
}

pub fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A TCP proxy to `port` on 127.0.0.1 that records every byte clients send through it.
pub struct Recorder {
    pub port: u16,
    sent: Arc<Mutex<Vec<u8>>>,
    /// Client connections whose bytes are still being read.
    open: Arc<std::sync::atomic::AtomicUsize>,
}

impl Recorder {
    pub fn to(port: u16) -> Recorder {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let sent = Arc::new(Mutex::new(Vec::new()));
        let open = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let recorder = Recorder {
            port: listener.local_addr().unwrap().port(),
            sent: sent.clone(),
            open: open.clone(),
        };
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(mut client) = client else { return };
                let Ok(mut server) = TcpStream::connect(("127.0.0.1", port)) else {
                    continue;
                };
                let (mut client_r, mut server_w) =
                    (client.try_clone().unwrap(), server.try_clone().unwrap());
                let sent = sent.clone();
                let open = open.clone();
                open.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                std::thread::spawn(move || {
                    let mut buf = [0u8; 4096];
                    while let Ok(n) = client_r.read(&mut buf) {
                        if n == 0 {
                            break;
                        }
                        sent.lock().unwrap().extend_from_slice(&buf[..n]);
                        if server_w.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    let _ = server_w.shutdown(std::net::Shutdown::Write);
                    open.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                });
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut server, &mut client);
                    let _ = client.shutdown(std::net::Shutdown::Write);
                });
            }
        });
        recorder
    }

    /// What clients sent so far, and forget it. The clients have exited: wait (at most 5 s) until
    /// every connection's bytes are read, and give a connection still in the listener's queue a
    /// moment to be taken, so that nothing a client sent arrives after this answers.
    pub fn take(&self) -> Vec<u8> {
        let start = std::time::Instant::now();
        while start.elapsed() < std::time::Duration::from_secs(5) {
            let reading = self.open.load(std::sync::atomic::Ordering::SeqCst) > 0;
            let quiet = self.sent.lock().unwrap().is_empty();
            if !reading && (!quiet || start.elapsed() > std::time::Duration::from_millis(300)) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        std::mem::take(&mut *self.sent.lock().unwrap())
    }
}

/// probtrack with `PROBTRACK_DB=url` and `args`, in `dir`, which is also its home (so that no
/// password file of the machine's is in the way).
pub fn probtrack_command(dir: &Path, url: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir)
        .env("PROBTRACK_DB", url)
        .env("HOME", dir)
        .env_remove("PGPASSFILE")
        .env_remove("PROBTRACK_MYSQL_DEFAULTS_FILE")
        .env_remove("PROBTRACK_CONFIG")
        .args(args)
        .stdin(Stdio::null());
    cmd
}

pub fn probtrack(dir: &Path, url: &str, args: &[&str]) -> Output {
    probtrack_command(dir, url, args)
        .output()
        .expect("run probtrack")
}

fn ingest(dir: &Path, url: &str, build: u32) -> Output {
    let report = fixture("junit/pytest-xunit2/report.xml");
    probtrack(
        dir,
        url,
        &[
            "ingest",
            "--builder",
            "tls",
            "--build",
            &build.to_string(),
            report.to_str().unwrap(),
        ],
    )
}

#[track_caller]
fn connects(dir: &Path, url: &str, build: u32) {
    let out = ingest(dir, url, build);
    assert!(
        out.status.success(),
        "{url}: expected to connect and ingest:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Asserts that `url` is refused with exit `code`, and returns the error.
#[track_caller]
fn refused(dir: &Path, url: &str, code: i32) -> String {
    let out = ingest(dir, url, 99);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(code),
        "{url}: expected exit {code}:\n{stderr}"
    );
    assert!(out.stdout.is_empty(), "{url}: no output on refusal");
    assert!(
        !stderr.contains(PASSWORD),
        "{url}: the password shown:\n{stderr}"
    );
    stderr
}

#[track_caller]
fn says(stderr: &str, words: &[&str]) {
    for w in words {
        assert!(stderr.contains(w), "expected {w:?} in:\n{stderr}");
    }
}

/// A private PostgreSQL server in `dir`, run as the `postgres` user when the tests run as root.
pub struct PrivatePostgres {
    pub dir: PathBuf,
    pub port: u16,
    pg_ctl: PathBuf,
    psql: PathBuf,
    as_postgres: bool,
}

impl PrivatePostgres {
    /// Makes the cluster (password login over TCP, certificate login for `probtrack_cert` over
    /// TLS) and starts it without TLS.
    pub fn start(dir: &Path) -> Option<PrivatePostgres> {
        let [initdb, pg_ctl, psql] = programs(&["initdb", "pg_ctl", "psql"])?.try_into().unwrap();
        std::fs::create_dir_all(dir).unwrap();
        let as_postgres = is_root();
        if as_postgres {
            run(Command::new("chown").args(["-R", "postgres:"]).arg(dir));
            // The server reads its directory through the test's temporary directory.
            if let Some(parent) = dir.parent() {
                set_mode(parent, 0o755);
            }
        }
        let pg = PrivatePostgres {
            dir: dir.to_owned(),
            port: free_port(),
            pg_ctl,
            psql,
            as_postgres,
        };
        std::fs::write(dir.join("pw"), PASSWORD).unwrap();
        pg.as_owner(&initdb, |c| {
            c.arg("-D")
                .arg(dir.join("data"))
                .args(["-U", "postgres", "--auth-local=trust"])
                .args(["--auth-host=scram-sha-256", "--pwfile"])
                .arg(dir.join("pw"))
                .args(["-E", "UTF8", "--no-sync"]);
        });
        std::fs::write(
            dir.join("data/pg_hba.conf"),
            "local all all trust\n\
             hostssl all probtrack_cert 127.0.0.1/32 cert\n\
             hostssl all probtrack_cert ::1/128 cert\n\
             host all all 127.0.0.1/32 scram-sha-256\n\
             host all all ::1/128 scram-sha-256\n",
        )
        .unwrap();
        pg.ctl("start", &[]);
        for sql in [
            "CREATE ROLE probtrack_cert LOGIN",
            "CREATE DATABASE tls",
            "CREATE DATABASE tls_cert OWNER probtrack_cert",
        ] {
            pg.psql(sql);
        }
        Some(pg)
    }

    fn as_owner(&self, program: &Path, args: impl FnOnce(&mut Command)) -> Output {
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        };
        args(&mut cmd);
        run(cmd.current_dir(&self.dir))
    }

    fn ctl(&self, action: &str, settings: &[String]) {
        let mut options = format!(
            "-p {} -k {} -c listen_addresses=localhost -c log_connections=on -c fsync=off",
            self.port,
            self.dir.display()
        );
        for s in settings {
            options += &format!(" -c {s}");
        }
        let pg_ctl = self.pg_ctl.clone();
        self.as_owner(&pg_ctl, |c| {
            c.arg(action)
                .arg("-D")
                .arg(self.dir.join("data"))
                .args(["-w", "-t", "60", "-l"])
                .arg(self.dir.join("log"))
                .arg("-o")
                .arg(&options);
        });
    }

    /// Restarts the server with TLS: the certificate and key in `certs`, clients' certificates
    /// checked against its authority.
    pub fn restart_with_tls(&self, certs: &Certs) {
        for name in ["server.pem", "server.key", "ca.pem"] {
            std::fs::copy(certs.dir.join(name), self.dir.join(name)).unwrap();
        }
        set_mode(&self.dir.join("server.key"), 0o600);
        if self.as_postgres {
            run(Command::new("chown")
                .args(["-R", "postgres:"])
                .arg(&self.dir));
        }
        let at = |n: &str| self.dir.join(n).display().to_string();
        self.ctl(
            "restart",
            &[
                "ssl=on".to_owned(),
                format!("ssl_cert_file={}", at("server.pem")),
                format!("ssl_key_file={}", at("server.key")),
                format!("ssl_ca_file={}", at("ca.pem")),
            ],
        );
    }

    pub fn psql(&self, sql: &str) -> String {
        let psql = self.psql.clone();
        let out = self.as_owner(&psql, |c| {
            c.args(["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h"])
                .arg(&self.dir)
                .args([
                    "-p",
                    &self.port.to_string(),
                    "-U",
                    "postgres",
                    "-d",
                    "postgres",
                ])
                .args(["-c", sql]);
        });
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
    }

    /// `pg_dump` of the database `db`: every table, row and setting in it.
    pub fn dump(&self, db: &str) -> String {
        let pg_dump = program("pg_dump").expect("pg_dump beside psql");
        let out = self.as_owner(&pg_dump, |c| {
            c.arg("-h")
                .arg(&self.dir)
                .args(["-p", &self.port.to_string(), "-U", "postgres", db]);
        });
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&self.pg_ctl);
            c
        } else {
            Command::new(&self.pg_ctl)
        };
        let _ = cmd
            .arg("stop")
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "immediate", "-w"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// A private MariaDB (or MySQL) server in `dir`, stopped when dropped.
pub struct PrivateMariadb {
    pub dir: PathBuf,
    pub port: u16,
    server: PathBuf,
    client: PathBuf,
    child: Option<std::process::Child>,
}

impl PrivateMariadb {
    /// Makes the data directory (users `probtrack`, with a password, and `probtrack_cert`, who
    /// must show a certificate) and starts the server without TLS.
    pub fn start(dir: &Path) -> Option<PrivateMariadb> {
        let [install, server, client] = programs(&["mariadb-install-db", "mariadbd", "mariadb"])?
            .try_into()
            .unwrap();
        std::fs::create_dir_all(dir).unwrap();
        let mut install_cmd = Command::new(install);
        install_cmd
            .arg("--no-defaults")
            .arg(format!("--datadir={}", dir.join("data").display()))
            .args(["--auth-root-authentication-method=normal", "--skip-test-db"]);
        if is_root() {
            install_cmd.arg("--user=root");
        }
        run(&mut install_cmd);
        let mut db = PrivateMariadb {
            dir: dir.to_owned(),
            port: free_port(),
            server,
            client,
            child: None,
        };
        db.launch(&["--skip-ssl".to_owned()]);
        db.sql(&format!(
            "DELETE FROM mysql.global_priv WHERE User = ''; FLUSH PRIVILEGES; \
             CREATE USER 'probtrack'@'%' IDENTIFIED BY '{PASSWORD}'; \
             GRANT ALL PRIVILEGES ON *.* TO 'probtrack'@'%'; \
             CREATE USER 'probtrack_cert'@'%' REQUIRE SUBJECT '/CN=probtrack_cert'; \
             CREATE DATABASE tls; CREATE DATABASE tls_cert; \
             GRANT ALL PRIVILEGES ON tls_cert.* TO 'probtrack_cert'@'%';"
        ));
        Some(db)
    }

    fn socket(&self) -> PathBuf {
        self.dir.join("sock")
    }

    fn launch(&mut self, settings: &[String]) {
        let mut cmd = Command::new(&self.server);
        cmd.arg("--no-defaults")
            .arg(format!("--datadir={}", self.dir.join("data").display()))
            .arg(format!("--socket={}", self.socket().display()))
            .arg(format!("--port={}", self.port))
            .arg(format!("--pid-file={}", self.dir.join("pid").display()))
            .arg(format!(
                "--log-error={}",
                self.dir.join("err.log").display()
            ))
            .args([
                "--bind-address=127.0.0.1",
                "--skip-log-bin",
                "--innodb-buffer-pool-size=16M",
                "--innodb-flush-log-at-trx-commit=2",
            ])
            .args(settings)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if is_root() {
            cmd.arg("--user=root");
        }
        self.child = Some(cmd.spawn().expect("start mariadbd"));
        for _ in 0..600 {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() && self.socket().exists() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!(
            "mariadbd did not start:\n{}",
            std::fs::read_to_string(self.dir.join("err.log")).unwrap_or_default()
        );
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // A clean shutdown, so that what was committed stays.
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
        let _ = std::fs::remove_file(self.socket());
    }

    /// Restarts the server with TLS: the certificate and key in `certs`, clients' certificates
    /// checked against its authority.
    pub fn restart_with_tls(&mut self, certs: &Certs) {
        self.stop();
        self.launch(&[
            format!("--ssl-ca={}", certs.path("ca.pem")),
            format!("--ssl-cert={}", certs.path("server.pem")),
            format!("--ssl-key={}", certs.path("server.key")),
        ]);
    }

    pub fn sql(&self, sql: &str) -> String {
        let out = run(Command::new(&self.client)
            .arg("--no-defaults")
            .arg(format!("--socket={}", self.socket().display()))
            .args(["-uroot", "-N", "-B", "-e", sql]));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("err.log")).unwrap_or_default()
    }

    /// `mariadb-dump` of the database `db`.
    pub fn dump(&self, db: &str) -> String {
        let dump = program("mariadb-dump").expect("mariadb-dump beside mariadb");
        let out = run(Command::new(dump)
            .arg("--no-defaults")
            .arg(format!("--socket={}", self.socket().display()))
            .args(["-uroot", db]));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The TLS handshakes the server accepted so far.
    fn tls_accepts(&self) -> u64 {
        let row = self.sql("SHOW GLOBAL STATUS LIKE 'Ssl_accepts'");
        row.split_whitespace().last().unwrap().parse().unwrap()
    }
}

impl Drop for PrivateMariadb {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A private server of either engine.
pub enum Server {
    Postgres(PrivatePostgres),
    Mariadb(PrivateMariadb),
}

impl Server {
    pub fn port(&self) -> u16 {
        match self {
            Server::Postgres(pg) => pg.port,
            Server::Mariadb(my) => my.port,
        }
    }

    pub fn dump(&self, db: &str) -> String {
        match self {
            Server::Postgres(pg) => pg.dump(db),
            Server::Mariadb(my) => my.dump(db),
        }
    }

    pub fn log(&self) -> String {
        match self {
            Server::Postgres(pg) => pg.log(),
            Server::Mariadb(my) => my.log(),
        }
    }

    fn restart_with_tls(&mut self, certs: &Certs) {
        match self {
            Server::Postgres(pg) => pg.restart_with_tls(certs),
            Server::Mariadb(my) => my.restart_with_tls(certs),
        }
    }

    /// Whether the server took a TLS connection (PostgreSQL logs it; MariaDB counts them).
    fn saw_tls(&self) -> bool {
        match self {
            Server::Postgres(pg) => pg.log().contains("SSL enabled"),
            Server::Mariadb(my) => my.tls_accepts() > 0,
        }
    }
}

/// What differs between the engines: the URL's names, what crosses the wire, and where the
/// drivers' ways part.
pub struct Engine {
    pub what: &'static str,
    pub start: fn(&Path) -> Option<Server>,
    pub scheme: &'static str,
    /// The user who logs in with `PASSWORD`.
    pub user: &'static str,
    /// The TLS mode's name and the modes: disable, prefer, require, verify-ca, verify-full.
    mode: &'static str,
    modes: [&'static str; 5],
    /// The names of the trusted authority, the client's certificate and its key.
    root_cert: &'static str,
    cert: &'static str,
    key: &'static str,
    /// The start of the hint that says how to turn TLS on at the server.
    server_setup: &'static str,
    /// All that may cross the wire to a server without TLS when TLS is asked for, once per
    /// attempt: PostgreSQL's request for TLS (length 8, code 80877103); MySQL's goodbye,
    /// COM_QUIT (the server speaks first, and says it has no TLS).
    no_tls_sent: &'static [u8],
    /// verify-ca as written in a URL (MySQL's mode names are case-insensitive).
    verify_ca_written: &'static str,
    /// Whether `require` checks the chain when it has an authority to trust (libpq's does).
    require_checks_ca: bool,
    /// What the refusal of a certificate login without a certificate says.
    no_cert_says: &'static [&'static str],
    /// Whether a client key others may read is refused (libpq refuses it).
    checks_key_mode: bool,
    /// Whether a connection without TLS to 127.0.0.1 moves to the server's socket unless the URL
    /// says `prefer_socket=false` (MySQL's driver).
    prefers_socket: bool,
}

impl Engine {
    /// The query that asks for verified TLS with the authority in `ca`.
    pub fn verify_full(&self, ca: &str) -> String {
        format!("{}={}&{}={ca}", self.mode, self.modes[4], self.root_cert)
    }
}

pub const POSTGRES: Engine = Engine {
    what: "the private PostgreSQL server",
    start: |dir| PrivatePostgres::start(dir).map(Server::Postgres),
    scheme: "postgres",
    user: "postgres",
    mode: "sslmode",
    modes: ["disable", "prefer", "require", "verify-ca", "verify-full"],
    root_cert: "sslrootcert",
    cert: "sslcert",
    key: "sslkey",
    server_setup: "hint: turn on `ssl` in its postgresql.conf",
    no_tls_sent: &[0, 0, 0, 8, 4, 210, 22, 47],
    verify_ca_written: "verify-ca",
    require_checks_ca: true,
    no_cert_says: &["probtrack_cert"],
    checks_key_mode: true,
    prefers_socket: false,
};

pub const MYSQL: Engine = Engine {
    what: "the private MariaDB server",
    start: |dir| PrivateMariadb::start(dir).map(Server::Mariadb),
    scheme: "mysql",
    user: "probtrack",
    mode: "ssl-mode",
    modes: [
        "DISABLED",
        "PREFERRED",
        "REQUIRED",
        "VERIFY_CA",
        "VERIFY_IDENTITY",
    ],
    root_cert: "ssl-ca",
    cert: "ssl-cert",
    key: "ssl-key",
    server_setup: "hint: give the server `ssl-cert` and `ssl-key`",
    no_tls_sent: &[1, 0, 0, 0, 1],
    verify_ca_written: "verify_ca",
    require_checks_ca: false,
    no_cert_says: &["probtrack_cert", "1045"],
    checks_key_mode: false,
    prefers_socket: true,
};

/// Verified TLS connects only to the server its authority and name vouch for; nothing of the
/// login crosses the wire to any other.
fn verifies_the_server(engine: &Engine) {
    if !in_the_sqlite_pass(engine.what) || programs(&["openssl"]).is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path();
    let certs = Certs::make(&work.join("certs"));
    let Some(mut server) = (engine.start)(&work.join("server")) else {
        return;
    };
    let port = server.port();
    let (scheme, user, mode_name) = (engine.scheme, engine.user, engine.mode);
    let [disable, prefer, require, verify_ca, verify_full] = engine.modes;
    let url = |host: &str, port: u16, db: &str, query: &str| {
        format!("{scheme}://{user}:{PASSWORD}@{host}:{port}/{db}?{query}")
    };
    let ca = format!("{}={}", engine.root_cert, certs.path("ca.pem"));
    let other_ca = format!("{}={}", engine.root_cert, certs.path("other-ca.pem"));
    let proxy = Recorder::to(port);
    let mut builds = 0;
    let mut connects = |url: &str| {
        builds += 1;
        connects(work, url, builds);
    };

    // A server without TLS: every mode that asks for TLS is refused before the user name or the
    // password is sent; prefer and disable connect in plain TCP.
    for mode in [require, verify_ca, verify_full] {
        let err = refused(
            work,
            &url(
                "127.0.0.1",
                proxy.port,
                "tls",
                &format!("{mode_name}={mode}&{ca}"),
            ),
            4,
        );
        says(
            &err,
            &[
                &format!("with {mode_name}={mode}"),
                "the server does not offer TLS",
                "no user name, password or data was sent",
                engine.server_setup,
            ],
        );
        let sent = proxy.take();
        let only = engine.no_tls_sent;
        assert!(
            !sent.is_empty() && sent.chunks(only.len()).all(|c| c == only),
            "{mode_name}={mode}: sent {sent:?}, not only {only:?}"
        );
    }
    connects(&url(
        "127.0.0.1",
        port,
        "tls",
        &format!("{mode_name}={prefer}"),
    ));
    connects(&url(
        "127.0.0.1",
        port,
        "tls",
        &format!("{mode_name}={disable}"),
    ));
    if engine.prefers_socket {
        // Without TLS, the URL's `prefer_socket=false` keeps a connection to 127.0.0.1 on TCP
        // (the driver would move it onto the server's socket): the build's writes cross the
        // proxy.
        proxy.take();
        for mode in [prefer, disable] {
            connects(&url(
                "127.0.0.1",
                proxy.port,
                "tls",
                &format!("{mode_name}={mode}&prefer_socket=false"),
            ));
            let write = b"INSERT INTO builds";
            assert!(
                proxy.take().windows(write.len()).any(|w| w == write),
                "{mode_name}={mode}&prefer_socket=false: the ingest left the TCP connection"
            );
        }
    }
    assert!(!server.saw_tls());

    server.restart_with_tls(&certs);
    // The right authority and the name in the certificate.
    let verified = url(
        "localhost",
        port,
        "tls",
        &format!("{mode_name}={verify_full}&{ca}"),
    );
    connects(&verified);
    assert!(
        server.saw_tls(),
        "the connection used TLS:\n{}",
        server.log()
    );
    // verify-ca checks the authority, not the name; verify-full checks both.
    connects(&url(
        "127.0.0.1",
        port,
        "tls",
        &format!("{mode_name}={}&{ca}", engine.verify_ca_written),
    ));
    let err = refused(
        work,
        &url(
            "127.0.0.1",
            port,
            "tls",
            &format!("{mode_name}={verify_full}&{ca}"),
        ),
        4,
    );
    says(
        &err,
        &[
            &format!("with {mode_name}={verify_full}"),
            "certificate not valid for name \"127.0.0.1\"",
            "no user name, password or data was sent",
            "does not name the host `127.0.0.1`",
        ],
    );
    // A certificate another authority signed, under either verifying mode; through the proxy,
    // the bytes sent hold neither the user name nor the password.
    for mode in [verify_ca, verify_full] {
        let err = refused(
            work,
            &url(
                "127.0.0.1",
                proxy.port,
                "tls",
                &format!("{mode_name}={mode}&{other_ca}"),
            ),
            4,
        );
        says(
            &err,
            &[
                "UnknownIssuer",
                "is not signed by the certificate authority in",
                "other-ca.pem",
            ],
        );
        let sent = proxy.take();
        assert!(!sent.is_empty(), "the handshake went through the proxy");
        for secret in [PASSWORD.as_bytes(), user.as_bytes()] {
            assert!(
                !sent.windows(secret.len()).any(|w| w == secret),
                "{mode_name}={mode}: {:?} crossed the wire",
                String::from_utf8_lossy(secret)
            );
        }
    }
    // require encrypts without checking, as MySQL's does; libpq's checks the chain when it has an
    // authority to trust.
    let require_other = url(
        "127.0.0.1",
        port,
        "tls",
        &format!("{mode_name}={require}&{other_ca}"),
    );
    if engine.require_checks_ca {
        connects(&url(
            "127.0.0.1",
            port,
            "tls",
            &format!("{mode_name}={require}"),
        ));
        says(&refused(work, &require_other, 4), &["UnknownIssuer"]);
    } else {
        connects(&require_other);
    }
    // The builds that connected landed; the refused ones did not.
    let out = probtrack(work, &verified, &["builds", "--format", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        listed.as_array().unwrap().len(),
        builds as usize,
        "{listed}"
    );

    // A client certificate: the server logs in `probtrack_cert` by one its authority signed.
    let cert_url = |query: &str| {
        format!(
            "{scheme}://probtrack_cert@localhost:{port}/tls_cert?{mode_name}={verify_full}&{ca}{query}"
        )
    };
    let with_cert = format!(
        "&{}={}&{}={}",
        engine.cert,
        certs.path("client.pem"),
        engine.key,
        certs.path("client.key")
    );
    self::connects(work, &cert_url(&with_cert), 1);
    says(&refused(work, &cert_url(""), 4), engine.no_cert_says);
    if engine.checks_key_mode {
        // A private key others may read is refused before connecting, as libpq does.
        set_mode(&certs.dir.join("client.key"), 0o644);
        let err = refused(work, &cert_url(&with_cert), 2);
        says(
            &err,
            &["client.key", "has group or world access", "chmod 600"],
        );
        set_mode(&certs.dir.join("client.key"), 0o600);
    }

    // A file the URL names that is not there: a usage error before connecting.
    let err = refused(
        work,
        &url(
            "localhost",
            port,
            "tls",
            &format!("{mode_name}={verify_full}&{}=missing.pem", engine.root_cert),
        ),
        2,
    );
    says(
        &err,
        &[&format!(
            "cannot read the {} file `missing.pem`",
            engine.root_cert
        )],
    );
}

#[test]
fn postgres_verify_full_connects_only_to_the_server_its_authority_and_name_vouch_for() {
    verifies_the_server(&POSTGRES);
}

#[test]
fn mysql_verify_identity_connects_only_to_the_server_its_authority_and_name_vouch_for() {
    verifies_the_server(&MYSQL);
}
