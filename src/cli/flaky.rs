//! `probtrack flaky`: tests ranked by the evidence that they fail intermittently.

use std::collections::{HashMap, HashSet};

use clap::ValueEnum;
use serde::Serialize;

use crate::analyze::flaky::{self, Options, THRESHOLD};
use crate::analyze::signature::signature;
use crate::cli::{listing_branch, Context};
use crate::clock;
use crate::error::{Error, Result};
use crate::problems::Branch;
use crate::report::{lossy, safe};
use crate::store::OpenMode;

/// Rank tests by the evidence that they fail intermittently (a quarantine list with --format list)
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  probtrack flaky
  probtrack flaky --builder linux-py312 --window 50 --format json
  probtrack flaky --format list > quarantine.txt

Evidence, strongest first: retry flakes (failed, then passed within a build), one revision that both
passed and failed on a builder, and flips between pass and fail that no Problem explains, weighted
towards recent runs. See docs/flaky.md for the score and its defaults.")]
pub struct Args {
    /// Runs per builder to look at, the most recent
    #[arg(long, default_value_t = 100, value_name = "N")]
    window: usize,
    /// Only runs at or after this time (RFC 3339, or YYYY-MM-DD)
    #[arg(long, value_name = "DATE")]
    since: Option<String>,
    /// Only this builder's runs
    #[arg(long, value_name = "NAME")]
    builder: Option<String>,
    /// Leave out tests with fewer runs than this
    #[arg(long, default_value_t = 5, value_name = "K")]
    min_runs: u64,
    /// Leave out tests scoring less than this (0 lists every test with any evidence)
    #[arg(long, default_value_t = THRESHOLD, value_name = "SCORE")]
    min_score: f64,
    /// At most this many tests
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// The branch [default: `default_branch` from the settings, else builds without a branch]
    #[arg(long, value_name = "NAME")]
    branch: Option<String>,
    /// Output format; `list` prints bare test identities, one a line
    #[arg(long, value_enum, default_value_t = FlakyFormat::Table)]
    format: FlakyFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum FlakyFormat {
    Table,
    Json,
    Csv,
    /// Bare test identities, one a line (a quarantine list)
    List,
}

#[derive(Serialize)]
struct FlakyView {
    test: String,
    kind: &'static str,
    score: f64,
    runs: u64,
    failures: u64,
    flips: u64,
    flip_rate: f64,
    weighted_flip_rate: f64,
    retry_flakes: u64,
    same_revision: u64,
    /// How many different failure messages (volatile parts masked) its failures had.
    messages: usize,
    builders: Vec<String>,
    last_flake: Option<LastFlake>,
    runner_id: Option<String>,
}

#[derive(Serialize)]
struct LastFlake {
    builder: String,
    build: i64,
    time: String,
}

/// `--since`: RFC 3339 or a date.
pub(crate) fn parse_since(text: &str) -> Result<i64> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(t.timestamp_micros());
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp_micros())
        .ok_or_else(|| {
            Error::usage(format!(
                "--since `{text}`: expected a date (2024-03-01) or an RFC 3339 time"
            ))
        })
}

fn round(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

pub fn exec(args: Args, ctx: &mut Context<'_>) -> Result<u8> {
    let options = Options {
        window: args.window.max(1),
        since: args.since.as_deref().map(parse_since).transpose()?,
        ..Options::default()
    };
    let mut store = ctx.open(OpenMode::Existing)?;
    let branch = listing_branch(args.branch.as_deref(), &ctx.settings);
    let loaded = Branch::load(store.as_mut(), branch.as_deref())?;
    let mut ranked: Vec<(i64, flaky::Stats)> = loaded
        .all_lanes(store.as_mut(), args.builder.as_deref(), true)?
        .into_iter()
        .map(|(test, lanes)| (test, flaky::stats(&lanes, &options)))
        .filter(|(_, s)| s.runs >= args.min_runs && s.score > 0.0 && s.score >= args.min_score)
        .collect();
    ranked.sort_by(|a, b| {
        b.1.score
            .total_cmp(&a.1.score)
            .then(b.1.failures.cmp(&a.1.failures))
            .then(a.0.cmp(&b.0))
    });
    if let Some(limit) = args.limit {
        ranked.truncate(limit);
    }
    let ids: Vec<i64> = ranked.iter().map(|(t, _)| *t).collect();
    let tests = store.tests_by_id(&ids)?;
    // Message variety, for the tests listed: different causes each time hint at flakiness.
    let mut messages: HashMap<i64, usize> = HashMap::new();
    for id in &ids {
        let distinct: HashSet<String> = loaded
            .failure_messages(store.as_mut(), *id)?
            .iter()
            .map(|m| signature(&lossy(m)))
            .collect();
        messages.insert(*id, distinct.len());
    }
    let view: Vec<FlakyView> = ranked
        .into_iter()
        .filter_map(|(id, s)| {
            let test = tests.get(&id)?;
            Some(FlakyView {
                test: lossy(&test.name),
                kind: test.kind.as_str(),
                score: round(s.score),
                runs: s.runs,
                failures: s.failures,
                flips: s.flips,
                flip_rate: round(s.flip_rate),
                weighted_flip_rate: round(s.weighted_flip_rate),
                retry_flakes: s.retry_flakes,
                same_revision: s.same_revision,
                messages: messages.get(&id).copied().unwrap_or(0),
                builders: s.builders,
                last_flake: s.last_flake.map(|at| LastFlake {
                    builder: at.builder,
                    build: at.number,
                    time: clock::rfc3339(at.time),
                }),
                runner_id: test.runner_id.clone(),
            })
        })
        .collect();
    match args.format {
        FlakyFormat::Json => ctx.out.json(&view)?,
        FlakyFormat::Csv => ctx.out.csv(&view)?,
        FlakyFormat::List => {
            for v in &view {
                ctx.out.line(&safe(v.test.as_bytes()))?;
            }
        }
        FlakyFormat::Table => {
            let rows = view
                .iter()
                .map(|v| {
                    vec![
                        format!("{:.2}", v.score).into(),
                        safe(v.test.as_bytes()).into(),
                        v.runs.into(),
                        v.failures.into(),
                        v.flips.into(),
                        v.retry_flakes.into(),
                        v.messages.into(),
                        v.last_flake
                            .as_ref()
                            .map(|l| format!("{} #{} {}", l.builder, l.build, l.time))
                            .unwrap_or_default()
                            .into(),
                        safe(v.builders.join(", ").as_bytes()).into(),
                    ]
                })
                .collect();
            ctx.out.table(
                &[
                    "score",
                    "test",
                    "runs",
                    "failures",
                    "flips",
                    "retries",
                    "messages",
                    "last flake",
                    "builders",
                ],
                rows,
            )?;
        }
    }
    Ok(0)
}
