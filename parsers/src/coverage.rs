//! Coverage reports: which lines of which source files a build's tests ran, and how often.
//!
//! The same shape as the test-report and metric sides of the crate, kept apart from them: a
//! [`CoverageFormat`] reads a report and hands each file's lines to a [`CoverageSink`];
//! [`registry`] lists the formats, [`detect`] picks one by sniffing the first bytes, and a
//! [`CoverageCollector`] merges any number of reports of one build (parallel jobs, several
//! languages) into one [`Coverage`]: file → line → hits, with branches where the format has them,
//! paths made relative to the source root. Errors are the crate's [`ParseError`] (file, line,
//! column, structural path); nothing here panics on any input.
//!
//! Every reader streams: XML through quick-xml over the same bounded input the JUnit reader uses,
//! lcov and Go profiles through a capped line reader, JSON through serde's streaming visitors
//! (one source file's data at a time). Memory grows with the coverage found (one entry per line),
//! not with the report's size; [`MAX_LINE_NUMBER`], [`MAX_LINES`] and [`MAX_PATH_LEN`] bound what
//! hostile input can make it hold.
//!
//! Adding a format is one module that implements [`CoverageFormat`] and one line in [`registry`].

mod cobertura;
mod coverage_py;
mod go;
mod jacoco;
mod json;
mod lcov;
mod llvm;
mod paths;
#[cfg(test)]
mod tests;
mod xml;

use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;

use crate::error::{ParseError, ParseErrorKind};
use crate::format::{Confidence, ParseOptions, SNIFF_LEN};

pub use cobertura::Cobertura;
pub use coverage_py::CoveragePyJson;
pub use go::GoCoverProfile;
pub use jacoco::JaCoCo;
pub use lcov::Lcov;
pub use llvm::LlvmCovJson;

/// The highest line number a report may name (a source file of ten million lines).
pub const MAX_LINE_NUMBER: u32 = 10_000_000;
/// The most lines one report may give (with repeats): a bound on memory and time.
pub const MAX_LINES: u64 = 20_000_000;
/// The longest source path a report may name, in bytes.
pub const MAX_PATH_LEN: usize = 4096;

/// A line's branches (the outcomes of its conditions): how many were taken, of how many.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Branches {
    pub covered: u32,
    pub total: u32,
}

/// One line of one file: how often it ran, and its branches where the format records them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LineCoverage {
    pub hits: u64,
    pub branches: Option<Branches>,
}

impl LineCoverage {
    pub fn covered(&self) -> bool {
        self.hits > 0
    }

    /// Ran, but not every branch of it was taken.
    pub fn partial(&self) -> bool {
        self.covered() && self.branches.is_some_and(|b| b.covered < b.total)
    }

    /// The two lines as one: hits add up; of the branches, the larger count of each is kept
    /// (reports give counts, not which branch, so this is the lower bound of the union).
    pub fn merge(&mut self, other: LineCoverage) {
        self.hits = self.hits.saturating_add(other.hits);
        self.branches = match (self.branches, other.branches) {
            (Some(a), Some(b)) => {
                let total = a.total.max(b.total);
                Some(Branches {
                    covered: a.covered.max(b.covered).min(total),
                    total,
                })
            }
            (a, b) => a.or(b),
        };
    }
}

/// Where a coverage parser sends what it finds.
pub trait CoverageSink {
    /// The file the following [`CoverageSink::line`]s belong to, as the report writes it.
    /// `rooted`: the path does not start at the report's directory (Go's import paths); absolute
    /// paths are known as such anyway. Both lose the source root, or without one the directories
    /// they all share.
    fn file(&mut self, path: &str, rooted: bool);
    /// One executable line of the current file. A line may come more than once (a report that
    /// lists a file twice, Cobertura's classes of one file): the repeats are merged.
    fn line(&mut self, line: u32, coverage: LineCoverage);
    /// Something odd that did not stop the parse. The text names the report.
    fn warning(&mut self, _message: String) {}
}

/// A coverage report format.
pub trait CoverageFormat: Sync {
    /// The name `--coverage-parser` takes.
    fn name(&self) -> &'static str;
    /// One line for a listing of formats.
    fn description(&self) -> &'static str;
    /// A cheap look at the first bytes (at most [`SNIFF_LEN`]) of a report.
    fn sniff(&self, head: &[u8]) -> Confidence;
    /// Reads the whole report, streaming.
    fn parse(
        &self,
        input: &mut dyn BufRead,
        options: &ParseOptions,
        sink: &mut dyn CoverageSink,
    ) -> Result<(), ParseError>;
}

/// Every coverage format, in the order a listing shows them.
pub fn registry() -> &'static [&'static dyn CoverageFormat] {
    &[
        // One line per format.
        &Cobertura,
        &Lcov,
        &JaCoCo,
        &CoveragePyJson,
        &GoCoverProfile,
        &LlvmCovJson,
    ]
}

/// The coverage format named `name`.
pub fn by_name(name: &str) -> Option<&'static dyn CoverageFormat> {
    registry().iter().copied().find(|f| f.name() == name)
}

/// The format whose sniff is most confident about `head` (the first [`SNIFF_LEN`] bytes), if
/// any is at all.
pub fn detect(head: &[u8]) -> Option<&'static dyn CoverageFormat> {
    let head = &head[..head.len().min(SNIFF_LEN)];
    registry()
        .iter()
        .map(|format| (format.sniff(head), *format))
        .filter(|(confidence, _)| *confidence > Confidence::NONE)
        .max_by_key(|(confidence, _)| *confidence)
        .map(|(_, format)| format)
}

/// One source file's coverage: its lines in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileCoverage {
    /// Relative to the source root, `/`-separated.
    pub path: String,
    pub lines: BTreeMap<u32, LineCoverage>,
}

impl FileCoverage {
    /// Lines that ran, and executable lines.
    pub fn line_totals(&self) -> (u64, u64) {
        let covered = self.lines.values().filter(|l| l.covered()).count() as u64;
        (covered, self.lines.len() as u64)
    }

    /// Branches taken, and branches.
    pub fn branch_totals(&self) -> (u64, u64) {
        self.lines
            .values()
            .filter_map(|l| l.branches)
            .fold((0, 0), |(c, t), b| {
                (c + u64::from(b.covered), t + u64::from(b.total))
            })
    }
}

/// A build's coverage: every file of every report, merged, in path order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Coverage {
    pub files: Vec<FileCoverage>,
    pub warnings: Vec<String>,
}

impl Coverage {
    /// The file at `path`, if the reports named it.
    pub fn file(&self, path: &str) -> Option<&FileCoverage> {
        self.files
            .binary_search_by(|f| f.path.as_str().cmp(path))
            .ok()
            .map(|at| &self.files[at])
    }

    /// Lines that ran, and executable lines, over all files.
    pub fn line_totals(&self) -> (u64, u64) {
        self.files
            .iter()
            .map(FileCoverage::line_totals)
            .fold((0, 0), |(c, t), (fc, ft)| (c + fc, t + ft))
    }
}

struct Entry {
    path: String,
    rooted: bool,
    lines: BTreeMap<u32, LineCoverage>,
}

/// A [`CoverageSink`] that merges every report of one build: parse each report into it, then
/// [`CoverageCollector::finish`] with the source root.
#[derive(Default)]
pub struct CoverageCollector {
    index: HashMap<(String, bool), usize>,
    entries: Vec<Entry>,
    current: Option<usize>,
    warnings: Vec<String>,
}

impl CoverageCollector {
    pub fn new() -> Self {
        Self::default()
    }

    /// How many source files (as the reports name them, before paths are made relative) the
    /// collection holds.
    pub fn files(&self) -> usize {
        self.entries.len()
    }

    /// Reads one report with `format` into the collection. On an error the collection may hold
    /// part of the report: a caller that stores nothing on error drops the collector.
    pub fn read(
        &mut self,
        format: &dyn CoverageFormat,
        input: &mut dyn BufRead,
        options: &ParseOptions,
    ) -> Result<(), ParseError> {
        self.current = None;
        let result = format.parse(input, options, self);
        self.current = None;
        result
    }

    /// The merged coverage, paths made relative: under `source_root` when one is given (an
    /// absolute directory, or the import-path prefix of a Go module), else without the
    /// directories that every absolute or rooted path shares.
    pub fn finish(self, source_root: Option<&str>) -> Coverage {
        let root = paths::Root::new(
            source_root,
            self.entries
                .iter()
                .filter(|e| e.rooted)
                .map(|e| e.path.as_str()),
        );
        let mut merged: BTreeMap<String, BTreeMap<u32, LineCoverage>> = BTreeMap::new();
        for entry in self.entries {
            let path = if entry.rooted {
                root.relativize(&entry.path)
            } else {
                root.relativize_relative(&entry.path)
            };
            match merged.get_mut(&path) {
                None => {
                    merged.insert(path, entry.lines);
                }
                Some(lines) => {
                    for (number, line) in entry.lines {
                        lines.entry(number).or_default().merge(line);
                    }
                }
            }
        }
        Coverage {
            files: merged
                .into_iter()
                .map(|(path, lines)| FileCoverage { path, lines })
                .collect(),
            warnings: self.warnings,
        }
    }
}

impl CoverageSink for CoverageCollector {
    fn file(&mut self, path: &str, rooted: bool) {
        let path = paths::normalize(path);
        let rooted = rooted || paths::is_absolute(&path);
        let key = (path, rooted);
        let at = match self.index.get(&key) {
            Some(&at) => at,
            None => {
                let at = self.entries.len();
                self.entries.push(Entry {
                    path: key.0.clone(),
                    rooted,
                    lines: BTreeMap::new(),
                });
                self.index.insert(key, at);
                at
            }
        };
        self.current = Some(at);
    }

    fn line(&mut self, line: u32, coverage: LineCoverage) {
        // Parsers name a file before its lines; a line without one has nowhere to go.
        if let Some(at) = self.current {
            self.entries[at]
                .lines
                .entry(line)
                .or_default()
                .merge(coverage);
        }
    }

    fn warning(&mut self, message: String) {
        self.warnings.push(message);
    }
}

/// Parses one report with `format` and finishes it alone (no other reports to merge).
pub fn collect(
    format: &dyn CoverageFormat,
    input: &mut dyn BufRead,
    options: &ParseOptions,
) -> Result<Coverage, ParseError> {
    let mut collector = CoverageCollector::new();
    collector.read(format, input, options)?;
    Ok(collector.finish(options.source_root.as_deref()))
}

/// What every parser sends through: checks line numbers, path lengths and the line budget, so
/// that each format need not.
pub(crate) struct Out<'s> {
    sink: &'s mut dyn CoverageSink,
    source: &'s str,
    lines: u64,
    zero_warned: bool,
    has_file: bool,
}

impl<'s> Out<'s> {
    pub(crate) fn new(sink: &'s mut dyn CoverageSink, source: &'s str) -> Self {
        Out {
            sink,
            source,
            lines: 0,
            zero_warned: false,
            has_file: false,
        }
    }

    pub(crate) fn file(&mut self, path: &str, rooted: bool) -> Result<(), ParseErrorKind> {
        check_path(path)?;
        self.has_file = true;
        self.sink.file(path, rooted);
        Ok(())
    }

    /// One line; `line` as the report wrote it (0 is skipped with a warning: lines count from 1).
    pub(crate) fn line(
        &mut self,
        line: u64,
        hits: u64,
        branches: Option<Branches>,
    ) -> Result<(), ParseErrorKind> {
        if !self.has_file {
            return Err(ParseErrorKind::Other(
                "a line of coverage before any source file is named".into(),
            ));
        }
        if line == 0 {
            if !self.zero_warned {
                self.zero_warned = true;
                self.sink.warning(format!(
                    "{}: coverage of line 0 left out (lines count from 1)",
                    self.source
                ));
            }
            return Ok(());
        }
        if line > u64::from(MAX_LINE_NUMBER) {
            return Err(ParseErrorKind::LimitExceeded(format!(
                "line number {line}; a source file may have at most {MAX_LINE_NUMBER} lines"
            )));
        }
        self.lines += 1;
        if self.lines > MAX_LINES {
            return Err(ParseErrorKind::LimitExceeded(format!(
                "more than {MAX_LINES} lines of coverage in one report"
            )));
        }
        let branches = branches.map(|b| Branches {
            covered: b.covered.min(b.total),
            total: b.total,
        });
        self.sink.line(line as u32, LineCoverage { hits, branches });
        Ok(())
    }
}

/// A source path a report may name: not empty, at most [`MAX_PATH_LEN`] bytes, and without
/// control characters (no file a build compiled has them, and they would reach terminals and the
/// HTML pages' file names).
pub(crate) fn check_path(path: &str) -> Result<(), ParseErrorKind> {
    if path.len() > MAX_PATH_LEN {
        return Err(ParseErrorKind::LimitExceeded(format!(
            "a source path of {} bytes; the longest allowed is {MAX_PATH_LEN}",
            path.len()
        )));
    }
    if path.is_empty() {
        return Err(ParseErrorKind::Other("an empty source path".into()));
    }
    if path.chars().any(char::is_control) {
        return Err(ParseErrorKind::Other(format!(
            "a source path with control characters: \"{}\"",
            path.chars().take(200).collect::<String>().escape_debug()
        )));
    }
    Ok(())
}

/// Whether `head` (after a byte order mark and white space) starts with `prefix`.
fn starts_with_trimmed(head: &[u8], prefix: &[u8]) -> bool {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let start = head
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(head.len());
    head[start..].starts_with(prefix)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty()
        && haystack.len() >= needle.len()
        && haystack.windows(needle.len()).any(|w| w == needle)
}
