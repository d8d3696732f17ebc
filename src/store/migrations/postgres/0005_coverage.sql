-- probtrack schema, version 5 (PostgreSQL): test coverage, step for step as SQLite's
-- 0005_coverage.sql. Documented column by column in docs/schema.md.

CREATE TABLE coverage_builds (
    build_id         BIGINT PRIMARY KEY REFERENCES builds(id) ON DELETE CASCADE,
    base_build_id    BIGINT,
    depth            BIGINT NOT NULL,
    files            BIGINT NOT NULL,
    lines_covered    BIGINT NOT NULL,
    lines_total      BIGINT NOT NULL,
    branches_covered BIGINT NOT NULL,
    branches_total   BIGINT NOT NULL
);
CREATE INDEX coverage_builds_base ON coverage_builds (base_build_id);

CREATE TABLE coverage_spans (
    build_id         BIGINT NOT NULL REFERENCES builds(id) ON DELETE CASCADE,
    test_id          BIGINT NOT NULL REFERENCES tests(id),
    first_line       BIGINT NOT NULL,
    last_line        BIGINT NOT NULL,
    covered          BIGINT,
    branches_covered BIGINT,
    branches_total   BIGINT,
    PRIMARY KEY (build_id, test_id, first_line)
);
