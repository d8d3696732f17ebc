//! Discord delivery: an execute-webhook `POST` (`?wait=true`, so that a message Discord refused is
//! an error) of `{content, username, allowed_mentions, flags}`.
//!
//! `allowed_mentions` lists only the people on the hook (by user id): nothing else in the text,
//! `@everyone`, `@here` or `<@id>` in a test name included, notifies anyone. Markdown in the text is
//! escaped with backslashes so that it shows as written, and link previews are suppressed. A
//! text longer than Discord's 2,000 characters is sent as several messages.

use crate::notify::http::{pieces, request};

/// Discord's limit on `content`, less room for escapes' growth being cut below.
const MAX_CONTENT: usize = 2_000;
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

/// Sends `text` (already escaped) to the webhook `url` (from `PROBTRACK_DISCORD_WEBHOOK`), with
/// `mentions` (`<@id>`) after it and `users` (their ids) the only ones it may notify.
pub(crate) fn send(
    url: &str,
    username: &str,
    text: &str,
    mentions: &[String],
    users: &[String],
) -> Result<(), String> {
    let mut content = text.trim_end_matches('\n').to_owned();
    if !mentions.is_empty() {
        content += &format!("\n{}", mentions.join(" "));
    }
    // Cut where no escape is split: pieces are cut by characters, so a piece never ends inside
    // `\*` only if we cut the escaped text at line ends; a line longer than the limit may be cut
    // between a backslash and its character, which then shows one stray backslash at worst.
    let parts = pieces(&content, MAX_CONTENT);
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

#[cfg(test)]
mod tests {
    #[test]
    fn markdown_and_mentions_are_escaped() {
        assert_eq!(super::escape("@everyone *x*"), "\\@everyone \\*x\\*");
    }
}
