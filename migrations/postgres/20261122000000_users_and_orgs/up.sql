-- Users and the org onboarding tables. Timestamps are naive UTC (TIMESTAMP, not TIMESTAMPTZ):
-- the multi-backend diesel connection cannot carry Timestamptz, and SQLite has no time zones.

CREATE TABLE navi_users (
    id          VARCHAR(64)  NOT NULL PRIMARY KEY,
    -- Stored lowercased, so equality is case-insensitive comparison.
    email       VARCHAR(320) NOT NULL UNIQUE,
    created_at  TIMESTAMP    NOT NULL
);

CREATE TABLE navi_orgs (
    id             VARCHAR(64) NOT NULL PRIMARY KEY,
    name           VARCHAR(80) NOT NULL,
    slug           VARCHAR(80) NOT NULL UNIQUE,
    owner_user_id  VARCHAR(64) NOT NULL REFERENCES navi_users (id),
    created_at     TIMESTAMP   NOT NULL
);
CREATE INDEX navi_orgs_owner_user_id_idx ON navi_orgs (owner_user_id);

CREATE TABLE navi_org_members (
    org_id     VARCHAR(64) NOT NULL REFERENCES navi_orgs (id) ON DELETE CASCADE,
    user_id    VARCHAR(64) NOT NULL REFERENCES navi_users (id) ON DELETE CASCADE,
    role       VARCHAR(16) NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    joined_at  TIMESTAMP   NOT NULL,
    -- One membership per user per org; also serves "members of an org".
    PRIMARY KEY (org_id, user_id)
);
-- "Orgs of a user" (org context resolution for user keys).
CREATE INDEX navi_org_members_user_id_idx ON navi_org_members (user_id);

CREATE TABLE navi_org_invites (
    id           VARCHAR(64)  NOT NULL PRIMARY KEY,
    org_id       VARCHAR(64)  NOT NULL REFERENCES navi_orgs (id) ON DELETE CASCADE,
    email        VARCHAR(320) NOT NULL,
    role         VARCHAR(16)  NOT NULL CHECK (role IN ('admin', 'member')),
    -- Hex SHA-256 of the invite token: the token itself is never stored.
    token_hash   VARCHAR(64)  NOT NULL UNIQUE,
    expires_at   TIMESTAMP    NOT NULL,
    accepted_at  TIMESTAMP,
    revoked_at   TIMESTAMP,
    created_by   VARCHAR(64)  NOT NULL REFERENCES navi_users (id),
    created_at   TIMESTAMP    NOT NULL
);
-- "Pending invites of an org", newest first.
CREATE INDEX navi_org_invites_org_id_created_at_idx ON navi_org_invites (org_id, created_at);
CREATE INDEX navi_org_invites_created_by_idx ON navi_org_invites (created_by);
