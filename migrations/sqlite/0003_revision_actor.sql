-- Who applied a revision, when more is known than how (a pushed spec's token,
-- as `token:NAME`); NULL for the CLI, the watcher and the poller.

ALTER TABLE revisions ADD COLUMN actor TEXT;
