//! What every page shares: the CSS, the header with the site's navigation, and the links
//! between pages.

use std::collections::{HashMap, HashSet};
use std::fmt::Write;

use super::escape::{breakable, esc};
use super::{builder_page, problem_page, test_page, Site};

/// Which pages exist, so that no link points nowhere.
pub(super) struct Links {
    pub(super) tests: HashSet<String>,
    pub(super) problems: HashSet<i64>,
    pub(super) builders: HashSet<String>,
    /// The metrics page (or part of it) each series' chart is on.
    pub(super) metric_pages: HashMap<String, String>,
}

impl Links {
    pub(super) fn metric_page(&self, series: &str) -> &str {
        self.metric_pages
            .get(series)
            .map_or("metrics.html", String::as_str)
    }

    pub(super) fn test(&self, h: &mut String, test: &str) {
        if self.tests.contains(test) {
            w!(h, "<a class=\"test\" href=\"{}\">", test_page(test));
            breakable(h, test);
            h.push_str("</a>");
        } else {
            h.push_str("<span class=\"test\">");
            breakable(h, test);
            h.push_str("</span>");
        }
    }

    pub(super) fn problem(&self, h: &mut String, id: i64) {
        if self.problems.contains(&id) {
            w!(h, "<a href=\"{}\">#{id}</a>", problem_page(id));
        } else {
            w!(h, "#{id}");
        }
    }

    pub(super) fn builder(&self, h: &mut String, builder: &str) {
        if self.builders.contains(builder) {
            w!(
                h,
                "<a class=\"nb\" href=\"{}\">{}</a>",
                builder_page(builder),
                esc(builder)
            );
        } else {
            w!(h, "<span class=\"nb\">{}</span>", esc(builder));
        }
    }
}

pub(super) const CSS: &str = r#"
:root{--bg:#f6f8fa;--fg:#1f2328;--muted:#656d76;--card:#fff;--line:#d0d7de;--link:#0969da;
--pass:#2da44e;--fail:#cf222e;--error:#82071e;--flake:#d4a72c;--retry:#8250df;--skip:#afb8c1;
--xfail:#8cc9a1;--xpass:#e8a33d;--absent:#eef1f4;--head:#f0f3f6}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#8d96a0;--card:#161b22;
--line:#30363d;--link:#4493f8;--head:#1c2128;--absent:#1c2128;--skip:#57606a}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,"Segoe UI",
Roboto,"Helvetica Neue",Arial,"Noto Sans",sans-serif}
a{color:var(--link);text-decoration:none}a:hover{text-decoration:underline}
header{background:#24292f;color:#fff;padding:.6rem 1.5rem;display:flex;flex-wrap:wrap;gap:.4rem 1.2rem;
align-items:baseline}
header a{color:#fff}header .brand{font-weight:700;font-size:1.1rem}
header nav{display:flex;flex-wrap:wrap;gap:.2rem .9rem;font-size:.9rem}header nav a{opacity:.85}
header .branch{margin-left:auto;font-size:.85rem;opacity:.8}
main{max-width:1500px;margin:0 auto;padding:1rem 1.5rem 3rem}
h1{font-size:1.5rem;margin:.6rem 0 .3rem;word-break:break-word}
h2{font-size:1.15rem;margin:1.8rem 0 .6rem;padding-bottom:.3rem;border-bottom:1px solid var(--line)}
h3{font-size:1rem;margin:1.2rem 0 .4rem}
.sub{color:var(--muted);margin:.1rem 0 .8rem}
.muted{color:var(--muted)}.small{font-size:.85rem}.nb{white-space:nowrap}
.cards{display:flex;flex-wrap:wrap;gap:.8rem;margin:1rem 0}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:.7rem 1rem;min-width:10rem}
.card b{display:block;font-size:1.6rem;line-height:1.2}
.card.bad b{color:var(--fail)}.card.good b{color:var(--pass)}.card.warn b{color:var(--retry)}
table.list{width:100%;border-collapse:separate;border-spacing:0;background:var(--card);
border:1px solid var(--line);border-radius:8px}
table.list th,table.list td{padding:.4rem .6rem;text-align:left;vertical-align:top;border-bottom:1px solid var(--line)}
table.list tr:last-child td{border-bottom:0}
table.list th{position:sticky;top:0;z-index:2;background:var(--head);font-weight:600;font-size:.85rem;
color:var(--muted);white-space:nowrap}
table.list td.num,table.list th.num{text-align:right;font-variant-numeric:tabular-nums}
.test{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85rem;overflow-wrap:break-word}
h1 .test,h1.test{font-size:1.3rem}
code,.rev{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85em}
.msg{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.8rem;color:var(--muted);
word-break:break-word}
pre{white-space:pre-wrap;word-break:break-word;background:var(--card);border:1px solid var(--line);
border-radius:6px;padding:.5rem .7rem;margin:.3rem 0;font-size:.8rem;max-height:22rem;overflow:auto}
.tag{display:inline-block;border-radius:1em;padding:0 .55em;font-size:.75rem;font-weight:600;
border:1px solid currentColor;white-space:nowrap}
.tag.open{color:var(--fail)}.tag.fixed{color:var(--pass)}.tag.int{color:var(--retry)}
.tag.retired{color:var(--muted)}
.scroll{overflow:auto;max-height:calc(100vh - 9rem);border:1px solid var(--line);border-radius:8px;
background:var(--card)}
table.grid{border-collapse:separate;border-spacing:0}
table.grid th,table.grid td{padding:0;border-bottom:1px solid var(--card);border-right:1px solid var(--card)}
table.grid thead th{position:sticky;top:0;z-index:2;background:var(--head);font-weight:500;font-size:.7rem;
color:var(--muted);padding:.25rem .1rem;vertical-align:bottom;text-align:center;min-width:1.9rem}
table.grid thead th .n{display:block;color:var(--fg);font-weight:600}
table.grid thead th.fail .n{color:var(--fail)}
table.grid .name{position:sticky;left:0;z-index:1;background:var(--card);padding:.2rem .6rem;
min-width:16rem;max-width:34rem;text-align:left;border-right:1px solid var(--line)}
table.grid thead th.name{z-index:3;background:var(--head);font-size:.8rem;vertical-align:bottom}
.c{display:inline-block;width:1.9rem;height:1.6rem;line-height:1.6rem;text-align:center;font-size:.8rem;
font-weight:700;color:#fff;border-radius:2px}
td>.c{display:block;width:auto}
.c.pass{background:var(--pass)}.c.fail{background:var(--fail)}.c.error{background:var(--error)}
.c.flake{background:var(--flake);color:#3b2300;outline:2px dashed #7d4e00;outline-offset:-3px}
.c.retry{background:var(--retry)}.c.skip{background:var(--skip);color:#24292f}
.c.xfail{background:var(--xfail);color:#0f3d1f}.c.xpass{background:var(--xpass);color:#3b2300}
.c.absent{background:var(--absent);color:var(--muted);font-weight:400}
.badge .c{width:auto;padding:0 .5em;height:auto;line-height:1.5;font-size:.75rem;font-weight:600}
.strip{display:flex;flex-wrap:wrap;gap:2px;margin:.2rem 0 .6rem}td .strip{margin:0}.strip .c{width:1.1rem;height:1.3rem;line-height:1.3rem;font-size:.65rem}
.legend{display:flex;flex-wrap:wrap;gap:.3rem 1rem;font-size:.8rem;color:var(--muted);margin:.5rem 0}
.legend .c{width:1.4rem;height:1.2rem;line-height:1.2rem;font-size:.7rem;margin-right:.25rem;vertical-align:middle}
.change{background:var(--card);border:1px solid var(--line);border-left:4px solid var(--fail);border-radius:6px;
padding:.5rem .8rem;margin:.5rem 0}
.change.fix{border-left-color:var(--pass)}
.change .head{display:flex;flex-wrap:wrap;gap:.2rem .8rem;align-items:baseline}
.change .subject{font-weight:600}
.empty{color:var(--muted);font-style:italic;margin:.4rem 0}
table.cov td.down{color:var(--fail)}table.cov td.up{color:var(--pass)}
.parts{margin:.5rem 0}
table.srcview{border-collapse:collapse;background:var(--card);border:1px solid var(--line);width:100%;
font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.8rem}
table.srcview th{text-align:left;background:var(--head);color:var(--muted);font-weight:600;padding:.2rem .5rem}
table.srcview td{padding:0 .5rem;vertical-align:top;white-space:nowrap;color:var(--muted)}
table.srcview td.num{text-align:right}table.srcview td.ln{text-align:right;user-select:none}
table.srcview td.src{white-space:pre-wrap;word-break:break-all;color:var(--fg);width:100%}
tr.cov td.src,.sw.cov{background:#dafbe1}tr.part td.src,.sw.part{background:#fff8c5}
tr.unc td.src,.sw.unc{background:#ffebe9}tr.lost td.src,.sw.lost{background:#ffc1c0}
tr.new td.src,.sw.new{background:#f0d8ff}
tr.lost td.ln,tr.new td.ln{font-weight:700;color:var(--fail)}
.sw{display:inline-block;width:1rem;height:.9rem;border:1px solid var(--line);margin-right:.3rem;vertical-align:middle}
@media (prefers-color-scheme:dark){tr.cov td.src,.sw.cov{background:#12361f}tr.part td.src,.sw.part{background:#3b2e00}
tr.unc td.src,.sw.unc{background:#3d1a1a}tr.lost td.src,.sw.lost{background:#6e1a1a}tr.new td.src,.sw.new{background:#3c1f5c}}
footer{color:var(--muted);font-size:.8rem;text-align:center;padding:1rem}
@media (max-width:700px){main{padding:.6rem}header{padding:.5rem .8rem}table.list .wide{display:none}
table.grid .name{min-width:9rem;max-width:14rem}}
"#;

/// One page: the shell with the header and the site's navigation around `body`.
pub(super) fn shell(site: &Site, title: &str, body: &str) -> String {
    let mut h = String::with_capacity(body.len() + CSS.len() + 2048);
    w!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"probtrack\">\n<title>{} · probtrack</title>\n\
         <style>{CSS}</style>\n</head>\n<body>\n<header><a class=\"brand\" href=\"index.html\">probtrack</a><nav>\
         <a href=\"index.html\">Overview</a>",
        esc(title)
    );
    if !site.metrics.is_empty() {
        h.push_str("<a href=\"metrics.html\">Metrics</a>");
    }
    if !site.coverage.is_empty() {
        w!(h, "<a href=\"{}\">Coverage</a>", super::coverage::OVERVIEW);
    }
    for grid in &site.builders {
        w!(
            h,
            "<a href=\"{}\">{}</a>",
            builder_page(&grid.builder),
            esc(&grid.builder)
        );
    }
    w!(
        h,
        "</nav><span class=\"branch\">branch: {}</span></header>\n<main>\n{body}</main>\n\
         <footer>Made by probtrack {}. Every page works offline.</footer>\n</body>\n</html>\n",
        site.branch
            .as_deref()
            .map_or_else(|| "(none)".to_owned(), |b| esc(b).to_string()),
        env!("CARGO_PKG_VERSION")
    );
    h
}
