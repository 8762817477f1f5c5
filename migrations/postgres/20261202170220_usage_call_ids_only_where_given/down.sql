-- Reverts usage_call_ids_only_where_given (PostgreSQL): the unique key holds every call again.
DROP INDEX navi_llm_calls_org_call_key;
ALTER TABLE navi_llm_calls
    ADD CONSTRAINT navi_llm_calls_org_call_key UNIQUE (org_id, client_call_id);
