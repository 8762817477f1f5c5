-- The calls and their rollups carry no foreign keys on PostgreSQL. PostgreSQL checks a foreign
-- key row by row: a batch of 1000 calls paid about 2000 lookups of navi_orgs and navi_users for
-- the calls alone, and as many again for the rollup rows it created, a third of the batch's time.
-- These rows are written only by navi_tenancy::usage::record_calls, for the org and user of a
-- TenantScope, which exists only for a live membership; nothing deletes orgs or users. (Were that
-- ever added, it must delete their usage rows itself: there is no cascade any more.)

ALTER TABLE navi_llm_calls DROP CONSTRAINT navi_llm_calls_org_id_fkey;
ALTER TABLE navi_llm_calls DROP CONSTRAINT navi_llm_calls_user_id_fkey;
ALTER TABLE navi_usage_by_model DROP CONSTRAINT navi_usage_by_model_org_id_fkey;
ALTER TABLE navi_usage_by_model_hour DROP CONSTRAINT navi_usage_by_model_hour_org_id_fkey;
ALTER TABLE navi_usage_by_model_day DROP CONSTRAINT navi_usage_by_model_day_org_id_fkey;
ALTER TABLE navi_usage_latency DROP CONSTRAINT navi_usage_latency_org_id_fkey;
ALTER TABLE navi_usage_latency_day DROP CONSTRAINT navi_usage_latency_day_org_id_fkey;
ALTER TABLE navi_usage_by_user_hour DROP CONSTRAINT navi_usage_by_user_hour_org_id_fkey;
ALTER TABLE navi_usage_by_user_hour DROP CONSTRAINT navi_usage_by_user_hour_user_id_fkey;
ALTER TABLE navi_usage_user_running DROP CONSTRAINT navi_usage_user_running_org_id_fkey;
ALTER TABLE navi_usage_user_running DROP CONSTRAINT navi_usage_user_running_user_id_fkey;
