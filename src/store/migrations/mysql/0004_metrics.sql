-- probtrack schema, version 4 (MySQL/MariaDB): build metrics, step for step as SQLite's
-- 0004_metrics.sql. Documented column by column in docs/schema.md. Every statement may run again
-- after an interrupted migration (DDL commits as it goes).

CREATE TABLE IF NOT EXISTS metric_series (
    test_id   BIGINT PRIMARY KEY,
    unit      TEXT COLLATE utf8mb4_bin,
    direction VARCHAR(32) COLLATE utf8mb4_bin,
    FOREIGN KEY (test_id) REFERENCES tests(id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS metric_values (
    test_id   BIGINT NOT NULL,
    build_id  BIGINT NOT NULL,
    value     DOUBLE NOT NULL,
    rounds    BIGINT NOT NULL,
    mean      DOUBLE NULL,
    median    DOUBLE NULL,
    stddev    DOUBLE NULL,
    min_value DOUBLE NULL,
    max_value DOUBLE NULL,
    samples   LONGBLOB NULL,
    PRIMARY KEY (test_id, build_id),
    KEY metric_values_build (build_id),
    FOREIGN KEY (test_id) REFERENCES tests(id),
    FOREIGN KEY (build_id) REFERENCES builds(id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS problem_metrics (
    problem_id      BIGINT PRIMARY KEY,
    step            VARCHAR(32) COLLATE utf8mb4_bin NOT NULL,
    before_level    DOUBLE NOT NULL,
    after_level     DOUBLE NOT NULL,
    z               DOUBLE NOT NULL,
    accepted_by     TEXT COLLATE utf8mb4_bin NULL,
    accepted_reason TEXT COLLATE utf8mb4_bin NULL,
    accepted_at     BIGINT NULL,
    FOREIGN KEY (problem_id) REFERENCES problems(id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
