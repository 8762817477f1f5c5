//! Embedded migrations for both backends and a small API to run, list and check them.
//!
//! The two trees under `migrations/` hold the same migration names; each backend runs its own.
//! Schema changes happen only here: no code path issues DDL at request time.

use diesel::connection::SimpleConnection;
use diesel::migration::{Migration, MigrationSource};
use diesel::pg::Pg;
use diesel::sqlite::Sqlite;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::db::{Backend, DbConnection};
use crate::StoreError;

const POSTGRES: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");
const SQLITE: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");

/// The usage migrations that were squashed into `20261207000000_usage` before anything shipped
/// (issue 20). A database that applied any of them was made before the squash: its usage tables
/// have other names and shapes, so it is refused, never half-migrated.
const SQUASHED_USAGE_VERSIONS: [&str; 10] = [
    "20261122000300",
    "20261201000100",
    "20261201233944",
    "20261201235128",
    "20261202131021",
    "20261202170220",
    "20261202170734",
    "20261203090000",
    "20261203090100",
    "20261203090200",
];

/// Serialises `run_pending` across processes on PostgreSQL (an arbitrary constant key).
const MIGRATION_LOCK_KEY: i64 = 0x6e61_7669_6d69_6772; // "navimigr"

/// The names (`<version>_<name>`) of every embedded migration for `backend`, in order.
pub fn all(backend: Backend) -> Result<Vec<String>, StoreError> {
    let names = match backend {
        Backend::Postgres => names(MigrationSource::<Pg>::migrations(&POSTGRES)),
        Backend::Sqlite => names(MigrationSource::<Sqlite>::migrations(&SQLITE)),
    };
    names.map_err(migration_error)
}

/// Migrations not yet applied to this database, in the order they would run. A database from
/// before the usage squash is an error.
pub fn pending(conn: &mut DbConnection) -> Result<Vec<String>, StoreError> {
    refuse_pre_squash(conn)?;
    let names = match conn {
        DbConnection::Postgresql(conn) => names(conn.pending_migrations(POSTGRES)),
        DbConnection::Sqlite(conn) => names(conn.pending_migrations(SQLITE)),
    };
    names.map_err(migration_error)
}

/// Migrations applied to this database, oldest first.
pub fn applied(conn: &mut DbConnection) -> Result<Vec<String>, StoreError> {
    let versions = applied_versions(conn)?;
    let known = all(conn.backend())?;
    Ok(versions
        .into_iter()
        .map(|version| name_of_version(&known, &version))
        .collect())
}

/// The versions applied to this database, sorted.
fn applied_versions(conn: &mut DbConnection) -> Result<Vec<String>, StoreError> {
    let versions = match conn {
        DbConnection::Postgresql(conn) => conn.applied_migrations(),
        DbConnection::Sqlite(conn) => conn.applied_migrations(),
    }
    .map_err(migration_error)?;
    let mut versions: Vec<String> = versions.iter().map(ToString::to_string).collect();
    versions.sort();
    Ok(versions)
}

/// `Err` naming the way out when the database applied a migration the usage squash retired.
fn refuse_pre_squash(conn: &mut DbConnection) -> Result<(), StoreError> {
    let versions = applied_versions(conn)?;
    match versions
        .iter()
        .find(|version| SQUASHED_USAGE_VERSIONS.contains(&version.as_str()))
    {
        None => Ok(()),
        Some(version) => Err(StoreError::Migration(format!(
            "this database was created before the usage migrations were squashed into one \
             (it applied {version}) and cannot be migrated: recreate it (a new SQLite file, or \
             an empty PostgreSQL database) and run the migrations again"
        ))),
    }
}

/// Applies every pending migration, each in its own transaction, calling `on_applied` with each
/// name as it lands. On PostgreSQL an advisory lock keeps two processes from migrating at once. A
/// database from before the usage squash is refused before anything runs.
pub fn run_pending(
    conn: &mut DbConnection,
    mut on_applied: impl FnMut(&str),
) -> Result<Vec<String>, StoreError> {
    let locked = matches!(conn, DbConnection::Postgresql(_));
    if locked {
        conn.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))?;
    }
    let result = refuse_pre_squash(conn).and_then(|()| run_each_pending(conn, &mut on_applied));
    if locked {
        conn.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))?;
    }
    result
}

fn run_each_pending(
    conn: &mut DbConnection,
    on_applied: &mut dyn FnMut(&str),
) -> Result<Vec<String>, StoreError> {
    let mut applied = Vec::new();
    macro_rules! run_all {
        ($conn:expr, $source:expr) => {{
            for migration in $conn.pending_migrations($source).map_err(migration_error)? {
                let name = migration.name().to_string();
                $conn
                    .run_migration(&*migration)
                    .map_err(|e| StoreError::Migration(format!("{name}: {e}")))?;
                on_applied(&name);
                applied.push(name);
            }
        }};
    }
    match conn {
        DbConnection::Postgresql(conn) => run_all!(conn, POSTGRES),
        DbConnection::Sqlite(conn) => run_all!(conn, SQLITE),
    }
    Ok(applied)
}

/// Reverts the most recently applied migration and returns its name, or `None` when none is
/// applied.
pub fn revert_last(conn: &mut DbConnection) -> Result<Option<String>, StoreError> {
    let Some(last) = applied(conn)?.pop() else {
        return Ok(None);
    };
    match conn {
        DbConnection::Postgresql(conn) => conn.revert_last_migration(POSTGRES).map(drop),
        DbConnection::Sqlite(conn) => conn.revert_last_migration(SQLITE).map(drop),
    }
    .map_err(|e| StoreError::Migration(format!("{last}: {e}")))?;
    Ok(Some(last))
}

fn names<DB: diesel::backend::Backend, E>(
    migrations: Result<Vec<Box<dyn Migration<DB>>>, E>,
) -> Result<Vec<String>, E> {
    Ok(migrations?
        .iter()
        .map(|migration| migration.name().to_string())
        .collect())
}

/// The full name for an applied version, or the bare version when this build does not know it
/// (a database migrated by a newer build).
fn name_of_version(known: &[String], version: &str) -> String {
    known
        .iter()
        .find(|name| name.split_once('_').map(|(v, _)| v) == Some(version))
        .cloned()
        .unwrap_or_else(|| version.to_owned())
}

fn migration_error(error: Box<dyn std::error::Error + Send + Sync>) -> StoreError {
    StoreError::Migration(error.to_string())
}
