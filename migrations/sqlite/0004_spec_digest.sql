-- A digest (XXH3-128) of each action's compared spec-owned fields (all of `spec` but
-- `operation`), written with them by every apply: a re-plan reads the digests and
-- decodes `spec` only where a draft's digest differs. NULL (rows written before
-- this column) counts as different, so those rows are compared in full.

ALTER TABLE actions ADD COLUMN spec_digest TEXT;
