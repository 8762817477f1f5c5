-- The org dashboard's four queries, 30 days in Asia/Kathmandu, on Sqlite: the SQL that
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
-- $1 = "[[0,1790791200,1790792100],[3,1790877600,1790878500],[6,1790964000,1790964900],[9,1791050400,1791051300],[12,1791136800,1791137700],[15,1791223200,1791224100],[18,1791309600,1791310500],[21,1791396000,1791396900],[24,1791482400,1791483300],[27,1791568800,1791569700],[30,1791655200,1791656100],[33,1791741600,1791742500],[36,1791828000,1791828900],[39,1791914400,1791915300],[42,1792000800,1792001700],[45,1792087200,1792088100],[48,1792173600,1792174500],[51,1792260000,1792260900],[54,1792346400,1792347300],[57,1792432800,1792433700],[60,1792519200,1792520100],[63,1792605600,1792606500],[66,1792692000,1792692900],[69,1792778400,1792779300],[72,1792864800,1792865700],[75,1792951200,1792952100],[78,1793037600,1793038500],[81,1793124000,1793124900],[84,1793210400,1793211300],[87,1793296800,1793297700],[90,1793383200,1793384100]]"
-- $2 = "org_golden"
-- $3 = "[[1,1790791200,1790812800],[4,1790877600,1790899200],[7,1790964000,1790985600],[10,1791050400,1791072000],[13,1791136800,1791158400],[16,1791223200,1791244800],[19,1791309600,1791331200],[22,1791396000,1791417600],[25,1791482400,1791504000],[28,1791568800,1791590400],[31,1791655200,1791676800],[34,1791741600,1791763200],[37,1791828000,1791849600],[40,1791914400,1791936000],[43,1792000800,1792022400],[46,1792087200,1792108800],[49,1792173600,1792195200],[52,1792260000,1792281600],[55,1792346400,1792368000],[58,1792432800,1792454400],[61,1792519200,1792540800],[64,1792605600,1792627200],[67,1792692000,1792713600],[70,1792778400,1792800000],[73,1792864800,1792886400],[76,1792951200,1792972800],[79,1793037600,1793059200],[82,1793124000,1793145600],[85,1793210400,1793232000],[88,1793296800,1793318400],[91,1793383200,1793404800]]"
-- $4 = "org_golden"
-- $5 = "[[2,1790812800,1790899200],[5,1790899200,1790985600],[8,1790985600,1791072000],[11,1791072000,1791158400],[14,1791158400,1791244800],[17,1791244800,1791331200],[20,1791331200,1791417600],[23,1791417600,1791504000],[26,1791504000,1791590400],[29,1791590400,1791676800],[32,1791676800,1791763200],[35,1791763200,1791849600],[38,1791849600,1791936000],[41,1791936000,1792022400],[44,1792022400,1792108800],[47,1792108800,1792195200],[50,1792195200,1792281600],[53,1792281600,1792368000],[56,1792368000,1792454400],[59,1792454400,1792540800],[62,1792540800,1792627200],[65,1792627200,1792713600],[68,1792713600,1792800000],[71,1792800000,1792886400],[74,1792886400,1792972800],[77,1792972800,1793059200],[80,1793059200,1793145600],[83,1793145600,1793232000],[86,1793232000,1793318400],[89,1793318400,1793404800]]"
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
-- $1 = "[[0,1790792100,1790812800],[2,1793318400,1793384100]]"
-- $2 = "org_golden"
-- $3 = "[[1,1790812800,1793318400]]"
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
-- $1 = "[[3,20704,20726],[2,20704,20756]]"
-- $2 = "org_golden"
-- $3 = "[[1,1790791200,1790812800],[5,1793383200,1793404800]]"
-- $4 = "org_golden"
-- $5 = "[[0,1790791200,1790792100],[4,1793383200,1793384100]]"
-- $6 = "org_golden"

-- feedback
SELECT CAST(COALESCE(SUM(CASE WHEN t.rating > 0 THEN 1 ELSE 0 END), 0) AS BIGINT), CAST(COALESCE(SUM(CASE WHEN t.rating < 0 THEN 1 ELSE 0 END), 0) AS BIGINT)
FROM (SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS lo, json_extract(value, '$[2]') AS hi
FROM json_each($1) LIMIT -1 OFFSET 0) AS pieces
CROSS JOIN navi_feedback AS t
WHERE t.org_id = $2 AND t.created_at >= pieces.lo AND t.created_at < pieces.hi;
-- $1 = "[[0,1790792100,1793384100]]"
-- $2 = "org_golden"
