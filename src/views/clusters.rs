//! `### clusters`: failures grouped by cause, the largest first.

use serde::Serialize;

use crate::views::BuildAt;

#[derive(Serialize)]
pub(crate) struct ClusterView {
    pub id: String,
    /// The masked message and stack frames the failures share.
    pub signature: String,
    pub failures: u64,
    pub tests: Vec<String>,
    pub builders: Vec<String>,
    pub first_seen: BuildAt,
    pub last_seen: BuildAt,
    /// The first line of the latest failure's message, as it was.
    pub message: Option<String>,
}
