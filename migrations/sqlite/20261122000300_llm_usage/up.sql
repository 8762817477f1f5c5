-- LLM usage: raw calls, feedback, and the rollups the dashboards read. All times used for
-- grouping are Unix seconds (UTC) so both backends do the same integer arithmetic; local days are
-- computed in Rust (navi-analytics) and passed in as ranges with their UTC offset.

CREATE TABLE navi_llm_calls (
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
CREATE INDEX navi_llm_calls_org_time_idx ON navi_llm_calls (org_id, occurred_at);
CREATE INDEX navi_llm_calls_org_user_time_idx ON navi_llm_calls (org_id, user_id, occurred_at);

CREATE TABLE navi_feedback (
    id                VARCHAR(64)  NOT NULL PRIMARY KEY,
    org_id            VARCHAR(64)  NOT NULL REFERENCES navi_orgs (id) ON DELETE CASCADE,
    user_id           VARCHAR(64)  NOT NULL REFERENCES navi_users (id) ON DELETE CASCADE,
    target_id         VARCHAR(200) NOT NULL,
    rating            SMALLINT     NOT NULL CHECK (rating IN (-1, 1)),
    comment           TEXT,
    -- Unix seconds.
    created_at        BIGINT       NOT NULL
);
CREATE INDEX navi_feedback_org_time_idx ON navi_feedback (org_id, created_at);
CREATE INDEX navi_feedback_org_user_time_idx ON navi_feedback (org_id, user_id, created_at);

-- Rollups, maintained in the ingest transaction. Buckets are 15-minute Unix-second boundaries
-- (every UTC offset in use is a multiple of 15 minutes, so local days are unions of buckets).
CREATE TABLE navi_usage_by_model (
    org_id            VARCHAR(64)  NOT NULL REFERENCES navi_orgs (id) ON DELETE CASCADE,
    bucket            BIGINT       NOT NULL,
    model             VARCHAR(100) NOT NULL,
    requests          BIGINT       NOT NULL,
    prompt_tokens     BIGINT       NOT NULL,
    completion_tokens BIGINT       NOT NULL,
    cost_micros       BIGINT       NOT NULL,
    latency_sum_ms    BIGINT       NOT NULL,
    PRIMARY KEY (org_id, bucket, model)
) WITHOUT ROWID;

-- Latency histogram per 15-minute bucket: h00..h28 count calls per fixed latency bucket.
CREATE TABLE navi_usage_latency (
    org_id            VARCHAR(64)  NOT NULL REFERENCES navi_orgs (id) ON DELETE CASCADE,
    bucket            BIGINT       NOT NULL,
    max_ms            BIGINT       NOT NULL,
    h00               BIGINT       NOT NULL DEFAULT 0,
    h01               BIGINT       NOT NULL DEFAULT 0,
    h02               BIGINT       NOT NULL DEFAULT 0,
    h03               BIGINT       NOT NULL DEFAULT 0,
    h04               BIGINT       NOT NULL DEFAULT 0,
    h05               BIGINT       NOT NULL DEFAULT 0,
    h06               BIGINT       NOT NULL DEFAULT 0,
    h07               BIGINT       NOT NULL DEFAULT 0,
    h08               BIGINT       NOT NULL DEFAULT 0,
    h09               BIGINT       NOT NULL DEFAULT 0,
    h10               BIGINT       NOT NULL DEFAULT 0,
    h11               BIGINT       NOT NULL DEFAULT 0,
    h12               BIGINT       NOT NULL DEFAULT 0,
    h13               BIGINT       NOT NULL DEFAULT 0,
    h14               BIGINT       NOT NULL DEFAULT 0,
    h15               BIGINT       NOT NULL DEFAULT 0,
    h16               BIGINT       NOT NULL DEFAULT 0,
    h17               BIGINT       NOT NULL DEFAULT 0,
    h18               BIGINT       NOT NULL DEFAULT 0,
    h19               BIGINT       NOT NULL DEFAULT 0,
    h20               BIGINT       NOT NULL DEFAULT 0,
    h21               BIGINT       NOT NULL DEFAULT 0,
    h22               BIGINT       NOT NULL DEFAULT 0,
    h23               BIGINT       NOT NULL DEFAULT 0,
    h24               BIGINT       NOT NULL DEFAULT 0,
    h25               BIGINT       NOT NULL DEFAULT 0,
    h26               BIGINT       NOT NULL DEFAULT 0,
    h27               BIGINT       NOT NULL DEFAULT 0,
    h28               BIGINT       NOT NULL DEFAULT 0,
    PRIMARY KEY (org_id, bucket)
) WITHOUT ROWID;

-- Per user per UTC day (days since 1970-01-01): by_user reads whole days here and the partial
-- days at the ends of a range from navi_llm_calls.
CREATE TABLE navi_usage_by_user_day (
    org_id            VARCHAR(64)  NOT NULL REFERENCES navi_orgs (id) ON DELETE CASCADE,
    day               BIGINT       NOT NULL,
    user_id           VARCHAR(64)  NOT NULL REFERENCES navi_users (id) ON DELETE CASCADE,
    requests          BIGINT       NOT NULL,
    prompt_tokens     BIGINT       NOT NULL,
    completion_tokens BIGINT       NOT NULL,
    cost_micros       BIGINT       NOT NULL,
    latency_sum_ms    BIGINT       NOT NULL,
    PRIMARY KEY (org_id, day, user_id)
) WITHOUT ROWID;
