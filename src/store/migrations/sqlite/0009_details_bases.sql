-- probtrack schema, version 9 (SQLite): a details object may be deflated against a base, another
-- details object stored on its own whose JSON text is the preset dictionary (docs/schema.md,
-- *details: format*). NULL: stored on its own, as every object before version 9.
-- After this file probtrack rewrites the objects of an older database against their bases
-- (src/store/migrate.rs, `rewrite_details`; it finds the step by its name, not its number). The
-- version is raised so that an older probtrack, which would misread an object stored against a
-- base, refuses the database instead.
ALTER TABLE details ADD COLUMN base_id INTEGER REFERENCES details(id);
