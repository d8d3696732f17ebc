//! `problem-<id>.html`: a Problem's story, as `show` tells it.

use std::fmt::Write;

use super::escape::esc;
use super::parts::{badge, builder_list, legend, message, rev, time, time_text, url};
use super::shell::{shell, Links};
use super::{Site, Story};
use crate::views::problems::CoverageLinesView;

pub(super) fn page(site: &Site, story: &Story, links: &Links) -> String {
    let p = &story.problem;
    let mut h = String::new();
    w!(h, "<h1>Problem #{}: ", p.id);
    links.test(&mut h, &p.test);
    h.push_str("</h1>\n<p class=\"sub\">");
    // `open`, `fixed` or `retired`: each has its tag class.
    w!(h, "<span class=\"tag {0}\">{0}</span> ", p.state);
    if p.intermittent {
        h.push_str("<span class=\"tag int\">intermittent</span> ");
    }
    w!(h, "{} failing builds on ", p.failures);
    builder_list(&mut h, &p.builders, links);
    w!(
        h,
        ". First failed in {} #{} (",
        esc(&p.first_failure.builder),
        p.first_failure.build
    );
    time_text(&mut h, &p.first_failure.time);
    h.push(')');
    match &p.fixed {
        Some(f) => {
            w!(h, "; fixed in {} #{} (", esc(&f.builder), f.build);
            time_text(&mut h, &f.time);
            h.push_str(").");
        }
        None => {
            w!(
                h,
                "; last failed in {} #{} (",
                esc(&p.last_failure.builder),
                p.last_failure.build
            );
            time_text(&mut h, &p.last_failure.time);
            h.push_str(").");
        }
    }
    h.push_str("</p>\n");
    if let Some(m) = &p.message {
        w!(h, "<pre class=\"message\">{}</pre>\n", esc(m));
    }
    if let Some(cluster) = &p.cluster {
        w!(h, "<p class=\"sub\">Cause cluster {}</p>\n", esc(cluster));
    }
    if let Some(coverage) = &p.coverage {
        coverage_lines(&mut h, coverage, links);
    }
    if !p.links.is_empty() || !p.earlier_links.is_empty() {
        h.push_str("<h2>Links</h2>\n<ul class=\"links\">\n");
        for l in &p.links {
            h.push_str("<li>");
            url(&mut h, &l.url);
            w!(h, " ({})</li>\n", l.state);
        }
        for l in &p.earlier_links {
            w!(
                h,
                "<li>Fails again while Problem #{}'s bug is open: ",
                l.problem
            );
            url(&mut h, &l.url);
            h.push_str("</li>\n");
        }
        h.push_str("</ul>\n");
    }
    if !p.notes.is_empty() {
        h.push_str("<h2>Notes</h2>\n<ul class=\"notes\">\n");
        for n in &p.notes {
            h.push_str("<li>");
            time_text(&mut h, &n.time);
            if let Some(author) = &n.author {
                w!(h, " {}", esc(author));
            }
            w!(h, ": {}</li>\n", esc(&n.text));
        }
        h.push_str("</ul>\n");
    }

    h.push_str("<h2>Changes</h2>\n");
    if story.changes.is_empty() {
        h.push_str("<p class=\"empty\">No suspect changes are known (no blamelist).</p>\n");
    }
    for c in &story.changes {
        let (class, words) = if c.role == "start" {
            ("start", "started it")
        } else {
            ("fix", "fixed it")
        };
        w!(
            h,
            "<div class=\"change {class}\"><div class=\"head\"><b>{words}</b>"
        );
        rev(&mut h, Some(&c.revision));
        if let Some(a) = &c.author {
            w!(h, "<span>{}</span>", esc(a));
        }
        if let Some(t) = c.time {
            h.push_str("<span class=\"muted small\">");
            time(&mut h, t);
            h.push_str("</span>");
        }
        h.push_str("</div>");
        if let Some(comments) = &c.comments {
            let (subject, body) = comments.trim().split_once('\n').unwrap_or((comments, ""));
            w!(h, "<div class=\"subject\">{}</div>", esc(subject.trim()));
            if !body.trim().is_empty() {
                w!(h, "<pre>{}</pre>", esc(body.trim()));
            }
        }
        h.push_str("</div>\n");
    }

    h.push_str("<h2>People</h2>\n");
    if story.people.is_empty() {
        h.push_str("<p class=\"empty\">Nobody is known.</p>\n");
    } else {
        h.push_str("<ul>");
        for person in &story.people {
            w!(
                h,
                "<li><b>{}</b> — {}",
                esc(&person.name),
                person.roles.join(" and ")
            );
            if let Some(chat) = &person.chat {
                w!(h, " <span class=\"muted\">({})</span>", esc(chat));
            }
            h.push_str("</li>");
        }
        h.push_str("</ul>\n");
    }

    h.push_str("<h2>Timeline</h2>\n");
    legend(&mut h);
    for (builder, items) in &story.timeline {
        h.push_str("<h3>");
        links.builder(&mut h, builder);
        h.push_str(
            "</h3>\n<table class=\"list timeline\"><thead><tr><th>build</th><th>revision</th>\
             <th>time</th><th>status</th><th class=\"wide\">message</th></tr></thead><tbody>\n",
        );
        let mut previous: Option<&str> = None;
        for t in items {
            w!(h, "<tr><td>#{}</td><td>", t.number);
            rev(&mut h, t.revision.as_deref());
            h.push_str("</td><td>");
            time(&mut h, t.time);
            h.push_str("</td><td>");
            badge(&mut h, t.status, false);
            h.push_str("</td><td class=\"wide\">");
            message(&mut h, t.message.as_deref(), &mut previous);
            h.push_str("</td></tr>\n");
        }
        h.push_str("</tbody></table>\n");
    }
    shell(site, &format!("Problem {}", p.id), &h)
}

/// A coverage Problem's lines, and the tests that broke in the build where it started (each with
/// its Problem there): the likely reason the lines stopped running.
fn coverage_lines(h: &mut String, c: &CoverageLinesView, links: &Links) {
    let ranges = |lines: &[u32]| crate::coverage::record::ranges(lines);
    h.push_str("<h2>Lines</h2>\n<ul class=\"coverage-lines\">\n");
    w!(
        h,
        "<li>Owed at its last failure: {}</li>\n",
        ranges(&c.lines)
    );
    if !c.lost.is_empty() {
        w!(h, "<li>Lost where it started: {}</li>\n", ranges(&c.lost));
    }
    if !c.uncovered_new.is_empty() {
        w!(
            h,
            "<li>New and uncovered where it started: {}</li>\n",
            ranges(&c.uncovered_new)
        );
    }
    h.push_str("</ul>\n");
    if c.tests.is_empty() {
        return;
    }
    h.push_str(
        "<h2>Tests that broke where it started</h2>\n<p class=\"sub\">The lines stopped running in \
         the build where these tests failed, were skipped or vanished: the likely reason.</p>\n\
         <ul class=\"coverage-tests\">\n",
    );
    for t in &c.tests {
        h.push_str("<li>");
        links.test(h, &t.test);
        match t.problem {
            Some(id) => {
                h.push_str(" — Problem ");
                links.problem(h, id);
            }
            None => h.push_str(" <span class=\"muted\">(no Problem of its own)</span>"),
        }
        h.push_str("</li>\n");
    }
    h.push_str("</ul>\n");
}
