//! `schema.rs` matches the migrated database on both backends: every table round-trips through
//! it, and the database enforces foreign keys and uniqueness.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::schema::{navi_org_invites, navi_org_members, navi_orgs, navi_users};
use crate::testing::TestDatabase;
use crate::{checkout, now, DbConnection};

fn every_table_round_trips_through_the_diesel_schema(db: TestDatabase) {
    let pool = db.migrated_pool();
    let mut conn = checkout(&pool).unwrap();
    let created = now();
    diesel::insert_into(navi_users::table)
        .values((
            navi_users::id.eq("usr_1"),
            navi_users::email.eq("ada@example.com"),
            navi_users::created_at.eq(created),
        ))
        .execute(&mut conn)
        .unwrap();
    diesel::insert_into(navi_orgs::table)
        .values((
            navi_orgs::id.eq("org_1"),
            navi_orgs::name.eq("Acme"),
            navi_orgs::slug.eq("acme"),
            navi_orgs::owner_user_id.eq("usr_1"),
            navi_orgs::created_at.eq(created),
        ))
        .execute(&mut conn)
        .unwrap();
    diesel::insert_into(navi_org_members::table)
        .values((
            navi_org_members::org_id.eq("org_1"),
            navi_org_members::user_id.eq("usr_1"),
            navi_org_members::role.eq("owner"),
            navi_org_members::joined_at.eq(created),
        ))
        .execute(&mut conn)
        .unwrap();
    diesel::insert_into(navi_org_invites::table)
        .values((
            navi_org_invites::id.eq("inv_1"),
            navi_org_invites::org_id.eq("org_1"),
            navi_org_invites::email.eq("bob@example.com"),
            navi_org_invites::role.eq("member"),
            navi_org_invites::token_hash.eq("ab".repeat(32)),
            navi_org_invites::expires_at.eq(created),
            navi_org_invites::created_by.eq("usr_1"),
            navi_org_invites::created_at.eq(created),
        ))
        .execute(&mut conn)
        .unwrap();

    let user: (String, String, NaiveDateTime) = navi_users::table
        .select((navi_users::id, navi_users::email, navi_users::created_at))
        .first(&mut conn)
        .unwrap();
    assert_eq!(user, ("usr_1".into(), "ada@example.com".into(), created));
    let unverified: (Option<NaiveDateTime>, Option<NaiveDateTime>) = navi_users::table
        .select((
            navi_users::email_verified_at,
            navi_users::sessions_not_before,
        ))
        .first(&mut conn)
        .unwrap();
    assert_eq!(unverified, (None, None));
    let org: (String, String, String, String, NaiveDateTime) =
        navi_orgs::table.first(&mut conn).unwrap();
    assert_eq!(
        org,
        (
            "org_1".into(),
            "Acme".into(),
            "acme".into(),
            "usr_1".into(),
            created
        )
    );
    let member: (String, String, String, NaiveDateTime) =
        navi_org_members::table.first(&mut conn).unwrap();
    assert_eq!(
        member,
        ("org_1".into(), "usr_1".into(), "owner".into(), created)
    );
    let invite = navi_org_invites::table
        .select((
            navi_org_invites::id,
            navi_org_invites::accepted_at,
            navi_org_invites::revoked_at,
        ))
        .first::<(String, Option<NaiveDateTime>, Option<NaiveDateTime>)>(&mut conn)
        .unwrap();
    assert_eq!(invite, ("inv_1".into(), None, None));
}

fn foreign_keys_and_unique_slugs_are_enforced(db: TestDatabase) {
    let pool = db.migrated_pool();
    let mut conn = checkout(&pool).unwrap();
    let orphan = diesel::insert_into(navi_org_members::table)
        .values((
            navi_org_members::org_id.eq("org_missing"),
            navi_org_members::user_id.eq("usr_missing"),
            navi_org_members::role.eq("member"),
            navi_org_members::joined_at.eq(now()),
        ))
        .execute(&mut conn);
    assert!(
        matches!(
            orphan,
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::ForeignKeyViolation,
                _
            ))
        ),
        "{orphan:?}"
    );
    let insert_user = |conn: &mut DbConnection, id: &str, email: &str| {
        diesel::insert_into(navi_users::table)
            .values((
                navi_users::id.eq(id),
                navi_users::email.eq(email),
                navi_users::created_at.eq(now()),
            ))
            .execute(conn)
    };
    insert_user(&mut conn, "usr_1", "a@example.com").unwrap();
    let duplicate = insert_user(&mut conn, "usr_2", "a@example.com");
    assert!(
        matches!(
            duplicate,
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _
            ))
        ),
        "{duplicate:?}"
    );
}

crate::backend_tests!(
    every_table_round_trips_through_the_diesel_schema,
    foreign_keys_and_unique_slugs_are_enforced,
);
