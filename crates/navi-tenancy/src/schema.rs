//! The diesel schema, shared by both backends. It must match the migrations; the tests in
//! `tests/migrations.rs` round-trip every table through it on PostgreSQL and SQLite.

diesel::table! {
    navi_users (id) {
        id -> Text,
        email -> Text,
        created_at -> Timestamp,
        email_verified_at -> Nullable<Timestamp>,
        sessions_not_before -> Nullable<Timestamp>,
    }
}

diesel::table! {
    navi_orgs (id) {
        id -> Text,
        name -> Text,
        slug -> Text,
        owner_user_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    navi_org_members (org_id, user_id) {
        org_id -> Text,
        user_id -> Text,
        role -> Text,
        joined_at -> Timestamp,
    }
}

diesel::table! {
    navi_org_invites (id) {
        id -> Text,
        org_id -> Text,
        email -> Text,
        role -> Text,
        token_hash -> Text,
        expires_at -> Timestamp,
        accepted_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    navi_api_keys (id) {
        id -> Text,
        user_id -> Text,
        org_id -> Nullable<Text>,
        name -> Text,
        prefix -> Text,
        secret_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        last_used_at -> Nullable<Timestamp>,
        rotated_from -> Nullable<Text>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use navi_crypto::sql_types::Encrypted;

    navi_mcp_servers (id) {
        id -> Text,
        org_id -> Text,
        name -> Text,
        url -> Text,
        transport -> Text,
        secret -> Nullable<Encrypted>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use navi_crypto::sql_types::Encrypted;

    navi_audit_logs (id) {
        id -> Text,
        org_id -> Text,
        seq -> BigInt,
        actor_user_id -> Nullable<Text>,
        action -> Text,
        target_type -> Text,
        target_id -> Nullable<Text>,
        ip -> Nullable<Text>,
        created_at -> Timestamp,
        payload -> Nullable<Encrypted>,
        chain_key_id -> Text,
        link -> Binary,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use navi_crypto::sql_types::Encrypted;

    navi_sso_connections (id) {
        id -> Text,
        org_id -> Text,
        issuer -> Text,
        client_id -> Text,
        client_secret -> Nullable<Encrypted>,
        first_role -> Text,
        role_claim -> Nullable<Text>,
        role_values -> Text,
        enforced -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    navi_sso_domains (domain) {
        domain -> Text,
        org_id -> Text,
        approved_at -> Timestamp,
    }
}

diesel::table! {
    navi_org_rate_limits (org_id, policy) {
        org_id -> Text,
        policy -> Text,
        quota -> BigInt,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    navi_user_identities (issuer, subject) {
        issuer -> Text,
        subject -> Text,
        user_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(navi_orgs -> navi_users (owner_user_id));
diesel::joinable!(navi_sso_connections -> navi_orgs (org_id));
diesel::joinable!(navi_sso_domains -> navi_orgs (org_id));
diesel::joinable!(navi_org_rate_limits -> navi_orgs (org_id));
diesel::joinable!(navi_api_keys -> navi_users (user_id));
diesel::joinable!(navi_org_members -> navi_orgs (org_id));
diesel::joinable!(navi_org_members -> navi_users (user_id));
diesel::joinable!(navi_org_invites -> navi_orgs (org_id));
diesel::joinable!(navi_mcp_servers -> navi_orgs (org_id));
diesel::joinable!(navi_audit_logs -> navi_orgs (org_id));

diesel::allow_tables_to_appear_in_same_query!(
    navi_users,
    navi_orgs,
    navi_org_members,
    navi_org_invites,
    navi_api_keys,
    navi_mcp_servers,
    navi_audit_logs,
    navi_sso_connections,
    navi_sso_domains,
    navi_user_identities,
    navi_org_rate_limits,
);
