//! The plain data a parser produces: one [`TestResult`] per test outcome.

use std::fmt;
use std::str::FromStr;

use bstr::BString;
use serde::{Deserialize, Serialize};

/// Free-form details of a result (`runner_id`, `line`, `column`, `flag`, `count`, `text`, …).
pub type Details = serde_json::Map<String, serde_json::Value>;

/// The outcome of one test in one build. One spelling everywhere, JSON included.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Passed,
    Failed,
    Error,
    Skipped,
    ExpectedFailure,
    UnexpectedSuccess,
    /// Failed, then passed on a retry within the same build.
    Flaky,
}

impl Status {
    /// Every status, in the order reports and counts list them.
    pub const ALL: [Status; 7] = [
        Status::Passed,
        Status::Failed,
        Status::Error,
        Status::Skipped,
        Status::ExpectedFailure,
        Status::UnexpectedSuccess,
        Status::Flaky,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Passed => "passed",
            Status::Failed => "failed",
            Status::Error => "error",
            Status::Skipped => "skipped",
            Status::ExpectedFailure => "expected_failure",
            Status::UnexpectedSuccess => "unexpected_success",
            Status::Flaky => "flaky",
        }
    }

    /// `failed` and `error`: the outcomes that open or continue a Problem.
    pub fn is_failing(self) -> bool {
        matches!(self, Status::Failed | Status::Error)
    }

    /// `passed`, `flaky`, `expected_failure`, `unexpected_success`: the outcomes that fix a Problem.
    pub fn is_passing(self) -> bool {
        matches!(
            self,
            Status::Passed | Status::Flaky | Status::ExpectedFailure | Status::UnexpectedSuccess
        )
    }

    /// A small stable code, used where statuses are stored compactly.
    pub fn code(self) -> u8 {
        match self {
            Status::Passed => 0,
            Status::Failed => 1,
            Status::Error => 2,
            Status::Skipped => 3,
            Status::ExpectedFailure => 4,
            Status::UnexpectedSuccess => 5,
            Status::Flaky => 6,
        }
    }

    pub fn from_code(code: u8) -> Option<Status> {
        Status::ALL.get(usize::from(code)).copied()
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Status::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| format!("unknown status `{s}`"))
    }
}

/// What kind of thing a result is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A test case run by a test runner.
    Test,
    /// A compiler diagnostic: a warning is `failed`, an error `error`.
    Compile,
    /// A build metric's series (`NAME{param=value,...}`): no report yields it as a result; it is
    /// the kind of the series' identity and of its Problems (steps in the series).
    Metric,
    /// A source file's coverage (its relative path): no report yields it as a result; it is the
    /// kind of the file's identity and of its Problems (lines that lost coverage, or new code
    /// that landed uncovered).
    Coverage,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Test => "test",
            Kind::Compile => "compile",
            Kind::Metric => "metric",
            Kind::Coverage => "coverage",
        }
    }

    pub fn code(self) -> u8 {
        match self {
            Kind::Test => 0,
            Kind::Compile => 1,
            Kind::Metric => 2,
            Kind::Coverage => 3,
        }
    }

    pub fn from_code(code: u8) -> Option<Kind> {
        match code {
            0 => Some(Kind::Test),
            1 => Some(Kind::Compile),
            2 => Some(Kind::Metric),
            3 => Some(Kind::Coverage),
            _ => None,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "test" => Ok(Kind::Test),
            "compile" => Ok(Kind::Compile),
            "metric" => Ok(Kind::Metric),
            "coverage" => Ok(Kind::Coverage),
            _ => Err(format!(
                "unknown kind `{s}` (expected `test`, `compile`, `metric` or `coverage`)"
            )),
        }
    }
}

/// One outcome of one test (or one compiler diagnostic) in one report.
///
/// `test` and `message` are byte strings: reports are kept faithfully, including bytes that are not
/// valid UTF-8; they are conventionally UTF-8 and shown lossily.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TestResult {
    /// The test's identity (see `docs/parsers.md` for each format's rule).
    pub test: BString,
    pub kind: Kind,
    pub status: Status,
    /// Seconds, where the report gives a duration.
    pub duration: Option<f64>,
    /// The failure, error or skip message, where there is one.
    pub message: Option<BString>,
    /// How many times the test ran in this report (≥ 1).
    pub attempts: u32,
    pub details: Details,
}

impl TestResult {
    /// A result with one attempt, no duration, no message and no details.
    pub fn new(test: impl Into<BString>, kind: Kind, status: Status) -> Self {
        TestResult {
            test: test.into(),
            kind,
            status,
            duration: None,
            message: None,
            attempts: 1,
            details: Details::new(),
        }
    }
}
