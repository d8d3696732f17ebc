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
  probtrack parse --metrics bench.json            # the series a metric file gives

Exits 0 when it could read every file, whatever the results say; 3 when a file cannot be parsed.")]
pub(crate) struct Args {
    /// Reports to read (`-` reads standard input)
    #[arg(required_unless_present = "metrics", value_name = "FILE")]
    files: Vec<OsString>,
    /// Metric files to read instead (Google Benchmark, pytest-benchmark, Criterion, hyperfine,
    /// `go test -bench`, generic; docs/metrics.md): shows the series each gives
    #[arg(long = "metrics", value_name = "FILE", num_args = 1..)]
    metrics: Vec<OsString>,
    /// The metric files' format: auto (sniff each file) or a metric format's name
    #[arg(
        long,
        default_value = "auto",
        value_name = "NAME",
        requires = "metrics"
    )]
    metrics_parser: String,
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
    if !args.metrics.is_empty() {
        if !args.files.is_empty() {
            return Err(crate::error::Error::usage(
                "parse reads either reports or --metrics files, not both",
            )
            .hint("run it once for each"));
        }
        return metrics(&args, ctx);
    }
    let parser = parser_arg(&args.parser)?;
    let mut parsed = Vec::new();
    for file in &args.files {
        let report = parse_input(&Input::from_arg(file), parser, args.source_root.as_deref())?;
        for warning in &report.warnings {
            let _ = writeln!(
                ctx.err,
                "warning: {}",
                crate::report::safe(warning.as_bytes())
            );
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

/// `parse --metrics`: the series each metric file gives.
fn metrics(args: &Args, ctx: &mut Context<'_>) -> Result<u8> {
    let inputs: Vec<Input> = args.metrics.iter().map(|f| Input::from_arg(f)).collect();
    let parser = super::ingest::metrics_parser_arg(&args.metrics_parser)?;
    let files = crate::metrics::read_files(&inputs, parser)?;
    for file in &files {
        for warning in &file.warnings {
            let _ = writeln!(
                ctx.err,
                "warning: {}: {}",
                safe(file.name.as_bytes()),
                safe(warning.as_bytes())
            );
        }
    }
    let view = views::parse::metrics(&files);
    ctx.out.view(args.output.format, &view[..], |out, view| {
        let rows = (view.iter())
            .map(|m| {
                vec![
                    safe(m.file.as_bytes()).into(),
                    safe(m.series.as_bytes()).into(),
                    super::metrics::with_unit(m.value, m.unit.as_deref()).into(),
                    m.direction.unwrap_or("").into(),
                    m.spread.rounds.to_string().into(),
                ]
            })
            .collect();
        out.table(&["file", "series", "value", "direction", "rounds"], rows)?;
        for file in &files {
            out.line(&format!(
                "{}: {} series ({})",
                safe(file.name.as_bytes()),
                file.metrics.len(),
                file.parser
            ))?;
        }
        Ok(())
    })?;
    Ok(0)
}
