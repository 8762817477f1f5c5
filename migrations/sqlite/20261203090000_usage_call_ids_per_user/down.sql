-- Reverts usage_call_ids_per_user (SQLite): the table of calls with its key per org again. It
-- fails, and changes nothing, once two users of an org have recorded calls with the same id.
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
    occurred_at       BIGINT       NOT NULL,
    CONSTRAINT navi_llm_calls_org_call_key UNIQUE (org_id, client_call_id)
);
INSERT INTO navi_llm_calls_rebuilt (id, org_id, user_id, client_call_id, model, prompt_tokens, completion_tokens, cost_micros, latency_ms, latency_bucket, occurred_at)
SELECT id, org_id, user_id, client_call_id, model, prompt_tokens, completion_tokens, cost_micros, latency_ms, latency_bucket, occurred_at FROM navi_llm_calls;
DROP TABLE navi_llm_calls;
ALTER TABLE navi_llm_calls_rebuilt RENAME TO navi_llm_calls;
CREATE INDEX navi_llm_calls_org_time_idx ON navi_llm_calls (org_id, occurred_at);
CREATE INDEX navi_llm_calls_org_user_time_idx ON navi_llm_calls (org_id, user_id, occurred_at);
