//! `test-<hash>.html`: a test's recent history on every builder, its flakiness and its
//! Problems.

use std::fmt::Write;

use probtrack_parsers::Status;

use super::escape::breakable;
use super::parts::{badge, cell, legend, look, message, problem_table, rev, time};
use super::shell::{shell, Links};
use super::{Cell, Column, Site, TestHistory};
use crate::views::problems::ProblemView;

pub(super) fn page(site: &Site, test: &TestHistory, links: &Links) -> String {
    let mut h = String::new();
    h.push_str("<h1 class=\"test\">");
    breakable(&mut h, &test.test);
    w!(
        h,
        "</h1>\n<p class=\"sub\">{}",
        if test.kind == "compile" {
            "A compiler diagnostic"
        } else {
            "A test"
        }
    );
    if let Some(f) = &test.flaky {
        w!(
            h,
            " · <span class=\"tag int\">flaky</span> score {:.2}: {} runs, {} failures, {} flips, \
             {} retry flakes",
            f.score,
            f.runs,
            f.failures,
            f.flips,
            f.retry_flakes
        );
    }
    h.push_str("</p>\n");

    h.push_str("<h2>Problems</h2>\n");
    let problems: Vec<&ProblemView> = test.problems.iter().collect();
    problem_table(&mut h, &problems, links, "This test has no Problems.");

    h.push_str("<h2>History</h2>\n");
    legend(&mut h);
    if test.lanes.is_empty() {
        h.push_str("<p class=\"empty\">No results on this branch.</p>\n");
    }
    for lane in &test.lanes {
        h.push_str("<h3>");
        links.builder(&mut h, &lane.builder);
        w!(
            h,
            " <span class=\"muted small\">last {} builds, newest first</span></h3>\n<div class=\"strip\">",
            lane.results.len()
        );
        for (column, c) in &lane.results {
            let (_, _, words) = look(c.status, c.flake);
            cell(
                &mut h,
                c.status,
                c.flake,
                &format!("#{} {words}", column.number),
            );
        }
        h.push_str("</div>\n");
        let notable: Vec<&(Column, Cell)> = lane
            .results
            .iter()
            .filter(|(_, c)| c.status.is_some_and(|s| s != Status::Passed))
            .collect();
        if notable.is_empty() {
            continue;
        }
        h.push_str("<table class=\"list\"><thead><tr><th>build</th><th>revision</th><th>time</th>\
             <th>status</th><th class=\"num\">attempts</th><th class=\"wide\">message</th></tr></thead><tbody>\n");
        let mut previous: Option<&str> = None;
        for (column, c) in notable {
            w!(h, "<tr><td>#{}</td><td>", column.number);
            rev(&mut h, column.revision.as_deref());
            h.push_str("</td><td>");
            time(&mut h, column.time);
            h.push_str("</td><td>");
            badge(&mut h, c.status, c.flake);
            w!(
                h,
                "</td><td class=\"num\">{}</td><td class=\"wide\">",
                c.attempts
            );
            message(&mut h, c.message.as_deref(), &mut previous);
            h.push_str("</td></tr>\n");
        }
        h.push_str("</tbody></table>\n");
    }
    shell(site, &test.test, &h)
}
