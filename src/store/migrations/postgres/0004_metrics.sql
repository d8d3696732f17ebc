-- probtrack schema, version 4 (PostgreSQL): build metrics, step for step as SQLite's
-- 0004_metrics.sql. Documented column by column in docs/schema.md.

CREATE TABLE metric_series (
    test_id   BIGINT PRIMARY KEY REFERENCES tests(id),
    unit      TEXT COLLATE "C",
    direction TEXT COLLATE "C"
);

CREATE TABLE metric_values (
    test_id   BIGINT NOT NULL REFERENCES tests(id),
    build_id  BIGINT NOT NULL REFERENCES builds(id) ON DELETE CASCADE,
    value     DOUBLE PRECISION NOT NULL,
    rounds    BIGINT NOT NULL,
    mean      DOUBLE PRECISION,
    median    DOUBLE PRECISION,
    stddev    DOUBLE PRECISION,
    min_value DOUBLE PRECISION,
    max_value DOUBLE PRECISION,
    samples   BYTEA,
    PRIMARY KEY (test_id, build_id)
);
CREATE INDEX metric_values_build ON metric_values (build_id);

CREATE TABLE problem_metrics (
    problem_id      BIGINT PRIMARY KEY REFERENCES problems(id) ON DELETE CASCADE,
    step            TEXT COLLATE "C" NOT NULL,
    before_level    DOUBLE PRECISION NOT NULL,
    after_level     DOUBLE PRECISION NOT NULL,
    z               DOUBLE PRECISION NOT NULL,
    accepted_by     TEXT COLLATE "C",
    accepted_reason TEXT COLLATE "C",
    accepted_at     BIGINT
);
