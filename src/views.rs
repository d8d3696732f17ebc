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

pub(crate) mod builders;
pub(crate) mod builds;
pub(crate) mod candidates;
pub(crate) mod clusters;
pub(crate) mod copy;
pub(crate) mod coverage;
pub(crate) mod flaky;
pub(crate) mod history;
pub(crate) mod import;
pub(crate) mod ingest;
pub(crate) mod mark_bad;
pub(crate) mod metrics;
pub(crate) mod notify;
pub(crate) mod parse;
pub(crate) mod parsers;
pub(crate) mod problems;
pub(crate) mod prune;
pub(crate) mod show;
pub(crate) mod since;
pub(crate) mod users;

/// A JSON shape of `docs/output.md`.
pub(crate) trait View: Serialize {
    /// What `--format csv` prints: one row per element of the JSON array, or the one object.
    /// A view whose CSV is documented otherwise (`show`: the `problems` keys only) says so here.
    fn csv_rows(&self) -> impl Serialize + '_ {
        self
    }
}

impl<T: Serialize> View for [T] {}

/// A build as Problems name it: `{builder, build, revision, time}`.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct BuildAt {
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
pub(crate) struct ChangeView {
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
pub(crate) const MESSAGE_LEN: usize = 200;

/// The first line of `text`, at most `max` characters.
pub(crate) fn shorten(text: &str, max: usize) -> String {
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
