//! `### import DIR --format json`: what an import did.

use crate::views::View;

/// What an import did.
#[derive(Debug, Default, serde::Serialize)]
pub(crate) struct ImportSummary {
    pub builds: usize,
    pub imported: usize,
    /// Builds already in the database.
    pub skipped: usize,
    pub results: u64,
}

impl View for ImportSummary {}
