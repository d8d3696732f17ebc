//! The one place that reads the wall clock, so that everything else takes time as an argument.

use chrono::{DateTime, Utc};

/// Microseconds since 1970-01-01T00:00:00Z: how times are stored.
pub type Micros = i64;

pub fn now() -> DateTime<Utc> {
    Utc::now()
}

pub fn to_micros(time: DateTime<Utc>) -> Micros {
    time.timestamp_micros()
}

pub fn from_micros(micros: Micros) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap_or_default()
}

/// RFC 3339 in UTC with `Z`, keeping microseconds only when there are any.
pub fn rfc3339(micros: Micros) -> String {
    from_micros(micros).to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}
