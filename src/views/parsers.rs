//! `### parsers`: the report formats probtrack reads.

use serde::Serialize;

/// One format: the name `--parser` takes, and what it reads.
#[derive(Serialize)]
pub(crate) struct ParserView {
    pub name: &'static str,
    pub description: &'static str,
}

/// Every registered format.
pub(crate) fn all() -> Vec<ParserView> {
    probtrack_parsers::registry()
        .iter()
        .map(|f| ParserView {
            name: f.name(),
            description: f.description(),
        })
        .collect()
}
