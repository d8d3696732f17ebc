//! Test coverage across builds: what the library does with the coverage the parsers read
//! (`probtrack_parsers::coverage`), as pure functions. No SQL, no printing, no clock.
//!
//! - [`diff`] reads the unified diff between two revisions (the blamelist's git range);
//! - [`classify`] sorts each line of a build against the builder's previous build into lcov's
//!   differential-coverage classes (new code uncovered, lost baseline coverage, gained, …);
//! - [`delta`] encodes a build's line coverage as the change from the previous build, the way it
//!   is to be stored.
//!
//! See docs/coverage.md for what is implemented and what is planned.

pub mod classify;
pub mod delta;
pub mod diff;
pub(crate) mod paths;
pub(crate) mod read;
pub(crate) mod record;
pub(crate) mod series;
pub(crate) mod stored;
pub(crate) mod view;

use probtrack_parsers::coverage::Coverage;

pub use classify::{Class, FileClasses, LineClass, Lines};

/// The parsed coverage of a build as [`Lines`] (path → line → coverage).
pub fn lines_of(coverage: &Coverage) -> Lines {
    coverage
        .files
        .iter()
        .map(|f| (f.path.clone(), f.lines.clone()))
        .collect()
}

/// A coverage result's details as a JSON value: `Null` where it has none or they do not parse.
pub(crate) fn details_value(details: Option<&crate::store::Details>) -> serde_json::Value {
    details
        .and_then(|d| serde_json::from_str(&d.text()).ok())
        .unwrap_or_default()
}

/// The line numbers a coverage result's details list under `key` (`lines`, `flaky`, …): none
/// where the key holds no array, and only the entries that are line numbers.
pub(crate) fn numbers(details: &serde_json::Value, key: &str) -> Vec<u32> {
    details[key]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_u64().and_then(|n| u32::try_from(n).ok()))
        .collect()
}

/// A coverage Problem's lines: those still owed at its last failure, and those lost or new and
/// uncovered where it started, with the tests that broke in that build
/// and their Problems there (`problems`' `coverage` key).
pub(crate) fn problem_lines(
    store: &mut dyn crate::store::Store,
    problem: &crate::store::ProblemRecord,
) -> crate::error::Result<crate::views::problems::CoverageLinesView> {
    use crate::views::problems::{CoverageLinesView, RelatedTest};
    let mut details = |at: &crate::store::BuildRef| -> crate::error::Result<serde_json::Value> {
        let Some(build) = store.find_build(&at.builder, at.number)? else {
            return Ok(serde_json::Value::Null);
        };
        let details = (store
            .results(Some(build.id), Some(problem.test), true)?
            .into_iter())
        .find_map(|(_, r)| r.details);
        Ok(details_value(details.as_ref()))
    };
    // What was lost, and the tests, where it started; what is still owed, where it last failed.
    let first = details(&problem.first_failure)?;
    let last_details = details(&problem.last_failure)?;
    let last = &problem.first_failure;
    let mut tests = Vec::new();
    for name in first["tests"].as_array().into_iter().flatten() {
        let Some(name) = name.as_str() else { continue };
        let mut found = None;
        if let Some(test) = store.test_by_name(name.as_bytes())? {
            let problems = store.problems(&crate::store::ProblemFilter {
                test: Some(test.id),
                branch: Some(problem.branch.clone()),
                ..crate::store::ProblemFilter::default()
            })?;
            // Its Problem on this builder that this build falls in.
            found = problems
                .iter()
                .filter(|p| {
                    p.builders.iter().any(|b| {
                        b.builder == last.builder
                            && b.first_number <= last.number
                            && b.fixed_number.is_none_or(|f| f > last.number)
                    })
                })
                .map(|p| p.id)
                .max();
        }
        tests.push(RelatedTest {
            test: name.to_owned(),
            problem: found,
        });
    }
    Ok(CoverageLinesView {
        lines: numbers(&last_details, "lines"),
        lost: numbers(&first, "lost"),
        uncovered_new: numbers(&first, "uncovered_new"),
        tests,
    })
}
