-- probtrack schema, version 6 (SQLite): a covered line's hit count, rounded down to a power of
-- two (docs/coverage.md, *What is stored*). Documented in docs/schema.md.

-- NULL in rows written before: they kept only whether the lines ran.
ALTER TABLE coverage_spans ADD COLUMN hits INTEGER;
