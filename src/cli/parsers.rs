//! `probtrack parsers`: the report formats probtrack reads.

use serde::Serialize;

use crate::cli::Context;
use crate::error::Result;
use crate::report::OutputFormat;

/// List the report formats probtrack reads (the names `--parser` takes)
#[derive(Debug, clap::Args)]
#[command(after_help = "Example:\n  probtrack parsers --format json")]
pub struct Args {
    /// Output format
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    format: OutputFormat,
}

#[derive(Serialize)]
struct ParserView {
    name: &'static str,
    description: &'static str,
}

pub fn exec(args: Args, ctx: &mut Context<'_>) -> Result<u8> {
    let view: Vec<ParserView> = probtrack_parsers::registry()
        .iter()
        .map(|f| ParserView {
            name: f.name(),
            description: f.description(),
        })
        .collect();
    match args.format {
        OutputFormat::Json => ctx.out.json(&view)?,
        OutputFormat::Csv => ctx.out.csv(&view)?,
        OutputFormat::Table => {
            let rows = view
                .iter()
                .map(|p| vec![p.name.into(), p.description.into()])
                .collect();
            ctx.out.table(&["parser", "reads"], rows)?;
        }
    }
    Ok(0)
}
