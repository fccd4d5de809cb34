-- The web console: a `curator` token scope, and the console's sessions, kept here
-- so that replicas sharing a catalogue share them. A session id is stored only as
-- its SHA-256; its CSRF token guards every write of the session.

ALTER TABLE tokens DROP CONSTRAINT IF EXISTS tokens_scope_check;
ALTER TABLE tokens ADD CONSTRAINT tokens_scope_check
    CHECK (scope IN ('admin', 'push', 'tools', 'curator'));

CREATE TABLE console_sessions (
    hash       TEXT PRIMARY KEY,
    token_id   BIGINT NOT NULL REFERENCES tokens (id) ON DELETE CASCADE,
    csrf       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX console_sessions_token ON console_sessions (token_id);
