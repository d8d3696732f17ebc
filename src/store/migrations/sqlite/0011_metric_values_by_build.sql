-- probtrack schema, version 11 (SQLite): `metric_values` keyed by build, then series, in a table
-- without rowid, so that a build's values lie together. Documented in docs/schema.md
-- (*metric_values*).
--
-- Keyed (series, build) with an index on build, the 1,000 values of one build went each to
-- another page of the key's index: an ingest wrote ~1,000 pages to the write-ahead log and
-- checkpointed at almost every ingest. Keyed (build, series), a build's values are appended at
-- the end of one b-tree. Every reader goes by the lane's builds (a series' history seeks
-- (build, series) at each build), so no index by series is kept.
CREATE TABLE metric_values_by_build (
    test_id   INTEGER NOT NULL REFERENCES tests(id),
    build_id  INTEGER NOT NULL REFERENCES builds(id) ON DELETE CASCADE,
    value     REAL NOT NULL,
    rounds    INTEGER NOT NULL,
    mean      REAL,
    median    REAL,
    stddev    REAL,
    min_value REAL,
    max_value REAL,
    samples   BLOB,
    PRIMARY KEY (build_id, test_id)
) WITHOUT ROWID;

INSERT INTO metric_values_by_build (test_id, build_id, value, rounds, mean, median, stddev,
    min_value, max_value, samples)
SELECT test_id, build_id, value, rounds, mean, median, stddev, min_value, max_value, samples
FROM metric_values ORDER BY build_id, test_id;

DROP TABLE metric_values;
ALTER TABLE metric_values_by_build RENAME TO metric_values;
