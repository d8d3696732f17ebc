//! `probtrack copy`: move a whole history between databases (e.g. SQLite to PostgreSQL).

use std::io::IsTerminal;

use crate::cli::{Context, FormatFlag};
use crate::copy;
use crate::error::Result;
use crate::store::Location;

/// Copy a whole history into another, empty database (any backend to any other)
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  probtrack copy --from probtrack.db --to postgres://ci@db.example.com/probtrack
  probtrack copy --from postgres://ci@db/probtrack --to mysql://ci@db/probtrack
  probtrack copy --to backup.db            (from --db / PROBTRACK_DB)

Every table moves with its ids, so Problems keep their ids, links, notes and notification
records. The destination must exist (for a server: `createdb NAME` / `CREATE DATABASE NAME`)
and hold no history; it is written in one transaction and row counts are checked before it
commits, so a failed copy leaves it as it was. Ingests into the source wait until the copy ends.")]
pub(crate) struct Args {
    /// The database to copy from: a path, sqlite:PATH, postgres://… or mysql://…
    /// [default: --db / PROBTRACK_DB]
    #[arg(long, value_name = "DB_URL")]
    from: Option<String>,
    /// The database to copy into (it must hold no history yet)
    #[arg(long, value_name = "DB_URL")]
    to: String,
    #[command(flatten)]
    output: FormatFlag,
}

pub(super) fn exec(args: Args, ctx: &mut Context<'_>) -> Result<u8> {
    let from = match &args.from {
        Some(text) => Location::parse(text)?,
        None => ctx.db.clone(),
    };
    let to = Location::parse(&args.to)?;
    let show_progress = std::io::stderr().is_terminal();
    let err = &mut *ctx.err;
    let report = copy::copy(&from, &to, |table| {
        if show_progress {
            let _ = writeln!(err, "copied {:>10} rows of {}", table.rows, table.table);
        }
    })?;
    ctx.out.view(args.output.format, &report, |out, report| {
        let rows = report
            .tables
            .iter()
            .map(|t| vec![t.table.into(), t.rows.into()])
            .collect();
        out.table(&["table", "rows"], rows)?;
        out.line(&format!(
            "copied {} rows from {} to {}; every table's count checked",
            report.rows, report.from, report.to
        ))
    })?;
    Ok(0)
}
