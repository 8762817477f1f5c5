-- The org dashboard's four queries, 30 days in UTC, on Sqlite: the SQL that
-- runs, written by `NAVI_BLESS=1 cargo test -p navi-analytics golden`. `$n` marks a
-- bound value, listed after its query: the pieces each table is read in.

-- day_models
SELECT pieces.id, t.model, t.requests, t.prompt_tokens, t.completion_tokens, t.cost_micros, t.latency_sum_ms
FROM (SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS lo, json_extract(value, '$[2]') AS hi
FROM json_each($1) LIMIT -1 OFFSET 0) AS pieces
CROSS JOIN navi_usage_model_15m AS t
WHERE t.org_id = $2 AND t.bucket >= pieces.lo AND t.bucket < pieces.hi
UNION ALL
SELECT pieces.id, t.model, t.requests, t.prompt_tokens, t.completion_tokens, t.cost_micros, t.latency_sum_ms
FROM (SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS lo, json_extract(value, '$[2]') AS hi
FROM json_each($3) LIMIT -1 OFFSET 0) AS pieces
CROSS JOIN navi_usage_model_1h AS t
WHERE t.org_id = $4 AND t.bucket >= pieces.lo AND t.bucket < pieces.hi
UNION ALL
SELECT pieces.id, t.model, t.requests, t.prompt_tokens, t.completion_tokens, t.cost_micros, t.latency_sum_ms
FROM (SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS lo, json_extract(value, '$[2]') AS hi
FROM json_each($5) LIMIT -1 OFFSET 0) AS pieces
CROSS JOIN navi_usage_model_1d AS t
WHERE t.org_id = $6 AND t.bucket >= pieces.lo AND t.bucket < pieces.hi
UNION ALL
SELECT pieces.id, t.model, COUNT(*), CAST(SUM(t.prompt_tokens) AS BIGINT), CAST(SUM(t.completion_tokens) AS BIGINT), CAST(SUM(t.cost_micros) AS BIGINT), CAST(SUM(t.latency_ms) AS BIGINT)
FROM (SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS lo, json_extract(value, '$[2]') AS hi
FROM json_each($7) LIMIT -1 OFFSET 0) AS pieces
CROSS JOIN navi_llm_calls AS t
WHERE t.org_id = $8 AND t.occurred_at >= pieces.lo AND t.occurred_at < pieces.hi
GROUP BY pieces.id, t.model;
-- $1 = "[]"
-- $2 = "org_golden"
-- $3 = "[]"
-- $4 = "org_golden"
-- $5 = "[[0,1790812800,1790899200],[1,1790899200,1790985600],[2,1790985600,1791072000],[3,1791072000,1791158400],[4,1791158400,1791244800],[5,1791244800,1791331200],[6,1791331200,1791417600],[7,1791417600,1791504000],[8,1791504000,1791590400],[9,1791590400,1791676800],[10,1791676800,1791763200],[11,1791763200,1791849600],[12,1791849600,1791936000],[13,1791936000,1792022400],[14,1792022400,1792108800],[15,1792108800,1792195200],[16,1792195200,1792281600],[17,1792281600,1792368000],[18,1792368000,1792454400],[19,1792454400,1792540800],[20,1792540800,1792627200],[21,1792627200,1792713600],[22,1792713600,1792800000],[23,1792800000,1792886400],[24,1792886400,1792972800],[25,1792972800,1793059200],[26,1793059200,1793145600],[27,1793145600,1793232000],[28,1793232000,1793318400],[29,1793318400,1793404800]]"
-- $6 = "org_golden"
-- $7 = "[]"
-- $8 = "org_golden"

-- latency
SELECT CAST(COALESCE(MAX(s.max_ms), 0) AS BIGINT) AS max_ms, CAST(COALESCE(SUM(s.h00), 0) AS BIGINT) AS h00, CAST(COALESCE(SUM(s.h01), 0) AS BIGINT) AS h01, CAST(COALESCE(SUM(s.h02), 0) AS BIGINT) AS h02, CAST(COALESCE(SUM(s.h03), 0) AS BIGINT) AS h03, CAST(COALESCE(SUM(s.h04), 0) AS BIGINT) AS h04, CAST(COALESCE(SUM(s.h05), 0) AS BIGINT) AS h05, CAST(COALESCE(SUM(s.h06), 0) AS BIGINT) AS h06, CAST(COALESCE(SUM(s.h07), 0) AS BIGINT) AS h07, CAST(COALESCE(SUM(s.h08), 0) AS BIGINT) AS h08, CAST(COALESCE(SUM(s.h09), 0) AS BIGINT) AS h09, CAST(COALESCE(SUM(s.h10), 0) AS BIGINT) AS h10, CAST(COALESCE(SUM(s.h11), 0) AS BIGINT) AS h11, CAST(COALESCE(SUM(s.h12), 0) AS BIGINT) AS h12, CAST(COALESCE(SUM(s.h13), 0) AS BIGINT) AS h13, CAST(COALESCE(SUM(s.h14), 0) AS BIGINT) AS h14, CAST(COALESCE(SUM(s.h15), 0) AS BIGINT) AS h15, CAST(COALESCE(SUM(s.h16), 0) AS BIGINT) AS h16, CAST(COALESCE(SUM(s.h17), 0) AS BIGINT) AS h17, CAST(COALESCE(SUM(s.h18), 0) AS BIGINT) AS h18, CAST(COALESCE(SUM(s.h19), 0) AS BIGINT) AS h19, CAST(COALESCE(SUM(s.h20), 0) AS BIGINT) AS h20, CAST(COALESCE(SUM(s.h21), 0) AS BIGINT) AS h21, CAST(COALESCE(SUM(s.h22), 0) AS BIGINT) AS h22, CAST(COALESCE(SUM(s.h23), 0) AS BIGINT) AS h23, CAST(COALESCE(SUM(s.h24), 0) AS BIGINT) AS h24, CAST(COALESCE(SUM(s.h25), 0) AS BIGINT) AS h25, CAST(COALESCE(SUM(s.h26), 0) AS BIGINT) AS h26, CAST(COALESCE(SUM(s.h27), 0) AS BIGINT) AS h27, CAST(COALESCE(SUM(s.h28), 0) AS BIGINT) AS h28
FROM (SELECT t.max_ms AS max_ms, t.h00 AS h00, t.h01 AS h01, t.h02 AS h02, t.h03 AS h03, t.h04 AS h04, t.h05 AS h05, t.h06 AS h06, t.h07 AS h07, t.h08 AS h08, t.h09 AS h09, t.h10 AS h10, t.h11 AS h11, t.h12 AS h12, t.h13 AS h13, t.h14 AS h14, t.h15 AS h15, t.h16 AS h16, t.h17 AS h17, t.h18 AS h18, t.h19 AS h19, t.h20 AS h20, t.h21 AS h21, t.h22 AS h22, t.h23 AS h23, t.h24 AS h24, t.h25 AS h25, t.h26 AS h26, t.h27 AS h27, t.h28 AS h28
FROM (SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS lo, json_extract(value, '$[2]') AS hi
FROM json_each($1) LIMIT -1 OFFSET 0) AS pieces
CROSS JOIN navi_usage_model_15m AS t
WHERE t.org_id = $2 AND t.bucket >= pieces.lo AND t.bucket < pieces.hi
UNION ALL
SELECT t.max_ms AS max_ms, t.h00 AS h00, t.h01 AS h01, t.h02 AS h02, t.h03 AS h03, t.h04 AS h04, t.h05 AS h05, t.h06 AS h06, t.h07 AS h07, t.h08 AS h08, t.h09 AS h09, t.h10 AS h10, t.h11 AS h11, t.h12 AS h12, t.h13 AS h13, t.h14 AS h14, t.h15 AS h15, t.h16 AS h16, t.h17 AS h17, t.h18 AS h18, t.h19 AS h19, t.h20 AS h20, t.h21 AS h21, t.h22 AS h22, t.h23 AS h23, t.h24 AS h24, t.h25 AS h25, t.h26 AS h26, t.h27 AS h27, t.h28 AS h28
FROM (SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS lo, json_extract(value, '$[2]') AS hi
FROM json_each($3) LIMIT -1 OFFSET 0) AS pieces
CROSS JOIN navi_usage_latency_1d AS t
WHERE t.org_id = $4 AND t.bucket >= pieces.lo AND t.bucket < pieces.hi
UNION ALL
SELECT t.latency_ms AS max_ms, CASE WHEN t.latency_bucket = 0 THEN 1 ELSE 0 END AS h00, CASE WHEN t.latency_bucket = 1 THEN 1 ELSE 0 END AS h01, CASE WHEN t.latency_bucket = 2 THEN 1 ELSE 0 END AS h02, CASE WHEN t.latency_bucket = 3 THEN 1 ELSE 0 END AS h03, CASE WHEN t.latency_bucket = 4 THEN 1 ELSE 0 END AS h04, CASE WHEN t.latency_bucket = 5 THEN 1 ELSE 0 END AS h05, CASE WHEN t.latency_bucket = 6 THEN 1 ELSE 0 END AS h06, CASE WHEN t.latency_bucket = 7 THEN 1 ELSE 0 END AS h07, CASE WHEN t.latency_bucket = 8 THEN 1 ELSE 0 END AS h08, CASE WHEN t.latency_bucket = 9 THEN 1 ELSE 0 END AS h09, CASE WHEN t.latency_bucket = 10 THEN 1 ELSE 0 END AS h10, CASE WHEN t.latency_bucket = 11 THEN 1 ELSE 0 END AS h11, CASE WHEN t.latency_bucket = 12 THEN 1 ELSE 0 END AS h12, CASE WHEN t.latency_bucket = 13 THEN 1 ELSE 0 END AS h13, CASE WHEN t.latency_bucket = 14 THEN 1 ELSE 0 END AS h14, CASE WHEN t.latency_bucket = 15 THEN 1 ELSE 0 END AS h15, CASE WHEN t.latency_bucket = 16 THEN 1 ELSE 0 END AS h16, CASE WHEN t.latency_bucket = 17 THEN 1 ELSE 0 END AS h17, CASE WHEN t.latency_bucket = 18 THEN 1 ELSE 0 END AS h18, CASE WHEN t.latency_bucket = 19 THEN 1 ELSE 0 END AS h19, CASE WHEN t.latency_bucket = 20 THEN 1 ELSE 0 END AS h20, CASE WHEN t.latency_bucket = 21 THEN 1 ELSE 0 END AS h21, CASE WHEN t.latency_bucket = 22 THEN 1 ELSE 0 END AS h22, CASE WHEN t.latency_bucket = 23 THEN 1 ELSE 0 END AS h23, CASE WHEN t.latency_bucket = 24 THEN 1 ELSE 0 END AS h24, CASE WHEN t.latency_bucket = 25 THEN 1 ELSE 0 END AS h25, CASE WHEN t.latency_bucket = 26 THEN 1 ELSE 0 END AS h26, CASE WHEN t.latency_bucket = 27 THEN 1 ELSE 0 END AS h27, CASE WHEN t.latency_bucket = 28 THEN 1 ELSE 0 END AS h28
FROM (SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS lo, json_extract(value, '$[2]') AS hi
FROM json_each($5) LIMIT -1 OFFSET 0) AS pieces
CROSS JOIN navi_llm_calls AS t
WHERE t.org_id = $6 AND t.occurred_at >= pieces.lo AND t.occurred_at < pieces.hi) AS s;
-- $1 = "[]"
-- $2 = "org_golden"
-- $3 = "[[0,1790812800,1793404800]]"
-- $4 = "org_golden"
-- $5 = "[]"
-- $6 = "org_golden"

-- users
SELECT pieces.id, t.user_id, t.requests, t.prompt_tokens, t.completion_tokens, t.cost_micros, t.latency_sum_ms
FROM (SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS window_start, json_extract(value, '$[2]') AS day
FROM json_each($1) LIMIT -1 OFFSET 0) AS pieces
CROSS JOIN navi_usage_user_running_1d AS t
WHERE t.org_id = $2 AND t.window_start = pieces.window_start AND t.day = pieces.day
UNION ALL
SELECT pieces.id, t.user_id, t.requests, t.prompt_tokens, t.completion_tokens, t.cost_micros, t.latency_sum_ms
FROM (SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS lo, json_extract(value, '$[2]') AS hi
FROM json_each($3) LIMIT -1 OFFSET 0) AS pieces
CROSS JOIN navi_usage_user_6h AS t
WHERE t.org_id = $4 AND t.bucket >= pieces.lo AND t.bucket < pieces.hi
UNION ALL
SELECT pieces.id, t.user_id, COUNT(*), CAST(SUM(t.prompt_tokens) AS BIGINT), CAST(SUM(t.completion_tokens) AS BIGINT), CAST(SUM(t.cost_micros) AS BIGINT), CAST(SUM(t.latency_ms) AS BIGINT)
FROM (SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS lo, json_extract(value, '$[2]') AS hi
FROM json_each($5) LIMIT -1 OFFSET 0) AS pieces
CROSS JOIN navi_llm_calls AS t
WHERE t.org_id = $6 AND t.occurred_at >= pieces.lo AND t.occurred_at < pieces.hi
GROUP BY pieces.id, t.user_id;
-- $1 = "[[1,20704,20726],[0,20704,20756]]"
-- $2 = "org_golden"
-- $3 = "[]"
-- $4 = "org_golden"
-- $5 = "[]"
-- $6 = "org_golden"

-- feedback
SELECT CAST(COALESCE(SUM(CASE WHEN t.rating > 0 THEN 1 ELSE 0 END), 0) AS BIGINT), CAST(COALESCE(SUM(CASE WHEN t.rating < 0 THEN 1 ELSE 0 END), 0) AS BIGINT)
FROM (SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS lo, json_extract(value, '$[2]') AS hi
FROM json_each($1) LIMIT -1 OFFSET 0) AS pieces
CROSS JOIN navi_feedback AS t
WHERE t.org_id = $2 AND t.created_at >= pieces.lo AND t.created_at < pieces.hi;
-- $1 = "[[0,1790812800,1793404800]]"
-- $2 = "org_golden"
