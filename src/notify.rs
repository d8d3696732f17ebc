//! Telling people (`notify`): which Problems opened, were fixed or turned intermittent since the
//! last notification, the message for each (`notify/message.rs`), and its delivery to every
//! destination through one path (`notify/destination.rs`: a webhook and SMTP in `notify/send.rs`,
//! chat rooms in `chat/`).
//!
//! What was sent is recorded per Problem, event and target (`notifications`), so that nothing is
//! announced twice and a failed send is retried next time. The decision of what is due is pure
//! ([`due`]); [`run`] announces what is due and records it, [`mark_all_sent`] makes the baseline.

use std::collections::{HashMap, HashSet};

use crate::chat::{irc, Handles};
use crate::clock;
use crate::error::{Error, Result};
use crate::people;
use crate::report::lossy;
use crate::settings::Settings;
use crate::store::{Id, NotificationRecord, ProblemFilter, ProblemRecord, Store};
use crate::transaction;
use crate::views::notify::{Baseline, Delivery, Recipient};
use crate::views::problems::{EarlierLink, LinkView};

mod destination;
mod digest;
mod message;
mod send;

pub(crate) use destination::{fold, Destination, Message};
use destination::{Email, Webhook};
pub(crate) use digest::run as digest;
use message::{compose, Content};
use send::Smtp;

pub(crate) const OPENED: &str = "opened";
pub(crate) const FIXED: &str = "fixed";
pub(crate) const INTERMITTENT: &str = "intermittent";

/// The record target that `notify --mark-all-sent` writes: counts as sent to every target.
pub(crate) const BASELINE: &str = "baseline";
pub(crate) const WEBHOOK: &str = "webhook";
pub(crate) const EMAIL: &str = "email";

/// Which records say what was sent.
pub(crate) struct Sent(HashSet<(Id, String, String)>);

impl Sent {
    pub(crate) fn new(records: &[NotificationRecord]) -> Sent {
        Sent(
            records
                .iter()
                .filter(|r| r.sent_at.is_some())
                .map(|r| (r.problem, r.event.clone(), r.target.clone()))
                .collect(),
        )
    }

    /// The places of `target` that took every one of `events` of `problem` in a run whose send
    /// failed elsewhere ([`Destination::took`]).
    pub(crate) fn places(&self, problem: Id, events: &[&str], target: &str) -> Vec<String> {
        let prefix = destination::place_target(target, "");
        let mut out: Vec<String> = self
            .0
            .iter()
            .filter(|(p, _, t)| *p == problem && t.starts_with(&prefix))
            .map(|(_, _, t)| t[prefix.len()..].to_owned())
            .filter(|place| {
                events.iter().all(|e| {
                    self.0.contains(&(
                        problem,
                        (*e).to_owned(),
                        destination::place_target(target, place),
                    ))
                })
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }

    pub(crate) fn was_sent(&self, problem: Id, event: &str, target: &str) -> bool {
        [target, BASELINE].iter().any(|t| {
            self.0
                .contains(&(problem, event.to_owned(), (*t).to_owned()))
        })
    }
}

/// The events of `problem` not yet announced to `target`, in the order they happened: `opened`
/// (a Problem that is not intermittent), `fixed` (such a Problem, fixed), `intermittent` (an
/// announced Problem that turned out to be a flaky test's).
pub(crate) fn due(problem: &ProblemRecord, sent: &Sent, target: &str) -> Vec<&'static str> {
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

/// The people responsible for a Problem (the authors of its suspects), and for a fix its fixers.
pub(crate) fn recipients(settings: &Settings, problem: &ProblemRecord) -> Vec<Recipient> {
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
            handles: Handles::of(person.entry),
        });
    }
    out
}

/// What `notify` did: a delivery per message, and whether there is still no baseline (a dry run
/// without one shows the whole history).
pub(crate) struct Announced {
    pub deliveries: Vec<Delivery>,
    pub no_baseline: bool,
}

/// `notify --mark-all-sent`: records everything due now as announced, without sending, in one
/// transaction.
pub(crate) fn mark_all_sent(store: &mut dyn Store) -> Result<Baseline> {
    let now = clock::to_micros(clock::now());
    transaction::write(store, |store| {
        let problems = store.problems(&ProblemFilter::default())?;
        let sent = Sent::new(&store.notifications()?);
        let mut marked = 0;
        for p in &problems {
            for event in due(p, &sent, BASELINE) {
                store.record_notification(p.id, event, BASELINE, Some(now), None)?;
                marked += 1;
            }
        }
        store.set_notify_baseline(now)?;
        Ok(Baseline {
            baseline: clock::rfc3339(now),
            marked,
        })
    })
}

/// The secrets `notify` may need, read from the environment by the command: never from the
/// settings file, the database or the command line.
#[derive(Default)]
pub(crate) struct Secrets {
    /// `PROBTRACK_SMTP_PASSWORD`.
    pub smtp_password: Option<String>,
    /// `PROBTRACK_IRC_PASSWORD`: SASL PLAIN with `sasl_user`, else the server password.
    pub irc_password: Option<String>,
    /// `PROBTRACK_XMPP_PASSWORD`.
    pub xmpp_password: Option<String>,
    /// `PROBTRACK_MATRIX_TOKEN`: the account's access token.
    pub matrix_token: Option<String>,
    /// `PROBTRACK_ZULIP_API_KEY`: the bot's API key.
    pub zulip_api_key: Option<String>,
    /// `PROBTRACK_DISCORD_WEBHOOK`: the webhook's URL, which holds its token.
    pub discord_webhook: Option<String>,
    /// `PROBTRACK_WEBHOOK_URL`: the incoming webhook's URL (Slack's and Mattermost's hold their
    /// token), before the settings' `webhook`.
    pub webhook_url: Option<String>,
}

impl Secrets {
    pub(crate) fn from_env() -> Secrets {
        let var = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
        Secrets {
            smtp_password: var("PROBTRACK_SMTP_PASSWORD"),
            irc_password: var("PROBTRACK_IRC_PASSWORD"),
            xmpp_password: var("PROBTRACK_XMPP_PASSWORD"),
            matrix_token: var("PROBTRACK_MATRIX_TOKEN"),
            zulip_api_key: var("PROBTRACK_ZULIP_API_KEY"),
            discord_webhook: var("PROBTRACK_DISCORD_WEBHOOK"),
            webhook_url: var("PROBTRACK_WEBHOOK_URL"),
        }
    }
}

/// The destinations of the settings' `[notify]`, in the order they are told.
fn destinations(settings: &Settings, secrets: &Secrets) -> Result<Vec<Box<dyn Destination>>> {
    let notify = &settings.notify;
    let mut out: Vec<Box<dyn Destination>> = Vec::new();
    if let Some(url) = secrets.webhook_url.as_ref().or(notify.webhook.as_ref()) {
        out.push(Box::new(Webhook {
            url: Some(url.clone()),
        }));
    }
    if let Some(security) = &notify.smtp_security {
        if !["starttls", "tls", "none"].contains(&security.as_str()) {
            return Err(Error::usage(format!(
                "[notify] smtp_security `{security}`: expected starttls, tls or none"
            )));
        }
    }
    if let Some(server) = &notify.smtp_server {
        out.push(Box::new(Email {
            smtp: Smtp {
                server: server.clone(),
                port: notify.smtp_port,
                security: notify
                    .smtp_security
                    .clone()
                    .unwrap_or_else(|| "starttls".to_owned()),
                user: notify.smtp_user.clone(),
                password: secrets.smtp_password.clone(),
                from: notify.smtp_from.clone().ok_or_else(|| {
                    Error::usage("[notify] smtp_server is set but smtp_from is not")
                        .hint("add smtp_from = \"probtrack <ci@example.org>\" (docs/settings.md)")
                })?,
            },
        }));
    }
    if let Some(settings) = &notify.irc {
        let config = irc::Config::new(settings, secrets.irc_password.clone(), "[notify.irc]")?;
        out.push(Box::new(irc::Announcer::new(
            config,
            settings.fold_after.unwrap_or(3),
        )));
    }
    crate::chat::destinations::add(notify, secrets, &mut out)?;
    Ok(out)
}

/// `notify`: composes the message of every Problem with events due, per destination of the
/// settings' `[notify]`, delivers each destination's messages in one go and records each send (a
/// failed one to be retried next run); with `dry_run`, sends and records nothing.
pub(crate) fn run(
    store: &mut dyn Store,
    settings: &Settings,
    secrets: &Secrets,
    dry_run: bool,
) -> Result<Announced> {
    let problems = store.problems(&ProblemFilter::default())?;
    let sent = Sent::new(&store.notifications()?);
    let mut destinations = destinations(settings, secrets)?;
    if !dry_run {
        if store.notify_baseline()?.is_none() {
            return Err(Error::usage(
                "notify has no baseline yet: it would announce the whole history",
            )
            .hint("run `probtrack notify --mark-all-sent` once to announce only what changes from now on")
            .hint("`probtrack notify --dry-run` shows what would be sent"));
        }
        if destinations.is_empty() {
            return Err(Error::usage("notify has nowhere to send")
                .hint("set `webhook`, `smtp_server` and `smtp_from`, or a [notify.irc], [notify.xmpp], [notify.matrix], [notify.zulip] or [notify.discord] table, in the settings file (docs/notify.md)"));
        }
    } else if destinations.is_empty() {
        // Show what a webhook would get.
        destinations.push(Box::new(Webhook { url: None }));
    }
    let report_url = settings
        .notify
        .report_url
        .clone()
        .or_else(|| settings.report_url.clone());

    let mut ordered: Vec<&ProblemRecord> = problems.iter().collect();
    ordered.sort_by_key(|p| p.id);
    // Links and earlier bugs, read once per Problem that has something due.
    let mut annotations: HashMap<Id, (Vec<LinkView>, Vec<EarlierLink>)> = HashMap::new();
    let mut deliveries: Vec<Delivery> = Vec::new();
    for destination in &mut destinations {
        let target = destination.target();
        let mut batch: Vec<Message> = Vec::new();
        for &p in &ordered {
            let events = due(p, &sent, target);
            if events.is_empty() {
                continue;
            }
            if let std::collections::hash_map::Entry::Vacant(entry) = annotations.entry(p.id) {
                let links = store
                    .links(&[p.id])?
                    .remove(&p.id)
                    .unwrap_or_default()
                    .into_iter()
                    .map(LinkView::from)
                    .collect();
                let earlier = crate::triage::earlier_links(store, p)?;
                entry.insert((links, earlier));
            }
            let (links, earlier) = &annotations[&p.id];
            let recipients = recipients(settings, p);
            let composed = compose(
                &Content {
                    problem: p,
                    events: &events,
                    recipients: &recipients,
                    links,
                    earlier_links: earlier,
                    report_url: report_url.as_deref(),
                },
                destination.as_ref(),
            );
            let message = Message {
                problem: p.id,
                test: lossy(&p.test_name),
                key: format!("probtrack-{}-{}", p.id, events.join("-")),
                skip: sent.places(p.id, &events, target),
                events,
                subject: composed.subject,
                text: composed.text,
                headline: composed.headline,
                recipients,
            };
            if destination.wants(&message) {
                batch.push(message);
            }
        }
        if batch.is_empty() {
            continue;
        }
        let outcomes: Vec<Option<Result<(), String>>> = if dry_run {
            batch.iter().map(|_| None).collect()
        } else {
            let mut outcomes = destination.deliver(&batch);
            outcomes.resize_with(batch.len(), || Err("not sent".to_owned()));
            outcomes.into_iter().map(Some).collect()
        };
        let at = clock::to_micros(clock::now());
        // The places that took a message that failed elsewhere: not sent there again.
        for (i, place) in destination.took() {
            if let (Some(message), Some(Some(Err(_)))) = (batch.get(i), outcomes.get(i)) {
                for event in &message.events {
                    store.record_notification(
                        message.problem,
                        event,
                        &destination::place_target(target, &place),
                        Some(at),
                        None,
                    )?;
                }
            }
        }
        for (message, outcome) in batch.into_iter().zip(outcomes) {
            if let Some(outcome) = &outcome {
                for event in &message.events {
                    store.record_notification(
                        message.problem,
                        event,
                        target,
                        outcome.is_ok().then_some(at),
                        outcome.as_ref().err().map(String::as_str),
                    )?;
                }
            }
            let (status, error) = match outcome {
                None => ("dry-run", None),
                Some(Ok(())) => ("sent", None),
                Some(Err(e)) => ("failed", Some(e)),
            };
            let branch = problems
                .iter()
                .find(|p| p.id == message.problem)
                .and_then(|p| p.branch.clone());
            deliveries.push(Delivery {
                problem: message.problem,
                test: message.test,
                branch,
                target,
                events: message.events,
                recipients: message.recipients,
                subject: message.subject,
                text: message.text,
                status,
                error,
            });
        }
    }
    // Per Problem, then in the order of the destinations.
    deliveries.sort_by_key(|d| d.problem);
    let no_baseline = dry_run && store.notify_baseline()?.is_none();
    Ok(Announced {
        deliveries,
        no_baseline,
    })
}
