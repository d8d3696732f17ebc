-- probtrack schema, version 3 (MySQL/MariaDB): failure details kept once and compressed, step for
-- step as SQLite's 0003_details.sql. Documented column by column in docs/schema.md. Every
-- statement may run again after an interrupted migration (DDL commits as it goes).

CREATE TABLE IF NOT EXISTS details (
    id   BIGINT AUTO_INCREMENT PRIMARY KEY,
    hash VARBINARY(32) NOT NULL,
    data LONGBLOB NOT NULL,
    UNIQUE KEY details_hash (hash)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One statement, so that it is done whole or not at all (run again, it stops at "duplicate
-- column", which the migration runner passes over).
ALTER TABLE results
    ADD COLUMN details_id BIGINT NULL,
    ADD CONSTRAINT results_details FOREIGN KEY (details_id) REFERENCES details(id);
