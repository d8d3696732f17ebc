//! `### parsers`: the report formats probtrack reads.

use serde::Serialize;

/// One format: the name `--parser` takes, and what it reads.
#[derive(Serialize)]
pub(crate) struct ParserView {
    pub name: &'static str,
    pub description: &'static str,
}

/// Every registered format: the built-in ones, then the settings' plugins.
pub(crate) fn all() -> Vec<ParserView> {
    probtrack_parsers::registry()
        .iter()
        .copied()
        .chain(
            crate::plugin::all()
                .iter()
                .map(|p| *p as &dyn probtrack_parsers::Format),
        )
        .map(|f| ParserView {
            name: f.name(),
            description: f.description(),
        })
        .collect()
}
