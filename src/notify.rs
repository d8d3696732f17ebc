//! Telling people: which Problems opened, were fixed or turned intermittent since the last
//! notification, the message for each, and delivery to a webhook and by SMTP.
//!
//! What was sent is recorded per Problem, event and target (`notifications`), so that nothing is
//! announced twice and a failed send is retried next time. The decision of what is due is pure
//! ([`due`]); sending is [`post_webhook`] and [`send_email`].

use std::collections::HashSet;
use std::time::Duration;

use serde::Serialize;

use crate::clock;
use crate::people;
use crate::report::lossy;
use crate::settings::Settings;
use crate::store::{ChangeRef, Id, NotificationRecord, ProblemRecord};
use crate::views::problems::{EarlierLink, LinkView};
use crate::views::{shorten, MESSAGE_LEN};

pub const OPENED: &str = "opened";
pub const FIXED: &str = "fixed";
pub const INTERMITTENT: &str = "intermittent";

/// The record target that `notify --mark-all-sent` writes: counts as sent to every target.
pub const BASELINE: &str = "baseline";
pub const WEBHOOK: &str = "webhook";
pub const EMAIL: &str = "email";

/// How long one send may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Which records say what was sent.
pub struct Sent(HashSet<(Id, String, String)>);

impl Sent {
    pub fn new(records: &[NotificationRecord]) -> Sent {
        Sent(
            records
                .iter()
                .filter(|r| r.sent_at.is_some())
                .map(|r| (r.problem, r.event.clone(), r.target.clone()))
                .collect(),
        )
    }

    pub fn was_sent(&self, problem: Id, event: &str, target: &str) -> bool {
        [target, BASELINE].iter().any(|t| {
            self.0
                .contains(&(problem, event.to_owned(), (*t).to_owned()))
        })
    }
}

/// The events of `problem` not yet announced to `target`, in the order they happened: `opened`
/// (a Problem that is not intermittent), `fixed` (such a Problem, fixed), `intermittent` (an
/// announced Problem that turned out to be a flaky test's).
pub fn due(problem: &ProblemRecord, sent: &Sent, target: &str) -> Vec<&'static str> {
    let mut out = Vec::new();
    let was = |event| sent.was_sent(problem.id, event, target);
    if !problem.intermittent {
        if !was(OPENED) {
            out.push(OPENED);
        }
        // A Problem that ends with its builders retired was not fixed: nothing to announce.
        if !problem.open && problem.fixed.is_some() && !was(FIXED) {
            out.push(FIXED);
        }
    } else if was(OPENED) && !was(INTERMITTENT) {
        out.push(INTERMITTENT);
    }
    out
}

/// Someone a message is for.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Recipient {
    pub person: String,
    pub email: Option<String>,
    pub chat: Option<String>,
}

/// The people responsible for a Problem (the authors of its suspects), and for a fix its fixers.
pub fn recipients(settings: &Settings, problem: &ProblemRecord) -> Vec<Recipient> {
    let mut out: Vec<Recipient> = Vec::new();
    for author in problem
        .started_by
        .iter()
        .chain(&problem.fixed_by)
        .filter_map(|c| c.author.as_deref())
    {
        let person = people::person(settings, author);
        if out.iter().any(|r| r.person == person.name) {
            continue;
        }
        let email = person
            .entry
            .and_then(|e| e.emails.first().cloned())
            .or_else(|| people::split_author(author).1.map(str::to_owned))
            .filter(|e| e.contains('@'));
        out.push(Recipient {
            person: person.name.clone(),
            email,
            chat: person.entry.and_then(|e| e.chat.clone()),
        });
    }
    out
}

/// What a message says about one Problem.
pub struct Content<'a> {
    pub problem: &'a ProblemRecord,
    pub events: &'a [&'static str],
    pub recipients: &'a [Recipient],
    pub links: &'a [LinkView],
    pub earlier_links: &'a [EarlierLink],
    pub report_url: Option<&'a str>,
}

fn changes(list: &[ChangeRef]) -> String {
    list.iter()
        .map(|c| {
            format!(
                "{} by {}",
                &c.revision[..c.revision.len().min(10)],
                c.author.as_deref().unwrap_or("?")
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The subject line and the text of a message.
pub fn compose(c: &Content<'_>) -> (String, String) {
    let p = c.problem;
    let test = lossy(&p.test_name);
    let what = c
        .events
        .iter()
        .map(|e| match *e {
            OPENED => "broke",
            FIXED => "was fixed",
            _ => "turned out intermittent",
        })
        .collect::<Vec<_>>()
        .join(" and ");
    let subject = format!("[probtrack] {test} {what} (Problem {})", p.id);
    let mut text = format!("{test} {what} — Problem {}", p.id);
    if let Some(branch) = &p.branch {
        text += &format!(" on branch {branch}");
    }
    text.push('\n');
    let builders: Vec<&str> = p.builders.iter().map(|b| b.builder.as_str()).collect();
    text += &format!(
        "Failing since {} #{} ({}) on {}; {} failing build{}, the last {} #{}.\n",
        p.first_failure.builder,
        p.first_failure.number,
        clock::rfc3339(p.first_failure.time),
        builders.join(", "),
        p.failures,
        if p.failures == 1 { "" } else { "s" },
        p.last_failure.builder,
        p.last_failure.number,
    );
    if let Some(message) = &p.message {
        text += &format!("Message: {}\n", shorten(&lossy(message), MESSAGE_LEN));
    }
    if p.started_by.is_empty() {
        text += "Suspect changes: none recorded.\n";
    } else {
        text += &format!("Suspect changes: {}.\n", changes(&p.started_by));
    }
    if let Some(fixed) = &p.fixed {
        text += &format!(
            "Fixed in {} #{} ({}){}.\n",
            fixed.builder,
            fixed.number,
            clock::rfc3339(fixed.time),
            if p.fixed_by.is_empty() {
                String::new()
            } else {
                format!(" by {}", changes(&p.fixed_by))
            }
        );
    }
    if c.events.contains(&INTERMITTENT) {
        text += "Its failures look like a flaky test's: it is left out of the default `problems` list.\n";
    }
    if !c.recipients.is_empty() {
        let people: Vec<String> = c
            .recipients
            .iter()
            .map(|r| match &r.chat {
                Some(chat) => format!("{} ({chat})", r.person),
                None => r.person.clone(),
            })
            .collect();
        text += &format!("Responsible: {}.\n", people.join(", "));
    }
    for link in c.links {
        text += &format!("Bug: {} ({})\n", link.url, link.state);
    }
    for link in c.earlier_links {
        text += &format!(
            "It fails again while Problem {}'s bug is open: {}\n",
            link.problem, link.url
        );
    }
    if let Some(url) = c.report_url {
        text += &format!(
            "Details: {}/problem-{}.html\n",
            url.trim_end_matches('/'),
            p.id
        );
    }
    (subject, text)
}

/// POSTs `{"text": …, "username": "probtrack"}`, which Slack, Mattermost and Matrix hookshot
/// incoming webhooks accept.
pub fn post_webhook(url: &str, text: &str) -> Result<(), String> {
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
        .map_err(|e| e.to_string())
}

/// How to reach the SMTP server.
pub struct Smtp {
    pub server: String,
    pub port: Option<u16>,
    /// `starttls`, `tls` or `none`.
    pub security: String,
    pub user: Option<String>,
    pub password: Option<String>,
    pub from: String,
}

/// Sends one e-mail to every address in `to`.
pub fn send_email(smtp: &Smtp, to: &[String], subject: &str, text: &str) -> Result<(), String> {
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
