-- Back to foreign keys (with their cascades) on the calls and their rollups.
ALTER TABLE navi_usage_user_running ADD CONSTRAINT navi_usage_user_running_user_id_fkey FOREIGN KEY (user_id) REFERENCES navi_users (id) ON DELETE CASCADE;
ALTER TABLE navi_usage_user_running ADD CONSTRAINT navi_usage_user_running_org_id_fkey FOREIGN KEY (org_id) REFERENCES navi_orgs (id) ON DELETE CASCADE;
ALTER TABLE navi_usage_by_user_hour ADD CONSTRAINT navi_usage_by_user_hour_user_id_fkey FOREIGN KEY (user_id) REFERENCES navi_users (id) ON DELETE CASCADE;
ALTER TABLE navi_usage_by_user_hour ADD CONSTRAINT navi_usage_by_user_hour_org_id_fkey FOREIGN KEY (org_id) REFERENCES navi_orgs (id) ON DELETE CASCADE;
ALTER TABLE navi_usage_latency_day ADD CONSTRAINT navi_usage_latency_day_org_id_fkey FOREIGN KEY (org_id) REFERENCES navi_orgs (id) ON DELETE CASCADE;
ALTER TABLE navi_usage_latency ADD CONSTRAINT navi_usage_latency_org_id_fkey FOREIGN KEY (org_id) REFERENCES navi_orgs (id) ON DELETE CASCADE;
ALTER TABLE navi_usage_by_model_day ADD CONSTRAINT navi_usage_by_model_day_org_id_fkey FOREIGN KEY (org_id) REFERENCES navi_orgs (id) ON DELETE CASCADE;
ALTER TABLE navi_usage_by_model_hour ADD CONSTRAINT navi_usage_by_model_hour_org_id_fkey FOREIGN KEY (org_id) REFERENCES navi_orgs (id) ON DELETE CASCADE;
ALTER TABLE navi_usage_by_model ADD CONSTRAINT navi_usage_by_model_org_id_fkey FOREIGN KEY (org_id) REFERENCES navi_orgs (id) ON DELETE CASCADE;
ALTER TABLE navi_llm_calls ADD CONSTRAINT navi_llm_calls_user_id_fkey FOREIGN KEY (user_id) REFERENCES navi_users (id) ON DELETE CASCADE;
ALTER TABLE navi_llm_calls ADD CONSTRAINT navi_llm_calls_org_id_fkey FOREIGN KEY (org_id) REFERENCES navi_orgs (id) ON DELETE CASCADE;
