-- MCP server configurations of an org. The secret is a navi-crypto ciphertext (never plaintext),
-- sealed under the org, table, column and row id; NULL when the server has no secret.
CREATE TABLE navi_mcp_servers (
    id          VARCHAR(64)   NOT NULL PRIMARY KEY,
    org_id      VARCHAR(64)   NOT NULL REFERENCES navi_orgs (id) ON DELETE CASCADE,
    name        VARCHAR(100)  NOT NULL,
    url         VARCHAR(2048) NOT NULL,
    transport   VARCHAR(8)    NOT NULL CHECK (transport IN ('http', 'sse', 'stdio')),
    secret      BYTEA,
    created_at  TIMESTAMP     NOT NULL,
    updated_at  TIMESTAMP     NOT NULL,
    CONSTRAINT navi_mcp_servers_org_name_key UNIQUE (org_id, name)
);
