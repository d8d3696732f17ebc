//! The one place that reads the wall clock. The use cases that record when something happened
//! (ingest's time of a build without one, a Problem's last update, a note, a link, a retirement, a
//! rename, a mark-bad range, an acceptance, a notification or digest, a migration) and prune's
//! horizon ask [`now`]; the analysis and the views take times as arguments and never read the
//! clock. Nothing else calls `SystemTime::now`, `Utc::now` or `Local::now`: `clippy.toml`
//! disallows them outside this function. (`Instant::now`, a monotonic stopwatch for timeouts and
//! timings that are never stored, stays allowed.)

use chrono::{DateTime, Utc};

/// Microseconds since 1970-01-01T00:00:00Z: how times are stored.
pub(crate) type Micros = i64;

/// The wall clock, now.
#[allow(clippy::disallowed_methods)] // the one allowed reader, see above
pub(crate) fn now() -> DateTime<Utc> {
    Utc::now()
}

pub(crate) fn to_micros(time: DateTime<Utc>) -> Micros {
    time.timestamp_micros()
}

pub(crate) fn from_micros(micros: Micros) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap_or_default()
}

/// RFC 3339 in UTC with `Z`, keeping microseconds only when there are any.
pub(crate) fn rfc3339(micros: Micros) -> String {
    from_micros(micros).to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}
