-- probtrack schema, version 12 (PostgreSQL): nothing to do. SQLite's migration of this version
-- makes the ids of builds and Problems ones that are never given again (docs/schema.md,
-- *builds*, *problems*); here `builds.id` and `problems.id` come from sequences, which never give
-- a number twice.
SELECT 1;
