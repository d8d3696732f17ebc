//! `probtrack clusters`: failures grouped by cause, across tests and builders.

use std::collections::HashMap;

use serde::Serialize;

use crate::analyze::clusters::clusters;
use crate::cli::parse_since;
use crate::cli::{listing_branch, Context};
use crate::clock;
use crate::error::Result;
use crate::report::{lossy, safe, OutputFormat};
use crate::store::{FailureRow, OpenMode, ProblemFilter};
use crate::views::{shorten, BuildAt, MESSAGE_LEN};

/// List groups of failures that share one cause, across tests and builders
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  probtrack clusters                      # every failure on the listing branch, by cause
  probtrack clusters --open               # only failures of open Problems
  probtrack clusters --since 2024-03-01 --format json

A cause is a failure's message with what varies masked (numbers, hex addresses, temporary paths,
dates, durations), followed by the stack frames of its traceback: one broken fixture that fails 40
tests is one line. `problems` and `show` print each Problem's cluster id.")]
pub struct Args {
    /// Only failures that belong to open Problems (from each one's first failure on its builders)
    #[arg(long)]
    open: bool,
    /// Only failures in builds at or after this time (RFC 3339, or YYYY-MM-DD)
    #[arg(long, value_name = "DATE")]
    since: Option<String>,
    /// Only this branch [default: `default_branch` from the settings, else builds without a branch]
    #[arg(long, value_name = "NAME")]
    branch: Option<String>,
    /// At most this many clusters, the largest first
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// Output format
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    format: OutputFormat,
}

#[derive(Serialize)]
struct ClusterView {
    id: String,
    /// The masked message and stack frames the failures share.
    signature: String,
    failures: u64,
    tests: Vec<String>,
    builders: Vec<String>,
    first_seen: BuildAt,
    last_seen: BuildAt,
    /// The first line of the latest failure's message, as it was.
    message: Option<String>,
}

fn at(row: &FailureRow) -> BuildAt {
    BuildAt {
        builder: row.builder.clone(),
        build: row.number,
        revision: row.revision.clone(),
        time: clock::rfc3339(row.time),
    }
}

pub fn exec(args: Args, ctx: &mut Context<'_>) -> Result<u8> {
    let mut store = ctx.open(OpenMode::Existing)?;
    let branch = listing_branch(args.branch.as_deref(), &ctx.settings);
    let since = args.since.as_deref().map(parse_since).transpose()?;
    // Under the names the tests have now (`rename`).
    let mut rows = crate::problems::Branch::load(store.as_mut(), branch.as_deref())?
        .failures(store.as_mut(), since)?;
    if args.open {
        // (test, builder) → the first failing build of an open Problem there.
        let mut open: HashMap<(i64, String), i64> = HashMap::new();
        for p in store.problems(&ProblemFilter {
            open: Some(true),
            branch: Some(branch.clone()),
            ..ProblemFilter::default()
        })? {
            for b in &p.builders {
                let first = open.entry((p.test, b.builder.clone())).or_insert(i64::MAX);
                *first = (*first).min(b.first_number);
            }
        }
        rows.retain(|r| {
            open.get(&(r.test, r.builder.clone()))
                .is_some_and(|&first| r.number >= first)
        });
    }
    let names: HashMap<i64, String> = rows.iter().map(|r| (r.test, lossy(&r.test_name))).collect();
    let mut view: Vec<ClusterView> = clusters(&rows)
        .into_iter()
        .map(|c| ClusterView {
            id: c.id,
            signature: c.cause,
            failures: c.failures,
            tests: c.tests.iter().map(|t| names[t].clone()).collect(),
            builders: c.builders,
            first_seen: at(&rows[c.first]),
            last_seen: at(&rows[c.last]),
            message: rows[c.last]
                .message
                .as_deref()
                .map(|m| shorten(&lossy(m), MESSAGE_LEN)),
        })
        .collect();
    if let Some(limit) = args.limit {
        view.truncate(limit);
    }
    match args.format {
        OutputFormat::Json => ctx.out.json(&view)?,
        OutputFormat::Csv => ctx.out.csv(&view)?,
        OutputFormat::Table => {
            let rows = view
                .iter()
                .map(|c| {
                    let tests = if c.tests.len() > 3 {
                        format!("{} and {} more", c.tests[..3].join(", "), c.tests.len() - 3)
                    } else {
                        c.tests.join(", ")
                    };
                    vec![
                        c.id.clone().into(),
                        c.tests.len().into(),
                        c.failures.into(),
                        safe(c.builders.join(", ").as_bytes()).into(),
                        format!("{} #{}", c.first_seen.builder, c.first_seen.build).into(),
                        format!("{} #{}", c.last_seen.builder, c.last_seen.build).into(),
                        safe(c.message.as_deref().unwrap_or("").as_bytes()).into(),
                        safe(tests.as_bytes()).into(),
                    ]
                })
                .collect();
            ctx.out.table(
                &[
                    "cluster", "tests", "failures", "builders", "first", "last", "message", "which",
                ],
                rows,
            )?;
        }
    }
    Ok(0)
}
