//! Gathering a report's results into one result per test.

use std::collections::HashMap;
use std::io::BufRead;

use bstr::BString;
use chrono::{DateTime, Utc};

use crate::error::ParseError;
use crate::format::{Format, ParseOptions, Sink};
use crate::model::{Status, TestResult};

/// Everything one report yielded, with one result per test identity (first-seen order).
#[derive(Debug, Default)]
pub struct Collected {
    pub results: Vec<TestResult>,
    /// Source files the log shows being compiled (compiler logs only).
    pub compiled: Vec<BString>,
    pub warnings: Vec<String>,
    /// The earliest time the report names.
    pub timestamp: Option<DateTime<Utc>>,
}

/// A [`Sink`] that merges repeated results of one test as the contracts say: the attempts add up;
/// the last attempt decides the status, except that a test whose last attempt passed after an
/// earlier one is `flaky` (a retry that passed); a skip never hides a run.
#[derive(Debug, Default)]
pub struct Collector {
    collected: Collected,
    index: HashMap<BString, usize>,
    compiled: std::collections::HashSet<BString>,
}

impl Collector {
    pub fn new() -> Self {
        Collector::default()
    }

    pub fn finish(self) -> Collected {
        self.collected
    }
}

/// The status of a test reported again in the same report (a retry): the last attempt decides,
/// except that a pass after an earlier attempt means it was retried (`flaky`), and a skip never
/// hides a run.
pub fn repeat_status(prev: Status, next: Status) -> Status {
    match (prev, next) {
        (prev, Status::Skipped) if prev != Status::Skipped => prev,
        (Status::Skipped, next) => next,
        (_, Status::Passed) => Status::Flaky,
        (_, next) => next,
    }
}

/// Merges `next`, a later attempt of the same test, into `prev`.
pub(crate) fn merge(prev: &mut TestResult, next: TestResult) {
    let attempts = prev.attempts.saturating_add(next.attempts);
    if next.status == Status::Skipped && prev.status != Status::Skipped {
        prev.attempts = attempts;
        return;
    }
    let status = repeat_status(prev.status, next.status);
    let duration = match (prev.duration, next.duration) {
        (Some(a), Some(b)) => Some(a + b),
        (a, b) => a.or(b),
    };
    let message = next.message.or_else(|| prev.message.take());
    let mut details = std::mem::take(&mut prev.details);
    details.extend(next.details);
    *prev = TestResult {
        test: next.test,
        kind: next.kind,
        status,
        duration,
        message,
        attempts,
        details,
    };
}

impl Sink for Collector {
    fn result(&mut self, result: TestResult) {
        match self.index.get(&result.test) {
            Some(&at) => merge(&mut self.collected.results[at], result),
            None => {
                self.index
                    .insert(result.test.clone(), self.collected.results.len());
                self.collected.results.push(result);
            }
        }
    }

    fn compiled(&mut self, file: BString) {
        // A set beside the list: a build log may name many thousands of files.
        if self.compiled.insert(file.clone()) {
            self.collected.compiled.push(file);
        }
    }

    fn warning(&mut self, message: String) {
        self.collected.warnings.push(message);
    }

    fn timestamp(&mut self, time: DateTime<Utc>) {
        let earliest = self.collected.timestamp.map_or(time, |t| t.min(time));
        self.collected.timestamp = Some(earliest);
    }
}

/// Parses a whole report with `format` and collects its results.
pub fn collect(
    format: &dyn Format,
    input: &mut dyn BufRead,
    options: &ParseOptions,
) -> Result<Collected, ParseError> {
    let mut collector = Collector::new();
    format.parse(input, options, &mut collector)?;
    Ok(collector.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Kind;

    fn attempt(status: Status) -> TestResult {
        TestResult::new("pkg.T.test_a", Kind::Test, status)
    }

    #[track_caller]
    fn check(attempts: &[Status], expected: Status) {
        let mut collector = Collector::new();
        for status in attempts {
            collector.result(attempt(*status));
        }
        let collected = collector.finish();
        assert_eq!(collected.results.len(), 1);
        assert_eq!(collected.results[0].status, expected, "{attempts:?}");
        assert_eq!(collected.results[0].attempts as usize, attempts.len());
    }

    #[test]
    fn repeats_merge_as_the_contract_says() {
        check(&[Status::Passed], Status::Passed);
        // pytest-rerunfailures: earlier attempts are childless, the last one carries the failure.
        check(
            &[Status::Passed, Status::Passed, Status::Failed],
            Status::Failed,
        );
        // ... and a test whose last element passed was retried: flaky.
        check(&[Status::Passed, Status::Passed], Status::Flaky);
        check(&[Status::Failed, Status::Passed], Status::Flaky);
        check(&[Status::Error, Status::Error], Status::Error);
        check(&[Status::Failed, Status::Skipped], Status::Failed);
        check(&[Status::Skipped, Status::Passed], Status::Passed);
    }
}
