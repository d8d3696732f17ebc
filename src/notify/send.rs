//! Delivery: a webhook POST (ureq) and e-mail by SMTP (lettre).

use std::time::Duration;

/// How long one send may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// POSTs `{"text": …, "username": "probtrack"}`, which Slack, Mattermost and Matrix hookshot
/// incoming webhooks accept.
pub(crate) fn post_webhook(url: &str, text: &str) -> Result<(), String> {
    let body = serde_json::json!({ "text": text, "username": "probtrack" }).to_string();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(TIMEOUT))
        .build()
        .into();
    agent
        .post(url)
        .header("Content-Type", "application/json")
        .send(body)
        .map(|_| ())
        .map_err(|e| hide_path(&e.to_string(), url))
}

/// `text` without the path of `url`: an incoming webhook's path is its token (Slack's
/// `/services/T…/B…/…`), and errors are shown and stored.
fn hide_path(text: &str, url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    match rest.find(['/', '?']) {
        Some(i) if i + 1 < rest.len() => text.replace(&rest[i..], "/…"),
        _ => text.to_owned(),
    }
}

/// How to reach the SMTP server.
pub(crate) struct Smtp {
    pub server: String,
    pub port: Option<u16>,
    /// `starttls`, `tls` or `none`.
    pub security: String,
    pub user: Option<String>,
    pub password: Option<String>,
    pub from: String,
}

/// Sends one e-mail to every address in `to`.
pub(crate) fn send_email(
    smtp: &Smtp,
    to: &[String],
    subject: &str,
    text: &str,
) -> Result<(), String> {
    use lettre::message::header::ContentType;
    use lettre::transport::smtp::authentication::Credentials;
    use lettre::{Message, SmtpTransport, Transport};

    let mut builder = Message::builder()
        .from(
            smtp.from
                .parse()
                .map_err(|e| format!("smtp_from `{}`: {e}", smtp.from))?,
        )
        .subject(subject)
        .header(ContentType::TEXT_PLAIN);
    for address in to {
        builder = builder.to(address
            .parse()
            .map_err(|e| format!("address `{address}`: {e}"))?);
    }
    let message = builder.body(text.to_owned()).map_err(|e| e.to_string())?;
    let mut transport = match smtp.security.as_str() {
        "none" => SmtpTransport::builder_dangerous(&smtp.server).port(smtp.port.unwrap_or(25)),
        "tls" => SmtpTransport::relay(&smtp.server)
            .map_err(|e| e.to_string())?
            .port(smtp.port.unwrap_or(465)),
        _ => SmtpTransport::starttls_relay(&smtp.server)
            .map_err(|e| e.to_string())?
            .port(smtp.port.unwrap_or(587)),
    }
    .timeout(Some(TIMEOUT));
    if let (Some(user), Some(password)) = (&smtp.user, &smtp.password) {
        transport = transport.credentials(Credentials::new(user.clone(), password.clone()));
    }
    transport
        .build()
        .send(&message)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_webhook_error_never_shows_the_token() {
        let url = "https://hooks.example/services/T0/B0/t0ken?x=1";
        let err =
            super::post_webhook("https://hooks.example:notaport/services/t0ken", "x").unwrap_err();
        assert!(!err.contains("t0ken"), "{err}");
        assert_eq!(
            super::hide_path(&format!("bad uri: {url}"), url),
            "bad uri: https://hooks.example/…"
        );
    }
}
