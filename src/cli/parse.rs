//! `probtrack parse`: what reports yield, without touching any database.

use std::ffi::OsString;

use serde::Serialize;

use crate::cli::{parser_arg, Context};
use crate::error::Result;
use crate::ingest::{parse_input, Input};
use crate::report::{lossy, safe, safe_short, OutputFormat};

/// Show the results reports yield, without touching any database
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  probtrack parse build/test-results/*.xml
  probtrack parse --parser trial --format json trial.log
  make 2>&1 | probtrack parse --parser gcc -

Exits 0 when it could read every file, whatever the results say; 3 when a file cannot be parsed.")]
pub struct Args {
    /// Reports to read (`-` reads standard input)
    #[arg(required = true, value_name = "FILE")]
    files: Vec<OsString>,
    /// The reports' format: auto (sniff each file) or a name from `probtrack parsers`
    #[arg(long, default_value = "auto", value_name = "NAME")]
    parser: String,
    /// Compiler logs: make paths relative to this directory
    #[arg(long, value_name = "DIR")]
    source_root: Option<String>,
    /// Output format
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    format: OutputFormat,
}

#[derive(Serialize)]
struct ResultView {
    file: String,
    test: String,
    kind: &'static str,
    status: &'static str,
    duration: Option<f64>,
    message: Option<String>,
    attempts: u32,
    details: serde_json::Map<String, serde_json::Value>,
}

pub fn exec(args: Args, ctx: &mut Context<'_>) -> Result<u8> {
    let parser = parser_arg(&args.parser)?;
    let mut parsed = Vec::new();
    for file in &args.files {
        let report = parse_input(&Input::from_arg(file), parser, args.source_root.as_deref())?;
        for warning in &report.warnings {
            let _ = writeln!(ctx.err, "warning: {warning}");
        }
        parsed.push(report);
    }
    match args.format {
        OutputFormat::Table => {
            let mut rows = Vec::new();
            for report in &parsed {
                for r in &report.results {
                    rows.push(vec![
                        safe(&r.test).into(),
                        ctx.out.status_cell(r.status),
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
            ctx.out
                .table(&["test", "status", "seconds", "message"], rows)?;
            for report in &parsed {
                ctx.out.line(&format!(
                    "{}: {} results ({})",
                    safe(report.name.as_bytes()),
                    report.results.len(),
                    report.parser
                ))?;
            }
        }
        format => {
            let view: Vec<ResultView> = parsed
                .iter()
                .flat_map(|report| {
                    report.results.iter().map(|r| ResultView {
                        file: report.name.clone(),
                        test: lossy(&r.test),
                        kind: r.kind.as_str(),
                        status: r.status.as_str(),
                        duration: r.duration,
                        message: r.message.as_deref().map(|m| lossy(m)),
                        attempts: r.attempts,
                        details: r.details.clone(),
                    })
                })
                .collect();
            if format == OutputFormat::Json {
                ctx.out.json(&view)?;
            } else {
                ctx.out.csv(&view)?;
            }
        }
    }
    Ok(0)
}
