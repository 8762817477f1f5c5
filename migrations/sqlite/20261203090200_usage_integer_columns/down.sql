-- Reverts usage_integer_columns (SQLite): the tables without the integer checks.
CREATE TABLE navi_usage_user_running_rebuilt (
    org_id            VARCHAR(64)  NOT NULL REFERENCES navi_orgs (id) ON DELETE CASCADE,
    window_start      BIGINT       NOT NULL,
    day               BIGINT       NOT NULL,
    user_id           VARCHAR(64)  NOT NULL REFERENCES navi_users (id) ON DELETE CASCADE,
    requests          BIGINT       NOT NULL,
    prompt_tokens     BIGINT       NOT NULL,
    completion_tokens BIGINT       NOT NULL,
    cost_micros       BIGINT       NOT NULL,
    latency_sum_ms    BIGINT       NOT NULL,
    PRIMARY KEY (org_id, window_start, day, user_id)
) WITHOUT ROWID;
INSERT INTO navi_usage_user_running_rebuilt (org_id, window_start, day, user_id, requests, prompt_tokens, completion_tokens, cost_micros, latency_sum_ms)
SELECT org_id, window_start, day, user_id, requests, prompt_tokens, completion_tokens, cost_micros, latency_sum_ms FROM navi_usage_user_running;
DROP TABLE navi_usage_user_running;
ALTER TABLE navi_usage_user_running_rebuilt RENAME TO navi_usage_user_running;

CREATE TABLE navi_usage_by_user_6h_rebuilt (
    org_id            VARCHAR(64)  NOT NULL REFERENCES navi_orgs (id) ON DELETE CASCADE,
    bucket            BIGINT       NOT NULL,
    user_id           VARCHAR(64)  NOT NULL REFERENCES navi_users (id) ON DELETE CASCADE,
    requests          BIGINT       NOT NULL,
    prompt_tokens     BIGINT       NOT NULL,
    completion_tokens BIGINT       NOT NULL,
    cost_micros       BIGINT       NOT NULL,
    latency_sum_ms    BIGINT       NOT NULL,
    PRIMARY KEY (org_id, bucket, user_id)
) WITHOUT ROWID;
INSERT INTO navi_usage_by_user_6h_rebuilt (org_id, bucket, user_id, requests, prompt_tokens, completion_tokens, cost_micros, latency_sum_ms)
SELECT org_id, bucket, user_id, requests, prompt_tokens, completion_tokens, cost_micros, latency_sum_ms FROM navi_usage_by_user_6h;
DROP TABLE navi_usage_by_user_6h;
ALTER TABLE navi_usage_by_user_6h_rebuilt RENAME TO navi_usage_by_user_6h;

CREATE TABLE navi_usage_latency_day_rebuilt (
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
INSERT INTO navi_usage_latency_day_rebuilt (org_id, bucket, max_ms, h00, h01, h02, h03, h04, h05, h06, h07, h08, h09, h10, h11, h12, h13, h14, h15, h16, h17, h18, h19, h20, h21, h22, h23, h24, h25, h26, h27, h28)
SELECT org_id, bucket, max_ms, h00, h01, h02, h03, h04, h05, h06, h07, h08, h09, h10, h11, h12, h13, h14, h15, h16, h17, h18, h19, h20, h21, h22, h23, h24, h25, h26, h27, h28 FROM navi_usage_latency_day;
DROP TABLE navi_usage_latency_day;
ALTER TABLE navi_usage_latency_day_rebuilt RENAME TO navi_usage_latency_day;

CREATE TABLE navi_usage_by_model_day_rebuilt (
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
INSERT INTO navi_usage_by_model_day_rebuilt (org_id, bucket, model, requests, prompt_tokens, completion_tokens, cost_micros, latency_sum_ms)
SELECT org_id, bucket, model, requests, prompt_tokens, completion_tokens, cost_micros, latency_sum_ms FROM navi_usage_by_model_day;
DROP TABLE navi_usage_by_model_day;
ALTER TABLE navi_usage_by_model_day_rebuilt RENAME TO navi_usage_by_model_day;

CREATE TABLE navi_usage_by_model_hour_rebuilt (
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
INSERT INTO navi_usage_by_model_hour_rebuilt (org_id, bucket, model, requests, prompt_tokens, completion_tokens, cost_micros, latency_sum_ms)
SELECT org_id, bucket, model, requests, prompt_tokens, completion_tokens, cost_micros, latency_sum_ms FROM navi_usage_by_model_hour;
DROP TABLE navi_usage_by_model_hour;
ALTER TABLE navi_usage_by_model_hour_rebuilt RENAME TO navi_usage_by_model_hour;

CREATE TABLE navi_usage_by_model_rebuilt (
    org_id            VARCHAR(64)  NOT NULL REFERENCES navi_orgs (id) ON DELETE CASCADE,
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
) WITHOUT ROWID;
INSERT INTO navi_usage_by_model_rebuilt (org_id, bucket, model, requests, prompt_tokens, completion_tokens, cost_micros, latency_sum_ms, max_ms, h00, h01, h02, h03, h04, h05, h06, h07, h08, h09, h10, h11, h12, h13, h14, h15, h16, h17, h18, h19, h20, h21, h22, h23, h24, h25, h26, h27, h28)
SELECT org_id, bucket, model, requests, prompt_tokens, completion_tokens, cost_micros, latency_sum_ms, max_ms, h00, h01, h02, h03, h04, h05, h06, h07, h08, h09, h10, h11, h12, h13, h14, h15, h16, h17, h18, h19, h20, h21, h22, h23, h24, h25, h26, h27, h28 FROM navi_usage_by_model;
DROP TABLE navi_usage_by_model;
ALTER TABLE navi_usage_by_model_rebuilt RENAME TO navi_usage_by_model;

CREATE TABLE navi_llm_calls_rebuilt (
    id                INTEGER      NOT NULL PRIMARY KEY,
    org_id            VARCHAR(64)  NOT NULL REFERENCES navi_orgs (id) ON DELETE CASCADE,
    user_id           VARCHAR(64)  NOT NULL REFERENCES navi_users (id) ON DELETE CASCADE,
    client_call_id    VARCHAR(100),
    model             VARCHAR(100) NOT NULL,
    prompt_tokens     BIGINT       NOT NULL CHECK (prompt_tokens >= 0),
    completion_tokens BIGINT       NOT NULL CHECK (completion_tokens >= 0),
    cost_micros       BIGINT       NOT NULL CHECK (cost_micros >= 0),
    latency_ms        BIGINT       NOT NULL CHECK (latency_ms >= 0),
    latency_bucket    SMALLINT     NOT NULL,
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
