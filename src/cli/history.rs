//! `probtrack history TEST`: a test's results per builder over recent builds.

use crate::cli::{with_candidates, BranchFlag, Context, FormatFlag, LimitFlag};
use crate::error::Result;
use crate::history;
use crate::report::{safe, safe_short, short_rev, Out};
use crate::store::OpenMode;
use crate::views::history::HistoryView;

/// Show a test's results per builder over recent builds
#[derive(Debug, clap::Args)]
#[command(
    mut_arg("limit", |a| a.help("How many builds per builder, newest first").default_value("20")),
    after_help = "\
Examples:
  probtrack history tests.test_api.TestLogin.test_expired_token
  probtrack history test_expired --builder linux-py312 --limit 50 --format json

TEST is a whole identity, or a part that only one test has."
)]
pub(crate) struct Args {
    /// The test: its identity, or a unique part of it
    test: String,
    /// Only this builder
    #[arg(long, value_name = "NAME")]
    builder: Option<String>,
    #[command(flatten)]
    branch: BranchFlag,
    #[command(flatten)]
    limit: LimitFlag,
    #[command(flatten)]
    output: FormatFlag,
}

pub(super) fn exec(args: Args, ctx: &mut Context<'_>) -> Result<u8> {
    let mut store = ctx.open(OpenMode::Existing)?;
    let branch = args.branch.resolve(&ctx.settings);
    let view = history::history(
        store.as_mut(),
        &args.test,
        branch.as_deref(),
        args.builder.as_deref(),
        args.limit.limit.unwrap_or(20),
    );
    let view = with_candidates(view, args.output.format, &mut ctx.out)?;
    ctx.out.view(args.output.format, &view, table)?;
    Ok(0)
}

fn table(out: &mut Out<'_>, view: &HistoryView) -> Result<()> {
    out.line(&safe(view.test.as_bytes()))?;
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
                    out.flake_cell(status)
                } else {
                    out.status_cell(status)
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
    out.table(
        &[
            "builder", "build", "revision", "time", "status", "seconds", "message",
        ],
        rows,
    )
}
