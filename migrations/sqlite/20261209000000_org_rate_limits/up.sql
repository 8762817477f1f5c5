-- org_rate_limits (SQLite twin of the PostgreSQL migration of the same name): the quotas an org's
-- owner set below the platform's for a rate-limit policy (named as the server names it: requests,
-- org_requests, llm_calls, ...). A policy without a row has the platform's quota. The server
-- checks a quota against the platform's ceiling.
CREATE TABLE navi_org_rate_limits (
    org_id      VARCHAR(64) NOT NULL REFERENCES navi_orgs (id) ON DELETE CASCADE,
    policy      VARCHAR(64) NOT NULL,
    quota       BIGINT      NOT NULL CHECK (quota > 0),
    updated_at  TIMESTAMP   NOT NULL,
    PRIMARY KEY (org_id, policy)
);
