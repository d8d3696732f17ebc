//! `copy`: a whole history from one database to another, whatever their engines (a team that
//! starts on SQLite and outgrows it moves to PostgreSQL), ids and all, so that every Problem keeps
//! its id and the links, notes and notifications that hang on it. The destination gives no build
//! or Problem id again that the source ever gave, a deleted one's included (docs/schema.md).
//!
//! The destination is written in one transaction and must hold no history yet; the source is held
//! under its writer lock so that no ingest changes it midway. Row counts are checked table by table
//! before the destination commits: a copy either lands whole or leaves nothing.

use crate::error::{Error, Result};
use crate::store::{self, Cell, Location, OpenMode, Store, TABLES};
use crate::views::copy::{CopyReport, TableCount};

/// How many rows go to the destination at a time, at most…
const BATCH: usize = 2_000;
/// …and how many bytes of text and blobs (a `metric_state` part is up to 1 MiB, a details object
/// can be large): a batch is written when it reaches either.
const BATCH_BYTES: usize = 8 << 20;

/// Copies every table from `from` to `to`, calling `progress` after each table.
pub(crate) fn copy(
    from: &Location,
    to: &Location,
    mut progress: impl FnMut(&TableCount),
) -> Result<CopyReport> {
    if from == to {
        return Err(
            Error::usage(format!("copy: --from and --to both name {from}"))
                .hint("name the database to copy into with --to"),
        );
    }
    let mut source = store::open(from, OpenMode::Existing)?;
    let fresh = store::is_new_file(to);
    let mut dest = store::open(to, OpenMode::Create)?;
    for table in TABLES {
        let rows = dest.count_rows(table)?;
        if rows > 0 {
            return Err(Error::usage(format!(
                "copy: {to} already holds data ({rows} rows in `{}`); nothing was copied",
                table.name
            ))
            .hint("copy into a new, empty database"));
        }
    }
    source.begin_write()?;
    // Read under the source's writer lock, as its rows are; the destination's counters that move
    // only by committing DDL move now, while its tables are empty.
    let highest = source.highest_ids()?;
    dest.before_copy(&highest)?;
    dest.begin_write()?;
    let outcome = copy_tables(source.as_mut(), dest.as_mut(), &highest, &mut progress);
    let _ = source.rollback();
    match outcome {
        Ok(tables) => {
            dest.commit()?;
            Ok(CopyReport {
                from: from.to_string(),
                to: to.to_string(),
                rows: tables.iter().map(|t| t.rows).sum(),
                tables,
            })
        }
        Err(error) => {
            let _ = dest.rollback();
            drop(dest);
            if fresh {
                store::remove_if_empty(to);
            }
            Err(error.context(format!(
                "copy from {from} to {to} failed; {to} is unchanged"
            )))
        }
    }
}

fn copy_tables(
    source: &mut dyn Store,
    dest: &mut dyn Store,
    highest: &[(&'static str, i64)],
    progress: &mut dyn FnMut(&TableCount),
) -> Result<Vec<TableCount>> {
    let mut counts = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        let expected = source.count_rows(table)?;
        let mut batch: Vec<Vec<Cell>> = Vec::with_capacity(BATCH);
        let mut written = 0u64;
        let mut bytes = 0usize;
        source.read_table(table, &mut |row| {
            bytes += row.iter().map(Cell::payload_len).sum::<usize>();
            batch.push(row);
            if batch.len() == BATCH || bytes >= BATCH_BYTES {
                dest.write_rows(table, &batch)?;
                written += batch.len() as u64;
                batch.clear();
                bytes = 0;
            }
            Ok(())
        })?;
        dest.write_rows(table, &batch)?;
        written += batch.len() as u64;
        let landed = dest.count_rows(table)?;
        if written != expected || landed != expected {
            return Err(Error::database(format!(
                "table `{}`: the source has {expected} rows, {written} were read and {landed} landed",
                table.name
            )));
        }
        let count = TableCount {
            table: table.name,
            rows: expected,
        };
        progress(&count);
        counts.push(count);
    }
    dest.finish_copy(highest)?;
    Ok(counts)
}
