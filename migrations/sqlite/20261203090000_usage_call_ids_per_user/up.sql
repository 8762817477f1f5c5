-- usage_call_ids_per_user (SQLite).
-- A call's client id is unique per org and user, the user the call is recorded for, no longer
-- per org: with one key per org a member who posted {"id": "req-1"} first made a colleague's
-- req-1 a duplicate, hiding that call from every dashboard. The key per org was part of the
-- table's definition, so the table is rebuilt without it (rows, ids and indexes kept), and the
-- key becomes a unique index over the calls that have an id, as on PostgreSQL: ingest names the
-- same ON CONFLICT target on both backends.
CREATE TABLE navi_llm_calls_rebuilt (
    id                INTEGER      NOT NULL PRIMARY KEY,
    org_id            VARCHAR(64)  NOT NULL REFERENCES navi_orgs (id) ON DELETE CASCADE,
    user_id           VARCHAR(64)  NOT NULL REFERENCES navi_users (id) ON DELETE CASCADE,
    -- The client's own id for the call: a retried call with the same id is not recorded again.
    client_call_id    VARCHAR(100),
    model             VARCHAR(100) NOT NULL,
    prompt_tokens     BIGINT       NOT NULL CHECK (prompt_tokens >= 0),
    completion_tokens BIGINT       NOT NULL CHECK (completion_tokens >= 0),
    cost_micros       BIGINT       NOT NULL CHECK (cost_micros >= 0),
    latency_ms        BIGINT       NOT NULL CHECK (latency_ms >= 0),
    -- Index of the fixed latency bucket (navi_analytics::LATENCY_BUCKET_UPPER_BOUNDS_MS).
    latency_bucket    SMALLINT     NOT NULL,
    -- Unix seconds.
    occurred_at       BIGINT       NOT NULL
);
INSERT INTO navi_llm_calls_rebuilt (id, org_id, user_id, client_call_id, model, prompt_tokens, completion_tokens, cost_micros, latency_ms, latency_bucket, occurred_at)
SELECT id, org_id, user_id, client_call_id, model, prompt_tokens, completion_tokens, cost_micros, latency_ms, latency_bucket, occurred_at FROM navi_llm_calls;
DROP TABLE navi_llm_calls;
ALTER TABLE navi_llm_calls_rebuilt RENAME TO navi_llm_calls;
CREATE INDEX navi_llm_calls_org_time_idx ON navi_llm_calls (org_id, occurred_at);
CREATE INDEX navi_llm_calls_org_user_time_idx ON navi_llm_calls (org_id, user_id, occurred_at);
CREATE UNIQUE INDEX navi_llm_calls_user_call_key ON navi_llm_calls (org_id, user_id, client_call_id)
    WHERE client_call_id IS NOT NULL;
