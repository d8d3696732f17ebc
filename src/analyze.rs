//! Analysis: pure functions over a test's outcomes. No SQL, no printing, no clock: callers load
//! rows, these functions return values.
//!
//! A test's history on a branch is one [`Lane`] per builder, each a sequence of builds with the
//! test's outcome in each ([`Evidence`]). `problems::episodes` groups consecutive failures across
//! builders into Problems; `flaky::stats` measures how intermittent a test is.

use std::rc::Rc;

use probtrack_parsers::Status;

use crate::runs;
use crate::store::{Id, LaneBuild, Run};

pub mod changepoint;
pub(crate) mod clusters;
pub(crate) mod flaky;
pub(crate) mod problems;
pub(crate) mod signature;

/// What a build says about a test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Evidence {
    /// `passed`, `expected_failure`, `unexpected_success`.
    Pass,
    /// `flaky`: passed on a retry within the build (a pass, and flaky evidence).
    RetryPass,
    /// `failed`, `error`.
    Fail,
    /// `skipped`, or not in the build.
    None,
}

impl Evidence {
    pub fn of(status: Option<Status>) -> Evidence {
        match status {
            Some(Status::Flaky) => Evidence::RetryPass,
            Some(s) if s.is_passing() => Evidence::Pass,
            Some(s) if s.is_failing() => Evidence::Fail,
            _ => Evidence::None,
        }
    }

    pub fn is_pass(self) -> bool {
        matches!(self, Evidence::Pass | Evidence::RetryPass)
    }

    pub fn is_fail(self) -> bool {
        self == Evidence::Fail
    }
}

/// One build of a lane, with the test's outcome in it.
#[derive(Clone, Debug)]
pub struct Step {
    pub build: Id,
    pub number: i64,
    pub time: i64,
    pub revision: Option<Rc<str>>,
    pub status: Option<Status>,
    pub evidence: Evidence,
}

/// A test's history on one lane (one builder's builds on one branch), oldest first, from the first
/// build that has the test.
#[derive(Clone, Debug)]
pub struct Lane {
    pub lane: Id,
    pub builder: String,
    /// A retired builder no longer keeps Problems open.
    pub retired: bool,
    pub steps: Vec<Step>,
}

/// A lane's build, shared by every test's [`Lane`] (the revision is not copied per test).
#[derive(Clone, Debug)]
pub struct BuildInfo {
    pub id: Id,
    pub number: i64,
    pub time: i64,
    pub revision: Option<Rc<str>>,
    /// In a known-bad range (`mark-bad`): the build gives no test evidence.
    pub bad: bool,
}

impl From<&LaneBuild> for BuildInfo {
    fn from(b: &LaneBuild) -> Self {
        BuildInfo {
            id: b.id,
            number: b.number,
            time: b.time,
            revision: b.revision.as_deref().map(Rc::from),
            bad: false,
        }
    }
}

impl Lane {
    /// Expands a test's runs over the lane's builds. A build in a known-bad range keeps its status
    /// but gives no evidence.
    pub fn from_runs(
        lane: Id,
        builder: &str,
        retired: bool,
        builds: &[BuildInfo],
        runs: &[Run],
    ) -> Lane {
        let first = runs.first().map_or(i64::MAX, |r| r.first);
        let start = builds.partition_point(|b| b.number < first);
        let steps = builds[start..]
            .iter()
            .map(|b| {
                let status = runs::outcome_at(runs, b.number);
                Step {
                    build: b.id,
                    number: b.number,
                    time: b.time,
                    revision: b.revision.clone(),
                    status,
                    evidence: if b.bad {
                        Evidence::None
                    } else {
                        Evidence::of(status)
                    },
                }
            })
            .collect();
        Lane {
            lane,
            builder: builder.to_owned(),
            retired,
            steps,
        }
    }
}
