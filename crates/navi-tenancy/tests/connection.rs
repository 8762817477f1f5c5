//! The connection layer: each backend is set up for a server, and `schema.rs` matches the
//! migrated database on both.

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::Text;
use navi_tenancy::schema::{navi_org_invites, navi_org_members, navi_orgs, navi_users};
use navi_tenancy::testing::TestDatabase;
use navi_tenancy::{backend_tests, checkout, migrations, Backend, DbConnection, StoreError};

#[derive(QueryableByName)]
struct Setting {
    #[diesel(sql_type = Text)]
    value: String,
}

fn setting(conn: &mut DbConnection, query: &str) -> String {
    diesel::sql_query(query)
        .get_result::<Setting>(conn)
        .unwrap()
        .value
}

#[test]
fn sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout() {
    let db = TestDatabase::sqlite();
    let pool = db.pool();
    let mut conn = checkout(&pool).unwrap();
    assert_eq!(
        setting(
            &mut conn,
            "SELECT journal_mode AS value FROM pragma_journal_mode"
        ),
        "wal"
    );
    assert_eq!(
        setting(
            &mut conn,
            "SELECT CAST(foreign_keys AS TEXT) AS value FROM pragma_foreign_keys"
        ),
        "1"
    );
    assert_eq!(
        setting(
            &mut conn,
            "SELECT CAST(timeout AS TEXT) AS value FROM pragma_busy_timeout"
        ),
        "5000"
    );
}

#[test]
fn postgres_connections_use_utc_and_a_statement_timeout() {
    let db = TestDatabase::postgres();
    let pool = db.pool();
    let mut conn = checkout(&pool).unwrap();
    assert_eq!(
        setting(
            &mut conn,
            "SELECT current_setting('statement_timeout') AS value"
        ),
        "30s"
    );
    assert_eq!(
        setting(&mut conn, "SELECT current_setting('TimeZone') AS value"),
        "UTC"
    );
}

#[test]
fn an_unreachable_postgres_is_unavailable_not_a_panic() {
    let url = navi_tenancy::DatabaseUrl::parse("postgres://postgres@127.0.0.1:1/none").unwrap();
    let pool = navi_tenancy::build_pool(
        &url,
        &navi_tenancy::PoolOptions {
            connection_timeout: std::time::Duration::from_millis(300),
            ..Default::default()
        },
    );
    assert!(matches!(checkout(&pool), Err(StoreError::Unavailable(_))));
}

fn now() -> NaiveDateTime {
    // Whole microseconds: both backends store that precision.
    let now = Utc::now().naive_utc();
    now - chrono::Duration::nanoseconds(i64::from(now.and_utc().timestamp_subsec_nanos() % 1000))
}

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

    let user: (String, String, NaiveDateTime) = navi_users::table.first(&mut conn).unwrap();
    assert_eq!(user, ("usr_1".into(), "ada@example.com".into(), created));
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

backend_tests!(
    every_table_round_trips_through_the_diesel_schema,
    foreign_keys_and_unique_slugs_are_enforced,
);

#[test]
fn a_fresh_database_reports_every_migration_pending() {
    for backend in [Backend::Postgres, Backend::Sqlite] {
        let db = TestDatabase::new(backend);
        let mut conn = db.connect();
        assert_eq!(
            migrations::pending(&mut conn).unwrap(),
            migrations::all(backend).unwrap()
        );
        assert!(migrations::applied(&mut conn).unwrap().is_empty());
    }
}
