-- probtrack schema, version 1 (SQLite). Documented column by column in docs/schema.md.
-- Times are integers: microseconds since 1970-01-01T00:00:00Z. Text that came from a report is stored as
-- TEXT when it is valid UTF-8 and as a BLOB of the original bytes when it is not.

CREATE TABLE schema_version (
    version    INTEGER PRIMARY KEY,
    applied_at INTEGER NOT NULL
);

CREATE TABLE builders (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    retired_at INTEGER
);

-- A lane is one builder's builds on one branch: the sequence that analysis walks. `pruned_before`:
-- `prune` dropped the lane's builds numbered below it (NULL: never pruned).
CREATE TABLE lanes (
    id            INTEGER PRIMARY KEY,
    builder_id    INTEGER NOT NULL REFERENCES builders(id),
    branch        TEXT NOT NULL DEFAULT '',
    pruned_before INTEGER,
    UNIQUE (builder_id, branch)
);

CREATE TABLE users (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE changes (
    id       INTEGER PRIMARY KEY,
    revision TEXT NOT NULL UNIQUE,
    user_id  INTEGER REFERENCES users(id),
    time     INTEGER,
    comments TEXT,
    parents  TEXT
);

CREATE TABLE builds (
    id          INTEGER PRIMARY KEY,
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
    UNIQUE (builder_id, number)
);
CREATE INDEX builds_lane_number ON builds (lane_id, number);
CREATE INDEX builds_time ON builds (time);

-- A build's blamelist.
CREATE TABLE build_changes (
    build_id  INTEGER NOT NULL REFERENCES builds(id) ON DELETE CASCADE,
    change_id INTEGER NOT NULL REFERENCES changes(id),
    PRIMARY KEY (build_id, change_id)
) WITHOUT ROWID;

-- Every report ingested into a build, by content hash, so that ingesting it again changes nothing.
CREATE TABLE reports (
    id          INTEGER PRIMARY KEY,
    build_id    INTEGER NOT NULL REFERENCES builds(id) ON DELETE CASCADE,
    hash        BLOB NOT NULL,
    name        TEXT NOT NULL,
    parser      TEXT NOT NULL,
    results     INTEGER NOT NULL,
    ingested_at INTEGER NOT NULL,
    UNIQUE (build_id, hash)
);

CREATE TABLE tests (
    id        INTEGER PRIMARY KEY,
    name_hash BLOB NOT NULL UNIQUE,
    name      TEXT NOT NULL,
    kind      TEXT NOT NULL,
    file      TEXT,
    runner_id TEXT
);

CREATE TABLE messages (
    id   INTEGER PRIMARY KEY,
    hash BLOB NOT NULL UNIQUE,
    text TEXT NOT NULL
);

-- Outcome runs: on lane `lane_id`, test `test_id` had outcome `status` in every build of the lane
-- numbered from `first_number` up to (not including) the next run's `first_number`. NULL status: the test
-- was not in those builds.
CREATE TABLE runs (
    lane_id      INTEGER NOT NULL REFERENCES lanes(id),
    test_id      INTEGER NOT NULL REFERENCES tests(id),
    first_number INTEGER NOT NULL,
    status       TEXT,
    PRIMARY KEY (lane_id, test_id, first_number)
) WITHOUT ROWID;
CREATE INDEX runs_test ON runs (test_id);

-- The details of every result that is not a plain single pass.
CREATE TABLE results (
    build_id   INTEGER NOT NULL REFERENCES builds(id) ON DELETE CASCADE,
    test_id    INTEGER NOT NULL REFERENCES tests(id),
    status     TEXT NOT NULL,
    duration   REAL,
    message_id INTEGER REFERENCES messages(id),
    attempts   INTEGER NOT NULL DEFAULT 1,
    details    TEXT,
    PRIMARY KEY (build_id, test_id)
) WITHOUT ROWID;
CREATE INDEX results_test ON results (test_id);

-- Problems: runs of consecutive failures of one test on one branch, possibly across builders. The
-- builds they name are copied in (builder, number, time, revision) so that a Problem's story
-- outlives pruned results. (test_id, branch, first_build_id) is the stable key; `id` never changes.
CREATE TABLE problems (
    id              INTEGER PRIMARY KEY,
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
    UNIQUE (test_id, branch, first_build_id)
);
CREATE INDEX problems_state ON problems (state, intermittent);

-- The builders a Problem failed on.
CREATE TABLE problem_builders (
    problem_id    INTEGER NOT NULL REFERENCES problems(id) ON DELETE CASCADE,
    builder_id    INTEGER NOT NULL REFERENCES builders(id),
    first_number  INTEGER NOT NULL,
    last_number   INTEGER NOT NULL,
    fixed_number  INTEGER,
    PRIMARY KEY (problem_id, builder_id)
) WITHOUT ROWID;

-- A Problem's starting changes (role 'start', the suspects) and fixing changes (role 'fix').
CREATE TABLE problem_changes (
    problem_id INTEGER NOT NULL REFERENCES problems(id) ON DELETE CASCADE,
    role       TEXT NOT NULL,
    change_id  INTEGER NOT NULL REFERENCES changes(id),
    PRIMARY KEY (problem_id, role, change_id)
) WITHOUT ROWID;
CREATE INDEX problem_changes_change ON problem_changes (change_id);
