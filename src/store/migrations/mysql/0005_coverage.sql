-- probtrack schema, version 5 (MySQL/MariaDB): test coverage, step for step as SQLite's
-- 0005_coverage.sql. Documented column by column in docs/schema.md. Every statement may run again
-- after an interrupted migration (DDL commits as it goes).

CREATE TABLE IF NOT EXISTS coverage_builds (
    build_id         BIGINT PRIMARY KEY,
    base_build_id    BIGINT NULL,
    depth            BIGINT NOT NULL,
    files            BIGINT NOT NULL,
    lines_covered    BIGINT NOT NULL,
    lines_total      BIGINT NOT NULL,
    branches_covered BIGINT NOT NULL,
    branches_total   BIGINT NOT NULL,
    KEY coverage_builds_base (base_build_id),
    FOREIGN KEY (build_id) REFERENCES builds(id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS coverage_spans (
    build_id         BIGINT NOT NULL,
    test_id          BIGINT NOT NULL,
    first_line       BIGINT NOT NULL,
    last_line        BIGINT NOT NULL,
    covered          BIGINT NULL,
    branches_covered BIGINT NULL,
    branches_total   BIGINT NULL,
    PRIMARY KEY (build_id, test_id, first_line),
    FOREIGN KEY (build_id) REFERENCES builds(id) ON DELETE CASCADE,
    FOREIGN KEY (test_id) REFERENCES tests(id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
