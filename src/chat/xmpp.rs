//! XMPP (Jabber) delivery: one short client session per run (RFC 6120/6121, XEP-0045).
//!
//! Connects, upgrades with STARTTLS where the server offers it (and refuses to go on without it
//! unless `security = "none"`), authenticates with SASL SCRAM-SHA-256, SCRAM-SHA-1 or PLAIN (PLAIN
//! only inside TLS or with `security = "none"`), binds a resource, then joins each room, says the
//! message there and waits to see it reflected (so a message the room refused is a failure), sends
//! each direct message, and closes the stream after a ping has come back (the server has taken
//! everything before it).
//!
//! The stream is read stanza by stanza with a small scanner ([`Stanzas`]): the stanzas this client
//! waits for are few and known, and nothing from the server is shown to anyone but in an error.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;

use crate::bot::{Question, Room};
use crate::chat::Protocol;
use crate::notify::{Destination, Message, Places};

/// How long one read or write may wait.
const TIMEOUT: Duration = Duration::from_secs(30);
/// How many stanzas a wait reads before it gives up (a server that chatters without answering).
const MAX_STANZAS: usize = 10_000;
/// The longest stanza this client accepts from the server.
const MAX_STANZA: usize = 1 << 20;

/// How to reach the XMPP server, and as whom.
pub(crate) struct Xmpp {
    /// The account, `name@domain`.
    pub jid: String,
    /// From `PROBTRACK_XMPP_PASSWORD`.
    pub password: Option<String>,
    /// The host to connect to [default: the JID's domain].
    pub server: Option<String>,
    /// [default: 5222]
    pub port: Option<u16>,
    /// `starttls` (the default: required) or `none` (STARTTLS still used where offered).
    pub security: String,
    /// A PEM file of the certificates to trust instead of the built-in roots (a private CA).
    pub ca_file: Option<std::path::PathBuf>,
    /// The nickname in rooms.
    pub nick: String,
}

enum Conn {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
    Closed,
}

impl Conn {
    fn set_read_timeout(&self, wait: Duration) {
        let tcp = match self {
            Conn::Plain(s) => s,
            Conn::Tls(s) => &s.sock,
            Conn::Closed => return,
        };
        tcp.set_read_timeout(Some(wait)).ok();
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(buf),
            Conn::Tls(s) => s.read(buf),
            Conn::Closed => Ok(0),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Conn::Plain(s) => s.write(buf),
            Conn::Tls(s) => s.write(buf),
            Conn::Closed => Err(std::io::ErrorKind::NotConnected.into()),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Conn::Plain(s) => s.flush(),
            Conn::Tls(s) => s.flush(),
            Conn::Closed => Ok(()),
        }
    }
}

/// Reads the stream's header and then one top-level stanza at a time.
struct Stanzas {
    conn: Conn,
    buf: Vec<u8>,
    /// Why the stream is gone (a failed read or write, a timeout, a stream error), once it is:
    /// every later send and wait fails with it at once, instead of waiting for its own timeout.
    broken: Option<String>,
}

impl Stanzas {
    /// `result`; an error there means the stream is gone, for every later use too.
    fn alive<T>(&mut self, result: Result<T, String>) -> Result<T, String> {
        if let Err(e) = &result {
            self.broken = Some(e.clone());
        }
        result
    }

    fn usable(&self) -> Result<(), String> {
        match &self.broken {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    fn send(&mut self, text: &str) -> Result<(), String> {
        self.usable()?;
        let sent = self
            .conn
            .write_all(text.as_bytes())
            .and_then(|()| self.conn.flush())
            .map_err(|e| format!("writing to the server: {e}"));
        self.alive(sent)
    }

    fn fill(&mut self) -> Result<(), String> {
        self.usable()?;
        let read = self.read_some();
        let took = read
            .map_err(|e| format!("reading from the server: {e}"))
            .and_then(|n| self.took(n));
        self.alive(took)
    }

    fn read_some(&mut self) -> std::io::Result<usize> {
        let mut chunk = [0u8; 8192];
        let n = self.conn.read(&mut chunk)?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }

    /// Checks what a read of `n` bytes left.
    fn took(&self, n: usize) -> Result<(), String> {
        if n == 0 {
            return Err("the server closed the connection".to_owned());
        }
        if self.buf.len() > MAX_STANZA {
            return Err("the server sent a stanza over 1 MiB".to_owned());
        }
        Ok(())
    }

    /// Reads up to the end of the `<stream:stream …>` opening tag (after an XML declaration).
    fn header(&mut self) -> Result<(), String> {
        loop {
            let mut at = 0;
            while let Some((kind, end)) = tag_at(&self.buf, at) {
                at = end;
                match kind {
                    Tag::Declaration => continue,
                    Tag::Open if self.buf[..end].windows(7).any(|w| w == b"<stream") => {
                        self.buf.drain(..end);
                        return Ok(());
                    }
                    Tag::Close if self.buf[..end].windows(8).any(|w| w == b"</stream") => {
                        return Err("the server closed the stream".to_owned())
                    }
                    _ => {
                        return Err(format!(
                            "the server did not open an XMPP stream: {}",
                            crate::report::safe_short(&self.buf[..end], 200)
                        ))
                    }
                }
            }
            self.fill()?;
        }
    }

    /// The next whole stanza (a top-level element) as text.
    fn next(&mut self) -> Result<String, String> {
        self.usable()?;
        loop {
            let complete = self.complete();
            if let Some(stanza) = self.alive(complete)? {
                return Ok(stanza);
            }
            self.fill()?;
        }
    }

    /// The next whole stanza, or `None` when none has arrived within `wait` (the bot's wait for
    /// a question: the connection stays usable).
    fn poll(&mut self, wait: Duration) -> Result<Option<String>, String> {
        self.usable()?;
        let polled = self.poll_once(wait);
        self.alive(polled)
    }

    fn poll_once(&mut self, wait: Duration) -> Result<Option<String>, String> {
        if let Some(stanza) = self.complete()? {
            return Ok(Some(stanza));
        }
        self.conn
            .set_read_timeout(wait.max(Duration::from_millis(1)));
        let read = self.read_some();
        self.conn.set_read_timeout(TIMEOUT);
        match read {
            Ok(n) => {
                self.took(n)?;
                self.complete()
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(format!("reading from the server: {e}")),
        }
    }

    /// The first whole stanza in what has been read, taken out of it.
    fn complete(&mut self) -> Result<Option<String>, String> {
        let mut depth = 0usize;
        let mut at = 0;
        let mut start = None;
        while let Some((kind, end)) = tag_at(&self.buf, at) {
            let begin = at;
            at = end;
            match kind {
                Tag::Declaration | Tag::Text => {}
                Tag::Open => {
                    start.get_or_insert(begin);
                    depth += 1;
                }
                Tag::Empty => {
                    start.get_or_insert(begin);
                    if depth == 0 {
                        return Ok(Some(self.take(start, end)));
                    }
                }
                Tag::Close => {
                    if depth == 0 {
                        if self.buf[begin..end].starts_with(b"</stream") {
                            return Err("the server closed the stream".to_owned());
                        }
                        return Err("the server sent an unbalanced stream".to_owned());
                    }
                    depth -= 1;
                    if depth == 0 {
                        return Ok(Some(self.take(start, end)));
                    }
                }
            }
        }
        Ok(None)
    }

    fn take(&mut self, start: Option<usize>, end: usize) -> String {
        let stanza = String::from_utf8_lossy(&self.buf[start.unwrap_or(0)..end]).into_owned();
        self.buf.drain(..end);
        stanza
    }

    /// Reads stanzas until `done` says what to do with one: `Some(Ok)` ends the wait. What
    /// `done` refuses leaves the stream usable; a failure of the stream itself does not.
    fn until<T>(
        &mut self,
        mut done: impl FnMut(&str) -> Option<Result<T, String>>,
    ) -> Result<T, String> {
        for _ in 0..MAX_STANZAS {
            let stanza = self.next()?;
            if stanza.starts_with("<stream:error") || stanza.starts_with("<error") {
                let e = format!("stream error: {}", condition(&stanza));
                return self.alive(Err(e));
            }
            if let Some(result) = done(&stanza) {
                return result;
            }
        }
        self.alive(Err("the server never answered".to_owned()))
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Tag {
    Declaration,
    Open,
    Empty,
    Close,
    Text,
}

/// The markup item that starts at `at` in `buf` and where it ends, when it is complete.
fn tag_at(buf: &[u8], at: usize) -> Option<(Tag, usize)> {
    let rest = buf.get(at..)?;
    if rest.is_empty() {
        return None;
    }
    if rest[0] != b'<' {
        let n = rest.iter().position(|&b| b == b'<').unwrap_or(rest.len());
        // Text is complete when markup follows it.
        return (n < rest.len()).then_some((Tag::Text, at + n));
    }
    let mut quote = None;
    for (i, &b) in rest.iter().enumerate().skip(1) {
        match (quote, b) {
            (Some(q), b) if b == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(b),
            (None, b'>') => {
                let kind = match (rest[1], rest[i - 1]) {
                    (b'?' | b'!', _) => Tag::Declaration,
                    (b'/', _) => Tag::Close,
                    (_, b'/') => Tag::Empty,
                    _ => Tag::Open,
                };
                return Some((kind, at + i + 1));
            }
            _ => {}
        }
    }
    None
}

/// The defined condition of an error stanza (its first child element in an error namespace).
fn condition(stanza: &str) -> String {
    for ns in [
        "urn:ietf:params:xml:ns:xmpp-streams",
        "urn:ietf:params:xml:ns:xmpp-stanzas",
        "urn:ietf:params:xml:ns:xmpp-sasl",
    ] {
        if let Some(at) = stanza.find(&format!("xmlns='{ns}'")) {
            let before = &stanza[..at];
            if let Some(open) = before.rfind('<') {
                let name: String = before[open + 1..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                    .collect();
                if name != "text" && name != "error" && !name.is_empty() {
                    return name;
                }
            }
        }
    }
    crate::report::safe_short(stanza.as_bytes(), 200)
}

/// The text inside the first `<name …>…</name>` element.
fn element_text<'s>(stanza: &'s str, name: &str) -> Option<&'s str> {
    let open = stanza.find(&format!("<{name}"))?;
    let body = open + stanza[open..].find('>')? + 1;
    if stanza[..body].ends_with("/>") {
        return Some("");
    }
    let end = body + stanza[body..].find(&format!("</{name}>"))?;
    Some(&stanza[body..end])
}

/// The attributes of the stanza's first tag, in order, their values unescaped: read quote by
/// quote (either quote), so that one attribute's value can never be taken for another attribute.
fn attributes(stanza: &str) -> Vec<(&str, String)> {
    let mut out = Vec::new();
    let Some(rest) = stanza.strip_prefix('<') else {
        return out;
    };
    let is_space = |c: char| matches!(c, ' ' | '\t' | '\n' | '\r');
    let is_name = |c: char| !is_space(c) && !matches!(c, '=' | '/' | '>' | '\'' | '"' | '<');
    // The element's name.
    let mut rest = rest.trim_start_matches(is_name);
    loop {
        rest = rest.trim_start_matches(is_space);
        let name_len = rest.len() - rest.trim_start_matches(is_name).len();
        if name_len == 0 {
            return out;
        }
        let name = &rest[..name_len];
        rest = rest[name_len..].trim_start_matches(is_space);
        let Some(after) = rest.strip_prefix('=') else {
            return out;
        };
        rest = after.trim_start_matches(is_space);
        let Some(quote) = rest.chars().next().filter(|c| matches!(c, '\'' | '"')) else {
            return out;
        };
        let Some(end) = rest[1..].find(quote) else {
            return out;
        };
        out.push((name, unescape(&rest[1..1 + end])));
        rest = &rest[1 + end + 1..];
    }
}

/// The value of attribute `name` on the stanza's first tag, unescaped.
fn attribute(stanza: &str, name: &str) -> Option<String> {
    attributes(stanza)
        .into_iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}

/// Text as XML character data: markup escaped, and the characters XML 1.0 cannot carry (C0
/// controls other than tab and line feed, a carriage return, U+FFFE/U+FFFF) shown as `\u{…}`.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {
                out.push_str(&c.escape_unicode().to_string())
            }
            c => out.push(c),
        }
    }
    out
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// A unique enough id for this run's stanzas.
fn nonce() -> Result<String, String> {
    let mut bytes = [0u8; 18];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .map_err(|_| "no random numbers".to_owned())?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

fn tls_config(ca_file: Option<&std::path::Path>) -> Result<Arc<rustls::ClientConfig>, String> {
    use rustls::pki_types::pem::PemObject as _;
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let certs = rustls::pki_types::CertificateDer::pem_file_iter(path)
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
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

fn open_stream(s: &mut Stanzas, domain: &str) -> Result<String, String> {
    s.send(&format!(
        "<?xml version='1.0'?><stream:stream to='{}' version='1.0' xml:lang='en' \
         xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>",
        escape(domain)
    ))?;
    s.header()?;
    s.until(|stanza| {
        (stanza.starts_with("<stream:features") || stanza.starts_with("<features"))
            .then(|| Ok(stanza.to_owned()))
    })
}

/// A logged-in client session: the rooms it joined.
struct Session {
    s: Stanzas,
    domain: String,
    nick: String,
    joined: Vec<String>,
    /// The account's bare JID: what it sends (from this resource or another, notify's) is
    /// never a question.
    me: String,
}

/// Connects, secures, logs in and binds a resource.
fn connect(x: &Xmpp) -> Result<Session, String> {
    let password = x
        .password
        .as_deref()
        .ok_or_else(|| crate::chat::destinations::missing("PROBTRACK_XMPP_PASSWORD"))?;
    let (local, domain) = x
        .jid
        .split_once('@')
        .filter(|(l, d)| !l.is_empty() && !d.is_empty() && !d.contains('/'))
        .ok_or_else(|| format!("jid `{}`: expected name@domain", x.jid))?;
    let host = x.server.as_deref().unwrap_or(domain);
    let port = x.port.unwrap_or(5222);
    let address = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("{host}:{port}: {e}"))?
        .next()
        .ok_or_else(|| format!("{host}:{port}: no address"))?;
    let tcp = TcpStream::connect_timeout(&address, TIMEOUT)
        .map_err(|e| format!("connecting to {host}:{port}: {e}"))?;
    tcp.set_read_timeout(Some(TIMEOUT)).ok();
    tcp.set_write_timeout(Some(TIMEOUT)).ok();
    let mut s = Stanzas {
        conn: Conn::Plain(tcp),
        buf: Vec::new(),
        broken: None,
    };
    let mut features = open_stream(&mut s, domain)?;
    let mut tls = false;
    if features.contains("urn:ietf:params:xml:ns:xmpp-tls") {
        s.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")?;
        s.until(|stanza| {
            if stanza.starts_with("<proceed") {
                Some(Ok(()))
            } else if stanza.starts_with("<failure") {
                Some(Err("the server refused STARTTLS".to_owned()))
            } else {
                None
            }
        })?;
        let Conn::Plain(tcp) = std::mem::replace(&mut s.conn, Conn::Closed) else {
            return Err("STARTTLS twice".to_owned());
        };
        let name = rustls::pki_types::ServerName::try_from(domain.to_owned())
            .map_err(|e| format!("domain `{domain}`: {e}"))?;
        let client = rustls::ClientConnection::new(tls_config(x.ca_file.as_deref())?, name)
            .map_err(|e| e.to_string())?;
        s.conn = Conn::Tls(Box::new(rustls::StreamOwned::new(client, tcp)));
        s.buf.clear();
        features = open_stream(&mut s, domain)
            .map_err(|e| format!("{host}:{port} after STARTTLS: {e}"))?;
        tls = true;
    } else if x.security != "none" {
        return Err(format!(
            "{host}:{port} does not offer STARTTLS; set security = \"none\" only for a server on \
             a trusted network"
        ));
    }
    authenticate(
        &mut s,
        &features,
        local,
        password,
        tls || x.security == "none",
    )?;
    features = open_stream(&mut s, domain)?;
    let bind_id = nonce()?;
    s.send(&format!(
        "<iq type='set' id='{bind_id}'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>\
         <resource>probtrack-{}</resource></bind></iq>",
        &bind_id[..8]
    ))?;
    s.until(|stanza| reply(stanza, &bind_id, "binding a resource"))?;
    if features.contains("urn:ietf:params:xml:ns:xmpp-session") && !features.contains("<optional") {
        let id = nonce()?;
        s.send(&format!(
            "<iq type='set' id='{id}'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>"
        ))?;
        s.until(|stanza| reply(stanza, &id, "starting a session"))?;
    }
    Ok(Session {
        s,
        domain: domain.to_owned(),
        nick: x.nick.clone(),
        joined: Vec::new(),
        me: format!("{local}@{domain}"),
    })
}

impl Session {
    /// Asks to join `room` without history (the answer comes later).
    fn ask_to_join(&mut self, room: &str) -> Result<(), String> {
        self.s.send(&format!(
            "<presence to='{}'><x xmlns='http://jabber.org/protocol/muc'>\
             <history maxstanzas='0'/></x></presence>",
            escape(&format!("{room}/{}", self.nick))
        ))
    }

    /// Joins `room` (once per session) and waits until the room has taken us in.
    fn join(&mut self, room: &str) -> Result<(), String> {
        if self.joined.iter().any(|r| r == room) {
            return Ok(());
        }
        let occupant = format!("{room}/{}", self.nick);
        let shown = crate::report::safe(room.as_bytes());
        self.ask_to_join(room)?;
        // Joined once the room sends our own presence (status 110).
        self.s.until(|stanza| {
            if !stanza.starts_with("<presence") {
                return None;
            }
            let from = attribute(stanza, "from").unwrap_or_default();
            if !from.eq_ignore_ascii_case(&occupant) && !from.eq_ignore_ascii_case(room) {
                return None;
            }
            if attribute(stanza, "type").as_deref() == Some("error") {
                return Some(Err(format!("joining room {shown}: {}", condition(stanza))));
            }
            has_status(stanza, "110").then_some(Ok(()))
        })?;
        self.joined.push(room.to_owned());
        Ok(())
    }

    /// Joins `room` (once per session), says `body` there and waits to see it reflected.
    fn say_in_room(&mut self, room: &str, body: &str) -> Result<(), String> {
        let shown = crate::report::safe(room.as_bytes());
        self.join(room)?;
        let id = nonce()?;
        self.s.send(&format!(
            "<message to='{}' type='groupchat' id='{id}'><body>{}</body></message>",
            escape(room),
            escape(body)
        ))?;
        // The room reflects what it took to every occupant, us included.
        self.s.until(|stanza| {
            if !stanza.starts_with("<message")
                || attribute(stanza, "id").as_deref() != Some(id.as_str())
            {
                return None;
            }
            Some(if attribute(stanza, "type").as_deref() == Some("error") {
                Err(format!("saying it in room {shown}: {}", condition(stanza)))
            } else {
                Ok(())
            })
        })
    }

    /// Sends `body` to the person `jid`, and waits until the server has taken it (a bounce
    /// is an error).
    fn tell(&mut self, jid: &str, body: &str) -> Result<(), String> {
        let id = nonce()?;
        self.s.send(&format!(
            "<message to='{}' type='chat' id='{id}'><body>{}</body></message>",
            escape(jid),
            escape(body)
        ))?;
        self.sync(&id)
    }

    /// Waits until the server has taken everything sent so far: it answers in order, so once a
    /// ping is back, a bounce of the direct message `id` would have come before it. (A late
    /// bounce of an earlier message is not this one's failure.)
    fn sync(&mut self, id: &str) -> Result<(), String> {
        let ping = nonce()?;
        self.s.send(&format!(
            "<iq type='get' id='{ping}' to='{}'><ping xmlns='urn:xmpp:ping'/></iq>",
            escape(&self.domain)
        ))?;
        self.s.until(|stanza| {
            if stanza.starts_with("<message")
                && attribute(stanza, "type").as_deref() == Some("error")
                && attribute(stanza, "id").as_deref() == Some(id)
            {
                let to = attribute(stanza, "from").unwrap_or_else(|| "?".to_owned());
                return Some(Err(format!(
                    "the message to {} bounced: {}",
                    crate::report::safe(to.as_bytes()),
                    condition(stanza)
                )));
            }
            reply(stanza, &ping, "pinging the server")
        })
    }

    /// Leaves the rooms and closes the stream.
    fn close(mut self) {
        for room in std::mem::take(&mut self.joined) {
            let occupant = format!("{room}/{}", self.nick);
            self.s
                .send(&format!(
                    "<presence to='{}' type='unavailable'/>",
                    escape(&occupant)
                ))
                .ok();
        }
        self.s.send("</stream:stream>").ok();
    }
}

/// `[notify.xmpp]`: rooms, and the responsible people whose `xmpp` handle is a JID.
pub(crate) struct XmppDestination {
    pub account: Xmpp,
    pub rooms: Vec<String>,
    pub direct: bool,
    /// What the rooms and people made of the last batch.
    pub places: Places,
}

impl XmppDestination {
    fn people(&self, m: &Message) -> Vec<String> {
        if !self.direct {
            return Vec::new();
        }
        let mut out: Vec<String> = Vec::new();
        for handle in m
            .recipients
            .iter()
            .filter_map(|r| r.handles.get(Protocol::Xmpp))
            .map(str::trim)
            .filter(|h| h.contains('@'))
        {
            if !out.iter().any(|o| o == handle) {
                out.push(handle.to_owned());
            }
        }
        out
    }
}

impl Destination for XmppDestination {
    fn target(&self) -> &'static str {
        Protocol::Xmpp.name()
    }

    fn protocol(&self) -> Option<Protocol> {
        Some(Protocol::Xmpp)
    }

    fn wants(&self, m: &Message) -> bool {
        !self.rooms.is_empty() || !self.people(m).is_empty()
    }

    /// One session for the whole batch: each message to every room, then to each person, but
    /// not to a place that took it in an earlier run. A message is sent when every place took
    /// it; the places that did are remembered ([`Destination::took`]) for its retry.
    fn deliver(&mut self, messages: &[Message]) -> Vec<Result<(), String>> {
        self.places.start(messages.len());
        let mut session = match connect(&self.account) {
            Ok(session) => session,
            Err(e) => return messages.iter().map(|_| Err(e.clone())).collect(),
        };
        for (i, m) in messages.iter().enumerate() {
            let rooms = self.rooms.iter().map(|r| (r.clone(), true));
            let people = self.people(m).into_iter().map(|p| (p, false));
            for (place, room) in rooms.chain(people) {
                if m.skip.contains(&place) {
                    continue;
                }
                let sent = if room {
                    session.say_in_room(&place, &m.text)
                } else {
                    session.tell(&place, &m.text)
                };
                self.places.record(i, &place, sent);
            }
        }
        session.close();
        self.places.outcomes()
    }

    fn took(&mut self) -> Vec<(usize, String)> {
        self.places.took()
    }
}

/// The bot's XMPP transport: sits in the multi-user chat rooms and hears messages addressed to
/// its nick there (`nick: question`), and every direct message to its account.
pub(crate) struct XmppRoom {
    account: Xmpp,
    rooms: Vec<String>,
    session: Option<Session>,
    /// When something was last sent: an idle stream gets a whitespace keepalive, which also
    /// finds out a connection that died quietly.
    last_sent: Instant,
}

/// How long the stream may stay silent before a keepalive.
const KEEPALIVE: Duration = Duration::from_secs(60);

impl XmppRoom {
    pub(crate) fn new(account: Xmpp, rooms: Vec<String>) -> XmppRoom {
        XmppRoom {
            account,
            rooms,
            session: None,
            last_sent: Instant::now(),
        }
    }

    fn session(&mut self) -> Result<&mut Session, String> {
        self.session
            .as_mut()
            .ok_or_else(|| "not connected".to_owned())
    }
}

impl Room for XmppRoom {
    fn name(&self) -> String {
        let domain = self.account.jid.split_once('@').map_or("", |(_, d)| d);
        format!(
            "XMPP server {}:{}",
            self.account.server.as_deref().unwrap_or(domain),
            self.account.port.unwrap_or(5222)
        )
    }

    fn protocol(&self) -> Protocol {
        Protocol::Xmpp
    }

    fn connect(&mut self) -> Result<(), String> {
        let place = self.name();
        self.session = None;
        let mut session = connect(&self.account).map_err(|e| format!("{place}: {e}"))?;
        let joined = (|| {
            // Available, so that messages to the bare JID reach this resource.
            session.s.send("<presence/>")?;
            for room in &self.rooms {
                session.join(room)?;
            }
            Ok::<_, String>(())
        })();
        joined.map_err(|e| format!("{place}: {e}"))?;
        self.session = Some(session);
        self.last_sent = Instant::now();
        Ok(())
    }

    fn next(&mut self, wait: Duration) -> Result<Option<Question>, String> {
        let place = self.name();
        let deadline = Instant::now() + wait;
        let keepalive = self.last_sent.elapsed() > KEEPALIVE;
        let session = self.session()?;
        let result = (|| -> Result<Option<Question>, String> {
            if keepalive {
                session.s.send(" ")?;
            }
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                let Some(stanza) = session.s.poll(left)? else {
                    return Ok(None);
                };
                if let Some(question) = session.heard(&stanza)? {
                    return Ok(Some(question));
                }
                if left.is_zero() {
                    return Ok(None);
                }
            }
        })();
        if keepalive {
            self.last_sent = Instant::now();
        }
        if result.is_err() {
            self.session = None;
        }
        result.map_err(|e| format!("{place}: {e}"))
    }

    fn reply(&mut self, to: &Question, lines: &[String]) -> Result<(), String> {
        let place = self.name();
        self.last_sent = Instant::now();
        let session = self.session()?;
        // One message, a line per answer line; the text of each line shown as written (a line
        // break in a test name cannot start a line of its own).
        let mut text: Vec<String> = lines
            .iter()
            .map(|l| crate::report::safe(l.as_bytes()))
            .collect();
        let kind = if to.direct {
            "chat"
        } else {
            if let Some(first) = text.first_mut() {
                *first = format!("{}: {first}", crate::report::safe(to.asker.as_bytes()));
            }
            "groupchat"
        };
        let id = nonce()?;
        let sent = session.s.send(&format!(
            "<message to='{}' type='{kind}' id='{id}'><body>{}</body></message>",
            escape(&to.room),
            escape(&text.join("\n"))
        ));
        if sent.is_err() {
            self.session = None;
        }
        sent.map_err(|e| format!("{place}: {e}"))
    }

    fn leave(&mut self) {
        if let Some(session) = self.session.take() {
            session.close();
        }
    }
}

impl Session {
    /// What a stanza from the server means to the bot: a question, or `None` (after answering
    /// what the protocol asks to be answered: a ping; a kick from a room is answered by joining
    /// again).
    fn heard(&mut self, stanza: &str) -> Result<Option<Question>, String> {
        if stanza.starts_with("<stream:error") || stanza.starts_with("<error") {
            return Err(format!("stream error: {}", condition(stanza)));
        }
        let kind = attribute(stanza, "type").unwrap_or_default();
        let kind = kind.as_str();
        let from = attribute(stanza, "from").unwrap_or_default();
        if stanza.starts_with("<iq") && matches!(kind, "get" | "set") {
            let answer = iq_answer(stanza);
            self.s.send(&answer)?;
            return Ok(None);
        }
        let (bare, resource) = from.split_once('/').unwrap_or((&from, ""));
        let in_room = self.joined.iter().any(|r| r.eq_ignore_ascii_case(bare));
        if stanza.starts_with("<presence") {
            // Kicked (or the room went away under us): join again.
            if in_room
                && kind == "unavailable"
                && resource == self.nick
                && has_status(stanza, "110")
            {
                let room = bare.to_owned();
                self.ask_to_join(&room)?;
            }
            return Ok(None);
        }
        // Only live messages with a body: no errors, no history or offline messages (delayed).
        if !stanza.starts_with("<message") || kind == "error" || stanza.contains("<delay") {
            return Ok(None);
        }
        let Some(body) = plain_body(stanza) else {
            return Ok(None);
        };
        let body = unescape(body);
        if kind == "groupchat" {
            if !in_room || resource.is_empty() || resource.eq_ignore_ascii_case(&self.nick) {
                return Ok(None);
            }
            return Ok(
                crate::bot::addressed(&body, &self.nick).map(|text| Question {
                    room: bare.to_owned(),
                    asker: resource.to_owned(),
                    text: text.to_owned(),
                    direct: false,
                    id: attribute(stanza, "id"),
                }),
            );
        }
        // Headlines (announcements, notifications) are not for answering.
        // Nor is a message from a server (a welcome), which has no `@` in its address.
        if !bare.contains('@') || !matches!(kind, "chat" | "normal" | "") {
            return Ok(None);
        }
        // A direct message: from a person's JID, or privately from someone in a room; never
        // from the bot's own account or its own nick in a room (it would answer itself).
        if bare.eq_ignore_ascii_case(&self.me)
            || (in_room && resource.eq_ignore_ascii_case(&self.nick))
        {
            return Ok(None);
        }
        let asker = if in_room { resource } else { bare };
        let text = crate::bot::addressed(&body, &self.nick).unwrap_or(body.trim());
        Ok(Some(Question {
            room: from.clone(),
            asker: asker.to_owned(),
            text: text.to_owned(),
            direct: true,
            id: attribute(stanza, "id"),
        }))
    }
}

/// The plain-text body of a message (not an XHTML-IM one).
fn plain_body(stanza: &str) -> Option<&str> {
    let mut at = 0;
    while let Some(found) = stanza[at..].find("<body") {
        let open = at + found;
        let end = open + stanza[open..].find('>')?;
        let tag = &stanza[open..end];
        at = end;
        if tag.contains("xhtml") || !matches!(tag.as_bytes().get(5), Some(b' ' | b'/') | None) {
            continue;
        }
        if tag.ends_with('/') {
            return Some("");
        }
        let body = end + 1;
        return Some(&stanza[body..body + stanza[body..].find("</body>")?]);
    }
    None
}

/// The answer to an iq request: a ping its result, anything else "not here"; its id and
/// address escaped whatever quote the server wrote them in.
fn iq_answer(stanza: &str) -> String {
    let id = escape(&attribute(stanza, "id").unwrap_or_default());
    let to = escape(&attribute(stanza, "from").unwrap_or_default());
    let ping =
        attribute(stanza, "type").as_deref() == Some("get") && stanza.contains("urn:xmpp:ping");
    if ping {
        format!("<iq type='result' id='{id}' to='{to}'/>")
    } else {
        format!(
            "<iq type='error' id='{id}' to='{to}'><error type='cancel'>\
             <service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>\
             </error></iq>"
        )
    }
}

/// Whether the stanza carries MUC status `code` (either quote).
fn has_status(stanza: &str, code: &str) -> bool {
    stanza.contains(&format!("code='{code}'")) || stanza.contains(&format!("code=\"{code}\""))
}

/// The answer to the iq `id`: `Some(Ok)` for a result, `Some(Err)` for an error.
fn reply(stanza: &str, id: &str, doing: &str) -> Option<Result<(), String>> {
    if !stanza.starts_with("<iq") || attribute(stanza, "id").as_deref() != Some(id) {
        return None;
    }
    Some(match attribute(stanza, "type").as_deref() {
        Some("result") => Ok(()),
        _ => Err(format!("{doing}: {}", condition(stanza))),
    })
}

/// SASL: SCRAM-SHA-256, else SCRAM-SHA-1, else PLAIN where the channel is private.
fn authenticate(
    s: &mut Stanzas,
    features: &str,
    user: &str,
    password: &str,
    private: bool,
) -> Result<(), String> {
    let offered = |m: &str| features.contains(&format!("<mechanism>{m}</mechanism>"));
    let b64 = base64::engine::general_purpose::STANDARD;
    let outcome = |stanza: &str| -> Option<Result<Option<String>, String>> {
        if stanza.starts_with("<success") {
            Some(Ok(element_text(stanza, "success").map(str::to_owned)))
        } else if stanza.starts_with("<failure") {
            Some(Err(format!(
                "the server refused the login ({}): check the jid and PROBTRACK_XMPP_PASSWORD",
                condition(stanza)
            )))
        } else {
            None
        }
    };
    for (mechanism, algorithm) in [
        ("SCRAM-SHA-256", Scram::Sha256),
        ("SCRAM-SHA-1", Scram::Sha1),
    ] {
        if !offered(mechanism) {
            continue;
        }
        let client_nonce = nonce()?;
        let first_bare = format!("n={},r={client_nonce}", scram_name(user));
        s.send(&format!(
            "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='{mechanism}'>{}</auth>",
            b64.encode(format!("n,,{first_bare}"))
        ))?;
        let challenge = s.until(|stanza| {
            if stanza.starts_with("<challenge") {
                Some(Ok(element_text(stanza, "challenge")
                    .unwrap_or_default()
                    .to_owned()))
            } else {
                outcome(stanza).map(|r| r.and(Err("the server skipped SCRAM".to_owned())))
            }
        })?;
        let server_first = b64
            .decode(challenge.trim())
            .map_err(|_| "a SCRAM challenge that is not base64".to_owned())?;
        let server_first = String::from_utf8_lossy(&server_first).into_owned();
        let (final_message, expected) =
            algorithm.respond(password, &first_bare, &server_first, &client_nonce)?;
        s.send(&format!(
            "<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>{}</response>",
            b64.encode(final_message)
        ))?;
        let verifier = s.until(|stanza| {
            if stanza.starts_with("<challenge") {
                // Some servers send the verifier as a challenge, then success.
                return None;
            }
            outcome(stanza)
        })?;
        let verifier = verifier
            .and_then(|v| b64.decode(v.trim()).ok())
            .map(|v| String::from_utf8_lossy(&v).into_owned());
        if let Some(v) = verifier {
            if !v.is_empty() && v.strip_prefix("v=") != Some(expected.as_str()) {
                return Err("the server could not prove it knows the password (SCRAM)".to_owned());
            }
        }
        return Ok(());
    }
    if offered("PLAIN") {
        if !private {
            return Err(
                "the server offers only PLAIN login without TLS: refusing to send the password"
                    .to_owned(),
            );
        }
        s.send(&format!(
            "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{}</auth>",
            b64.encode(format!("\0{user}\0{password}"))
        ))?;
        s.until(outcome)?;
        return Ok(());
    }
    Err(
        "the server offers no login this client knows (SCRAM-SHA-256, SCRAM-SHA-1, PLAIN)"
            .to_owned(),
    )
}

/// A SASL name: `=` and `,` escaped (RFC 5802).
fn scram_name(user: &str) -> String {
    user.replace('=', "=3D").replace(',', "=2C")
}

#[derive(Clone, Copy)]
enum Scram {
    Sha1,
    Sha256,
}

impl Scram {
    /// The client-final message and the server signature expected back (base64), from the
    /// server-first message (RFC 5802).
    fn respond(
        self,
        password: &str,
        client_first_bare: &str,
        server_first: &str,
        client_nonce: &str,
    ) -> Result<(String, String), String> {
        use ring::{digest, hmac, pbkdf2};
        let b64 = base64::engine::general_purpose::STANDARD;
        let (pbkdf, mac, hash, len) = match self {
            Scram::Sha1 => (
                pbkdf2::PBKDF2_HMAC_SHA1,
                hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
                &digest::SHA1_FOR_LEGACY_USE_ONLY,
                20,
            ),
            Scram::Sha256 => (
                pbkdf2::PBKDF2_HMAC_SHA256,
                hmac::HMAC_SHA256,
                &digest::SHA256,
                32,
            ),
        };
        let field = |key: &str| {
            server_first
                .split(',')
                .find_map(|f| f.strip_prefix(key))
                .ok_or_else(|| format!("a SCRAM challenge without {key}"))
        };
        let nonce = field("r=")?;
        if !nonce.starts_with(client_nonce) {
            return Err("a SCRAM challenge with someone else's nonce".to_owned());
        }
        let salt = b64
            .decode(field("s=")?)
            .map_err(|_| "a SCRAM salt that is not base64".to_owned())?;
        let iterations: u32 = field("i=")?
            .parse()
            .ok()
            .filter(|&i| (1..=10_000_000).contains(&i))
            .ok_or_else(|| "a SCRAM iteration count out of range".to_owned())?;
        let mut salted = vec![0u8; len];
        pbkdf2::derive(
            pbkdf,
            std::num::NonZeroU32::new(iterations).unwrap_or(std::num::NonZeroU32::MIN),
            &salt,
            password.as_bytes(),
            &mut salted,
        );
        let salted = hmac::Key::new(mac, &salted);
        let client_key = hmac::sign(&salted, b"Client Key");
        let stored_key = digest::digest(hash, client_key.as_ref());
        let without_proof = format!("c=biws,r={nonce}");
        let auth_message = format!("{client_first_bare},{server_first},{without_proof}");
        let signature = hmac::sign(
            &hmac::Key::new(mac, stored_key.as_ref()),
            auth_message.as_bytes(),
        );
        let proof: Vec<u8> = client_key
            .as_ref()
            .iter()
            .zip(signature.as_ref())
            .map(|(a, b)| a ^ b)
            .collect();
        let server_key = hmac::sign(&salted, b"Server Key");
        let server_signature = hmac::sign(
            &hmac::Key::new(mac, server_key.as_ref()),
            auth_message.as_bytes(),
        );
        Ok((
            format!("{without_proof},p={}", b64.encode(proof)),
            b64.encode(server_signature.as_ref()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scram_sha1_matches_rfc5802() {
        // RFC 5802, section 5: user "user", password "pencil".
        let (final_message, server) = Scram::Sha1
            .respond(
                "pencil",
                "n=user,r=fyko+d2lbbFgONRv9qkxdawL",
                "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
                "fyko+d2lbbFgONRv9qkxdawL",
            )
            .unwrap();
        assert_eq!(
            final_message,
            "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="
        );
        assert_eq!(server, "rmF9pqV8S7suAoZWja4dJRkFsKQ=");
    }

    #[test]
    fn scram_sha256_matches_rfc7677() {
        let (final_message, server) = Scram::Sha256
            .respond(
                "pencil",
                "n=user,r=rOprNGfwEbeRWgbNEkqO",
                "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
                "rOprNGfwEbeRWgbNEkqO",
            )
            .unwrap();
        assert_eq!(
            final_message,
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
             p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        assert_eq!(server, "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
    }

    #[test]
    fn the_plain_body_is_found_beside_an_xhtml_one() {
        let m = "<message><html xmlns='http://jabber.org/protocol/xhtml-im'>\
                 <body xmlns='http://www.w3.org/1999/xhtml'><p>x</p></body></html>\
                 <body>bot: who</body></message>";
        assert_eq!(plain_body(m), Some("bot: who"));
        assert_eq!(plain_body("<message><bodyguard/></message>"), None);
        assert_eq!(plain_body("<message><body/></message>"), Some(""));
    }

    #[test]
    fn attributes_are_read_quote_by_quote_and_written_escaped() {
        // A value holding what looks like another attribute is only that value.
        let spoof = "<message id=\" from='room@conf/alice'\" from=\"mallory@evil\" \
                     type='chat'><body>x</body></message>";
        assert_eq!(attribute(spoof, "from").as_deref(), Some("mallory@evil"));
        assert_eq!(
            attribute(spoof, "id").as_deref(),
            Some(" from='room@conf/alice'")
        );
        assert_eq!(attribute(spoof, "type").as_deref(), Some("chat"));
        let single = "<iq from='a&amp;b@x/r' type = 'get' id='1>2'><ping/></iq>";
        assert_eq!(attribute(single, "from").as_deref(), Some("a&b@x/r"));
        assert_eq!(attribute(single, "type").as_deref(), Some("get"));
        assert_eq!(attribute(single, "id").as_deref(), Some("1>2"));
        assert_eq!(attribute(single, "to"), None);
        // A ping whose id holds a quote gets an answer with one of each attribute.
        let ping = "<iq type=\"get\" id=\"x' type='set\" from=\"s@x\">\
                    <ping xmlns='urn:xmpp:ping'/></iq>";
        let answer = iq_answer(ping);
        assert_eq!(
            answer,
            "<iq type='result' id='x&apos; type=&apos;set' to='s@x'/>"
        );
        let names: Vec<&str> = attributes(&answer).into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["type", "id", "to"]);
        assert_eq!(attribute(&answer, "id").as_deref(), Some("x' type='set"));
        assert!(has_status("<x><status code=\"110\"/></x>", "110"));
    }

    #[test]
    fn a_stream_that_failed_fails_every_later_wait_at_once() {
        use std::sync::mpsc::channel;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let (go, wait) = channel::<()>();
        let (sent, was_sent) = channel::<()>();
        let server = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            // Silent until the client has timed out once, then the answer it waits for.
            wait.recv().unwrap();
            conn.write_all(b"<iq type='result' id='p'/>").unwrap();
            conn.flush().unwrap();
            sent.send(()).unwrap();
            wait.recv().ok();
        });
        let tcp = TcpStream::connect(address).unwrap();
        tcp.set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let mut s = Stanzas {
            conn: Conn::Plain(tcp),
            buf: Vec::new(),
            broken: None,
        };
        let first = s.until(|stanza| reply(stanza, "p", "pinging")).unwrap_err();
        assert!(first.starts_with("reading from the server"), "{first}");
        go.send(()).unwrap();
        was_sent.recv().unwrap();
        // The answer is there to be read now, but the stream already failed: the next place
        // fails with the first error, and nothing is sent.
        let second = s.until(|stanza| reply(stanza, "p", "pinging")).unwrap_err();
        assert_eq!(second, first);
        assert_eq!(s.send("<presence/>").unwrap_err(), first);
        drop(go);
        drop(s);
        server.join().unwrap();
    }

    #[test]
    fn the_bot_never_hears_itself() {
        let mut session = Session {
            s: Stanzas {
                conn: Conn::Closed,
                buf: Vec::new(),
                broken: None,
            },
            domain: "x".to_owned(),
            nick: "ci-bot".to_owned(),
            joined: vec!["ci@conf.x".to_owned()],
            me: "bot@x".to_owned(),
        };
        let mut heard = |from: &str, kind: &str| {
            let stanza = format!(
                "<message from='{from}' type='{kind}' id='1'><body>ci-bot: help</body></message>"
            );
            session.heard(&stanza).unwrap().map(|q| q.asker)
        };
        assert_eq!(heard("Bot@X/notify", "chat"), None);
        assert_eq!(heard("bot@x/probtrack-1", "normal"), None);
        assert_eq!(heard("ci@conf.x/ci-bot", "chat"), None);
        assert_eq!(heard("ci@conf.x/ci-bot", "groupchat"), None);
        assert_eq!(heard("ann@x/phone", "chat").as_deref(), Some("ann@x"));
        assert_eq!(heard("ci@conf.x/ann", "chat").as_deref(), Some("ann"));
        assert_eq!(heard("ci@conf.x/ann", "groupchat").as_deref(), Some("ann"));
    }

    #[test]
    fn stanzas_are_cut_at_their_ends() {
        let buf = b"<a x='>'><b/>text</a><c/>";
        assert_eq!(tag_at(buf, 0), Some((Tag::Open, 9)));
        assert_eq!(tag_at(buf, 9), Some((Tag::Empty, 13)));
        assert_eq!(tag_at(buf, 13), Some((Tag::Text, 17)));
        assert_eq!(tag_at(buf, 17), Some((Tag::Close, 21)));
        assert_eq!(tag_at(b"<a", 0), None);
        assert_eq!(
            escape("a<b>&'\"\r\u{1b}\n"),
            "a&lt;b&gt;&amp;&apos;&quot;\\u{d}\\u{1b}\n"
        );
    }
}
