-- probtrack schema, version 1 (MySQL/MariaDB): the same tables and columns as SQLite's
-- 0001_initial.sql, step for step. Documented in docs/schema.md ("MySQL and MariaDB").
-- InnoDB, utf8mb4. Times are BIGINT microseconds since 1970-01-01T00:00:00Z. Text that came from a
-- report (tests.name, tests.file, messages.text) is LONGBLOB: its bytes exactly, whatever they are.
-- Other text uses a binary collation (probtrack swaps `utf8mb4_bin` for the server's NO PAD binary
-- collation where there is one), so that equality is exact and ORDER BY is byte order.
-- Text identities of any length are unique through a generated `*_key` column, the MD5 of the text:
-- InnoDB cannot index long text whole. Each statement must be safe to run again (a migration that
-- failed half-way is retried; DDL commits as it goes).

CREATE TABLE IF NOT EXISTS schema_version (
    version    BIGINT NOT NULL PRIMARY KEY,
    applied_at BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS builders (
    id         BIGINT AUTO_INCREMENT PRIMARY KEY,
    name       TEXT NOT NULL,
    retired_at BIGINT,
    name_key   BINARY(16) AS (UNHEX(MD5(name))) STORED,
    UNIQUE KEY builders_name (name_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- A lane is one builder's builds on one branch ('' when there is none).
CREATE TABLE IF NOT EXISTS lanes (
    id            BIGINT AUTO_INCREMENT PRIMARY KEY,
    builder_id    BIGINT NOT NULL,
    branch        TEXT NOT NULL,
    pruned_before BIGINT,
    branch_key    BINARY(16) AS (UNHEX(MD5(branch))) STORED,
    UNIQUE KEY lanes_builder_branch (builder_id, branch_key),
    FOREIGN KEY (builder_id) REFERENCES builders (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS users (
    id       BIGINT AUTO_INCREMENT PRIMARY KEY,
    name     TEXT NOT NULL,
    name_key BINARY(16) AS (UNHEX(MD5(name))) STORED,
    UNIQUE KEY users_name (name_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS changes (
    id           BIGINT AUTO_INCREMENT PRIMARY KEY,
    revision     TEXT NOT NULL,
    user_id      BIGINT,
    time         BIGINT,
    comments     LONGTEXT,
    parents      TEXT,
    revision_key BINARY(16) AS (UNHEX(MD5(revision))) STORED,
    UNIQUE KEY changes_revision (revision_key),
    FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS builds (
    id          BIGINT AUTO_INCREMENT PRIMARY KEY,
    builder_id  BIGINT NOT NULL,
    number      BIGINT NOT NULL,
    lane_id     BIGINT NOT NULL,
    revision    TEXT,
    time        BIGINT NOT NULL,
    finished_at BIGINT,
    result      TEXT,
    properties  LONGTEXT NOT NULL,
    clean       BIGINT NOT NULL DEFAULT 0,
    ingested_at BIGINT NOT NULL,
    passed             BIGINT NOT NULL DEFAULT 0,
    failed             BIGINT NOT NULL DEFAULT 0,
    error              BIGINT NOT NULL DEFAULT 0,
    skipped            BIGINT NOT NULL DEFAULT 0,
    expected_failure   BIGINT NOT NULL DEFAULT 0,
    unexpected_success BIGINT NOT NULL DEFAULT 0,
    flaky              BIGINT NOT NULL DEFAULT 0,
    durations   LONGBLOB,
    UNIQUE KEY builds_builder_number (builder_id, number),
    KEY builds_lane_number (lane_id, number),
    KEY builds_time (time),
    FOREIGN KEY (builder_id) REFERENCES builders (id),
    FOREIGN KEY (lane_id) REFERENCES lanes (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- A build's blamelist.
CREATE TABLE IF NOT EXISTS build_changes (
    build_id  BIGINT NOT NULL,
    change_id BIGINT NOT NULL,
    PRIMARY KEY (build_id, change_id),
    FOREIGN KEY (build_id) REFERENCES builds (id) ON DELETE CASCADE,
    FOREIGN KEY (change_id) REFERENCES changes (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Every report ingested into a build, by content hash.
CREATE TABLE IF NOT EXISTS reports (
    id          BIGINT AUTO_INCREMENT PRIMARY KEY,
    build_id    BIGINT NOT NULL,
    hash        VARBINARY(64) NOT NULL,
    name        TEXT NOT NULL,
    parser      VARCHAR(255) NOT NULL,
    results     BIGINT NOT NULL,
    ingested_at BIGINT NOT NULL,
    UNIQUE KEY reports_build_hash (build_id, hash),
    FOREIGN KEY (build_id) REFERENCES builds (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- `name_hash`: the first 16 bytes of the BLAKE3 hash of `name`, computed by probtrack.
CREATE TABLE IF NOT EXISTS tests (
    id        BIGINT AUTO_INCREMENT PRIMARY KEY,
    name_hash VARBINARY(32) NOT NULL,
    name      LONGBLOB NOT NULL,
    kind      VARCHAR(32) NOT NULL,
    file      LONGBLOB,
    runner_id TEXT,
    UNIQUE KEY tests_name_hash (name_hash)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS messages (
    id   BIGINT AUTO_INCREMENT PRIMARY KEY,
    hash VARBINARY(32) NOT NULL,
    text LONGBLOB NOT NULL,
    UNIQUE KEY messages_hash (hash)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Outcome runs (see SQLite's schema). NULL status: the test was not in those builds.
CREATE TABLE IF NOT EXISTS runs (
    lane_id      BIGINT NOT NULL,
    test_id      BIGINT NOT NULL,
    first_number BIGINT NOT NULL,
    status       VARCHAR(32),
    PRIMARY KEY (lane_id, test_id, first_number),
    KEY runs_test (test_id),
    FOREIGN KEY (lane_id) REFERENCES lanes (id),
    FOREIGN KEY (test_id) REFERENCES tests (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The details of every result that is not a plain single pass.
CREATE TABLE IF NOT EXISTS results (
    build_id   BIGINT NOT NULL,
    test_id    BIGINT NOT NULL,
    status     VARCHAR(32) NOT NULL,
    duration   DOUBLE,
    message_id BIGINT,
    attempts   BIGINT NOT NULL DEFAULT 1,
    details    LONGTEXT,
    PRIMARY KEY (build_id, test_id),
    KEY results_test (test_id),
    FOREIGN KEY (build_id) REFERENCES builds (id) ON DELETE CASCADE,
    FOREIGN KEY (test_id) REFERENCES tests (id),
    FOREIGN KEY (message_id) REFERENCES messages (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Problems. (test_id, branch, first_build_id) is the stable key; `id` never changes.
CREATE TABLE IF NOT EXISTS problems (
    id              BIGINT AUTO_INCREMENT PRIMARY KEY,
    test_id         BIGINT NOT NULL,
    branch          TEXT NOT NULL,
    first_build_id  BIGINT NOT NULL,
    first_builder   TEXT NOT NULL,
    first_number    BIGINT NOT NULL,
    first_time      BIGINT NOT NULL,
    first_revision  TEXT,
    last_builder    TEXT NOT NULL,
    last_number     BIGINT NOT NULL,
    last_time       BIGINT NOT NULL,
    last_revision   TEXT,
    fixed_builder   TEXT,
    fixed_number    BIGINT,
    fixed_time      BIGINT,
    fixed_revision  TEXT,
    state           VARCHAR(16) NOT NULL,
    intermittent    BIGINT NOT NULL DEFAULT 0,
    failures        BIGINT NOT NULL,
    message_id      BIGINT,
    updated_at      BIGINT NOT NULL,
    branch_key      BINARY(16) AS (UNHEX(MD5(branch))) STORED,
    UNIQUE KEY problems_key (test_id, branch_key, first_build_id),
    KEY problems_state (state, intermittent),
    FOREIGN KEY (test_id) REFERENCES tests (id),
    FOREIGN KEY (message_id) REFERENCES messages (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The builders a Problem failed on.
CREATE TABLE IF NOT EXISTS problem_builders (
    problem_id    BIGINT NOT NULL,
    builder_id    BIGINT NOT NULL,
    first_number  BIGINT NOT NULL,
    last_number   BIGINT NOT NULL,
    fixed_number  BIGINT,
    PRIMARY KEY (problem_id, builder_id),
    FOREIGN KEY (problem_id) REFERENCES problems (id) ON DELETE CASCADE,
    FOREIGN KEY (builder_id) REFERENCES builders (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- A Problem's starting changes (role 'start') and fixing changes (role 'fix').
CREATE TABLE IF NOT EXISTS problem_changes (
    problem_id BIGINT NOT NULL,
    role       VARCHAR(16) NOT NULL,
    change_id  BIGINT NOT NULL,
    PRIMARY KEY (problem_id, role, change_id),
    KEY problem_changes_change (change_id),
    FOREIGN KEY (problem_id) REFERENCES problems (id) ON DELETE CASCADE,
    FOREIGN KEY (change_id) REFERENCES changes (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
