-- usage_integer_columns (SQLite).
-- SQLite stores what it is given: a sum that overflowed 64 bits became a REAL, silently, and the
-- dashboards then read a rounded number. Every integer column of the calls and the rollups now
-- refuses anything but an integer (CHECK (typeof(col) = 'integer')), so such a write fails
-- instead. SQLite cannot add a CHECK to a table: each table is rebuilt with its rows, keys and
-- indexes. usage_calls_within_bounds, just before, left only integers to copy.
-- Its twin in migrations/postgres changes nothing: bigint columns hold only integers.
CREATE TABLE navi_llm_calls_rebuilt (
    id                INTEGER      NOT NULL PRIMARY KEY,
    org_id            VARCHAR(64)  NOT NULL REFERENCES navi_orgs (id) ON DELETE CASCADE,
    user_id           VARCHAR(64)  NOT NULL REFERENCES navi_users (id) ON DELETE CASCADE,
    client_call_id    VARCHAR(100),
    model             VARCHAR(100) NOT NULL,
    prompt_tokens     BIGINT       NOT NULL CHECK (typeof(prompt_tokens) = 'integer' AND prompt_tokens >= 0),
    completion_tokens BIGINT       NOT NULL CHECK (typeof(completion_tokens) = 'integer' AND completion_tokens >= 0),
    cost_micros       BIGINT       NOT NULL CHECK (typeof(cost_micros) = 'integer' AND cost_micros >= 0),
    latency_ms        BIGINT       NOT NULL CHECK (typeof(latency_ms) = 'integer' AND latency_ms >= 0),
    latency_bucket    SMALLINT     NOT NULL CHECK (typeof(latency_bucket) = 'integer'),
    occurred_at       BIGINT       NOT NULL CHECK (typeof(occurred_at) = 'integer')
);
INSERT INTO navi_llm_calls_rebuilt (id, org_id, user_id, client_call_id, model, prompt_tokens, completion_tokens, cost_micros, latency_ms, latency_bucket, occurred_at)
SELECT id, org_id, user_id, client_call_id, model, prompt_tokens, completion_tokens, cost_micros, latency_ms, latency_bucket, occurred_at FROM navi_llm_calls;
DROP TABLE navi_llm_calls;
ALTER TABLE navi_llm_calls_rebuilt RENAME TO navi_llm_calls;
CREATE INDEX navi_llm_calls_org_time_idx ON navi_llm_calls (org_id, occurred_at);
CREATE INDEX navi_llm_calls_org_user_time_idx ON navi_llm_calls (org_id, user_id, occurred_at);
CREATE UNIQUE INDEX navi_llm_calls_user_call_key ON navi_llm_calls (org_id, user_id, client_call_id)
    WHERE client_call_id IS NOT NULL;

CREATE TABLE navi_usage_by_model_rebuilt (
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
INSERT INTO navi_usage_by_model_rebuilt (org_id, bucket, model, requests, prompt_tokens, completion_tokens, cost_micros, latency_sum_ms, max_ms, h00, h01, h02, h03, h04, h05, h06, h07, h08, h09, h10, h11, h12, h13, h14, h15, h16, h17, h18, h19, h20, h21, h22, h23, h24, h25, h26, h27, h28)
SELECT org_id, bucket, model, requests, prompt_tokens, completion_tokens, cost_micros, latency_sum_ms, max_ms, h00, h01, h02, h03, h04, h05, h06, h07, h08, h09, h10, h11, h12, h13, h14, h15, h16, h17, h18, h19, h20, h21, h22, h23, h24, h25, h26, h27, h28 FROM navi_usage_by_model;
DROP TABLE navi_usage_by_model;
ALTER TABLE navi_usage_by_model_rebuilt RENAME TO navi_usage_by_model;

CREATE TABLE navi_usage_by_model_hour_rebuilt (
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
INSERT INTO navi_usage_by_model_hour_rebuilt (org_id, bucket, model, requests, prompt_tokens, completion_tokens, cost_micros, latency_sum_ms)
SELECT org_id, bucket, model, requests, prompt_tokens, completion_tokens, cost_micros, latency_sum_ms FROM navi_usage_by_model_hour;
DROP TABLE navi_usage_by_model_hour;
ALTER TABLE navi_usage_by_model_hour_rebuilt RENAME TO navi_usage_by_model_hour;

CREATE TABLE navi_usage_by_model_day_rebuilt (
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
INSERT INTO navi_usage_by_model_day_rebuilt (org_id, bucket, model, requests, prompt_tokens, completion_tokens, cost_micros, latency_sum_ms)
SELECT org_id, bucket, model, requests, prompt_tokens, completion_tokens, cost_micros, latency_sum_ms FROM navi_usage_by_model_day;
DROP TABLE navi_usage_by_model_day;
ALTER TABLE navi_usage_by_model_day_rebuilt RENAME TO navi_usage_by_model_day;

CREATE TABLE navi_usage_latency_day_rebuilt (
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
INSERT INTO navi_usage_latency_day_rebuilt (org_id, bucket, max_ms, h00, h01, h02, h03, h04, h05, h06, h07, h08, h09, h10, h11, h12, h13, h14, h15, h16, h17, h18, h19, h20, h21, h22, h23, h24, h25, h26, h27, h28)
SELECT org_id, bucket, max_ms, h00, h01, h02, h03, h04, h05, h06, h07, h08, h09, h10, h11, h12, h13, h14, h15, h16, h17, h18, h19, h20, h21, h22, h23, h24, h25, h26, h27, h28 FROM navi_usage_latency_day;
DROP TABLE navi_usage_latency_day;
ALTER TABLE navi_usage_latency_day_rebuilt RENAME TO navi_usage_latency_day;

CREATE TABLE navi_usage_by_user_6h_rebuilt (
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
INSERT INTO navi_usage_by_user_6h_rebuilt (org_id, bucket, user_id, requests, prompt_tokens, completion_tokens, cost_micros, latency_sum_ms)
SELECT org_id, bucket, user_id, requests, prompt_tokens, completion_tokens, cost_micros, latency_sum_ms FROM navi_usage_by_user_6h;
DROP TABLE navi_usage_by_user_6h;
ALTER TABLE navi_usage_by_user_6h_rebuilt RENAME TO navi_usage_by_user_6h;

CREATE TABLE navi_usage_user_running_rebuilt (
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
INSERT INTO navi_usage_user_running_rebuilt (org_id, window_start, day, user_id, requests, prompt_tokens, completion_tokens, cost_micros, latency_sum_ms)
SELECT org_id, window_start, day, user_id, requests, prompt_tokens, completion_tokens, cost_micros, latency_sum_ms FROM navi_usage_user_running;
DROP TABLE navi_usage_user_running;
ALTER TABLE navi_usage_user_running_rebuilt RENAME TO navi_usage_user_running;
