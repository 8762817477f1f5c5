-- usage_calls_within_bounds (SQLite).
-- Ingest now bounds each call (prompt and completion tokens 0 to 100,000,000 each, cost 0 to
-- 10,000,000,000 micro-dollars, latency 0 to 86,400,000 ms). Before, one call of i64::MAX tokens,
-- cost and latency broke the rollups of its model and day for the whole org: on PostgreSQL every
-- later call of that model and day failed ('bigint out of range'), and dashboards over that day
-- with it. On SQLite a sum that overflowed 64 bits turned into a REAL, silently: every rollup
-- row that holds a non-integer is recomputed from the raw calls too.
--
-- Calls beyond the bounds move, unchanged, to navi_llm_calls_out_of_bounds, where an operator can
-- read them; no dashboard counts them. Every rollup row they were counted in is recomputed from
-- the calls that remain, exactly as ingest keeps it. Calls within the bounds and the rollup rows
-- that count none of the moved calls are not touched.
CREATE TABLE navi_llm_calls_out_of_bounds (
    id                BIGINT       NOT NULL PRIMARY KEY,
    org_id            VARCHAR(64)  NOT NULL,
    user_id           VARCHAR(64)  NOT NULL,
    client_call_id    VARCHAR(100),
    model             VARCHAR(100) NOT NULL,
    prompt_tokens     BIGINT       NOT NULL,
    completion_tokens BIGINT       NOT NULL,
    cost_micros       BIGINT       NOT NULL,
    latency_ms        BIGINT       NOT NULL,
    latency_bucket    SMALLINT     NOT NULL,
    occurred_at       BIGINT       NOT NULL
);
INSERT INTO navi_llm_calls_out_of_bounds (id, org_id, user_id, client_call_id, model, prompt_tokens, completion_tokens, cost_micros, latency_ms, latency_bucket, occurred_at)
SELECT id, org_id, user_id, client_call_id, model, prompt_tokens, completion_tokens, cost_micros, latency_ms, latency_bucket, occurred_at
FROM navi_llm_calls
WHERE prompt_tokens > 100000000 OR completion_tokens > 100000000 OR cost_micros > 10000000000
    OR latency_ms > 86400000;
DELETE FROM navi_llm_calls WHERE id IN (SELECT id FROM navi_llm_calls_out_of_bounds);

-- navi_usage_by_model: 900-second buckets per model.
CREATE TEMPORARY TABLE navi_repair_keys (org_id VARCHAR(64) NOT NULL, bucket BIGINT NOT NULL, model VARCHAR(100) NOT NULL);
INSERT INTO navi_repair_keys (org_id, bucket, model)
SELECT DISTINCT org_id, occurred_at - ((occurred_at % 900) + 900) % 900, model FROM navi_llm_calls_out_of_bounds;
INSERT INTO navi_repair_keys (org_id, bucket, model)
SELECT org_id, bucket, model FROM navi_usage_by_model
WHERE typeof(requests) <> 'integer' OR typeof(prompt_tokens) <> 'integer' OR typeof(completion_tokens) <> 'integer' OR typeof(cost_micros) <> 'integer' OR typeof(latency_sum_ms) <> 'integer' OR typeof(max_ms) <> 'integer';
DELETE FROM navi_usage_by_model WHERE (org_id, bucket, model) IN (SELECT org_id, bucket, model FROM navi_repair_keys);
INSERT INTO navi_usage_by_model (org_id, bucket, model, requests, prompt_tokens, completion_tokens, cost_micros, latency_sum_ms, max_ms, h00, h01, h02, h03, h04, h05, h06, h07, h08, h09, h10, h11, h12, h13, h14, h15, h16, h17, h18, h19, h20, h21, h22, h23, h24, h25, h26, h27, h28)
SELECT k.org_id, k.bucket, k.model, COUNT(*), SUM(c.prompt_tokens), SUM(c.completion_tokens), SUM(c.cost_micros), SUM(c.latency_ms),
       MAX(c.latency_ms),
       SUM(CASE WHEN c.latency_bucket = 0 THEN 1 ELSE 0 END),
       SUM(CASE WHEN c.latency_bucket = 1 THEN 1 ELSE 0 END),
       SUM(CASE WHEN c.latency_bucket = 2 THEN 1 ELSE 0 END),
       SUM(CASE WHEN c.latency_bucket = 3 THEN 1 ELSE 0 END),
       SUM(CASE WHEN c.latency_bucket = 4 THEN 1 ELSE 0 END),
       SUM(CASE WHEN c.latency_bucket = 5 THEN 1 ELSE 0 END),
       SUM(CASE WHEN c.latency_bucket = 6 THEN 1 ELSE 0 END),
       SUM(CASE WHEN c.latency_bucket = 7 THEN 1 ELSE 0 END),
       SUM(CASE WHEN c.latency_bucket = 8 THEN 1 ELSE 0 END),
       SUM(CASE WHEN c.latency_bucket = 9 THEN 1 ELSE 0 END),
       SUM(CASE WHEN c.latency_bucket = 10 THEN 1 ELSE 0 END),
       SUM(CASE WHEN c.latency_bucket = 11 THEN 1 ELSE 0 END),
       SUM(CASE WHEN c.latency_bucket = 12 THEN 1 ELSE 0 END),
       SUM(CASE WHEN c.latency_bucket = 13 THEN 1 ELSE 0 END),
       SUM(CASE WHEN c.latency_bucket = 14 THEN 1 ELSE 0 END),
       SUM(CASE WHEN c.latency_bucket = 15 THEN 1 ELSE 0 END),
       SUM(CASE WHEN c.latency_bucket = 16 THEN 1 ELSE 0 END),
       SUM(CASE WHEN c.latency_bucket = 17 THEN 1 ELSE 0 END),
       SUM(CASE WHEN c.latency_bucket = 18 THEN 1 ELSE 0 END),
       SUM(CASE WHEN c.latency_bucket = 19 THEN 1 ELSE 0 END),
       SUM(CASE WHEN c.latency_bucket = 20 THEN 1 ELSE 0 END),
       SUM(CASE WHEN c.latency_bucket = 21 THEN 1 ELSE 0 END),
       SUM(CASE WHEN c.latency_bucket = 22 THEN 1 ELSE 0 END),
       SUM(CASE WHEN c.latency_bucket = 23 THEN 1 ELSE 0 END),
       SUM(CASE WHEN c.latency_bucket = 24 THEN 1 ELSE 0 END),
       SUM(CASE WHEN c.latency_bucket = 25 THEN 1 ELSE 0 END),
       SUM(CASE WHEN c.latency_bucket = 26 THEN 1 ELSE 0 END),
       SUM(CASE WHEN c.latency_bucket = 27 THEN 1 ELSE 0 END),
       SUM(CASE WHEN c.latency_bucket = 28 THEN 1 ELSE 0 END)
FROM (SELECT DISTINCT org_id, bucket, model FROM navi_repair_keys) AS k
JOIN navi_llm_calls AS c ON c.org_id = k.org_id AND c.model = k.model
    AND c.occurred_at >= k.bucket AND c.occurred_at < k.bucket + 900
GROUP BY k.org_id, k.bucket, k.model;
DROP TABLE navi_repair_keys;

-- navi_usage_by_model_hour: 3600-second buckets per model.
CREATE TEMPORARY TABLE navi_repair_keys (org_id VARCHAR(64) NOT NULL, bucket BIGINT NOT NULL, model VARCHAR(100) NOT NULL);
INSERT INTO navi_repair_keys (org_id, bucket, model)
SELECT DISTINCT org_id, occurred_at - ((occurred_at % 3600) + 3600) % 3600, model FROM navi_llm_calls_out_of_bounds;
INSERT INTO navi_repair_keys (org_id, bucket, model)
SELECT org_id, bucket, model FROM navi_usage_by_model_hour
WHERE typeof(requests) <> 'integer' OR typeof(prompt_tokens) <> 'integer' OR typeof(completion_tokens) <> 'integer' OR typeof(cost_micros) <> 'integer' OR typeof(latency_sum_ms) <> 'integer';
DELETE FROM navi_usage_by_model_hour WHERE (org_id, bucket, model) IN (SELECT org_id, bucket, model FROM navi_repair_keys);
INSERT INTO navi_usage_by_model_hour (org_id, bucket, model, requests, prompt_tokens, completion_tokens, cost_micros, latency_sum_ms)
SELECT k.org_id, k.bucket, k.model, COUNT(*), SUM(c.prompt_tokens), SUM(c.completion_tokens), SUM(c.cost_micros), SUM(c.latency_ms)
FROM (SELECT DISTINCT org_id, bucket, model FROM navi_repair_keys) AS k
JOIN navi_llm_calls AS c ON c.org_id = k.org_id AND c.model = k.model
    AND c.occurred_at >= k.bucket AND c.occurred_at < k.bucket + 3600
GROUP BY k.org_id, k.bucket, k.model;
DROP TABLE navi_repair_keys;

-- navi_usage_by_model_day: 86400-second buckets per model.
CREATE TEMPORARY TABLE navi_repair_keys (org_id VARCHAR(64) NOT NULL, bucket BIGINT NOT NULL, model VARCHAR(100) NOT NULL);
INSERT INTO navi_repair_keys (org_id, bucket, model)
SELECT DISTINCT org_id, occurred_at - ((occurred_at % 86400) + 86400) % 86400, model FROM navi_llm_calls_out_of_bounds;
INSERT INTO navi_repair_keys (org_id, bucket, model)
SELECT org_id, bucket, model FROM navi_usage_by_model_day
WHERE typeof(requests) <> 'integer' OR typeof(prompt_tokens) <> 'integer' OR typeof(completion_tokens) <> 'integer' OR typeof(cost_micros) <> 'integer' OR typeof(latency_sum_ms) <> 'integer';
DELETE FROM navi_usage_by_model_day WHERE (org_id, bucket, model) IN (SELECT org_id, bucket, model FROM navi_repair_keys);
INSERT INTO navi_usage_by_model_day (org_id, bucket, model, requests, prompt_tokens, completion_tokens, cost_micros, latency_sum_ms)
SELECT k.org_id, k.bucket, k.model, COUNT(*), SUM(c.prompt_tokens), SUM(c.completion_tokens), SUM(c.cost_micros), SUM(c.latency_ms)
FROM (SELECT DISTINCT org_id, bucket, model FROM navi_repair_keys) AS k
JOIN navi_llm_calls AS c ON c.org_id = k.org_id AND c.model = k.model
    AND c.occurred_at >= k.bucket AND c.occurred_at < k.bucket + 86400
GROUP BY k.org_id, k.bucket, k.model;
DROP TABLE navi_repair_keys;

-- navi_usage_latency_day: histograms per UTC day.
CREATE TEMPORARY TABLE navi_repair_keys (org_id VARCHAR(64) NOT NULL, bucket BIGINT NOT NULL);
INSERT INTO navi_repair_keys (org_id, bucket)
SELECT DISTINCT org_id, occurred_at - ((occurred_at % 86400) + 86400) % 86400 FROM navi_llm_calls_out_of_bounds;
INSERT INTO navi_repair_keys (org_id, bucket)
SELECT org_id, bucket FROM navi_usage_latency_day WHERE typeof(max_ms) <> 'integer';
DELETE FROM navi_usage_latency_day WHERE (org_id, bucket) IN (SELECT org_id, bucket FROM navi_repair_keys);
INSERT INTO navi_usage_latency_day (org_id, bucket, max_ms, h00, h01, h02, h03, h04, h05, h06, h07, h08, h09, h10, h11, h12, h13, h14, h15, h16, h17, h18, h19, h20, h21, h22, h23, h24, h25, h26, h27, h28)
SELECT k.org_id, k.bucket, MAX(c.latency_ms),
       SUM(CASE WHEN c.latency_bucket = 0 THEN 1 ELSE 0 END),
       SUM(CASE WHEN c.latency_bucket = 1 THEN 1 ELSE 0 END),
       SUM(CASE WHEN c.latency_bucket = 2 THEN 1 ELSE 0 END),
       SUM(CASE WHEN c.latency_bucket = 3 THEN 1 ELSE 0 END),
       SUM(CASE WHEN c.latency_bucket = 4 THEN 1 ELSE 0 END),
       SUM(CASE WHEN c.latency_bucket = 5 THEN 1 ELSE 0 END),
       SUM(CASE WHEN c.latency_bucket = 6 THEN 1 ELSE 0 END),
       SUM(CASE WHEN c.latency_bucket = 7 THEN 1 ELSE 0 END),
       SUM(CASE WHEN c.latency_bucket = 8 THEN 1 ELSE 0 END),
       SUM(CASE WHEN c.latency_bucket = 9 THEN 1 ELSE 0 END),
       SUM(CASE WHEN c.latency_bucket = 10 THEN 1 ELSE 0 END),
       SUM(CASE WHEN c.latency_bucket = 11 THEN 1 ELSE 0 END),
       SUM(CASE WHEN c.latency_bucket = 12 THEN 1 ELSE 0 END),
       SUM(CASE WHEN c.latency_bucket = 13 THEN 1 ELSE 0 END),
       SUM(CASE WHEN c.latency_bucket = 14 THEN 1 ELSE 0 END),
       SUM(CASE WHEN c.latency_bucket = 15 THEN 1 ELSE 0 END),
       SUM(CASE WHEN c.latency_bucket = 16 THEN 1 ELSE 0 END),
       SUM(CASE WHEN c.latency_bucket = 17 THEN 1 ELSE 0 END),
       SUM(CASE WHEN c.latency_bucket = 18 THEN 1 ELSE 0 END),
       SUM(CASE WHEN c.latency_bucket = 19 THEN 1 ELSE 0 END),
       SUM(CASE WHEN c.latency_bucket = 20 THEN 1 ELSE 0 END),
       SUM(CASE WHEN c.latency_bucket = 21 THEN 1 ELSE 0 END),
       SUM(CASE WHEN c.latency_bucket = 22 THEN 1 ELSE 0 END),
       SUM(CASE WHEN c.latency_bucket = 23 THEN 1 ELSE 0 END),
       SUM(CASE WHEN c.latency_bucket = 24 THEN 1 ELSE 0 END),
       SUM(CASE WHEN c.latency_bucket = 25 THEN 1 ELSE 0 END),
       SUM(CASE WHEN c.latency_bucket = 26 THEN 1 ELSE 0 END),
       SUM(CASE WHEN c.latency_bucket = 27 THEN 1 ELSE 0 END),
       SUM(CASE WHEN c.latency_bucket = 28 THEN 1 ELSE 0 END)
FROM (SELECT DISTINCT org_id, bucket FROM navi_repair_keys) AS k
JOIN navi_llm_calls AS c ON c.org_id = k.org_id
    AND c.occurred_at >= k.bucket AND c.occurred_at < k.bucket + 86400
GROUP BY k.org_id, k.bucket;
DROP TABLE navi_repair_keys;

-- navi_usage_by_user_6h: six-hour buckets per user.
CREATE TEMPORARY TABLE navi_repair_keys (org_id VARCHAR(64) NOT NULL, bucket BIGINT NOT NULL, user_id VARCHAR(64) NOT NULL);
INSERT INTO navi_repair_keys (org_id, bucket, user_id)
SELECT DISTINCT org_id, occurred_at - ((occurred_at % 21600) + 21600) % 21600, user_id FROM navi_llm_calls_out_of_bounds;
INSERT INTO navi_repair_keys (org_id, bucket, user_id)
SELECT org_id, bucket, user_id FROM navi_usage_by_user_6h WHERE typeof(requests) <> 'integer' OR typeof(prompt_tokens) <> 'integer' OR typeof(completion_tokens) <> 'integer' OR typeof(cost_micros) <> 'integer' OR typeof(latency_sum_ms) <> 'integer';
DELETE FROM navi_usage_by_user_6h WHERE (org_id, bucket, user_id) IN (SELECT org_id, bucket, user_id FROM navi_repair_keys);
INSERT INTO navi_usage_by_user_6h (org_id, bucket, user_id, requests, prompt_tokens, completion_tokens, cost_micros, latency_sum_ms)
SELECT k.org_id, k.bucket, k.user_id, COUNT(*), SUM(c.prompt_tokens), SUM(c.completion_tokens), SUM(c.cost_micros), SUM(c.latency_ms)
FROM (SELECT DISTINCT org_id, bucket, user_id FROM navi_repair_keys) AS k
JOIN navi_llm_calls AS c ON c.org_id = k.org_id AND c.user_id = k.user_id
    AND c.occurred_at >= k.bucket AND c.occurred_at < k.bucket + 21600
GROUP BY k.org_id, k.bucket, k.user_id;
DROP TABLE navi_repair_keys;

-- navi_usage_user_running: each user's sums from a window's first day through each day. A
-- call counts in every row of its user whose window holds its day, from that day on; a row whose
-- days then hold no call goes, as ingest never makes one.
CREATE TEMPORARY TABLE navi_repair_keys (org_id VARCHAR(64) NOT NULL, window_start BIGINT NOT NULL, day BIGINT NOT NULL, user_id VARCHAR(64) NOT NULL);
INSERT INTO navi_repair_keys (org_id, window_start, day, user_id)
SELECT DISTINCT r.org_id, r.window_start, r.day, r.user_id
FROM navi_usage_user_running AS r
JOIN navi_llm_calls_out_of_bounds AS o ON o.org_id = r.org_id AND o.user_id = r.user_id
    AND r.window_start <= o.occurred_at / 86400 AND o.occurred_at / 86400 <= r.day;
INSERT INTO navi_repair_keys (org_id, window_start, day, user_id)
SELECT org_id, window_start, day, user_id FROM navi_usage_user_running WHERE typeof(requests) <> 'integer' OR typeof(prompt_tokens) <> 'integer' OR typeof(completion_tokens) <> 'integer' OR typeof(cost_micros) <> 'integer' OR typeof(latency_sum_ms) <> 'integer';
DELETE FROM navi_usage_user_running
WHERE (org_id, window_start, day, user_id) IN (SELECT org_id, window_start, day, user_id FROM navi_repair_keys);
INSERT INTO navi_usage_user_running (org_id, window_start, day, user_id, requests, prompt_tokens, completion_tokens, cost_micros, latency_sum_ms)
SELECT k.org_id, k.window_start, k.day, k.user_id, COUNT(*), SUM(c.prompt_tokens), SUM(c.completion_tokens), SUM(c.cost_micros), SUM(c.latency_ms)
FROM (SELECT DISTINCT org_id, window_start, day, user_id FROM navi_repair_keys) AS k
JOIN navi_llm_calls AS c ON c.org_id = k.org_id AND c.user_id = k.user_id
    AND c.occurred_at >= k.window_start * 86400 AND c.occurred_at < (k.day + 1) * 86400
GROUP BY k.org_id, k.window_start, k.day, k.user_id;
DROP TABLE navi_repair_keys;
