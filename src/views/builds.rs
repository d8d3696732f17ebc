//! `### builds`: recent builds, newest first.

use serde::Serialize;

use crate::store::Counts;
use crate::views::ChangeView;

/// One build.
#[derive(Serialize)]
pub(crate) struct BuildView {
    pub builder: String,
    pub build: i64,
    pub branch: Option<String>,
    pub revision: Option<String>,
    pub time: String,
    pub result: Option<String>,
    pub counts: Counts,
    /// Its blamelist, oldest first.
    pub changes: Vec<ChangeView>,
    /// The `--property` values, an object.
    pub properties: serde_json::Value,
}
