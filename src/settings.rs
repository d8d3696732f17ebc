//! The settings file (`probtrack.toml`): one schema for everything a team configures once.
//!
//! Found as `--config`, else `PROBTRACK_CONFIG`, else `./probtrack.toml` when present. Every setting
//! is optional; a flag or environment variable overrides the file.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Settings {
    /// The database: a path, `sqlite:PATH`, `postgres://…` or `mysql://…`.
    pub db: Option<String>,
    /// The branch listings show when `--branch` is not given.
    pub default_branch: Option<String>,
    /// How many days `prune` keeps.
    pub prune_days: Option<u32>,
    /// Where the HTML report is published, for links in messages.
    pub report_url: Option<String>,
    /// How often `ingest` and `import` retry when the database server cannot be reached or ends
    /// the connection (`--retry` overrides it).
    pub retry: Option<u32>,
    /// Author names and addresses that are one person.
    #[serde(default)]
    pub users: Vec<UserEntry>,
    /// Where `probtrack notify` sends its messages.
    #[serde(default)]
    pub notify: NotifySettings,
    /// `[bot]`: the chat bot.
    #[serde(default)]
    pub bot: BotSettings,
    /// Parser plugins: programs that read a format probtrack does not, by the name `--parser`
    /// (or `--metrics-parser`, `--coverage-parser`) takes (`[parsers.NAME]`).
    #[serde(default)]
    pub parsers: std::collections::BTreeMap<String, PluginSettings>,
    /// `[metrics]`: how build metrics are judged (`docs/metrics.md`).
    #[serde(default)]
    pub metrics: MetricSettings,
    /// `[coverage]`: which losses of coverage become Problems (`docs/coverage.md`).
    #[serde(default)]
    pub coverage: CoverageSettings,
}

/// `[coverage]`: thresholds of coverage Problems.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CoverageSettings {
    /// A build's loss in a file (lines that lost coverage plus new lines uncovered) smaller than
    /// this opens no Problem [default: 1, any loss].
    pub min_lost_lines: Option<usize>,
    /// Paths (`*` matches any text) whose coverage opens no Problem: generated or vendored code.
    #[serde(default)]
    pub ignore: Vec<String>,
}

impl CoverageSettings {
    /// The smallest loss that counts.
    pub(crate) fn min_lines(&self) -> usize {
        self.min_lost_lines.unwrap_or(1).max(1)
    }
}

/// `[parsers.NAME]`: a parser plugin (see `docs/parsers.md`, "Parser plugins").
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PluginSettings {
    /// The program and its first arguments; the report's name is added as the last argument and
    /// the report comes on its standard input.
    pub command: Vec<String>,
    /// Auto-detection: a file-name pattern (`*` and `?`) the report's file name must match.
    pub glob: Option<String>,
    /// Auto-detection: a regular expression the report's first 64 KiB must match.
    pub content: Option<String>,
    /// How long the program may run, in seconds [default: 60].
    pub timeout: Option<u64>,
    /// What the program writes, and so what it reads: `results` (test results, the default),
    /// `metrics` (probtrack's generic metric JSON or lines) or `coverage` (an lcov tracefile).
    pub produces: Option<String>,
}

/// `[metrics]`: `default_min_change`, and a table per metric name or glob (`[metrics."NAME"]`).
#[derive(Clone, Debug, Default, Deserialize)]
pub(crate) struct MetricSettings {
    /// The smallest relative change that is a step, for series no rule gives one (e.g. 0.02).
    pub default_min_change: Option<f64>,
    /// `[metrics."NAME"]`: the rule of the series whose name (the identity without its
    /// parameters) matches NAME, where `*` matches any text; the longest matching NAME wins.
    #[serde(flatten)]
    pub rules: std::collections::BTreeMap<String, MetricRule>,
}

/// `[metrics."NAME"]`: one metric's direction and detection thresholds.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MetricRule {
    /// `lower` or `higher` (is better); overrides the unit's default, not a metric file's own.
    pub direction: Option<String>,
    /// The |z| that confirms a step [default: 4.5].
    pub threshold: Option<f64>,
    /// The smallest relative change that is a step (0.02: 2%) [default: 0, any].
    pub min_change: Option<f64>,
    /// Builds at the new level before a step is confirmed [default: 3].
    pub min_after: Option<usize>,
    /// The |z| that confirms a step on a builder where another builder's confirmed step explains
    /// it, from as few as one build [default: 3].
    pub corroborate: Option<f64>,
    /// The |z| by which each of two builders' first builds after one change must depart, in the
    /// same sign, to confirm a step together [default: 3].
    pub pair: Option<f64>,
    /// Whether its steps become Problems [default: true; false for the built-in `tests.*` and
    /// `compile.*` series].
    pub problems: Option<bool>,
}

/// `[notify]`: the targets of `probtrack notify`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NotifySettings {
    /// An incoming-webhook URL (Slack, Mattermost, Matrix hookshot): JSON `{"text": …}` is POSTed.
    pub webhook: Option<String>,
    /// The SMTP server that sends e-mail to the responsible users.
    pub smtp_server: Option<String>,
    /// Its port [default: 587, or 465 with `smtp_security = "tls"`, 25 with `"none"`].
    pub smtp_port: Option<u16>,
    /// `starttls` (the default), `tls`, or `none` (plain text: a local relay only).
    pub smtp_security: Option<String>,
    /// The user to log in as; the password comes from `PROBTRACK_SMTP_PASSWORD`.
    pub smtp_user: Option<String>,
    /// The sender, e.g. `probtrack <ci@example.org>`.
    pub smtp_from: Option<String>,
    /// Where the HTML report is published (overrides the top-level `report_url`).
    pub report_url: Option<String>,
    /// `[notify.irc]`: an IRC server and its channels.
    pub irc: Option<IrcSettings>,
    /// `[notify.xmpp]`: XMPP rooms and people (`docs/notify.md`).
    pub xmpp: Option<XmppSettings>,
    /// `[notify.matrix]`: Matrix rooms and people.
    pub matrix: Option<MatrixSettings>,
    /// `[notify.zulip]`: a Zulip stream and topic.
    pub zulip: Option<ZulipSettings>,
    /// `[notify.discord]`: a Discord channel's webhook (its URL from the environment).
    pub discord: Option<DiscordSettings>,
    /// `notify --digest`: how many hours at least between two digests to one person
    /// [default: 24].
    pub digest_hours: Option<u32>,
}

/// An IRC server, the nick to take there and the channels to talk in (`[notify.irc]`,
/// `[bot.irc]`). The password (SASL PLAIN with `sasl_user`, else the server password) comes from
/// `PROBTRACK_IRC_PASSWORD`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct IrcSettings {
    /// The server's host name.
    pub server: String,
    /// Its port [default: 6697 with TLS, 6667 without].
    pub port: Option<u16>,
    /// Whether to connect with TLS [default: true].
    pub tls: Option<bool>,
    /// A PEM file of the certificate authorities to trust instead of the built-in web roots (a
    /// private server's own CA).
    pub ca_file: Option<PathBuf>,
    /// The nick [default: probtrack]; `_` is added while it is taken.
    pub nick: Option<String>,
    /// The channels to join and talk in, e.g. `["#ci"]`.
    #[serde(default)]
    pub channels: Vec<String>,
    /// The account to log in as with SASL PLAIN.
    pub sasl_user: Option<String>,
    /// The pause between two lines sent, in milliseconds, so that the server does not drop the
    /// bot for flooding [default: 1000].
    pub pace_ms: Option<u64>,
    /// More Problems than this at once are folded into one message, a line each [default: 3].
    pub fold_after: Option<usize>,
}

/// `[bot]`: `probtrack bot`, which answers questions in chat rooms.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BotSettings {
    /// `[bot.irc]`: where the bot sits on IRC [default: `[notify.irc]`].
    pub irc: Option<IrcSettings>,
    /// `[bot.xmpp]`: its XMPP account and rooms [default: `[notify.xmpp]`].
    pub xmpp: Option<XmppSettings>,
    /// `[bot.matrix]`: its homeserver and Matrix rooms [default: `[notify.matrix]`].
    pub matrix: Option<MatrixSettings>,
    /// How many answers the bot gives per minute, over all rooms [default: 10].
    pub answers_per_minute: Option<u32>,
    /// How many of those one asker gets per minute (another bot answering the answers takes no
    /// more) [default: 3].
    pub answers_per_asker: Option<u32>,
}

/// `[notify.xmpp]`; the password comes from `PROBTRACK_XMPP_PASSWORD`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct XmppSettings {
    /// The account, `probtrack@example.org`.
    pub jid: String,
    /// The host to connect to [default: the JID's domain].
    pub server: Option<String>,
    /// [default: 5222]
    pub port: Option<u16>,
    /// `starttls` (the default: required) or `none` (a trusted network; STARTTLS is still used
    /// where the server offers it).
    pub security: Option<String>,
    /// A PEM file of certificates to trust instead of the built-in roots.
    pub ca_file: Option<PathBuf>,
    /// Multi-user chat rooms, `ci@conference.example.org`.
    #[serde(default)]
    pub rooms: Vec<String>,
    /// The nickname in the rooms [default: probtrack].
    pub nick: Option<String>,
    /// Also tell each responsible person whose `xmpp` handle is a JID directly [default: true].
    pub direct: Option<bool>,
}

/// `[notify.matrix]`; the access token comes from `PROBTRACK_MATRIX_TOKEN`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MatrixSettings {
    /// The homeserver's URL, `https://matrix.example.org`.
    pub homeserver: String,
    /// Room ids (`!abc:example.org`) or aliases (`#ci:example.org`).
    #[serde(default)]
    pub rooms: Vec<String>,
    /// Also tell each responsible person with a `matrix` handle in a direct room [default: true].
    pub direct: Option<bool>,
}

/// `[notify.zulip]`; the bot's API key comes from `PROBTRACK_ZULIP_API_KEY`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ZulipSettings {
    /// The organization's URL, `https://example.zulipchat.com`.
    pub site: String,
    /// The bot's e-mail address.
    pub email: String,
    /// The stream (channel).
    pub stream: String,
    /// [default: probtrack]
    pub topic: Option<String>,
    /// Also tell each responsible person whose `zulip` handle has their user id (`Full Name|12`)
    /// in a direct message [default: true].
    pub direct: Option<bool>,
}

/// `[notify.discord]`; the webhook's URL (which holds its token) comes from
/// `PROBTRACK_DISCORD_WEBHOOK`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DiscordSettings {
    /// The name the messages show [default: probtrack].
    pub username: Option<String>,
}

/// One person and every name or address they commit under.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserEntry {
    pub name: String,
    #[serde(default)]
    pub emails: Vec<String>,
    #[serde(default)]
    pub aliases: Vec<String>,
    pub chat: Option<String>,
    /// Handles per chat protocol (`docs/settings.md`, `users`).
    pub irc: Option<String>,
    pub xmpp: Option<String>,
    pub matrix: Option<String>,
    pub slack: Option<String>,
    pub zulip: Option<String>,
    pub discord: Option<String>,
}

impl Settings {
    /// Loads the settings file named by `explicit` (`--config` / `PROBTRACK_CONFIG`), else
    /// `./probtrack.toml` when it exists, else the defaults.
    pub(crate) fn load(explicit: Option<&Path>) -> Result<Settings> {
        let path: PathBuf = match explicit {
            Some(path) => {
                if !path.exists() {
                    return Err(Error::usage(format!(
                        "settings file {} does not exist",
                        path.display()
                    ))
                    .hint("drop --config / PROBTRACK_CONFIG, or create the file (see docs/settings.md)"));
                }
                path.to_owned()
            }
            None => {
                let default = PathBuf::from("probtrack.toml");
                if !default.exists() {
                    return Ok(Settings::default());
                }
                default
            }
        };
        let text = std::fs::read_to_string(&path).map_err(|e| {
            Error::usage(format!("cannot read settings file {}: {e}", path.display()))
        })?;
        toml::from_str(&text).map_err(|e| {
            Error::usage(format!("settings file {}: {}", path.display(), e.message())).hint(match e
                .span()
            {
                Some(span) => {
                    let line = text.as_bytes()[..span.start.min(text.len())]
                        .iter()
                        .filter(|&&b| b == b'\n')
                        .count()
                        + 1;
                    format!("see line {line} of {}", path.display())
                }
                None => "see docs/settings.md for the keys".to_owned(),
            })
        })
    }
}
