-- probtrack schema, version 10 (SQLite): which source files each build compiled, so that a
-- compile diagnostic's file compiled again without it is its pass whatever order the builds
-- arrived in (docs/ARCHITECTURE.md, *Compile diagnostics*). Documented in docs/schema.md
-- (*compiled_sets*). A set is stored once, by the hash of its files: most builds compile what
-- the build before them did, so they share its row.
CREATE TABLE compiled_sets (
    id    INTEGER PRIMARY KEY,
    hash  BLOB NOT NULL UNIQUE,
    files BLOB NOT NULL
);

ALTER TABLE builds ADD COLUMN compiled_id INTEGER REFERENCES compiled_sets(id);
