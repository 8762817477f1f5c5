DROP TABLE navi_usage_user_running_1d;
DROP TABLE navi_usage_user_6h;
DROP TABLE navi_usage_latency_1d;
DROP TABLE navi_usage_model_1d;
DROP TABLE navi_usage_model_1h;
DROP TABLE navi_usage_model_15m;
DROP TABLE navi_feedback;
DROP TABLE navi_llm_calls;
