//! `navi-tenancy`: the schema, the migrations and the connection layer over PostgreSQL and SQLite,
//! [`TenantScope`], and the tenancy-enforced repositories of orgs, members, invites, API keys, MCP
//! servers and audit logs. (The usage rows' tables are created here, by the migrations; the store
//! that records and reads them is `navi-analytics`'s.)
//!
//! One code base runs on both backends: [`DbConnection`] is a diesel `MultiConnection` built
//! explicitly from the URL scheme ([`DatabaseUrl::parse`]), pooled by r2d2 with each backend set up
//! for a server (SQLite: WAL, foreign keys, busy timeout; PostgreSQL: UTC and a statement timeout).
//! The schema changes only through the embedded [`migrations`].
//!
//! ```no_run
//! use navi_tenancy::{build_pool, migrations, DatabaseUrl, PoolOptions};
//!
//! let url = DatabaseUrl::parse("sqlite://./data/navi.db")?;
//! let pool = build_pool(&url, &PoolOptions::default());
//! let mut conn = pool.get()?;
//! for name in migrations::run_pending(&mut conn, |name| println!("applied {name}"))? {
//!     assert!(!migrations::pending(&mut conn)?.contains(&name));
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The tables are private: outside this crate a tenant's rows are reached only through functions
//! that take a [`TenantScope`], and only authentication makes one. This does not compile:
//!
//! ```compile_fail
//! use diesel::prelude::*;
//! use navi_tenancy::schema::navi_org_members;
//!
//! fn every_membership(conn: &mut navi_tenancy::DbConnection) -> Vec<(String, String)> {
//!     navi_org_members::table
//!         .select((navi_org_members::org_id, navi_org_members::user_id))
//!         .load(conn)
//!         .unwrap()
//! }
//! ```
//!
//! Raw SQL (`diesel::sql_query`) stays inside this crate and `navi-analytics`'s usage store: a
//! tidy test refuses it elsewhere.
//!
//! It deliberately knows nothing of HTTP, configuration sources or caches.
#![warn(missing_docs)]

pub mod api_keys;
pub mod audit;
mod db;
mod dialect;
pub mod encrypted_columns;
mod error;
pub mod ids;
pub mod invites;
pub mod mcp_servers;
pub mod members;
pub mod migrations;
pub mod orgs;
pub mod rate_limits;
mod schema;
#[cfg(test)]
mod schema_tests;
mod scope;
pub mod sso;
#[cfg(any(test, feature = "test-support"))]
pub mod testing;
pub mod users;
pub mod validate;

pub use db::{
    build_pool, checkout, ping, Backend, ConnectionManager, ConnectionOptions, DatabaseUrl,
    DbConnection, DbPool, InvalidDatabaseUrl, PoolOptions, PooledConnection, DEFAULT_DATABASE_URL,
};
pub use db::{create_private_file, redact_url_password};
pub use dialect::{serialized_transaction, snapshot_transaction};
pub use error::StoreError;
pub use scope::{Credential, Principal, Privileged, TenantScope};
pub use validate::{Email, OrgName, Role, Slug};

/// Now, as naive UTC truncated to whole microseconds: the precision both backends store, so a
/// value reads back equal to what was written.
pub fn now() -> chrono::NaiveDateTime {
    use chrono::{DurationRound, TimeDelta};
    let now = chrono::Utc::now().naive_utc();
    now.duration_trunc(TimeDelta::microseconds(1))
        .unwrap_or(now)
}
