-- Whether an action is pinned at the top of lists (the hand-owned `pinned`, also
-- in `hand`): lists order by it, then by id. Every action before this column was
-- unpinned (the field is new), so 0 is right for every existing row.

ALTER TABLE actions ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0;
CREATE INDEX actions_pinned_id ON actions (pinned, id);
