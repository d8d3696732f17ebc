//! `## Test identities`: `{candidates: [...]}`, what `history` and `since` print with
//! `--format json` when a part of a name matches several tests.

use serde::Serialize;

use crate::views::View;

#[derive(Serialize)]
pub(crate) struct Candidates<'a> {
    pub candidates: &'a [String],
}

impl View for Candidates<'_> {}
