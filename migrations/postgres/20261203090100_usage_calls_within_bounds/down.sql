-- Reverts usage_calls_within_bounds (PostgreSQL): the calls beyond the bounds go back among the
-- calls, unchanged. The rollups stay as the migration recomputed them, without those calls: adding
-- them back is what broke the rollups in the first place.
INSERT INTO navi_llm_calls (id, org_id, user_id, client_call_id, model, prompt_tokens, completion_tokens, cost_micros, latency_ms, latency_bucket, occurred_at)
SELECT id, org_id, user_id, client_call_id, model, prompt_tokens, completion_tokens, cost_micros, latency_ms, latency_bucket, occurred_at FROM navi_llm_calls_out_of_bounds;
DROP TABLE navi_llm_calls_out_of_bounds;
