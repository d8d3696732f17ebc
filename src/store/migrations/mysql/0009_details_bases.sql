-- probtrack schema, version 9 (MySQL/MariaDB): details objects deflated against a base, step for
-- step as SQLite's 0009_details_bases.sql. Documented in docs/schema.md. One statement, so that
-- it is done whole or not at all (run again, it stops at "duplicate column", which the migration
-- runner passes over).
ALTER TABLE details
    ADD COLUMN base_id BIGINT NULL,
    ADD CONSTRAINT details_base FOREIGN KEY (base_id) REFERENCES details(id);
