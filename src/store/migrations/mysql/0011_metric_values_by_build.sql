-- probtrack schema, version 11 (MySQL/MariaDB): `metric_values` keyed by build, then series, step
-- for step as SQLite's 0011_metric_values_by_build.sql. Documented in docs/schema.md
-- (*metric_values*). InnoDB clusters a table by its key: keyed (series, build), each value of a
-- new build went to another page of the table; keyed (build, series), a build's rows are
-- appended together. InnoDB needs an index that starts with `test_id` for its foreign key, so
-- one is added before the key changes. Each statement can run again (an interrupted migration
-- is completed by the next command: an index that exists, or one already dropped, is passed over).
ALTER TABLE metric_values ADD KEY metric_values_test (test_id);
ALTER TABLE metric_values DROP PRIMARY KEY, ADD PRIMARY KEY (build_id, test_id);
ALTER TABLE metric_values DROP KEY metric_values_build;
