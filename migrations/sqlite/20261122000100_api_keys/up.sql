-- API keys: `navi_<prefix>_<secret>`. Only an HMAC-SHA256 of the secret under a server-side pepper
-- is stored; keys are found by their public prefix and compared in constant time.
CREATE TABLE navi_api_keys (
    id            VARCHAR(64)  NOT NULL PRIMARY KEY,
    user_id       VARCHAR(64)  NOT NULL REFERENCES navi_users (id) ON DELETE CASCADE,
    -- The org a key is pinned to; NULL for a user key that works in every org of its user.
    org_id        VARCHAR(64)  REFERENCES navi_orgs (id) ON DELETE CASCADE,
    name          VARCHAR(100) NOT NULL,
    prefix        VARCHAR(16)  NOT NULL UNIQUE,
    -- Hex HMAC-SHA256 of the secret part under NAVI_API_KEY_PEPPER.
    secret_hash   VARCHAR(64)  NOT NULL,
    created_at    TIMESTAMP    NOT NULL,
    expires_at    TIMESTAMP,
    revoked_at    TIMESTAMP,
    last_used_at  TIMESTAMP,
    -- The key this one replaced by rotation.
    rotated_from  VARCHAR(64)
);
CREATE INDEX navi_api_keys_user_id_idx ON navi_api_keys (user_id);
CREATE INDEX navi_api_keys_org_id_idx ON navi_api_keys (org_id);
