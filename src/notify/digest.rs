//! `notify --digest`: each person gets the open Problems they are on the hook for (those their
//! changes started), at most once per period (`[notify] digest_hours`), and nothing when they
//! have none.
//!
//! A digest goes directly where a handle allows (an XMPP JID, else a Matrix user id, where those
//! destinations are set; never to a room), else by e-mail. It is recorded per Problem in
//! `notifications` with the event `digest-PERIOD` and the target `digest:PERSON`: the last digest
//! a person got is the latest such record that was sent, and one that failed is retried by the
//! next run.

use std::collections::BTreeMap;

use crate::clock;
use crate::error::{Error, Result};
use crate::notify::{destinations, Destination, Message, Secrets};
use crate::report::lossy;
use crate::settings::Settings;
use crate::store::{ProblemFilter, ProblemRecord, Store};
use crate::views::notify::{Digest, Recipient};

/// The period's default length, in hours.
const DEFAULT_HOURS: u32 = 24;

/// One line of a digest per Problem.
fn line(p: &ProblemRecord, report_url: Option<&str>) -> String {
    let mut text = format!(
        "- Problem {}: {} failing since {} #{} ({}), {} failing build{}",
        p.id,
        lossy(&p.test_name),
        p.first_failure.builder,
        p.first_failure.number,
        clock::rfc3339(p.first_failure.time),
        p.failures,
        if p.failures == 1 { "" } else { "s" },
    );
    if let Some(branch) = &p.branch {
        text += &format!(" on branch {branch}");
    }
    if let Some(url) = report_url {
        text += &format!(" — {}/problem-{}.html", url.trim_end_matches('/'), p.id);
    }
    text.push('\n');
    text
}

/// Sends the digests that are due (with `dry_run`, shows them and sends and records nothing).
pub(crate) fn run(
    store: &mut dyn Store,
    settings: &Settings,
    secrets: &Secrets,
    dry_run: bool,
) -> Result<Vec<Digest>> {
    let hours = settings.notify.digest_hours.unwrap_or(DEFAULT_HOURS);
    if hours == 0 {
        return Err(Error::usage("[notify] digest_hours must be at least 1"));
    }
    let period = i64::from(hours) * 3_600_000_000;
    let now = clock::to_micros(clock::now());
    let report_url = settings
        .notify
        .report_url
        .clone()
        .or_else(|| settings.report_url.clone());
    let problems = store.problems(&ProblemFilter {
        open: Some(true),
        intermittent: Some(false),
        ..ProblemFilter::default()
    })?;
    // Each person's open Problems, by name.
    let mut people: BTreeMap<String, (Recipient, Vec<&ProblemRecord>)> = BTreeMap::new();
    let mut ordered: Vec<&ProblemRecord> = problems.iter().collect();
    ordered.sort_by_key(|p| p.id);
    for p in ordered {
        for r in super::recipients(settings, p) {
            people
                .entry(r.person.clone())
                .or_insert_with(|| (r, Vec::new()))
                .1
                .push(p);
        }
    }
    // The last digest each person got.
    let mut last: BTreeMap<String, i64> = BTreeMap::new();
    for record in store.notifications()? {
        if let (Some(person), Some(at)) = (record.target.strip_prefix("digest:"), record.sent_at) {
            let entry = last.entry(person.to_owned()).or_insert(at);
            *entry = (*entry).max(at);
        }
    }
    let mut direct: Vec<Box<dyn Destination>> =
        crate::chat::destinations::direct(&settings.notify, secrets)?;
    direct.extend(
        destinations(settings, secrets)?
            .into_iter()
            .filter(|d| d.target() == super::EMAIL),
    );
    let mut out = Vec::new();
    for (person, (recipient, list)) in people {
        if last.get(&person).is_some_and(|&at| now - at < period) {
            continue;
        }
        let count = list.len();
        let subject = format!(
            "[probtrack] {count} open Problem{} you are on the hook for",
            if count == 1 { "" } else { "s" }
        );
        let mut text = format!(
            "probtrack: {count} open Problem{} that {person}'s changes started:\n",
            if count == 1 { "" } else { "s" }
        );
        for p in &list {
            text += &line(p, report_url.as_deref());
        }
        let key = format!(
            "probtrack-digest-{}-{}",
            &blake3::hash(person.as_bytes()).to_hex()[..12],
            now / period
        );
        let message = Message {
            problem: list[0].id,
            test: String::new(),
            events: Vec::new(),
            subject: subject.clone(),
            text: text.clone(),
            headline: subject.clone(),
            recipients: vec![recipient],
            key,
            skip: Vec::new(),
        };
        let ids: Vec<i64> = list.iter().map(|p| p.id).collect();
        let Some(destination) = direct.iter_mut().find(|d| d.wants(&message)) else {
            out.push(Digest {
                person,
                target: None,
                problems: ids,
                subject,
                text,
                status: "unreachable",
                error: Some(
                    "no handle a destination can reach directly, and no e-mail address".to_owned(),
                ),
            });
            continue;
        };
        let target = destination.target();
        let (status, error) = if dry_run {
            ("dry-run", None)
        } else {
            let outcome = destination
                .deliver(std::slice::from_ref(&message))
                .pop()
                .unwrap_or_else(|| Err("not sent".to_owned()));
            let at = clock::to_micros(clock::now());
            let event = format!("digest-{}", now / period);
            for id in &ids {
                store.record_notification(
                    *id,
                    &event,
                    &format!("digest:{person}"),
                    outcome.is_ok().then_some(at),
                    outcome.as_ref().err().map(String::as_str),
                )?;
            }
            match outcome {
                Ok(()) => ("sent", None),
                Err(e) => ("failed", Some(e)),
            }
        };
        out.push(Digest {
            person,
            target: Some(target),
            problems: ids,
            subject,
            text,
            status,
            error,
        });
    }
    Ok(out)
}
