//! `### users`: who is on the hook, most open Problems first.

use serde::Serialize;

use crate::chat::Handles;

/// A person and the Problems their changes started and fixed.
#[derive(Default, Serialize)]
pub(crate) struct UserView {
    pub user: String,
    pub chat: Option<String>,
    /// The person's handle per chat protocol, null where the users map has none.
    pub handles: Handles,
    pub authors: Vec<String>,
    /// Ids of the open Problems this person's changes started.
    pub open_problems: Vec<i64>,
    /// How many Problems (open or fixed) this person's changes started.
    pub started: u64,
    /// How many Problems this person's changes fixed.
    pub fixed: u64,
}
