-- probtrack schema, version 8 (MySQL/MariaDB): what judging a lane's metric series at ingest
-- keeps between ingests, step for step as SQLite's 0008_metric_state.sql. Documented in
-- docs/schema.md (*metric_state*). Every statement may run again after an interrupted
-- migration (DDL commits as it goes).
CREATE TABLE IF NOT EXISTS metric_state (
    lane_id     BIGINT NOT NULL,
    part        BIGINT NOT NULL,
    last_number BIGINT NOT NULL,
    data        LONGBLOB NOT NULL,
    PRIMARY KEY (lane_id, part),
    FOREIGN KEY (lane_id) REFERENCES lanes(id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
