//! Zulip delivery: `POST /api/v1/messages` with the bot's e-mail and API key (HTTP basic), to a
//! stream (channel) and topic.
//!
//! Zulip renders its Markdown, where `@**all**` would notify everyone: the message's text goes in a
//! fenced code block longer than any run of backticks in it, where nothing is rendered or
//! mentions anyone, and the people on the hook are mentioned after it (`@**Full Name**`). A text
//! longer than Zulip takes is sent as several messages, each its own block. A person whose handle
//! has their user id (`Full Name|12`) also gets each message directly (`type=direct`).

use base64::Engine as _;

use crate::chat::http::{form, pieces, request};
use crate::chat::{mention, Protocol};
use crate::notify::{Destination, Message};
use crate::views::notify::Recipient;

/// Zulip's default `max_message_length`, less room for the fence and the mentions.
const MAX_TEXT: usize = 9_000;

/// How to reach Zulip, and as which bot.
pub(crate) struct Zulip {
    /// The organization's URL, `https://example.zulipchat.com`.
    pub site: String,
    /// The bot's e-mail address.
    pub email: String,
    /// From `PROBTRACK_ZULIP_API_KEY`.
    pub api_key: Option<String>,
    /// The stream (channel) and topic; `None` for direct messages only (digests).
    pub stream: Option<String>,
    pub topic: String,
    /// Also a direct message to each responsible person whose `zulip` handle has their user id.
    pub direct: bool,
    /// The places (the stream, people) that took each message of the last batch.
    pub took: Vec<(usize, String)>,
}

/// `text` as inert Markdown: a fenced code block.
pub(crate) fn fenced(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat((longest + 1).max(3));
    format!("{fence}text\n{}\n{fence}", text.trim_end_matches('\n'))
}

/// Where a message goes: the stream, or a person by user id.
#[derive(Clone, Copy)]
enum To {
    Stream,
    Person(u64),
}

impl To {
    /// The place as the records name it.
    fn place(self, z: &Zulip) -> String {
        match self {
            To::Stream => format!("stream:{}", z.stream.as_deref().unwrap_or_default()),
            To::Person(id) => format!("user:{id}"),
        }
    }
}

/// Sends `text` (and, after it, `mentions`, already in Zulip's `@**name**` form) to `to`.
fn send(z: &Zulip, to: To, text: &str, mentions: &[String]) -> Result<(), String> {
    let api_key = z
        .api_key
        .as_deref()
        .ok_or_else(|| crate::chat::destinations::missing("PROBTRACK_ZULIP_API_KEY"))?;
    let parts = pieces(text, MAX_TEXT);
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{api_key}", z.email))
    );
    let url = format!("{}/api/v1/messages", z.site.trim_end_matches('/'));
    let count = parts.len();
    for (i, part) in parts.iter().enumerate() {
        let mut content = fenced(part);
        if count > 1 {
            content = format!("({}/{count})\n{content}", i + 1);
        }
        if i + 1 == count && !mentions.is_empty() {
            content += &format!("\n{}", mentions.join(" "));
        }
        let body = match to {
            To::Stream => {
                // A topic is at most 60 characters.
                let topic: String = z.topic.chars().take(60).collect();
                form(&[
                    ("type", "stream"),
                    ("to", z.stream.as_deref().unwrap_or_default()),
                    ("topic", &topic),
                    ("content", &content),
                ])
            }
            To::Person(id) => form(&[
                ("type", "direct"),
                ("to", &format!("[{id}]")),
                ("content", &content),
            ]),
        };
        let answer = request(
            "POST",
            &url,
            Some(&auth),
            "application/x-www-form-urlencoded",
            Some(body),
        )
        .map_err(|e| format!("{}: {e}", z.site))?;
        if answer.status != 200 || answer.json()["result"] != "success" {
            return Err(format!("{}: {}", z.site, answer.complaint()));
        }
    }
    Ok(())
}

/// The user id in a `zulip` handle of the form `Full Name|id` (as Zulip's own mentions write it).
fn user_id(handle: &str) -> Option<u64> {
    handle.rsplit_once('|')?.1.trim().parse().ok()
}

impl Zulip {
    /// The user ids of a message's people, where direct messages are on.
    fn people(&self, m: &Message) -> Vec<u64> {
        let mut out: Vec<u64> = Vec::new();
        if !self.direct {
            return out;
        }
        for id in m
            .recipients
            .iter()
            .filter_map(|r| r.handles.get(Protocol::Zulip))
            .filter_map(user_id)
        {
            if !out.contains(&id) {
                out.push(id);
            }
        }
        out
    }
}

impl Destination for Zulip {
    fn target(&self) -> &'static str {
        Protocol::Zulip.name()
    }

    fn protocol(&self) -> Option<Protocol> {
        Some(Protocol::Zulip)
    }

    /// In the text (a code block) a person is named plainly; the mentions follow the block.
    fn mention(&self, r: &Recipient) -> String {
        r.person.clone()
    }

    fn wants(&self, m: &Message) -> bool {
        self.stream.is_some() || !self.people(m).is_empty()
    }

    /// Each message to the stream (the people on the hook mentioned), then directly to each
    /// of them with a user id, but not to a place that took it in an earlier run.
    fn deliver(&mut self, messages: &[Message]) -> Vec<Result<(), String>> {
        self.took.clear();
        let mut out = Vec::new();
        for (i, m) in messages.iter().enumerate() {
            let mentions: Vec<String> = m
                .recipients
                .iter()
                .filter(|r| r.handles.get(Protocol::Zulip).is_some())
                .map(|r| mention(Protocol::Zulip, &r.person, &r.handles))
                .collect();
            let mut places = Vec::new();
            if self.stream.is_some() {
                places.push(To::Stream);
            }
            places.extend(self.people(m).into_iter().map(To::Person));
            let mut outcome = Ok(());
            for to in places {
                let place = to.place(self);
                if m.skip.contains(&place) {
                    continue;
                }
                let mentions: &[String] = match to {
                    To::Stream => &mentions,
                    To::Person(_) => &[],
                };
                match send(self, to, &m.text, mentions) {
                    Ok(()) => self.took.push((i, place)),
                    Err(e) => {
                        if outcome.is_ok() {
                            outcome = Err(e);
                        }
                    }
                }
            }
            out.push(outcome);
        }
        out
    }

    fn took(&mut self) -> Vec<(usize, String)> {
        std::mem::take(&mut self.took)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_fence_is_longer_than_any_backticks_inside() {
        assert_eq!(super::fenced("a"), "```text\na\n```");
        assert_eq!(super::fenced("a ```` b\n"), "`````text\na ```` b\n`````");
        assert_eq!(super::user_id("Ann A|12"), Some(12));
        assert_eq!(super::user_id("Ann A"), None);
    }
}
