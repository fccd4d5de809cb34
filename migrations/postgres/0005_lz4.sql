-- The large values (a spec's bytes, each action's spec-owned fields, each
-- revision's plan) are compressed with lz4 instead of pglz where the server has
-- it (PostgreSQL 14 or later, built with lz4): an apply writes megabytes of them,
-- and pglz spent about twice lz4's time on them. Values already stored stay as
-- they are and read as before. Without lz4 nothing changes.

DO $$
BEGIN
    IF current_setting('server_version_num')::int >= 140000 THEN
        BEGIN
            EXECUTE 'ALTER TABLE specs ALTER COLUMN body SET COMPRESSION lz4';
            EXECUTE 'ALTER TABLE actions ALTER COLUMN spec SET COMPRESSION lz4';
            EXECUTE 'ALTER TABLE revisions ALTER COLUMN plan SET COMPRESSION lz4';
        EXCEPTION WHEN OTHERS THEN
            NULL;
        END;
    END IF;
END
$$;
