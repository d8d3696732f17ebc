//! Coverage reports read before ingest's transaction: each one parsed (with `--coverage-parser`,
//! else the format its first bytes show) into one merged [`Coverage`] of the build, so that a
//! report that cannot be parsed stops the ingest before the database is touched.

use std::io::{BufReader, Read};

use probtrack_parsers::coverage::{self as formats, Coverage, CoverageCollector, CoverageFormat};
use probtrack_parsers::{ParseOptions, SNIFF_LEN};

use crate::error::{Error, Result};
use crate::ingest::Source;

/// One coverage report of the build, as `reports` records it.
#[derive(Clone, Debug)]
pub(crate) struct CoverageReport {
    pub(crate) name: String,
    pub(crate) hash: [u8; 32],
    pub(crate) parser: &'static str,
    /// The source files it names.
    pub(crate) files: u64,
}

/// The build's coverage reports, merged.
#[derive(Clone, Debug, Default)]
pub(crate) struct CoverageInput {
    pub(crate) reports: Vec<CoverageReport>,
    pub(crate) coverage: Coverage,
}

/// The first bytes of a report.
pub(crate) fn head(source: &Source) -> Result<Vec<u8>> {
    let mut head = Vec::with_capacity(SNIFF_LEN);
    source
        .reader()?
        .take(SNIFF_LEN as u64)
        .read_to_end(&mut head)
        .map_err(|e| Error::bad_input(format!("cannot read {}: {e}", source.name)))?;
    Ok(head)
}

/// Whether a report (sniffed, no `--parser` given) is coverage rather than test results: the
/// first plugin whose rule claims it (test-report and coverage plugins, in name order) produces
/// coverage, or none claims it and a coverage format recognises it.
pub(crate) fn is_coverage(source: &Source) -> Result<bool> {
    use crate::plugin::Produces;
    let head = head(source)?;
    let kinds = [Produces::Results, Produces::Coverage];
    Ok(match crate::plugin::claim(&kinds, &source.name, &head) {
        Some(plugin) => plugin.produces() == Produces::Coverage,
        None => formats::detect(&head).is_some(),
    })
}

/// The coverage plugin whose rule the report meets, else the built-in format that recognises it.
fn detect(source: &Source, head: &[u8]) -> Option<&'static dyn CoverageFormat> {
    crate::plugin::detect_coverage(&source.name, head).or_else(|| formats::detect(head))
}

/// Reads every coverage report into one merged coverage, paths relative to `source_root` (a
/// directory, made absolute; or a Go module path), else without the directories all absolute
/// paths share.
pub(crate) fn read(
    sources: &[&Source],
    parser: Option<&'static dyn CoverageFormat>,
    source_root: Option<&str>,
) -> Result<Option<CoverageInput>> {
    if sources.is_empty() {
        return Ok(None);
    }
    let root = source_root.map(|r| {
        std::fs::canonicalize(r)
            .ok()
            .filter(|p| p.is_dir())
            .map_or_else(|| r.to_owned(), |p| p.display().to_string())
    });
    let mut collector = CoverageCollector::new();
    let mut reports = Vec::with_capacity(sources.len());
    for source in sources {
        let format = match parser {
            Some(format) => format,
            // A plugin whose rule the report meets comes first: it was registered for it.
            None => detect(source, &head(source)?).ok_or_else(|| {
                let names: Vec<&str> = (formats::registry().iter().map(|f| f.name()))
                    .chain(crate::plugin::of(crate::plugin::Produces::Coverage).map(|p| p.name()))
                    .collect();
                Error::bad_input(format!(
                    "cannot tell the format of coverage report {}: none of the coverage parsers \
                     ({}) recognises it",
                    source.name,
                    names.join(", ")
                ))
                .hint("name it with --coverage-parser, or check that this is a coverage report")
            })?,
        };
        let options = ParseOptions {
            source: source.name.clone(),
            source_root: root.clone(),
        };
        let before = collector_files(&collector);
        let mut input = BufReader::with_capacity(256 * 1024, source.reader()?);
        collector.read(format, &mut input, &options)?;
        reports.push(CoverageReport {
            name: source.name.clone(),
            hash: source.hash,
            parser: format.name(),
            files: collector_files(&collector).saturating_sub(before),
        });
    }
    // (A source path with control characters is refused by the parser, at its place.)
    let coverage = collector.finish(root.as_deref());
    Ok(Some(CoverageInput { reports, coverage }))
}

/// How many distinct source files the collector holds so far (for each report's count).
fn collector_files(collector: &CoverageCollector) -> u64 {
    collector.files() as u64
}
