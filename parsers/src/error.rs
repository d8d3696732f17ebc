//! Parse errors: where in which report, then what.

use std::fmt;

/// A report that cannot be read. Displays as
/// `failed to parse JUnit XML at reports/a.xml:120:7 (testsuite[0]/testcase[3]/@time): invalid number "1,2.3"`.
#[derive(Debug, thiserror::Error)]
pub struct ParseError {
    /// The format's human name, e.g. `JUnit XML`.
    pub format: &'static str,
    /// The report's name as the caller gave it ([`crate::ParseOptions::source`]).
    pub source_name: String,
    /// 1-based line; 0 when unknown.
    pub line: u64,
    /// 1-based column; 0 when unknown.
    pub column: u64,
    /// Where in the document's structure, e.g. `testsuites/testsuite[0]/testcase[3]/@time`.
    pub path: Option<String>,
    #[source]
    pub kind: ParseErrorKind,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "failed to parse {} at {}", self.format, self.source_name)?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
            if self.column > 0 {
                write!(f, ":{}", self.column)?;
            }
        }
        if let Some(path) = &self.path {
            write!(f, " ({path})")?;
        }
        write!(f, ": {}", self.kind)
    }
}

/// What went wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ParseErrorKind {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The XML is not well-formed (including a file that ends too early).
    #[error("{0}")]
    Xml(String),
    /// The document ends before its root element is closed.
    #[error("unexpected end of file: the report is truncated")]
    Truncated,
    #[error("invalid number {0:?}")]
    InvalidNumber(String),
    /// The document is well-formed but not of the format (e.g. an XML file with another root).
    #[error("{0}")]
    NotThisFormat(String),
    /// A limit that protects memory and time was exceeded (nesting depth, entity expansion, …).
    #[error("{0}")]
    LimitExceeded(String),
    #[error("{0}")]
    Other(String),
}
