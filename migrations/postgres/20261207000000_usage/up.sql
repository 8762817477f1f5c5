-- usage (PostgreSQL): every usage table, as one migration (issue 20 replaced the eleven of
-- the tuning days). docs/usage-tables.md describes each table: key, columns, who maintains it and
-- which read uses it. Times are Unix seconds (UTC) or UTC day numbers, so both backends do the same
-- integer arithmetic; local days are cut in Rust (navi-analytics) and read as sums of buckets.
-- Usage tables carry no foreign keys on PostgreSQL: checked row by row, they cost a third of a
-- batch. Only the usage store writes them, for the org and user of a live membership.

-- Raw calls, one row each.
CREATE TABLE navi_llm_calls (
    id                BIGSERIAL    PRIMARY KEY,
    org_id            VARCHAR(64)  NOT NULL,
    user_id           VARCHAR(64)  NOT NULL,
    -- The API key that recorded the call; NULL for a call recorded by a browser session.
    api_key_id        VARCHAR(64),
    -- The client's own id: unique per org and user (a retry with the same id is not recorded again).
    client_call_id    VARCHAR(100),
    model             VARCHAR(100) NOT NULL,
    prompt_tokens     BIGINT       NOT NULL CHECK (prompt_tokens >= 0),
    completion_tokens BIGINT       NOT NULL CHECK (completion_tokens >= 0),
    cost_micros       BIGINT       NOT NULL CHECK (cost_micros >= 0),
    latency_ms        BIGINT       NOT NULL CHECK (latency_ms >= 0),
    -- Index of the fixed latency bucket (navi_analytics::LATENCY_BUCKET_UPPER_BOUNDS_MS).
    latency_bucket    SMALLINT     NOT NULL,
    occurred_at       BIGINT       NOT NULL
);
CREATE INDEX navi_llm_calls_org_time_idx ON navi_llm_calls (org_id, occurred_at);
CREATE INDEX navi_llm_calls_org_user_time_idx ON navi_llm_calls (org_id, user_id, occurred_at);
-- Only the calls that carry a client id: a NULL never conflicts, and indexing every call cost a
-- sixth of inserting them.
CREATE UNIQUE INDEX navi_llm_calls_user_call_key ON navi_llm_calls (org_id, user_id, client_call_id)
    WHERE client_call_id IS NOT NULL;

-- Feedback on a response, one row each.
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

-- Sums and the latency histogram (max_ms, h00..h28) per org, model and 15-minute bucket.
CREATE TABLE navi_usage_model_15m (
    org_id            VARCHAR(64)  NOT NULL,
    bucket            BIGINT       NOT NULL,
    model             VARCHAR(100) NOT NULL,
    requests          BIGINT       NOT NULL,
    prompt_tokens     BIGINT       NOT NULL,
    completion_tokens BIGINT       NOT NULL,
    cost_micros       BIGINT       NOT NULL,
    latency_sum_ms    BIGINT       NOT NULL,
    max_ms            BIGINT       NOT NULL DEFAULT 0,
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
    PRIMARY KEY (org_id, bucket, model)
);

-- Sums per org, model and UTC hour.
CREATE TABLE navi_usage_model_1h (
    org_id            VARCHAR(64)  NOT NULL,
    bucket            BIGINT       NOT NULL,
    model             VARCHAR(100) NOT NULL,
    requests          BIGINT       NOT NULL,
    prompt_tokens     BIGINT       NOT NULL,
    completion_tokens BIGINT       NOT NULL,
    cost_micros       BIGINT       NOT NULL,
    latency_sum_ms    BIGINT       NOT NULL,
    PRIMARY KEY (org_id, bucket, model)
);

-- Sums per org, model and UTC day.
CREATE TABLE navi_usage_model_1d (
    org_id            VARCHAR(64)  NOT NULL,
    bucket            BIGINT       NOT NULL,
    model             VARCHAR(100) NOT NULL,
    requests          BIGINT       NOT NULL,
    prompt_tokens     BIGINT       NOT NULL,
    completion_tokens BIGINT       NOT NULL,
    cost_micros       BIGINT       NOT NULL,
    latency_sum_ms    BIGINT       NOT NULL,
    PRIMARY KEY (org_id, bucket, model)
);

-- The latency histogram per org and UTC day.
CREATE TABLE navi_usage_latency_1d (
    org_id            VARCHAR(64)  NOT NULL,
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
);

-- Sums per org, user and six UTC hours (00:00, 06:00, 12:00, 18:00). On PostgreSQL the key
-- includes the sums, so by_user's scans touch only the index.
CREATE TABLE navi_usage_user_6h (
    org_id            VARCHAR(64)  NOT NULL,
    bucket            BIGINT       NOT NULL,
    user_id           VARCHAR(64)  NOT NULL,
    requests          BIGINT       NOT NULL,
    prompt_tokens     BIGINT       NOT NULL,
    completion_tokens BIGINT       NOT NULL,
    cost_micros       BIGINT       NOT NULL,
    latency_sum_ms    BIGINT       NOT NULL,
    PRIMARY KEY (org_id, bucket, user_id) INCLUDE (requests, prompt_tokens, completion_tokens, cost_micros, latency_sum_ms)
);

-- Per-user running sums: windows of 64 UTC days start every 32 days (day numbers); in a window a
-- user has calls in, each day from the first call to the window's end holds the user's sums
-- from the window's start through that day.
CREATE TABLE navi_usage_user_running_1d (
    org_id            VARCHAR(64)  NOT NULL,
    window_start      BIGINT       NOT NULL,
    day               BIGINT       NOT NULL,
    user_id           VARCHAR(64)  NOT NULL,
    requests          BIGINT       NOT NULL,
    prompt_tokens     BIGINT       NOT NULL,
    completion_tokens BIGINT       NOT NULL,
    cost_micros       BIGINT       NOT NULL,
    latency_sum_ms    BIGINT       NOT NULL,
    PRIMARY KEY (org_id, window_start, day, user_id) INCLUDE (requests, prompt_tokens, completion_tokens, cost_micros, latency_sum_ms)
);
