//! `probtrack parsers`: the report formats probtrack reads.

use crate::cli::{Context, FormatFlag};
use crate::error::Result;
use crate::plugin::Produces;
use crate::views::parsers;

/// List the report formats probtrack reads (the names `--parser` takes; with --produces, those
/// of metric files and coverage reports too)
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  probtrack parsers --format json
  probtrack parsers --produces all      # test reports, metric files and coverage reports

Parser plugins (`[parsers.NAME]` in probtrack.toml, docs/parsers.md) are listed after the
built-in formats of what they produce.")]
pub(crate) struct Args {
    /// Which formats: those of test reports (`--parser`), metric files (`--metrics-parser`),
    /// coverage reports (`--coverage-parser`), or all
    #[arg(long, value_enum, default_value = "results", value_name = "WHAT")]
    produces: Which,
    #[command(flatten)]
    output: FormatFlag,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum Which {
    Results,
    Metrics,
    Coverage,
    All,
}

pub(super) fn exec(args: Args, ctx: &mut Context<'_>) -> Result<u8> {
    let kinds: &[Produces] = match args.produces {
        Which::Results => &[Produces::Results],
        Which::Metrics => &[Produces::Metrics],
        Which::Coverage => &[Produces::Coverage],
        Which::All => &Produces::ALL,
    };
    ctx.out
        .view(args.output.format, &parsers::all(kinds)[..], |out, view| {
            let rows = view
                .iter()
                .map(|p| vec![p.name.into(), p.produces.into(), p.description.into()])
                .collect();
            out.table(&["parser", "produces", "reads"], rows)
        })?;
    Ok(0)
}
