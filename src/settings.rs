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
    /// Parser plugins: programs that read a format probtrack does not, by the name `--parser`
    /// takes (`[parsers.NAME]`).
    #[serde(default)]
    pub parsers: std::collections::BTreeMap<String, PluginSettings>,
    /// `[metrics]`: how build metrics are judged (`docs/metrics.md`).
    #[serde(default)]
    pub metrics: MetricSettings,
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
