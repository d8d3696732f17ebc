//! IRC against a real server: `notify` to a channel and `probtrack bot` answering in one, on a
//! private ngircd started per test on a free port. A small client here joins the channel and
//! checks what arrives.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::{skip, Test};

/// How long anything here may take before the test fails (not a timing check: a bound).
const PATIENCE: Duration = Duration::from_secs(60);

fn ngircd_binary() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/usr/local/sbin".into()])
        .map(|d| d.join("ngircd"))
        .find(|p| p.is_file())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A private ngircd on 127.0.0.1, stopped when dropped.
struct Ngircd {
    child: Child,
    port: u16,
    tls_port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Ngircd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts ngircd with a generated configuration (`password`: the server password; `tls`: its
/// certificate and key, for a TLS port), or `None` (after `skip`) where it is not installed.
fn ngircd_with(password: Option<&str>, tls: Option<(&Path, &Path)>) -> Option<Ngircd> {
    let Some(binary) = ngircd_binary() else {
        skip(
            Some("PROBTRACK_REQUIRE_SERVERS"),
            "ngircd is not installed (apt-get install ngircd)",
        );
        return None;
    };
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let tls_port = free_port();
    let password = password
        .map(|p| format!("Password = {p}\n"))
        .unwrap_or_default();
    let tls = tls
        .map(|(cert, key)| {
            format!(
                "[SSL]\nCertFile = {}\nKeyFile = {}\nPorts = {tls_port}\n",
                cert.display(),
                key.display()
            )
        })
        .unwrap_or_default();
    // Started as root, ngircd drops to ServerUID/ServerGID (nobody) once it has read its files.
    let config = format!(
        "[Global]\nName = irc.probtrack.test\nInfo = probtrack test server\n\
         Listen = 127.0.0.1\nPorts = {port}\nMotdPhrase = \"probtrack test\"\n\
         ServerUID = 65534\nServerGID = 65534\n{password}\
         [Limits]\nMaxNickLength = 20\nPingTimeout = 300\nPongTimeout = 300\n\
         [Options]\nDNS = no\nIdent = no\nPAM = no\n\
         [Operator]\nName = boss\nPassword = boss-pw\n{tls}"
    );
    let conf = dir.path().join("ngircd.conf");
    std::fs::write(&conf, config).unwrap();
    let child = Command::new(binary)
        .args(["--nodaemon", "--config"])
        .arg(&conf)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start ngircd");
    let server = Ngircd {
        child,
        port,
        tls_port,
        _dir: dir,
    };
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < PATIENCE,
            "ngircd did not listen on {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(server)
}

fn ngircd(password: Option<&str>) -> Option<Ngircd> {
    ngircd_with(password, None)
}

/// A person in the channel: every line the server sends it, kept.
struct Client {
    writer: TcpStream,
    lines: Arc<Mutex<Vec<String>>>,
    syncs: usize,
}

impl Client {
    fn join(port: u16, nick: &str, password: Option<&str>, channel: &str) -> Client {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let mut writer = stream.try_clone().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&lines);
        let mut pong = stream.try_clone().unwrap();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stream);
            loop {
                let mut raw = Vec::new();
                if reader.read_until(b'\n', &mut raw).unwrap_or(0) == 0 {
                    break;
                }
                let line = String::from_utf8_lossy(&raw).into_owned();
                if let Some(token) = line.strip_prefix("PING ") {
                    let _ = pong.write_all(format!("PONG {token}").as_bytes());
                }
                kept.lock().unwrap().push(line);
            }
        });
        if let Some(p) = password {
            writer
                .write_all(format!("PASS {p}\r\n").as_bytes())
                .unwrap();
        }
        writer
            .write_all(format!("NICK {nick}\r\nUSER {nick} 0 * :{nick}\r\n").as_bytes())
            .unwrap();
        let client = Client {
            writer,
            lines,
            syncs: 0,
        };
        client.wait_for("the welcome", |l| l.iter().any(|l| l.contains(" 001 ")));
        let mut client = client;
        client.send(&format!("JOIN {channel}"));
        client.wait_for("the join", |l| l.iter().any(|l| l.contains(" 366 ")));
        client
    }

    fn send(&mut self, line: &str) {
        self.writer
            .write_all(format!("{line}\r\n").as_bytes())
            .unwrap();
    }

    #[track_caller]
    fn wait_for(&self, what: &str, done: impl Fn(&[String]) -> bool) -> Vec<String> {
        let start = Instant::now();
        loop {
            let lines = self.lines.lock().unwrap().clone();
            if done(&lines) {
                return lines;
            }
            assert!(
                start.elapsed() < PATIENCE,
                "waited for {what}; the client got:\n{}",
                lines.concat()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Everything the server relayed before now has arrived (the server answers in order).
    fn sync(&mut self) -> Vec<String> {
        self.syncs += 1;
        let token = format!("sync{}", self.syncs);
        self.send(&format!("PING :{token}"));
        self.wait_for("the server's PONG", |l| {
            l.iter().any(|l| l.contains("PONG") && l.contains(&token))
        })
    }

    /// Everything `nick` said before it quit for the `times`th time (the server may hold a
    /// client's lines back for flood protection; its QUIT comes after them).
    fn gone(&self, nick: &str, times: usize) -> Vec<String> {
        self.wait_for(&format!("{nick}'s quit #{times}"), |l| {
            l.iter()
                .filter(|l| l.starts_with(&format!(":{nick}!")) && l.contains(" QUIT "))
                .count()
                >= times
        })
    }

    /// The texts `from` said in the channel or to us, in order.
    fn said_by(&self, from: &str) -> Vec<String> {
        said_by(&self.lines.lock().unwrap(), from)
    }
}

fn said_by(lines: &[String], from: &str) -> Vec<String> {
    lines
        .iter()
        .filter(|l| l.starts_with(&format!(":{from}!")) && l.contains(" PRIVMSG "))
        .map(|l| {
            let text = l.split_once(" :").map_or("", |(_, t)| t);
            text.trim_end_matches(['\r', '\n']).to_owned()
        })
        .collect()
}

fn ingest(t: &Test, number: i64, cases: &[(&str, bool)], change: Option<&str>) {
    let mut xml = String::from("<?xml version=\"1.0\"?>\n<testsuite name=\"s\">\n");
    for (name, passed) in cases {
        let (class, name) = name.rsplit_once('.').unwrap();
        xml += &format!("<testcase classname=\"{class}\" name=\"{name}\" time=\"0.1\">");
        if !passed {
            xml += "<failure message=\"AssertionError: boom\"/>";
        }
        xml += "</testcase>\n";
    }
    xml += "</testsuite>\n";
    let file = format!("ci-{number}.xml");
    std::fs::write(t.path(&file), xml).unwrap();
    let time = format!("2024-03-01T00:{number:02}:00Z");
    let mut args = vec!["--time", &time];
    if let Some(c) = change {
        args.extend(["--change", c]);
    }
    args.push(&file);
    t.ingest("ci", number, &args);
}

fn settings(t: &Test, port: u16, irc_extra: &str) {
    std::fs::write(
        t.path("probtrack.toml"),
        format!(
            "report_url = \"https://ci.example.org/probtrack/\"\n\n\
             [[users]]\nname = \"Ann Archer\"\nemails = [\"ann@example.org\"]\nirc = \"annie\"\n\n\
             [notify.irc]\nserver = \"127.0.0.1\"\nport = {port}\ntls = false\nnick = \"probtrack\"\n\
             channels = [\"#ci\"]\npace_ms = 50\n{irc_extra}"
        ),
    )
    .unwrap();
}

fn notify(t: &Test, password: &str) -> (Value, String) {
    let out = t
        .command(&["notify", "--format", "json"])
        .env("PROBTRACK_IRC_PASSWORD", password)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "notify failed:\n{stderr}");
    (serde_json::from_slice(&out.stdout).unwrap(), stderr)
}

fn statuses(deliveries: &Value) -> Vec<(String, String)> {
    deliveries
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["target"].as_str().unwrap().to_owned(),
                d["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn notify_tells_the_channel_once_mentioning_the_nick_and_keeps_what_a_down_server_missed() {
    let Some(server) = ngircd(Some("s3cret")) else {
        return;
    };
    let t = Test::new();
    settings(&t, server.port, "");
    ingest(&t, 1, &[("t.login", true), ("t.core", true)], None);
    t.ok(&["notify", "--mark-all-sent"]);
    ingest(
        &t,
        2,
        &[("t.login", false), ("t.core", true)],
        Some("c2ab34:Ann A <ann@example.org>"),
    );
    let mut watcher = Client::join(server.port, "watcher", Some("s3cret"), "#ci");

    // The users map's nick, the test, the Problem, the change: in the channel, once.
    let (sent, stderr) = notify(&t, "s3cret");
    assert_eq!(statuses(&sent), [("irc".into(), "sent".into())], "{stderr}");
    assert_eq!(sent[0]["recipients"][0]["handles"]["irc"], "annie");
    // users shows the handles.
    assert_eq!(t.json(&["users"])[0]["handles"]["irc"], "annie");
    let table = t.ok(&["users"]);
    assert!(table.contains("irc:annie"), "{table}");
    let lines = watcher.gone("probtrack", 1);
    let text = said_by(&lines, "probtrack").join("\n");
    for part in [
        "t.login broke — Problem 1",
        "c2ab34 by Ann A <ann@example.org>",
        "Responsible: annie.",
        "https://ci.example.org/probtrack/problem-1.html",
    ] {
        assert!(text.contains(part), "{part} in:\n{text}");
    }
    let joins = |lines: &[String]| {
        lines
            .iter()
            .filter(|l| l.starts_with(":probtrack!") && l.contains(" JOIN "))
            .count()
    };
    assert_eq!(joins(&lines), 1);
    // A second notify has nothing new: it does not even join.
    let (again, _) = notify(&t, "s3cret");
    assert_eq!(again, serde_json::json!([]));
    assert_eq!(joins(&watcher.sync()), 1);

    // The server is down (another port): a warning naming it, nothing marked sent.
    ingest(
        &t,
        3,
        &[("t.login", false), ("t.core", false)],
        Some("d3:Bob <bob@example.org>"),
    );
    let dead = free_port();
    settings(&t, dead, "");
    let (failed, stderr) = notify(&t, "s3cret");
    assert_eq!(statuses(&failed), [("irc".into(), "failed".into())]);
    assert!(
        stderr.contains(&format!("IRC server 127.0.0.1:{dead}"))
            && stderr.contains("retried next run"),
        "{stderr}"
    );
    // A wrong password, and SASL where the server offers none: refused, and nothing marked.
    settings(&t, server.port, "");
    let (refused, stderr) = notify(&t, "wrong");
    assert_eq!(statuses(&refused), [("irc".into(), "failed".into())]);
    assert!(
        stderr.contains("refused us") && stderr.contains("Bad password"),
        "{stderr}"
    );
    assert!(!stderr.contains("wrong"), "the password leaked: {stderr}");
    settings(&t, server.port, "sasl_user = \"probtrack\"\n");
    let (no_sasl, stderr) = notify(&t, "s3cret");
    assert_eq!(statuses(&no_sasl), [("irc".into(), "failed".into())]);
    assert!(stderr.contains("offers no SASL"), "{stderr}");
    assert!(!stderr.contains("s3cret"), "the password leaked: {stderr}");
    // Back up: the kept message goes now, and only once.
    settings(&t, server.port, "");
    let (kept, _) = notify(&t, "s3cret");
    assert_eq!(statuses(&kept), [("irc".into(), "sent".into())]);
    assert_eq!(kept[0]["test"], "t.core");
    let text = said_by(&watcher.gone("probtrack", 2), "probtrack").join("\n");
    assert!(text.contains("t.core broke — Problem 2"), "{text}");
    assert_eq!(text.matches("t.core broke").count(), 1, "{text}");
    assert_eq!(notify(&t, "s3cret").0, serde_json::json!([]));
}

/// Test names that would inject IRC commands (CR LF), format (bold, colour) or run past 512
/// bytes; a message per Problem, then many at once, folded.
#[test]
fn hostile_names_arrive_inert_and_whole_and_many_problems_fold_into_one_message() {
    let Some(server) = ngircd(None) else {
        return;
    };
    let t = Test::new();
    settings(&t, server.port, "");
    let inject = "t.evil&#13;&#10;QUIT :pwned&#13;&#10;PRIVMSG #ci :fake";
    let format = "t.bold&#2;red&#3;4x&#15;&#1;ACTION waves&#1;";
    let long = format!("t.long_{}_end", "é".repeat(150) + &"x".repeat(400));
    ingest(
        &t,
        1,
        &[(inject, true), (format, true), (&long, true)],
        None,
    );
    t.ok(&["notify", "--mark-all-sent"]);
    ingest(
        &t,
        2,
        &[(inject, false), (format, false), (&long, false)],
        Some("c2:Ann A <ann@example.org>"),
    );
    let watcher = Client::join(server.port, "watcher", None, "#ci");
    let (sent, stderr) = notify(&t, "");
    assert_eq!(statuses(&sent).len(), 3, "{stderr}");
    let lines = watcher.gone("probtrack", 1);
    let from_bot: Vec<&String> = lines
        .iter()
        .filter(|l| l.starts_with(":probtrack!"))
        .collect();
    // Nothing but its join, its messages and its quit; no line over 512 bytes.
    for line in &from_bot {
        assert!(
            line.contains(" JOIN ") || line.contains(" PRIVMSG #ci :") || line.contains(" QUIT "),
            "an injected command: {line:?}"
        );
        assert!(
            !(line.contains(" QUIT ") && line.contains("pwned")),
            "{line:?}"
        );
        assert!(line.len() <= 512, "{} bytes: {line:?}", line.len());
    }
    let said = said_by(&lines, "probtrack");
    assert!(
        said.iter()
            .all(|s| !s.contains(['\x01', '\x02', '\x03', '\x0f', '\r'])),
        "{said:?}"
    );
    let text = said.concat();
    assert!(
        text.contains("t.evil\\r\\nQUIT :pwned\\r\\nPRIVMSG #ci :fake broke"),
        "{text}"
    );
    assert!(
        text.contains("t.bold\\u{2}red\\u{3}4x\\u{f}\\u{1}ACTION waves\\u{1} broke"),
        "{text}"
    );
    // The long name was cut into lines that put together make it whole.
    assert!(text.contains(&format!("{long} broke — Problem ")), "{text}");
    assert!(
        said.len() > 3 * 5,
        "a line per line of each message: {said:?}"
    );

    // Five Problems at once: one message, a headline each.
    let names: Vec<String> = (1..=5).map(|i| format!("t.many{i}")).collect();
    let cases: Vec<(&str, bool)> = names.iter().map(|n| (n.as_str(), true)).collect();
    ingest(&t, 3, &cases, None);
    let cases: Vec<(&str, bool)> = names.iter().map(|n| (n.as_str(), false)).collect();
    ingest(&t, 4, &cases, Some("c4:Ann A <ann@example.org>"));
    let before = said.len();
    let (sent, _) = notify(&t, "");
    assert_eq!(statuses(&sent).len(), 5);
    let said = said_by(&watcher.gone("probtrack", 2), "probtrack");
    let folded = &said[before..];
    assert_eq!(folded[0], "5 Problems changed:", "{folded:?}");
    assert_eq!(folded.len(), 6, "{folded:?}");
    for (line, name) in folded[1..].iter().zip(&names) {
        assert!(
            line.starts_with(&format!("{name} broke — Problem")),
            "{line}"
        );
        assert!(line.contains("responsible: annie"), "{line}");
    }
    assert_eq!(notify(&t, "").0, serde_json::json!([]));
}

#[test]
fn the_bot_answers_in_the_channel_from_the_database_and_stops_on_sigterm() {
    let Some(server) = ngircd(None) else {
        return;
    };
    let t = Test::new();
    ingest(
        &t,
        1,
        &[("t.login.a", true), ("t.login.b", true), ("t.core.x", true)],
        None,
    );
    ingest(
        &t,
        2,
        &[
            ("t.login.a", true),
            ("t.login.b", true),
            ("t.core.x", false),
        ],
        Some("c2ab34:Ann A <ann@example.org>"),
    );
    std::fs::write(
        t.path("probtrack.toml"),
        format!(
            "report_url = \"https://ci.example.org/probtrack/\"\n\n\
             [[users]]\nname = \"Ann Archer\"\nemails = [\"ann@example.org\"]\nirc = \"annie\"\n\n\
             [bot]\nanswers_per_minute = 8\nanswers_per_asker = 8\n\n\
             [bot.irc]\nserver = \"127.0.0.1\"\nport = {}\ntls = false\nnick = \"ptbot\"\n\
             channels = [\"#ci\"]\npace_ms = 20\n",
            server.port
        ),
    )
    .unwrap();
    let before = t.dump();
    let candidates = t.fails(&["since", "login"], 3);
    let mut watcher = Client::join(server.port, "watcher", None, "#ci");
    let bot = crate::im::start_bot(&t, &[]);
    watcher.wait_for("the bot's join", |l| {
        l.iter()
            .any(|l| l.starts_with(":ptbot!") && l.contains(" JOIN "))
    });

    let mut ask = |question: &str, expect: &[&str]| -> Vec<String> {
        let before = watcher.said_by("ptbot").len();
        watcher.send(&format!("PRIVMSG #ci :{question}"));
        let lines = watcher.wait_for(question, |l| {
            let said = said_by(l, "ptbot")[before..].join("\n");
            expect.iter().all(|e| said.contains(e))
        });
        said_by(&lines, "ptbot")[before..].to_vec()
    };
    let since = ask(
        "ptbot: since t.core.x",
        &[
            "watcher: t.core.x has failed since ci #2",
            "started by Ann A",
            "watcher: Problem 1: https://ci.example.org/probtrack/problem-1.html",
        ],
    );
    assert!(
        since.iter().all(|l| l.starts_with("watcher: ")),
        "{since:?}"
    );
    // The candidates the CLI gives.
    assert!(candidates.contains("t.login.a") && candidates.contains("t.login.b"));
    ask(
        "ptbot, since login",
        &["`login` matches several tests: t.login.a, t.login.b"],
    );
    ask(
        "ptbot: problems",
        &[
            "1 open Problem:",
            "Problem 1: t.core.x (open, since ci #2; on the hook: Ann Archer)",
        ],
    );
    ask("ptbot: who", &["Ann Archer (annie): Problem 1"]);
    ask(
        "PTBOT: show 1",
        &[
            "Problem 1: t.core.x",
            "message: AssertionError: boom",
            "started by Ann A",
        ],
    );
    ask("ptbot: flaky", &["no flaky tests"]);
    ask("ptbot: what", &["I don't know `what`"]);
    // A private question gets a private answer.
    watcher.send("PRIVMSG ptbot :help");
    watcher.wait_for("the private answer", |l| {
        l.iter()
            .any(|l| l.starts_with(":ptbot!") && l.contains("PRIVMSG watcher :Ask me"))
    });
    // Lines not addressed to it get no answer; the ninth question in a minute is not answered.
    watcher.send("PRIVMSG #ci :problems, anyone?");
    watcher.send("PRIVMSG ptbot :\x01VERSION\x01");
    watcher.send("PRIVMSG #ci :ptbot: help");
    let start = Instant::now();
    loop {
        let log = std::fs::read_to_string(t.path("bot.log")).unwrap();
        if log.contains("too many questions: watcher not answered") {
            break;
        }
        assert!(start.elapsed() < PATIENCE, "no rate limit:\n{log}");
        std::thread::sleep(Duration::from_millis(50));
    }

    // SIGTERM: it leaves and exits 0.
    crate::im::stop_bot(&t, bot);
    watcher.wait_for("the bot's quit", |l| {
        l.iter()
            .any(|l| l.starts_with(":ptbot!") && l.contains(" QUIT "))
    });
    let said = watcher.said_by("ptbot").join("\n");
    assert!(
        !said.contains("anyone") && !said.contains("VERSION"),
        "{said}"
    );
    let log = std::fs::read_to_string(t.path("bot.log")).unwrap();
    assert!(log.contains("bot: watcher asked `since t.core.x`"), "{log}");
    assert!(!log.contains("VERSION"), "{log}");
    // It only read.
    assert_eq!(t.dump(), before);
}

/// A certificate authority and a certificate it signed for `localhost`, made by openssl.
fn certificates(dir: &Path) -> Option<(PathBuf, PathBuf, PathBuf)> {
    let openssl = |args: &[&str]| {
        Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !openssl(&["version"]) {
        skip(
            Some("PROBTRACK_REQUIRE_SERVERS"),
            "openssl is not installed",
        );
        return None;
    }
    std::fs::write(dir.join("san.ext"), "subjectAltName=DNS:localhost\n").unwrap();
    for args in [
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
        ][..],
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ],
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "san.ext",
        ],
    ] {
        assert!(openssl(args), "openssl {args:?} failed");
    }
    // ngircd reads them as root before it drops to nobody; readable either way.
    for f in ["server.pem", "server.key", "ca.pem"] {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.join(f), std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    Some((
        dir.join("ca.pem"),
        dir.join("server.pem"),
        dir.join("server.key"),
    ))
}

#[test]
fn notify_over_tls_trusts_the_configured_authority_only() {
    let certs = tempfile::tempdir().unwrap();
    let Some((ca, cert, key)) = certificates(certs.path()) else {
        return;
    };
    let Some(server) = ngircd_with(None, Some((&cert, &key))) else {
        return;
    };
    let t = Test::new();
    let tls = |ca: Option<&Path>| {
        std::fs::write(
            t.path("probtrack.toml"),
            format!(
                "[notify.irc]\nserver = \"localhost\"\nport = {}\nnick = \"probtrack\"\n\
                 channels = [\"#ci\"]\npace_ms = 50\n{}",
                server.tls_port,
                ca.map(|c| format!("ca_file = \"{}\"\n", c.display()))
                    .unwrap_or_default()
            ),
        )
        .unwrap();
    };
    ingest(&t, 1, &[("t.login", true)], None);
    t.ok(&["notify", "--mark-all-sent"]);
    ingest(
        &t,
        2,
        &[("t.login", false)],
        Some("c2:Ann A <ann@example.org>"),
    );
    let watcher = Client::join(server.port, "watcher", None, "#ci");
    // The web's authorities do not know this server: refused, kept.
    tls(None);
    let (refused, stderr) = notify(&t, "");
    assert_eq!(statuses(&refused), [("irc".into(), "failed".into())]);
    assert!(
        stderr.contains(&format!("IRC server localhost:{}", server.tls_port))
            && stderr.contains("certificate"),
        "{stderr}"
    );
    // With its authority: sent, over TLS, to the people on the plain port too.
    tls(Some(&ca));
    let (sent, stderr) = notify(&t, "");
    assert_eq!(statuses(&sent), [("irc".into(), "sent".into())], "{stderr}");
    let text = said_by(&watcher.gone("probtrack", 1), "probtrack").join("\n");
    assert!(text.contains("t.login broke — Problem 1"), "{text}");
}

/// ngircd has no SASL (it leaves that to services), so SASL PLAIN is checked against a loopback
/// server that speaks the IRCv3 exchange (CAP LS/REQ/ACK, AUTHENTICATE, 903/904) and records
/// every line it is sent.
fn sasl_server(password: &'static str) -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let lines = Arc::new(Mutex::new(Vec::new()));
    let kept = Arc::clone(&lines);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let mut out = stream.try_clone().unwrap();
            let mut reply = |text: &str| {
                let _ = out.write_all(format!("{text}\r\n").as_bytes());
            };
            let mut nick = String::from("*");
            for line in BufReader::new(stream).lines() {
                let Ok(line) = line else { break };
                kept.lock().unwrap().push(line.clone());
                let (command, rest) = line.split_once(' ').unwrap_or((&line, ""));
                match command {
                    "CAP" if rest.starts_with("LS") => {
                        reply(":sasl.test CAP * LS :multi-prefix sasl")
                    }
                    "CAP" if rest.starts_with("REQ") => reply(":sasl.test CAP * ACK :sasl"),
                    "CAP" => reply(&format!(":sasl.test 001 {nick} :Welcome")),
                    "NICK" => nick = rest.to_owned(),
                    "AUTHENTICATE" if rest == "PLAIN" => {
                        reply("AUTHENTICATE +");
                    }
                    "AUTHENTICATE" => {
                        use base64::Engine;
                        let wanted = base64::engine::general_purpose::STANDARD
                            .encode(format!("probtrack\0probtrack\0{password}"));
                        if rest == wanted {
                            reply(&format!(
                                ":sasl.test 903 {nick} :SASL authentication successful"
                            ));
                        } else {
                            reply(&format!(
                                ":sasl.test 904 {nick} :SASL authentication failed"
                            ));
                        }
                    }
                    "JOIN" => {
                        reply(&format!(":{nick}!u@h JOIN {rest}"));
                    }
                    "PING" => reply(&format!(":sasl.test PONG sasl.test {rest}")),
                    "QUIT" => break,
                    _ => {}
                }
            }
        }
    });
    (port, lines)
}

#[test]
fn sasl_plain_logs_in_before_registering_and_a_refusal_keeps_the_message() {
    let (port, lines) = sasl_server("pa55 word");
    let t = Test::new();
    settings(&t, port, "sasl_user = \"probtrack\"\n");
    ingest(&t, 1, &[("t.login", true)], None);
    t.ok(&["notify", "--mark-all-sent"]);
    ingest(
        &t,
        2,
        &[("t.login", false)],
        Some("c2:Ann A <ann@example.org>"),
    );
    // Without the password: a usage error before anything is sent.
    let out = t
        .command(&["notify"])
        .env_remove("PROBTRACK_IRC_PASSWORD")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("PROBTRACK_IRC_PASSWORD"));
    let (refused, stderr) = notify(&t, "wrong");
    assert_eq!(statuses(&refused), [("irc".into(), "failed".into())]);
    assert!(
        stderr.contains("SASL login as probtrack failed"),
        "{stderr}"
    );
    let (sent, stderr) = notify(&t, "pa55 word");
    assert_eq!(statuses(&sent), [("irc".into(), "sent".into())], "{stderr}");
    let lines = lines.lock().unwrap().clone();
    let last_session = lines.iter().rposition(|l| l == "CAP LS 302").unwrap();
    let session: Vec<&str> = lines[last_session..].iter().map(String::as_str).collect();
    assert_eq!(
        &session[..6],
        [
            "CAP LS 302",
            "NICK probtrack",
            "USER probtrack 0 * :probtrack",
            "CAP REQ :sasl",
            "AUTHENTICATE PLAIN",
            "AUTHENTICATE cHJvYnRyYWNrAHByb2J0cmFjawBwYTU1IHdvcmQ=",
        ]
    );
    assert_eq!(session[6], "CAP END");
    assert!(session.contains(&"JOIN #ci"));
    assert!(session
        .iter()
        .any(|l| l.starts_with("PRIVMSG #ci :t.login broke")));
    assert!(!lines
        .iter()
        .any(|l| l.contains("pa55") || l.starts_with("PASS")));
}

/// The texts `from` said in `channel`, in order.
fn said_in(lines: &[String], from: &str, channel: &str) -> Vec<String> {
    let there: Vec<String> = lines
        .iter()
        .filter(|l| l.contains(&format!(" PRIVMSG {channel} :")))
        .cloned()
        .collect();
    said_by(&there, from)
}

/// Settings for `channels`, and two Problems due.
fn two_problems_for(t: &Test, channels: &str) {
    let config = std::fs::read_to_string(t.path("probtrack.toml"))
        .unwrap()
        .replace("channels = [\"#ci\"]", &format!("channels = [{channels}]"));
    std::fs::write(t.path("probtrack.toml"), config).unwrap();
    ingest(t, 1, &[("t.login", true), ("t.core", true)], None);
    t.ok(&["notify", "--mark-all-sent"]);
    ingest(
        t,
        2,
        &[("t.login", false), ("t.core", false)],
        Some("c2ab34:Ann A <ann@example.org>"),
    );
}

/// One channel refuses the bot (invite only), another its messages (moderated): the channel that
/// took them is not told again when they are retried, and once the channels let it in, each gets
/// every message once.
#[test]
fn a_channel_that_refuses_the_bot_gets_the_retry_and_the_others_nothing_twice() {
    let Some(server) = ngircd(None) else {
        return;
    };
    let t = Test::new();
    settings(&t, server.port, "");
    two_problems_for(&t, "\"#ci\", \"#locked\", \"#quiet\"");
    let mut watcher = Client::join(server.port, "watcher", None, "#ci");
    // The owner of #locked and #quiet (the first in a channel is its operator) closes them.
    let mut owner = Client::join(server.port, "owner", None, "#locked");
    owner.send("JOIN #quiet");
    owner.wait_for("the join of #quiet", |l| {
        l.iter()
            .any(|l| l.contains(" 366 ") && l.contains("#quiet"))
    });
    owner.send("MODE #locked +i");
    owner.send("MODE #quiet +m");
    owner.sync();
    let failed = || {
        [
            ("irc".to_owned(), "failed".to_owned()),
            ("irc".into(), "failed".into()),
        ]
    };

    let (first, stderr) = notify(&t, "");
    assert_eq!(statuses(&first), failed(), "{stderr}");
    assert!(
        stderr.contains("cannot join #locked") && stderr.contains("#quiet refused the message"),
        "{stderr}"
    );
    let in_ci = said_in(&watcher.gone("probtrack", 1), "probtrack", "#ci").join("\n");
    assert_eq!(
        in_ci.matches("t.login broke — Problem 1").count(),
        1,
        "{in_ci}"
    );
    assert_eq!(
        in_ci.matches("t.core broke — Problem 2").count(),
        1,
        "{in_ci}"
    );

    // Retried while the two are still closed: #ci, which has the messages, gets nothing (and
    // is not even joined; the bot's lines were taken before it quit, so a sync sees them all).
    let (second, stderr) = notify(&t, "");
    assert_eq!(statuses(&second), failed(), "{stderr}");
    owner.gone("probtrack", 2);
    let lines = watcher.sync();
    assert_eq!(said_in(&lines, "probtrack", "#ci").join("\n"), in_ci);
    let joins = |lines: &[String]| {
        lines
            .iter()
            .filter(|l| l.starts_with(":probtrack!") && l.contains(" JOIN "))
            .count()
    };
    assert_eq!(joins(&lines), 1, "the retry joined #ci: {lines:?}");

    // Open: each message arrives in both, once; #ci gets nothing again.
    owner.send("MODE #locked -i");
    owner.send("MODE #quiet -m");
    let opened = owner.sync();
    assert_eq!(
        said_in(&opened, "probtrack", "#quiet"),
        Vec::<String>::new()
    );
    let (third, stderr) = notify(&t, "");
    assert!(statuses(&third).iter().all(|s| s.1 == "sent"), "{stderr}");
    assert_eq!(statuses(&third).len(), 2);
    let lines = owner.gone("probtrack", 3);
    for channel in ["#locked", "#quiet"] {
        let said = said_in(&lines, "probtrack", channel).join("\n");
        for headline in ["t.login broke — Problem 1", "t.core broke — Problem 2"] {
            assert_eq!(said.matches(headline).count(), 1, "{channel}: {said}");
        }
        assert!(said.contains("Responsible: annie."), "{said}");
    }
    let lines = watcher.sync();
    assert_eq!(said_in(&lines, "probtrack", "#ci").join("\n"), in_ci);
    assert_eq!(joins(&lines), 1, "a retry joined #ci: {lines:?}");
    assert_eq!(notify(&t, "").0, serde_json::json!([]));
}

/// The connection is lost in the middle of the second message in the first channel (an operator
/// kills the bot): the first message, which the server confirmed there, is said again only in the
/// second channel; the cut one again whole, in both.
#[test]
fn a_connection_lost_mid_run_is_retried_only_where_it_did_not_arrive() {
    let Some(server) = ngircd(None) else {
        return;
    };
    let t = Test::new();
    // Lines a second apart: the operator's KILL lands while the second message is being said.
    settings(&t, server.port, "");
    let config = std::fs::read_to_string(t.path("probtrack.toml")).unwrap();
    std::fs::write(
        t.path("probtrack.toml"),
        config.replace("pace_ms = 50", "pace_ms = 1000"),
    )
    .unwrap();
    two_problems_for(&t, "\"#ci\", \"#b\"");
    let mut owner = Client::join(server.port, "owner", None, "#ci");
    owner.send("JOIN #b");
    owner.send("OPER boss boss-pw");
    owner.wait_for("the join of #b and the operator", |l| {
        l.iter().any(|l| l.contains(" 366 ") && l.contains("#b"))
            && l.iter().any(|l| l.contains(" 381 "))
    });
    let run = t
        .command(&["notify", "--format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    owner.wait_for("the second message", |l| {
        said_in(l, "probtrack", "#ci")
            .iter()
            .any(|s| s.starts_with("t.core broke — Problem 2"))
    });
    owner.send("KILL probtrack :cut short");
    let out = run.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    let first: Value = serde_json::from_slice(&out.stdout).unwrap();
    let failed = [
        ("irc".to_owned(), "failed".to_owned()),
        ("irc".into(), "failed".into()),
    ];
    assert_eq!(statuses(&first), failed, "{stderr}");
    let lines = owner.sync();
    assert_eq!(said_in(&lines, "probtrack", "#b"), Vec::<String>::new());

    let (second, stderr) = notify(&t, "");
    assert!(statuses(&second).iter().all(|s| s.1 == "sent"), "{stderr}");
    // Its quits: the kill's, then the retry's.
    let lines = owner.gone("probtrack", 2);
    let details = |n: u32| format!("Details: https://ci.example.org/probtrack/problem-{n}.html");
    for channel in ["#ci", "#b"] {
        let said = said_in(&lines, "probtrack", channel);
        for n in [1, 2] {
            let whole = said.iter().filter(|s| **s == details(n)).count();
            assert_eq!(whole, 1, "problem {n} in {channel}: {said:#?}");
        }
    }
    // In #ci the first message once; the second cut, then whole.
    let in_ci = said_in(&lines, "probtrack", "#ci").join("\n");
    assert_eq!(
        in_ci.matches("t.login broke — Problem 1").count(),
        1,
        "{in_ci}"
    );
    assert_eq!(
        in_ci.matches("t.core broke — Problem 2").count(),
        2,
        "{in_ci}"
    );
    assert_eq!(notify(&t, "").0, serde_json::json!([]));
}
