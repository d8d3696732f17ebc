//! The one delivery path: every place `notify` tells (a webhook, e-mail, a chat room) is a
//! [`Destination`] that gets the same [`Message`]s, composed with its own way of mentioning a
//! person, and delivers them in one session per run.

use crate::chat::{self, Protocol};
use crate::notify::send::{post_webhook, send_email, Smtp};
use crate::notify::WEBHOOK;
use crate::store::Id;
use crate::views::notify::Recipient;

/// What `notify` says about one Problem's events, composed for one destination.
#[derive(Clone, Debug)]
pub(crate) struct Message {
    pub problem: Id,
    /// The test (the Problem's identity), as text.
    pub test: String,
    /// `opened`, `fixed`, `intermittent`, in that order.
    pub events: Vec<&'static str>,
    /// The e-mail subject.
    pub subject: String,
    /// The whole message, lines ending in `\n`. Untrusted text (test names, messages) is in it
    /// as it was recorded: a destination makes it inert in its own syntax.
    pub text: String,
    /// The message in one line: what happened, who is on the hook, the report's page. What a
    /// destination that folds many messages into one sends per Problem.
    pub headline: String,
    pub recipients: Vec<Recipient>,
    /// A key unique to this Problem and these events, the same on every retry (Matrix's
    /// transaction id, which the server deduplicates by).
    pub key: String,
    /// The places here (a room, a person) that took this message in an earlier run whose send
    /// failed elsewhere: a destination that reports what each place took ([`Destination::took`])
    /// skips them.
    pub skip: Vec<String>,
}

/// A place `notify` tells.
pub(crate) trait Destination {
    /// Its name in the `notifications` records and in `notify`'s output (`webhook`, `email`,
    /// `irc`, ...): what was sent is remembered per Problem, event and target.
    fn target(&self) -> &'static str;

    /// The chat protocol whose handles mention people here, if any.
    fn protocol(&self) -> Option<Protocol> {
        None
    }

    /// How a message here names `recipient`: their handle on [`Destination::protocol`] where
    /// known, else their name.
    fn mention(&self, recipient: &Recipient) -> String {
        match self.protocol() {
            Some(p) => chat::mention(p, &recipient.person, &recipient.handles),
            None => recipient.person.clone(),
        }
    }

    /// Text from reports (a test name, a failure message, an author) made inert here: it shows
    /// as written and cannot format, mention or inject anything. The default keeps it as it is,
    /// for destinations that encode it whole (JSON, e-mail).
    fn inert(&self, untrusted: &str) -> String {
        untrusted.to_owned()
    }

    /// Whether the message goes here at all (e-mail: only where someone has an address).
    fn wants(&self, _message: &Message) -> bool {
        true
    }

    /// Sends `messages` (at least one), in one session where the protocol has sessions. One
    /// outcome per message, in order; an `Err` says why, without secrets, and leaves that
    /// message to be retried by the next run.
    fn deliver(&mut self, messages: &[Message]) -> Vec<Result<(), String>>;

    /// After [`Destination::deliver`], for a destination that sends a message to several places
    /// (rooms, people): the places that took message `i` (its index in the batch), so that a
    /// message that failed elsewhere is retried only where it did not arrive. The default: one
    /// place, nothing to remember.
    fn took(&mut self) -> Vec<(usize, String)> {
        Vec::new()
    }
}

/// The bookkeeping of a destination that sends each message to several places (rooms,
/// channels, people): a message is sent when every place it still went to took it, else its
/// error says why each place that did not refused it; the places that took it are kept for
/// [`Destination::took`].
#[derive(Default)]
pub(crate) struct Places {
    outcomes: Vec<Result<(), String>>,
    took: Vec<(usize, String)>,
}

impl Places {
    /// A new batch of `count` messages, nothing tried yet.
    pub(crate) fn start(&mut self, count: usize) {
        self.outcomes = vec![Ok(()); count];
        self.took.clear();
    }

    /// What `place` made of message `i` of the batch.
    pub(crate) fn record(&mut self, i: usize, place: &str, outcome: Result<(), String>) {
        match outcome {
            Ok(()) => self.took.push((i, place.to_owned())),
            Err(e) => match self.outcomes.get_mut(i) {
                Some(Err(why)) if !why.contains(&e) => *why = format!("{why}; {e}"),
                Some(outcome @ Ok(())) => *outcome = Err(e),
                _ => {}
            },
        }
    }

    /// Each message's outcome, in order ([`Destination::deliver`]'s answer).
    pub(crate) fn outcomes(&mut self) -> Vec<Result<(), String>> {
        std::mem::take(&mut self.outcomes)
    }

    /// The places that took each message ([`Destination::took`]'s answer).
    pub(crate) fn took(&mut self) -> Vec<(usize, String)> {
        std::mem::take(&mut self.took)
    }
}

/// The record target of `place` of destination `target` (`xmpp>ci@conference.example.org`): a
/// place that took a message whose send failed elsewhere.
pub(crate) fn place_target(target: &str, place: &str) -> String {
    format!("{target}>{place}")
}

/// Many messages as one: a count, then each message's headline.
pub(crate) fn fold(messages: &[Message]) -> Vec<String> {
    let mut lines = vec![format!("{} Problems changed:", messages.len())];
    lines.extend(messages.iter().map(|m| m.headline.clone()));
    lines
}

/// An incoming webhook (Slack, Mattermost, Matrix hookshot): one POST per message. Without a
/// URL it is what a dry run shows when nothing is configured.
pub(crate) struct Webhook {
    pub url: Option<String>,
}

impl Destination for Webhook {
    fn target(&self) -> &'static str {
        WEBHOOK
    }

    /// `Name (@handle)`: the Slack handle, else the users map's `chat` (from the settings); the
    /// name, a commit author, made inert.
    fn mention(&self, r: &Recipient) -> String {
        let person = self.inert(&r.person);
        match r.handles.get(Protocol::Slack).or(r.chat.as_deref()) {
            Some(handle) => format!("{person} ({handle})"),
            None => person,
        }
    }

    /// Slack reads `<…>` as its markup (`<!channel>` pings everyone, `<URL|text>` is a link):
    /// `&`, `<` and `>` are escaped as its documentation says. Mattermost pings on `@channel`,
    /// `@all`, `@here` and on any `@name`: a word joiner after each `@` keeps it a character.
    /// Without a URL (the preview a dry run shows when nothing is configured) the text stays
    /// as written.
    fn inert(&self, untrusted: &str) -> String {
        if self.url.is_none() {
            return untrusted.to_owned();
        }
        let mut out = String::with_capacity(untrusted.len());
        for c in untrusted.chars() {
            match c {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '@' => out.push_str("@\u{2060}"),
                c => out.push(c),
            }
        }
        out
    }

    fn deliver(&mut self, messages: &[Message]) -> Vec<Result<(), String>> {
        messages
            .iter()
            .map(|m| match &self.url {
                Some(url) => post_webhook(url, &m.text),
                None => Err("no webhook URL is set".to_owned()),
            })
            .collect()
    }
}

/// E-mail to the responsible people, one per message.
pub(crate) struct Email {
    pub smtp: Smtp,
}

fn addresses(m: &Message) -> Vec<String> {
    m.recipients
        .iter()
        .filter_map(|r| r.email.clone())
        .collect()
}

impl Destination for Email {
    fn target(&self) -> &'static str {
        crate::notify::EMAIL
    }

    /// `Name (@handle)` with the users map's `chat`, as e-mail always had.
    fn mention(&self, r: &Recipient) -> String {
        match &r.chat {
            Some(chat) => format!("{} ({chat})", r.person),
            None => r.person.clone(),
        }
    }

    fn wants(&self, m: &Message) -> bool {
        !addresses(m).is_empty()
    }

    fn deliver(&mut self, messages: &[Message]) -> Vec<Result<(), String>> {
        messages
            .iter()
            .map(|m| send_email(&self.smtp, &addresses(m), &m.subject, &m.text))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::Places;

    /// A message is sent only when every place took it; its error names each distinct refusal.
    #[test]
    fn a_message_is_sent_where_every_place_took_it_and_the_error_says_each_refusal() {
        let mut places = Places::default();
        places.start(3);
        places.record(0, "#a", Ok(()));
        places.record(0, "#b", Err("#b: banned".to_owned()));
        places.record(0, "#c", Err("#c: moderated".to_owned()));
        places.record(1, "#a", Err("gone".to_owned()));
        places.record(1, "#b", Err("gone".to_owned()));
        places.record(2, "#a", Ok(()));
        assert_eq!(
            places.outcomes(),
            [
                Err("#b: banned; #c: moderated".to_owned()),
                Err("gone".to_owned()),
                Ok(())
            ]
        );
        assert_eq!(places.took(), [(0, "#a".to_owned()), (2, "#a".to_owned())]);
        places.start(1);
        assert_eq!(places.took(), []);
        assert_eq!(places.outcomes(), [Ok(())]);
    }
}
