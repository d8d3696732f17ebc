-- probtrack schema, version 5 (SQLite): test coverage. Documented column by column in
-- docs/schema.md.
--
-- A source file with coverage is a row of `tests` with kind `coverage`, its path (relative to the
-- source root) as its name, so that coverage Problems, links and notes hang on it as on a test.
-- A build's line coverage is stored as spans: its change from its base (the previous build with
-- coverage on its lane), or, for a keyframe, the whole of it (docs/coverage.md).

-- A build's coverage: its totals, and what its spans are relative to.
CREATE TABLE coverage_builds (
    build_id         INTEGER PRIMARY KEY REFERENCES builds(id) ON DELETE CASCADE,
    base_build_id    INTEGER,
    depth            INTEGER NOT NULL,
    files            INTEGER NOT NULL,
    lines_covered    INTEGER NOT NULL,
    lines_total      INTEGER NOT NULL,
    branches_covered INTEGER NOT NULL,
    branches_total   INTEGER NOT NULL
);
CREATE INDEX coverage_builds_base ON coverage_builds (base_build_id);

-- Lines first_line..last_line of a file now have this state (covered NULL: not executable; with
-- first_line 0: the file has no coverage any more).
CREATE TABLE coverage_spans (
    build_id         INTEGER NOT NULL REFERENCES builds(id) ON DELETE CASCADE,
    test_id          INTEGER NOT NULL REFERENCES tests(id),
    first_line       INTEGER NOT NULL,
    last_line        INTEGER NOT NULL,
    covered          INTEGER,
    branches_covered INTEGER,
    branches_total   INTEGER,
    PRIMARY KEY (build_id, test_id, first_line)
);
