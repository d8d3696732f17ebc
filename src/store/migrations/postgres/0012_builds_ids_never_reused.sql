-- probtrack schema, version 12 (PostgreSQL): nothing to do. SQLite's migration of this version
-- makes a build's id one that is never given again (docs/schema.md, *builds*); here `builds.id`
-- comes from a sequence, which never gives a number twice.
SELECT 1;
