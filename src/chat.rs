//! Chat: the protocols probtrack talks, a person's handle on each, and how a message mentions a
//! person there. The transports live one per protocol (`chat/irc.rs`); `notify` delivers through
//! them ([`crate::notify::Destination`]) and `bot` answers through them ([`crate::bot::Room`]).

use serde::Serialize;

use crate::settings::UserEntry;

pub(crate) mod destinations;
pub(crate) mod discord;
pub(crate) mod http;
pub(crate) mod irc;
pub(crate) mod matrix;
pub(crate) mod xmpp;
pub(crate) mod zulip;

/// A chat protocol: each has its own handle in the users map (`[[users]]` key of the same name).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Protocol {
    Irc,
    Xmpp,
    Matrix,
    Slack,
    Zulip,
    Discord,
}

impl Protocol {
    /// The name used in settings, records and output.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Protocol::Irc => "irc",
            Protocol::Xmpp => "xmpp",
            Protocol::Matrix => "matrix",
            Protocol::Slack => "slack",
            Protocol::Zulip => "zulip",
            Protocol::Discord => "discord",
        }
    }
}

/// A person's handle on each protocol, from the users map; `None` where the map has none.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Handles {
    /// An IRC nick (`ada`).
    pub irc: Option<String>,
    /// A JID (`ada@example.org`), or a nick in the room.
    pub xmpp: Option<String>,
    /// A Matrix user id (`@ada:example.org`).
    pub matrix: Option<String>,
    /// A Slack member id (`U024BE7LH`) or name.
    pub slack: Option<String>,
    /// A Zulip full name or `name|id`.
    pub zulip: Option<String>,
    /// A Discord user id (`80351110224678912`) or name.
    pub discord: Option<String>,
}

impl Handles {
    /// The handles of a users-map entry (none for a person the map does not know).
    pub(crate) fn of(entry: Option<&UserEntry>) -> Handles {
        let Some(e) = entry else {
            return Handles::default();
        };
        Handles {
            irc: e.irc.clone(),
            xmpp: e.xmpp.clone(),
            matrix: e.matrix.clone(),
            slack: e.slack.clone(),
            zulip: e.zulip.clone(),
            discord: e.discord.clone(),
        }
    }

    pub(crate) fn get(&self, protocol: Protocol) -> Option<&str> {
        match protocol {
            Protocol::Irc => &self.irc,
            Protocol::Xmpp => &self.xmpp,
            Protocol::Matrix => &self.matrix,
            Protocol::Slack => &self.slack,
            Protocol::Zulip => &self.zulip,
            Protocol::Discord => &self.discord,
        }
        .as_deref()
        .filter(|h| !h.trim().is_empty())
    }

    /// `irc:ada, matrix:@ada:example.org`: the handles that are set, for a table.
    pub(crate) fn summary(&self) -> String {
        const ALL: [Protocol; 6] = [
            Protocol::Irc,
            Protocol::Xmpp,
            Protocol::Matrix,
            Protocol::Slack,
            Protocol::Zulip,
            Protocol::Discord,
        ];
        ALL.iter()
            .filter_map(|&p| self.get(p).map(|h| format!("{}:{h}", p.name())))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// How a message on `protocol` names `person`: by the handle where the users map has one, in the
/// form that notifies them there, else by name (which notifies no one).
pub(crate) fn mention(protocol: Protocol, person: &str, handles: &Handles) -> String {
    let Some(handle) = handles.get(protocol) else {
        return person.to_owned();
    };
    let handle = handle.trim();
    match protocol {
        // IRC and XMPP rooms highlight a nick that a line contains.
        Protocol::Irc | Protocol::Xmpp => handle.to_owned(),
        // A Matrix client pills a user id; the HTML body may link it (matrix.to).
        Protocol::Matrix => handle.to_owned(),
        Protocol::Slack => {
            let id = handle.trim_start_matches('@');
            if is_slack_id(id) {
                format!("<@{id}>")
            } else {
                format!("@{id}")
            }
        }
        Protocol::Zulip => format!("@**{}**", handle.trim_start_matches('@')),
        Protocol::Discord => {
            let id = handle.trim_start_matches('@');
            if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) {
                format!("<@{id}>")
            } else {
                format!("@{id}")
            }
        }
    }
}

/// A Slack member id: `U` or `W` and upper-case letters and digits.
fn is_slack_id(s: &str) -> bool {
    s.len() >= 3
        && (s.starts_with('U') || s.starts_with('W'))
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mention_uses_the_handle_of_the_protocol_else_the_name() {
        let h = Handles {
            irc: Some("ada".into()),
            slack: Some("U024BE7LH".into()),
            zulip: Some("Ada L".into()),
            discord: Some("80351110224678912".into()),
            ..Handles::default()
        };
        assert_eq!(mention(Protocol::Irc, "Ada Lovelace", &h), "ada");
        assert_eq!(mention(Protocol::Slack, "Ada Lovelace", &h), "<@U024BE7LH>");
        assert_eq!(mention(Protocol::Zulip, "Ada Lovelace", &h), "@**Ada L**");
        assert_eq!(
            mention(Protocol::Discord, "Ada Lovelace", &h),
            "<@80351110224678912>"
        );
        assert_eq!(
            mention(Protocol::Matrix, "Ada Lovelace", &h),
            "Ada Lovelace"
        );
        assert_eq!(
            h.summary(),
            "irc:ada, slack:U024BE7LH, zulip:Ada L, discord:80351110224678912"
        );
    }
}
