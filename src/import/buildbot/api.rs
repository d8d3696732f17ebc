//! A Buildbot master's REST API (`/api/v2`) as `import --buildbot` reads it: GET requests with
//! the user's credentials, retried with backoff when the master is busy or the network fails, and
//! answers read as JSON whose every value is looked up by its place, so that an answer of the
//! wrong shape is an error naming the URL and the place (`builds[3].number`).

use std::time::Duration;

use serde_json::Value;

use crate::error::{Error, Result};

/// How one request may take, at most.
const TIMEOUT: Duration = Duration::from_secs(120);
/// The largest answer read (a page of log lines is far smaller).
const MAX_ANSWER: u64 = 256 * 1024 * 1024;
/// Attempts per request when the master is unreachable or answers 429/5xx.
const ATTEMPTS: u32 = 5;
/// The first wait before a retry; each later one doubles.
const BACKOFF: Duration = Duration::from_millis(500);

/// Credentials for a master (or a proxy in front of it) that requires them.
#[derive(Clone, Default)]
pub(crate) enum Auth {
    #[default]
    None,
    /// `Authorization: Bearer TOKEN`.
    Bearer(String),
    /// `Authorization: Basic …` (HTTP basic authentication).
    Basic { user: String, password: String },
}

/// The API of one master.
#[derive(Clone)]
pub(crate) struct Client {
    agent: ureq::Agent,
    /// `http://host:port/api/v2`, without a trailing slash.
    base: String,
    /// The base as messages show it: without any user and password.
    shown: String,
    authorization: Option<String>,
}

impl Client {
    /// A client for the master at `url` (its web address, with or without `/api/v2`).
    pub(crate) fn new(url: &str, auth: &Auth) -> Result<Client> {
        let trimmed = url.trim_end_matches('/');
        if !(trimmed.starts_with("http://") || trimmed.starts_with("https://")) {
            return Err(Error::usage(format!(
                "--buildbot `{}`: expected the master's web address, http:// or https://",
                redact(url)
            ))
            .hint("e.g. --buildbot http://buildbot.example.org:8010/"));
        }
        // Credentials never go on the command line, where other users and shell histories see them.
        let authority = trimmed.split_once("://").map_or("", |(_, rest)| rest);
        let authority = authority.split(['/', '?', '#']).next().unwrap_or("");
        if authority.contains('@') {
            return Err(Error::usage(format!(
                "--buildbot `{}`: a user or password in the URL would be on the command line",
                redact(url)
            ))
            .hint("give them as PROBTRACK_BUILDBOT_USER and PROBTRACK_BUILDBOT_PASSWORD (or PROBTRACK_BUILDBOT_TOKEN)"));
        }
        let base = if trimmed.ends_with("/api/v2") {
            trimmed.to_owned()
        } else {
            format!("{trimmed}/api/v2")
        };
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(TIMEOUT))
            .http_status_as_error(false)
            .user_agent(concat!("probtrack/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        let authorization = match auth {
            Auth::None => None,
            Auth::Bearer(token) => Some(format!("Bearer {token}")),
            Auth::Basic { user, password } => Some(format!(
                "Basic {}",
                base64(format!("{user}:{password}").as_bytes())
            )),
        };
        Ok(Client {
            agent,
            shown: redact(&base),
            base,
            authorization,
        })
    }

    /// The URL of `path` (relative to `/api/v2`, with its query) as messages show it.
    pub(crate) fn shown(&self, path: &str) -> String {
        format!("{}{path}", self.shown)
    }

    /// GETs `path` (relative to `/api/v2`, e.g. `/builders?limit=10`): its JSON, or `None` when
    /// the master answers 404 (no such step or log in this build).
    pub(crate) fn get(&self, path: &str) -> Result<Option<Value>> {
        let url = format!("{}{path}", self.base);
        let shown = self.shown(path);
        let mut wait = BACKOFF;
        for attempt in 1..=ATTEMPTS {
            let mut request = self.agent.get(&url).header("Accept", "application/json");
            if let Some(authorization) = &self.authorization {
                request = request.header("Authorization", authorization);
            }
            let retry = match request.call() {
                Ok(mut response) => {
                    let status = response.status().as_u16();
                    match status {
                        200..=299 => {
                            let reader =
                                response.body_mut().with_config().limit(MAX_ANSWER).reader();
                            return serde_json::from_reader(std::io::BufReader::new(reader))
                                .map(Some)
                                .map_err(|e| {
                                    Error::bad_input(format!(
                                        "{shown}: the master's answer is not JSON: {e}"
                                    ))
                                    .hint("check that --buildbot names a Buildbot master's web address")
                                });
                        }
                        404 => return Ok(None),
                        401 | 403 => {
                            return Err(Error::bad_input(format!(
                                "{shown}: the master refused the request ({status})"
                            ))
                            .hint(
                                "set PROBTRACK_BUILDBOT_TOKEN (a bearer token), or \
                                 PROBTRACK_BUILDBOT_USER and PROBTRACK_BUILDBOT_PASSWORD",
                            ))
                        }
                        429 | 500..=599 => format!("it answered {status}"),
                        _ => {
                            return Err(Error::bad_input(format!(
                                "{shown}: the master answered {status}"
                            ))
                            .hint("check that --buildbot names a Buildbot master's web address"))
                        }
                    }
                }
                Err(ureq::Error::BodyExceedsLimit(limit)) => {
                    return Err(Error::bad_input(format!(
                        "{shown}: the master's answer is larger than {} MiB",
                        limit / (1024 * 1024)
                    )))
                }
                Err(e) => e.to_string(),
            };
            if attempt == ATTEMPTS {
                return Err(Error::bad_input(format!(
                    "{shown}: no answer after {ATTEMPTS} attempts ({})",
                    redact(&retry)
                ))
                .hint("check that the master is running and reachable from here"));
            }
            std::thread::sleep(wait);
            wait *= 2;
        }
        unreachable!("the last attempt returns")
    }

    /// GETs `path`, which must exist.
    pub(crate) fn get_found(&self, path: &str) -> Result<Value> {
        self.get(path)?.ok_or_else(|| {
            Error::bad_input(format!(
                "{}: the master has no such page (404)",
                self.shown(path)
            ))
            .hint("check that --buildbot names a Buildbot master's web address")
        })
    }
}

/// A value of an answer, with where it is: the URL and the path to it.
#[derive(Clone, Copy)]
pub(crate) struct At<'a> {
    pub url: &'a str,
    pub value: &'a Value,
    path: Place<'a>,
}

#[derive(Clone, Copy)]
enum Place<'a> {
    Root,
    Key(&'a At<'a>, &'a str),
    Index(&'a At<'a>, usize),
}

impl<'a> At<'a> {
    pub(crate) fn root(url: &'a str, value: &'a Value) -> At<'a> {
        At {
            url,
            value,
            path: Place::Root,
        }
    }

    fn place(&self) -> String {
        match self.path {
            Place::Root => String::new(),
            Place::Key(parent, key) => {
                let up = parent.place();
                if up.is_empty() {
                    key.to_owned()
                } else {
                    format!("{up}.{key}")
                }
            }
            Place::Index(parent, i) => format!("{}[{i}]", parent.place()),
        }
    }

    /// An error about this value: the URL, where in the answer, and what was wrong.
    pub(crate) fn error(&self, what: &str) -> Error {
        let place = self.place();
        let place = if place.is_empty() {
            "the answer".to_owned()
        } else {
            format!("`{place}`")
        };
        let found = match self.value {
            Value::Null => "null".to_owned(),
            Value::Bool(_) => "a boolean".to_owned(),
            Value::Number(n) => format!("the number {n}"),
            Value::String(_) => "a string".to_owned(),
            Value::Array(_) => "an array".to_owned(),
            Value::Object(_) => "an object".to_owned(),
        };
        Error::bad_input(format!(
            "{}: {place}: expected {what}, found {found}",
            self.url
        ))
        .hint("is this a Buildbot master (version 3 or later)? The builds imported before are kept")
    }

    /// The value of key `key` (null when it is missing).
    pub(crate) fn key(&'a self, key: &'a str) -> At<'a> {
        static NULL: Value = Value::Null;
        At {
            url: self.url,
            value: self.value.get(key).unwrap_or(&NULL),
            path: Place::Key(self, key),
        }
    }

    /// The elements of an array.
    pub(crate) fn items(&'a self) -> Result<impl Iterator<Item = At<'a>>> {
        let items = self
            .value
            .as_array()
            .ok_or_else(|| self.error("an array"))?;
        Ok(items.iter().enumerate().map(move |(i, value)| At {
            url: self.url,
            value,
            path: Place::Index(self, i),
        }))
    }

    pub(crate) fn int(&self) -> Result<i64> {
        self.value.as_i64().ok_or_else(|| self.error("an integer"))
    }

    pub(crate) fn opt_int(&self) -> Result<Option<i64>> {
        match self.value {
            Value::Null => Ok(None),
            _ => self.int().map(Some),
        }
    }

    /// A time in seconds since the epoch (Buildbot writes integers; a fraction is kept).
    pub(crate) fn opt_seconds(&self) -> Result<Option<f64>> {
        match self.value {
            Value::Null => Ok(None),
            Value::Number(n) => n
                .as_f64()
                .filter(|s| s.is_finite() && *s >= 0.0)
                .map(Some)
                .ok_or_else(|| self.error("a time in seconds")),
            _ => Err(self.error("a time in seconds")),
        }
    }

    pub(crate) fn str(&self) -> Result<&'a str> {
        self.value.as_str().ok_or_else(|| self.error("a string"))
    }

    pub(crate) fn opt_str(&self) -> Result<Option<&'a str>> {
        match self.value {
            Value::Null => Ok(None),
            _ => self.str().map(Some),
        }
    }
}

/// `text` without the user and password of any URL in it.
fn redact(text: &str) -> String {
    let Some(scheme) = text.find("://") else {
        return text.to_owned();
    };
    let rest = &text[scheme + 3..];
    let host_end = rest.find('/').unwrap_or(rest.len());
    match rest[..host_end].rfind('@') {
        Some(at) => format!("{}://{}", &text[..scheme], &rest[at + 1..]),
        None => text.to_owned(),
    }
}

/// `segment` for a URL path (a step's name may hold spaces or slashes).
pub(crate) fn segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Standard base64 (RFC 4648), for HTTP basic authentication.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64(b"user:p\xc3\xa4ss"), "dXNlcjpww6Rzcw==");
    }

    #[test]
    fn redacts_credentials_in_urls() {
        assert_eq!(
            redact("http://u:p@host:8010/api/v2"),
            "http://host:8010/api/v2"
        );
        assert_eq!(redact("http://host/a@b"), "http://host/a@b");
        assert_eq!(segment("unit tests/a"), "unit%20tests%2Fa");
    }

    #[test]
    fn places_name_the_path() {
        let value = serde_json::json!({"builds": [{"number": 1}, {"number": "x"}]});
        let root = At::root("http://m/api/v2/builds", &value);
        let builds = root.key("builds");
        let second = builds.items().unwrap().nth(1).unwrap();
        let error = second.key("number").int().unwrap_err();
        assert_eq!(
            error.message,
            "http://m/api/v2/builds: `builds[1].number`: expected an integer, found a string"
        );
    }
}
