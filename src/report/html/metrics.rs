//! `metrics.html`: one inline-SVG chart per metric series (a line per builder, its change points
//! marked and linked to their Problems), and the sparklines the overview shows. No scripts: the
//! values of a point are in its `<title>`; every name is escaped.

use std::fmt::Write;

use std::collections::HashMap;

use super::escape::esc;
use super::paging::{parts_with_rows, Names};
use super::shell::Links;
use super::{Page, Site};
use crate::views::metrics::MetricHistory;

/// The chart's size in SVG units (it scales to the page's width).
const WIDTH: f64 = 900.0;
const HEIGHT: f64 = 220.0;
const PAD: f64 = 36.0;
/// A point's own mark is drawn up to this many values per line; beyond, the line alone.
const DOTS: usize = 120;
/// Line colours, one per builder in turn.
const COLOURS: [&str; 6] = [
    "#0969da", "#cf222e", "#2da44e", "#8250df", "#bf8700", "#1b7c83",
];

/// The anchor of a series on the metrics page.
pub(super) fn anchor(series: &str) -> String {
    format!("m-{}", &blake3::hash(series.as_bytes()).to_hex()[..12])
}

fn level(x: f64) -> String {
    crate::metrics::level(x)
}

/// The metrics page, in parts when its charts are over the size a page may have, and the page
/// each series' chart is on.
pub(super) fn pages(site: &Site, links: &Links) -> (Vec<Page>, HashMap<String, String>) {
    let mut h = String::new();
    h.push_str(
        "<h1>Metrics</h1>\n<p class=\"sub\">Each series per builder, oldest build on the \
                left. A marked build starts a step the detector confirmed; a link goes to its \
                Problem.</p>\n",
    );
    if site.metrics.is_empty() {
        h.push_str(
            "<p class=\"empty\">No metrics yet: <code>probtrack ingest --metric \
                    NAME=VALUE</code> or <code>--metrics FILE</code> records them.</p>\n",
        );
    }
    let charts: Vec<String> = (site.metrics.iter())
        .map(|series| {
            let mut c = String::new();
            chart(&mut c, series, links);
            c
        })
        .collect();
    let names = Names {
        first: "metrics.html".into(),
        base: "metrics".into(),
    };
    let mut on = HashMap::new();
    let mut pages = Vec::new();
    for (page, rows) in parts_with_rows(site, "Metrics", &names, &h, &charts, "") {
        for series in &site.metrics[rows] {
            on.insert(series.series.clone(), page.name.clone());
        }
        pages.push(page);
    }
    (pages, on)
}

/// One series' chart.
fn chart(h: &mut String, m: &MetricHistory, links: &Links) {
    let unit = m.unit.as_deref().unwrap_or("");
    w!(
        h,
        "<h2 id=\"{}\"><span class=\"test\">{}</span> <span class=\"muted small\">{} · {}</span></h2>\n",
        anchor(&m.series),
        esc(&m.series),
        esc(if unit.is_empty() { "no unit" } else { unit }),
        m.direction.replace('_', " ")
    );
    let values = m
        .builders
        .iter()
        .flat_map(|b| b.values.iter().map(|v| v.value));
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
        (lo.min(x), hi.max(x))
    });
    if !lo.is_finite() {
        return;
    }
    let (lo, hi) = if hi > lo {
        (lo, hi)
    } else {
        (lo - 1.0, hi + 1.0)
    };
    let longest = m.builders.iter().map(|b| b.values.len()).max().unwrap_or(1);
    let x = |i: usize| PAD + (WIDTH - 2.0 * PAD) * (i as f64) / ((longest.max(2) - 1) as f64);
    let y = |v: f64| HEIGHT - PAD - (HEIGHT - 2.0 * PAD) * (v - lo) / (hi - lo);
    w!(
        h,
        "<svg viewBox=\"0 0 {WIDTH} {HEIGHT}\" width=\"100%\" role=\"img\" \
         style=\"max-width:{WIDTH}px;background:var(--card);border:1px solid var(--line);border-radius:8px\">\
         <title>{}</title>",
        esc(&m.series)
    );
    // The axis: the lowest and highest values.
    for (v, label) in [(lo, level(lo)), (hi, level(hi))] {
        w!(
            h,
            "<line x1=\"{PAD}\" x2=\"{}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#d0d7de\" stroke-width=\"1\"/>\
             <text x=\"2\" y=\"{:.1}\" font-size=\"10\" fill=\"#656d76\">{}</text>",
            WIDTH - PAD,
            y(v),
            y(v),
            y(v) - 3.0,
            esc(&label)
        );
    }
    for (k, b) in m.builders.iter().enumerate() {
        let colour = COLOURS[k % COLOURS.len()];
        let offset = longest - b.values.len();
        let points: Vec<String> = (b.values.iter().enumerate())
            .map(|(i, v)| format!("{:.1},{:.1}", x(offset + i), y(v.value)))
            .collect();
        w!(
            h,
            "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.5\" points=\"{}\"><title>{}</title></polyline>",
            points.join(" "),
            esc(&b.builder)
        );
        if b.values.len() <= DOTS {
            for (i, v) in b.values.iter().enumerate() {
                w!(
                    h,
                    "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2.5\" fill=\"{colour}\"><title>{} #{}: {} {}</title></circle>",
                    x(offset + i),
                    y(v.value),
                    esc(&b.builder),
                    v.build,
                    esc(&level(v.value)),
                    esc(unit)
                );
            }
        }
        for cp in &b.change_points {
            let Some(i) = b.values.iter().position(|v| v.build == cp.build) else {
                continue;
            };
            let (cx, colour) = (
                x(offset + i),
                if cp.step == "regression" {
                    "#cf222e"
                } else {
                    "#2da44e"
                },
            );
            let mark = format!(
                "<line x1=\"{cx:.1}\" x2=\"{cx:.1}\" y1=\"{PAD}\" y2=\"{}\" stroke=\"{colour}\" \
                 stroke-width=\"2\" stroke-dasharray=\"4 3\"><title>{} #{}: {}</title></line>",
                HEIGHT - PAD,
                esc(&b.builder),
                cp.build,
                cp.step
            );
            match cp.problem.filter(|id| links.problems.contains(id)) {
                Some(id) => {
                    w!(h, "<a href=\"{}\">{mark}</a>", super::problem_page(id));
                }
                None => h.push_str(&mark),
            }
        }
    }
    h.push_str("</svg>\n<p class=\"legend\">");
    for (k, b) in m.builders.iter().enumerate() {
        w!(
            h,
            "<span><span style=\"color:{}\">■</span> {}</span>",
            COLOURS[k % COLOURS.len()],
            esc(&b.builder)
        );
        for cp in b.change_points.iter().filter(|c| c.problem.is_some()) {
            h.push_str("<span>");
            w!(h, "{} #{} ", cp.step, cp.build);
            if let Some(id) = cp.problem {
                links.problem(h, id);
            }
            h.push_str("</span>");
        }
    }
    h.push_str("</p>\n");
}

/// A small inline-SVG sparkline of a series' first builder, linked to its chart.
pub(super) fn sparkline(h: &mut String, m: &MetricHistory, links: &Links) {
    let Some(b) = m.builders.first() else { return };
    let values: Vec<f64> = b
        .values
        .iter()
        .rev()
        .take(40)
        .rev()
        .map(|v| v.value)
        .collect();
    let (lo, hi) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        });
    if values.is_empty() {
        return;
    }
    let span = if hi > lo { hi - lo } else { 1.0 };
    let points: Vec<String> = (values.iter().enumerate())
        .map(|(i, v)| {
            let x = 2.0 + 116.0 * i as f64 / (values.len().max(2) - 1) as f64;
            format!("{x:.1},{:.1}", 22.0 - 20.0 * (v - lo) / span)
        })
        .collect();
    w!(
        h,
        "<a href=\"{}#{}\"><svg viewBox=\"0 0 120 24\" width=\"120\" height=\"24\" role=\"img\">\
         <title>{}</title><polyline fill=\"none\" stroke=\"#0969da\" stroke-width=\"1.5\" points=\"{}\"/></svg></a>",
        links.metric_page(&m.series),
        anchor(&m.series),
        esc(&m.series),
        points.join(" ")
    );
}
