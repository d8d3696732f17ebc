//! IRC: one short session (connect, TLS, SASL PLAIN or a server password, register, join, talk,
//! quit), every line made inert and cut to fit the protocol's 512 bytes, and paced so that no
//! server drops the bot for flooding. `notify`'s [`Announcer`] and the bot's [`IrcRoom`] sit on it.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::bot::{Question, Room};
use crate::chat::Protocol;
use crate::error::{Error, Result};
use crate::notify::{fold, Destination, Message};
use crate::report::safe;
use crate::settings::IrcSettings;

/// How long connecting, registering or joining may take.
const TIMEOUT: Duration = Duration::from_secs(30);
/// How often a blocked read wakes up to look at its deadline.
const POLL: Duration = Duration::from_millis(250);
/// The longest line IRC carries, CR LF included (RFC 1459, 2.3).
const LINE_MAX: usize = 512;
/// What a server adds to a line it relays: `:nick!user@host ` with a user name of up to 10
/// bytes and a host name of up to 63.
const RELAY_PREFIX: usize = 1 + 1 + 10 + 1 + 63 + 1;

/// Where to connect and what to do there, checked.
#[derive(Clone)]
pub(crate) struct Config {
    server: String,
    port: u16,
    tls: bool,
    ca_file: Option<PathBuf>,
    nick: String,
    channels: Vec<String>,
    sasl_user: Option<String>,
    /// `PROBTRACK_IRC_PASSWORD`; never shown.
    password: Option<String>,
    pace: Duration,
}

impl Config {
    /// Checks `[notify.irc]` or `[bot.irc]` (named by `section` in errors).
    pub(crate) fn new(s: &IrcSettings, password: Option<String>, section: &str) -> Result<Config> {
        let bad = |what: String| {
            Error::usage(format!("{section} {what}"))
                .hint("see docs/notify.md, \"IRC\", for an example")
        };
        if s.server.trim().is_empty() || s.server.chars().any(|c| c.is_whitespace()) {
            return Err(bad(format!(
                "server `{}`: expected a host name",
                safe(s.server.as_bytes())
            )));
        }
        if s.channels.is_empty() {
            return Err(bad("has no channels: set channels = [\"#ci\"]".to_owned()));
        }
        for channel in &s.channels {
            let ok = channel.len() > 1
                && channel.len() <= 50
                && channel.starts_with(['#', '&', '+', '!'])
                && !channel
                    .chars()
                    .any(|c| c.is_control() || c == ' ' || c == ',');
            if !ok {
                return Err(bad(format!(
                    "channel `{}`: expected a name like #ci (no spaces, commas or control characters)",
                    safe(channel.as_bytes())
                )));
            }
        }
        let nick = s.nick.clone().unwrap_or_else(|| "probtrack".to_owned());
        let special = |c: char| "[]\\`_^{|}".contains(c);
        let nick_ok = nick.len() <= 30
            && nick
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || special(c))
            && nick
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || special(c) || c == '-');
        if !nick_ok {
            return Err(bad(format!(
                "nick `{}`: expected letters, digits and []\\`_^{{|}}- (at most 30)",
                safe(nick.as_bytes())
            )));
        }
        if s.sasl_user.is_some() && password.is_none() {
            return Err(bad(
                "has sasl_user but PROBTRACK_IRC_PASSWORD is not set: SASL needs the password"
                    .to_owned(),
            ));
        }
        let tls = s.tls.unwrap_or(true);
        let host = s.server.trim();
        let local = host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if password.is_some() && !tls && !local {
            return Err(bad(format!(
                "would send PROBTRACK_IRC_PASSWORD in clear text to {}: set tls = true (the \
                 default), or reach the server through a relay on this host",
                safe(host.as_bytes())
            )));
        }
        Ok(Config {
            server: s.server.trim().to_owned(),
            port: s.port.unwrap_or(if tls { 6697 } else { 6667 }),
            tls,
            ca_file: s.ca_file.clone(),
            nick,
            channels: s.channels.clone(),
            sasl_user: s.sasl_user.clone(),
            password,
            pace: Duration::from_millis(s.pace_ms.unwrap_or(1000)),
        })
    }

    /// `IRC server HOST:PORT`, as messages name it.
    pub(crate) fn place(&self) -> String {
        format!("IRC server {}:{}", self.server, self.port)
    }
}

/// A line from the server: its prefix (who sent it), command and parameters.
#[derive(Debug)]
struct Line {
    prefix: Option<String>,
    command: String,
    params: Vec<String>,
}

impl Line {
    fn parse(raw: &str) -> Line {
        let mut rest = raw;
        if rest.starts_with('@') {
            // Message tags: not used.
            rest = rest.split_once(' ').map_or("", |(_, r)| r);
        }
        let mut prefix = None;
        if let Some(r) = rest.strip_prefix(':') {
            let (p, r) = r.split_once(' ').unwrap_or((r, ""));
            prefix = Some(p.to_owned());
            rest = r;
        }
        let (head, trailing) = match rest.split_once(" :") {
            Some((h, t)) => (h, Some(t)),
            None => (rest, None),
        };
        let mut words = head.split(' ').filter(|w| !w.is_empty());
        let command = words.next().unwrap_or_default().to_ascii_uppercase();
        let mut params: Vec<String> = words.map(str::to_owned).collect();
        if let Some(t) = trailing {
            params.push(t.to_owned());
        }
        Line {
            prefix,
            command,
            params,
        }
    }

    /// The nick of the sender (`nick!user@host`).
    fn nick(&self) -> &str {
        let p = self.prefix.as_deref().unwrap_or_default();
        p.split('!').next().unwrap_or(p)
    }

    fn param(&self, i: usize) -> &str {
        self.params.get(i).map_or("", String::as_str)
    }

    fn last(&self) -> &str {
        self.params.last().map_or("", String::as_str)
    }
}

trait Stream: Read + Write + Send {}
impl<T: Read + Write + Send> Stream for T {}

/// A registered connection that has joined its channels.
pub(crate) struct Session {
    stream: Box<dyn Stream>,
    buf: Vec<u8>,
    nick: String,
    pace: Duration,
    last_sent: Option<Instant>,
    place: String,
}

fn tls_config(config: &Config) -> std::result::Result<rustls::ClientConfig, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    let mut roots = rustls::RootCertStore::empty();
    match &config.ca_file {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("ca_file {}: {e}", path.display()))?;
            for cert in certs {
                let cert = cert.map_err(|e| format!("ca_file {}: {e}", path.display()))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("ca_file {}: {e}", path.display()))?;
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

impl Session {
    /// Connects, registers (SASL PLAIN or the server password where configured) and joins the
    /// channels. The error names the server and says what went wrong, never the password.
    pub(crate) fn open(config: &Config) -> std::result::Result<Session, String> {
        let place = config.place();
        let fail = |what: String| format!("{place}: {what}");
        let addrs: Vec<_> = (config.server.as_str(), config.port)
            .to_socket_addrs()
            .map_err(|e| fail(format!("cannot resolve it: {e}")))?
            .collect();
        let mut last = None;
        let mut socket = None;
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, TIMEOUT) {
                Ok(s) => {
                    socket = Some(s);
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        let socket = socket.ok_or_else(|| {
            fail(format!(
                "cannot connect: {}",
                last.map_or("no address".to_owned(), |e| e.to_string())
            ))
        })?;
        socket
            .set_read_timeout(Some(POLL))
            .and_then(|()| socket.set_write_timeout(Some(TIMEOUT)))
            .map_err(|e| fail(e.to_string()))?;
        let stream: Box<dyn Stream> = if config.tls {
            let tls = tls_config(config).map_err(fail)?;
            let name = rustls::pki_types::ServerName::try_from(config.server.clone())
                .map_err(|e| fail(format!("not a TLS server name: {e}")))?;
            let conn = rustls::ClientConnection::new(Arc::new(tls), name)
                .map_err(|e| fail(format!("TLS: {e}")))?;
            Box::new(rustls::StreamOwned::new(conn, socket))
        } else {
            Box::new(socket)
        };
        let mut session = Session {
            stream,
            buf: Vec::new(),
            nick: config.nick.clone(),
            pace: config.pace,
            last_sent: None,
            place: place.clone(),
        };
        session.register(config).map_err(fail)?;
        session.join(&config.channels).map_err(fail)?;
        Ok(session)
    }

    fn send(&mut self, line: &str) -> std::result::Result<(), String> {
        // Parts of a line may come from the server (a PING token, a nick): one that holds a line
        // break would be two commands, so it is not sent, in every build.
        if line.contains(['\r', '\n', '\0']) {
            return Err("refused to send a line with a line break or NUL".to_owned());
        }
        let mut bytes = line.as_bytes().to_vec();
        bytes.truncate(LINE_MAX - 2);
        bytes.extend_from_slice(b"\r\n");
        self.stream
            .write_all(&bytes)
            .and_then(|()| self.stream.flush())
            .map_err(|e| format!("sending failed: {e}"))
    }

    /// The next line, or `None` when `deadline` passes first. Answers PING itself.
    fn read(&mut self, deadline: Instant) -> std::result::Result<Option<Line>, String> {
        loop {
            if let Some(end) = self.buf.iter().position(|&b| b == b'\n') {
                let raw: Vec<u8> = self.buf.drain(..=end).collect();
                let text = String::from_utf8_lossy(&raw);
                let text = text.trim_end_matches(['\r', '\n']);
                if text.is_empty() {
                    continue;
                }
                let line = Line::parse(text);
                if line.command == "PING" {
                    let token = line.last().to_owned();
                    self.send(&format!("PONG :{token}"))?;
                    continue;
                }
                return Ok(Some(line));
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err("the server closed the connection".to_owned()),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) => {}
                Err(e) => return Err(format!("reading failed: {e}")),
            }
        }
    }

    fn register(&mut self, config: &Config) -> std::result::Result<(), String> {
        let deadline = Instant::now() + TIMEOUT;
        let sasl = config.sasl_user.as_deref();
        if sasl.is_some() {
            self.send("CAP LS 302")?;
        } else if let Some(password) = &config.password {
            if password.contains(['\r', '\n', '\0', ' ']) {
                return Err("PROBTRACK_IRC_PASSWORD has a space or line break, which IRC's PASS cannot carry".to_owned());
            }
            self.send(&format!("PASS {password}"))?;
        }
        self.send(&format!("NICK {}", self.nick))?;
        self.send("USER probtrack 0 * :probtrack")?;
        let mut caps = String::new();
        let mut tries = 0;
        let mut logged_in = false;
        loop {
            let Some(line) = self.read(deadline)? else {
                return Err("no welcome from the server in time".to_owned());
            };
            match line.command.as_str() {
                "001" => {
                    if sasl.is_some() && !logged_in {
                        return Err("the server welcomed us without a SASL login".to_owned());
                    }
                    self.nick = line.param(0).to_owned();
                    return Ok(());
                }
                "CAP" => match line.param(1) {
                    "LS" => {
                        caps.push(' ');
                        caps.push_str(line.last());
                        if line.param(2) != "*" {
                            let offers = caps
                                .split(' ')
                                .any(|c| c == "sasl" || c.starts_with("sasl="));
                            if !offers {
                                return Err(
                                    "the server offers no SASL, and sasl_user is set".to_owned()
                                );
                            }
                            self.send("CAP REQ :sasl")?;
                        }
                    }
                    "ACK" => self.send("AUTHENTICATE PLAIN")?,
                    "NAK" => return Err("the server refused the SASL capability".to_owned()),
                    _ => {}
                },
                "AUTHENTICATE" if line.param(0) == "+" => {
                    use base64::Engine;
                    let user = sasl.unwrap_or_default();
                    let password = config.password.as_deref().unwrap_or_default();
                    let token = base64::engine::general_purpose::STANDARD
                        .encode(format!("{user}\0{user}\0{password}"));
                    for chunk in token.as_bytes().chunks(400) {
                        self.send(&format!("AUTHENTICATE {}", String::from_utf8_lossy(chunk)))?;
                    }
                    if token.len() % 400 == 0 {
                        self.send("AUTHENTICATE +")?;
                    }
                }
                "903" => {
                    logged_in = true;
                    self.send("CAP END")?;
                }
                "902" | "904" | "905" | "906" | "908" => {
                    return Err(format!(
                        "SASL login as {} failed: {}",
                        safe(sasl.unwrap_or_default().as_bytes()),
                        safe(line.last().as_bytes())
                    ))
                }
                "433" | "436" if tries < 5 => {
                    tries += 1;
                    self.nick.push('_');
                    self.send(&format!("NICK {}", self.nick))?;
                }
                "432" | "433" | "436" => {
                    return Err(format!(
                        "nick {} refused: {}",
                        self.nick,
                        safe(line.last().as_bytes())
                    ))
                }
                "464" => {
                    return Err(
                        "the server password was refused (PROBTRACK_IRC_PASSWORD)".to_owned()
                    )
                }
                "465" | "ERROR" => {
                    return Err(format!(
                        "the server refused us: {}",
                        safe(line.last().as_bytes())
                    ))
                }
                _ => {}
            }
        }
    }

    fn join(&mut self, channels: &[String]) -> std::result::Result<(), String> {
        let deadline = Instant::now() + TIMEOUT;
        let mut waiting: Vec<String> = channels.to_vec();
        for channel in channels {
            self.send(&format!("JOIN {channel}"))?;
        }
        while !waiting.is_empty() {
            let Some(line) = self.read(deadline)? else {
                return Err(format!("joining {} took too long", waiting.join(", ")));
            };
            let same = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
            match line.command.as_str() {
                "JOIN" if same(line.nick(), &self.nick) => {
                    let joined = line.param(0).to_owned();
                    waiting.retain(|c| !same(c, &joined));
                }
                "403" | "405" | "471" | "473" | "474" | "475" | "476" | "477" | "489" => {
                    return Err(format!(
                        "cannot join {}: {}",
                        safe(line.param(1).as_bytes()),
                        safe(line.last().as_bytes())
                    ))
                }
                "ERROR" => {
                    return Err(format!(
                        "the server closed the connection: {}",
                        safe(line.last().as_bytes())
                    ))
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Says `text` to `target` (a channel or a nick): a PRIVMSG per line, each made inert (see
    /// [`inert`]) and cut where it would not fit in 512 bytes as the server relays it, paced.
    pub(crate) fn say(&mut self, target: &str, text: &str) -> std::result::Result<(), String> {
        let budget = budget(&self.nick, target);
        for line in text.split('\n') {
            let line = inert(line);
            for piece in split(&line, budget) {
                if let Some(last) = self.last_sent {
                    let since = last.elapsed();
                    if since < self.pace {
                        std::thread::sleep(self.pace - since);
                    }
                }
                self.send(&format!("PRIVMSG {target} :{piece}"))?;
                self.last_sent = Some(Instant::now());
            }
        }
        Ok(())
    }

    /// Says goodbye and closes (errors ignored: the messages are out).
    pub(crate) fn quit(mut self) {
        if self.send("QUIT :probtrack").is_ok() {
            let deadline = Instant::now() + Duration::from_secs(2);
            while let Ok(Some(_)) = self.read(deadline) {}
        }
    }
}

/// Text made inert on IRC: control characters (CR and LF, which would end the command and start
/// another; NUL; the formatting codes bold ^B, colour ^C, reverse ^V, italics ^], underline ^_,
/// reset ^O; CTCP's ^A) are written out as `\r`, `\u{3}` and so on, so they show as written.
pub(crate) fn inert(text: &str) -> String {
    safe(text.as_bytes())
}

/// `line` in pieces of at most `budget` bytes, cut at a character boundary, before a space where
/// one is near; the pieces put together are the line.
/// How many bytes of text a PRIVMSG from `nick` to `target` may carry so that the line fits in
/// 512 bytes as the server relays it. Nicks and targets come from the server: a long one leaves
/// a small budget, never an underflow.
fn budget(nick: &str, target: &str) -> usize {
    (LINE_MAX - 2 - RELAY_PREFIX)
        .saturating_sub(nick.len() + "PRIVMSG  :".len() + target.len())
        .max(64)
}

fn split(line: &str, budget: usize) -> Vec<&str> {
    let budget = budget.max(16);
    let mut out = Vec::new();
    let mut rest = line;
    while rest.len() > budget {
        let mut cut = budget;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        if let Some(space) = rest[..cut].rfind(' ') {
            if space > cut.saturating_sub(60) && space > 0 {
                cut = space;
            }
        }
        out.push(&rest[..cut]);
        rest = &rest[cut..];
    }
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

/// `notify`'s IRC destination: one session per run that joins the channels, says each message
/// (more than `fold_after` at once: one folded message, a headline each) and quits.
pub(crate) struct Announcer {
    config: Config,
    fold_after: usize,
}

impl Announcer {
    pub(crate) fn new(config: Config, fold_after: usize) -> Announcer {
        Announcer { config, fold_after }
    }
}

impl Destination for Announcer {
    fn target(&self) -> &'static str {
        Protocol::Irc.name()
    }

    fn protocol(&self) -> Option<Protocol> {
        Some(Protocol::Irc)
    }

    fn inert(&self, untrusted: &str) -> String {
        inert(untrusted)
    }

    fn deliver(&mut self, messages: &[Message]) -> Vec<std::result::Result<(), String>> {
        let mut session = match Session::open(&self.config) {
            Ok(s) => s,
            Err(e) => return messages.iter().map(|_| Err(e.clone())).collect(),
        };
        let place = self.config.place();
        let channels = self.config.channels.clone();
        let say = |session: &mut Session, text: &str| {
            channels
                .iter()
                .try_for_each(|c| session.say(c, text))
                .map_err(|e| format!("{place}: {e}"))
        };
        let outcomes = if messages.len() > self.fold_after {
            let outcome = say(&mut session, &fold(messages).join("\n"));
            messages.iter().map(|_| outcome.clone()).collect()
        } else {
            let mut outcomes: Vec<std::result::Result<(), String>> = Vec::new();
            for m in messages {
                let outcome = match outcomes.last() {
                    Some(Err(e)) => Err(e.clone()),
                    _ => say(&mut session, &m.text),
                };
                outcomes.push(outcome);
            }
            outcomes
        };
        session.quit();
        outcomes
    }
}

/// The bot's IRC transport: sits in the channels and hears lines addressed to its nick (`nick:
/// question` in a channel, or a private message).
pub(crate) struct IrcRoom {
    config: Config,
    session: Option<Session>,
}

impl IrcRoom {
    pub(crate) fn new(config: Config) -> IrcRoom {
        IrcRoom {
            config,
            session: None,
        }
    }
}

impl Room for IrcRoom {
    fn name(&self) -> String {
        self.config.place()
    }

    fn protocol(&self) -> Protocol {
        Protocol::Irc
    }

    fn connect(&mut self) -> std::result::Result<(), String> {
        self.session = Some(Session::open(&self.config)?);
        Ok(())
    }

    fn next(&mut self, wait: Duration) -> std::result::Result<Option<Question>, String> {
        let Some(session) = self.session.as_mut() else {
            return Err("not connected".to_owned());
        };
        let deadline = Instant::now() + wait;
        let place = session.place.clone();
        let result = loop {
            let line = match session.read(deadline) {
                Ok(Some(line)) => line,
                Ok(None) => break Ok(None),
                Err(e) => break Err(format!("{place}: {e}")),
            };
            match line.command.as_str() {
                // CTCP (VERSION, ACTION, ...) asks the client, not the bot.
                "PRIVMSG" if !line.last().starts_with('\x01') => {
                    let to = line.param(0);
                    let text = line.last();
                    let asker = line.nick().to_owned();
                    if to.eq_ignore_ascii_case(&session.nick) {
                        break Ok(Some(Question {
                            room: asker.clone(),
                            asker,
                            text: text.trim().to_owned(),
                            direct: true,
                            id: None,
                        }));
                    }
                    if let Some(rest) = crate::bot::addressed(text, &session.nick) {
                        break Ok(Some(Question {
                            room: to.to_owned(),
                            asker,
                            text: rest.to_owned(),
                            direct: false,
                            id: None,
                        }));
                    }
                }
                "KICK" if line.param(1).eq_ignore_ascii_case(&session.nick) => {
                    // Kicked: rejoin, once per kick.
                    let channel = line.param(0).to_owned();
                    if let Err(e) = session.send(&format!("JOIN {channel}")) {
                        break Err(format!("{place}: {e}"));
                    }
                }
                "ERROR" => {
                    break Err(format!(
                        "{place}: the server closed the connection: {}",
                        safe(line.last().as_bytes())
                    ))
                }
                _ => {}
            }
        };
        if result.is_err() {
            self.session = None;
        }
        result
    }

    fn reply(&mut self, to: &Question, lines: &[String]) -> std::result::Result<(), String> {
        let Some(session) = self.session.as_mut() else {
            return Err("not connected".to_owned());
        };
        for line in lines {
            let text = if to.direct {
                line.clone()
            } else {
                format!("{}: {line}", to.asker)
            };
            session.say(&to.room, &text)?;
        }
        Ok(())
    }

    fn leave(&mut self) {
        if let Some(session) = self.session.take() {
            session.quit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_goes_in_clear_text_only_to_this_host() {
        let settings = |server: &str, tls: bool| IrcSettings {
            server: server.to_owned(),
            tls: Some(tls),
            channels: vec!["#ci".to_owned()],
            ..IrcSettings::default()
        };
        let secret = || Some("s3cret".to_owned());
        let err = Config::new(
            &settings("irc.example.org", false),
            secret(),
            "[notify.irc]",
        )
        .err()
        .expect("refused");
        assert!(err.to_string().contains("clear text"), "{err}");
        assert!(!err.to_string().contains("s3cret"), "{err}");
        for ok in [
            ("irc.example.org", true),
            ("127.0.0.1", false),
            ("localhost", false),
        ] {
            assert!(Config::new(&settings(ok.0, ok.1), secret(), "[notify.irc]").is_ok());
        }
        assert!(Config::new(&settings("irc.example.org", false), None, "[notify.irc]").is_ok());
    }

    /// A nick or target as long as a server may send leaves a budget, not an underflow.
    #[test]
    fn a_long_nick_from_the_server_still_leaves_room_to_speak() {
        let long = "n".repeat(600);
        assert_eq!(budget(&long, &long), 64);
        let usual = budget("probtrack", "#ci");
        // The relayed line: the prefix, the nick, `PRIVMSG #ci :`, the text and CR LF.
        let relayed = RELAY_PREFIX + "probtrack".len() + "PRIVMSG  :".len() + "#ci".len() + 2;
        assert_eq!(usual + relayed, LINE_MAX);
    }

    #[test]
    fn a_long_line_is_cut_into_pieces_that_make_it_whole() {
        let line = format!("{} {}", "é".repeat(300), "word ".repeat(200));
        let pieces = split(&line, 400);
        assert!(pieces.len() > 2);
        assert!(pieces.iter().all(|p| p.len() <= 400));
        assert_eq!(pieces.concat(), line);
    }

    #[test]
    fn lines_parse_and_questions_are_recognised() {
        let l = Line::parse(":ann!~a@host PRIVMSG #ci :probtrack: since t.x");
        assert_eq!(l.nick(), "ann");
        assert_eq!(l.params, ["#ci", "probtrack: since t.x"]);
        assert_eq!(inert("a\r\nQUIT\u{3}4x"), "a\\r\\nQUIT\\u{3}4x");
    }
}
