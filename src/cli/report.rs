//! `probtrack report --html DIR`: a static site for people (`report/html.rs` renders it).

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use probtrack_parsers::Status;

use crate::analyze::{flaky, Lane};
use crate::cli::{listing_branch, Context};
use crate::error::{Error, Result};
use crate::flakiness::{self, Ranking};
use crate::people;
use crate::problems::Branch;
use crate::report::html::{self, Cell, Column, GridRow, Site};
use crate::report::lossy;
use crate::store::{Counts, Id, OpenMode, ProblemFilter, ResultRecord};
use crate::views::problems::ProblemView;

/// Write a static HTML site: open Problems, flaky tests, a grid per builder, a page per Problem and test
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  probtrack report --html site/
  probtrack report --html site/ --builds 50 --branch main
  python3 -m http.server -d site/   # or open site/index.html in a browser

The site has no scripts and loads nothing from the network: every page is one self-contained file.
Pages: index.html (the overview), builder-<name>.html (a test grid per builder),
problem-<id>.html (a Problem's story) and test-<hash>.html (a test's history). Files of an earlier
run are overwritten, other files in DIR are left alone.")]
pub struct Args {
    /// Write the site into this directory (created when missing)
    #[arg(long, value_name = "DIR", required = true)]
    html: PathBuf,
    /// The branch [default: `default_branch` from the settings, else builds without a branch]
    #[arg(long, value_name = "NAME")]
    branch: Option<String>,
    /// Builds per builder in the grids and test histories, newest first
    #[arg(long, default_value_t = 30, value_name = "N")]
    builds: usize,
}

/// The most flaky tests on the overview.
const FLAKY_LIMIT: usize = 20;
/// Recently fixed Problems on the overview.
const FIXED_LIMIT: usize = 10;
/// Messages longer than this are cut on the pages.
const MESSAGE_MAX: usize = 5000;

pub fn exec(args: Args, ctx: &mut Context<'_>) -> Result<u8> {
    let width = args.builds.max(1);
    let mut store = ctx.open(OpenMode::Existing)?;
    let branch = listing_branch(args.branch.as_deref(), &ctx.settings);
    let loaded = Branch::load(store.as_mut(), branch.as_deref())?;
    let all = loaded.all_lanes(store.as_mut(), None, false)?;
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

    // The flaky list, ranked as `probtrack flaky` ranks it.
    let ranking = Ranking {
        limit: Some(FLAKY_LIMIT),
        ..Ranking::default()
    };
    let ranked = flakiness::rank(stats.iter().map(|(t, s)| (*t, s)), &ranking);

    // Problems on the branch, intermittent ones included.
    let records = store.problems(&ProblemFilter {
        branch: Some(branch.clone()),
        ..ProblemFilter::default()
    })?;

    // The grids.
    let retired: HashSet<String> = store.retired_builders()?.into_iter().collect();
    let mut grids = Vec::new();
    for lane in store.lanes()? {
        if lane.branch != branch {
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
            for r in store.build_results(b.id)? {
                // A result under a renamed test's old name is its new name's (unless the build
                // has one under the new name too).
                let test = loaded.canonical(r.test);
                if r.test == test || !details.contains_key(&(b.id, test)) {
                    details.insert((b.id, test), r);
                }
            }
        }
        let mut rows: Vec<(Id, Vec<Cell>)> = Vec::new();
        let mut passing = 0;
        for (test, lanes) in &all {
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

    // Every test that gets a page, with its name.
    let mut page_tests: Vec<Id> = ranked.iter().map(|(t, _)| *t).collect();
    page_tests.extend(records.iter().map(|p| p.test));
    for grid in &grids {
        page_tests.extend(grid.rows.iter().map(|(t, _)| *t));
    }
    let mut seen = HashSet::new();
    page_tests.retain(|t| seen.insert(*t));
    let names = store.tests_by_id(&page_tests)?;
    let name = |id: Id| names.get(&id).map(|t| lossy(&t.name)).unwrap_or_default();
    let mut results: HashMap<Id, HashMap<Id, ResultRecord>> = HashMap::new();
    for &test in &page_tests {
        results.insert(test, loaded.test_results(store.as_mut(), test)?);
    }
    let message = |test: Id, build: Id| -> Option<String> {
        results
            .get(&test)
            .and_then(|r| r.get(&build))
            .and_then(|r| r.message.as_deref())
            .map(|m| cut(&lossy(m)))
    };

    let flaky_item = |test: Id, s: &flaky::Stats| html::FlakyItem {
        test: name(test),
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
    };

    let mut views: Vec<ProblemView> = records
        .iter()
        .map(|p| ProblemView::new(p, &ctx.settings))
        .collect();
    let refs: Vec<&crate::store::ProblemRecord> = records.iter().collect();
    crate::triage::annotate(store.as_mut(), &refs, &mut views)?;
    let mut stories = Vec::new();
    for (record, view) in records.iter().zip(&views) {
        let mut changes = Vec::new();
        let mut persons: Vec<html::PersonItem> = Vec::new();
        for (role, list) in [("start", &record.started_by), ("fix", &record.fixed_by)] {
            for change in list {
                let full = store.change(&change.revision)?;
                let person = change
                    .author
                    .as_deref()
                    .map(|a| people::person(&ctx.settings, a));
                if let Some(p) = &person {
                    let word = if role == "start" { "started" } else { "fixed" };
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
                    role,
                    revision: change.revision.clone(),
                    author: change.author.clone(),
                    person: person.map(|p| p.name),
                    time: full.as_ref().and_then(|c| c.time),
                    comments: full.and_then(|c| c.comments),
                });
            }
        }
        let lanes = all.get(&record.test).map(Vec::as_slice).unwrap_or_default();
        let mut timeline = Vec::new();
        for part in &record.builders {
            let Some(steps) = crate::problems::story_steps(lanes, part) else {
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
                        .then(|| message(record.test, s.build))
                        .flatten(),
                })
                .collect();
            timeline.push((part.builder.clone(), items));
        }
        stories.push(html::Story {
            problem: view.clone(),
            changes,
            timeline,
            people: persons,
        });
    }

    let mut tests = Vec::new();
    for &test in &page_tests {
        let lanes = all.get(&test).map(Vec::as_slice).unwrap_or_default();
        let lanes = lanes
            .iter()
            .map(|lane| html::TestLane {
                builder: lane.builder.clone(),
                results: lane
                    .steps
                    .iter()
                    .rev()
                    .take(width)
                    .map(|s| {
                        let detail = results.get(&test).and_then(|r| r.get(&s.build));
                        (
                            Column {
                                number: s.number,
                                revision: s.revision.as_deref().map(str::to_owned),
                                time: s.time,
                                result: None,
                                counts: Counts::default(),
                            },
                            Cell {
                                status: s.status,
                                flake: flakes.get(&test).is_some_and(|f| f.contains(&s.build)),
                                attempts: detail.map_or(1, |d| d.attempts),
                                message: message(test, s.build),
                            },
                        )
                    })
                    .collect(),
            })
            .collect();
        tests.push(html::TestHistory {
            test: name(test),
            kind: names.get(&test).map_or("test", |t| t.kind.as_str()),
            flaky: ranked
                .iter()
                .find(|(t, _)| *t == test)
                .map(|(t, s)| flaky_item(*t, s)),
            problems: records
                .iter()
                .zip(&views)
                .filter(|(r, _)| r.test == test)
                .map(|(_, v)| v.clone())
                .collect(),
            lanes,
        });
    }

    let mut fixed: Vec<ProblemView> = views
        .iter()
        .filter(|p| p.state == "fixed")
        .cloned()
        .collect();
    fixed.sort_by(|a, b| {
        let at = |p: &ProblemView| p.fixed.as_ref().map(|f| f.time.clone());
        at(b).cmp(&at(a))
    });
    fixed.truncate(FIXED_LIMIT);
    let site = Site {
        branch: branch.clone(),
        open: views
            .iter()
            .filter(|p| p.state == "open")
            .cloned()
            .collect(),
        fixed,
        flaky: ranked.iter().map(|(t, s)| flaky_item(*t, s)).collect(),
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
                        test: name(test),
                        cells,
                    })
                    .collect(),
                passing: g.passing,
            })
            .collect(),
        stories,
        tests,
    };
    let pages = html::render(&site);
    write_pages(&args.html, &pages)?;
    ctx.out.line(&format!(
        "wrote {} pages to {}",
        pages.len(),
        args.html.display()
    ))?;
    Ok(0)
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

/// A test's cells in the given builds of a lane (newest first).
fn cells<'a>(
    lane: &Lane,
    builds: &[Id],
    flakes: Option<&HashSet<Id>>,
    detail: impl Fn(Id) -> Option<&'a ResultRecord>,
) -> Vec<Cell> {
    let steps: HashMap<Id, &crate::analyze::Step> = lane
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

fn write_pages(dir: &std::path::Path, pages: &[html::Page]) -> Result<()> {
    let fail = |what: &std::path::Path, e: std::io::Error| {
        Error::usage(format!("cannot write {}: {e}", what.display()))
    };
    std::fs::create_dir_all(dir).map_err(|e| fail(dir, e))?;
    for page in pages {
        let path = dir.join(&page.name);
        std::fs::write(&path, &page.html).map_err(|e| fail(&path, e))?;
    }
    Ok(())
}
