//! Pieces the pages share: outcome cells and badges, times, revisions, counts, and the table of
//! Problems.

use std::fmt::Write;

use probtrack_parsers::Status;

use super::escape::esc;
use super::shell::Links;
use super::Column;
use crate::clock::{self, Micros};
use crate::report::short_rev;
use crate::store::Counts;
use crate::views::problems::ProblemView;

/// The class, symbol and words of an outcome.
pub(super) fn look(
    status: Option<Status>,
    flake: bool,
) -> (&'static str, &'static str, &'static str) {
    match status {
        None => ("absent", "", "not run"),
        Some(s) if flake && s.is_failing() => ("flake", "≈", "failed (flaky)"),
        Some(Status::Passed) => ("pass", "✓", "passed"),
        Some(Status::Failed) => ("fail", "✗", "failed"),
        Some(Status::Error) => ("error", "E", "error"),
        Some(Status::Skipped) => ("skip", "–", "skipped"),
        Some(Status::Flaky) => ("retry", "~", "passed on retry"),
        Some(Status::ExpectedFailure) => ("xfail", "x", "expected failure"),
        Some(Status::UnexpectedSuccess) => ("xpass", "u", "unexpected success"),
    }
}

/// A coloured cell with its symbol; `title` is the tooltip (escaped here).
pub(super) fn cell(h: &mut String, status: Option<Status>, flake: bool, title: &str) {
    let (class, symbol, _) = look(status, flake);
    w!(
        h,
        "<span class=\"c {class}\" title=\"{}\">{symbol}</span>",
        esc(title)
    );
}

/// A cell with its words, for lists.
/// A result's message in a table of builds, or "the same message" where it repeats the one of the
/// row above that had one (`previous`, which it then updates).
pub(super) fn message<'a>(
    h: &mut String,
    message: Option<&'a str>,
    previous: &mut Option<&'a str>,
) {
    match message {
        Some(m) if *previous == Some(m) => {
            h.push_str("<span class=\"muted\">the same message</span>")
        }
        Some(m) => {
            w!(h, "<pre>{}</pre>", esc(m));
        }
        None => {}
    }
    if message.is_some() {
        *previous = message;
    }
}

pub(super) fn badge(h: &mut String, status: Option<Status>, flake: bool) {
    let (class, symbol, words) = look(status, flake);
    w!(
        h,
        "<span class=\"badge\"><span class=\"c {class}\">{symbol} {words}</span></span>"
    );
}

pub(super) fn legend(h: &mut String) {
    h.push_str("<div class=\"legend\">");
    for (status, flake) in [
        (Some(Status::Passed), false),
        (Some(Status::Failed), false),
        (Some(Status::Error), false),
        (Some(Status::Failed), true),
        (Some(Status::Flaky), false),
        (Some(Status::Skipped), false),
        (Some(Status::ExpectedFailure), false),
        (Some(Status::UnexpectedSuccess), false),
        (None, false),
    ] {
        let (_, _, words) = look(status, flake);
        h.push_str("<span>");
        cell(h, status, flake, words);
        w!(h, "{words}</span>");
    }
    h.push_str("</div>\n");
}

/// `2024-03-02 16:46 UTC`, in a `<time>` element.
pub(super) fn time(h: &mut String, micros: Micros) {
    let t = clock::from_micros(micros);
    w!(
        h,
        "<time datetime=\"{}\">{}</time>",
        clock::rfc3339(micros),
        t.format("%Y-%m-%d %H:%M UTC")
    );
}

/// A time as the views give it (RFC 3339).
pub(super) fn time_text(h: &mut String, rfc3339: &str) {
    match chrono::DateTime::parse_from_rfc3339(rfc3339) {
        Ok(t) => time(h, t.timestamp_micros()),
        Err(_) => {
            w!(h, "{}", esc(rfc3339));
        }
    }
}

pub(super) fn rev(h: &mut String, revision: Option<&str>) {
    if let Some(r) = revision {
        w!(
            h,
            "<code class=\"rev\" title=\"{}\">{}</code>",
            esc(r),
            esc(short_rev(r))
        );
    }
}

/// `Name <email>` → `Name`.
pub(super) fn author_name(author: &str) -> &str {
    crate::people::split_author(author).0
}

pub(super) fn failing(c: &Counts) -> u64 {
    c.failed + c.error
}

pub(super) fn counts_text(c: &Counts) -> String {
    let mut parts = vec![format!("{} passed", c.passed)];
    for (n, word) in [
        (c.failed, "failed"),
        (c.error, "error"),
        (c.skipped, "skipped"),
        (c.flaky, "flaky"),
        (c.expected_failure, "xfail"),
        (c.unexpected_success, "xpass"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {word}"));
        }
    }
    parts.join(", ")
}

/// A build's result: the recorded one, else what its counts say.
pub(super) fn result_words(column: &Column) -> String {
    match &column.result {
        Some(r) => r.clone(),
        None if failing(&column.counts) > 0 => "failing".into(),
        None => "passing".into(),
    }
}

/// A build as one cell: red when something failed, purple when something passed on a retry.
pub(super) fn build_cell(h: &mut String, column: &Column) {
    let status = if failing(&column.counts) > 0 {
        Status::Failed
    } else if column.counts.flaky > 0 {
        Status::Flaky
    } else {
        Status::Passed
    };
    let title = format!(
        "#{} {} — {}",
        column.number,
        column.revision.as_deref().map(short_rev).unwrap_or(""),
        counts_text(&column.counts)
    );
    cell(h, Some(status), false, &title);
}

pub(super) fn builder_list(h: &mut String, builders: &[String], links: &Links) {
    for (i, b) in builders.iter().enumerate() {
        if i > 0 {
            h.push_str(", ");
        }
        links.builder(h, b);
    }
}

pub(super) fn authors(h: &mut String, p: &ProblemView, fixing: bool) {
    let changes = if fixing { &p.fixed_by } else { &p.started_by };
    if changes.is_empty() {
        h.push_str("<span class=\"muted\">—</span>");
    }
    for (i, c) in changes.iter().enumerate() {
        if i > 0 {
            h.push_str("<br>");
        }
        rev(h, Some(&c.revision));
        if let Some(a) = &c.author {
            w!(
                h,
                " <span title=\"{}\">{}</span>",
                esc(a),
                esc(author_name(a))
            );
        }
    }
}

pub(super) fn problem_table(h: &mut String, problems: &[&ProblemView], links: &Links, empty: &str) {
    if problems.is_empty() {
        w!(h, "<p class=\"empty\">{}</p>\n", esc(empty));
        return;
    }
    h.push_str(
        "<table class=\"list problems\"><thead><tr><th>id</th><th>test</th><th>builders</th><th>since</th>\
         <th>started by</th><th class=\"num\">failures</th><th class=\"wide\">message</th></tr></thead><tbody>\n",
    );
    for p in problems {
        w!(h, "<tr class=\"problem\" data-id=\"{}\"><td>", p.id);
        links.problem(h, p.id);
        if p.state == "fixed" {
            h.push_str(" <span class=\"tag fixed\">fixed</span>");
        }
        if p.intermittent {
            h.push_str(" <span class=\"tag int\">intermittent</span>");
        }
        h.push_str("</td><td>");
        links.test(h, &p.test);
        h.push_str("</td><td>");
        builder_list(h, &p.builders, links);
        h.push_str("</td><td>");
        w!(
            h,
            "<span class=\"nb\">{} #{}</span><br><span class=\"muted small nb\">",
            esc(&p.first_failure.builder),
            p.first_failure.build
        );
        time_text(h, &p.first_failure.time);
        h.push_str("</span></td><td>");
        authors(h, p, false);
        w!(
            h,
            "</td><td class=\"num\">{}</td><td class=\"wide msg\">{}</td></tr>\n",
            p.failures,
            esc(p.message.as_deref().unwrap_or(""))
        );
    }
    h.push_str("</tbody></table>\n");
}

/// A link to `target` when it is an http(s) address, else the escaped text.
pub(super) fn url(h: &mut String, target: &str) {
    if target.starts_with("https://") || target.starts_with("http://") {
        w!(h, "<a href=\"{}\">{}</a>", esc(target), esc(target));
    } else {
        w!(h, "{}", esc(target));
    }
}
