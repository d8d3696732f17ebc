//! `probtrack since TEST`: when and where a test started failing, and whose change did it.

use crate::cli::{with_candidates, BranchFlag, Context, FormatFlag};
use crate::error::Result;
use crate::report::{safe, short_author, short_rev, Out};
use crate::since;
use crate::store::OpenMode;
use crate::views::since::SinceView;
use crate::views::ChangeView;

/// Tell when and where a test started failing, and which change and author started it
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  probtrack since tests.test_fmt.test_format_thousands
  probtrack since test_format_thousands --format json

TEST is a whole identity, or a part that only one test has. For a passing test, says when its last
Problem was fixed and by whom.")]
pub(crate) struct Args {
    /// The test: its identity, or a unique part of it
    test: String,
    #[command(flatten)]
    branch: BranchFlag,
    #[command(flatten)]
    output: FormatFlag,
}

pub(super) fn exec(args: Args, ctx: &mut Context<'_>) -> Result<u8> {
    let mut store = ctx.open(OpenMode::Existing)?;
    let branch = args.branch.resolve(&ctx.settings);
    let view = since::since(store.as_mut(), &args.test, branch);
    let view = with_candidates(view, args.output.format, &mut ctx.out)?;
    ctx.out.view(args.output.format, &view, table)?;
    Ok(0)
}

fn table(out: &mut Out<'_>, view: &SinceView) -> Result<()> {
    let people = |changes: &[ChangeView]| -> String {
        changes
            .iter()
            .map(|c| {
                format!(
                    "{} by {}",
                    short_rev(&c.revision),
                    c.author.as_deref().map(short_author).unwrap_or("?")
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let name = safe(view.test.as_bytes());
    if view.failing {
        out.line(&format!(
            "{name} is failing (Problem {}).",
            view.problem.map_or("?".to_owned(), |p| p.to_string())
        ))?;
        let rows = view
            .builders
            .iter()
            .map(|b| {
                vec![
                    safe(b.builder.as_bytes()).into(),
                    b.since_build.into(),
                    b.since_revision
                        .as_deref()
                        .map(short_rev)
                        .unwrap_or("")
                        .into(),
                    b.since_time.clone().into(),
                    b.last_pass_build
                        .map_or("never".to_owned(), |n| n.to_string())
                        .into(),
                ]
            })
            .collect();
        out.table(
            &["builder", "failing since", "revision", "time", "last pass"],
            rows,
        )?;
        if !view.started_by.is_empty() {
            out.line(&format!(
                "Started by: {}",
                safe(people(&view.started_by).as_bytes())
            ))?;
        }
    } else if let (Some(build), Some(builder), Some(time)) =
        (view.fixed_build, &view.fixed_builder, &view.fixed_time)
    {
        out.line(&format!(
            "{name} is passing; its last Problem ({}) was fixed in {} #{} at {}{}.",
            view.problem.unwrap_or_default(),
            safe(builder.as_bytes()),
            build,
            time,
            if view.fixed_by.is_empty() {
                String::new()
            } else {
                format!(" by {}", safe(people(&view.fixed_by).as_bytes()))
            }
        ))?;
    } else {
        out.line(&format!("{name} is passing and has never failed here."))?;
    }
    Ok(())
}
