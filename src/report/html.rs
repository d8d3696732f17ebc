//! `report --html`: a static site for people, one self-contained page per view. No network, no
//! scripts, no external fonts or images: each page carries its own CSS and works offline.
//!
//! `site` loads the data into a [`Site`]; [`render`] turns it into pages, one module per page
//! (`index`, `builder`, `problem`, `test_history`) over the shared parts (`shell`: the CSS, the
//! header and the links between pages; `parts`: cells, times, revisions, the Problem table).
//! A page that would be over 2 MB is cut into parts (`paging`).
//! Everything that comes from the data (test names, messages, commit messages, authors, builder
//! names) goes through `esc`: reports are untrusted.

use std::collections::HashMap;

use probtrack_parsers::Status;

use crate::clock::Micros;
use crate::store::Counts;
use crate::views::problems::ProblemView;

/// Writing to a `String` cannot fail.
macro_rules! w {
    ($($arg:tt)*) => {
        let _ = write!($($arg)*);
    };
}

mod builder;
pub(crate) mod coverage;
mod escape;
mod index;
mod metrics;
mod paging;
mod parts;
mod problem;
mod shell;
mod test_history;

use shell::Links;

/// Everything the site shows.
pub(crate) struct Site {
    /// The branch shown; `None`: builds without a branch.
    pub branch: Option<String>,
    /// Open Problems, most recent last failure first (intermittent ones included).
    pub open: Vec<ProblemView>,
    /// Recently fixed Problems that were real breakage (not intermittent), most recent first.
    pub fixed: Vec<ProblemView>,
    /// The most flaky tests, most flaky first.
    pub flaky: Vec<FlakyItem>,
    pub builders: Vec<BuilderGrid>,
    pub stories: Vec<Story>,
    pub tests: Vec<TestHistory>,
    /// Every metric series with values on the branch, by identity (`metrics.html`).
    pub metrics: Vec<crate::views::metrics::MetricHistory>,
    /// Each builder's latest build with coverage (`coverage.html` and its pages).
    pub coverage: Vec<BuilderCoverage>,
}

/// A builder's latest build with coverage, against its previous one.
pub(crate) struct BuilderCoverage {
    pub builder: String,
    pub build: i64,
    pub revision: Option<String>,
    /// The build compared with (the builder's previous build with coverage).
    pub baseline: Option<i64>,
    /// Covered-percentage points since the baseline (`None`: no baseline).
    pub change: Option<f64>,
    /// What the pages should say about how they were made (no diff, no source).
    pub notes: Vec<String>,
    /// What a file's page says when it has no source.
    pub missing_source: String,
    pub files: Vec<SourceFile>,
}

/// One file of a build's coverage.
pub(crate) struct SourceFile {
    pub path: String,
    /// Executable lines, and those that ran.
    pub lines: u64,
    pub covered: u64,
    pub branches: u64,
    pub branches_covered: u64,
    /// Covered-percentage points since the baseline (`None`: the file is new).
    pub change: Option<f64>,
    /// Lines that ran in the baseline and not now, the source unchanged (LBC).
    pub lost: u64,
    /// Lines the change added or changed that did not run (UNC).
    pub new_uncovered: u64,
    /// Its executable lines, in order.
    pub marks: Vec<LineMark>,
    /// Its source at the build's revision, when the repository was given and has it.
    pub source: Option<String>,
}

/// One executable line.
pub(crate) struct LineMark {
    pub line: u32,
    /// Whether it ran, and how often to the power of two below (`None`: not known, written
    /// before schema 6).
    pub covered: bool,
    pub hits: Option<u64>,
    /// Branches `(taken, total)`, where the report has them.
    pub branches: Option<(u32, u32)>,
    /// Its class against the baseline (`None`: no baseline).
    pub class: Option<crate::coverage::Class>,
}

/// One row of the flaky list.
#[derive(Clone)]
pub(crate) struct FlakyItem {
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
pub(crate) struct Column {
    pub number: i64,
    pub revision: Option<String>,
    pub time: Micros,
    pub result: Option<String>,
    pub counts: Counts,
}

/// One test's outcome in one build.
#[derive(Clone, Default)]
pub(crate) struct Cell {
    /// `None`: the test was not in the build.
    pub status: Option<Status>,
    /// Flaky evidence: a failure of a flaky test that no Problem explains.
    pub flake: bool,
    pub attempts: u32,
    pub message: Option<String>,
}

pub(crate) struct GridRow {
    pub test: String,
    /// One per column, in the columns' order.
    pub cells: Vec<Cell>,
}

/// A builder's recent builds and the tests that failed or were flaky in them.
pub(crate) struct BuilderGrid {
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
pub(crate) struct Story {
    pub problem: ProblemView,
    pub changes: Vec<ChangeItem>,
    /// `(builder, its builds from just before the Problem to its fix)`.
    pub timeline: Vec<(String, Vec<TimelineItem>)>,
    pub people: Vec<PersonItem>,
}

pub(crate) struct ChangeItem {
    /// `start` or `fix`.
    pub role: &'static str,
    pub revision: String,
    pub author: Option<String>,
    pub time: Option<Micros>,
    pub comments: Option<String>,
}

pub(crate) struct TimelineItem {
    pub number: i64,
    pub revision: Option<String>,
    pub time: Micros,
    pub status: Option<Status>,
    pub message: Option<String>,
}

pub(crate) struct PersonItem {
    pub name: String,
    pub chat: Option<String>,
    /// `started`, `fixed` or both.
    pub roles: Vec<&'static str>,
}

/// A test's recent history on every builder.
pub(crate) struct TestHistory {
    pub test: String,
    pub kind: &'static str,
    /// Its flakiness, when it is in the flaky list.
    pub flaky: Option<FlakyItem>,
    /// Its Problems on the branch, newest first.
    pub problems: Vec<ProblemView>,
    pub lanes: Vec<TestLane>,
}

pub(crate) struct TestLane {
    pub builder: String,
    /// Newest first.
    pub results: Vec<(Column, Cell)>,
}

/// A file of the site.
pub(crate) struct Page {
    pub name: String,
    pub html: String,
}

/// The page of a builder: `builder-<slug>.html`. The slug keeps letters, digits, `.`, `_` and `-`;
/// a name that needed changing gets a hash so that two builders never share a page.
pub(crate) fn builder_page(builder: &str) -> String {
    format!("builder-{}.html", slug(builder))
}

/// A name as part of a page's name: its letters, digits, `.`, `_` and `-`; a name that needed
/// changing gets a hash so that two names never share a slug.
fn slug(name: &str) -> String {
    let builder = name;
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
        slug.to_owned()
    } else {
        format!("{slug}-{}", short_hash(builder.as_bytes(), 6))
    }
}

/// The page of a test: `test-<hash>.html`, a short hash of its identity (stable across runs).
pub(crate) fn test_page(test: &str) -> String {
    format!("test-{}.html", short_hash(test.as_bytes(), 12))
}

pub(crate) fn problem_page(id: i64) -> String {
    format!("problem-{id}.html")
}

fn short_hash(bytes: &[u8], len: usize) -> String {
    let hex = blake3::hash(bytes).to_hex();
    hex[..len].to_owned()
}

/// Renders every page of the site.
pub(crate) fn render(site: &Site) -> Vec<Page> {
    let mut links = Links {
        tests: site.tests.iter().map(|t| t.test.clone()).collect(),
        problems: site.stories.iter().map(|s| s.problem.id).collect(),
        builders: site.builders.iter().map(|b| b.builder.clone()).collect(),
        metric_pages: HashMap::new(),
    };
    let (metric_pages, on) = if site.metrics.is_empty() {
        (Vec::new(), HashMap::new())
    } else {
        metrics::pages(site, &links)
    };
    links.metric_pages = on;
    let mut pages = vec![Page {
        name: "index.html".into(),
        html: index::page(site, &links),
    }];
    pages.extend(metric_pages);
    for grid in &site.builders {
        pages.push(Page {
            name: builder_page(&grid.builder),
            html: builder::page(site, grid, &links),
        });
    }
    for story in &site.stories {
        pages.push(Page {
            name: problem_page(story.problem.id),
            html: problem::page(site, story, &links),
        });
    }
    for test in &site.tests {
        pages.push(Page {
            name: test_page(&test.test),
            html: test_history::page(site, test, &links),
        });
    }
    pages.extend(coverage::pages(site));
    pages
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn many_metric_series_are_cut_into_parts_that_the_overview_links_to() {
        use crate::views::metrics::{MetricBuilder, MetricHistory, MetricPointView};
        // A series per file of a 3,000-file project, 100 builds each.
        let metrics: Vec<MetricHistory> = (0..3_000)
            .map(|f| MetricHistory {
                series: format!("coverage.lines{{file=src/<marquee>{f:05}.c}}"),
                unit: Some("%".into()),
                direction: "higher_is_better",
                builders: vec![MetricBuilder {
                    builder: "linux".into(),
                    values: (0..100)
                        .map(|b| MetricPointView {
                            build: b,
                            revision: None,
                            time: String::new(),
                            value: f64::from((f + b as i32) % 7),
                            rounds: 1,
                            stddev: None,
                            min: None,
                            max: None,
                        })
                        .collect(),
                    change_points: Vec::new(),
                }],
            })
            .collect();
        let site = Site {
            branch: None,
            open: Vec::new(),
            fixed: Vec::new(),
            flaky: Vec::new(),
            builders: Vec::new(),
            stories: Vec::new(),
            tests: Vec::new(),
            metrics,
            coverage: Vec::new(),
        };
        let pages = render(&site);
        let names: Vec<&str> = pages.iter().map(|p| p.name.as_str()).collect();
        assert!(names.contains(&"metrics.html") && names.contains(&"metrics-p2.html"));
        for page in &pages {
            assert!(
                page.html.len() <= paging::PAGE_MAX,
                "{}: {}",
                page.name,
                page.html.len()
            );
            assert!(!page.html.contains("<marquee"), "{}", page.name);
        }
        // The overview lists the first series, each linked to the part its chart is on.
        let index = &pages[0].html;
        assert!(index.contains("And 2950 more series"));
        let last_shown = &site.metrics[49];
        let part = pages
            .iter()
            .find(|p| {
                p.html
                    .contains(&format!("id=\"{}\"", metrics::anchor(&last_shown.series)))
            })
            .unwrap();
        assert!(index.contains(&format!(
            "href=\"{}#{}\"",
            part.name,
            metrics::anchor(&last_shown.series)
        )));
    }
}
