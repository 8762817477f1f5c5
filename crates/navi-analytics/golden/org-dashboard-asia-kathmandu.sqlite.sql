-- The org dashboard's one statement, 30 days in Asia/Kathmandu, on Sqlite: the SQL that
-- runs, written by `NAVI_BLESS=1 cargo test -p navi-analytics golden` (`$n` marks a
-- bound value).
SELECT *
FROM (WITH pieces (id, lo, hi) AS (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]')
FROM json_each($1))
SELECT CAST(0 AS BIGINT) AS part, CAST(pieces.id AS BIGINT) AS number, CAST(t.model AS TEXT) AS name, CAST(SUM(t.requests) AS BIGINT) AS v0, CAST(SUM(t.prompt_tokens) AS BIGINT) AS v1, CAST(SUM(t.completion_tokens) AS BIGINT) AS v2, CAST(SUM(t.cost_micros) AS BIGINT) AS v3, CAST(SUM(t.latency_sum_ms) AS BIGINT) AS v4
FROM pieces
CROSS JOIN navi_usage_model_15m t
WHERE t.org_id = $2 AND t.bucket >= pieces.lo AND t.bucket < pieces.hi
GROUP BY pieces.id, t.model) AS p0
UNION ALL
SELECT *
FROM (WITH pieces (id, lo, hi) AS (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]')
FROM json_each($3))
SELECT CAST(1 AS BIGINT) AS part, CAST(pieces.id AS BIGINT) AS number, CAST(t.model AS TEXT) AS name, CAST(SUM(t.requests) AS BIGINT) AS v0, CAST(SUM(t.prompt_tokens) AS BIGINT) AS v1, CAST(SUM(t.completion_tokens) AS BIGINT) AS v2, CAST(SUM(t.cost_micros) AS BIGINT) AS v3, CAST(SUM(t.latency_sum_ms) AS BIGINT) AS v4
FROM pieces
CROSS JOIN navi_usage_model_1h t
WHERE t.org_id = $4 AND t.bucket >= pieces.lo AND t.bucket < pieces.hi
GROUP BY pieces.id, t.model) AS p1
UNION ALL
SELECT *
FROM (WITH pieces (id, lo, hi) AS (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]')
FROM json_each($5))
SELECT CAST(2 AS BIGINT) AS part, CAST(t.bucket AS BIGINT) AS number, CAST(t.model AS TEXT) AS name, CAST(t.requests AS BIGINT) AS v0, CAST(t.prompt_tokens AS BIGINT) AS v1, CAST(t.completion_tokens AS BIGINT) AS v2, CAST(t.cost_micros AS BIGINT) AS v3, CAST(t.latency_sum_ms AS BIGINT) AS v4
FROM pieces
CROSS JOIN navi_usage_model_1d t
WHERE t.org_id = $6 AND t.bucket >= pieces.lo AND t.bucket < pieces.hi) AS p2
UNION ALL
SELECT *
FROM (WITH pieces (id, lo, hi) AS (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]')
FROM json_each($7))
SELECT CAST(3 AS BIGINT) AS part, CAST(buckets.i AS BIGINT) AS number, CAST(NULL AS TEXT) AS name, CAST(CASE buckets.i WHEN 0 THEN h00 WHEN 1 THEN h01 WHEN 2 THEN h02 WHEN 3 THEN h03 WHEN 4 THEN h04 WHEN 5 THEN h05 WHEN 6 THEN h06 WHEN 7 THEN h07 WHEN 8 THEN h08 WHEN 9 THEN h09 WHEN 10 THEN h10 WHEN 11 THEN h11 WHEN 12 THEN h12 WHEN 13 THEN h13 WHEN 14 THEN h14 WHEN 15 THEN h15 WHEN 16 THEN h16 WHEN 17 THEN h17 WHEN 18 THEN h18 WHEN 19 THEN h19 WHEN 20 THEN h20 WHEN 21 THEN h21 WHEN 22 THEN h22 WHEN 23 THEN h23 WHEN 24 THEN h24 WHEN 25 THEN h25 WHEN 26 THEN h26 WHEN 27 THEN h27 WHEN 28 THEN h28 END AS BIGINT) AS v0, CAST(summed.max_ms AS BIGINT) AS v1, CAST(0 AS BIGINT) AS v2, CAST(0 AS BIGINT) AS v3, CAST(0 AS BIGINT) AS v4
FROM (SELECT COALESCE(MAX(t.max_ms), 0) AS max_ms, COALESCE(SUM(t.h00), 0) AS h00, COALESCE(SUM(t.h01), 0) AS h01, COALESCE(SUM(t.h02), 0) AS h02, COALESCE(SUM(t.h03), 0) AS h03, COALESCE(SUM(t.h04), 0) AS h04, COALESCE(SUM(t.h05), 0) AS h05, COALESCE(SUM(t.h06), 0) AS h06, COALESCE(SUM(t.h07), 0) AS h07, COALESCE(SUM(t.h08), 0) AS h08, COALESCE(SUM(t.h09), 0) AS h09, COALESCE(SUM(t.h10), 0) AS h10, COALESCE(SUM(t.h11), 0) AS h11, COALESCE(SUM(t.h12), 0) AS h12, COALESCE(SUM(t.h13), 0) AS h13, COALESCE(SUM(t.h14), 0) AS h14, COALESCE(SUM(t.h15), 0) AS h15, COALESCE(SUM(t.h16), 0) AS h16, COALESCE(SUM(t.h17), 0) AS h17, COALESCE(SUM(t.h18), 0) AS h18, COALESCE(SUM(t.h19), 0) AS h19, COALESCE(SUM(t.h20), 0) AS h20, COALESCE(SUM(t.h21), 0) AS h21, COALESCE(SUM(t.h22), 0) AS h22, COALESCE(SUM(t.h23), 0) AS h23, COALESCE(SUM(t.h24), 0) AS h24, COALESCE(SUM(t.h25), 0) AS h25, COALESCE(SUM(t.h26), 0) AS h26, COALESCE(SUM(t.h27), 0) AS h27, COALESCE(SUM(t.h28), 0) AS h28
FROM pieces
CROSS JOIN navi_usage_model_15m t
WHERE t.org_id = $8 AND t.bucket >= pieces.lo AND t.bucket < pieces.hi) AS summed
CROSS JOIN (SELECT 0 AS i
UNION ALL
SELECT 1 AS i
UNION ALL
SELECT 2 AS i
UNION ALL
SELECT 3 AS i
UNION ALL
SELECT 4 AS i
UNION ALL
SELECT 5 AS i
UNION ALL
SELECT 6 AS i
UNION ALL
SELECT 7 AS i
UNION ALL
SELECT 8 AS i
UNION ALL
SELECT 9 AS i
UNION ALL
SELECT 10 AS i
UNION ALL
SELECT 11 AS i
UNION ALL
SELECT 12 AS i
UNION ALL
SELECT 13 AS i
UNION ALL
SELECT 14 AS i
UNION ALL
SELECT 15 AS i
UNION ALL
SELECT 16 AS i
UNION ALL
SELECT 17 AS i
UNION ALL
SELECT 18 AS i
UNION ALL
SELECT 19 AS i
UNION ALL
SELECT 20 AS i
UNION ALL
SELECT 21 AS i
UNION ALL
SELECT 22 AS i
UNION ALL
SELECT 23 AS i
UNION ALL
SELECT 24 AS i
UNION ALL
SELECT 25 AS i
UNION ALL
SELECT 26 AS i
UNION ALL
SELECT 27 AS i
UNION ALL
SELECT 28 AS i) AS buckets) AS p3
UNION ALL
SELECT *
FROM (WITH pieces (id, lo, hi) AS (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]')
FROM json_each($9))
SELECT CAST(4 AS BIGINT) AS part, CAST(buckets.i AS BIGINT) AS number, CAST(NULL AS TEXT) AS name, CAST(CASE buckets.i WHEN 0 THEN h00 WHEN 1 THEN h01 WHEN 2 THEN h02 WHEN 3 THEN h03 WHEN 4 THEN h04 WHEN 5 THEN h05 WHEN 6 THEN h06 WHEN 7 THEN h07 WHEN 8 THEN h08 WHEN 9 THEN h09 WHEN 10 THEN h10 WHEN 11 THEN h11 WHEN 12 THEN h12 WHEN 13 THEN h13 WHEN 14 THEN h14 WHEN 15 THEN h15 WHEN 16 THEN h16 WHEN 17 THEN h17 WHEN 18 THEN h18 WHEN 19 THEN h19 WHEN 20 THEN h20 WHEN 21 THEN h21 WHEN 22 THEN h22 WHEN 23 THEN h23 WHEN 24 THEN h24 WHEN 25 THEN h25 WHEN 26 THEN h26 WHEN 27 THEN h27 WHEN 28 THEN h28 END AS BIGINT) AS v0, CAST(summed.max_ms AS BIGINT) AS v1, CAST(0 AS BIGINT) AS v2, CAST(0 AS BIGINT) AS v3, CAST(0 AS BIGINT) AS v4
FROM (SELECT COALESCE(MAX(t.max_ms), 0) AS max_ms, COALESCE(SUM(t.h00), 0) AS h00, COALESCE(SUM(t.h01), 0) AS h01, COALESCE(SUM(t.h02), 0) AS h02, COALESCE(SUM(t.h03), 0) AS h03, COALESCE(SUM(t.h04), 0) AS h04, COALESCE(SUM(t.h05), 0) AS h05, COALESCE(SUM(t.h06), 0) AS h06, COALESCE(SUM(t.h07), 0) AS h07, COALESCE(SUM(t.h08), 0) AS h08, COALESCE(SUM(t.h09), 0) AS h09, COALESCE(SUM(t.h10), 0) AS h10, COALESCE(SUM(t.h11), 0) AS h11, COALESCE(SUM(t.h12), 0) AS h12, COALESCE(SUM(t.h13), 0) AS h13, COALESCE(SUM(t.h14), 0) AS h14, COALESCE(SUM(t.h15), 0) AS h15, COALESCE(SUM(t.h16), 0) AS h16, COALESCE(SUM(t.h17), 0) AS h17, COALESCE(SUM(t.h18), 0) AS h18, COALESCE(SUM(t.h19), 0) AS h19, COALESCE(SUM(t.h20), 0) AS h20, COALESCE(SUM(t.h21), 0) AS h21, COALESCE(SUM(t.h22), 0) AS h22, COALESCE(SUM(t.h23), 0) AS h23, COALESCE(SUM(t.h24), 0) AS h24, COALESCE(SUM(t.h25), 0) AS h25, COALESCE(SUM(t.h26), 0) AS h26, COALESCE(SUM(t.h27), 0) AS h27, COALESCE(SUM(t.h28), 0) AS h28
FROM pieces
CROSS JOIN navi_usage_latency_1d t
WHERE t.org_id = $10 AND t.bucket >= pieces.lo AND t.bucket < pieces.hi) AS summed
CROSS JOIN (SELECT 0 AS i
UNION ALL
SELECT 1 AS i
UNION ALL
SELECT 2 AS i
UNION ALL
SELECT 3 AS i
UNION ALL
SELECT 4 AS i
UNION ALL
SELECT 5 AS i
UNION ALL
SELECT 6 AS i
UNION ALL
SELECT 7 AS i
UNION ALL
SELECT 8 AS i
UNION ALL
SELECT 9 AS i
UNION ALL
SELECT 10 AS i
UNION ALL
SELECT 11 AS i
UNION ALL
SELECT 12 AS i
UNION ALL
SELECT 13 AS i
UNION ALL
SELECT 14 AS i
UNION ALL
SELECT 15 AS i
UNION ALL
SELECT 16 AS i
UNION ALL
SELECT 17 AS i
UNION ALL
SELECT 18 AS i
UNION ALL
SELECT 19 AS i
UNION ALL
SELECT 20 AS i
UNION ALL
SELECT 21 AS i
UNION ALL
SELECT 22 AS i
UNION ALL
SELECT 23 AS i
UNION ALL
SELECT 24 AS i
UNION ALL
SELECT 25 AS i
UNION ALL
SELECT 26 AS i
UNION ALL
SELECT 27 AS i
UNION ALL
SELECT 28 AS i) AS buckets) AS p4
UNION ALL
SELECT *
FROM (SELECT CAST(5 AS BIGINT) AS part, CAST(0 AS BIGINT) AS number, CAST(u.name AS TEXT) AS name, u.v0, u.v1, u.v2, u.v3, u.v4
FROM (SELECT u.name AS name, CAST(SUM(u.v0) AS BIGINT) AS v0, CAST(SUM(u.v1) AS BIGINT) AS v1, CAST(SUM(u.v2) AS BIGINT) AS v2, CAST(SUM(u.v3) AS BIGINT) AS v3, CAST(SUM(u.v4) AS BIGINT) AS v4
FROM (SELECT *
FROM (SELECT CAST(t.user_id AS TEXT) AS name, CAST((t.requests - COALESCE(b.requests, 0)) AS BIGINT) AS v0, CAST((t.prompt_tokens - COALESCE(b.prompt_tokens, 0)) AS BIGINT) AS v1, CAST((t.completion_tokens - COALESCE(b.completion_tokens, 0)) AS BIGINT) AS v2, CAST((t.cost_micros - COALESCE(b.cost_micros, 0)) AS BIGINT) AS v3, CAST((t.latency_sum_ms - COALESCE(b.latency_sum_ms, 0)) AS BIGINT) AS v4
FROM navi_usage_user_running_1d t
LEFT JOIN navi_usage_user_running_1d b ON b.org_id = $11 AND b.window_start = $12 AND b.day = $13 AND b.user_id = t.user_id
WHERE t.org_id = $14 AND t.window_start = $15 AND t.day = $16 AND t.requests > COALESCE(b.requests, 0)) AS p0
UNION ALL
SELECT *
FROM (WITH pieces (id, lo, hi) AS (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]')
FROM json_each($17))
SELECT CAST(t.user_id AS TEXT) AS name, CAST((t.requests) AS BIGINT) AS v0, CAST((t.prompt_tokens) AS BIGINT) AS v1, CAST((t.completion_tokens) AS BIGINT) AS v2, CAST((t.cost_micros) AS BIGINT) AS v3, CAST((t.latency_sum_ms) AS BIGINT) AS v4
FROM pieces
CROSS JOIN navi_usage_user_6h t
WHERE t.org_id = $18 AND t.bucket >= pieces.lo AND t.bucket < pieces.hi) AS p1
UNION ALL
SELECT *
FROM (WITH pieces (id, lo, hi) AS (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]')
FROM json_each($19))
SELECT CAST(t.user_id AS TEXT) AS name, CAST(-(t.requests) AS BIGINT) AS v0, CAST(-(t.prompt_tokens) AS BIGINT) AS v1, CAST(-(t.completion_tokens) AS BIGINT) AS v2, CAST(-(t.cost_micros) AS BIGINT) AS v3, CAST(-(t.latency_sum_ms) AS BIGINT) AS v4
FROM pieces
CROSS JOIN navi_usage_user_6h t
WHERE t.org_id = $20 AND t.bucket >= pieces.lo AND t.bucket < pieces.hi) AS p2
UNION ALL
SELECT *
FROM (WITH pieces (id, lo, hi) AS (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]')
FROM json_each($21))
SELECT CAST(t.user_id AS TEXT) AS name, CAST((1) AS BIGINT) AS v0, CAST((t.prompt_tokens) AS BIGINT) AS v1, CAST((t.completion_tokens) AS BIGINT) AS v2, CAST((t.cost_micros) AS BIGINT) AS v3, CAST((t.latency_ms) AS BIGINT) AS v4
FROM pieces
CROSS JOIN navi_llm_calls t
WHERE t.org_id = $22 AND t.occurred_at >= pieces.lo AND t.occurred_at < pieces.hi) AS p3
UNION ALL
SELECT *
FROM (WITH pieces (id, lo, hi) AS (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]')
FROM json_each($23))
SELECT CAST(t.user_id AS TEXT) AS name, CAST(-(1) AS BIGINT) AS v0, CAST(-(t.prompt_tokens) AS BIGINT) AS v1, CAST(-(t.completion_tokens) AS BIGINT) AS v2, CAST(-(t.cost_micros) AS BIGINT) AS v3, CAST(-(t.latency_ms) AS BIGINT) AS v4
FROM pieces
CROSS JOIN navi_llm_calls t
WHERE t.org_id = $24 AND t.occurred_at >= pieces.lo AND t.occurred_at < pieces.hi) AS p4) AS u
GROUP BY u.name HAVING SUM(u.v0) <> 0) AS u) AS p5
UNION ALL
SELECT *
FROM (WITH pieces (id, lo, hi) AS (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]')
FROM json_each($25))
SELECT CAST(6 AS BIGINT) AS part, CAST(0 AS BIGINT) AS number, CAST(NULL AS TEXT) AS name, CAST(COALESCE(SUM(CASE WHEN t.rating > 0 THEN 1 ELSE 0 END), 0) AS BIGINT) AS v0, CAST(COALESCE(SUM(CASE WHEN t.rating < 0 THEN 1 ELSE 0 END), 0) AS BIGINT) AS v1, CAST(0 AS BIGINT) AS v2, CAST(0 AS BIGINT) AS v3, CAST(0 AS BIGINT) AS v4
FROM pieces
CROSS JOIN navi_feedback t
WHERE t.org_id = $26 AND t.created_at >= pieces.lo AND t.created_at < pieces.hi) AS p6
