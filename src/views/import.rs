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
    /// `import --buildbot`: complete builds that had none of the steps' logs and no test results
    /// (not recorded, as the `ProbtrackIngest` step records none; 0 for a directory).
    pub no_results: usize,
}

impl View for ImportSummary {}
