//! `### parsers`: the report formats probtrack reads.

use serde::Serialize;

use crate::plugin::Produces;

/// One format: the name `--parser` (`--metrics-parser`, `--coverage-parser`) takes, what it
/// gives, and what it reads.
#[derive(Serialize)]
pub(crate) struct ParserView {
    pub name: &'static str,
    pub description: &'static str,
    /// `results`, `metrics` or `coverage`.
    pub produces: &'static str,
}

/// The registered formats that give one of `kinds`: for each kind the built-in ones, then the
/// settings' plugins.
pub(crate) fn all(kinds: &[Produces]) -> Vec<ParserView> {
    let mut list = Vec::new();
    for &kind in kinds {
        let produces = kind.as_str();
        let builtin: Vec<(&'static str, &'static str)> = match kind {
            Produces::Results => (probtrack_parsers::registry().iter())
                .map(|f| (f.name(), f.description()))
                .collect(),
            Produces::Metrics => (probtrack_parsers::metrics::registry().iter())
                .map(|f| (f.name(), f.description()))
                .collect(),
            Produces::Coverage => (probtrack_parsers::coverage::registry().iter())
                .map(|f| (f.name(), f.description()))
                .collect(),
        };
        let plugins = crate::plugin::of(kind).map(|p| (p.name(), p.description()));
        list.extend(
            builtin
                .into_iter()
                .chain(plugins)
                .map(|(name, description)| ParserView {
                    name,
                    description,
                    produces,
                }),
        );
    }
    list
}
