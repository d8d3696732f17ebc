//! `probtrack users`: who is on the hook for which open Problems.

use crate::cli::{BranchFlag, Context, FormatFlag};
use crate::error::Result;
use crate::people;
use crate::report::{safe, Out};
use crate::store::OpenMode;
use crate::views::users::UserView;

/// Show who is on the hook for which open Problems, and who fixed the last ones
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  probtrack users
  probtrack users --format json

A person is an author of a Problem's starting changes; the settings' users map merges the names and
addresses one person commits under.")]
pub(crate) struct Args {
    #[command(flatten)]
    branch: BranchFlag,
    /// Count intermittent Problems too
    #[arg(long)]
    intermittent: bool,
    #[command(flatten)]
    output: FormatFlag,
}

pub(super) fn exec(args: Args, ctx: &mut Context<'_>) -> Result<u8> {
    let mut store = ctx.open(OpenMode::Existing)?;
    let branch = args.branch.resolve(&ctx.settings);
    let view = people::users(store.as_mut(), &ctx.settings, branch, args.intermittent)?;
    ctx.out.view(args.output.format, &view[..], table)?;
    Ok(0)
}

fn table(out: &mut Out<'_>, view: &[UserView]) -> Result<()> {
    let rows = view
        .iter()
        .map(|u| {
            vec![
                safe(u.user.as_bytes()).into(),
                u.open_problems.len().into(),
                u.open_problems
                    .iter()
                    .map(i64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
                    .into(),
                u.started.into(),
                u.fixed.into(),
                safe(u.chat.as_deref().unwrap_or("").as_bytes()).into(),
                safe(u.handles.summary().as_bytes()).into(),
            ]
        })
        .collect();
    out.table(
        &[
            "user",
            "open",
            "open Problems",
            "started",
            "fixed",
            "chat",
            "handles",
        ],
        rows,
    )
}
