//! notify to chat: XMPP against a real prosody (a real client in the room and a person's direct
//! messages), Matrix against a real Synapse homeserver, Zulip and Discord against loopback
//! capture servers that check each request's documented shape. Each: what arrives names the
//! test, the Problem, the change and the person's handle; a second run posts nothing; a server
//! that is down gets a warning naming it and the message on the next run; hostile test names
//! arrive inert and whole; the secret is never in the output.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::harness::{skip, Test};

/// CI sets it: a chat server that cannot be started is then a failure.
const REQUIRE: &str = "PROBTRACK_REQUIRE_CHAT_SERVERS";

/// A hostile test name: a newline and carriage return (an IRC command after them), an escape
/// sequence, IRC colour codes, `@everyone`, markup, and more than 600 characters.
fn hostile_name() -> String {
    format!(
        "evil.name\r\nPRIVMSG #ci :owned\x1b[31m\x03\x034red\x02 @everyone <b>&amp; {}end",
        "x".repeat(600)
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
    build(t, 2, &tests, &["t.old"], Some("c2:Dave Dunn <dave@example.org>"));
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
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
                "ca.pem", "-days", "2", "-subj", "/CN=probtrack test CA", "-addext",
                "basicConstraints=critical,CA:TRUE",
            ],
            d,
        );
        sh(
            "openssl",
            &[
                "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "localhost.key", "-out",
                "localhost.csr", "-subj", "/CN=localhost",
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
                "x509", "-req", "-in", "localhost.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", "localhost.crt", "-days", "2", "-extfile", "ext",
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
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{password}"));
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
            assert!(n > 0, "the server closed while waiting for {needle}: {}", self.buf);
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
             xmpp = \"ann@localhost\"\n\n\
             [notify.xmpp]\njid = \"probtrack@localhost\"\nserver = \"127.0.0.1\"\nport = {port}\n\
             ca_file = \"{}\"\nrooms = [\"ci@conference.localhost\"]\n",
            server.ca().display()
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
        stderr.contains("warning: Problem") && stderr.contains("xmpp") && stderr.contains("connecting to 127.0.0.1"),
        "{stderr}"
    );

    // A real client in the room, before the run.
    let mut watcher = Client::connect(server.port, &server.ca(), "watcher", "watcher-password");
    watcher.send("<presence/>");
    watcher.send(
        "<presence to='ci@conference.localhost/watcher'>\
         <x xmlns='http://jabber.org/protocol/muc'/></presence>",
    );
    watcher.wait_for("code='110'");
    watcher.drain("w0");

    // Up: what failed is sent now.
    std::fs::write(t.path("probtrack.toml"), config(server.port)).unwrap();
    // A wrong password: the login is refused, the password is not shown.
    let (wrong, stderr) = notify(
        &t,
        &[("PROBTRACK_XMPP_PASSWORD", "not-the-password-77")],
        &["not-the-password-77", PASSWORD],
        &[],
    );
    assert!(statuses(&wrong).iter().all(|s| s.2 == "failed"), "{wrong:#}");
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
    assert!(hostile_text.contains(&format!("Problem {hostile}")), "{hostile_text}");
    assert!(hostile_text.contains(&"x".repeat(600)), "cut: {hostile_text}");
    assert!(hostile_text.contains("@everyone <b>&amp; "), "{hostile_text}");
    assert!(hostile_text.contains("\\u{d}"), "the CR shown: {hostile_text}");
    assert!(hostile_text.contains("\\u{1b}[31m"), "the ESC shown: {hostile_text}");
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
