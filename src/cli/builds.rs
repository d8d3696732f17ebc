//! `probtrack builds`: recent builds, newest first.

use crate::builds;
use crate::cli::{BranchFlag, Context, FormatFlag, LimitFlag};
use crate::error::Result;
use crate::report::{safe, short_author, short_rev, Out};
use crate::store::{BuildFilter, OpenMode};
use crate::views::builds::BuildView;

/// List recent builds, newest first, with their result counts and blamelists
#[derive(Debug, clap::Args)]
#[command(
    mut_arg("limit", |a| a.help("How many builds").default_value("20")),
    after_help = "\
Examples:
  probtrack builds
  probtrack builds --builder linux-py312 --limit 50 --format json"
)]
pub(crate) struct Args {
    /// Only this builder's builds
    #[arg(long, value_name = "NAME")]
    builder: Option<String>,
    #[command(flatten)]
    branch: BranchFlag,
    /// Every branch
    #[arg(long, conflicts_with = "branch")]
    all_branches: bool,
    #[command(flatten)]
    limit: LimitFlag,
    #[command(flatten)]
    output: FormatFlag,
}

pub(super) fn exec(args: Args, ctx: &mut Context<'_>) -> Result<u8> {
    let mut store = ctx.open(OpenMode::Existing)?;
    let filter = BuildFilter {
        builder: args.builder,
        branch: (!args.all_branches).then(|| args.branch.resolve(&ctx.settings)),
        number: None,
        limit: args.limit.limit.unwrap_or(20),
    };
    let view = builds::recent(store.as_mut(), &filter)?;
    ctx.out.view(args.output.format, &view[..], table)?;
    Ok(0)
}

fn table(out: &mut Out<'_>, view: &[BuildView]) -> Result<()> {
    let rows = view
        .iter()
        .map(|b| {
            let authors: Vec<String> = b
                .changes
                .iter()
                .filter_map(|c| c.author.as_deref())
                .map(|a| safe(short_author(a).as_bytes()))
                .fold(Vec::new(), |mut acc, a| {
                    if !acc.contains(&a) {
                        acc.push(a);
                    }
                    acc
                });
            let c = &b.counts;
            vec![
                safe(b.builder.as_bytes()).into(),
                b.build.into(),
                b.revision
                    .as_deref()
                    .map(|r| safe(short_rev(r).as_bytes()))
                    .unwrap_or_default()
                    .into(),
                b.time.clone().into(),
                c.passed.into(),
                (c.failed + c.error).into(),
                c.skipped.into(),
                c.flaky.into(),
                format!("{} {}", b.changes.len(), authors.join(", ")).into(),
            ]
        })
        .collect();
    out.table(
        &[
            "builder", "build", "revision", "time", "passed", "failing", "skipped", "flaky",
            "changes",
        ],
        rows,
    )
}
