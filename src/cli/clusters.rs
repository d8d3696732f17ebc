//! `probtrack clusters`: failures grouped by cause, across tests and builders.

use crate::cli::{parse_since, BranchFlag, Context, FormatFlag, LimitFlag};
use crate::clusters::{self, Selection};
use crate::error::Result;
use crate::report::{safe, Out};
use crate::store::OpenMode;
use crate::views::clusters::ClusterView;

/// List groups of failures that share one cause, across tests and builders
#[derive(Debug, clap::Args)]
#[command(
    mut_arg("limit", |a| a.help("At most this many clusters, the largest first")),
    after_help = "\
Examples:
  probtrack clusters                      # every failure on the listing branch, by cause
  probtrack clusters --open               # only failures of open Problems
  probtrack clusters --since 2024-03-01 --format json

A cause is a failure's message with what varies masked (numbers, hex addresses, temporary paths,
dates, durations), followed by the stack frames of its traceback: one broken fixture that fails 40
tests is one line. `problems` and `show` print each Problem's cluster id."
)]
pub(crate) struct Args {
    /// Only failures that belong to open Problems (from each one's first failure on its builders)
    #[arg(long)]
    open: bool,
    /// Only failures in builds at or after this time (RFC 3339, or YYYY-MM-DD)
    #[arg(long, value_name = "DATE")]
    since: Option<String>,
    #[command(flatten)]
    branch: BranchFlag,
    #[command(flatten)]
    limit: LimitFlag,
    #[command(flatten)]
    output: FormatFlag,
}

pub(super) fn exec(args: Args, ctx: &mut Context<'_>) -> Result<u8> {
    let mut store = ctx.open(OpenMode::Existing)?;
    let selection = Selection {
        branch: args.branch.resolve(&ctx.settings),
        since: args.since.as_deref().map(parse_since).transpose()?,
        open: args.open,
        limit: args.limit.limit,
    };
    let view = clusters::list(store.as_mut(), &selection)?;
    ctx.out.view(args.output.format, &view[..], table)?;
    Ok(0)
}

fn table(out: &mut Out<'_>, view: &[ClusterView]) -> Result<()> {
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
    out.table(
        &[
            "cluster", "tests", "failures", "builders", "first", "last", "message", "which",
        ],
        rows,
    )
}
