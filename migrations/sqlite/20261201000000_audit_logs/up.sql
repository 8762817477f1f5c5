-- Audit events of an org, one chain per org. `seq` counts an org's events from 1 with no gaps.
-- `payload` is a navi-crypto ciphertext sealed under the org, table, column and row id (NULL
-- never written; nullable so the registry of encrypted columns can walk it). `link` is the
-- HMAC-SHA256, under the chain key named by `chain_key_id` (kept outside the database), of the
-- row's fields, a keyed digest of its plaintext payload and the previous row's link.
CREATE TABLE navi_audit_logs (
    id            VARCHAR(64)  NOT NULL PRIMARY KEY,
    -- No cascade: an org cannot be deleted while its audit trail exists.
    org_id        VARCHAR(64)  NOT NULL REFERENCES navi_orgs (id),
    seq           BIGINT       NOT NULL CHECK (seq >= 1),
    actor_user_id VARCHAR(64),
    action        VARCHAR(64)  NOT NULL,
    target_type   VARCHAR(64)  NOT NULL,
    target_id     VARCHAR(200),
    ip            VARCHAR(64),
    created_at    TIMESTAMP    NOT NULL,
    payload       BLOB,
    chain_key_id  VARCHAR(16)  NOT NULL,
    link          BLOB         NOT NULL,
    CONSTRAINT navi_audit_logs_org_seq_key UNIQUE (org_id, seq)
);
CREATE INDEX navi_audit_logs_org_time_idx ON navi_audit_logs (org_id, created_at);
