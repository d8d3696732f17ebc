-- probtrack schema, version 10 (MySQL/MariaDB): which source files each build compiled, step for
-- step as SQLite's 0010_compiled_sets.sql. Documented in docs/schema.md. Each statement can run
-- again (an interrupted migration is completed by the next command).
CREATE TABLE IF NOT EXISTS compiled_sets (
    id    BIGINT AUTO_INCREMENT PRIMARY KEY,
    hash  VARBINARY(32) NOT NULL,
    files LONGBLOB NOT NULL,
    UNIQUE KEY compiled_sets_hash (hash)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

ALTER TABLE builds
    ADD COLUMN compiled_id BIGINT NULL,
    ADD CONSTRAINT builds_compiled FOREIGN KEY (compiled_id) REFERENCES compiled_sets(id);
