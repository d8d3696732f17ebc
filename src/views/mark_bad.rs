//! `### link, note, mark-bad, unmark-bad, rename`: of these, only `mark-bad --list` prints a
//! view, the known-bad ranges.

use serde::Serialize;

#[derive(Serialize)]
pub(crate) struct RangeView {
    pub builder: String,
    pub from: i64,
    /// Null: every later build too.
    pub to: Option<i64>,
    pub reason: String,
    pub time: String,
}
