//! The message about one Problem: its subject line, text and one-line headline.

use crate::clock;
use crate::notify::{Destination, FIXED, INTERMITTENT, OPENED};
use crate::report::{lossy, short_rev};
use crate::store::{ChangeRef, ProblemRecord};
use crate::views::notify::Recipient;
use crate::views::problems::{EarlierLink, LinkView};
use crate::views::{shorten, MESSAGE_LEN};

/// What a message says about one Problem.
pub(crate) struct Content<'a> {
    pub problem: &'a ProblemRecord,
    pub events: &'a [&'static str],
    pub recipients: &'a [Recipient],
    pub links: &'a [LinkView],
    pub earlier_links: &'a [EarlierLink],
    pub report_url: Option<&'a str>,
}

fn changes(list: &[ChangeRef], dest: &dyn Destination) -> String {
    list.iter()
        .map(|c| {
            format!(
                "{} by {}",
                dest.inert(short_rev(&c.revision)),
                dest.inert(c.author.as_deref().unwrap_or("?"))
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A message's parts, before a destination sends it.
pub(crate) struct Composed {
    pub subject: String,
    pub text: String,
    pub headline: String,
}

/// The subject line, the text and the headline of a message for `dest`: it names people by its
/// mentions and makes the text from reports (test names, messages, authors) inert in its syntax.
pub(crate) fn compose(c: &Content<'_>, dest: &dyn Destination) -> Composed {
    let p = c.problem;
    let raw_test = lossy(&p.test_name);
    let test = dest.inert(&raw_test);
    let what = c
        .events
        .iter()
        .map(|e| match *e {
            OPENED => "broke",
            FIXED => "was fixed",
            _ => "turned out intermittent",
        })
        .collect::<Vec<_>>()
        .join(" and ");
    let subject = format!("[probtrack] {raw_test} {what} (Problem {})", p.id);
    let mut text = format!("{test} {what} — Problem {}", p.id);
    if let Some(branch) = &p.branch {
        text += &format!(" on branch {}", dest.inert(branch));
    }
    let mut headline = text.clone();
    text.push('\n');
    let builders: Vec<String> = p.builders.iter().map(|b| dest.inert(&b.builder)).collect();
    text += &format!(
        "Failing since {} #{} ({}) on {}; {} failing build{}, the last {} #{}.\n",
        dest.inert(&p.first_failure.builder),
        p.first_failure.number,
        clock::rfc3339(p.first_failure.time),
        builders.join(", "),
        p.failures,
        if p.failures == 1 { "" } else { "s" },
        dest.inert(&p.last_failure.builder),
        p.last_failure.number,
    );
    if let Some(message) = &p.message {
        text += &format!(
            "Message: {}\n",
            dest.inert(&shorten(&lossy(message), MESSAGE_LEN))
        );
    }
    if p.started_by.is_empty() {
        text += "Suspect changes: none recorded.\n";
    } else {
        text += &format!("Suspect changes: {}.\n", changes(&p.started_by, dest));
    }
    if let Some(fixed) = &p.fixed {
        text += &format!(
            "Fixed in {} #{} ({}){}.\n",
            dest.inert(&fixed.builder),
            fixed.number,
            clock::rfc3339(fixed.time),
            if p.fixed_by.is_empty() {
                String::new()
            } else {
                format!(" by {}", changes(&p.fixed_by, dest))
            }
        );
    }
    if c.events.contains(&INTERMITTENT) {
        text += "Its failures look like a flaky test's: it is left out of the default `problems` list.\n";
    }
    if !c.recipients.is_empty() {
        let people: Vec<String> = c.recipients.iter().map(|r| dest.mention(r)).collect();
        text += &format!("Responsible: {}.\n", people.join(", "));
        headline += &format!("; responsible: {}", people.join(", "));
    }
    for link in c.links {
        text += &format!(
            "Bug: {} ({})\n",
            dest.inert(&link.url),
            dest.inert(link.state)
        );
    }
    for link in c.earlier_links {
        text += &format!(
            "It fails again while Problem {}'s bug is open: {}\n",
            link.problem,
            dest.inert(&link.url)
        );
    }
    if let Some(url) = c.report_url {
        let page = format!("{}/problem-{}.html", url.trim_end_matches('/'), p.id);
        text += &format!("Details: {page}\n");
        headline += &format!(" — {page}");
    }
    Composed {
        subject,
        text,
        headline,
    }
}
