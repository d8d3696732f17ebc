//! `### copy --from DB_URL --to DB_URL`: every table with the rows copied.

use serde::Serialize;

use crate::views::View;

/// One table and its rows.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct TableCount {
    pub table: &'static str,
    pub rows: u64,
}

/// What a copy did.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct CopyReport {
    pub from: String,
    pub to: String,
    pub tables: Vec<TableCount>,
    pub rows: u64,
}

/// CSV: one row per table.
impl View for CopyReport {
    fn csv_rows(&self) -> impl Serialize + '_ {
        &self.tables
    }
}
