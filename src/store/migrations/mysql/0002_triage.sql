-- probtrack schema, version 2 (MySQL/MariaDB): triage, step for step as SQLite's 0002_triage.sql.
-- Every statement must be safe to run again (see 0001_initial.sql); probtrack skips an ADD COLUMN
-- whose column exists already.

-- The cause cluster of a Problem's last failure.
ALTER TABLE problems ADD COLUMN cluster TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;

-- Bug-tracker links on a Problem. `state`: 'open' or 'closed'.
CREATE TABLE IF NOT EXISTS problem_links (
    id          BIGINT AUTO_INCREMENT PRIMARY KEY,
    problem_id  BIGINT NOT NULL,
    url         TEXT NOT NULL,
    state       VARCHAR(16) NOT NULL DEFAULT 'open',
    added_at    BIGINT NOT NULL,
    url_key     BINARY(16) AS (UNHEX(MD5(url))) STORED,
    UNIQUE KEY problem_links_url (problem_id, url_key),
    FOREIGN KEY (problem_id) REFERENCES problems (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Free-text notes on a Problem.
CREATE TABLE IF NOT EXISTS problem_notes (
    id          BIGINT AUTO_INCREMENT PRIMARY KEY,
    problem_id  BIGINT NOT NULL,
    text        LONGTEXT NOT NULL,
    author      TEXT,
    added_at    BIGINT NOT NULL,
    KEY problem_notes_problem (problem_id),
    FOREIGN KEY (problem_id) REFERENCES problems (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Known-bad ranges: a builder's builds numbered from `from_number` to `to_number` (inclusive; NULL:
-- every later build too) give no evidence.
CREATE TABLE IF NOT EXISTS bad_ranges (
    id          BIGINT AUTO_INCREMENT PRIMARY KEY,
    builder_id  BIGINT NOT NULL,
    from_number BIGINT NOT NULL,
    to_number   BIGINT,
    reason      LONGTEXT NOT NULL,
    added_at    BIGINT NOT NULL,
    FOREIGN KEY (builder_id) REFERENCES builders (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Renamed tests: the old test's history belongs to the new one.
CREATE TABLE IF NOT EXISTS test_renames (
    old_test_id BIGINT NOT NULL PRIMARY KEY,
    new_test_id BIGINT NOT NULL,
    renamed_at  BIGINT NOT NULL,
    KEY test_renames_new (new_test_id),
    FOREIGN KEY (old_test_id) REFERENCES tests (id),
    FOREIGN KEY (new_test_id) REFERENCES tests (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- What `probtrack notify` announced: one row per Problem, event and target. `sent_at` NULL: the
-- last attempt failed. `target` ('webhook' or 'email:ADDRESS') is keyed by its MD5.
CREATE TABLE IF NOT EXISTS notifications (
    problem_id  BIGINT NOT NULL,
    event       VARCHAR(64) NOT NULL,
    target      TEXT NOT NULL,
    sent_at     BIGINT,
    attempts    BIGINT NOT NULL DEFAULT 0,
    last_error  LONGTEXT,
    target_key  BINARY(16) AS (UNHEX(MD5(target))) STORED,
    UNIQUE KEY notifications_key (problem_id, event, target_key),
    FOREIGN KEY (problem_id) REFERENCES problems (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- When `notify --mark-all-sent` set the baseline (one row at most).
CREATE TABLE IF NOT EXISTS notify_baseline (
    id      BIGINT NOT NULL PRIMARY KEY,
    set_at  BIGINT NOT NULL,
    CONSTRAINT notify_baseline_one CHECK (id = 1)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
