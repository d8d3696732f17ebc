-- probtrack schema, version 6 (PostgreSQL): a covered line's hit count, step for step as SQLite's
-- 0006_coverage_hits.sql. Documented in docs/schema.md.

-- NULL in rows written before: they kept only whether the lines ran.
ALTER TABLE coverage_spans ADD COLUMN hits BIGINT;
