//! `builder-<name>.html`: a grid of a builder's recent builds and the tests that failed or were
//! flaky in them.

use std::fmt::Write;

use super::escape::esc;
use super::parts::{cell, counts_text, failing, legend, look};
use super::shell::{shell, Links};
use super::{BuilderGrid, Site};
use crate::clock;

pub(super) fn page(site: &Site, grid: &BuilderGrid, links: &Links) -> String {
    let mut h = String::new();
    w!(h, "<h1>{}", esc(&grid.builder));
    if grid.retired {
        h.push_str(" <span class=\"tag retired\">retired</span>");
    }
    h.push_str("</h1>\n");
    w!(
        h,
        "<p class=\"sub\">The last {} of {} builds, newest first: {} tests that failed or were flaky \
         in them. {} other tests passed (or were skipped) in every one.</p>\n",
        grid.columns.len(),
        grid.builds,
        grid.rows.len(),
        grid.passing
    );
    legend(&mut h);
    if grid.rows.is_empty() {
        h.push_str("<p class=\"empty\">No test failed or was flaky in these builds.</p>\n");
    }
    h.push_str(
        "<div class=\"scroll\"><table class=\"grid\"><thead><tr><th class=\"name\">test</th>",
    );
    for c in &grid.columns {
        let class = if failing(&c.counts) > 0 {
            " class=\"fail\""
        } else {
            ""
        };
        let title = format!(
            "build #{} · {} · {} · {}",
            c.number,
            c.revision.as_deref().unwrap_or("no revision"),
            clock::rfc3339(c.time),
            counts_text(&c.counts)
        );
        w!(
            h,
            "<th{class} title=\"{}\"><span class=\"n\">{}</span>{}</th>",
            esc(&title),
            c.number,
            esc(c
                .revision
                .as_deref()
                .map_or("", |r| r.get(..7).unwrap_or(r)))
        );
    }
    h.push_str("</tr></thead><tbody>\n");
    for row in &grid.rows {
        h.push_str("<tr><th class=\"name\" scope=\"row\">");
        links.test(&mut h, &row.test);
        h.push_str("</th>");
        for (c, column) in row.cells.iter().zip(&grid.columns) {
            let (_, _, words) = look(c.status, c.flake);
            let mut title = format!("#{} {words}", column.number);
            if c.attempts > 1 {
                let _ = write!(title, " ({} attempts)", c.attempts);
            }
            if let Some(m) = &c.message {
                title.push('\n');
                title.push_str(&crate::views::shorten(m, 300));
            }
            h.push_str("<td>");
            cell(&mut h, c.status, c.flake, &title);
            h.push_str("</td>");
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody></table></div>\n");
    shell(site, &grid.builder, &h)
}
