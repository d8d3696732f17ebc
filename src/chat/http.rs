//! The HTTP requests of the chat APIs (Matrix, Zulip, Discord): one agent, answers read whatever
//! their status, and errors that name the destination but never its URL's secret parts or a token.

use std::time::Duration;

/// How long one request may take.
const TIMEOUT: Duration = Duration::from_secs(30);
/// The most of an answer that is read.
pub(crate) const MAX_ANSWER: u64 = 1 << 20;

/// An answer: its status and body.
pub(crate) struct Answer {
    pub status: u16,
    pub body: String,
}

impl Answer {
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// What the server said went wrong, shortened and made printable.
    pub(crate) fn complaint(&self) -> String {
        let json = self.json();
        let said = ["errcode", "error", "msg", "message", "code"]
            .iter()
            .filter_map(|k| match &json[k] {
                serde_json::Value::Null => None,
                serde_json::Value::String(s) => Some(s.clone()),
                v => Some(v.to_string()),
            })
            .collect::<Vec<_>>()
            .join(": ");
        let said = if said.is_empty() {
            self.body.clone()
        } else {
            said
        };
        format!(
            "HTTP {}: {}",
            self.status,
            crate::report::safe_short(said.as_bytes(), 200)
        )
    }
}

/// One request. `auth` is the whole `Authorization` header's value. A transport failure is an
/// `Err` that says what happened without the URL (which may hold a secret), and so is an
/// answer longer than 1 MiB (never a cut or empty body taken for the server's word).
pub(crate) fn request(
    method: &str,
    url: &str,
    auth: Option<&str>,
    content_type: &str,
    body: Option<String>,
) -> Result<Answer, String> {
    request_capped(method, url, auth, content_type, body, MAX_ANSWER)
}

/// [`request`] that reads at most `cap` bytes of the answer; a longer one is an `Err`.
pub(crate) fn request_capped(
    method: &str,
    url: &str,
    auth: Option<&str>,
    content_type: &str,
    body: Option<String>,
    cap: u64,
) -> Result<Answer, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(TIMEOUT))
        .http_status_as_error(false)
        .build()
        .into();
    let mut builder = ureq::http::Request::builder()
        .method(method)
        .uri(url)
        .header("Content-Type", content_type)
        .header("User-Agent", "probtrack");
    if let Some(auth) = auth {
        builder = builder.header("Authorization", auth);
    }
    let request = builder
        .body(body.unwrap_or_default())
        .map_err(|_| "not a valid URL".to_owned())?;
    let mut response = agent.run(request).map_err(|e| match e {
        ureq::Error::Io(io) => io.to_string(),
        ureq::Error::HostNotFound => "host not found".to_owned(),
        ureq::Error::Timeout(_) => "timed out".to_owned(),
        ureq::Error::ConnectionFailed => "connection failed".to_owned(),
        ureq::Error::Tls(e) => format!("TLS: {e}"),
        ureq::Error::Rustls(e) => format!("TLS: {e}"),
        _ => "the request failed".to_owned(),
    })?;
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .with_config()
        .limit(cap)
        .read_to_string()
        .map_err(|e| match e {
            ureq::Error::BodyExceedsLimit(_) => {
                format!("the answer is longer than the {cap} bytes read")
            }
            ureq::Error::Timeout(_) => "timed out reading the answer".to_owned(),
            ureq::Error::Io(io) => format!("reading the answer: {io}"),
            _ => "the answer could not be read".to_owned(),
        })?;
    Ok(Answer { status, body })
}

/// A URL path segment or form value with everything but the unreserved characters escaped.
pub(crate) fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `application/x-www-form-urlencoded` of `fields`.
pub(crate) fn form(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// `text` cut into pieces of at most `max` characters, at line ends where it can be.
pub(crate) fn pieces(text: &str, max: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut count = 0;
    for line in text.split_inclusive('\n') {
        let n = line.chars().count();
        if count + n > max && count > 0 {
            out.push(std::mem::take(&mut current));
            count = 0;
        }
        if n > max {
            let chars: Vec<char> = line.chars().collect();
            for chunk in chars.chunks(max) {
                if count > 0 {
                    out.push(std::mem::take(&mut current));
                }
                current = chunk.iter().collect();
                count = chunk.len();
            }
        } else {
            current.push_str(line);
            count += n;
        }
    }
    if !current.is_empty() || out.is_empty() {
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Serves one connection: `body` as a 200 answer.
    fn serve_once(body: String) -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            use std::io::{Read, Write};
            let (mut conn, _) = listener.accept().unwrap();
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && conn.read(&mut byte).unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            let answer = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            conn.write_all(answer.as_bytes()).ok();
        });
        url
    }

    #[test]
    fn an_answer_over_the_cap_is_an_error_not_an_empty_body() {
        let body = format!(
            "{{\"next_batch\":\"s1\",\"pad\":\"{}\"}}",
            "x".repeat(1 << 20)
        );
        let url = serve_once(body);
        let got = request("GET", &url, None, "application/json", None);
        let err = got.err().expect("an answer over 1 MiB must be an error");
        assert!(err.contains("longer than the 1048576 bytes"), "{err}");
        // Under a larger cap the same answer is read whole.
        let body = format!(
            "{{\"next_batch\":\"s1\",\"pad\":\"{}\"}}",
            "x".repeat(1 << 20)
        );
        let url = serve_once(body);
        let got = request_capped("GET", &url, None, "application/json", None, 4 << 20).unwrap();
        assert_eq!(got.status, 200);
        assert_eq!(got.json()["next_batch"], "s1");
    }

    #[test]
    fn long_text_is_cut_whole() {
        let text = format!("a\n{}\nb\n", "x".repeat(25));
        let parts = pieces(&text, 10);
        assert_eq!(parts.concat(), text);
        assert!(parts.iter().all(|p| p.chars().count() <= 10), "{parts:?}");
        assert_eq!(pieces("short", 10), ["short"]);
        assert_eq!(encode("#ci:example.org"), "%23ci%3Aexample.org");
    }
}
