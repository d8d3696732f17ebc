//! `probtrack builders`: the builders, their latest builds, and retiring one that is gone.

use crate::builders;
use crate::cli::{Context, FormatFlag};
use crate::error::Result;
use crate::report::{safe, Out};
use crate::store::OpenMode;
use crate::views::builders::BuilderView;

/// List builders with their latest build; `builders retire NAME` for one that is gone
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  probtrack builders
  probtrack builders retire old-macos-10.15

A retired builder no longer keeps Problems open: its failures stay in their Problems and narrow
their suspects, but it need not pass for them to be fixed. A Problem that only retired builders
failed, none passing again, is neither open nor fixed: its state is `retired`. `builders unretire
NAME` undoes it.")]
pub(crate) struct Args {
    #[command(subcommand)]
    action: Option<Action>,
    #[command(flatten)]
    output: FormatFlag,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Stop a builder that is gone from keeping Problems open
    Retire {
        /// The builder
        name: String,
    },
    /// Undo `retire`
    Unretire {
        /// The builder
        name: String,
    },
}

pub(super) fn exec(args: Args, ctx: &mut Context<'_>) -> Result<u8> {
    let mut store = ctx.open(OpenMode::Existing)?;
    if let Some(action) = args.action {
        let (name, retire) = match &action {
            Action::Retire { name } => (name, true),
            Action::Unretire { name } => (name, false),
        };
        builders::retire(store.as_mut(), name, retire)?;
        let done = if retire { "retired" } else { "unretired" };
        ctx.out.line(&format!("{done} {}", safe(name.as_bytes())))?;
        return Ok(0);
    }
    let view = builders::list(store.as_mut())?;
    ctx.out.view(args.output.format, &view[..], table)?;
    Ok(0)
}

fn table(out: &mut Out<'_>, view: &[BuilderView]) -> Result<()> {
    let rows = view
        .iter()
        .map(|b| {
            let latest = b.latest.as_ref();
            vec![
                safe(b.builder.as_bytes()).into(),
                (if b.retired { "retired" } else { "" }).into(),
                b.builds.into(),
                latest
                    .map(|l| l.build.to_string())
                    .unwrap_or_default()
                    .into(),
                latest.map(|l| l.time.clone()).unwrap_or_default().into(),
                latest
                    .map(|l| (l.counts.failed + l.counts.error).to_string())
                    .unwrap_or_default()
                    .into(),
                b.open_problems.into(),
            ]
        })
        .collect();
    out.table(
        &[
            "builder",
            "",
            "builds",
            "latest",
            "time",
            "failing",
            "open Problems",
        ],
        rows,
    )
}
