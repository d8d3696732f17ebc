//! `probtrack parse`: what reports yield, without touching any database.

use std::ffi::OsString;

use crate::cli::{parser_arg, Context, FormatFlag};
use crate::error::Result;
use crate::ingest::{parse_input, Input};
use crate::report::{safe, safe_short};
use crate::views;

/// Show the results reports yield, without touching any database
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  probtrack parse build/test-results/*.xml
  probtrack parse --parser trial --format json trial.log
  make 2>&1 | probtrack parse --parser gcc -

Exits 0 when it could read every file, whatever the results say; 3 when a file cannot be parsed.")]
pub(crate) struct Args {
    /// Reports to read (`-` reads standard input)
    #[arg(required = true, value_name = "FILE")]
    files: Vec<OsString>,
    /// The reports' format: auto (sniff each file) or a name from `probtrack parsers`
    #[arg(long, default_value = "auto", value_name = "NAME")]
    parser: String,
    /// Compiler logs: make paths relative to this directory
    #[arg(long, value_name = "DIR")]
    source_root: Option<String>,
    #[command(flatten)]
    output: FormatFlag,
}

pub(super) fn exec(args: Args, ctx: &mut Context<'_>) -> Result<u8> {
    let parser = parser_arg(&args.parser)?;
    let mut parsed = Vec::new();
    for file in &args.files {
        let report = parse_input(&Input::from_arg(file), parser, args.source_root.as_deref())?;
        for warning in &report.warnings {
            let _ = writeln!(ctx.err, "warning: {warning}");
        }
        parsed.push(report);
    }
    let view = views::parse::results(&parsed);
    ctx.out.view(args.output.format, &view[..], |out, _| {
        let mut rows = Vec::new();
        for report in &parsed {
            for r in &report.results {
                rows.push(vec![
                    safe(&r.test).into(),
                    out.status_cell(r.status),
                    r.duration
                        .map(|d| format!("{d:.3}"))
                        .unwrap_or_default()
                        .into(),
                    r.message
                        .as_ref()
                        .map(|m| safe_short(m, 80))
                        .unwrap_or_default()
                        .into(),
                ]);
            }
        }
        out.table(&["test", "status", "seconds", "message"], rows)?;
        for report in &parsed {
            out.line(&format!(
                "{}: {} results ({})",
                safe(report.name.as_bytes()),
                report.results.len(),
                report.parser
            ))?;
        }
        Ok(())
    })?;
    Ok(0)
}
