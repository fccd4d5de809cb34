-- The HTTP API: bearer tokens (kept only as SHA-256 hashes) and a counter that
-- every change to the catalogue bumps, so a cached tool list knows it is stale.

CREATE TABLE tokens (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL,
    hash       TEXT NOT NULL UNIQUE,
    scope      TEXT NOT NULL CHECK (scope IN ('admin', 'push', 'tools')),
    sources    TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);

CREATE TABLE catalogue_generation (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    generation INTEGER NOT NULL
);
INSERT INTO catalogue_generation (id, generation) VALUES (1, 0);
