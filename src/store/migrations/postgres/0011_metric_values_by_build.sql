-- probtrack schema, version 11 (PostgreSQL): `metric_values` keyed by build, then series, step
-- for step as SQLite's 0011_metric_values_by_build.sql. Documented in docs/schema.md
-- (*metric_values*). The key's index was (series, build), so that each value of a new build went
-- to another page of it; keyed (build, series), a build's values are appended together, and the
-- index on build alone is the key's prefix.
ALTER TABLE metric_values DROP CONSTRAINT metric_values_pkey;
ALTER TABLE metric_values ADD PRIMARY KEY (build_id, test_id);
DROP INDEX metric_values_build;
