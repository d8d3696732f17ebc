//! `### notify`: one element per message, or the baseline of `--mark-all-sent`.

use serde::Serialize;

use crate::chat::Handles;
use crate::views::View;

/// One message to one target.
#[derive(Serialize)]
pub(crate) struct Delivery {
    pub problem: i64,
    pub test: String,
    pub branch: Option<String>,
    /// The destination: `webhook`, `email`, or a chat protocol (`irc`, ...).
    pub target: &'static str,
    /// `opened`, `fixed`, `intermittent`, in that order.
    pub events: Vec<&'static str>,
    pub recipients: Vec<Recipient>,
    pub subject: String,
    pub text: String,
    /// `sent`, `failed` or `dry-run`.
    pub status: &'static str,
    pub error: Option<String>,
}

/// Someone a message is for.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub(crate) struct Recipient {
    pub person: String,
    pub email: Option<String>,
    pub chat: Option<String>,
    /// The person's handle per chat protocol (`irc`, `xmpp`, `matrix`, `slack`, `zulip`,
    /// `discord`), null where the users map has none.
    pub handles: Handles,
}

/// `notify --digest`: one person's digest.
#[derive(Serialize)]
pub(crate) struct Digest {
    pub person: String,
    /// Where it went: `xmpp`, `matrix` or `email`; null when nothing reaches the person.
    pub target: Option<&'static str>,
    /// The open Problems it lists, by id.
    pub problems: Vec<i64>,
    pub subject: String,
    pub text: String,
    /// `sent`, `failed`, `dry-run` or `unreachable`.
    pub status: &'static str,
    pub error: Option<String>,
}

/// `notify --mark-all-sent`: from when on notify announces, and how much it marked as sent.
#[derive(Serialize)]
pub(crate) struct Baseline {
    pub baseline: String,
    pub marked: usize,
}

impl View for Baseline {}
