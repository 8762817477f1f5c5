DROP TABLE navi_usage_by_user_day;
DROP TABLE navi_usage_latency;
DROP TABLE navi_usage_by_model;
DROP TABLE navi_feedback;
DROP TABLE navi_llm_calls;
