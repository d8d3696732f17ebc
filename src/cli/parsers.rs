//! `probtrack parsers`: the report formats probtrack reads.

use crate::cli::{Context, FormatFlag};
use crate::error::Result;
use crate::views::parsers;

/// List the report formats probtrack reads (the names `--parser` takes)
#[derive(Debug, clap::Args)]
#[command(after_help = "Example:\n  probtrack parsers --format json")]
pub(crate) struct Args {
    #[command(flatten)]
    output: FormatFlag,
}

pub(super) fn exec(args: Args, ctx: &mut Context<'_>) -> Result<u8> {
    ctx.out
        .view(args.output.format, &parsers::all()[..], |out, view| {
            let rows = view
                .iter()
                .map(|p| vec![p.name.into(), p.description.into()])
                .collect();
            out.table(&["parser", "reads"], rows)
        })?;
    Ok(0)
}
