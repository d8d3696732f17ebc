-- probtrack schema, version 9 (PostgreSQL): details objects deflated against a base, step for
-- step as SQLite's 0009_details_bases.sql. Documented in docs/schema.md.
ALTER TABLE details ADD COLUMN base_id BIGINT REFERENCES details(id);
