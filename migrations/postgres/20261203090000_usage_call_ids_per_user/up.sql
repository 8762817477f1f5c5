-- usage_call_ids_per_user (PostgreSQL).
-- A call's client id is unique per org and user, the user the call is recorded for, no longer
-- per org: with one key per org a member who posted {"id": "req-1"} first made a colleague's
-- req-1 a duplicate, hiding that call from every dashboard. As before, the index holds only the
-- calls that have an id, and ingest names its predicate in ON CONFLICT.
DROP INDEX navi_llm_calls_org_call_key;
CREATE UNIQUE INDEX navi_llm_calls_user_call_key ON navi_llm_calls (org_id, user_id, client_call_id)
    WHERE client_call_id IS NOT NULL;
