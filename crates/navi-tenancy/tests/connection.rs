//! The connection layer: each backend is set up for a server.

use diesel::prelude::*;
use diesel::sql_types::Text;
use navi_tenancy::testing::TestDatabase;
use navi_tenancy::{checkout, migrations, Backend, DbConnection, StoreError};

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

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn users(conn: &mut DbConnection) -> i64 {
    diesel::sql_query("SELECT COUNT(*) AS n FROM navi_users")
        .get_result::<Count>(conn)
        .unwrap()
        .n
}

/// A read made of several statements sees one moment: a user another connection adds after the
/// first statement is not in the second, and is there once the snapshot ends.
fn a_snapshot_transaction_reads_one_moment(db: TestDatabase) {
    let pool = db.migrated_pool();
    let mut reader = checkout(&pool).unwrap();
    let mut writer = checkout(&pool).unwrap();
    let (first, second) = navi_tenancy::snapshot_transaction(&mut reader, |conn| {
        let first = users(conn);
        diesel::sql_query(
            "INSERT INTO navi_users (id, email, created_at) \
             VALUES ('usr_snapshot', 'snapshot@example.com', CURRENT_TIMESTAMP)",
        )
        .execute(&mut writer)
        .unwrap();
        Ok((first, users(conn)))
    })
    .unwrap();
    assert_eq!(first, second);
    assert_eq!(users(&mut reader), first + 1);
}

navi_tenancy::backend_tests!(a_snapshot_transaction_reads_one_moment);
