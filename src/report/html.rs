//! `report --html`: a static site for people, one self-contained page per view. No network, no
//! scripts, no external fonts or images: each page carries its own CSS and works offline.
//!
//! `site` loads the data into a [`Site`]; [`render`] turns it into pages.
//! Everything that comes from the data (test names, messages, commit messages, authors, builder
//! names) goes through [`esc`]: reports are untrusted.

use std::collections::HashSet;
use std::fmt::{self, Display, Write};

use probtrack_parsers::Status;

use crate::clock::{self, Micros};
use crate::store::Counts;
use crate::views::problems::ProblemView;

/// Writing to a `String` cannot fail.
macro_rules! w {
    ($($arg:tt)*) => {
        let _ = write!($($arg)*);
    };
}

/// Everything the site shows.
pub struct Site {
    /// The branch shown; `None`: builds without a branch.
    pub branch: Option<String>,
    /// Open Problems, most recent last failure first (intermittent ones included).
    pub open: Vec<ProblemView>,
    /// Recently fixed Problems, most recent first.
    pub fixed: Vec<ProblemView>,
    /// The most flaky tests, most flaky first.
    pub flaky: Vec<FlakyItem>,
    pub builders: Vec<BuilderGrid>,
    pub stories: Vec<Story>,
    pub tests: Vec<TestHistory>,
}

/// One row of the flaky list.
#[derive(Clone)]
pub struct FlakyItem {
    pub test: String,
    pub score: f64,
    pub runs: u64,
    pub failures: u64,
    pub flips: u64,
    pub retry_flakes: u64,
    pub builders: Vec<String>,
    /// `(builder, build number, time)`.
    pub last_flake: Option<(String, i64, Micros)>,
}

/// A build as a column of a grid.
#[derive(Clone)]
pub struct Column {
    pub number: i64,
    pub revision: Option<String>,
    pub time: Micros,
    pub result: Option<String>,
    pub counts: Counts,
}

/// One test's outcome in one build.
#[derive(Clone, Default)]
pub struct Cell {
    /// `None`: the test was not in the build.
    pub status: Option<Status>,
    /// Flaky evidence: a failure of a flaky test that no Problem explains.
    pub flake: bool,
    pub attempts: u32,
    pub message: Option<String>,
}

pub struct GridRow {
    pub test: String,
    /// One per column, in the columns' order.
    pub cells: Vec<Cell>,
}

/// A builder's recent builds and the tests that failed or were flaky in them.
pub struct BuilderGrid {
    pub builder: String,
    pub retired: bool,
    /// Builds this builder has on the branch, in all.
    pub builds: usize,
    /// Newest first.
    pub columns: Vec<Column>,
    pub rows: Vec<GridRow>,
    /// Tests with results in the shown builds that never failed there.
    pub passing: usize,
}

/// A Problem's whole story, as `probtrack show` tells it.
pub struct Story {
    pub problem: ProblemView,
    pub changes: Vec<ChangeItem>,
    /// `(builder, its builds from just before the Problem to its fix)`.
    pub timeline: Vec<(String, Vec<TimelineItem>)>,
    pub people: Vec<PersonItem>,
}

pub struct ChangeItem {
    /// `start` or `fix`.
    pub role: &'static str,
    pub revision: String,
    pub author: Option<String>,
    pub person: Option<String>,
    pub time: Option<Micros>,
    pub comments: Option<String>,
}

pub struct TimelineItem {
    pub number: i64,
    pub revision: Option<String>,
    pub time: Micros,
    pub status: Option<Status>,
    pub message: Option<String>,
}

pub struct PersonItem {
    pub name: String,
    pub chat: Option<String>,
    /// `started`, `fixed` or both.
    pub roles: Vec<&'static str>,
}

/// A test's recent history on every builder.
pub struct TestHistory {
    pub test: String,
    pub kind: &'static str,
    /// Its flakiness, when it is in the flaky list.
    pub flaky: Option<FlakyItem>,
    /// Its Problems on the branch, newest first.
    pub problems: Vec<ProblemView>,
    pub lanes: Vec<TestLane>,
}

pub struct TestLane {
    pub builder: String,
    /// Newest first.
    pub results: Vec<(Column, Cell)>,
}

/// A file of the site.
pub struct Page {
    pub name: String,
    pub html: String,
}

/// Text from the data, escaped for HTML text and attribute values. Control characters other than
/// newline and tab are shown escaped (`\u{1b}`), as on a terminal.
pub fn esc(text: &str) -> Esc<'_> {
    Esc(text)
}

pub struct Esc<'a>(&'a str);

impl Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(i) = rest.find(|c: char| {
            matches!(c, '&' | '<' | '>' | '"' | '\'') || (c.is_control() && c != '\n' && c != '\t')
        }) {
            f.write_str(&rest[..i])?;
            let c = rest[i..].chars().next().unwrap_or_default();
            match c {
                '&' => f.write_str("&amp;")?,
                '<' => f.write_str("&lt;")?,
                '>' => f.write_str("&gt;")?,
                '"' => f.write_str("&quot;")?,
                '\'' => f.write_str("&#39;")?,
                c => write!(f, "\\u{{{:x}}}", c as u32)?,
            }
            rest = &rest[i + c.len_utf8()..];
        }
        f.write_str(rest)
    }
}

/// A test name, escaped, with places to break a long line after `.`, `/`, `:` and `[`.
fn breakable(h: &mut String, text: &str) {
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if matches!(c, '.' | '/' | ':' | '[') {
            let end = i + c.len_utf8();
            w!(h, "{}<wbr>", esc(&text[start..end]));
            start = end;
        }
    }
    w!(h, "{}", esc(&text[start..]));
}

/// The page of a builder: `builder-<slug>.html`. The slug keeps letters, digits, `.`, `_` and `-`;
/// a name that needed changing gets a hash so that two builders never share a page.
pub fn builder_page(builder: &str) -> String {
    let slug: String = builder
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let slug = slug.trim_matches(|c| c == '-' || c == '.');
    if slug == builder && !slug.is_empty() {
        format!("builder-{slug}.html")
    } else {
        format!("builder-{slug}-{}.html", short_hash(builder.as_bytes(), 6))
    }
}

/// The page of a test: `test-<hash>.html`, a short hash of its identity (stable across runs).
pub fn test_page(test: &str) -> String {
    format!("test-{}.html", short_hash(test.as_bytes(), 12))
}

pub fn problem_page(id: i64) -> String {
    format!("problem-{id}.html")
}

fn short_hash(bytes: &[u8], len: usize) -> String {
    let hex = blake3::hash(bytes).to_hex();
    hex[..len].to_owned()
}

/// Renders every page of the site.
pub fn render(site: &Site) -> Vec<Page> {
    let links = Links {
        tests: site.tests.iter().map(|t| t.test.clone()).collect(),
        problems: site.stories.iter().map(|s| s.problem.id).collect(),
        builders: site.builders.iter().map(|b| b.builder.clone()).collect(),
    };
    let mut pages = vec![Page {
        name: "index.html".into(),
        html: index(site, &links),
    }];
    for grid in &site.builders {
        pages.push(Page {
            name: builder_page(&grid.builder),
            html: builder(site, grid, &links),
        });
    }
    for story in &site.stories {
        pages.push(Page {
            name: problem_page(story.problem.id),
            html: problem(site, story, &links),
        });
    }
    for test in &site.tests {
        pages.push(Page {
            name: test_page(&test.test),
            html: test_history(site, test, &links),
        });
    }
    pages
}

/// Which pages exist, so that no link points nowhere.
struct Links {
    tests: HashSet<String>,
    problems: HashSet<i64>,
    builders: HashSet<String>,
}

impl Links {
    fn test(&self, h: &mut String, test: &str) {
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

    fn problem(&self, h: &mut String, id: i64) {
        if self.problems.contains(&id) {
            w!(h, "<a href=\"{}\">#{id}</a>", problem_page(id));
        } else {
            w!(h, "#{id}");
        }
    }

    fn builder(&self, h: &mut String, builder: &str) {
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

const CSS: &str = r#"
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
footer{color:var(--muted);font-size:.8rem;text-align:center;padding:1rem}
@media (max-width:700px){main{padding:.6rem}header{padding:.5rem .8rem}table.list .wide{display:none}
table.grid .name{min-width:9rem;max-width:14rem}}
"#;

/// One page: the shell with the header and the site's navigation around `body`.
fn shell(site: &Site, title: &str, body: &str) -> String {
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

/// The class, symbol and words of an outcome.
fn look(status: Option<Status>, flake: bool) -> (&'static str, &'static str, &'static str) {
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
fn cell(h: &mut String, status: Option<Status>, flake: bool, title: &str) {
    let (class, symbol, _) = look(status, flake);
    w!(
        h,
        "<span class=\"c {class}\" title=\"{}\">{symbol}</span>",
        esc(title)
    );
}

/// A cell with its words, for lists.
fn badge(h: &mut String, status: Option<Status>, flake: bool) {
    let (class, symbol, words) = look(status, flake);
    w!(
        h,
        "<span class=\"badge\"><span class=\"c {class}\">{symbol} {words}</span></span>"
    );
}

fn legend(h: &mut String) {
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
fn time(h: &mut String, micros: Micros) {
    let t = clock::from_micros(micros);
    w!(
        h,
        "<time datetime=\"{}\">{}</time>",
        clock::rfc3339(micros),
        t.format("%Y-%m-%d %H:%M UTC")
    );
}

/// A time as the views give it (RFC 3339).
fn time_text(h: &mut String, rfc3339: &str) {
    match chrono::DateTime::parse_from_rfc3339(rfc3339) {
        Ok(t) => time(h, t.timestamp_micros()),
        Err(_) => {
            w!(h, "{}", esc(rfc3339));
        }
    }
}

fn short_rev(revision: &str) -> &str {
    revision.get(..10).unwrap_or(revision)
}

fn rev(h: &mut String, revision: Option<&str>) {
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
fn author_name(author: &str) -> &str {
    crate::people::split_author(author).0
}

fn failing(c: &Counts) -> u64 {
    c.failed + c.error
}

fn counts_text(c: &Counts) -> String {
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
fn result_words(column: &Column) -> String {
    match &column.result {
        Some(r) => r.clone(),
        None if failing(&column.counts) > 0 => "failing".into(),
        None => "passing".into(),
    }
}

/// A build as one cell: red when something failed, purple when something passed on a retry.
fn build_cell(h: &mut String, column: &Column) {
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

fn index(site: &Site, links: &Links) -> String {
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

fn builder_list(h: &mut String, builders: &[String], links: &Links) {
    for (i, b) in builders.iter().enumerate() {
        if i > 0 {
            h.push_str(", ");
        }
        links.builder(h, b);
    }
}

fn authors(h: &mut String, p: &ProblemView, fixing: bool) {
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

fn problem_table(h: &mut String, problems: &[&ProblemView], links: &Links, empty: &str) {
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

fn builder(site: &Site, grid: &BuilderGrid, links: &Links) -> String {
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

/// A link to `target` when it is an http(s) address, else the escaped text.
fn url(h: &mut String, target: &str) {
    if target.starts_with("https://") || target.starts_with("http://") {
        w!(h, "<a href=\"{}\">{}</a>", esc(target), esc(target));
    } else {
        w!(h, "{}", esc(target));
    }
}

fn problem(site: &Site, story: &Story, links: &Links) -> String {
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
            match t.message.as_deref() {
                Some(m) if previous == Some(m) => {
                    h.push_str("<span class=\"muted\">the same message</span>")
                }
                Some(m) => {
                    w!(h, "<pre>{}</pre>", esc(m));
                }
                None => {}
            }
            if t.message.is_some() {
                previous = t.message.as_deref();
            }
            h.push_str("</td></tr>\n");
        }
        h.push_str("</tbody></table>\n");
    }
    shell(site, &format!("Problem {}", p.id), &h)
}

fn test_history(site: &Site, test: &TestHistory, links: &Links) -> String {
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
            match c.message.as_deref() {
                Some(m) if previous == Some(m) => {
                    h.push_str("<span class=\"muted\">the same message</span>")
                }
                Some(m) => {
                    w!(h, "<pre>{}</pre>", esc(m));
                }
                None => {}
            }
            if c.message.is_some() {
                previous = c.message.as_deref();
            }
            h.push_str("</td></tr>\n");
        }
        h.push_str("</tbody></table>\n");
    }
    shell(site, &test.test, &h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_controls() {
        assert_eq!(
            esc("<script>alert('x' & \"y\")</script>\u{1b}[31m\nok").to_string(),
            "&lt;script&gt;alert(&#39;x&#39; &amp; &quot;y&quot;)&lt;/script&gt;\\u{1b}[31m\nok"
        );
    }

    #[test]
    fn page_names_are_safe_and_distinct() {
        assert_eq!(builder_page("linux-py311"), "builder-linux-py311.html");
        let odd = builder_page("Linux py311");
        assert!(odd.starts_with("builder-linux-py311-") && odd.ends_with(".html"));
        assert_ne!(builder_page("a/b"), builder_page("a b"));
        let hostile = builder_page("../<x>\"");
        assert!(hostile
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')));
        assert!(!hostile.contains(".."));
        assert_eq!(test_page("a.b"), test_page("a.b"));
        assert_eq!(test_page("a.b").len(), "test-.html".len() + 12);
    }
}
