//! Telling people (`notify`): which Problems opened, were fixed or turned intermittent since the
//! last notification, the message for each (`notify/message.rs`), and delivery to a webhook and
//! by SMTP (`notify/send.rs`).
//!
//! What was sent is recorded per Problem, event and target (`notifications`), so that nothing is
//! announced twice and a failed send is retried next time. The decision of what is due is pure
//! ([`due`]); [`run`] announces what is due and records it, [`mark_all_sent`] makes the baseline.

use std::collections::HashSet;

use crate::clock;
use crate::error::{Error, Result};
use crate::people;
use crate::report::lossy;
use crate::settings::Settings;
use crate::store::{Id, NotificationRecord, ProblemFilter, ProblemRecord, Store};
use crate::transaction;
use crate::views::notify::{Baseline, Delivery, Recipient};
use crate::views::problems::LinkView;

mod message;
mod send;

pub(crate) use message::{compose, Content};
pub(crate) use send::{post_webhook, send_email, Smtp};

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

/// `notify`: composes the message of every Problem with events due, per target of the settings'
/// `[notify]`, sends it and records each send (a failed one to be retried next run); with
/// `dry_run`, sends and records nothing. `smtp_password` is `PROBTRACK_SMTP_PASSWORD`.
pub(crate) fn run(
    store: &mut dyn Store,
    settings: &Settings,
    smtp_password: Option<String>,
    dry_run: bool,
) -> Result<Announced> {
    let problems = store.problems(&ProblemFilter::default())?;
    let sent = Sent::new(&store.notifications()?);
    let notify = &settings.notify;
    let smtp = match &notify.smtp_server {
        Some(server) => Some(Smtp {
            server: server.clone(),
            port: notify.smtp_port,
            security: notify
                .smtp_security
                .clone()
                .unwrap_or_else(|| "starttls".to_owned()),
            user: notify.smtp_user.clone(),
            password: smtp_password,
            from: notify.smtp_from.clone().ok_or_else(|| {
                Error::usage("[notify] smtp_server is set but smtp_from is not")
                    .hint("add smtp_from = \"probtrack <ci@example.org>\" (docs/settings.md)")
            })?,
        }),
        None => None,
    };
    if let Some(security) = &notify.smtp_security {
        if !["starttls", "tls", "none"].contains(&security.as_str()) {
            return Err(Error::usage(format!(
                "[notify] smtp_security `{security}`: expected starttls, tls or none"
            )));
        }
    }
    let mut targets: Vec<&'static str> = Vec::new();
    if notify.webhook.is_some() {
        targets.push(WEBHOOK);
    }
    if smtp.is_some() {
        targets.push(EMAIL);
    }
    if !dry_run {
        if store.notify_baseline()?.is_none() {
            return Err(Error::usage(
                "notify has no baseline yet: it would announce the whole history",
            )
            .hint("run `probtrack notify --mark-all-sent` once to announce only what changes from now on")
            .hint("`probtrack notify --dry-run` shows what would be sent"));
        }
        if targets.is_empty() {
            return Err(Error::usage("notify has nowhere to send")
                .hint("set `webhook` or `smtp_server` and `smtp_from` in [notify] of the settings file (docs/settings.md)"));
        }
    } else if targets.is_empty() {
        // Show what a webhook would get.
        targets.push(WEBHOOK);
    }
    let report_url = notify
        .report_url
        .clone()
        .or_else(|| settings.report_url.clone());

    let mut deliveries: Vec<Delivery> = Vec::new();
    let mut ordered: Vec<&ProblemRecord> = problems.iter().collect();
    ordered.sort_by_key(|p| p.id);
    for p in ordered {
        let recipients = recipients(settings, p);
        let mut annotated = false;
        let mut links: Vec<LinkView> = Vec::new();
        let mut earlier = Vec::new();
        for &target in &targets {
            let events = due(p, &sent, target);
            if events.is_empty() {
                continue;
            }
            let emails: Vec<String> = recipients.iter().filter_map(|r| r.email.clone()).collect();
            if target == EMAIL && emails.is_empty() {
                continue;
            }
            if !annotated {
                links = store
                    .links(&[p.id])?
                    .remove(&p.id)
                    .unwrap_or_default()
                    .into_iter()
                    .map(LinkView::from)
                    .collect();
                earlier = crate::triage::earlier_links(store, p)?;
                annotated = true;
            }
            let (subject, text) = compose(&Content {
                problem: p,
                events: &events,
                recipients: &recipients,
                links: &links,
                earlier_links: &earlier,
                report_url: report_url.as_deref(),
            });
            let (status, error) = if dry_run {
                ("dry-run", None)
            } else {
                let outcome = match (target, &notify.webhook, &smtp) {
                    (WEBHOOK, Some(url), _) => post_webhook(url, &text),
                    (_, _, Some(smtp)) => send_email(smtp, &emails, &subject, &text),
                    _ => Err("no such target".to_owned()),
                };
                let at = clock::to_micros(clock::now());
                for event in &events {
                    store.record_notification(
                        p.id,
                        event,
                        target,
                        outcome.is_ok().then_some(at),
                        outcome.as_ref().err().map(String::as_str),
                    )?;
                }
                match outcome {
                    Ok(()) => ("sent", None),
                    Err(e) => ("failed", Some(e)),
                }
            };
            deliveries.push(Delivery {
                problem: p.id,
                test: lossy(&p.test_name),
                branch: p.branch.clone(),
                target,
                events,
                recipients: recipients.clone(),
                subject,
                text,
                status,
                error,
            });
        }
    }
    let no_baseline = dry_run && store.notify_baseline()?.is_none();
    Ok(Announced {
        deliveries,
        no_baseline,
    })
}
