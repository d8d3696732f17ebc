//! `index.html`: the overview.

use std::fmt::Write;

use super::escape::esc;
use super::parts::{build_cell, builder_list, failing, problem_table, result_words, rev, time};
use super::shell::{shell, Links};
use super::Site;
use crate::views::problems::ProblemView;

/// The most metric series the overview lists (the metrics page has them all).
const METRICS_SHOWN: usize = 50;

pub(super) fn page(site: &Site, links: &Links) -> String {
    let mut h = String::new();
    let real: Vec<&ProblemView> = site.open.iter().filter(|p| !p.intermittent).collect();
    let intermittent: Vec<&ProblemView> = site.open.iter().filter(|p| p.intermittent).collect();
    let failing_builders = site
        .builders
        .iter()
        .filter(|b| {
            b.columns
                .first()
                .is_some_and(|c| failing(&c.counts) > 0 && !b.retired)
        })
        .count();
    h.push_str("<h1>Overview</h1>\n");
    if let Some(latest) = site
        .builders
        .iter()
        .filter_map(|b| b.columns.first())
        .map(|c| c.time)
        .max()
    {
        h.push_str("<p class=\"sub\">As of the latest build, ");
        time(&mut h, latest);
        h.push_str(".</p>\n");
    }
    h.push_str("<div class=\"cards\">");
    for (n, words, good_when_zero, warn) in [
        (real.len(), "open Problems", true, false),
        (intermittent.len(), "intermittent Problems", true, true),
        (site.flaky.len(), "flaky tests", true, true),
        (failing_builders, "builders failing now", true, false),
    ] {
        let class = match (n, good_when_zero, warn) {
            (0, true, _) => "good",
            (_, _, true) => "warn",
            _ => "bad",
        };
        let words = if n == 1 {
            words
                .replacen("Problems", "Problem", 1)
                .replacen("tests", "test", 1)
                .replacen("builders", "builder", 1)
        } else {
            words.to_owned()
        };
        w!(
            h,
            "<div class=\"card {class}\"><b>{n}</b><span class=\"muted\">{words}</span></div>"
        );
    }
    h.push_str("</div>\n");

    h.push_str("<h2 id=\"problems\">Open Problems</h2>\n");
    problem_table(&mut h, &real, links, "No open Problems: nothing is broken.");
    h.push_str("<h3 id=\"intermittent\">Intermittent Problems (flaky tests)</h3>\n");
    problem_table(
        &mut h,
        &intermittent,
        links,
        "No open intermittent Problems.",
    );

    h.push_str("<h2 id=\"flaky\">Most flaky tests</h2>\n");
    if site.flaky.is_empty() {
        h.push_str("<p class=\"empty\">No test shows flaky evidence.</p>\n");
    } else {
        h.push_str(
            "<table class=\"list\" id=\"flaky-table\"><thead><tr><th class=\"num\">score</th><th>test</th>\
             <th class=\"num\">runs</th><th class=\"num\">failures</th><th class=\"num\">flips</th>\
             <th class=\"num\">retries</th><th class=\"wide\">builders</th><th class=\"wide\">last flake</th>\
             </tr></thead><tbody>\n",
        );
        for f in &site.flaky {
            w!(h, "<tr><td class=\"num\">{:.2}</td><td>", f.score);
            links.test(&mut h, &f.test);
            w!(
                h,
                "</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                 <td class=\"num\">{}</td><td class=\"wide\">",
                f.runs,
                f.failures,
                f.flips,
                f.retry_flakes
            );
            builder_list(&mut h, &f.builders, links);
            h.push_str("</td><td class=\"wide\">");
            if let Some((builder, number, at)) = &f.last_flake {
                links.builder(&mut h, builder);
                w!(h, " #{number} <span class=\"muted small\">");
                time(&mut h, *at);
                h.push_str("</span>");
            }
            h.push_str("</td></tr>\n");
        }
        h.push_str("</tbody></table>\n");
    }

    if !site.metrics.is_empty() {
        h.push_str("<h2 id=\"metrics\">Metrics</h2>\n<table class=\"list\"><thead><tr><th>series</th>\
                    <th>builder</th><th class=\"num\">latest</th><th>trend</th></tr></thead><tbody>\n");
        for m in site.metrics.iter().take(METRICS_SHOWN) {
            let Some(b) = m.builders.first() else {
                continue;
            };
            let Some(last) = b.values.last() else {
                continue;
            };
            w!(
                h,
                "<tr><td><a class=\"test\" href=\"{}#{}\">{}</a></td><td>{}</td>\
                 <td class=\"num\">{} {}</td><td>",
                links.metric_page(&m.series),
                super::metrics::anchor(&m.series),
                esc(&m.series),
                esc(&b.builder),
                esc(&crate::metrics::level(last.value)),
                esc(m.unit.as_deref().unwrap_or(""))
            );
            super::metrics::sparkline(&mut h, m, links);
            h.push_str("</td></tr>\n");
        }
        h.push_str("</tbody></table>\n");
        if site.metrics.len() > METRICS_SHOWN {
            w!(
                h,
                "<p class=\"muted\">And {} more series on <a href=\"metrics.html\">the metrics page</a>.</p>\n",
                site.metrics.len() - METRICS_SHOWN
            );
        }
    }
    h.push_str("<h2 id=\"builders\">Builders</h2>\n");
    if site.builders.is_empty() {
        h.push_str("<p class=\"empty\">No builds on this branch yet.</p>\n");
    } else {
        h.push_str(
            "<table class=\"list\" id=\"builders-table\"><thead><tr><th>builder</th><th class=\"num\">latest</th>\
             <th>result</th><th class=\"num\">passed</th><th class=\"num\">failing</th>\
             <th class=\"num\">skipped</th><th class=\"num\">flaky</th><th class=\"wide\">time</th>\
             <th class=\"wide\">recent builds (newest first)</th></tr></thead><tbody>\n",
        );
        for b in &site.builders {
            h.push_str("<tr><td>");
            links.builder(&mut h, &b.builder);
            if b.retired {
                h.push_str(" <span class=\"tag retired\">retired</span>");
            }
            h.push_str("</td>");
            match b.columns.first() {
                Some(c) => {
                    w!(h, "<td class=\"num\">#{} ", c.number);
                    rev(&mut h, c.revision.as_deref());
                    h.push_str("</td><td>");
                    let class = if failing(&c.counts) > 0 {
                        "open"
                    } else {
                        "fixed"
                    };
                    w!(
                        h,
                        "<span class=\"tag {class}\">{}</span></td>",
                        esc(&result_words(c))
                    );
                    w!(
                        h,
                        "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                         <td class=\"num\">{}</td><td class=\"wide\">",
                        c.counts.passed,
                        failing(&c.counts),
                        c.counts.skipped,
                        c.counts.flaky
                    );
                    time(&mut h, c.time);
                    h.push_str("</td><td class=\"wide\"><div class=\"strip\">");
                    for column in &b.columns {
                        build_cell(&mut h, column);
                    }
                    h.push_str("</div></td>");
                }
                None => h.push_str("<td colspan=\"8\" class=\"muted\">no builds</td>"),
            }
            h.push_str("</tr>\n");
        }
        h.push_str("</tbody></table>\n");
    }

    if !site.fixed.is_empty() {
        h.push_str("<h2 id=\"fixed\">Recently fixed</h2>\n");
        let fixed: Vec<&ProblemView> = site.fixed.iter().collect();
        problem_table(&mut h, &fixed, links, "");
    }
    shell(site, "Overview", &h)
}
