//! The report's site (`report --html DIR`): the data of every page loaded from the store into a
//! `report::html::Site`, rendered, and written to the directory.
//!
//! The flaky list is `flakiness::rank`'s, the Problem pages tell `story::changes`, and the
//! "Recently fixed" list leaves intermittent Problems out, as `problems` does by default.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use probtrack_parsers::Status;

use crate::analyze::{flaky, Lane, Step};
use crate::error::{Error, Result};
use crate::flakiness::{self, Ranking};
use crate::problems::{self, Branch};
use crate::report::html::{self, Cell, Column, GridRow, Site};
use crate::report::lossy;
use crate::settings::Settings;
use crate::store::{Counts, Id, ProblemFilter, ProblemRecord, ResultRecord, Store, TestRecord};
use crate::story;
use crate::triage;
use crate::views::problems::ProblemView;

mod coverage;

/// The most flaky tests on the overview.
const FLAKY_LIMIT: usize = 20;
/// Recently fixed Problems on the overview.
const FIXED_LIMIT: usize = 10;
/// The most builds of a metric series a chart shows, per builder.
const METRIC_BUILDS: usize = 1000;
/// Messages longer than this are cut on the pages.
const MESSAGE_MAX: usize = 5000;

/// Writes the site of `branch` into `dir` (created when missing), with `width` builds per
/// builder in the grids and test histories; returns how many pages the site has, and how many of
/// them it wrote (the others' files already held them: `write_pages`).
pub(crate) fn write(
    store: &mut dyn Store,
    settings: &Settings,
    branch: Option<String>,
    width: usize,
    git: Option<&Path>,
    dir: &Path,
) -> Result<(usize, usize)> {
    let site = load(store, settings, branch, width.max(1), git)?;
    let pages = html::render(&site);
    let written = write_pages(dir, &pages)?;
    Ok((pages.len(), written))
}

/// What the pages show, from the store.
pub(crate) fn load(
    store: &mut dyn Store,
    settings: &Settings,
    branch: Option<String>,
    width: usize,
    git: Option<&Path>,
) -> Result<Site> {
    let loaded = Branch::load(store, branch.as_deref())?;
    // Problems on the branch, intermittent ones included.
    let records = store.problems(&ProblemFilter {
        branch: Some(branch.clone()),
        ..ProblemFilter::default()
    })?;
    // Only the tests that failed or were retried (or have a Problem) get rows, pages and flaky
    // scores; of the others, each grid needs only how many ran in its builds.
    let problem_tests: HashSet<Id> = records.iter().map(|p| p.test).collect();
    let (all, others) = loaded.failing_lanes(store, &problem_tests, width)?;
    let options = flaky::Options::default();
    let stats: HashMap<Id, flaky::Stats> = all
        .iter()
        .map(|(test, lanes)| (*test, flaky::stats(lanes, &options)))
        .collect();
    // Flaky evidence per test: the builds whose outcome no Problem explains.
    let flakes: HashMap<Id, HashSet<Id>> = stats
        .iter()
        .filter(|(_, s)| s.score >= flaky::THRESHOLD)
        .map(|(test, _)| {
            let builds = all[test]
                .iter()
                .flat_map(|l| flaky::flake_builds(l, &options))
                .collect();
            (*test, builds)
        })
        .collect();
    let ranking = Ranking {
        limit: Some(FLAKY_LIMIT),
        ..Ranking::default()
    };
    let ranked = flakiness::rank(stats.iter().map(|(t, s)| (*t, s)), &ranking);

    let grids = grids(store, &loaded, &all, &others, &flakes, width)?;

    // Every test that gets a page, with its name and its results.
    let mut page_tests: Vec<Id> = ranked.iter().map(|(t, _)| *t).collect();
    page_tests.extend(records.iter().map(|p| p.test));
    for grid in &grids {
        page_tests.extend(grid.rows.iter().map(|(t, _)| *t));
    }
    let mut seen = HashSet::new();
    page_tests.retain(|t| seen.insert(*t));
    let mut results = HashMap::new();
    for &test in &page_tests {
        results.insert(test, loaded.test_results(store, test, false)?);
    }
    let pages = Pages {
        names: store.tests_by_id(&page_tests)?,
        results,
        all: &all,
        flakes: &flakes,
    };
    let flaky: Vec<(Id, html::FlakyItem)> = ranked
        .iter()
        .map(|&(test, s)| (test, pages.flaky_item(test, s)))
        .collect();

    let mut views: Vec<ProblemView> = records
        .iter()
        .map(|p| ProblemView::new(p, settings))
        .collect();
    let refs: Vec<&ProblemRecord> = records.iter().collect();
    triage::annotate_branch(store, &refs, &mut views)?;
    let mut stories = Vec::new();
    for (record, view) in records.iter().zip(&views) {
        stories.push(pages.story(store, settings, record, view)?);
    }
    let tests = page_tests
        .iter()
        .map(|&test| pages.history(test, width, &flaky, &records, &views))
        .collect();

    // Every metric series with values on the branch, up to its last METRIC_BUILDS values.
    let mut metrics = crate::metrics::histories(
        store,
        &settings.metrics,
        branch.as_deref(),
        Some(METRIC_BUILDS),
    )?;
    metrics.retain(|h| !h.builders.is_empty());

    Ok(Site {
        metrics,
        coverage: coverage::load(store, branch.as_deref(), git)?,
        branch,
        open: views
            .iter()
            .filter(|p| p.state == "open")
            .cloned()
            .collect(),
        fixed: recently_fixed(&views),
        flaky: flaky.into_iter().map(|(_, item)| item).collect(),
        builders: grids
            .into_iter()
            .map(|g| html::BuilderGrid {
                builder: g.builder,
                retired: g.retired,
                builds: g.builds,
                columns: g.columns,
                rows: g
                    .rows
                    .into_iter()
                    .map(|(test, cells)| GridRow {
                        test: pages.name(test),
                        cells,
                    })
                    .collect(),
                passing: g.passing,
            })
            .collect(),
        stories,
        tests,
    })
}

/// The fixed Problems that were real breakage, most recently fixed first: an intermittent one (a
/// flaky test's failures) is left out, as `problems` leaves it out by default.
fn recently_fixed(views: &[ProblemView]) -> Vec<ProblemView> {
    let mut fixed: Vec<ProblemView> = views
        .iter()
        .filter(|p| p.state == "fixed" && !p.intermittent)
        .cloned()
        .collect();
    fixed.sort_by(|a, b| {
        let at = |p: &ProblemView| p.fixed.as_ref().map(|f| f.time.clone());
        at(b).cmp(&at(a))
    });
    fixed.truncate(FIXED_LIMIT);
    fixed
}

/// What the test and Problem pages draw on: the tests' names, results, lanes and flaky builds.
struct Pages<'a> {
    names: HashMap<Id, TestRecord>,
    /// Per test with a page: its results by build.
    results: HashMap<Id, HashMap<Id, ResultRecord>>,
    all: &'a HashMap<Id, Vec<Lane>>,
    flakes: &'a HashMap<Id, HashSet<Id>>,
}

impl Pages<'_> {
    fn name(&self, test: Id) -> String {
        self.names
            .get(&test)
            .map(|t| lossy(&t.name))
            .unwrap_or_default()
    }

    fn result(&self, test: Id, build: Id) -> Option<&ResultRecord> {
        self.results.get(&test).and_then(|r| r.get(&build))
    }

    fn message(&self, test: Id, build: Id) -> Option<String> {
        self.result(test, build)
            .and_then(|r| r.message.as_deref())
            .map(|m| cut(&lossy(m)))
    }

    fn lanes(&self, test: Id) -> &[Lane] {
        self.all.get(&test).map(Vec::as_slice).unwrap_or_default()
    }

    fn flaky_item(&self, test: Id, s: &flaky::Stats) -> html::FlakyItem {
        html::FlakyItem {
            test: self.name(test),
            score: s.score,
            runs: s.runs,
            failures: s.failures,
            flips: s.flips,
            retry_flakes: s.retry_flakes,
            builders: s.builders.clone(),
            last_flake: s
                .last_flake
                .as_ref()
                .map(|at| (at.builder.clone(), at.number, at.time)),
        }
    }

    /// A Problem's page: its changes and people, and each builder's timeline.
    fn story(
        &self,
        store: &mut dyn Store,
        settings: &Settings,
        record: &ProblemRecord,
        view: &ProblemView,
    ) -> Result<html::Story> {
        let mut changes = Vec::new();
        let mut persons: Vec<html::PersonItem> = Vec::new();
        for change in story::changes(store, settings, record)? {
            if let Some(p) = &change.person {
                let word = if change.role == "start" {
                    "started"
                } else {
                    "fixed"
                };
                match persons.iter_mut().find(|x| x.name == p.name) {
                    Some(x) if !x.roles.contains(&word) => x.roles.push(word),
                    Some(_) => {}
                    None => persons.push(html::PersonItem {
                        name: p.name.clone(),
                        chat: p.entry.and_then(|e| e.chat.clone()),
                        roles: vec![word],
                    }),
                }
            }
            changes.push(html::ChangeItem {
                role: change.role,
                revision: change.revision,
                author: change.author,
                time: change.time,
                comments: change.comments,
            });
        }
        let mut timeline = Vec::new();
        for part in &record.builders {
            let Some(steps) = problems::story_steps(self.lanes(record.test), part) else {
                continue;
            };
            let items = steps
                .iter()
                .map(|s| html::TimelineItem {
                    number: s.number,
                    revision: s.revision.as_deref().map(str::to_owned),
                    time: s.time,
                    status: s.status,
                    message: s
                        .status
                        .is_some_and(Status::is_failing)
                        .then(|| self.message(record.test, s.build))
                        .flatten(),
                })
                .collect();
            timeline.push((part.builder.clone(), items));
        }
        Ok(html::Story {
            problem: view.clone(),
            changes,
            timeline,
            people: persons,
        })
    }

    /// A test's page: its recent results on every builder, its flakiness and its Problems.
    fn history(
        &self,
        test: Id,
        width: usize,
        flaky: &[(Id, html::FlakyItem)],
        records: &[ProblemRecord],
        views: &[ProblemView],
    ) -> html::TestHistory {
        let lanes = self
            .lanes(test)
            .iter()
            .map(|lane| html::TestLane {
                builder: lane.builder.clone(),
                results: lane
                    .steps
                    .iter()
                    .rev()
                    .take(width)
                    .map(|s| {
                        let column = Column {
                            number: s.number,
                            revision: s.revision.as_deref().map(str::to_owned),
                            time: s.time,
                            result: None,
                            counts: Counts::default(),
                        };
                        let cell = Cell {
                            status: s.status,
                            flake: self.flakes.get(&test).is_some_and(|f| f.contains(&s.build)),
                            attempts: self.result(test, s.build).map_or(1, |d| d.attempts),
                            message: self.message(test, s.build),
                        };
                        (column, cell)
                    })
                    .collect(),
            })
            .collect();
        html::TestHistory {
            test: self.name(test),
            kind: self.names.get(&test).map_or("test", |t| t.kind.as_str()),
            flaky: flaky
                .iter()
                .find(|(t, _)| *t == test)
                .map(|(_, item)| item.clone()),
            problems: records
                .iter()
                .zip(views)
                .filter(|(r, _)| r.test == test)
                .map(|(_, v)| v.clone())
                .collect(),
            lanes,
        }
    }
}

/// A builder's grid before its tests have names.
struct Grid {
    builder: String,
    retired: bool,
    builds: usize,
    columns: Vec<Column>,
    rows: Vec<(Id, Vec<Cell>)>,
    passing: usize,
}

/// Each builder's grid on the branch: its last `width` builds and the tests that failed or were
/// flaky in them. `all` holds the histories of the tests that ever failed or were retried, `others`
/// per lane how many of the other tests ran in its last `width` builds (all passing there).
fn grids(
    store: &mut dyn Store,
    loaded: &Branch,
    all: &HashMap<Id, Vec<Lane>>,
    others: &HashMap<Id, usize>,
    flakes: &HashMap<Id, HashSet<Id>>,
    width: usize,
) -> Result<Vec<Grid>> {
    let retired: HashSet<String> = store.retired_builders()?.into_iter().collect();
    let mut grids = Vec::new();
    for lane in store.lanes()? {
        if lane.branch != loaded.branch {
            continue;
        }
        let builds = store.lane_builds(lane.id)?;
        let mut columns = Vec::new();
        let mut ids = Vec::new();
        let mut details: HashMap<(Id, Id), ResultRecord> = HashMap::new();
        for b in builds.iter().rev().take(width) {
            let record = store.find_build(&lane.builder, b.number)?;
            columns.push(Column {
                number: b.number,
                revision: b.revision.clone(),
                time: b.time,
                result: record.as_ref().and_then(|r| r.result.clone()),
                counts: record.map(|r| r.counts).unwrap_or_default(),
            });
            ids.push(b.id);
            for (_, r) in store.results(Some(b.id), None, false)? {
                // A result under a renamed test's old name is its new name's (unless the build
                // has one under the new name too).
                let test = loaded.canonical(r.test);
                if r.test == test || !details.contains_key(&(b.id, test)) {
                    details.insert((b.id, test), r);
                }
            }
        }
        let mut rows: Vec<(Id, Vec<Cell>)> = Vec::new();
        let mut passing = others.get(&lane.id).copied().unwrap_or(0);
        for (test, lanes) in all {
            let Some(l) = lanes.iter().find(|l| l.lane == lane.id) else {
                continue;
            };
            let cells = cells(l, &ids, flakes.get(test), |build| {
                details.get(&(build, *test))
            });
            if cells.iter().all(|c| c.status.is_none()) {
                continue;
            }
            if cells.iter().any(notable) {
                rows.push((*test, cells));
            } else {
                passing += 1;
            }
        }
        // Failing now first, then the most failures.
        rows.sort_by_key(|(test, cells)| {
            (
                !cells
                    .first()
                    .is_some_and(|c| c.status.is_some_and(|s| s.is_failing())),
                std::cmp::Reverse(cells.iter().filter(|c| notable(c)).count()),
                *test,
            )
        });
        grids.push(Grid {
            builder: lane.builder.clone(),
            retired: retired.contains(&lane.builder),
            builds: builds.len(),
            columns,
            rows,
            passing,
        });
    }
    Ok(grids)
}

/// A test's cells in the given builds of a lane (newest first).
fn cells<'a>(
    lane: &Lane,
    builds: &[Id],
    flakes: Option<&HashSet<Id>>,
    detail: impl Fn(Id) -> Option<&'a ResultRecord>,
) -> Vec<Cell> {
    let steps: HashMap<Id, &Step> = lane
        .steps
        .iter()
        .rev()
        .take(builds.len())
        .map(|s| (s.build, s))
        .collect();
    builds
        .iter()
        .map(|build| {
            let status = steps.get(build).and_then(|s| s.status);
            let d = detail(*build);
            Cell {
                status,
                flake: flakes.is_some_and(|f| f.contains(build)),
                attempts: d.map_or(1, |d| d.attempts),
                message: d.and_then(|d| d.message.as_deref()).map(|m| cut(&lossy(m))),
            }
        })
        .collect()
}

/// A cell that puts its test in a grid: a failure, a retry flake, or flaky evidence.
fn notable(cell: &Cell) -> bool {
    cell.flake
        || cell
            .status
            .is_some_and(|s| s.is_failing() || s == Status::Flaky)
}

fn cut(message: &str) -> String {
    if message.chars().count() > MESSAGE_MAX {
        message.chars().take(MESSAGE_MAX).collect::<String>() + "\n…"
    } else {
        message.to_owned()
    }
}

/// Writes each page whose file does not already hold exactly its bytes, and returns how many it
/// wrote. A page whose content did not change since the last report into `dir` keeps its file (its
/// mtime and inode): a re-run after one more build rewrites only the pages that build changed,
/// and the directory is what a full rewrite would give, byte for byte.
fn write_pages(dir: &Path, pages: &[html::Page]) -> Result<usize> {
    let fail = |what: &Path, e: std::io::Error| {
        Error::usage(format!("cannot write {}: {e}", what.display()))
    };
    std::fs::create_dir_all(dir).map_err(|e| fail(dir, e))?;
    let mut written = 0;
    for page in pages {
        let path = dir.join(&page.name);
        if holds(&path, page.html.as_bytes()) {
            continue;
        }
        std::fs::write(&path, &page.html).map_err(|e| fail(&path, e))?;
        written += 1;
    }
    Ok(written)
}

/// Whether the file at `path` holds exactly `bytes` (its size first, then its content; a file that
/// cannot be read is written again).
fn holds(path: &Path, bytes: &[u8]) -> bool {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_file() && meta.len() == bytes.len() as u64 => {
            std::fs::read(path).is_ok_and(|old| old == bytes)
        }
        _ => false,
    }
}
