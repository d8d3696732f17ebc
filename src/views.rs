//! The output contract: every JSON shape that `docs/output.md` promises, one file per section of
//! it (`views/builds.rs` is `### builds`), as plain serde structs built from store records, never
//! the records themselves. Field order is key order: the bytes tools read
//! (`tests/it/views.rs` pins them).
//!
//! A view is printed by `report::Out::view` as JSON, as CSV ([`View::csv_rows`]) or as the table
//! its command draws.

use serde::Serialize;

use crate::clock;
use crate::store::{BuildRef, ChangeRef};

pub mod builders;
pub mod builds;
pub mod candidates;
pub mod clusters;
pub mod copy;
pub mod flaky;
pub mod history;
pub mod import;
pub mod ingest;
pub mod mark_bad;
pub mod notify;
pub mod parse;
pub mod parsers;
pub mod problems;
pub mod prune;
pub mod show;
pub mod since;
pub mod users;

/// A JSON shape of `docs/output.md`.
pub trait View: Serialize {
    /// What `--format csv` prints: one row per element of the JSON array, or the one object.
    /// A view whose CSV is documented otherwise (`show`: the `problems` keys only) says so here.
    fn csv_rows(&self) -> impl Serialize + '_ {
        self
    }
}

impl<T: Serialize> View for [T] {}

/// A build as Problems name it: `{builder, build, revision, time}`.
#[derive(Clone, Debug, Serialize)]
pub struct BuildAt {
    pub builder: String,
    pub build: i64,
    pub revision: Option<String>,
    pub time: String,
}

impl From<&BuildRef> for BuildAt {
    fn from(b: &BuildRef) -> Self {
        BuildAt {
            builder: b.builder.clone(),
            build: b.number,
            revision: b.revision.clone(),
            time: clock::rfc3339(b.time),
        }
    }
}

/// `{revision, author}`.
#[derive(Clone, Debug, Serialize)]
pub struct ChangeView {
    pub revision: String,
    pub author: Option<String>,
}

impl From<&ChangeRef> for ChangeView {
    fn from(c: &ChangeRef) -> Self {
        ChangeView {
            revision: c.revision.clone(),
            author: c.author.clone(),
        }
    }
}

/// How long `message` may be in a listing.
pub const MESSAGE_LEN: usize = 200;

/// The first line of `text`, at most `max` characters.
pub fn shorten(text: &str, max: usize) -> String {
    let line = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    if line.chars().count() > max {
        line.chars().take(max.saturating_sub(1)).collect::<String>() + "…"
    } else {
        line.to_owned()
    }
}
