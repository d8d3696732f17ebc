-- probtrack schema, version 12 (MySQL/MariaDB): nothing to do. SQLite's migration of this version
-- makes a build's id one that is never given again (docs/schema.md, *builds*); here `builds.id` is
-- `AUTO_INCREMENT`, whose counter InnoDB keeps (across restarts too, since MariaDB 10.2 and MySQL
-- 8.0) and never moves back.
SELECT 1;
