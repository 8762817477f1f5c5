//! Test support: every test gets a database of its own, so the suite runs in parallel and leaves
//! nothing behind.
//!
//! PostgreSQL comes from `NAVI_TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/test`,
//! the local service `cargo xtask test` makes sure of). A test gets a fresh schema there (every
//! pooled connection's `search_path` points at it), or with [`TestDatabase::postgres_database`] a
//! whole database of its own. SQLite tests get a file in a fresh temporary directory. A test never
//! skips: an unreachable server fails it with instructions.
//!
//! [`backend_tests!`](crate::backend_tests) runs one test body on both backends.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};

use crate::db::{build_pool, Backend, DatabaseUrl, DbConnection, DbPool, PoolOptions};
use crate::migrations;

/// The PostgreSQL server tests use when `NAVI_TEST_DATABASE_URL` is not set.
pub const DEFAULT_TEST_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The PostgreSQL URL tests run against.
pub fn postgres_base_url() -> String {
    std::env::var("NAVI_TEST_DATABASE_URL")
        .ok()
        .filter(|url| !url.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_TEST_DATABASE_URL.to_owned())
}

/// A database that exists for one test and is removed when dropped.
#[derive(Debug)]
pub struct TestDatabase {
    url: DatabaseUrl,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    Schema { base_url: String, schema: String },
    Database { base_url: String, database: String },
    Directory(PathBuf),
}

impl TestDatabase {
    /// An empty database on `backend` (see the other constructors).
    pub fn new(backend: Backend) -> Self {
        match backend {
            Backend::Postgres => TestDatabase::postgres(),
            Backend::Sqlite => TestDatabase::sqlite(),
        }
    }

    /// A fresh, empty schema on the test PostgreSQL server.
    pub fn postgres() -> Self {
        let base_url = postgres_base_url();
        let schema = unique_name("navi_test");
        admin_connection(&base_url)
            .batch_execute(&format!("CREATE SCHEMA {schema}"))
            .unwrap_or_else(|e| panic!("cannot create test schema {schema}: {e}"));
        let url = with_query_param(&base_url, &format!("options=-csearch_path%3D{schema}"));
        TestDatabase {
            url: DatabaseUrl::Postgres(url),
            cleanup: Cleanup::Schema { base_url, schema },
        }
    }

    /// A fresh, empty PostgreSQL database, for tests that must remove it from under a running
    /// server (a schema is cheaper: prefer [`TestDatabase::postgres`]).
    pub fn postgres_database() -> Self {
        let base_url = postgres_base_url();
        let database = unique_name("navi_test_db");
        admin_connection(&base_url)
            .batch_execute(&format!("CREATE DATABASE {database}"))
            .unwrap_or_else(|e| panic!("cannot create test database {database}: {e}"));
        TestDatabase {
            url: DatabaseUrl::Postgres(replace_database(&base_url, &database)),
            cleanup: Cleanup::Database { base_url, database },
        }
    }

    /// A SQLite file in a fresh temporary directory.
    pub fn sqlite() -> Self {
        let dir = std::env::temp_dir().join(unique_name("navi_test"));
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        TestDatabase {
            url: DatabaseUrl::Sqlite(dir.join("navi.db")),
            cleanup: Cleanup::Directory(dir),
        }
    }

    /// This database's URL.
    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    /// This database's backend.
    pub fn backend(&self) -> Backend {
        self.url.backend()
    }

    /// One new connection, set up as the pool sets connections up.
    pub fn connect(&self) -> DbConnection {
        self.url
            .connect(&Default::default())
            .unwrap_or_else(|e| panic!("cannot connect to {}: {e}", self.url))
    }

    /// A pool over this database, with no migrations applied.
    pub fn pool(&self) -> DbPool {
        build_pool(
            &self.url,
            &PoolOptions {
                max_size: 4,
                ..Default::default()
            },
        )
    }

    /// A pool over this database after applying every migration.
    pub fn migrated_pool(&self) -> DbPool {
        let pool = self.pool();
        let mut conn = pool.get().expect("test database connection");
        migrations::run_pending(&mut conn, |_| {}).expect("migrations apply");
        drop(conn);
        pool
    }

    /// Everything the database holds for this test, as raw as a backup would be: on SQLite the
    /// bytes of the database file and its write-ahead log; on PostgreSQL every row of every table
    /// of the test's schema as text (`bytea` columns appear hex-encoded, so search for both the
    /// text and its hex form).
    pub fn raw_contents(&self, conn: &mut DbConnection) -> Vec<u8> {
        use diesel::prelude::*;
        use diesel::sql_types::Text;

        #[derive(QueryableByName)]
        struct Line {
            #[diesel(sql_type = Text)]
            line: String,
        }

        match &self.url {
            DatabaseUrl::Sqlite(_) => {
                let path = self.url.sqlite_path().expect("a SQLite URL has a path");
                let mut bytes = std::fs::read(path).expect("database file readable");
                let mut wal = path.as_os_str().to_owned();
                wal.push("-wal");
                if let Ok(log) = std::fs::read(PathBuf::from(wal)) {
                    bytes.extend(log);
                }
                bytes
            }
            DatabaseUrl::Postgres(_) => {
                let tables: Vec<Line> = diesel::sql_query(
                    "SELECT table_name::text AS line FROM information_schema.tables \
                     WHERE table_schema = current_schema()",
                )
                .load(conn)
                .expect("tables listed");
                let mut contents = Vec::new();
                for table in tables {
                    let rows: Vec<Line> = diesel::sql_query(format!(
                        "SELECT CAST(t AS TEXT) AS line FROM \"{}\" t",
                        table.line
                    ))
                    .load(conn)
                    .expect("rows read");
                    for row in rows {
                        contents.extend(row.line.into_bytes());
                        contents.push(b'\n');
                    }
                }
                contents
            }
        }
    }

    /// Removes the database now, e.g. to take it away from under a running server. Idempotent.
    pub fn destroy(&self) {
        match &self.cleanup {
            Cleanup::Schema { base_url, schema } => {
                if let Ok(mut conn) = PgConnection::establish(base_url) {
                    let _ = conn.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
                }
            }
            Cleanup::Database { base_url, database } => {
                if let Ok(mut conn) = PgConnection::establish(base_url) {
                    let _ = conn
                        .batch_execute(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"));
                }
            }
            Cleanup::Directory(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        self.destroy();
    }
}

/// Audit keys for tests: one process-wide pair (a generated keyring and chain key), so events a
/// test writes can be opened and verified by the same test.
pub fn audit_keys() -> crate::audit::AuditKeys {
    static KEYS: std::sync::OnceLock<crate::audit::AuditKeys> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| {
        let keyring = navi_crypto::Keyring::generate().expect("a generated keyring");
        let chain = navi_crypto::MacKeyring::parse(
            &navi_crypto::generate_key_line().expect("a generated key"),
        )
        .expect("a generated chain key");
        crate::audit::AuditKeys::new(keyring, chain)
    })
    .clone()
}

/// A trail with the process-wide [`audit_keys`], from 127.0.0.1.
pub fn audit_trail() -> crate::audit::AuditTrail {
    audit_trail_sealing_with(audit_keys().keyring().clone())
}

/// A trail whose payloads are sealed with `keyring` (tests that rotate or remove keys), chained
/// with the process-wide chain key.
pub fn audit_trail_sealing_with(keyring: navi_crypto::Keyring) -> crate::audit::AuditTrail {
    let keys = crate::audit::AuditKeys::new(keyring, audit_keys().chain().clone());
    crate::audit::AuditTrail::new(keys, Some(std::net::IpAddr::from([127, 0, 0, 1])))
}

/// Fixtures that reach past the repositories, for tests that need a state the API cannot make
/// directly (an expired key, a membership without an invite). The tables themselves stay private.
pub mod fixtures {
    use chrono::NaiveDateTime;
    use diesel::prelude::*;

    use crate::schema::{navi_api_keys, navi_org_invites, navi_org_members};
    use crate::{DbConnection, Role};

    /// Adds a membership directly.
    pub fn add_member(conn: &mut DbConnection, org_id: &str, user_id: &str, role: Role) {
        diesel::insert_into(navi_org_members::table)
            .values((
                navi_org_members::org_id.eq(org_id),
                navi_org_members::user_id.eq(user_id),
                navi_org_members::role.eq(role.as_str()),
                navi_org_members::joined_at.eq(crate::now()),
            ))
            .execute(conn)
            .expect("membership inserted");
    }

    /// Sets a key's `expires_at`.
    pub fn set_api_key_expiry(conn: &mut DbConnection, key_id: &str, at: NaiveDateTime) {
        diesel::update(navi_api_keys::table.find(key_id))
            .set(navi_api_keys::expires_at.eq(at))
            .execute(conn)
            .expect("key updated");
    }

    /// Sets a key's `last_used_at`.
    pub fn set_api_key_last_used(conn: &mut DbConnection, key_id: &str, at: NaiveDateTime) {
        diesel::update(navi_api_keys::table.find(key_id))
            .set(navi_api_keys::last_used_at.eq(at))
            .execute(conn)
            .expect("key updated");
    }

    /// A key's `last_used_at`.
    pub fn api_key_last_used(conn: &mut DbConnection, key_id: &str) -> Option<NaiveDateTime> {
        navi_api_keys::table
            .find(key_id)
            .select(navi_api_keys::last_used_at)
            .first(conn)
            .expect("key exists")
    }

    /// The stored hash of a key's secret.
    pub fn api_key_secret_hash(conn: &mut DbConnection, key_id: &str) -> String {
        navi_api_keys::table
            .find(key_id)
            .select(navi_api_keys::secret_hash)
            .first(conn)
            .expect("key exists")
    }

    /// Writes `bytes` into an MCP server's encrypted `secret` column with raw SQL, around the
    /// repository and its types (what a careless script or an import from an older system does).
    pub fn write_raw_mcp_secret(conn: &mut DbConnection, server_id: &str, bytes: &[u8]) {
        use diesel::sql_types::{Binary, Text};
        let sql = match conn {
            DbConnection::Postgresql(_) => "UPDATE navi_mcp_servers SET secret = $1 WHERE id = $2",
            DbConnection::Sqlite(_) => "UPDATE navi_mcp_servers SET secret = ? WHERE id = ?",
        };
        let updated = diesel::sql_query(sql)
            .bind::<Binary, _>(bytes)
            .bind::<Text, _>(server_id)
            .execute(conn)
            .expect("secret overwritten");
        assert_eq!(updated, 1, "no MCP server {server_id}");
    }

    /// Sets `expires_at` of the invites to `email`.
    pub fn set_invite_expiry(conn: &mut DbConnection, email: &str, at: NaiveDateTime) {
        diesel::update(navi_org_invites::table.filter(navi_org_invites::email.eq(email)))
            .set(navi_org_invites::expires_at.eq(at))
            .execute(conn)
            .expect("invite updated");
    }
}

/// Runs each listed test body (a `fn(TestDatabase)`) once on PostgreSQL and once on SQLite, as
/// `<module>::postgres::<name>` and `<module>::sqlite::<name>`.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod postgres {
            $(
                #[test]
                fn $name() {
                    super::$name($crate::testing::TestDatabase::postgres())
                }
            )*
        }
        mod sqlite {
            $(
                #[test]
                fn $name() {
                    super::$name($crate::testing::TestDatabase::sqlite())
                }
            )*
        }
    };
}

fn admin_connection(base_url: &str) -> PgConnection {
    PgConnection::establish(base_url).unwrap_or_else(|e| {
        panic!(
            "cannot reach the test PostgreSQL at {}: {e}\n\
             Run the suite with `cargo xtask test` (it starts a throwaway server when none is \
             running), or set NAVI_TEST_DATABASE_URL.",
            DatabaseUrl::Postgres(base_url.to_owned())
        )
    })
}

/// A name unique across processes and tests: lowercase, a valid unquoted SQL identifier.
fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!(
        "{prefix}_{}_{}_{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

fn with_query_param(url: &str, param: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{param}")
}

/// `postgres://u@h:5432/test?x=y` → `postgres://u@h:5432/<database>?x=y`.
fn replace_database(url: &str, database: &str) -> String {
    let (head, query) = match url.split_once('?') {
        Some((head, query)) => (head, Some(query)),
        None => (url, None),
    };
    let scheme_end = head.find("://").map_or(0, |i| i + 3);
    let base = match head[scheme_end..].find('/') {
        Some(slash) => &head[..scheme_end + slash],
        None => head,
    };
    match query {
        Some(query) => format!("{base}/{database}?{query}"),
        None => format!("{base}/{database}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_database_keeps_host_and_query() {
        assert_eq!(
            replace_database("postgres://postgres@127.0.0.1:5432/test", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            replace_database("postgresql://h/db?sslmode=disable", "x"),
            "postgresql://h/x?sslmode=disable"
        );
        assert_eq!(replace_database("postgres://h", "x"), "postgres://h/x");
    }
}
