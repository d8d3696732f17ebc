//! The interface every report format implements, the registry of formats, and sniffing.

use std::io::BufRead;

use bstr::BString;
use chrono::{DateTime, Utc};

use crate::error::ParseError;
use crate::model::TestResult;

/// How many leading bytes of a report [`detect`] hands to [`Format::sniff`].
pub const SNIFF_LEN: usize = 64 * 1024;

/// How likely a report is of a format, from 0 (certainly not) to 100 (certainly).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Confidence(pub u8);

impl Confidence {
    pub const NONE: Confidence = Confidence(0);
    /// A few lines look like the format, as they might in any log.
    pub const LOW: Confidence = Confidence(25);
    /// The format's typical shape, without its unmistakable markers.
    pub const MEDIUM: Confidence = Confidence(50);
    /// The format's own markers (an XML root element, a runner's summary line).
    pub const HIGH: Confidence = Confidence(90);
}

/// What a caller knows about a report besides its bytes.
#[derive(Clone, Debug, Default)]
pub struct ParseOptions {
    /// The name errors and warnings use for the report: its path as the user gave it, or `-`.
    pub source: String,
    /// Compiler diagnostics: the directory that file paths are made relative to. Without it the
    /// longest directory prefix common to the compiled files is stripped.
    pub source_root: Option<String>,
}

impl ParseOptions {
    pub fn new(source: impl Into<String>) -> Self {
        ParseOptions {
            source: source.into(),
            source_root: None,
        }
    }
}

/// Where a parser sends what it finds, in the order it finds it.
pub trait Sink {
    /// One result of one test. A test may be reported more than once (a retry); see
    /// [`crate::Collector`] for how repeats are merged.
    fn result(&mut self, result: TestResult);
    /// A source file the log shows being compiled (compiler logs only).
    fn compiled(&mut self, _file: BString) {}
    /// Something odd that did not stop the parse (e.g. a summary line that disagrees with the
    /// results found). The text names the report.
    fn warning(&mut self, _message: String) {}
    /// The time the report says its run happened.
    fn timestamp(&mut self, _time: DateTime<Utc>) {}
}

/// A report format.
pub trait Format: Sync {
    /// The name `--parser` takes.
    fn name(&self) -> &'static str;
    /// One line for `probtrack parsers`.
    fn description(&self) -> &'static str;
    /// A cheap look at the first bytes (at most [`SNIFF_LEN`]) of a report.
    fn sniff(&self, head: &[u8]) -> Confidence;
    /// Reads the whole report, streaming: memory must not grow with the report's size beyond the
    /// results themselves.
    fn parse(
        &self,
        input: &mut dyn BufRead,
        options: &ParseOptions,
        sink: &mut dyn Sink,
    ) -> Result<(), ParseError>;
}

/// Every format probtrack reads, in the order `probtrack parsers` lists them.
pub fn registry() -> &'static [&'static dyn Format] {
    &[
        // One line per format.
        &crate::junit::JUnit,
        &crate::trial::Trial,
        &crate::gcc::Gcc,
        &crate::dotnet::Trx,
        &crate::dotnet::NUnit,
        &crate::gotest::GoTest,
        &crate::tap::Tap,
        &crate::libtest::Libtest,
        &crate::unittest::Unittest,
    ]
}

/// The format whose sniff is most confident about `head`, if any is at all.
pub fn detect(head: &[u8]) -> Option<&'static dyn Format> {
    registry()
        .iter()
        .map(|format| (format.sniff(head), *format))
        .filter(|(confidence, _)| *confidence > Confidence::NONE)
        .max_by_key(|(confidence, _)| *confidence)
        .map(|(_, format)| format)
}
