-- Reverts usage_call_ids_per_user (PostgreSQL): client ids unique per org again. It fails, and
-- changes nothing, once two users of an org have recorded calls with the same id.
DROP INDEX navi_llm_calls_user_call_key;
CREATE UNIQUE INDEX navi_llm_calls_org_call_key ON navi_llm_calls (org_id, client_call_id)
    WHERE client_call_id IS NOT NULL;
