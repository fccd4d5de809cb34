-- A paused source is still read and planned, never applied until resumed
-- (`actionsync sources pause`, `POST /v1/sources/{name}/pause`). `pending` holds the
-- counts (JSON) of the plan a paused source would apply, NULL when it has none:
-- it is what "out of sync" shows. No source was paused before this column.

ALTER TABLE sources ADD COLUMN paused BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sources ADD COLUMN pending TEXT;
