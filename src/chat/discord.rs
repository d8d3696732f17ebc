//! Discord delivery: an execute-webhook `POST` (`?wait=true`, so that a message Discord refused is
//! an error) of `{content, username, allowed_mentions, flags}`.
//!
//! `allowed_mentions` lists only the people on the hook (by user id): nothing else in the text,
//! `@everyone`, `@here` or `<@id>` in a test name included, notifies anyone. Markdown in the text is
//! escaped with backslashes so that it shows as written, and link previews are suppressed. A
//! text longer than Discord's 2,000 characters is sent as several messages.

use crate::chat::http::{pieces, request};
use crate::chat::{mention, Protocol};
use crate::notify::{Destination, Message};
use crate::views::notify::Recipient;

/// The most of the text in one message: escaping at most doubles it, within Discord's 2,000
/// characters of `content` with room for the mentions.
const MAX_TEXT: usize = 900;
/// `SUPPRESS_EMBEDS`: no link previews.
const SUPPRESS_EMBEDS: u32 = 1 << 2;

/// `text` with Discord's Markdown characters escaped, so that it shows as written.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\*_~`|>#-[]()<@:!".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Sends `text` to the webhook `url` (from `PROBTRACK_DISCORD_WEBHOOK`), escaped, with
/// `mentions` (`<@id>`) after it and `users` (their ids) the only ones it may notify. A long text
/// is cut before it is escaped, so no piece ends between a backslash and its character.
pub(crate) fn send(
    url: &str,
    username: &str,
    text: &str,
    mentions: &[String],
    users: &[String],
) -> Result<(), String> {
    let mut parts: Vec<String> = pieces(text.trim_end_matches('\n'), MAX_TEXT)
        .iter()
        .map(|p| escape(p))
        .collect();
    if let Some(last) = parts.last_mut() {
        if !mentions.is_empty() {
            *last = format!("{}\n{}", last.trim_end_matches('\n'), mentions.join(" "));
        }
    }
    let endpoint = if url.contains('?') {
        format!("{url}&wait=true")
    } else {
        format!("{url}?wait=true")
    };
    for part in parts {
        let body = serde_json::json!({
            "content": part,
            "username": username,
            "allowed_mentions": { "parse": [], "users": users },
            "flags": SUPPRESS_EMBEDS,
        });
        let answer = request(
            "POST",
            &endpoint,
            None,
            "application/json",
            Some(body.to_string()),
        )
        .map_err(|e| format!("the Discord webhook: {e}"))?;
        if !(200..300).contains(&answer.status) {
            return Err(format!("the Discord webhook: {}", answer.complaint()));
        }
    }
    Ok(())
}

/// `[notify.discord]`: a channel's webhook.
pub(crate) struct Discord {
    /// From `PROBTRACK_DISCORD_WEBHOOK`.
    pub url: Option<String>,
    pub username: String,
}

impl Destination for Discord {
    fn target(&self) -> &'static str {
        Protocol::Discord.name()
    }

    fn protocol(&self) -> Option<Protocol> {
        Some(Protocol::Discord)
    }

    /// In the (escaped) text a person is named plainly; the mentions follow it.
    fn mention(&self, r: &Recipient) -> String {
        r.person.clone()
    }

    fn deliver(&mut self, messages: &[Message]) -> Vec<Result<(), String>> {
        let Some(url) = self.url.clone() else {
            let error = crate::chat::destinations::missing("PROBTRACK_DISCORD_WEBHOOK");
            return messages.iter().map(|_| Err(error.clone())).collect();
        };
        messages
            .iter()
            .map(|m| {
                let ids: Vec<String> = m
                    .recipients
                    .iter()
                    .filter_map(|r| r.handles.get(Protocol::Discord))
                    .map(|h| h.trim().trim_start_matches('@').to_owned())
                    .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_digit()))
                    .collect();
                let mentions: Vec<String> = m
                    .recipients
                    .iter()
                    .filter(|r| r.handles.get(Protocol::Discord).is_some())
                    .map(|r| mention(Protocol::Discord, &r.person, &r.handles))
                    .collect();
                send(&url, &self.username, &m.text, &mentions, &ids)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn markdown_and_mentions_are_escaped() {
        assert_eq!(super::escape("@everyone *x*"), "\\@everyone \\*x\\*");
    }
}
