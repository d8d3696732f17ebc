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
pub(crate) mod read;
pub(crate) mod record;
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
