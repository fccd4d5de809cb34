-- Reconciles whose plan was refused (a guard, lint), for `actionsync history`:
-- one row per source, spec and reasons; the same refusal again (a watched file
-- saved twice, a poll) bumps `times` and `last_at` instead of adding a row.

CREATE TABLE refusals (
    id        BIGSERIAL PRIMARY KEY,
    source    TEXT NOT NULL,
    spec_hash TEXT NOT NULL,
    reasons   TEXT NOT NULL,
    refused_by TEXT NOT NULL,
    actor     TEXT,
    first_at  BIGINT NOT NULL,
    last_at   BIGINT NOT NULL,
    times     BIGINT NOT NULL
);
CREATE INDEX refusals_source ON refusals (source, last_at);
