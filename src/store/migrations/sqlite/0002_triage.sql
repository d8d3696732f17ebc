-- probtrack schema, version 2 (SQLite): triage. Documented column by column in docs/schema.md.
-- Links, notes and notification records hang on problem ids, which are stable.

-- The cause cluster of a Problem's last failure (`clusters`), kept so that it outlives pruning.
ALTER TABLE problems ADD COLUMN cluster TEXT;

-- Bug-tracker links on a Problem (`probtrack link`). `state`: 'open' or 'closed'.
CREATE TABLE problem_links (
    id          INTEGER PRIMARY KEY,
    problem_id  INTEGER NOT NULL REFERENCES problems(id) ON DELETE CASCADE,
    url         TEXT NOT NULL,
    state       TEXT NOT NULL DEFAULT 'open',
    added_at    INTEGER NOT NULL,
    UNIQUE (problem_id, url)
);

-- Free-text notes on a Problem (`probtrack note`).
CREATE TABLE problem_notes (
    id          INTEGER PRIMARY KEY,
    problem_id  INTEGER NOT NULL REFERENCES problems(id) ON DELETE CASCADE,
    text        TEXT NOT NULL,
    author      TEXT,
    added_at    INTEGER NOT NULL
);
CREATE INDEX problem_notes_problem ON problem_notes (problem_id);

-- Known-bad ranges (`probtrack mark-bad`): a builder's builds numbered from `from_number` to
-- `to_number` (inclusive; NULL: every later build too) give no evidence.
CREATE TABLE bad_ranges (
    id          INTEGER PRIMARY KEY,
    builder_id  INTEGER NOT NULL REFERENCES builders(id),
    from_number INTEGER NOT NULL,
    to_number   INTEGER,
    reason      TEXT NOT NULL,
    added_at    INTEGER NOT NULL
);

-- Renamed tests (`probtrack rename`): the old test's history belongs to the new one.
CREATE TABLE test_renames (
    old_test_id INTEGER PRIMARY KEY REFERENCES tests(id),
    new_test_id INTEGER NOT NULL REFERENCES tests(id),
    renamed_at  INTEGER NOT NULL
);
CREATE INDEX test_renames_new ON test_renames (new_test_id);

-- What `probtrack notify` announced: one row per Problem, event ('opened', 'fixed',
-- 'intermittent') and target ('webhook', or 'email:ADDRESS'). `sent_at` NULL: the last attempt failed.
CREATE TABLE notifications (
    problem_id  INTEGER NOT NULL REFERENCES problems(id) ON DELETE CASCADE,
    event       TEXT NOT NULL,
    target      TEXT NOT NULL,
    sent_at     INTEGER,
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    PRIMARY KEY (problem_id, event, target)
) WITHOUT ROWID;

-- When `notify --mark-all-sent` set the baseline (one row at most).
CREATE TABLE notify_baseline (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    set_at  INTEGER NOT NULL
);
