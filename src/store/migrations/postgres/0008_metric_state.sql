-- probtrack schema, version 8 (PostgreSQL): what judging a lane's metric series at ingest keeps
-- between ingests, step for step as SQLite's 0008_metric_state.sql. Documented in
-- docs/schema.md (*metric_state*).
CREATE TABLE metric_state (
    lane_id     BIGINT NOT NULL REFERENCES lanes(id) ON DELETE CASCADE,
    part        BIGINT NOT NULL,
    last_number BIGINT NOT NULL,
    data        BYTEA NOT NULL,
    PRIMARY KEY (lane_id, part)
);
