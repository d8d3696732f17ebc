//! `probtrack flaky`: tests ranked by the evidence that they fail intermittently.

use clap::ValueEnum;

use crate::analyze::flaky::{Options, THRESHOLD};
use crate::cli::{parse_since, BranchFlag, Context, LimitFlag};
use crate::error::Result;
use crate::flakiness::{self, Ranking, MIN_RUNS};
use crate::report::{safe, Out, OutputFormat};
use crate::store::OpenMode;
use crate::views::flaky::FlakyView;

/// Rank tests by the evidence that they fail intermittently (a quarantine list with --format list)
#[derive(Debug, clap::Args)]
#[command(
    mut_arg("limit", |a| a.help("At most this many tests")),
    after_help = "\
Examples:
  probtrack flaky
  probtrack flaky --builder linux-py312 --window 50 --format json
  probtrack flaky --format list > quarantine.txt

Evidence, strongest first: retry flakes (failed, then passed within a build), one revision that both
passed and failed on a builder, and flips between pass and fail that no Problem explains, weighted
towards recent runs. See docs/flaky.md for the score and its defaults."
)]
pub(crate) struct Args {
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
    #[arg(long, default_value_t = MIN_RUNS, value_name = "K")]
    min_runs: u64,
    /// Leave out tests scoring less than this (0 lists every test with any evidence)
    #[arg(long, default_value_t = THRESHOLD, value_name = "SCORE")]
    min_score: f64,
    #[command(flatten)]
    limit: LimitFlag,
    #[command(flatten)]
    branch: BranchFlag,
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

pub(super) fn exec(args: Args, ctx: &mut Context<'_>) -> Result<u8> {
    let options = Options {
        window: args.window.max(1),
        since: args.since.as_deref().map(parse_since).transpose()?,
        ..Options::default()
    };
    let ranking = Ranking {
        min_runs: args.min_runs,
        min_score: args.min_score,
        limit: args.limit.limit,
    };
    let mut store = ctx.open(OpenMode::Existing)?;
    let branch = args.branch.resolve(&ctx.settings);
    let view = flakiness::list(
        store.as_mut(),
        branch.as_deref(),
        args.builder.as_deref(),
        &options,
        &ranking,
    )?;
    let format = match args.format {
        FlakyFormat::List => {
            for v in &view {
                ctx.out.line(&safe(v.test.as_bytes()))?;
            }
            return Ok(0);
        }
        FlakyFormat::Table => OutputFormat::Table,
        FlakyFormat::Json => OutputFormat::Json,
        FlakyFormat::Csv => OutputFormat::Csv,
    };
    ctx.out.view(format, &view[..], table)?;
    Ok(0)
}

fn table(out: &mut Out<'_>, view: &[FlakyView]) -> Result<()> {
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
    out.table(
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
    )
}
