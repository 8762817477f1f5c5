-- sso (SQLite twin of the PostgreSQL migration of the same name): OpenID Connect connections of
-- an org, the email domains the operator approved for an org (a domain belongs to at most one
-- org), and the identities people sign in with.

-- An org's connection to its identity provider. The client secret is a navi-crypto ciphertext
-- sealed under the org, table, column and row id (NULL for a public client). `role_values` maps
-- values of the `role_claim` claim to a first role: {"admin":[...],"member":[...]}.
CREATE TABLE navi_sso_connections (
    id             VARCHAR(64)   NOT NULL PRIMARY KEY,
    org_id         VARCHAR(64)   NOT NULL REFERENCES navi_orgs (id) ON DELETE CASCADE,
    issuer         VARCHAR(2048) NOT NULL,
    client_id      VARCHAR(512)  NOT NULL,
    client_secret  BLOB,
    first_role     VARCHAR(16)   NOT NULL CHECK (first_role IN ('admin', 'member')),
    role_claim     VARCHAR(128),
    role_values    TEXT          NOT NULL,
    enforced       BOOLEAN       NOT NULL,
    created_at     TIMESTAMP     NOT NULL,
    updated_at     TIMESTAMP     NOT NULL
);
CREATE INDEX navi_sso_connections_org_id_idx ON navi_sso_connections (org_id);

-- Lowercased; the org whose connections are trusted for emails of the domain.
CREATE TABLE navi_sso_domains (
    domain       VARCHAR(253) NOT NULL PRIMARY KEY,
    org_id       VARCHAR(64)  NOT NULL REFERENCES navi_orgs (id) ON DELETE CASCADE,
    approved_at  TIMESTAMP    NOT NULL
);
CREATE INDEX navi_sso_domains_org_id_idx ON navi_sso_domains (org_id);

-- An identity at an identity provider: (issuer, subject), never an email claim, names the user.
CREATE TABLE navi_user_identities (
    issuer      VARCHAR(2048) NOT NULL,
    subject     VARCHAR(255)  NOT NULL,
    user_id     VARCHAR(64)   NOT NULL REFERENCES navi_users (id) ON DELETE CASCADE,
    created_at  TIMESTAMP     NOT NULL,
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX navi_user_identities_user_id_idx ON navi_user_identities (user_id);
