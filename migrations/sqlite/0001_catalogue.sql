-- The catalogue: sources, the specs they applied (each stored once), actions with
-- spec-owned and hand-owned fields kept apart, numbered revisions, and an audit of
-- hand edits. Times are milliseconds since the Unix epoch.

CREATE TABLE sources (
    name            TEXT PRIMARY KEY,
    kind            TEXT NOT NULL,
    location        TEXT NOT NULL,
    input_hash      TEXT,
    etag            TEXT,
    last_modified   TEXT,
    last_revision   INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    last_error_at   INTEGER,
    last_success_at INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);

CREATE TABLE specs (
    hash       TEXT PRIMARY KEY,
    body       BLOB NOT NULL,
    size       INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);

-- AUTOINCREMENT: an id is never reused, even after a delete.
CREATE TABLE actions (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    source     TEXT NOT NULL REFERENCES sources (name),
    key        TEXT NOT NULL,
    name       TEXT NOT NULL,
    state      TEXT NOT NULL CHECK (state IN ('active', 'archived')),
    method     TEXT NOT NULL,
    path       TEXT NOT NULL,
    spec       TEXT NOT NULL,
    hand       TEXT NOT NULL,
    hand_set   TEXT NOT NULL,
    version    INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (source, key)
);

-- Names in effect are unique among active actions, across every source.
CREATE UNIQUE INDEX actions_active_name ON actions (name) WHERE state = 'active';
CREATE INDEX actions_source ON actions (source);

CREATE TABLE revisions (
    source     TEXT NOT NULL REFERENCES sources (name),
    number     INTEGER NOT NULL,
    spec_hash  TEXT NOT NULL REFERENCES specs (hash),
    applied_by TEXT NOT NULL,
    applied_at INTEGER NOT NULL,
    counts     TEXT NOT NULL,
    plan       TEXT NOT NULL,
    PRIMARY KEY (source, number)
);

CREATE TABLE audit (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    action_id INTEGER NOT NULL,
    at        INTEGER NOT NULL,
    actor     TEXT NOT NULL,
    field     TEXT NOT NULL,
    old       TEXT NOT NULL,
    new       TEXT NOT NULL,
    version   INTEGER NOT NULL
);
CREATE INDEX audit_action ON audit (action_id);
