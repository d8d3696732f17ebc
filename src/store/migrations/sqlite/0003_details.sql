-- probtrack schema, version 3 (SQLite): failure details kept once and compressed. Documented column
-- by column in docs/schema.md.

-- Each distinct details object of a result (a JSON object: a traceback, a runner id, a skip's
-- type), deflated (raw DEFLATE, RFC 1951), keyed by a hash of its JSON text.
CREATE TABLE details (
    id   INTEGER PRIMARY KEY,
    hash BLOB NOT NULL UNIQUE,
    data BLOB NOT NULL
);

-- Results from version 3 on name their details here; `results.details` keeps those of results
-- written before (NULL for newer ones).
ALTER TABLE results ADD COLUMN details_id INTEGER REFERENCES details(id);
