-- probtrack schema, version 12 (MySQL/MariaDB): nothing to do. SQLite's migration of this version
-- makes the ids of builds and Problems ones that are never given again (docs/schema.md,
-- *builds*, *problems*); here `builds.id` and `problems.id` are `AUTO_INCREMENT`, whose counters
-- InnoDB keeps (across restarts too, since MariaDB 10.2 and MySQL 8.0) and never moves back.
SELECT 1;
