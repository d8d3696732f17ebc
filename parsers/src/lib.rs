//! Streaming parsers that turn test and build reports into per-test results.
//!
//! This crate knows nothing of storage or of a command line: a [`Format`] reads a report from a
//! [`std::io::BufRead`] and hands every result it finds to a [`Sink`]. [`registry`] lists the formats,
//! [`detect`] picks one by sniffing the first bytes of a report, and [`collect()`] gathers a report's
//! results into one [`TestResult`] per test, merging retries as the contracts say.
//!
//! Adding a format is one new module that implements [`Format`] and one line in [`registry`].

mod collect;
pub mod coverage;
mod dotnet;
mod error;
mod format;
mod gcc;
mod gotest;
mod junit;
mod libtest;
mod line_reader;
mod lines;
pub mod metrics;
mod model;
#[cfg(test)]
mod robustness_tests;
mod tap;
mod trial;
mod unittest;
mod xml_input;

pub use collect::{collect, repeat_status, Collected, Collector};
pub use dotnet::{NUnit, Trx};
pub use error::{ParseError, ParseErrorKind};
pub use format::{detect, registry, Confidence, Format, ParseOptions, Sink, SNIFF_LEN};
pub use gcc::Gcc;
pub use gotest::GoTest;
pub use junit::JUnit;
pub use libtest::Libtest;
pub use model::{Details, Kind, Status, TestResult};
pub use tap::Tap;
pub use trial::Trial;
pub use unittest::Unittest;
