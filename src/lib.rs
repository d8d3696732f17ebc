//! probtrack: parse the results of every build, keep them in a database, and find the Problems.
//!
//! A library core with a thin command line on top: [`run`] is the whole program. See
//! `docs/ARCHITECTURE.md` for the map.
//!
//! The crate's public surface is [`run`], [`Session`] (commands run in this process against one
//! open database), [`store`] (the tests open databases and compare tables
//! through it), [`analyze`] (the change-point example) and [`coverage`] (the coverage example);
//! everything else is `pub(crate)`, so the compiler finds what nothing uses.

#![warn(unreachable_pub)]

pub mod analyze;
pub(crate) mod blamelist;
pub(crate) mod bot;
pub(crate) mod builders;
pub(crate) mod builds;
pub(crate) mod chat;
pub(crate) mod cli;
pub(crate) mod clock;
pub(crate) mod clusters;
pub(crate) mod connect;
pub(crate) mod copy;
pub mod coverage;
pub(crate) mod details;
pub(crate) mod durations;
pub mod error;
pub(crate) mod flakiness;
pub(crate) mod history;
pub(crate) mod import;
pub(crate) mod ingest;
pub(crate) mod known_bad;
pub(crate) mod lookup;
pub(crate) mod metrics;
pub(crate) mod notify;
pub(crate) mod people;
pub(crate) mod plugin;
pub(crate) mod problems;
pub(crate) mod prune;
pub(crate) mod rename;
pub(crate) mod report;
pub(crate) mod retry;
pub(crate) mod runs;
pub mod session;
pub(crate) mod settings;
pub(crate) mod since;
pub(crate) mod site;
pub mod store;
pub(crate) mod story;
pub(crate) mod transaction;
pub(crate) mod triage;
pub(crate) mod views;

pub use cli::run;
pub use session::Session;
