//! `probtrack history TEST`: a test's results per builder over recent builds.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::analyze::flaky;
use crate::report::short_rev;
use crate::cli::{listing_branch, Context};
use crate::clock;
use crate::durations;
use crate::error::Result;
use crate::problems::Branch;
use crate::report::{lossy, safe, safe_short, OutputFormat};
use crate::store::OpenMode;

/// Show a test's results per builder over recent builds
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  probtrack history tests.test_api.TestLogin.test_expired_token
  probtrack history test_expired --builder linux-py312 --limit 50 --format json

TEST is a whole identity, or a part that only one test has.")]
pub struct Args {
    /// The test: its identity, or a unique part of it
    test: String,
    /// Only this builder
    #[arg(long, value_name = "NAME")]
    builder: Option<String>,
    /// Only builds of this branch [default: `default_branch` from the settings, else builds without a branch]
    #[arg(long, value_name = "NAME")]
    branch: Option<String>,
    /// How many builds per builder, newest first
    #[arg(long, default_value_t = 20, value_name = "N")]
    limit: usize,
    /// Output format
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    format: OutputFormat,
}

#[derive(Serialize)]
struct HistoryView {
    test: String,
    kind: &'static str,
    builders: Vec<BuilderHistory>,
}

#[derive(Serialize)]
struct BuilderHistory {
    builder: String,
    branch: Option<String>,
    results: Vec<ResultView>,
}

#[derive(Serialize)]
struct ResultView {
    build: i64,
    revision: Option<String>,
    time: String,
    status: &'static str,
    /// Flaky evidence: a retry flake, or a failure of a flaky test that no Problem explains.
    flake: bool,
    duration: Option<f64>,
    attempts: u32,
    message: Option<String>,
}

pub fn exec(args: Args, ctx: &mut Context<'_>) -> Result<u8> {
    let mut store = ctx.open(OpenMode::Existing)?;
    let test = crate::cli::find_test(store.as_mut(), &args.test, args.format, &mut ctx.out)?;
    let branch = listing_branch(args.branch.as_deref(), &ctx.settings);
    let lanes: HashMap<_, _> = store.lanes()?.into_iter().map(|l| (l.id, l)).collect();
    // The test's history under every name it had (`rename`), as the analysis sees it.
    let loaded = Branch::load(store.as_mut(), branch.as_deref())?;
    let names = loaded.names(test.id);
    let details = loaded.test_results(store.as_mut(), test.id)?;
    let test_lanes = loaded.test_lanes(store.as_mut(), test.id)?;
    // A flaky test's flaky outcomes.
    let options = flaky::Options::default();
    let flakes: HashSet<i64> = if flaky::stats(&test_lanes, &options).score >= flaky::THRESHOLD {
        test_lanes
            .iter()
            .flat_map(|l| flaky::flake_builds(l, &options))
            .collect()
    } else {
        HashSet::new()
    };
    let mut builders = Vec::new();
    for lane in &test_lanes {
        let Some(record) = lanes.get(&lane.lane) else {
            continue;
        };
        if args.builder.as_ref().is_some_and(|b| *b != record.builder) {
            continue;
        }
        let mut results = Vec::new();
        for step in lane.steps.iter().rev() {
            if results.len() >= args.limit {
                break;
            }
            let Some(status) = step.status else {
                continue;
            };
            let (duration, attempts, message) = match details.get(&step.build) {
                Some(r) => (
                    r.duration,
                    r.attempts,
                    r.message.as_deref().map(|m| lossy(m)),
                ),
                None => {
                    let blob = store.build_durations(step.build)?.unwrap_or_default();
                    let duration = names
                        .iter()
                        .rev()
                        .find_map(|name| durations::find(&blob, *name))
                        .flatten();
                    (duration, 1, None)
                }
            };
            results.push(ResultView {
                build: step.number,
                revision: step.revision.as_deref().map(str::to_owned),
                time: clock::rfc3339(step.time),
                status: status.as_str(),
                flake: flakes.contains(&step.build),
                duration,
                attempts,
                message,
            });
        }
        builders.push(BuilderHistory {
            builder: record.builder.clone(),
            branch: record.branch.clone(),
            results,
        });
    }
    let view = HistoryView {
        test: lossy(&test.name),
        kind: test.kind.as_str(),
        builders,
    };
    match args.format {
        OutputFormat::Json => ctx.out.json(&view)?,
        OutputFormat::Csv => {
            let test = &view.test;
            let rows: Vec<_> = view
                .builders
                .iter()
                .flat_map(|b| {
                    b.results.iter().map(move |r| {
                        serde_json::json!({
                            "test": test, "builder": b.builder, "build": r.build,
                            "revision": r.revision, "time": r.time, "status": r.status,
                            "duration": r.duration, "attempts": r.attempts, "message": r.message,
                        })
                    })
                })
                .collect();
            ctx.out.csv(&rows)?;
        }
        OutputFormat::Table => {
            ctx.out.line(&safe(view.test.as_bytes()))?;
            let mut rows = Vec::new();
            for b in &view.builders {
                for r in &b.results {
                    let status = r
                        .status
                        .parse()
                        .unwrap_or(probtrack_parsers::Status::Passed);
                    rows.push(vec![
                        safe(b.builder.as_bytes()).into(),
                        r.build.into(),
                        r.revision
                            .as_deref()
                            .map(|v| safe(short_rev(v).as_bytes()))
                            .unwrap_or_default()
                            .into(),
                        r.time.clone().into(),
                        if r.flake && status.is_failing() {
                            ctx.out.flake_cell(status)
                        } else {
                            ctx.out.status_cell(status)
                        },
                        r.duration
                            .map(|d| format!("{d:.3}"))
                            .unwrap_or_default()
                            .into(),
                        r.message
                            .as_deref()
                            .map(|m| safe_short(m.as_bytes(), 60))
                            .unwrap_or_default()
                            .into(),
                    ]);
                }
            }
            ctx.out.table(
                &[
                    "builder", "build", "revision", "time", "status", "seconds", "message",
                ],
                rows,
            )?;
        }
    }
    Ok(0)
}
