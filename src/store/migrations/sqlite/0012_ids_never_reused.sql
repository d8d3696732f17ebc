-- probtrack schema, version 12 (SQLite): a build's id and a Problem's are never given again.
-- Documented in docs/schema.md (*builds*, *problems*).
--
-- `INTEGER PRIMARY KEY` alone gives the next row the highest id in the table plus one, so after
-- `prune` or `delete-build` took the newest build, the next build got its id again. A Problem
-- keeps the id of its first failing build (`problems.first_build_id`, its key with the test and
-- branch) after `prune` took that build, so the new build was taken for that Problem's first
-- failure: a Problem it opened was never listed. `AUTOINCREMENT` keeps the highest id ever given
-- (in `sqlite_sequence`); it starts above every id a Problem names.
--
-- SQLite cannot change a key in place: the table is made again and its rows copied, with foreign
-- keys off (the migration runner turns them off on SQLite), so that dropping the old table
-- deletes nothing of the tables that refer to it.
CREATE TABLE builds_v12 (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    builder_id  INTEGER NOT NULL REFERENCES builders(id),
    number      INTEGER NOT NULL,
    lane_id     INTEGER NOT NULL REFERENCES lanes(id),
    revision    TEXT,
    time        INTEGER NOT NULL,
    finished_at INTEGER,
    result      TEXT,
    properties  TEXT NOT NULL DEFAULT '{}',
    clean       INTEGER NOT NULL DEFAULT 0,
    ingested_at INTEGER NOT NULL,
    passed             INTEGER NOT NULL DEFAULT 0,
    failed             INTEGER NOT NULL DEFAULT 0,
    error              INTEGER NOT NULL DEFAULT 0,
    skipped            INTEGER NOT NULL DEFAULT 0,
    expected_failure   INTEGER NOT NULL DEFAULT 0,
    unexpected_success INTEGER NOT NULL DEFAULT 0,
    flaky              INTEGER NOT NULL DEFAULT 0,
    durations   BLOB,
    compiled_id INTEGER REFERENCES compiled_sets(id),
    UNIQUE (builder_id, number)
);

INSERT INTO builds_v12 (id, builder_id, number, lane_id, revision, time, finished_at, result,
    properties, clean, ingested_at, passed, failed, error, skipped, expected_failure,
    unexpected_success, flaky, durations, compiled_id)
SELECT id, builder_id, number, lane_id, revision, time, finished_at, result, properties, clean,
    ingested_at, passed, failed, error, skipped, expected_failure, unexpected_success, flaky,
    durations, compiled_id
FROM builds ORDER BY id;

-- The next id is above every build stored and every first failing build a Problem names.
DELETE FROM sqlite_sequence WHERE name = 'builds_v12';
INSERT INTO sqlite_sequence (name, seq) VALUES ('builds_v12', max(
    coalesce((SELECT max(id) FROM builds_v12), 0),
    coalesce((SELECT max(first_build_id) FROM problems), 0)));

DROP TABLE builds;
ALTER TABLE builds_v12 RENAME TO builds;
CREATE INDEX builds_lane_number ON builds (lane_id, number);
CREATE INDEX builds_time ON builds (time);

CREATE TABLE problems_v12 (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    test_id         INTEGER NOT NULL REFERENCES tests(id),
    branch          TEXT NOT NULL DEFAULT '',
    first_build_id  INTEGER NOT NULL,
    first_builder   TEXT NOT NULL,
    first_number    INTEGER NOT NULL,
    first_time      INTEGER NOT NULL,
    first_revision  TEXT,
    last_builder    TEXT NOT NULL,
    last_number     INTEGER NOT NULL,
    last_time       INTEGER NOT NULL,
    last_revision   TEXT,
    fixed_builder   TEXT,
    fixed_number    INTEGER,
    fixed_time      INTEGER,
    fixed_revision  TEXT,
    state           TEXT NOT NULL,
    intermittent    INTEGER NOT NULL DEFAULT 0,
    failures        INTEGER NOT NULL,
    message_id      INTEGER REFERENCES messages(id),
    updated_at      INTEGER NOT NULL,
    cluster         TEXT,
    UNIQUE (test_id, branch, first_build_id)
);

INSERT INTO problems_v12 (id, test_id, branch, first_build_id, first_builder, first_number,
    first_time, first_revision, last_builder, last_number, last_time, last_revision,
    fixed_builder, fixed_number, fixed_time, fixed_revision, state, intermittent, failures,
    message_id, updated_at, cluster)
SELECT id, test_id, branch, first_build_id, first_builder, first_number, first_time,
    first_revision, last_builder, last_number, last_time, last_revision, fixed_builder,
    fixed_number, fixed_time, fixed_revision, state, intermittent, failures, message_id,
    updated_at, cluster
FROM problems ORDER BY id;

DROP TABLE problems;
ALTER TABLE problems_v12 RENAME TO problems;
CREATE INDEX problems_state ON problems (state, intermittent);
