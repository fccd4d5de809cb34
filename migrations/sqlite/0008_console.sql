-- The web console: a `curator` token scope (SQLite cannot change a CHECK, so the
-- table is rebuilt with the same rows and ids), and the console's sessions, kept
-- here so that replicas sharing a catalogue share them. A session id is stored
-- only as its SHA-256; its CSRF token guards every write of the session.

CREATE TABLE tokens_new (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL,
    hash       TEXT NOT NULL UNIQUE,
    scope      TEXT NOT NULL CHECK (scope IN ('admin', 'push', 'tools', 'curator')),
    sources    TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
INSERT INTO tokens_new (id, name, hash, scope, sources, created_at, revoked_at)
    SELECT id, name, hash, scope, sources, created_at, revoked_at FROM tokens;
DROP TABLE tokens;
ALTER TABLE tokens_new RENAME TO tokens;

CREATE TABLE console_sessions (
    hash       TEXT PRIMARY KEY,
    token_id   INTEGER NOT NULL REFERENCES tokens (id) ON DELETE CASCADE,
    csrf       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX console_sessions_token ON console_sessions (token_id);
