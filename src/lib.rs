//! probtrack: parse the results of every build, keep them in a database, and find the Problems.
//!
//! A library core with a thin command line on top: [`run`] is the whole program. See
//! `docs/ARCHITECTURE.md` for the map.

pub mod analyze;
pub mod blamelist;
pub mod builders;
pub mod builds;
pub mod cli;
pub mod clock;
pub mod clusters;
pub mod copy;
pub mod durations;
pub mod error;
pub mod flakiness;
pub mod history;
pub mod import;
pub mod ingest;
pub mod known_bad;
pub mod lookup;
pub mod notify;
pub mod people;
pub mod problems;
pub mod prune;
pub mod rename;
pub mod report;
pub mod runs;
pub mod settings;
pub mod since;
pub mod site;
pub mod store;
pub mod story;
pub mod transaction;
pub mod triage;
pub mod views;

pub use cli::run;
