//! `### prune`: one element per lane, what went (or would go).

use serde::Serialize;

/// What a prune drops on one lane.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct LanePrune {
    pub builder: String,
    pub branch: Option<String>,
    /// Builds dropped, and their numbers.
    pub builds: usize,
    pub from: Option<i64>,
    pub to: Option<i64>,
    /// Builds kept older than the horizon because a Problem needs them.
    pub kept_for_problems: usize,
}
