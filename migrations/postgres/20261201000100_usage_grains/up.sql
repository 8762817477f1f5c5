-- Coarser grains of the usage rollups, and per-user running totals in place of the per-user
-- day rollup, so that the org dashboard reads few rows whatever its range and zone. All are
-- maintained in the ingest transaction and backfilled here from the rollups they refine, so an
-- upgraded database stays exact.

-- Sums per org, model and UTC hour / UTC day (bucket: the first Unix second of the hour/day).
-- Their primary keys include the sums, as the 15-minute rollup's now does, so the dashboards read
-- them by index-only scans rather than one heap page per row (rows of one day lie on as many
-- pages as batches wrote them).
ALTER TABLE navi_usage_by_model DROP CONSTRAINT navi_usage_by_model_pkey,
    ADD PRIMARY KEY (org_id, bucket, model)
        INCLUDE (requests, prompt_tokens, completion_tokens, cost_micros, latency_sum_ms);

CREATE TABLE navi_usage_by_model_hour (
    org_id            VARCHAR(64)  NOT NULL REFERENCES navi_orgs (id) ON DELETE CASCADE,
    bucket            BIGINT       NOT NULL,
    model             VARCHAR(100) NOT NULL,
    requests          BIGINT       NOT NULL,
    prompt_tokens     BIGINT       NOT NULL,
    completion_tokens BIGINT       NOT NULL,
    cost_micros       BIGINT       NOT NULL,
    latency_sum_ms    BIGINT       NOT NULL,
    PRIMARY KEY (org_id, bucket, model)
        INCLUDE (requests, prompt_tokens, completion_tokens, cost_micros, latency_sum_ms)
);

CREATE TABLE navi_usage_by_model_day (
    org_id            VARCHAR(64)  NOT NULL REFERENCES navi_orgs (id) ON DELETE CASCADE,
    bucket            BIGINT       NOT NULL,
    model             VARCHAR(100) NOT NULL,
    requests          BIGINT       NOT NULL,
    prompt_tokens     BIGINT       NOT NULL,
    completion_tokens BIGINT       NOT NULL,
    cost_micros       BIGINT       NOT NULL,
    latency_sum_ms    BIGINT       NOT NULL,
    PRIMARY KEY (org_id, bucket, model)
        INCLUDE (requests, prompt_tokens, completion_tokens, cost_micros, latency_sum_ms)
);

INSERT INTO navi_usage_by_model_hour (org_id, bucket, model,
    requests, prompt_tokens, completion_tokens, cost_micros, latency_sum_ms)
SELECT org_id, bucket - ((bucket % 3600) + 3600) % 3600, model, SUM(requests),
       SUM(prompt_tokens), SUM(completion_tokens), SUM(cost_micros), SUM(latency_sum_ms)
FROM navi_usage_by_model
GROUP BY org_id, bucket - ((bucket % 3600) + 3600) % 3600, model;

INSERT INTO navi_usage_by_model_day (org_id, bucket, model,
    requests, prompt_tokens, completion_tokens, cost_micros, latency_sum_ms)
SELECT org_id, bucket - ((bucket % 86400) + 86400) % 86400, model, SUM(requests),
       SUM(prompt_tokens), SUM(completion_tokens), SUM(cost_micros), SUM(latency_sum_ms)
FROM navi_usage_by_model
GROUP BY org_id, bucket - ((bucket % 86400) + 86400) % 86400, model;

-- The latency histogram per org and UTC day (h00..h28 as in navi_usage_latency).
CREATE TABLE navi_usage_latency_day (
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
);

INSERT INTO navi_usage_latency_day (org_id, bucket, max_ms, h00, h01, h02, h03, h04, h05, h06, h07,
    h08, h09, h10, h11, h12, h13, h14, h15, h16, h17, h18, h19, h20, h21, h22, h23, h24, h25, h26,
    h27, h28)
SELECT org_id, bucket - ((bucket % 86400) + 86400) % 86400, MAX(max_ms), SUM(h00), SUM(h01),
       SUM(h02), SUM(h03), SUM(h04), SUM(h05), SUM(h06), SUM(h07), SUM(h08), SUM(h09), SUM(h10),
       SUM(h11), SUM(h12), SUM(h13), SUM(h14), SUM(h15), SUM(h16), SUM(h17), SUM(h18), SUM(h19),
       SUM(h20), SUM(h21), SUM(h22), SUM(h23), SUM(h24), SUM(h25), SUM(h26), SUM(h27), SUM(h28)
FROM navi_usage_latency
GROUP BY org_id, bucket - ((bucket % 86400) + 86400) % 86400;

-- Sums per org, UTC hour and user: by_user reads the hours between a range's ends and the
-- nearest UTC midnights here.
CREATE TABLE navi_usage_by_user_hour (
    org_id            VARCHAR(64)  NOT NULL REFERENCES navi_orgs (id) ON DELETE CASCADE,
    bucket            BIGINT       NOT NULL,
    user_id           VARCHAR(64)  NOT NULL REFERENCES navi_users (id) ON DELETE CASCADE,
    requests          BIGINT       NOT NULL,
    prompt_tokens     BIGINT       NOT NULL,
    completion_tokens BIGINT       NOT NULL,
    cost_micros       BIGINT       NOT NULL,
    latency_sum_ms    BIGINT       NOT NULL,
    PRIMARY KEY (org_id, bucket, user_id)
        INCLUDE (requests, prompt_tokens, completion_tokens, cost_micros, latency_sum_ms)
);

INSERT INTO navi_usage_by_user_hour (org_id, bucket, user_id, requests, prompt_tokens,
                                     completion_tokens, cost_micros, latency_sum_ms)
SELECT org_id, occurred_at - ((occurred_at % 3600) + 3600) % 3600, user_id, COUNT(*),
       SUM(prompt_tokens), SUM(completion_tokens), SUM(cost_micros), SUM(latency_ms)
FROM navi_llm_calls
GROUP BY org_id, occurred_at - ((occurred_at % 3600) + 3600) % 3600, user_id;

-- Running totals per user. Windows of 64 UTC days start on every day divisible by 32 (days
-- since 1970-01-01), so every day lies in two windows and any 33 days in one. In each window a
-- user has calls in, the row of each day from the first of those calls to the window's last day
-- holds the sums of the user's calls from the window's first day through that day: the sums of
-- any days within a window are one row minus another.
-- The primary keys include the sums, so by_user reads the index alone (index-only scan).
CREATE TABLE navi_usage_user_running (
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
        INCLUDE (requests, prompt_tokens, completion_tokens, cost_micros, latency_sum_ms)
);

WITH RECURSIVE offsets (n) AS (
    SELECT 0 UNION ALL SELECT n + 1 FROM offsets WHERE n < 63
), windowed AS (
    SELECT d.org_id, d.user_id, d.day, d.day - ((d.day % 32) + 32) % 32 - w.back AS window_start,
           d.requests, d.prompt_tokens, d.completion_tokens, d.cost_micros, d.latency_sum_ms
    FROM navi_usage_by_user_day d CROSS JOIN (SELECT 0 AS back UNION ALL SELECT 32) w
)
INSERT INTO navi_usage_user_running (org_id, window_start, day, user_id,
    requests, prompt_tokens, completion_tokens, cost_micros, latency_sum_ms)
SELECT x.org_id, x.window_start, x.window_start + o.n, x.user_id, SUM(x.requests),
       SUM(x.prompt_tokens), SUM(x.completion_tokens), SUM(x.cost_micros), SUM(x.latency_sum_ms)
FROM windowed x CROSS JOIN offsets o
WHERE x.window_start + o.n >= x.day
GROUP BY x.org_id, x.window_start, x.window_start + o.n, x.user_id;

DROP TABLE navi_usage_by_user_day;
