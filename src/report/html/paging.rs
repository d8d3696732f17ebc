//! Pages cut into parts: a page whose rows would take it over [`PAGE_MAX`] bytes is written as
//! `<name>.html`, `<base>-p2.html`, …, each part linking to the one before and after it.

use std::fmt::Write;

use super::shell::shell;
use super::{Page, Site};

/// The most bytes a page may have.
pub(crate) const PAGE_MAX: usize = 2_000_000;
/// Room kept on every page for what is not rows: the heading, the summary and the links to the
/// other parts (their size is bounded: a path is at most 4,096 bytes, six times that escaped).
const FRAME: usize = 64 * 1024;
/// Part `n` (from 1) of a page cut into parts.
pub(super) fn part_name(base: &str, n: usize) -> String {
    if n == 1 {
        format!("{base}.html")
    } else {
        format!("{base}-p{n}.html")
    }
}

/// Cuts rows of the given sizes into runs whose sizes add up to at most `budget` each (a row
/// larger than `budget` alone makes a run). The runs as index ranges; at least one, empty when
/// there are no rows.
pub(super) fn split(sizes: &[usize], budget: usize) -> Vec<std::ops::Range<usize>> {
    let mut runs = Vec::new();
    let (mut start, mut used) = (0, 0);
    for (i, &size) in sizes.iter().enumerate() {
        if i > start && used + size > budget {
            runs.push(start..i);
            (start, used) = (i, 0);
        }
        used += size;
    }
    runs.push(start..sizes.len());
    runs
}

/// The names of a page's parts: the first, then `<base>-p2.html`, ….
pub(super) struct Names {
    pub(super) first: String,
    pub(super) base: String,
}

impl Names {
    fn part(&self, n: usize) -> String {
        if n == 1 {
            self.first.clone()
        } else {
            part_name(&self.base, n)
        }
    }
}

/// `rows` between `head` and `tail` on pages of at most [`PAGE_MAX`] bytes, each linking to the
/// part before and after it.
pub(super) fn parts(
    site: &Site,
    title: &str,
    names: &Names,
    head: &str,
    rows: &[String],
    tail: &str,
) -> Vec<Page> {
    parts_with_rows(site, title, names, head, rows, tail)
        .into_iter()
        .map(|(page, _)| page)
        .collect()
}

/// [`parts`], each page with the rows it holds.
pub(super) fn parts_with_rows(
    site: &Site,
    title: &str,
    names: &Names,
    head: &str,
    rows: &[String],
    tail: &str,
) -> Vec<(Page, std::ops::Range<usize>)> {
    let frame = shell(site, title, "").len() + head.len() + tail.len() + 512;
    let budget = PAGE_MAX.saturating_sub(frame.max(FRAME));
    let sizes: Vec<usize> = rows.iter().map(String::len).collect();
    let runs = split(&sizes, budget);
    let count = runs.len();
    runs.into_iter()
        .enumerate()
        .map(|(i, run)| {
            let n = i + 1;
            let mut nav = String::new();
            if count > 1 {
                nav.push_str("<p class=\"parts\">");
                if n > 1 {
                    w!(
                        nav,
                        "<a href=\"{}\">← part {}</a> ",
                        names.part(n - 1),
                        n - 1
                    );
                }
                w!(nav, "part {n} of {count}");
                if n < count {
                    w!(
                        nav,
                        " <a href=\"{}\">part {} →</a>",
                        names.part(n + 1),
                        n + 1
                    );
                }
                nav.push_str("</p>\n");
            }
            let mut body = String::with_capacity(frame + budget.min(1 << 20));
            body.push_str(head);
            for row in &rows[run.clone()] {
                body.push_str(row);
            }
            body.push_str(tail);
            body.push_str(&nav);
            let page_title = if count > 1 {
                format!("{title} (part {n} of {count})")
            } else {
                title.to_owned()
            };
            let page = Page {
                name: names.part(n),
                html: shell(site, &page_title, &(nav.clone() + &body)),
            };
            (page, run)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_keeps_every_row_once_within_the_budget() {
        assert_eq!(split(&[], 10), vec![0..0]);
        assert_eq!(split(&[4, 4, 4], 10), vec![0..2, 2..3]);
        assert_eq!(split(&[4, 6, 10, 1], 10), vec![0..2, 2..3, 3..4]);
        // A row larger than the budget is a run of its own.
        assert_eq!(split(&[3, 25, 3], 10), vec![0..1, 1..2, 2..3]);
    }
}
