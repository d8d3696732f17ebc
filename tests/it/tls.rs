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
}

impl Recorder {
    pub fn to(port: u16) -> Recorder {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let sent = Arc::new(Mutex::new(Vec::new()));
        let recorder = Recorder {
            port: listener.local_addr().unwrap().port(),
            sent: sent.clone(),
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
                });
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut server, &mut client);
                    let _ = client.shutdown(std::net::Shutdown::Write);
                });
            }
        });
        recorder
    }

    /// What clients sent so far, and forget it.
    pub fn take(&self) -> Vec<u8> {
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

#[test]
fn postgres_verify_full_connects_only_to_the_server_its_authority_and_name_vouch_for() {
    if !in_the_sqlite_pass("the private PostgreSQL server") || programs(&["openssl"]).is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path();
    let certs = Certs::make(&work.join("certs"));
    let Some(pg) = PrivatePostgres::start(&work.join("pg")) else {
        return;
    };
    let url = |host: &str, port: u16, db: &str, query: &str| {
        format!("postgres://postgres:{PASSWORD}@{host}:{port}/{db}?{query}")
    };
    let ca = format!("sslrootcert={}", certs.path("ca.pem"));
    let other_ca = format!("sslrootcert={}", certs.path("other-ca.pem"));
    let proxy = Recorder::to(pg.port);

    // A server without TLS: every mode that asks for TLS is refused before the user name or the
    // password is sent; `prefer` and `disable` connect in plain TCP.
    for mode in ["require", "verify-ca", "verify-full"] {
        let err = refused(
            work,
            &url(
                "localhost",
                proxy.port,
                "tls",
                &format!("sslmode={mode}&{ca}"),
            ),
            4,
        );
        says(
            &err,
            &[
                &format!("with sslmode={mode}"),
                "the server does not offer TLS",
                "no user name, password or data was sent",
                "hint: turn on `ssl` in its postgresql.conf",
            ],
        );
        // What crossed the wire: the 8-byte request for TLS (length 8, code 80877103), once per
        // connection attempt, and nothing else.
        let sent = proxy.take();
        assert!(
            !sent.is_empty() && sent.chunks(8).all(|c| c == [0, 0, 0, 8, 4, 210, 22, 47]),
            "sslmode={mode}: only requests for TLS are sent, not {sent:?}"
        );
    }
    connects(work, &url("localhost", pg.port, "tls", "sslmode=prefer"), 1);
    connects(
        work,
        &url("localhost", pg.port, "tls", "sslmode=disable"),
        2,
    );

    pg.restart_with_tls(&certs);

    // The right authority and the name in the certificate.
    connects(
        work,
        &url(
            "localhost",
            pg.port,
            "tls",
            &format!("sslmode=verify-full&{ca}"),
        ),
        3,
    );
    // verify-ca checks the authority, not the name; verify-full checks both.
    connects(
        work,
        &url(
            "127.0.0.1",
            pg.port,
            "tls",
            &format!("sslmode=verify-ca&{ca}"),
        ),
        4,
    );
    let err = refused(
        work,
        &url(
            "127.0.0.1",
            pg.port,
            "tls",
            &format!("sslmode=verify-full&{ca}"),
        ),
        4,
    );
    says(
        &err,
        &[
            "with sslmode=verify-full",
            "certificate not valid for name \"127.0.0.1\"",
            "no user name, password or data was sent",
            "does not name the host `127.0.0.1`",
        ],
    );
    // A certificate another authority signed, under either verifying mode; through the proxy,
    // the bytes sent hold neither the user name nor the password.
    for mode in ["verify-ca", "verify-full"] {
        let err = refused(
            work,
            &url(
                "127.0.0.1",
                proxy.port,
                "tls",
                &format!("sslmode={mode}&{other_ca}"),
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
        for secret in [PASSWORD.as_bytes(), b"postgres"] {
            assert!(
                !sent.windows(secret.len()).any(|w| w == secret),
                "sslmode={mode}: {:?} crossed the wire",
                String::from_utf8_lossy(secret)
            );
        }
    }
    // `require` encrypts without checking, as libpq's, unless there is an authority to trust:
    // then it checks the chain, as libpq's does.
    connects(
        work,
        &url("127.0.0.1", pg.port, "tls", "sslmode=require"),
        5,
    );
    let err = refused(
        work,
        &url(
            "127.0.0.1",
            pg.port,
            "tls",
            &format!("sslmode=require&{other_ca}"),
        ),
        4,
    );
    says(&err, &["UnknownIssuer"]);
    // The server saw TLS connections from probtrack.
    assert!(
        pg.log().contains("SSL enabled"),
        "the server logged TLS connections:\n{}",
        pg.log()
    );
    // The builds that connected landed; the refused ones did not.
    let out = probtrack(
        work,
        &url(
            "localhost",
            pg.port,
            "tls",
            &format!("sslmode=verify-full&{ca}"),
        ),
        &["builds", "--format", "json"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let builds: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(builds.as_array().unwrap().len(), 5, "{builds}");

    // A client certificate: the server logs in `probtrack_cert` by the certificate alone.
    let cert_url = |query: &str| {
        format!(
            "postgres://probtrack_cert@localhost:{}/tls_cert?sslmode=verify-full&{ca}{query}",
            pg.port
        )
    };
    let with_cert = format!(
        "&sslcert={}&sslkey={}",
        certs.path("client.pem"),
        certs.path("client.key")
    );
    connects(work, &cert_url(&with_cert), 1);
    let err = refused(work, &cert_url(""), 4);
    says(&err, &["probtrack_cert"]);
    // A private key others may read is refused before connecting, as libpq does.
    set_mode(&certs.dir.join("client.key"), 0o644);
    let err = refused(work, &cert_url(&with_cert), 2);
    says(
        &err,
        &["client.key", "has group or world access", "chmod 600"],
    );
    set_mode(&certs.dir.join("client.key"), 0o600);

    // A file the URL names that is not there: a usage error before connecting.
    let err = refused(
        work,
        &url(
            "localhost",
            pg.port,
            "tls",
            "sslmode=verify-full&sslrootcert=missing.pem",
        ),
        2,
    );
    says(&err, &["cannot read the sslrootcert file `missing.pem`"]);
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

#[test]
fn mysql_verify_identity_connects_only_to_the_server_its_authority_and_name_vouch_for() {
    if !in_the_sqlite_pass("the private MariaDB server") || programs(&["openssl"]).is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path();
    let certs = Certs::make(&work.join("certs"));
    let Some(mut my) = PrivateMariadb::start(&work.join("my")) else {
        return;
    };
    let url = |host: &str, port: u16, db: &str, query: &str| {
        format!("mysql://probtrack:{PASSWORD}@{host}:{port}/{db}?{query}")
    };
    let ca = format!("ssl-ca={}", certs.path("ca.pem"));
    let other_ca = format!("ssl-ca={}", certs.path("other-ca.pem"));
    let proxy = Recorder::to(my.port);

    // A server without TLS: every mode that asks for TLS is refused before anything but the
    // protocol's goodbye is sent (the server speaks first, the client answers COM_QUIT);
    // PREFERRED and DISABLED connect.
    for mode in ["REQUIRED", "VERIFY_CA", "VERIFY_IDENTITY"] {
        let err = refused(
            work,
            &url(
                "127.0.0.1",
                proxy.port,
                "tls",
                &format!("ssl-mode={mode}&{ca}"),
            ),
            4,
        );
        says(
            &err,
            &[
                &format!("with ssl-mode={mode}"),
                "the server does not offer TLS",
                "no user name, password or data was sent",
                "hint: give the server `ssl-cert` and `ssl-key`",
            ],
        );
        let sent = proxy.take();
        assert!(
            sent.chunks(5).all(|c| c == [1, 0, 0, 0, 1]),
            "ssl-mode={mode}: sent {sent:?}, not only COM_QUIT"
        );
    }
    connects(
        work,
        &url("127.0.0.1", my.port, "tls", "ssl-mode=PREFERRED"),
        1,
    );
    connects(
        work,
        &url("127.0.0.1", my.port, "tls", "ssl-mode=DISABLED"),
        2,
    );
    // Without TLS, the URL's `prefer_socket=false` keeps a connection to 127.0.0.1 on TCP (the
    // driver would move it onto the server's socket): the build's writes cross the proxy.
    proxy.take();
    for (mode, build) in [("PREFERRED", 6), ("DISABLED", 7)] {
        connects(
            work,
            &url(
                "127.0.0.1",
                proxy.port,
                "tls",
                &format!("ssl-mode={mode}&prefer_socket=false"),
            ),
            build,
        );
        let write = b"INSERT INTO builds";
        assert!(
            proxy.take().windows(write.len()).any(|w| w == write),
            "ssl-mode={mode}&prefer_socket=false: the ingest left the TCP connection"
        );
    }
    assert_eq!(my.tls_accepts(), 0);

    my.restart_with_tls(&certs);
    // The right authority and the name in the certificate.
    connects(
        work,
        &url(
            "localhost",
            my.port,
            "tls",
            &format!("ssl-mode=VERIFY_IDENTITY&{ca}"),
        ),
        3,
    );
    assert!(my.tls_accepts() > 0, "the connection used TLS");
    // VERIFY_CA checks the authority, not the name; VERIFY_IDENTITY checks both.
    connects(
        work,
        &url(
            "127.0.0.1",
            my.port,
            "tls",
            &format!("ssl-mode=verify_ca&{ca}"),
        ),
        4,
    );
    let err = refused(
        work,
        &url(
            "127.0.0.1",
            my.port,
            "tls",
            &format!("ssl-mode=VERIFY_IDENTITY&{ca}"),
        ),
        4,
    );
    says(
        &err,
        &[
            "with ssl-mode=VERIFY_IDENTITY",
            "certificate not valid for name \"127.0.0.1\"",
            "no user name, password or data was sent",
            "does not name the host `127.0.0.1`",
        ],
    );
    // A certificate another authority signed; through the proxy, the bytes sent hold neither the
    // user name nor the password.
    for mode in ["VERIFY_CA", "VERIFY_IDENTITY"] {
        let err = refused(
            work,
            &url(
                "127.0.0.1",
                proxy.port,
                "tls",
                &format!("ssl-mode={mode}&{other_ca}"),
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
        for secret in [PASSWORD.as_bytes(), b"probtrack"] {
            assert!(
                !sent.windows(secret.len()).any(|w| w == secret),
                "ssl-mode={mode}: {:?} crossed the wire",
                String::from_utf8_lossy(secret)
            );
        }
    }
    // REQUIRED encrypts without checking, as MySQL's.
    connects(
        work,
        &url(
            "127.0.0.1",
            my.port,
            "tls",
            &format!("ssl-mode=REQUIRED&{other_ca}"),
        ),
        5,
    );
    let out = probtrack(
        work,
        &url(
            "localhost",
            my.port,
            "tls",
            &format!("ssl-mode=VERIFY_IDENTITY&{ca}"),
        ),
        &["builds", "--format", "json"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let builds: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(builds.as_array().unwrap().len(), 7, "{builds}");

    // A client certificate: `probtrack_cert` must show one the server's authority signed.
    let cert_url = |query: &str| {
        format!(
            "mysql://probtrack_cert@localhost:{}/tls_cert?ssl-mode=VERIFY_IDENTITY&{ca}{query}",
            my.port
        )
    };
    let with_cert = format!(
        "&ssl-cert={}&ssl-key={}",
        certs.path("client.pem"),
        certs.path("client.key")
    );
    connects(work, &cert_url(&with_cert), 1);
    let err = refused(work, &cert_url(""), 4);
    says(&err, &["probtrack_cert", "1045"]);

    // A file the URL names that is not there: a usage error before connecting.
    let err = refused(
        work,
        &url(
            "localhost",
            my.port,
            "tls",
            "ssl-mode=VERIFY_IDENTITY&ssl-ca=missing.pem",
        ),
        2,
    );
    says(&err, &["cannot read the ssl-ca file `missing.pem`"]);
}
