-- usage_call_ids_only_where_given (PostgreSQL).
-- The calls' client ids are unique per org, and the unique key now holds only the calls that
-- have an id. A call without one can never conflict (NULLs are distinct), yet the constraint
-- indexed every call, all under the same key (org_id, NULL): writing those entries cost about
-- 8 ms of a 1000-call batch's 40 to 50 ms of inserting calls. Ingest names the index's
-- predicate in its ON CONFLICT (navi_tenancy::dialect::client_call_conflict).
-- Its twin in migrations/sqlite/20261202170220_usage_call_ids_only_where_given changes nothing.
ALTER TABLE navi_llm_calls DROP CONSTRAINT navi_llm_calls_org_call_key;
CREATE UNIQUE INDEX navi_llm_calls_org_call_key ON navi_llm_calls (org_id, client_call_id)
    WHERE client_call_id IS NOT NULL;
