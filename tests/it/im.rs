//! notify to chat: XMPP against a real prosody (a real client in the room and a person's direct
//! messages), Matrix against a real Synapse homeserver, Zulip and Discord against loopback
//! capture servers that check each request's documented shape. Each: what arrives names the
//! test, the Problem, the change and the person's handle; a second run posts nothing; a server
//! that is down gets a warning naming it and the message on the next run; hostile test names
//! arrive inert and whole; the secret is never in the output.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::harness::{skip, Test};

/// CI sets it: a chat server that cannot be started is then a failure.
const REQUIRE: &str = "PROBTRACK_REQUIRE_CHAT_SERVERS";

/// A hostile test name: a newline and carriage return (an IRC command after them), an escape
/// sequence, IRC colour codes, `@everyone`, markup, and more than 2,000 characters (an IRC line
/// holds 512 bytes, a Discord message 2,000 characters).
fn hostile_name() -> String {
    format!(
        "evil.name\r\nPRIVMSG #ci :owned\x1b[31m\x03\x034red\x02 @everyone <b>&amp; {}end",
        "x".repeat(2100)
    )
}

/// `hostile_name` as a JUnit attribute (control characters as character references).
fn xml_attr(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c if (c as u32) < 0x20 => out.push_str(&format!("&#x{:x};", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// Ingests one build: `failing` fail (with `message`), every other of `tests` passes.
fn build(t: &Test, number: i64, tests: &[&str], failing: &[&str], change: Option<&str>) {
    let mut xml = String::from("<testsuite name=\"s\">\n");
    for test in tests {
        let (class, name) = test.split_once('.').unwrap();
        xml += &format!(
            "<testcase classname=\"{}\" name=\"{}\" time=\"0.1\">",
            xml_attr(class),
            xml_attr(name)
        );
        if failing.contains(test) {
            xml += "<failure message=\"boom\">boom</failure>";
        }
        xml += "</testcase>\n";
    }
    xml += "</testsuite>\n";
    let file = t.path(&format!("ci-{number}.xml"));
    std::fs::write(&file, xml).unwrap();
    let time = format!("2024-03-01T10:{number:02}:00Z");
    let mut args = vec!["--time", &time];
    if let Some(change) = change {
        args.extend(["--change", change]);
    }
    let path = file.to_str().unwrap().to_owned();
    args.push(&path);
    t.ingest("ci", number, &args);
}

/// Runs `notify` with `env`; asserts success and that no value of `secrets` is in its output.
#[track_caller]
fn notify(t: &Test, env: &[(&str, &str)], secrets: &[&str], extra: &[&str]) -> (Value, String) {
    let mut args = vec!["notify", "--format", "json"];
    args.extend(extra);
    let mut cmd = t.command(&args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "notify failed:\n{stderr}");
    for secret in secrets {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "the secret is in the output:\n{stdout}\n{stderr}"
        );
    }
    (serde_json::from_str(&stdout).unwrap(), stderr)
}

fn statuses(deliveries: &Value) -> Vec<(i64, String, String)> {
    deliveries
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["problem"].as_i64().unwrap(),
                d["target"].as_str().unwrap().to_owned(),
                d["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Where a program is on PATH.
fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|p| p.is_file())
    })
}

/// A history with the baseline set, then one new Problem in `t.new` started by Ann's change c3,
/// and one in the hostile test. Returns the Problem ids (t.new, hostile).
fn history(t: &Test, config: &str) -> (i64, i64) {
    std::fs::write(t.path("probtrack.toml"), config).unwrap();
    let hostile = hostile_name();
    let tests = ["t.old", "t.new", hostile.as_str()];
    build(t, 1, &tests, &[], None);
    build(
        t,
        2,
        &tests,
        &["t.old"],
        Some("c2:Dave Dunn <dave@example.org>"),
    );
    t.ok(&["notify", "--mark-all-sent"]);
    build(
        t,
        3,
        &tests,
        &["t.old", "t.new", hostile.as_str()],
        Some("c3abcdef:Ann Archer <ann@example.org>"),
    );
    let problems = t.json(&["problems"]);
    let id = |test: &str| {
        problems
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["test"] == test)
            .unwrap_or_else(|| panic!("no Problem of {test:?} in {problems:#}"))["id"]
            .as_i64()
            .unwrap()
    };
    (id("t.new"), id(&hostile))
}

// ---------------------------------------------------------------------------------------------
// XMPP: a real prosody.

/// A prosody on a free port of 127.0.0.1 with STARTTLS (a certificate from a CA of the test's own),
/// a multi-user chat service, and accounts; stopped when dropped.
struct Prosody {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
    config: PathBuf,
}

fn sh(program: &str, args: &[&str], dir: &Path) {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Whether this process is root (prosody is then run as its own unprivileged user).
fn root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

impl Prosody {
    fn start(accounts: &[(&str, &str)]) -> Option<Prosody> {
        if which("prosody").is_none() || which("openssl").is_none() {
            skip(
                Some(REQUIRE),
                "prosody or openssl is not installed (apt-get install prosody openssl)",
            );
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir(d.join("data")).unwrap();
        std::fs::create_dir(d.join("certs")).unwrap();
        sh(
            "openssl",
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "2",
                "-subj",
                "/CN=probtrack test CA",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
            ],
            d,
        );
        sh(
            "openssl",
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "localhost.key",
                "-out",
                "localhost.csr",
                "-subj",
                "/CN=localhost",
            ],
            d,
        );
        std::fs::write(
            d.join("ext"),
            "subjectAltName=DNS:localhost,DNS:conference.localhost\n",
        )
        .unwrap();
        sh(
            "openssl",
            &[
                "x509",
                "-req",
                "-in",
                "localhost.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                "localhost.crt",
                "-days",
                "2",
                "-extfile",
                "ext",
            ],
            d,
        );
        let port = closed_port();
        let p = d.display();
        let config = d.join("prosody.cfg.lua");
        std::fs::write(
            &config,
            format!(
                "pidfile = \"{p}/prosody.pid\"\ndata_path = \"{p}/data\"\n\
                 certificates = \"{p}/certs\"\n\
                 log = {{ info = \"{p}/prosody.log\" }}\n\
                 c2s_ports = {{ {port} }}\nc2s_interfaces = {{ \"127.0.0.1\" }}\n\
                 s2s_ports = {{ }}\ncomponent_ports = {{ }}\nhttp_ports = {{ }}\nhttps_ports = {{ }}\n\
                 modules_enabled = {{ \"saslauth\"; \"tls\"; \"disco\"; \"ping\"; \"roster\"; \"offline\"; \"posix\" }}\n\
                 modules_disabled = {{ \"s2s\" }}\n\
                 authentication = \"internal_hashed\"\nc2s_require_encryption = true\n\
                 ssl = {{ certificate = \"{p}/localhost.crt\"; key = \"{p}/localhost.key\" }}\n\
                 VirtualHost \"localhost\"\n\
                 Component \"conference.localhost\" \"muc\"\n    muc_room_locking = false\n"
            ),
        )
        .unwrap();
        // Root runs it as the package's own unprivileged user, which must own the directory.
        let as_user = |program: &str| {
            if root() {
                let mut cmd = Command::new("runuser");
                cmd.args(["-u", "prosody", "--", program]);
                cmd
            } else {
                Command::new(program)
            }
        };
        if root() {
            sh("chown", &["-R", "prosody:prosody", &p.to_string()], d);
        }
        let cfg = config.to_str().unwrap();
        for (user, password) in accounts {
            let out = as_user("prosodyctl")
                .args(["--config", cfg, "register", user, "localhost", password])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "prosodyctl register {user}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let child = as_user("prosody")
            .args(["--config", cfg, "-F"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let server = Prosody {
            child,
            dir,
            port,
            config,
        };
        // Up once the port answers (a bounded wait for the server, not a timing assertion).
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "prosody did not start: {}",
                std::fs::read_to_string(server.dir.path().join("prosody.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(server)
    }

    fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// A settings table (`notify.xmpp`, `bot.xmpp`) for `user`@localhost in the room
    /// `ci@conference.localhost`, connecting to `port`, with `extra` keys.
    fn table(&self, table: &str, user: &str, port: u16, extra: &str) -> String {
        format!(
            "[{table}]\njid = \"{user}@localhost\"\nserver = \"127.0.0.1\"\nport = {port}\n\
             ca_file = \"{}\"\nrooms = [\"ci@conference.localhost\"]\n{extra}",
            self.ca().display()
        )
    }
}

impl Drop for Prosody {
    fn drop(&mut self) {
        // runuser forwards the signal to prosody, which stops cleanly.
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
        let _ = &self.config;
    }
}

/// A minimal real XMPP client for the test: STARTTLS, SASL PLAIN, a resource, then stanzas.
struct Client {
    tls: rustls::StreamOwned<rustls::ClientConnection, TcpStream>,
    buf: String,
}

fn tls_to(tcp: TcpStream, ca: &Path) -> rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    use rustls::pki_types::pem::PemObject as _;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let conn =
        rustls::ClientConnection::new(Arc::new(config), "localhost".try_into().unwrap()).unwrap();
    rustls::StreamOwned::new(conn, tcp)
}

impl Client {
    fn connect(port: u16, ca: &Path, user: &str, password: &str) -> Client {
        let mut tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let open = "<?xml version='1.0'?><stream:stream to='localhost' version='1.0' \
                    xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>";
        tcp.write_all(open.as_bytes()).unwrap();
        let mut plain = String::new();
        while !plain.contains("</stream:features>") {
            let mut chunk = [0u8; 4096];
            let n = tcp.read(&mut chunk).unwrap();
            assert!(n > 0, "prosody closed: {plain}");
            plain += &String::from_utf8_lossy(&chunk[..n]);
        }
        tcp.write_all(b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
            .unwrap();
        let mut proceed = [0u8; 512];
        let n = tcp.read(&mut proceed).unwrap();
        assert!(String::from_utf8_lossy(&proceed[..n]).contains("proceed"));
        let mut c = Client {
            tls: tls_to(tcp, ca),
            buf: String::new(),
        };
        c.send(open);
        c.wait_for("</stream:features>");
        use base64::Engine as _;
        let auth =
            base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{password}"));
        c.send(&format!(
            "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{auth}</auth>"
        ));
        c.wait_for("<success");
        c.buf.clear();
        c.send(open);
        c.wait_for("</stream:features>");
        c.send(
            "<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>\
             <resource>test</resource></bind></iq>",
        );
        c.wait_for("</iq>");
        c.buf.clear();
        c
    }

    /// A client of `user` in the room `ci@conference.localhost`, as `user`.
    fn in_room(server: &Prosody, user: &str, password: &str) -> Client {
        let mut c = Client::connect(server.port, &server.ca(), user, password);
        c.send("<presence/>");
        c.send(&format!(
            "<presence to='ci@conference.localhost/{user}'>\
             <x xmlns='http://jabber.org/protocol/muc'/></presence>"
        ));
        c.wait_for("code='110'");
        c.drain("joined");
        c
    }

    fn send(&mut self, text: &str) {
        self.tls.write_all(text.as_bytes()).unwrap();
        self.tls.flush().unwrap();
    }

    /// Reads until `needle` has arrived; returns everything read so far.
    fn wait_for(&mut self, needle: &str) -> String {
        while !self.buf.contains(needle) {
            let mut chunk = [0u8; 65536];
            let n = self.tls.read(&mut chunk).unwrap_or_else(|e| {
                panic!("waiting for {needle}: {e}; got {}", self.buf);
            });
            assert!(
                n > 0,
                "the server closed while waiting for {needle}: {}",
                self.buf
            );
            self.buf += &String::from_utf8_lossy(&chunk[..n]);
        }
        self.buf.clone()
    }

    /// Everything that arrives before the answer to a ping of our own: what the server had
    /// queued for us.
    fn drain(&mut self, id: &str) -> String {
        self.send(&format!(
            "<iq type='get' id='{id}' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>"
        ));
        let all = self.wait_for(&format!("id='{id}'"));
        self.buf.clear();
        all
    }
}

/// The message bodies in a stream's text, unescaped.
fn bodies(stream: &str) -> Vec<String> {
    stream
        .split("<body>")
        .skip(1)
        .map(|rest| {
            rest.split("</body>")
                .next()
                .unwrap()
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&apos;", "'")
                .replace("&amp;", "&")
        })
        .collect()
}

#[test]
fn xmpp_tells_the_room_and_the_person_through_a_real_prosody() {
    const PASSWORD: &str = "xmpp-s3cret-9f2c";
    let Some(server) = Prosody::start(&[
        ("probtrack", PASSWORD),
        ("ann", "ann-password"),
        ("watcher", "watcher-password"),
    ]) else {
        return;
    };
    let t = Test::new();
    let config = |port: u16| {
        format!(
            "[[users]]\nname = \"Ann Archer\"\nemails = [\"ann@example.org\"]\n\
             xmpp = \"ann@localhost\"\n\n{}",
            server.table("notify.xmpp", "probtrack", port, "")
        )
    };
    // First the server is down (a port nothing listens on).
    let (new, hostile) = history(&t, &config(closed_port()));
    let env = [("PROBTRACK_XMPP_PASSWORD", PASSWORD)];
    let (down, stderr) = notify(&t, &env, &[PASSWORD], &[]);
    assert_eq!(
        statuses(&down),
        [
            (new, "xmpp".to_owned(), "failed".to_owned()),
            (hostile, "xmpp".to_owned(), "failed".to_owned())
        ]
    );
    assert!(
        stderr.contains("warning: Problem")
            && stderr.contains("xmpp")
            && stderr.contains("connecting to 127.0.0.1"),
        "{stderr}"
    );

    // A real client in the room, before the run.
    let mut watcher = Client::in_room(&server, "watcher", "watcher-password");

    // Up: what failed is sent now.
    std::fs::write(t.path("probtrack.toml"), config(server.port)).unwrap();
    // A wrong password: the login is refused, the password is not shown.
    let (wrong, stderr) = notify(
        &t,
        &[("PROBTRACK_XMPP_PASSWORD", "not-the-password-77")],
        &["not-the-password-77", PASSWORD],
        &[],
    );
    assert!(
        statuses(&wrong).iter().all(|s| s.2 == "failed"),
        "{wrong:#}"
    );
    assert!(stderr.contains("refused the login"), "{stderr}");
    let (sent, _) = notify(&t, &env, &[PASSWORD], &[]);
    assert_eq!(
        statuses(&sent),
        [
            (new, "xmpp".to_owned(), "sent".to_owned()),
            (hostile, "xmpp".to_owned(), "sent".to_owned())
        ]
    );
    let room = bodies(&watcher.drain("w1"));
    assert_eq!(room.len(), 2, "{room:#?}");
    for part in [
        "t.new broke",
        &format!("Problem {new}"),
        "c3abcdef by Ann Archer <ann@example.org>",
        "Responsible: ann@localhost",
    ] {
        assert!(room[0].contains(part), "{part} in {}", room[0]);
    }
    // The hostile name arrives whole: its control characters shown, nothing else injected.
    let hostile_text = &room[1];
    assert!(
        hostile_text.contains(&format!("Problem {hostile}")),
        "{hostile_text}"
    );
    assert!(
        hostile_text.contains(&"x".repeat(2100)),
        "cut: {hostile_text}"
    );
    assert!(
        hostile_text.contains("@everyone <b>&amp; "),
        "{hostile_text}"
    );
    assert!(
        hostile_text.contains("\\u{d}"),
        "the CR shown: {hostile_text}"
    );
    assert!(
        hostile_text.contains("\\u{1b}[31m"),
        "the ESC shown: {hostile_text}"
    );
    assert!(!hostile_text.contains('\x1b') && !hostile_text.contains('\r'));

    // Ann was offline: the server kept her direct messages and gives them to her now.
    let mut ann = Client::connect(server.port, &server.ca(), "ann", "ann-password");
    ann.send("<presence/>");
    let direct = bodies(&ann.drain("a1"));
    assert_eq!(direct.len(), 2, "{direct:#?}");
    assert!(direct[0].contains("t.new broke"), "{}", direct[0]);

    // A second run posts nothing new.
    let (again, _) = notify(&t, &env, &[PASSWORD], &[]);
    assert_eq!(again, json!([]));
    assert_eq!(bodies(&watcher.drain("w2")), Vec::<String>::new());
    assert_eq!(bodies(&ann.drain("a2")), Vec::<String>::new());
}

// ---------------------------------------------------------------------------------------------
// Matrix: a real Synapse homeserver (from PyPI, on SQLite), offline.

/// A Synapse on a free port of 127.0.0.1, with accounts; stopped when dropped.
/// `PROBTRACK_TEST_SYNAPSE` names a Python that has `matrix-synapse` (`.ci/run` makes a venv).
struct Synapse {
    child: Child,
    _dir: tempfile::TempDir,
    url: String,
}

/// One HTTP request of the test's own Matrix client; the answer's status and JSON.
fn http(method: &str, url: &str, token: Option<&str>, body: Option<Value>) -> (u16, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into();
    let mut req = ureq::http::Request::builder()
        .method(method)
        .uri(url)
        .header("Content-Type", "application/json");
    if let Some(token) = token {
        req = req.header("Authorization", format!("Bearer {token}"));
    }
    let req = req
        .body(body.map(|b| b.to_string()).unwrap_or_default())
        .unwrap();
    let mut response = agent.run(req).unwrap();
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

impl Synapse {
    fn start(accounts: &[(&str, &str)]) -> Option<Synapse> {
        let Some(python) = std::env::var_os("PROBTRACK_TEST_SYNAPSE").filter(|p| !p.is_empty())
        else {
            skip(
                Some(REQUIRE),
                "PROBTRACK_TEST_SYNAPSE is not set (a python with matrix-synapse; .ci/run makes one)",
            );
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display().to_string();
        let port = closed_port();
        let limit = "{per_second: 1000, burst_count: 1000}";
        let config = dir.path().join("homeserver.yaml");
        std::fs::write(
            &config,
            format!(
                "server_name: localhost\npid_file: {d}/homeserver.pid\n\
                 listeners:\n  - port: {port}\n    tls: false\n    type: http\n    x_forwarded: false\n\
                 \x20   bind_addresses: ['127.0.0.1']\n    resources:\n      - names: [client]\n        compress: false\n\
                 database:\n  name: sqlite3\n  args:\n    database: {d}/homeserver.db\n\
                 media_store_path: {d}/media\nsigning_key_path: {d}/localhost.signing.key\n\
                 registration_shared_secret: test-only-shared-secret\nreport_stats: false\n\
                 macaroon_secret_key: test-only-macaroon\nform_secret: test-only-form\n\
                 trusted_key_servers: []\nsuppress_key_server_warning: true\n\
                 enable_registration: false\n\
                 rc_message: {limit}\nrc_login:\n  address: {limit}\n  account: {limit}\n  failed_attempts: {limit}\n\
                 rc_joins:\n  local: {limit}\n  remote: {limit}\n\
                 rc_invites:\n  per_room: {limit}\n  per_user: {limit}\n  per_issuer: {limit}\n\
                 rc_registration: {limit}\n"
            ),
        )
        .unwrap();
        let cfg = config.to_str().unwrap();
        let keys = Command::new(&python)
            .args(["-m", "synapse.app.homeserver", "-c", cfg, "--generate-keys"])
            .output()
            .unwrap();
        assert!(
            keys.status.success(),
            "synapse --generate-keys: {}",
            String::from_utf8_lossy(&keys.stderr)
        );
        let log = std::fs::File::create(dir.path().join("synapse.log")).unwrap();
        let child = Command::new(&python)
            .args(["-m", "synapse.app.homeserver", "-c", cfg])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let server = Synapse {
            child,
            url: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        };
        // Up once it answers (a bounded wait for the server, not a timing assertion).
        let deadline = Instant::now() + Duration::from_secs(120);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "synapse did not start: {}",
                std::fs::read_to_string(server._dir.path().join("synapse.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        for (user, password) in accounts {
            let out = Command::new(&python)
                .args([
                    "-m",
                    "synapse._scripts.register_new_matrix_user",
                    "-c",
                    cfg,
                    "-u",
                    user,
                    "-p",
                    password,
                    "--no-admin",
                    &server.url,
                ])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "register {user}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Some(server)
    }

    /// An access token of `user`, from a password login.
    fn login(&self, user: &str, password: &str) -> String {
        let (status, answer) = http(
            "POST",
            &format!("{}/_matrix/client/v3/login", self.url),
            None,
            Some(json!({
                "type": "m.login.password",
                "identifier": {"type": "m.id.user", "user": user},
                "password": password,
            })),
        );
        assert_eq!(status, 200, "{answer}");
        answer["access_token"].as_str().unwrap().to_owned()
    }

    /// A public room that `token`'s user makes, with the alias `#ALIAS:localhost`; its id.
    fn public_room(&self, token: &str, alias: &str) -> String {
        let (status, made) = http(
            "POST",
            &format!("{}/_matrix/client/v3/createRoom", self.url),
            Some(token),
            Some(json!({"room_alias_name": alias, "preset": "public_chat"})),
        );
        assert_eq!(status, 200, "{made}");
        made["room_id"].as_str().unwrap().to_owned()
    }

    /// The contents of the `m.room.message` events in `room` that `sender` sent, oldest first.
    fn messages(&self, token: &str, room: &str, sender: &str) -> Vec<Value> {
        room_events(self, token, room)
            .into_iter()
            .filter(|e| e["sender"] == sender)
            .map(|e| e["content"].clone())
            .collect()
    }
}

impl Drop for Synapse {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

#[test]
fn matrix_tells_the_room_and_a_direct_room_through_a_real_synapse() {
    let Some(server) = Synapse::start(&[("probtrack", "bot-password"), ("ann", "ann-password")])
    else {
        return;
    };
    let bot = server.login("probtrack", "bot-password");
    let ann = server.login("ann", "ann-password");
    // Ann's team room, public, with an alias.
    let room = server.public_room(&ann, "ci");

    let t = Test::new();
    let config = |url: &str| {
        format!(
            "[[users]]\nname = \"Ann Archer\"\nemails = [\"ann@example.org\"]\n\
             matrix = \"@ann:localhost\"\n\n\
             [notify.matrix]\nhomeserver = \"{url}\"\nrooms = [\"#ci:localhost\"]\n"
        )
    };
    let down = format!("http://127.0.0.1:{}", closed_port());
    let (new, hostile) = history(&t, &config(&down));
    let env = [("PROBTRACK_MATRIX_TOKEN", bot.as_str())];
    let (failed, stderr) = notify(&t, &env, &[&bot], &[]);
    assert!(statuses(&failed)
        .iter()
        .all(|s| s.1 == "matrix" && s.2 == "failed"));
    assert!(
        stderr.contains(&down),
        "the warning names the homeserver: {stderr}"
    );

    std::fs::write(t.path("probtrack.toml"), config(&server.url)).unwrap();
    // A wrong token: refused, and not shown.
    let (refused, stderr) = notify(
        &t,
        &[("PROBTRACK_MATRIX_TOKEN", "syt_not_a_token_123")],
        &["syt_not_a_token_123", &bot],
        &[],
    );
    assert!(statuses(&refused).iter().all(|s| s.2 == "failed"));
    assert!(stderr.contains("M_UNKNOWN_TOKEN"), "{stderr}");

    let (sent, _) = notify(&t, &env, &[&bot], &[]);
    assert_eq!(
        statuses(&sent),
        [
            (new, "matrix".to_owned(), "sent".to_owned()),
            (hostile, "matrix".to_owned(), "sent".to_owned())
        ]
    );
    let said = server.messages(&ann, &room, "@probtrack:localhost");
    assert_eq!(said.len(), 2, "{said:#?}");
    assert_eq!(said[0]["msgtype"], "m.text");
    assert_eq!(
        said[0]["m.mentions"],
        json!({"user_ids": ["@ann:localhost"]})
    );
    let body = said[0]["body"].as_str().unwrap();
    for part in [
        "t.new broke",
        &format!("Problem {new}"),
        "c3abcdef by Ann Archer <ann@example.org>",
        "Responsible: @ann:localhost",
    ] {
        assert!(body.contains(part), "{part} in {body}");
    }
    // The hostile name arrives whole, as plain text (no HTML body), and pings no one but Ann.
    let evil = &said[1];
    assert!(evil.get("format").is_none() && evil.get("formatted_body").is_none());
    assert!(
        evil["body"].as_str().unwrap().contains(&hostile_name()),
        "{evil}"
    );
    assert_eq!(evil["m.mentions"], json!({"user_ids": ["@ann:localhost"]}));

    // Ann's direct room: an invitation, joined, with both messages in it.
    let (_, sync) = http(
        "GET",
        &format!("{}/_matrix/client/v3/sync", server.url),
        Some(&ann),
        None,
    );
    let invites: Vec<String> = sync["rooms"]["invite"]
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    assert_eq!(invites.len(), 1, "{sync:#}");
    let direct = &invites[0];
    let (status, _) = http(
        "POST",
        &format!(
            "{}/_matrix/client/v3/join/{}",
            server.url,
            direct.replace('!', "%21").replace(':', "%3A")
        ),
        Some(&ann),
        Some(json!({})),
    );
    assert_eq!(status, 200);
    let dm = server.messages(&ann, direct, "@probtrack:localhost");
    assert_eq!(dm.len(), 2, "{dm:#?}");
    assert!(dm[0]["body"].as_str().unwrap().contains("t.new broke"));

    // Nothing twice: a second run has nothing due; a retry after a lost record (the message went
    // but its record did not) sends the same transaction ids, which the homeserver takes once.
    let (again, _) = notify(&t, &env, &[&bot], &[]);
    assert_eq!(again, json!([]));
    t.exec_sql("DELETE FROM notifications WHERE target = 'matrix'");
    let (retried, _) = notify(&t, &env, &[&bot], &[]);
    assert!(
        statuses(&retried).iter().all(|s| s.2 == "sent"),
        "{retried:#}"
    );
    assert_eq!(
        server.messages(&ann, &room, "@probtrack:localhost").len(),
        2
    );
    assert_eq!(
        server.messages(&ann, direct, "@probtrack:localhost").len(),
        2
    );
}

// ---------------------------------------------------------------------------------------------
// Zulip and Discord: no local server; loopback capture servers that check the documented shapes.

/// One request a capture server took.
#[derive(Clone, Debug)]
struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A loopback HTTP server: answers each request with what `answer` says (status, JSON body) and
/// keeps the requests.
fn capture(
    answer: impl Fn(&Request) -> (u16, String) + Send + 'static,
) -> (String, Arc<std::sync::Mutex<Vec<Request>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let kept = Arc::new(std::sync::Mutex::new(Vec::new()));
    let requests = Arc::clone(&kept);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
            let mut first = String::new();
            if std::io::BufRead::read_line(&mut reader, &mut first).unwrap_or(0) == 0 {
                continue;
            }
            let mut parts = first.split_whitespace();
            let method = parts.next().unwrap_or_default().to_owned();
            let path = parts.next().unwrap_or_default().to_owned();
            let mut headers = Vec::new();
            loop {
                let mut line = String::new();
                if std::io::BufRead::read_line(&mut reader, &mut line).unwrap_or(0) == 0
                    || line == "\r\n"
                {
                    break;
                }
                if let Some((k, v)) = line.trim_end().split_once(':') {
                    headers.push((k.trim().to_owned(), v.trim().to_owned()));
                }
            }
            let length: usize = headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0; length];
            reader.read_exact(&mut body).ok();
            let request = Request {
                method,
                path,
                headers,
                body: String::from_utf8_lossy(&body).into_owned(),
            };
            let (status, text) = answer(&request);
            kept.lock().unwrap().push(request);
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{text}",
                text.len()
            );
        }
    });
    (url, requests)
}

/// `application/x-www-form-urlencoded` decoded.
fn form(body: &str) -> Vec<(String, String)> {
    let decode = |s: &str| {
        let bytes = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' => {
                    out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                    i += 2;
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8(out).unwrap()
    };
    body.split('&')
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap();
            (decode(k), decode(v))
        })
        .collect()
}

#[test]
fn zulip_gets_its_documented_messages_api_requests() {
    const KEY: &str = "zulip-api-key-4b1d";
    let (url, requests) = capture(|_| (200, r#"{"result":"success","msg":"","id":42}"#.to_owned()));
    let t = Test::new();
    let config = |site: &str| {
        format!(
            "[[users]]\nname = \"Ann Archer\"\nemails = [\"ann@example.org\"]\n\
             zulip = \"Ann A\"\n\n\
             [notify.zulip]\nsite = \"{site}\"\nemail = \"probtrack-bot@example.zulipchat.com\"\n\
             stream = \"ci\"\ntopic = \"test failures\"\n"
        )
    };
    let down = format!("http://127.0.0.1:{}", closed_port());
    let (new, hostile) = history(&t, &config(&down));
    let env = [("PROBTRACK_ZULIP_API_KEY", KEY)];
    let (failed, stderr) = notify(&t, &env, &[KEY], &[]);
    assert!(statuses(&failed)
        .iter()
        .all(|s| s.1 == "zulip" && s.2 == "failed"));
    assert!(stderr.contains(&down), "{stderr}");

    std::fs::write(t.path("probtrack.toml"), config(&url)).unwrap();
    let (sent, _) = notify(&t, &env, &[KEY], &[]);
    assert_eq!(
        statuses(&sent),
        [
            (new, "zulip".to_owned(), "sent".to_owned()),
            (hostile, "zulip".to_owned(), "sent".to_owned())
        ]
    );
    let requests = requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 2, "{requests:#?}");
    use base64::Engine as _;
    let basic = base64::engine::general_purpose::STANDARD
        .encode(format!("probtrack-bot@example.zulipchat.com:{KEY}"));
    let mut contents = Vec::new();
    for r in &requests {
        // POST /api/v1/messages, HTTP basic auth with the bot's e-mail and key, a form body.
        assert_eq!(
            (r.method.as_str(), r.path.as_str()),
            ("POST", "/api/v1/messages")
        );
        assert_eq!(
            r.header("Authorization"),
            Some(format!("Basic {basic}").as_str())
        );
        assert_eq!(
            r.header("Content-Type"),
            Some("application/x-www-form-urlencoded")
        );
        let fields = form(&r.body);
        let keys: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["type", "to", "topic", "content"]);
        assert_eq!(fields[0].1, "stream");
        assert_eq!(fields[1].1, "ci");
        assert_eq!(fields[2].1, "test failures");
        contents.push(fields[3].1.clone());
    }
    let first = &contents[0];
    assert!(first.starts_with("```text\n"), "{first}");
    for part in [
        "t.new broke",
        &format!("Problem {new}"),
        "c3abcdef by Ann Archer <ann@example.org>",
        "Responsible: Ann Archer",
    ] {
        assert!(first.contains(part), "{part} in {first}");
    }
    // The mention is after the code block, where Zulip renders it.
    assert!(first.ends_with("\n```\n@**Ann A**"), "{first}");
    // The hostile name: whole, inside the block (where `@everyone` and markup are inert).
    let evil = &contents[1];
    let inside = evil
        .strip_prefix("```text\n")
        .and_then(|rest| rest.rsplit_once("\n```\n"))
        .map(|(block, _)| block)
        .unwrap_or_else(|| panic!("not one code block: {evil}"));
    assert!(inside.contains(&hostile_name()), "{evil}");
    assert!(!inside.contains("```"));

    let (again, _) = notify(&t, &env, &[KEY], &[]);
    assert_eq!(again, json!([]));
}

#[test]
fn discord_gets_its_documented_webhook_requests_that_ping_no_one_else() {
    let (url, requests) = capture(|_| (200, r#"{"id":"1","content":""}"#.to_owned()));
    // The webhook URL holds its token: a secret, from the environment only.
    let token = "dIsCoRdToKeN_8c1e";
    let hook = format!("{url}/api/webhooks/1234/{token}");
    let t = Test::new();
    std::fs::write(
        t.path("probtrack.toml"),
        "[[users]]\nname = \"Ann Archer\"\nemails = [\"ann@example.org\"]\n\
         discord = \"80351110224678912\"\n\n[notify.discord]\n",
    )
    .unwrap();
    let (new, hostile) = history(
        &t,
        &std::fs::read_to_string(t.path("probtrack.toml")).unwrap(),
    );
    let down = format!(
        "http://127.0.0.1:{}/api/webhooks/1234/{token}",
        closed_port()
    );
    let (failed, stderr) = notify(&t, &[("PROBTRACK_DISCORD_WEBHOOK", &down)], &[token], &[]);
    assert!(statuses(&failed)
        .iter()
        .all(|s| s.1 == "discord" && s.2 == "failed"));
    assert!(stderr.contains("the Discord webhook"), "{stderr}");

    let (sent, _) = notify(&t, &[("PROBTRACK_DISCORD_WEBHOOK", &hook)], &[token], &[]);
    assert_eq!(
        statuses(&sent),
        [
            (new, "discord".to_owned(), "sent".to_owned()),
            (hostile, "discord".to_owned(), "sent".to_owned())
        ]
    );
    let requests = requests.lock().unwrap().clone();
    assert!(
        requests.len() > 2,
        "the long one in several messages: {requests:#?}"
    );
    let mut contents = Vec::new();
    for r in &requests {
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, format!("/api/webhooks/1234/{token}?wait=true"));
        assert_eq!(r.header("Content-Type"), Some("application/json"));
        let body: Value = serde_json::from_str(&r.body).unwrap();
        let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["content", "username", "allowed_mentions", "flags"]);
        assert_eq!(body["username"], "probtrack");
        // No mention is parsed from the text; only the person on the hook may be pinged.
        assert_eq!(
            body["allowed_mentions"],
            json!({"parse": [], "users": ["80351110224678912"]})
        );
        assert_eq!(body["flags"], 4, "SUPPRESS_EMBEDS");
        let content = body["content"].as_str().unwrap();
        assert!(content.chars().count() <= 2000);
        contents.push(content.to_owned());
    }
    // Discord Markdown unescaped (a backslash before a punctuation character shows the character).
    let shown = |c: &str| {
        let mut out = String::new();
        let mut chars = c.chars();
        while let Some(ch) = chars.next() {
            if ch == '\\' {
                if let Some(next) = chars.next() {
                    out.push(next);
                }
            } else {
                out.push(ch);
            }
        }
        out
    };
    let first = shown(&contents[0]);
    for part in [
        "t.new broke",
        &format!("Problem {new}"),
        "c3abcdef by Ann Archer <ann@example.org>",
    ] {
        assert!(first.contains(part), "{part} in {first}");
    }
    assert!(
        contents[0].ends_with("\n<@80351110224678912>"),
        "{}",
        contents[0]
    );
    // The hostile name: `@everyone` escaped (and not parsed anyway), the name whole once shown.
    let evil = contents[1..].concat();
    assert!(evil.contains("\\@everyone"), "{evil}");
    assert!(shown(&evil).contains(&hostile_name()), "{evil}");
    let (again, _) = notify(&t, &[("PROBTRACK_DISCORD_WEBHOOK", &hook)], &[token], &[]);
    assert_eq!(again, json!([]));
}

// ---------------------------------------------------------------------------------------------
// Digests.

#[test]
fn a_digest_tells_each_person_their_open_problems_once_per_period() {
    const TOKEN: &str = "syt_digest_token_51";
    // A homeserver that takes the direct room and the message (the first send fails once).
    let fails = Arc::new(std::sync::Mutex::new(1));
    let left = Arc::clone(&fails);
    let (url, requests) = capture(move |r| {
        let path = r.path.as_str();
        if path.ends_with("/account/whoami") {
            (200, r#"{"user_id":"@probtrack:example.org"}"#.to_owned())
        } else if path.contains("/account_data/m.direct") && r.method == "GET" {
            (
                404,
                r#"{"errcode":"M_NOT_FOUND","error":"none"}"#.to_owned(),
            )
        } else if path.ends_with("/createRoom") {
            (200, r#"{"room_id":"!dm:example.org"}"#.to_owned())
        } else if path.contains("/send/m.room.message/") {
            let mut left = left.lock().unwrap();
            if *left > 0 {
                *left -= 1;
                (502, "bad gateway".to_owned())
            } else {
                (200, r#"{"event_id":"$1"}"#.to_owned())
            }
        } else {
            (200, "{}".to_owned())
        }
    });
    let (port, mails) = crate::triage::smtp_server();
    let t = Test::new();
    std::fs::write(
        t.path("probtrack.toml"),
        format!(
            "[[users]]\nname = \"Ann Archer\"\nemails = [\"ann@example.org\"]\n\
             matrix = \"@ann:example.org\"\n\n\
             [[users]]\nname = \"Dave Dunn\"\nemails = [\"dave@example.org\"]\n\n\
             [notify]\nsmtp_server = \"127.0.0.1\"\nsmtp_port = {port}\nsmtp_security = \"none\"\n\
             smtp_from = \"probtrack <ci@example.org>\"\ndigest_hours = 24\n\n\
             [notify.matrix]\nhomeserver = \"{url}\"\nrooms = [\"#ci:example.org\"]\n"
        ),
    )
    .unwrap();
    let tests = ["t.a", "t.b", "t.c", "t.d"];
    build(&t, 1, &tests, &[], None);
    build(
        &t,
        2,
        &tests,
        &["t.a", "t.b"],
        Some("c2:Ann Archer <ann@example.org>"),
    );
    build(
        &t,
        3,
        &tests,
        &["t.a", "t.b", "t.c"],
        Some("c3:Dave Dunn <dave@example.org>"),
    );
    let env = [("PROBTRACK_MATRIX_TOKEN", TOKEN)];

    let (dry, _) = notify(&t, &env, &[TOKEN], &["--digest", "--dry-run"]);
    assert_eq!(dry.as_array().unwrap().len(), 2, "{dry:#}");
    assert!(
        requests.lock().unwrap().is_empty(),
        "a dry run sends nothing"
    );

    // Ann's goes directly (Matrix, her direct room, never the team room) and fails once; Dave's by
    // e-mail.
    let (first, stderr) = notify(&t, &env, &[TOKEN], &["--digest"]);
    let summary = |v: &Value| -> Vec<(String, String, usize, String)> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|d| {
                (
                    d["person"].as_str().unwrap().to_owned(),
                    d["target"].as_str().unwrap_or("-").to_owned(),
                    d["problems"].as_array().unwrap().len(),
                    d["status"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    assert_eq!(
        summary(&first),
        [
            ("Ann Archer".into(), "matrix".into(), 2, "failed".into()),
            ("Dave Dunn".into(), "email".into(), 1, "sent".into())
        ]
    );
    assert!(
        stderr.contains("warning: the digest to Ann Archer by matrix failed"),
        "{stderr}"
    );
    {
        let mails = mails.lock().unwrap();
        assert_eq!(mails.len(), 1);
        assert_eq!(mails[0].0, ["<dave@example.org>"]);
        assert!(
            mails[0].1.contains("t.c failing since ci #3"),
            "{}",
            mails[0].1
        );
        assert!(!mails[0].1.contains("t.a"), "only Dave's: {}", mails[0].1);
    }
    // The next run: only Ann's, which failed, goes; Dave got his within the period.
    let (second, _) = notify(&t, &env, &[TOKEN], &["--digest"]);
    assert_eq!(
        summary(&second),
        [("Ann Archer".into(), "matrix".into(), 2, "sent".into())]
    );
    let sent: Vec<Request> = requests
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.path.contains("/send/"))
        .cloned()
        .collect();
    assert_eq!(sent.len(), 2, "the failed try and the retry");
    assert!(sent[0]
        .path
        .starts_with("/_matrix/client/v3/rooms/%21dm%3Aexample.org/send/m.room.message/"));
    assert_eq!(
        sent[0].path, sent[1].path,
        "the retry has the same transaction id"
    );
    assert_eq!(
        sent[1].header("Authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    let body: Value = serde_json::from_str(&sent[1].body).unwrap();
    let text = body["body"].as_str().unwrap();
    assert!(
        text.contains("2 open Problems that Ann Archer's changes started"),
        "{text}"
    );
    assert!(
        text.contains("t.a failing since ci #2") && text.contains("t.b"),
        "{text}"
    );
    assert!(!text.contains("t.c"), "{text}");
    assert_eq!(
        body["m.mentions"],
        json!({"user_ids": ["@ann:example.org"]})
    );
    assert_eq!(
        notify(&t, &env, &[TOKEN], &["--digest"]).0,
        json!([]),
        "at most once per period"
    );

    // A period later, Dave's Problem fixed: Ann gets hers again, Dave (none open) nothing.
    build(&t, 4, &tests, &["t.a", "t.b"], None);
    t.exec_sql(
        "UPDATE notifications SET sent_at = sent_at - 90000000000 WHERE target LIKE 'digest:%'",
    );
    let (later, _) = notify(&t, &env, &[TOKEN], &["--digest"]);
    assert_eq!(
        summary(&later),
        [("Ann Archer".into(), "matrix".into(), 2, "sent".into())]
    );
    assert_eq!(mails.lock().unwrap().len(), 1);
}

// ---------------------------------------------------------------------------------------------
// The bot in XMPP and Matrix rooms (IRC: tests/it/irc.rs).

/// How long anything in a bot test may take before it fails (a bound, not a timing check).
const PATIENCE: Duration = Duration::from_secs(90);

/// Starts `probtrack bot` with `env`, its log in `bot.log`.
pub(crate) fn start_bot(t: &Test, env: &[(&str, &str)]) -> Child {
    let log = std::fs::File::create(t.path("bot.log")).unwrap();
    let mut cmd = t.command(&["bot"]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.stdout(Stdio::null()).stderr(log).spawn().unwrap()
}

/// Waits until the bot's log holds `needle`; the log.
#[track_caller]
fn wait_log(t: &Test, needle: &str) -> String {
    let start = Instant::now();
    loop {
        let log = std::fs::read_to_string(t.path("bot.log")).unwrap();
        if log.contains(needle) {
            return log;
        }
        assert!(
            start.elapsed() < PATIENCE,
            "no `{needle}` in the log:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// SIGTERM: the bot exits 0 and says it stopped.
#[track_caller]
pub(crate) fn stop_bot(t: &Test, mut bot: Child) {
    let killed = Command::new("kill")
        .args(["-TERM", &bot.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let start = Instant::now();
    let status = loop {
        if let Some(status) = bot.try_wait().unwrap() {
            break status;
        }
        assert!(start.elapsed() < PATIENCE, "the bot did not stop");
        std::thread::sleep(Duration::from_millis(50));
    };
    let log = std::fs::read_to_string(t.path("bot.log")).unwrap();
    assert!(status.success(), "{status}: {log}");
    assert!(log.ends_with("bot: stopped\n"), "{log}");
}

/// The users map and a history for the bot to answer from: Ann's change opened t.new and the
/// hostile test's Problem, Dave's t.old. Returns the Problem ids (t.new, hostile).
fn bot_history(t: &Test, users: &str, bot: &str) -> (i64, i64) {
    let config = format!(
        "report_url = \"https://ci.example.org/probtrack/\"\n\n\
         [[users]]\nname = \"Ann Archer\"\nemails = [\"ann@example.org\"]\n{users}\n\n\
         [bot]\nanswers_per_minute = 6\nanswers_per_asker = 6\n\n{bot}"
    );
    history(t, &config)
}

/// The hostile name as the bot's answers show it: cut to 160 characters, every control
/// character written out.
fn hostile_shown() -> &'static str {
    "evil.name\\r\\nPRIVMSG #ci :owned\\u{1b}[31m\\u{3}\\u{3}4red\\u{2} @everyone <b>&amp; xxx"
}

/// The `<message>` stanzas in `stream` from `from`: (type, body unescaped).
fn messages_from(stream: &str, from: &str) -> Vec<(String, String)> {
    stream
        .split("<message")
        .skip(1)
        .filter(|m| {
            let head = &m[..m.find('>').unwrap_or(m.len())];
            head.contains(&format!("from='{from}")) || head.contains(&format!("from=\"{from}"))
        })
        .map(|m| {
            let head = &m[..m.find('>').unwrap_or(m.len())];
            let kind = ["type='", "type=\""]
                .iter()
                .find_map(|k| head.split_once(k))
                .map(|(_, rest)| rest[..rest.find(['\'', '"']).unwrap()].to_owned())
                .unwrap_or_default();
            let body = bodies(&format!("<message{m}"))
                .into_iter()
                .next()
                .unwrap_or_default();
            (kind, body)
        })
        .collect()
}

#[test]
fn the_bot_answers_in_an_xmpp_room_and_directly_and_stops_on_sigterm() {
    const PASSWORD: &str = "xmpp-bot-s3cret-41";
    let Some(server) = Prosody::start(&[("ptbot", PASSWORD), ("watcher", "watcher-password")])
    else {
        return;
    };
    let t = Test::new();
    let (new, hostile) = bot_history(
        &t,
        "xmpp = \"ann@localhost\"",
        &server.table("bot.xmpp", "ptbot", server.port, "nick = \"ptbot\"\n"),
    );
    let before = t.dump();
    let mut watcher = Client::in_room(&server, "watcher", "watcher-password");
    // Said before the bot came: never answered.
    watcher.send(
        "<message to='ci@conference.localhost' type='groupchat' id='old'>\
         <body>ptbot: flaky</body></message>",
    );
    watcher.drain("w1");

    let bot = start_bot(&t, &[("PROBTRACK_XMPP_PASSWORD", PASSWORD)]);
    watcher.wait_for("ci@conference.localhost/ptbot");
    wait_log(&t, "bot: in XMPP server 127.0.0.1");
    watcher.drain("w2");

    let mut n = 0;
    let mut ask = |watcher: &mut Client, question: &str, expect: &str| -> Vec<(String, String)> {
        n += 1;
        watcher.send(&format!(
            "<message to='ci@conference.localhost' type='groupchat' id='q{n}'>\
             <body>{}</body></message>",
            question.replace('&', "&amp;").replace('<', "&lt;")
        ));
        watcher.wait_for(expect);
        let stream = watcher.drain(&format!("a{n}"));
        messages_from(&stream, "ci@conference.localhost/ptbot")
    };
    let since = ask(&mut watcher, "ptbot: since t.new", "t.new has failed since");
    assert_eq!(since.len(), 1, "one message: {since:?}");
    assert_eq!(since[0].0, "groupchat");
    assert_eq!(
        since[0].1,
        format!(
            "watcher: t.new has failed since ci #3 (2024-03-01T10:03:00Z); started by Ann Archer\n\
             Problem {new}: https://ci.example.org/probtrack/problem-{new}.html"
        )
    );
    // Problems, the hostile name among them: one message, its line breaks, escape sequences and
    // formatting codes written out, nothing injected.
    let problems = ask(&mut watcher, "ptbot, problems", "open Problems");
    assert_eq!(problems.len(), 1, "{problems:?}");
    let text = &problems[0].1;
    assert!(text.starts_with("watcher: 3 open Problems:\n"), "{text}");
    assert!(
        text.contains(&format!(
            "Problem {new}: t.new (open, since ci #3; on the hook: Ann Archer)"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("Problem {hostile}: {}", hostile_shown())),
        "{text}"
    );
    assert_eq!(text.lines().count(), 4, "a line per Problem: {text}");
    assert!(!text.contains(['\r', '\x1b', '\x03', '\x02']), "{text:?}");
    let who = ask(&mut watcher, "PTBOT: who", "Dave Dunn: Problem");
    let who = &who[0].1;
    assert!(
        who.starts_with("watcher: Ann Archer (ann@localhost): Problems ")
            && who.contains(&new.to_string())
            && who.contains(&hostile.to_string()),
        "the XMPP handle: {who}"
    );
    // Not addressed to it: no answer.
    watcher.send(
        "<message to='ci@conference.localhost' type='groupchat' id='chat'>\
         <body>problems, anyone?</body></message>",
    );
    // A direct message needs no nick, and gets a direct answer.
    watcher.send("<message to='ptbot@localhost' type='chat' id='d1'><body>help</body></message>");
    watcher.wait_for("Ask me");
    let stream = watcher.drain("d1");
    let direct = messages_from(&stream, "ptbot@localhost/");
    assert_eq!(direct.len(), 1, "{stream}");
    assert_eq!(direct[0].0, "chat");
    assert!(direct[0].1.starts_with("Ask me: since TEST"), "{direct:?}");
    assert!(
        messages_from(&stream, "ci@conference.localhost/ptbot").is_empty(),
        "{stream}"
    );

    // The seventh question within a minute is not answered.
    ask(&mut watcher, "ptbot: show 1", "Problem 1:");
    ask(&mut watcher, "ptbot: flaky", "no flaky tests");
    watcher.send(
        "<message to='ci@conference.localhost' type='groupchat' id='many'>\
         <body>ptbot: help</body></message>",
    );
    let log = wait_log(&t, "too many questions: watcher not answered");

    stop_bot(&t, bot);
    // It left the room.
    watcher.wait_for("type='unavailable'");
    let stream = watcher.drain("end");
    assert!(stream.contains("ci@conference.localhost/ptbot"), "{stream}");
    assert!(log.contains("bot: watcher asked `since t.new`"), "{log}");
    assert_eq!(log.matches("asked `flaky`").count(), 1, "{log}");
    assert!(!log.contains("anyone"), "{log}");
    assert!(!log.contains(PASSWORD));
    // It only read.
    assert_eq!(t.dump(), before);
}

/// The `m.room.message` events in `room`, oldest first, as `token`'s user sees them.
fn room_events(server: &Synapse, token: &str, room: &str) -> Vec<Value> {
    let (status, answer) = http(
        "GET",
        &format!(
            "{}/_matrix/client/v3/rooms/{}/messages?dir=b&limit=100",
            server.url,
            room.replace('!', "%21").replace(':', "%3A")
        ),
        Some(token),
        None,
    );
    assert_eq!(status, 200, "{answer}");
    let mut out: Vec<Value> = answer["chunk"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "m.room.message")
        .cloned()
        .collect();
    out.reverse();
    out
}

#[test]
fn the_bot_answers_in_a_matrix_room_with_notices_and_stops_on_sigterm() {
    let Some(server) = Synapse::start(&[("ptbot", "bot-password"), ("ann", "ann-password")]) else {
        return;
    };
    let bot_token = server.login("ptbot", "bot-password");
    let ann = server.login("ann", "ann-password");
    let room = server.public_room(&ann, "ci");
    let count = std::cell::Cell::new(0);
    let say = |text: &str| -> String {
        count.set(count.get() + 1);
        let txn = count.get();
        let (status, sent) = http(
            "PUT",
            &format!(
                "{}/_matrix/client/v3/rooms/{}/send/m.room.message/ann{txn}",
                server.url,
                room.replace('!', "%21").replace(':', "%3A")
            ),
            Some(&ann),
            Some(json!({"msgtype": "m.text", "body": text})),
        );
        assert_eq!(status, 200, "{sent}");
        sent["event_id"].as_str().unwrap().to_owned()
    };

    let t = Test::new();
    let (new, hostile) = bot_history(
        &t,
        "matrix = \"@ann:localhost\"",
        &format!(
            "[bot.matrix]\nhomeserver = \"{}\"\nrooms = [\"#ci:localhost\"]\n",
            server.url
        ),
    );
    let before = t.dump();
    // The bot is in the room already, and this was said before it started: never answered.
    let (status, _) = http(
        "POST",
        &format!("{}/_matrix/client/v3/join/%23ci%3Alocalhost", server.url),
        Some(&bot_token),
        Some(json!({})),
    );
    assert_eq!(status, 200);
    let old = say("ptbot: flaky");

    let bot = start_bot(&t, &[("PROBTRACK_MATRIX_TOKEN", &bot_token)]);
    wait_log(&t, &format!("bot: in Matrix homeserver {}", server.url));
    // Each answer: an m.notice that replies to the question and notifies only the asker.
    let ask = |question: &str| -> Value {
        let id = say(question);
        let start = Instant::now();
        loop {
            let answer = room_events(&server, &bot_token, &room)
                .into_iter()
                .find(|e| e["content"]["m.relates_to"]["m.in_reply_to"]["event_id"] == id.as_str());
            if let Some(answer) = answer {
                assert_eq!(answer["sender"], "@ptbot:localhost");
                let content = &answer["content"];
                assert_eq!(content["msgtype"], "m.notice", "{answer:#}");
                assert_eq!(
                    content["m.mentions"],
                    json!({"user_ids": ["@ann:localhost"]})
                );
                assert!(content.get("format").is_none() && content.get("formatted_body").is_none());
                // Its transaction id is made from the question (a retry is taken once).
                let txn = answer["unsigned"]["transaction_id"]
                    .as_str()
                    .unwrap_or_default();
                assert!(txn.starts_with("probtrack-bot."), "{answer:#}");
                return content["body"].clone();
            }
            assert!(start.elapsed() < PATIENCE, "no answer to {question}");
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    assert_eq!(
        ask("ptbot: since t.new"),
        format!(
            "t.new has failed since ci #3 (2024-03-01T10:03:00Z); started by Ann Archer\n\
             Problem {new}: https://ci.example.org/probtrack/problem-{new}.html"
        )
    );
    let problems = ask("@ptbot:localhost: problems");
    let text = problems.as_str().unwrap();
    assert!(text.starts_with("3 open Problems:\n"), "{text}");
    assert!(
        text.contains(&format!("Problem {hostile}: {}", hostile_shown())),
        "{text}"
    );
    assert_eq!(text.lines().count(), 4, "a line per Problem: {text}");
    assert!(!text.contains(['\r', '\x1b', '\x03', '\x02']), "{text:?}");
    let who = ask("PTBOT, who");
    let who = who.as_str().unwrap();
    assert!(
        who.starts_with("Ann Archer (@ann:localhost): Problems ")
            && who.contains(&new.to_string())
            && who.contains(&hostile.to_string()),
        "the Matrix handle: {who}"
    );
    // Not addressed to it, or a notice (another bot's): no answer.
    say("problems, anyone?");
    let (status, _) = http(
        "PUT",
        &format!(
            "{}/_matrix/client/v3/rooms/{}/send/m.room.message/notice1",
            server.url,
            room.replace('!', "%21").replace(':', "%3A")
        ),
        Some(&ann),
        Some(json!({"msgtype": "m.notice", "body": "ptbot: help"})),
    );
    assert_eq!(status, 200);
    ask("ptbot: show 1");
    ask("ptbot: flaky");
    ask("ptbot: help");
    // The seventh question within a minute is not answered.
    say("ptbot: help");
    let log = wait_log(&t, "too many questions: @ann:localhost not answered");

    stop_bot(&t, bot);
    let events = room_events(&server, &bot_token, &room);
    let answers: Vec<&Value> = events
        .iter()
        .filter(|e| e["sender"] == "@ptbot:localhost")
        .collect();
    assert_eq!(answers.len(), 6, "{answers:#?}");
    assert!(
        answers
            .iter()
            .all(|a| a["content"]["m.relates_to"]["m.in_reply_to"]["event_id"] != old.as_str()),
        "the old question was answered"
    );
    assert_eq!(log.matches("asked `flaky`").count(), 1, "{log}");
    assert!(!log.contains("anyone"), "{log}");
    assert!(!log.contains(&bot_token));
    // It only read.
    assert_eq!(t.dump(), before);
}

#[test]
fn xmpp_retries_a_message_only_where_it_did_not_arrive() {
    const PASSWORD: &str = "xmpp-retry-s3cret";
    let Some(server) = Prosody::start(&[
        ("probtrack", PASSWORD),
        ("ann", "ann-password"),
        ("watcher", "watcher-password"),
    ]) else {
        return;
    };
    let t = Test::new();
    // Ann's handle first names a server that does not exist: her direct messages bounce, while
    // the room takes them.
    let config = |ann: &str| {
        format!(
            "[[users]]\nname = \"Ann Archer\"\nemails = [\"ann@example.org\"]\nxmpp = \"{ann}\"\n\n{}",
            server.table("notify.xmpp", "probtrack", server.port, "")
        )
    };
    let (new, hostile) = history(&t, &config("ann@elsewhere.invalid"));
    let mut watcher = Client::in_room(&server, "watcher", "watcher-password");
    let env = [("PROBTRACK_XMPP_PASSWORD", PASSWORD)];
    let failed = [
        (new, "xmpp".to_owned(), "failed".to_owned()),
        (hostile, "xmpp".to_owned(), "failed".to_owned()),
    ];
    let (first, stderr) = notify(&t, &env, &[PASSWORD], &[]);
    assert_eq!(statuses(&first), failed, "{stderr}");
    assert!(
        stderr.contains("the message to ann@elsewhere.invalid bounced"),
        "{stderr}"
    );
    assert_eq!(bodies(&watcher.drain("r1")).len(), 2);
    // Retried: the bounce again, and the room, which has the messages, gets nothing twice.
    let (second, _) = notify(&t, &env, &[PASSWORD], &[]);
    assert_eq!(statuses(&second), failed);
    assert_eq!(bodies(&watcher.drain("r2")), Vec::<String>::new());
    // Her handle mended: the messages reach her, and only her.
    std::fs::write(t.path("probtrack.toml"), config("ann@localhost")).unwrap();
    let (third, _) = notify(&t, &env, &[PASSWORD], &[]);
    assert!(statuses(&third).iter().all(|s| s.2 == "sent"), "{third:#}");
    assert_eq!(bodies(&watcher.drain("r3")), Vec::<String>::new());
    let mut ann = Client::connect(server.port, &server.ca(), "ann", "ann-password");
    ann.send("<presence/>");
    let direct = bodies(&ann.drain("a1"));
    assert_eq!(direct.len(), 2, "{direct:#?}");
    assert_eq!(notify(&t, &env, &[PASSWORD], &[]).0, json!([]));
}

#[test]
fn zulip_tells_a_person_with_a_user_id_directly_and_retries_only_what_failed() {
    const KEY: &str = "zulip-direct-key-77";
    // The first two direct messages are refused; everything else is taken.
    let refusals = Arc::new(std::sync::Mutex::new(2));
    let left = Arc::clone(&refusals);
    let (url, requests) = capture(move |r| {
        let mut left = left.lock().unwrap();
        if r.body.starts_with("type=direct") && *left > 0 {
            *left -= 1;
            (
                400,
                r#"{"result":"error","msg":"no such user","code":"BAD_REQUEST"}"#.to_owned(),
            )
        } else {
            (200, r#"{"result":"success","msg":"","id":42}"#.to_owned())
        }
    });
    let t = Test::new();
    let (new, hostile) = history(
        &t,
        &format!(
            "[[users]]\nname = \"Ann Archer\"\nemails = [\"ann@example.org\"]\n\
             zulip = \"Ann A|12\"\n\n\
             [notify.zulip]\nsite = \"{url}\"\nemail = \"probtrack-bot@example.zulipchat.com\"\n\
             stream = \"ci\"\n"
        ),
    );
    let env = [("PROBTRACK_ZULIP_API_KEY", KEY)];
    let sent = |requests: &[Request]| -> Vec<Vec<(String, String)>> {
        requests.iter().map(|r| form(&r.body)).collect()
    };
    let (first, stderr) = notify(&t, &env, &[KEY], &[]);
    assert_eq!(
        statuses(&first),
        [
            (new, "zulip".to_owned(), "failed".to_owned()),
            (hostile, "zulip".to_owned(), "failed".to_owned())
        ]
    );
    assert!(stderr.contains("no such user"), "{stderr}");
    let taken = sent(&requests.lock().unwrap().drain(..).collect::<Vec<_>>());
    let kinds: Vec<&str> = taken.iter().map(|f| f[0].1.as_str()).collect();
    assert_eq!(
        kinds,
        ["stream", "direct", "stream", "direct"],
        "{taken:#?}"
    );
    // A direct message: to the user id, the text in its block, no mention needed.
    let direct = &taken[1];
    let keys: Vec<&str> = direct.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["type", "to", "content"]);
    assert_eq!(direct[1].1, "[12]");
    assert!(direct[2].1.starts_with("```text\n"), "{}", direct[2].1);
    assert!(direct[2].1.ends_with("\n```"), "{}", direct[2].1);
    assert!(direct[2].1.contains("t.new broke"), "{}", direct[2].1);
    // The stream message mentions Ann by her handle.
    assert!(
        taken[0][3].1.ends_with("\n```\n@**Ann A|12**"),
        "{}",
        taken[0][3].1
    );

    // The retry goes only where it failed: to Ann, not to the stream again.
    let (second, _) = notify(&t, &env, &[KEY], &[]);
    assert!(
        statuses(&second).iter().all(|s| s.2 == "sent"),
        "{second:#}"
    );
    let retried = sent(&requests.lock().unwrap().drain(..).collect::<Vec<_>>());
    let kinds: Vec<&str> = retried.iter().map(|f| f[0].1.as_str()).collect();
    assert_eq!(kinds, ["direct", "direct"], "{retried:#?}");
    assert!(
        retried[1][2].1.contains(&hostile_name()),
        "whole: {}",
        retried[1][2].1
    );
    assert_eq!(notify(&t, &env, &[KEY], &[]).0, json!([]));
    assert!(requests.lock().unwrap().is_empty());
}

#[test]
fn notify_still_posts_in_an_xmpp_room_where_the_bot_sits_under_the_same_account() {
    const PASSWORD: &str = "xmpp-shared-s3cret";
    let Some(server) = Prosody::start(&[("probtrack", PASSWORD), ("watcher", "watcher-password")])
    else {
        return;
    };
    let t = Test::new();
    // No [bot.xmpp]: the bot sits where notify posts, as the same account and nick.
    history(
        &t,
        &server.table("notify.xmpp", "probtrack", server.port, ""),
    );
    let mut watcher = Client::in_room(&server, "watcher", "watcher-password");
    let env = [("PROBTRACK_XMPP_PASSWORD", PASSWORD)];
    let bot = start_bot(&t, &env);
    wait_log(&t, "bot: in XMPP server 127.0.0.1");
    watcher.drain("joined");
    let (sent, stderr) = notify(&t, &env, &[PASSWORD], &[]);
    assert!(
        statuses(&sent).iter().all(|s| s.2 == "sent") && sent.as_array().unwrap().len() == 2,
        "{sent:#}\n{stderr}"
    );
    let stream = watcher.drain("posted");
    let posted = messages_from(&stream, "ci@conference.localhost/probtrack");
    assert_eq!(posted.len(), 2, "{stream}");
    assert!(posted[0].1.contains("t.new broke"), "{posted:?}");
    // The bot still answers, and took notify's messages for its own.
    watcher.send(
        "<message to='ci@conference.localhost' type='groupchat' id='q'>\
         <body>probtrack: flaky</body></message>",
    );
    watcher.wait_for("watcher: no flaky tests");
    stop_bot(&t, bot);
    let log = std::fs::read_to_string(t.path("bot.log")).unwrap();
    assert_eq!(log.matches(" asked ").count(), 1, "{log}");
}

#[test]
fn the_bot_without_a_room_to_sit_in_is_a_usage_error() {
    let t = Test::new();
    build(&t, 1, &["t.a"], &[], None);
    let cases = [
        ("", "the bot has no room to sit in"),
        // notify's Matrix table that tells people directly only: no room for the bot.
        (
            "[notify.matrix]\nhomeserver = \"https://matrix.example.org\"\n",
            "the bot has no room to sit in",
        ),
        // notify's XMPP table without rooms (direct messages only): no room, and no bot that
        // answers anyone's direct messages on that account.
        (
            "[notify.xmpp]\njid = \"probtrack@example.org\"\ndirect = true\n",
            "the bot has no room to sit in",
        ),
        (
            "[bot.matrix]\nhomeserver = \"https://matrix.example.org\"\n",
            "[bot.matrix] has no rooms for the bot to sit in",
        ),
        (
            "[bot.xmpp]\njid = \"probtrack\"\n",
            "[bot.xmpp] jid `probtrack`: expected name@domain",
        ),
    ];
    for (config, error) in cases {
        std::fs::write(t.path("probtrack.toml"), config).unwrap();
        let stderr = t.fails(&["bot"], 2);
        assert!(stderr.contains(error), "{config}: {stderr}");
    }
}
