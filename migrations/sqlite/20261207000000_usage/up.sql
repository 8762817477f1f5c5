-- usage (SQLite): every usage table, as one migration (issue 20 replaced the eleven of
-- the tuning days). docs/usage-tables.md describes each table: key, columns, who maintains it and
-- which read uses it. Times are Unix seconds (UTC) or UTC day numbers, so both backends do the same
-- integer arithmetic; local days are cut in Rust (navi-analytics) and read as sums of buckets.
-- SQLite keeps its cheap in-process foreign key checks, and every integer column refuses a
-- non-integer (a sum that overflows fails the batch instead of silently becoming a REAL).

-- Raw calls, one row each.
CREATE TABLE navi_llm_calls (
    id                INTEGER      NOT NULL PRIMARY KEY,
    org_id            VARCHAR(64)  NOT NULL REFERENCES navi_orgs (id) ON DELETE CASCADE,
    user_id           VARCHAR(64)  NOT NULL REFERENCES navi_users (id) ON DELETE CASCADE,
    -- The API key that recorded the call; NULL for a call recorded by a browser session.
    api_key_id        VARCHAR(64),
    -- The client's own id: unique per org and user (a retry with the same id is not recorded again).
    client_call_id    VARCHAR(100),
    model             VARCHAR(100) NOT NULL,
    prompt_tokens     BIGINT       NOT NULL CHECK (typeof(prompt_tokens) = 'integer' AND prompt_tokens >= 0),
    completion_tokens BIGINT       NOT NULL CHECK (typeof(completion_tokens) = 'integer' AND completion_tokens >= 0),
    cost_micros       BIGINT       NOT NULL CHECK (typeof(cost_micros) = 'integer' AND cost_micros >= 0),
    latency_ms        BIGINT       NOT NULL CHECK (typeof(latency_ms) = 'integer' AND latency_ms >= 0),
    -- Index of the fixed latency bucket (navi_analytics::LATENCY_BUCKET_UPPER_BOUNDS_MS).
    latency_bucket    SMALLINT     NOT NULL CHECK (typeof(latency_bucket) = 'integer'),
    occurred_at       BIGINT       NOT NULL CHECK (typeof(occurred_at) = 'integer')
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
    org_id            VARCHAR(64)  NOT NULL REFERENCES navi_orgs (id) ON DELETE CASCADE,
    bucket            BIGINT       NOT NULL CHECK (typeof(bucket) = 'integer'),
    model             VARCHAR(100) NOT NULL,
    requests          BIGINT       NOT NULL CHECK (typeof(requests) = 'integer'),
    prompt_tokens     BIGINT       NOT NULL CHECK (typeof(prompt_tokens) = 'integer'),
    completion_tokens BIGINT       NOT NULL CHECK (typeof(completion_tokens) = 'integer'),
    cost_micros       BIGINT       NOT NULL CHECK (typeof(cost_micros) = 'integer'),
    latency_sum_ms    BIGINT       NOT NULL CHECK (typeof(latency_sum_ms) = 'integer'),
    max_ms            BIGINT       NOT NULL DEFAULT 0 CHECK (typeof(max_ms) = 'integer'),
    h00               BIGINT       NOT NULL DEFAULT 0 CHECK (typeof(h00) = 'integer'),
    h01               BIGINT       NOT NULL DEFAULT 0 CHECK (typeof(h01) = 'integer'),
    h02               BIGINT       NOT NULL DEFAULT 0 CHECK (typeof(h02) = 'integer'),
    h03               BIGINT       NOT NULL DEFAULT 0 CHECK (typeof(h03) = 'integer'),
    h04               BIGINT       NOT NULL DEFAULT 0 CHECK (typeof(h04) = 'integer'),
    h05               BIGINT       NOT NULL DEFAULT 0 CHECK (typeof(h05) = 'integer'),
    h06               BIGINT       NOT NULL DEFAULT 0 CHECK (typeof(h06) = 'integer'),
    h07               BIGINT       NOT NULL DEFAULT 0 CHECK (typeof(h07) = 'integer'),
    h08               BIGINT       NOT NULL DEFAULT 0 CHECK (typeof(h08) = 'integer'),
    h09               BIGINT       NOT NULL DEFAULT 0 CHECK (typeof(h09) = 'integer'),
    h10               BIGINT       NOT NULL DEFAULT 0 CHECK (typeof(h10) = 'integer'),
    h11               BIGINT       NOT NULL DEFAULT 0 CHECK (typeof(h11) = 'integer'),
    h12               BIGINT       NOT NULL DEFAULT 0 CHECK (typeof(h12) = 'integer'),
    h13               BIGINT       NOT NULL DEFAULT 0 CHECK (typeof(h13) = 'integer'),
    h14               BIGINT       NOT NULL DEFAULT 0 CHECK (typeof(h14) = 'integer'),
    h15               BIGINT       NOT NULL DEFAULT 0 CHECK (typeof(h15) = 'integer'),
    h16               BIGINT       NOT NULL DEFAULT 0 CHECK (typeof(h16) = 'integer'),
    h17               BIGINT       NOT NULL DEFAULT 0 CHECK (typeof(h17) = 'integer'),
    h18               BIGINT       NOT NULL DEFAULT 0 CHECK (typeof(h18) = 'integer'),
    h19               BIGINT       NOT NULL DEFAULT 0 CHECK (typeof(h19) = 'integer'),
    h20               BIGINT       NOT NULL DEFAULT 0 CHECK (typeof(h20) = 'integer'),
    h21               BIGINT       NOT NULL DEFAULT 0 CHECK (typeof(h21) = 'integer'),
    h22               BIGINT       NOT NULL DEFAULT 0 CHECK (typeof(h22) = 'integer'),
    h23               BIGINT       NOT NULL DEFAULT 0 CHECK (typeof(h23) = 'integer'),
    h24               BIGINT       NOT NULL DEFAULT 0 CHECK (typeof(h24) = 'integer'),
    h25               BIGINT       NOT NULL DEFAULT 0 CHECK (typeof(h25) = 'integer'),
    h26               BIGINT       NOT NULL DEFAULT 0 CHECK (typeof(h26) = 'integer'),
    h27               BIGINT       NOT NULL DEFAULT 0 CHECK (typeof(h27) = 'integer'),
    h28               BIGINT       NOT NULL DEFAULT 0 CHECK (typeof(h28) = 'integer'),
    PRIMARY KEY (org_id, bucket, model)
) WITHOUT ROWID;

-- Sums per org, model and UTC hour.
CREATE TABLE navi_usage_model_1h (
    org_id            VARCHAR(64)  NOT NULL REFERENCES navi_orgs (id) ON DELETE CASCADE,
    bucket            BIGINT       NOT NULL CHECK (typeof(bucket) = 'integer'),
    model             VARCHAR(100) NOT NULL,
    requests          BIGINT       NOT NULL CHECK (typeof(requests) = 'integer'),
    prompt_tokens     BIGINT       NOT NULL CHECK (typeof(prompt_tokens) = 'integer'),
    completion_tokens BIGINT       NOT NULL CHECK (typeof(completion_tokens) = 'integer'),
    cost_micros       BIGINT       NOT NULL CHECK (typeof(cost_micros) = 'integer'),
    latency_sum_ms    BIGINT       NOT NULL CHECK (typeof(latency_sum_ms) = 'integer'),
    PRIMARY KEY (org_id, bucket, model)
) WITHOUT ROWID;

-- Sums per org, model and UTC day.
CREATE TABLE navi_usage_model_1d (
    org_id            VARCHAR(64)  NOT NULL REFERENCES navi_orgs (id) ON DELETE CASCADE,
    bucket            BIGINT       NOT NULL CHECK (typeof(bucket) = 'integer'),
    model             VARCHAR(100) NOT NULL,
    requests          BIGINT       NOT NULL CHECK (typeof(requests) = 'integer'),
    prompt_tokens     BIGINT       NOT NULL CHECK (typeof(prompt_tokens) = 'integer'),
    completion_tokens BIGINT       NOT NULL CHECK (typeof(completion_tokens) = 'integer'),
    cost_micros       BIGINT       NOT NULL CHECK (typeof(cost_micros) = 'integer'),
    latency_sum_ms    BIGINT       NOT NULL CHECK (typeof(latency_sum_ms) = 'integer'),
    PRIMARY KEY (org_id, bucket, model)
) WITHOUT ROWID;

-- The latency histogram per org and UTC day.
CREATE TABLE navi_usage_latency_1d (
    org_id            VARCHAR(64)  NOT NULL REFERENCES navi_orgs (id) ON DELETE CASCADE,
    bucket            BIGINT       NOT NULL CHECK (typeof(bucket) = 'integer'),
    max_ms            BIGINT       NOT NULL CHECK (typeof(max_ms) = 'integer'),
    h00               BIGINT       NOT NULL DEFAULT 0 CHECK (typeof(h00) = 'integer'),
    h01               BIGINT       NOT NULL DEFAULT 0 CHECK (typeof(h01) = 'integer'),
    h02               BIGINT       NOT NULL DEFAULT 0 CHECK (typeof(h02) = 'integer'),
    h03               BIGINT       NOT NULL DEFAULT 0 CHECK (typeof(h03) = 'integer'),
    h04               BIGINT       NOT NULL DEFAULT 0 CHECK (typeof(h04) = 'integer'),
    h05               BIGINT       NOT NULL DEFAULT 0 CHECK (typeof(h05) = 'integer'),
    h06               BIGINT       NOT NULL DEFAULT 0 CHECK (typeof(h06) = 'integer'),
    h07               BIGINT       NOT NULL DEFAULT 0 CHECK (typeof(h07) = 'integer'),
    h08               BIGINT       NOT NULL DEFAULT 0 CHECK (typeof(h08) = 'integer'),
    h09               BIGINT       NOT NULL DEFAULT 0 CHECK (typeof(h09) = 'integer'),
    h10               BIGINT       NOT NULL DEFAULT 0 CHECK (typeof(h10) = 'integer'),
    h11               BIGINT       NOT NULL DEFAULT 0 CHECK (typeof(h11) = 'integer'),
    h12               BIGINT       NOT NULL DEFAULT 0 CHECK (typeof(h12) = 'integer'),
    h13               BIGINT       NOT NULL DEFAULT 0 CHECK (typeof(h13) = 'integer'),
    h14               BIGINT       NOT NULL DEFAULT 0 CHECK (typeof(h14) = 'integer'),
    h15               BIGINT       NOT NULL DEFAULT 0 CHECK (typeof(h15) = 'integer'),
    h16               BIGINT       NOT NULL DEFAULT 0 CHECK (typeof(h16) = 'integer'),
    h17               BIGINT       NOT NULL DEFAULT 0 CHECK (typeof(h17) = 'integer'),
    h18               BIGINT       NOT NULL DEFAULT 0 CHECK (typeof(h18) = 'integer'),
    h19               BIGINT       NOT NULL DEFAULT 0 CHECK (typeof(h19) = 'integer'),
    h20               BIGINT       NOT NULL DEFAULT 0 CHECK (typeof(h20) = 'integer'),
    h21               BIGINT       NOT NULL DEFAULT 0 CHECK (typeof(h21) = 'integer'),
    h22               BIGINT       NOT NULL DEFAULT 0 CHECK (typeof(h22) = 'integer'),
    h23               BIGINT       NOT NULL DEFAULT 0 CHECK (typeof(h23) = 'integer'),
    h24               BIGINT       NOT NULL DEFAULT 0 CHECK (typeof(h24) = 'integer'),
    h25               BIGINT       NOT NULL DEFAULT 0 CHECK (typeof(h25) = 'integer'),
    h26               BIGINT       NOT NULL DEFAULT 0 CHECK (typeof(h26) = 'integer'),
    h27               BIGINT       NOT NULL DEFAULT 0 CHECK (typeof(h27) = 'integer'),
    h28               BIGINT       NOT NULL DEFAULT 0 CHECK (typeof(h28) = 'integer'),
    PRIMARY KEY (org_id, bucket)
) WITHOUT ROWID;

-- Sums per org, user and six UTC hours (00:00, 06:00, 12:00, 18:00). On PostgreSQL the key
-- includes the sums, so by_user's scans touch only the index.
CREATE TABLE navi_usage_user_6h (
    org_id            VARCHAR(64)  NOT NULL REFERENCES navi_orgs (id) ON DELETE CASCADE,
    bucket            BIGINT       NOT NULL CHECK (typeof(bucket) = 'integer'),
    user_id           VARCHAR(64)  NOT NULL REFERENCES navi_users (id) ON DELETE CASCADE,
    requests          BIGINT       NOT NULL CHECK (typeof(requests) = 'integer'),
    prompt_tokens     BIGINT       NOT NULL CHECK (typeof(prompt_tokens) = 'integer'),
    completion_tokens BIGINT       NOT NULL CHECK (typeof(completion_tokens) = 'integer'),
    cost_micros       BIGINT       NOT NULL CHECK (typeof(cost_micros) = 'integer'),
    latency_sum_ms    BIGINT       NOT NULL CHECK (typeof(latency_sum_ms) = 'integer'),
    PRIMARY KEY (org_id, bucket, user_id)
) WITHOUT ROWID;

-- Per-user running sums: windows of 64 UTC days start every 32 days (day numbers); in a window a
-- user has calls in, each day from the first call to the window's end holds the user's sums
-- from the window's start through that day.
CREATE TABLE navi_usage_user_running_1d (
    org_id            VARCHAR(64)  NOT NULL REFERENCES navi_orgs (id) ON DELETE CASCADE,
    window_start      BIGINT       NOT NULL CHECK (typeof(window_start) = 'integer'),
    day               BIGINT       NOT NULL CHECK (typeof(day) = 'integer'),
    user_id           VARCHAR(64)  NOT NULL REFERENCES navi_users (id) ON DELETE CASCADE,
    requests          BIGINT       NOT NULL CHECK (typeof(requests) = 'integer'),
    prompt_tokens     BIGINT       NOT NULL CHECK (typeof(prompt_tokens) = 'integer'),
    completion_tokens BIGINT       NOT NULL CHECK (typeof(completion_tokens) = 'integer'),
    cost_micros       BIGINT       NOT NULL CHECK (typeof(cost_micros) = 'integer'),
    latency_sum_ms    BIGINT       NOT NULL CHECK (typeof(latency_sum_ms) = 'integer'),
    PRIMARY KEY (org_id, window_start, day, user_id)
) WITHOUT ROWID;
