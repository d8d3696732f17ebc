-- probtrack schema, version 8 (SQLite): what judging a lane's metric series at ingest keeps
-- between ingests. Documented in docs/schema.md (*metric_state*).
--
-- A cache: each lane's metric values of its last builds (those the change-point detector reaches
-- back over), packed, so that the next ingest reads them at once instead of row by row, and
-- only its own build's values from `metric_values`. Dropped whenever a build it holds changes;
-- rebuilt from `metric_values` at the next ingest. Never the only copy of anything.
CREATE TABLE metric_state (
    lane_id     INTEGER NOT NULL REFERENCES lanes(id) ON DELETE CASCADE,
    part        INTEGER NOT NULL,
    last_number INTEGER NOT NULL,
    data        BLOB NOT NULL,
    PRIMARY KEY (lane_id, part)
);
