//! The coverage pages: `coverage.html` (each builder's latest coverage), per builder a table of
//! its files sortable by link (one pre-rendered page per sort key), and per file its source at
//! the build's revision with every line marked covered, partial, uncovered, lost or new.
//!
//! No scripts, and no page over `paging::PAGE_MAX` bytes: a table or a source file that would
//! be larger is cut into parts with links between them, and a source line longer than
//! [`LINE_MAX`] characters is cut. Paths and source text come from reports and the repository:
//! every one of them goes through `esc`.

use std::fmt::Write;

use super::escape::esc;
use super::paging::{part_name, parts, Names};
use super::parts::rev;
use super::shell::shell;
use super::{short_hash, slug, BuilderCoverage, LineMark, Page, Site, SourceFile};
use crate::coverage::Class;

/// The most characters of one source line shown.
pub(crate) const LINE_MAX: usize = 2_000;

/// The order of a builder's file table, one page (or run of parts) each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SortKey {
    /// By path (the builder's main table).
    Path,
    /// Lowest percentage first.
    Coverage,
    /// Largest loss since the previous build first.
    Change,
    /// Most uncovered lines first.
    Missed,
}

impl SortKey {
    const ALL: [SortKey; 4] = [
        SortKey::Path,
        SortKey::Coverage,
        SortKey::Change,
        SortKey::Missed,
    ];

    fn word(self) -> &'static str {
        match self {
            SortKey::Path => "path",
            SortKey::Coverage => "coverage",
            SortKey::Change => "change",
            SortKey::Missed => "missed",
        }
    }
}

/// The coverage overview: `coverage.html`.
pub(crate) const OVERVIEW: &str = "coverage.html";

/// The first page of a builder's file table in `key` order: `coverage-<builder>.html` by path
/// (the builder's entry), the others and the later parts under `cov-<hash of the builder>-`, so
/// that no builder's name can make a name another builder's page has.
pub(crate) fn table_page(builder: &str, key: SortKey) -> String {
    match key {
        SortKey::Path => format!("coverage-{}.html", slug(builder)),
        _ => part_name(&table_base(builder, key), 1),
    }
}

fn table_base(builder: &str, key: SortKey) -> String {
    format!(
        "cov-{}-by-{}",
        short_hash(builder.as_bytes(), 8),
        key.word()
    )
}

/// The first page of a file's lines in a builder's coverage.
pub(crate) fn file_page(builder: &str, path: &str) -> String {
    part_name(&file_base(builder, path), 1)
}

fn file_base(builder: &str, path: &str) -> String {
    format!(
        "cov-{}-f{}",
        short_hash(builder.as_bytes(), 8),
        short_hash(path.as_bytes(), 12)
    )
}

fn percent(covered: u64, lines: u64) -> Option<f64> {
    (lines > 0).then(|| 100.0 * covered as f64 / lines as f64)
}

fn percent_text(covered: u64, lines: u64) -> String {
    percent(covered, lines).map_or_else(|| "–".to_owned(), |p| format!("{p:.1}%"))
}

/// A change in percentage points: `None` is a file new since the baseline, or (`baseline`
/// false) no baseline at all.
fn change_cell(h: &mut String, change: Option<f64>, baseline: bool) {
    match change {
        Some(c) if c < -0.05 => {
            w!(h, "<td class=\"num down\">{c:+.1}</td>");
        }
        Some(c) if c > 0.05 => {
            w!(h, "<td class=\"num up\">{c:+.1}</td>");
        }
        Some(_) => h.push_str("<td class=\"num muted\">±0</td>"),
        None if baseline => h.push_str("<td class=\"num muted\">new</td>"),
        None => h.push_str("<td class=\"num muted\">–</td>"),
    }
}

/// Every coverage page of the site.
pub(crate) fn pages(site: &Site) -> Vec<Page> {
    if site.coverage.is_empty() {
        return Vec::new();
    }
    let mut pages = vec![Page {
        name: OVERVIEW.to_owned(),
        html: overview(site),
    }];
    for build in &site.coverage {
        for key in SortKey::ALL {
            pages.extend(table(site, build, key));
        }
        for file in &build.files {
            pages.extend(file_pages(site, build, file));
        }
    }
    pages
}

fn totals(build: &BuilderCoverage) -> (u64, u64, u64, u64) {
    build
        .files
        .iter()
        .fold((0, 0, 0, 0), |(c, l, lost, new), f| {
            (
                c + f.covered,
                l + f.lines,
                lost + f.lost,
                new + f.new_uncovered,
            )
        })
}

fn overview(site: &Site) -> String {
    let mut h = String::from(
        "<h1>Coverage</h1>\n<p class=\"sub\">Each builder's latest build with coverage, against \
         its previous one. <b>Lost</b>: lines that ran before and no longer do, the source \
         unchanged; <b>new uncovered</b>: lines the change added or changed that did not run.</p>\n\
         <table class=\"list\"><thead><tr><th>Builder</th><th class=\"num\">Build</th>\
         <th>Revision</th><th class=\"num\">Files</th><th class=\"num\">Lines</th>\
         <th class=\"num\">Covered</th><th class=\"num\">Change</th><th class=\"num\">Lost</th>\
         <th class=\"num\">New uncovered</th></tr></thead><tbody>\n",
    );
    for build in &site.coverage {
        let (covered, lines, lost, new) = totals(build);
        w!(
            h,
            "<tr><td><a class=\"nb\" href=\"{}\">{}</a></td><td class=\"num\">#{}</td><td>",
            table_page(&build.builder, SortKey::Path),
            esc(&build.builder),
            build.build
        );
        rev(&mut h, build.revision.as_deref());
        w!(
            h,
            "</td><td class=\"num\">{}</td><td class=\"num\">{lines}</td><td class=\"num\">{}</td>",
            build.files.len(),
            percent_text(covered, lines)
        );
        change_cell(&mut h, build.change, build.baseline.is_some());
        w!(
            h,
            "<td class=\"num\">{lost}</td><td class=\"num\">{new}</td></tr>\n"
        );
    }
    h.push_str("</tbody></table>\n");
    shell(site, "Coverage", &h)
}

/// Lowest first for `Coverage`, worst first for `Change` and `Missed`, then by path.
fn sorted(build: &BuilderCoverage, key: SortKey) -> Vec<&SourceFile> {
    let mut files: Vec<&SourceFile> = build.files.iter().collect();
    let by_path = |a: &&SourceFile, b: &&SourceFile| a.path.cmp(&b.path);
    match key {
        SortKey::Path => files.sort_by(by_path),
        SortKey::Coverage => files.sort_by(|a, b| {
            let p = |f: &SourceFile| percent(f.covered, f.lines).unwrap_or(100.0);
            p(a).total_cmp(&p(b)).then_with(|| by_path(a, b))
        }),
        SortKey::Change => files.sort_by(|a, b| {
            let c = |f: &SourceFile| f.change.unwrap_or(f64::INFINITY);
            (c(a).total_cmp(&c(b)))
                .then_with(|| (b.lost + b.new_uncovered).cmp(&(a.lost + a.new_uncovered)))
                .then_with(|| by_path(a, b))
        }),
        SortKey::Missed => files.sort_by(|a, b| {
            (b.lines - b.covered.min(b.lines))
                .cmp(&(a.lines - a.covered.min(a.lines)))
                .then_with(|| by_path(a, b))
        }),
    }
    files
}

/// A builder's file table in `key` order, in parts when it is large.
fn table(site: &Site, build: &BuilderCoverage, key: SortKey) -> Vec<Page> {
    let rows: Vec<String> = sorted(build, key)
        .into_iter()
        .map(|f| {
            let mut r = String::new();
            w!(
                r,
                "<tr><td class=\"test\"><a href=\"{}\">{}</a></td><td class=\"num\">{}</td>\
                 <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">",
                file_page(&build.builder, &f.path),
                esc(&f.path),
                f.lines,
                f.lines - f.covered.min(f.lines),
                percent_text(f.covered, f.lines)
            );
            if f.branches > 0 {
                w!(r, "{}/{}", f.branches_covered, f.branches);
            }
            r.push_str("</td>");
            change_cell(&mut r, f.change, build.baseline.is_some());
            w!(
                r,
                "<td class=\"num\">{}</td><td class=\"num\">{}</td></tr>\n",
                f.lost,
                f.new_uncovered
            );
            r
        })
        .collect();
    let names = Names {
        first: table_page(&build.builder, key),
        base: table_base(&build.builder, key),
    };
    let (covered, lines, lost, new) = totals(build);
    let mut head = String::new();
    w!(
        head,
        "<h1>Coverage <span class=\"nb\">{}</span></h1>\n<p class=\"sub\">Build #{}",
        esc(&build.builder),
        build.build
    );
    if build.revision.is_some() {
        head.push_str(" at ");
        rev(&mut head, build.revision.as_deref());
    }
    w!(
        head,
        ": {} of {lines} lines covered ({}), {lost} lost, {new} new uncovered",
        covered,
        percent_text(covered, lines)
    );
    match build.baseline {
        Some(b) => {
            w!(head, "; changes against build #{b}.");
        }
        None => head.push_str("; no previous build to compare with."),
    }
    w!(head, " <a href=\"{OVERVIEW}\">All builders</a>.</p>\n");
    notes(&mut head, build);
    head.push_str("<table class=\"list cov\"><thead><tr>");
    for (column, sort, num) in [
        ("File", Some(SortKey::Path), false),
        ("Lines", None, true),
        ("Missed", Some(SortKey::Missed), true),
        ("Covered", Some(SortKey::Coverage), true),
        ("Branches", None, true),
        ("Change", Some(SortKey::Change), true),
        ("Lost", None, true),
        ("New uncovered", None, true),
    ] {
        let class = if num { " class=\"num\"" } else { "" };
        match sort {
            Some(s) if s == key => {
                w!(head, "<th{class} aria-sort=\"ascending\">{column} ▾</th>");
            }
            Some(s) => {
                w!(
                    head,
                    "<th{class}><a href=\"{}\">{column}</a></th>",
                    table_page(&build.builder, s)
                );
            }
            None => {
                w!(head, "<th{class}>{column}</th>");
            }
        }
    }
    head.push_str("</tr></thead><tbody>\n");
    let tail = "</tbody></table>\n";
    parts(
        site,
        &format!("Coverage {}", build.builder),
        &names,
        &head,
        &rows,
        tail,
    )
}

fn notes(h: &mut String, build: &BuilderCoverage) {
    for note in &build.notes {
        w!(h, "<p class=\"muted small\">{}</p>\n", esc(note));
    }
}

/// The class of a line's row, and its words.
fn mark(line: &LineMark) -> (&'static str, &'static str) {
    match line.class {
        Some(Class::LostBaseline) => ("lost", "lost: ran before, not now"),
        Some(Class::UncoveredNew) => ("new", "new code, not run"),
        _ if !line.covered => ("unc", "not run"),
        _ if line.branches.is_some_and(|(taken, total)| taken < total) => {
            ("part", "partly run: not every branch taken")
        }
        _ => ("cov", "run"),
    }
}

/// One source line, cut at [`LINE_MAX`] characters.
fn source_text(h: &mut String, text: &str) {
    match text.char_indices().nth(LINE_MAX) {
        Some((cut, _)) => {
            w!(
                h,
                "{}<span class=\"muted\">… ({} more bytes)</span>",
                esc(&text[..cut]),
                text.len() - cut
            );
        }
        None => {
            w!(h, "{}", esc(text));
        }
    }
}

fn line_row(h: &mut String, number: u32, line: Option<&LineMark>, text: Option<&str>) {
    match line {
        Some(l) => {
            let (class, words) = mark(l);
            w!(
                h,
                "<tr class=\"{class}\" id=\"L{number}\" title=\"{words}\"><td class=\"ln\">{number}</td><td>{}</td><td>",
                match l.hits {
                    Some(_) => crate::coverage::view::hits_text(l.hits),
                    None if l.covered => "yes".to_owned(),
                    None => "0".to_owned(),
                }
            );
            if let Some((taken, total)) = l.branches {
                w!(h, "{taken}/{total}");
            }
            w!(h, "</td><td>{}</td>", l.class.map_or("", Class::code));
        }
        None => {
            w!(
                h,
                "<tr id=\"L{number}\"><td class=\"ln\">{number}</td><td></td><td></td><td></td>"
            );
        }
    }
    h.push_str("<td class=\"src\">");
    if let Some(text) = text {
        source_text(h, text);
    }
    h.push_str("</td></tr>\n");
}

/// A file's page: its source (or, without it, its executable lines), every line marked.
fn file_pages(site: &Site, build: &BuilderCoverage, file: &SourceFile) -> Vec<Page> {
    let mut rows = Vec::new();
    let mut marks = file.marks.iter().peekable();
    match &file.source {
        Some(source) => {
            for (i, text) in source.lines().enumerate() {
                let number = u32::try_from(i + 1).unwrap_or(u32::MAX);
                while marks.next_if(|m| m.line < number).is_some() {}
                let mut r = String::new();
                line_row(
                    &mut r,
                    number,
                    marks.next_if(|m| m.line == number),
                    Some(text),
                );
                rows.push(r);
            }
            // Lines the report has beyond the source's end.
            for m in marks {
                let mut r = String::new();
                line_row(&mut r, m.line, Some(m), None);
                rows.push(r);
            }
        }
        None => {
            for m in &file.marks {
                let mut r = String::new();
                line_row(&mut r, m.line, Some(m), None);
                rows.push(r);
            }
        }
    }
    let mut head = String::new();
    w!(
        head,
        "<h1 class=\"test\">{}</h1>\n<p class=\"sub\"><a class=\"nb\" href=\"{}\">{}</a> build #{}",
        esc(&file.path),
        table_page(&build.builder, SortKey::Path),
        esc(&build.builder),
        build.build
    );
    if build.revision.is_some() {
        head.push_str(" at ");
        rev(&mut head, build.revision.as_deref());
    }
    w!(
        head,
        ": {} of {} lines covered ({}), {} lost, {} new uncovered",
        file.covered,
        file.lines,
        percent_text(file.covered, file.lines),
        file.lost,
        file.new_uncovered
    );
    head.push_str(".</p>\n");
    if file.source.is_none() {
        w!(
            head,
            "<p class=\"empty\">{}</p>\n",
            esc(&build.missing_source)
        );
    }
    notes(&mut head, build);
    head.push_str("<p class=\"legend\">");
    for class in ["cov", "part", "unc", "lost", "new"] {
        let words = match class {
            "cov" => "covered",
            "part" => "partial",
            "unc" => "uncovered",
            "lost" => "lost (covered in the previous build)",
            _ => "new code, uncovered",
        };
        w!(
            head,
            "<span><span class=\"sw {class}\"></span>{words}</span>"
        );
    }
    head.push_str(
        "</p>\n<table class=\"srcview\"><thead><tr><th>Line</th><th title=\"times it ran, to the power of two below: 4-7 ran 4 to 7 times\">Hits</th><th>Branches</th>\
         <th>Class</th><th>Source</th></tr></thead><tbody>\n",
    );
    let names = Names {
        first: file_page(&build.builder, &file.path),
        base: file_base(&build.builder, &file.path),
    };
    let title = format!("{} · coverage {}", file.path, build.builder);
    parts(site, &title, &names, &head, &rows, "</tbody></table>\n")
}

#[cfg(test)]
mod tests {
    use super::super::paging::PAGE_MAX;
    use super::*;

    fn site(files: Vec<SourceFile>) -> Site {
        Site {
            branch: None,
            open: Vec::new(),
            fixed: Vec::new(),
            flaky: Vec::new(),
            builders: Vec::new(),
            stories: Vec::new(),
            tests: Vec::new(),
            metrics: Vec::new(),
            coverage: vec![BuilderCoverage {
                builder: "linux".into(),
                build: 7,
                revision: Some("0123456789abcdef".into()),
                baseline: Some(6),
                change: Some(-0.5),
                notes: vec!["<b>note</b>".into()],
                missing_source: "no <source>".into(),
                files,
            }],
        }
    }

    fn file(path: &str, source: Option<String>, lines: u32) -> SourceFile {
        let marks: Vec<LineMark> = (1..=lines)
            .map(|line| LineMark {
                line,
                covered: line % 3 != 0,
                hits: Some(u64::from(line % 3 != 0)),
                branches: (line % 5 == 0).then_some((1, 2)),
                class: match line % 7 {
                    0 => Some(Class::LostBaseline),
                    1 => Some(Class::UncoveredNew),
                    _ => Some(Class::CoveredBaseline),
                },
            })
            .collect();
        SourceFile {
            path: path.into(),
            lines: u64::from(lines),
            covered: marks.iter().filter(|m| m.covered).count() as u64,
            branches: 2,
            branches_covered: 1,
            change: Some(-1.0),
            lost: 3,
            new_uncovered: 2,
            marks,
            source,
        }
    }

    #[test]
    fn a_large_file_is_cut_into_parts_under_the_cap_each_linking_on() {
        // 60,000 lines of 60 characters, with one line of a megabyte: far over 2 MB in all.
        let mut source: String = (0..60_000)
            .map(|i| format!("let value_{i:05} = compute(\"{}\");\n", "x".repeat(20)))
            .collect();
        source.push_str(&"<".repeat(1 << 20));
        source.push('\n');
        let pages = pages(&site(vec![file("src/big.rs", Some(source), 60_001)]));
        let parts: Vec<&Page> = (pages.iter())
            .filter(|p| p.name.starts_with(&file_base("linux", "src/big.rs")))
            .collect();
        assert!(parts.len() >= 3, "{} parts", parts.len());
        for page in &pages {
            assert!(
                page.html.len() <= PAGE_MAX,
                "{}: {} bytes",
                page.name,
                page.html.len()
            );
        }
        // Every line is on exactly one part, in order; the long one is cut.
        let rows: usize = parts.iter().map(|p| p.html.matches("<tr ").count()).sum();
        assert_eq!(rows, 60_001);
        assert_eq!(parts[0].name, file_page("linux", "src/big.rs"));
        assert!(parts[1]
            .html
            .contains(&format!("href=\"{}\"", parts[0].name)));
        assert!(parts[1]
            .html
            .contains(&format!("href=\"{}\"", parts[2].name)));
        let last = parts.last().unwrap();
        assert!(last
            .html
            .contains(&format!("({} more bytes)", (1 << 20) - LINE_MAX)));
    }

    #[test]
    fn a_table_of_many_files_is_cut_into_parts_under_the_cap() {
        let long = "d/".repeat(300);
        let files = (0..8_000)
            .map(|i| file(&format!("{long}{i:05}.c"), None, 3))
            .collect();
        let pages = pages(&site(files));
        let tables: Vec<&Page> = (pages.iter())
            .filter(|p| {
                p.name == table_page("linux", SortKey::Path)
                    || p.name
                        .starts_with(&format!("{}-p", table_base("linux", SortKey::Path)))
            })
            .collect();
        assert!(tables.len() > 1, "{} parts", tables.len());
        for page in &pages {
            assert!(
                page.html.len() <= PAGE_MAX,
                "{}: {} bytes",
                page.name,
                page.html.len()
            );
        }
        let rows: usize = tables
            .iter()
            .map(|p| p.html.matches("<tr><td class=\"test\">").count())
            .sum();
        assert_eq!(rows, 8_000);
    }

    #[test]
    fn paths_and_source_are_escaped() {
        let hostile = "<script>alert(1)</script>\"'&.c";
        let source =
            "int x = 1; // </td></tr><script>alert(2)</script>\n\u{1b}[31m & \"q\"\n".to_owned();
        let pages = pages(&site(vec![file(hostile, Some(source), 2)]));
        for page in &pages {
            assert!(!page.html.contains("<script"), "{}", page.name);
            assert!(!page.html.contains('\u{1b}'), "{}", page.name);
            assert!(page
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')));
        }
        let page = &pages
            .iter()
            .find(|p| p.name == file_page("linux", hostile))
            .unwrap()
            .html;
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;.c"));
        assert!(page.contains("// &lt;/td&gt;&lt;/tr&gt;&lt;script&gt;alert(2)"));
        assert!(page.contains("\\u{1b}[31m &amp; &quot;q&quot;"));
    }

    #[test]
    fn lines_are_marked_by_state_and_class() {
        let line = |covered, branches, class| LineMark {
            line: 1,
            covered,
            hits: Some(u64::from(covered)),
            branches,
            class,
        };
        assert_eq!(
            mark(&line(true, None, Some(Class::CoveredBaseline))).0,
            "cov"
        );
        assert_eq!(mark(&line(true, Some((1, 2)), None)).0, "part");
        assert_eq!(mark(&line(true, Some((2, 2)), None)).0, "cov");
        assert_eq!(
            mark(&line(false, None, Some(Class::UncoveredBaseline))).0,
            "unc"
        );
        assert_eq!(
            mark(&line(false, None, Some(Class::LostBaseline))).0,
            "lost"
        );
        assert_eq!(mark(&line(false, None, Some(Class::UncoveredNew))).0, "new");
    }

    #[test]
    fn every_sort_key_has_its_page_and_the_headers_link_to_the_others() {
        let pages = pages(&site(vec![
            file("b.c", None, 10),
            file("a.c", Some("one\ntwo\n".into()), 2),
        ]));
        for key in SortKey::ALL {
            let page = pages
                .iter()
                .find(|p| p.name == table_page("linux", key))
                .unwrap();
            for other in SortKey::ALL.into_iter().filter(|k| *k != key) {
                assert!(page
                    .html
                    .contains(&format!("href=\"{}\"", table_page("linux", other))));
            }
        }
        let by_path = &pages
            .iter()
            .find(|p| p.name == table_page("linux", SortKey::Path))
            .unwrap()
            .html;
        assert!(by_path.find(">a.c<").unwrap() < by_path.find(">b.c<").unwrap());
        assert!(!by_path.contains("<script"));
    }
}
