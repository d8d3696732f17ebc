//! Output for people and for programs: tables, JSON and CSV. The only module that formats for
//! humans; commands build a view (plain serde data in the shape `docs/output.md` documents) and
//! hand it here.

use std::io::Write;

use bstr::ByteSlice;
use clap::ValueEnum;
use comfy_table::{presets, Cell, Color, ContentArrangement, Table};
use probtrack_parsers::Status;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::views::View;

pub(crate) mod html;

/// `--format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum OutputFormat {
    /// A table for people (fits the terminal).
    Table,
    /// JSON for programs; keys documented in docs/output.md.
    Json,
    /// CSV: one row per item, nested objects flattened as `key.sub`, lists joined with `;`.
    Csv,
}

/// Where output goes and how it may look.
pub(crate) struct Out<'a> {
    pub writer: &'a mut dyn Write,
    pub color: bool,
}

impl Out<'_> {
    pub(crate) fn json<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        serde_json::to_writer_pretty(&mut *self.writer, value).map_err(io_error)?;
        writeln!(self.writer).map_err(io)?;
        Ok(())
    }

    /// Prints `view` in `format`: its JSON, its CSV rows, or the table that `table` draws.
    pub(crate) fn view<V: View + ?Sized>(
        &mut self,
        format: OutputFormat,
        view: &V,
        table: impl FnOnce(&mut Self, &V) -> Result<()>,
    ) -> Result<()> {
        match format {
            OutputFormat::Json => self.json(view),
            OutputFormat::Csv => self.csv(&view.csv_rows()),
            OutputFormat::Table => table(self, view),
        }
    }

    /// Writes `value` (a list of objects) as CSV.
    pub(crate) fn csv<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        let value = serde_json::to_value(value).map_err(io_error)?;
        let items = match value {
            serde_json::Value::Array(items) => items,
            other => vec![other],
        };
        let rows: Vec<Vec<(String, String)>> = items
            .iter()
            .map(|item| {
                let mut row = Vec::new();
                flatten("", item, &mut row);
                row
            })
            .collect();
        let mut columns: Vec<String> = Vec::new();
        for row in &rows {
            for (key, _) in row {
                if !columns.contains(key) {
                    columns.push(key.clone());
                }
            }
        }
        // A null where other rows have an object: its `key.sub` columns stay empty.
        let nested: Vec<String> = columns
            .iter()
            .filter(|c| columns.iter().any(|d| d.starts_with(&format!("{c}."))))
            .cloned()
            .collect();
        columns.retain(|c| !nested.contains(c));
        let mut writer = csv::Writer::from_writer(&mut *self.writer);
        writer.write_record(&columns).map_err(csv_error)?;
        for row in rows {
            let record = columns.iter().map(|column| {
                row.iter()
                    .find(|(key, _)| key == column)
                    .map_or("", |(_, value)| value.as_str())
            });
            writer.write_record(record).map_err(csv_error)?;
        }
        writer.flush().map_err(io)?;
        Ok(())
    }

    /// A table with a header row. Cells are already made safe with [`safe`].
    pub(crate) fn table(&mut self, header: &[&str], rows: Vec<Vec<Cell>>) -> Result<()> {
        let mut table = Table::new();
        table
            .load_preset(presets::UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_header(header.iter().map(Cell::new));
        if !self.color {
            table.force_no_tty();
        } else {
            table.enforce_styling();
        }
        for row in rows {
            table.add_row(row);
        }
        writeln!(self.writer, "{table}").map_err(io)?;
        Ok(())
    }

    pub(crate) fn line(&mut self, text: &str) -> Result<()> {
        writeln!(self.writer, "{text}").map_err(io)
    }

    /// A failure that is flaky evidence: `failed (flake)`.
    pub(crate) fn flake_cell(&self, status: Status) -> Cell {
        let cell = Cell::new(format!("{} (flake)", status.as_str()));
        if self.color {
            cell.fg(Color::Yellow)
        } else {
            cell
        }
    }

    /// A status cell, coloured where colour is on.
    pub(crate) fn status_cell(&self, status: Status) -> Cell {
        let cell = Cell::new(status.as_str());
        if !self.color {
            return cell;
        }
        match status {
            Status::Passed => cell.fg(Color::Green),
            Status::Failed | Status::Error => cell.fg(Color::Red),
            Status::Flaky | Status::UnexpectedSuccess => cell.fg(Color::Yellow),
            Status::Skipped | Status::ExpectedFailure => cell.fg(Color::DarkGrey),
        }
    }
}

fn flatten(prefix: &str, value: &serde_json::Value, row: &mut Vec<(String, String)>) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                let key = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                flatten(&key, value, row);
            }
        }
        other => row.push((prefix.to_owned(), scalar(other))),
    }
}

fn scalar(value: &serde_json::Value) -> String {
    use serde_json::Value;
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(scalar).collect::<Vec<_>>().join(";"),
        Value::Object(map) => map.values().map(scalar).collect::<Vec<_>>().join(" "),
        other => other.to_string(),
    }
}

/// Text from a report, made safe for a terminal: invalid UTF-8 shown as `\xNN`, control characters
/// and escape sequences shown escaped, never sent as they are.
pub(crate) fn safe(text: &[u8]) -> String {
    let mut out = String::with_capacity(text.len());
    for chunk in text.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() {
                match c {
                    '\n' => out.push_str("\\n"),
                    '\t' => out.push_str("\\t"),
                    '\r' => out.push_str("\\r"),
                    c => out.push_str(&c.escape_unicode().to_string()),
                }
            } else {
                out.push(c);
            }
        }
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02X}"));
        }
    }
    out
}

/// Like [`safe`], on one line of at most `max` characters (with `…` where cut).
pub(crate) fn safe_short(text: &[u8], max: usize) -> String {
    let first = text.lines().next().unwrap_or_default();
    let mut s = safe(first);
    if s.chars().count() > max {
        s = s.chars().take(max.saturating_sub(1)).collect::<String>() + "…";
    } else if first.len() < text.trim_end().len() {
        s.push_str(" …");
    }
    s
}

/// The first 10 characters of a revision, as people read them.
pub(crate) fn short_rev(revision: &str) -> &str {
    revision.get(..10).unwrap_or(revision)
}

/// `Name <email>` → `Name`.
pub(crate) fn short_author(author: &str) -> &str {
    author.split(" <").next().unwrap_or(author).trim()
}

/// Text from a report as a JSON string: lossy where it is not valid UTF-8 (JSON has no bytes).
pub(crate) fn lossy(text: &[u8]) -> String {
    text.to_str_lossy().into_owned()
}

fn io(error: std::io::Error) -> Error {
    Error::new(
        crate::error::ErrorKind::Usage,
        format!("cannot write output: {error}"),
    )
    .with_io(error)
}

fn io_error(error: serde_json::Error) -> Error {
    match error.io_error_kind() {
        Some(kind) => io(std::io::Error::from(kind)),
        None => Error::bad_input(format!("cannot write JSON: {error}")),
    }
}

fn csv_error(error: csv::Error) -> Error {
    match error.into_kind() {
        csv::ErrorKind::Io(e) => io(e),
        other => Error::bad_input(format!("cannot write CSV: {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_escapes_controls_and_bad_bytes() {
        assert_eq!(
            safe(b"a\x1b[31mred\x07\n\xff"),
            "a\\u{1b}[31mred\\u{7}\\n\\xFF"
        );
        assert_eq!(safe("ünïcode".as_bytes()), "ünïcode");
    }
}
