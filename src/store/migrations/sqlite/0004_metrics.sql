-- probtrack schema, version 4 (SQLite): build metrics. Documented column by column in
-- docs/schema.md.
--
-- A metric series is a row of `tests` with kind `metric`, its identity (`NAME{key=value,...}`)
-- as its name, so that Problems, links, notes, notifications and renames hang on it as on a test.

-- What a series is measured in, and which way is better where its format said so.
CREATE TABLE metric_series (
    test_id   INTEGER PRIMARY KEY REFERENCES tests(id),
    unit      TEXT,
    direction TEXT
);

-- One value of a series in one build, with the spread of its rounds.
CREATE TABLE metric_values (
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
    PRIMARY KEY (test_id, build_id)
);
CREATE INDEX metric_values_build ON metric_values (build_id);

-- A metric Problem's step, and who accepted its new level as the normal one.
CREATE TABLE problem_metrics (
    problem_id      INTEGER PRIMARY KEY REFERENCES problems(id) ON DELETE CASCADE,
    step            TEXT NOT NULL,
    before_level    REAL NOT NULL,
    after_level     REAL NOT NULL,
    z               REAL NOT NULL,
    accepted_by     TEXT,
    accepted_reason TEXT,
    accepted_at     INTEGER
);
