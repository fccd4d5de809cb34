-- What an apply writes most of, compressed: the spec's bytes (`specs.body`) and
-- the revision's plan, which records every field of every action it creates,
-- are written zstd-compressed (a first apply of Kubernetes' spec wrote 4.4 MB of
-- spec and 6.5 MB of plan; compressed, 0.2 MB each). `specs.encoding` is 'zstd'
-- where `body` is a zstd frame of the spec's bytes (`size` stays their length)
-- and NULL where `body` is the bytes themselves; `revisions.plan_zstd` is the
-- plan's JSON as a zstd frame, and `plan` is then ''. Rows written before this
-- stay as they are and read as before. The server need not try to compress
-- them again: both are kept out of line, uncompressed (`STORAGE EXTERNAL`),
-- which changes how new values are stored, not the values already there.

ALTER TABLE specs ADD COLUMN encoding TEXT;
ALTER TABLE specs ALTER COLUMN body SET STORAGE EXTERNAL;
ALTER TABLE revisions ADD COLUMN plan_zstd BYTEA;
ALTER TABLE revisions ALTER COLUMN plan_zstd SET STORAGE EXTERNAL;
