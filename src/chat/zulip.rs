//! Zulip delivery: `POST /api/v1/messages` with the bot's e-mail and API key (HTTP basic), to a
//! stream (channel) and topic.
//!
//! Zulip renders its Markdown, where `@**all**` would notify everyone: the message's text goes in a
//! fenced code block longer than any run of backticks in it, where nothing is rendered or
//! mentions anyone, and the people on the hook are mentioned after it (`@**Full Name**`). A text
//! longer than Zulip takes is sent as several messages, each its own block.

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
    pub stream: String,
    pub topic: String,
}

/// `text` as inert Markdown: a fenced code block.
pub(crate) fn fenced(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat((longest + 1).max(3));
    format!("{fence}text\n{}\n{fence}", text.trim_end_matches('\n'))
}

/// Sends `text` (and, after it, `mentions`, already in Zulip's `@**name**` form).
pub(crate) fn send(z: &Zulip, text: &str, mentions: &[String]) -> Result<(), String> {
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
        // A topic is at most 60 characters.
        let topic: String = z.topic.chars().take(60).collect();
        let body = form(&[
            ("type", "stream"),
            ("to", &z.stream),
            ("topic", &topic),
            ("content", &content),
        ]);
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

    fn deliver(&mut self, messages: &[Message]) -> Vec<Result<(), String>> {
        messages
            .iter()
            .map(|m| {
                let mentions: Vec<String> = m
                    .recipients
                    .iter()
                    .filter(|r| r.handles.get(Protocol::Zulip).is_some())
                    .map(|r| mention(Protocol::Zulip, &r.person, &r.handles))
                    .collect();
                send(self, &m.text, &mentions)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_fence_is_longer_than_any_backticks_inside() {
        assert_eq!(super::fenced("a"), "```text\na\n```");
        assert_eq!(super::fenced("a ```` b\n"), "`````text\na ```` b\n`````");
    }
}
