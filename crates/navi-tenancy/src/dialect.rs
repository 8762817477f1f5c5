//! What differs between PostgreSQL and SQLite at the level of connections and transactions, in one
//! place. Callers get the same Rust types and semantics from both. (The usage store's SQL
//! differences live in `navi-analytics`'s `store/dialect.rs`.)

use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::prelude::*;
use diesel::sql_types::Text;

use crate::{DbConnection, StoreError};

/// Runs `work` in a transaction that serialises with every other writer holding the same
/// `lock_key` (e.g. `org:<id>`), for read-then-write work such as "is this the last owner?".
///
/// PostgreSQL: a transaction-scoped advisory lock on the key. SQLite: `BEGIN IMMEDIATE`, which
/// takes the database's write lock up front (a deferred transaction that reads and then writes
/// fails with SQLITE_BUSY_SNAPSHOT when another writer got in first, whatever the busy timeout).
///
/// Nested inside another transaction (an audited change calling another repository function), it
/// runs as a savepoint of it: on SQLite the outer transaction already holds the write lock.
pub fn serialized_transaction<T>(
    conn: &mut DbConnection,
    lock_key: &str,
    work: impl FnOnce(&mut DbConnection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    match conn {
        DbConnection::Postgresql(_) => conn.transaction(|conn| {
            lock_for_transaction(conn, lock_key)?;
            work(conn)
        }),
        DbConnection::Sqlite(inner) => {
            if in_transaction(inner)? {
                return conn.transaction(work);
            }
            AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")?;
            let outcome = work(conn);
            finish_begun(conn, outcome)
        }
    }
}

/// Runs `work`, which only reads, in one read-only snapshot: every statement it runs sees the
/// database as of one moment, so reads made of several statements agree with each other.
///
/// PostgreSQL: `REPEATABLE READ READ ONLY`. SQLite: a deferred transaction, whose first read
/// fixes the snapshot (WAL mode) until it ends. Nested inside another transaction, it runs as a
/// savepoint of it, in that transaction's snapshot.
pub fn snapshot_transaction<T>(
    conn: &mut DbConnection,
    work: impl FnOnce(&mut DbConnection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let nested = match conn {
        DbConnection::Postgresql(inner) => in_transaction(inner)?,
        DbConnection::Sqlite(inner) => in_transaction(inner)?,
    };
    if nested {
        return conn.transaction(work);
    }
    match conn {
        DbConnection::Postgresql(inner) => AnsiTransactionManager::begin_transaction_sql(
            inner,
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        )?,
        DbConnection::Sqlite(inner) => {
            AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN DEFERRED")?
        }
    }
    let outcome = work(conn);
    finish_begun(conn, outcome)
}

fn in_transaction<C>(conn: &mut C) -> Result<bool, StoreError>
where
    C: Connection<TransactionManager = AnsiTransactionManager>,
{
    Ok(AnsiTransactionManager::transaction_manager_status_mut(conn)
        .transaction_depth()?
        .is_some())
}

/// Commits the transaction begun on the inner connection when `outcome` is a success, rolls it
/// back otherwise. The enum's transaction manager shares the inner connection's state, so the
/// enum ends the transaction begun on the inner connection.
fn finish_begun<T, E>(conn: &mut DbConnection, outcome: Result<T, E>) -> Result<T, E>
where
    E: From<StoreError>,
{
    type Manager = <DbConnection as Connection>::TransactionManager;
    match outcome {
        Ok(value) => {
            Manager::commit_transaction(conn).map_err(StoreError::from)?;
            Ok(value)
        }
        Err(error) => {
            Manager::rollback_transaction(conn).map_err(StoreError::from)?;
            Err(error)
        }
    }
}

/// Inside a transaction, serialises it with every other holding the same `lock_key` until it
/// ends. PostgreSQL: a transaction-scoped advisory lock (re-entrant within the transaction).
/// SQLite: nothing to take, since the transaction must already be immediate (see
/// [`serialized_transaction`]); outside a transaction this is an error on both.
pub(crate) fn lock_for_transaction(
    conn: &mut DbConnection,
    lock_key: &str,
) -> Result<(), StoreError> {
    let in_transaction = match conn {
        DbConnection::Postgresql(inner) => {
            AnsiTransactionManager::transaction_manager_status_mut(inner)
                .transaction_depth()?
                .is_some()
        }
        DbConnection::Sqlite(inner) => in_transaction(inner)?,
    };
    if !in_transaction {
        return Err(StoreError::Database(
            diesel::result::Error::NotInTransaction,
        ));
    }
    if let DbConnection::Postgresql(_) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext($1))")
            .bind::<Text, _>(lock_key)
            .execute(conn)?;
    }
    Ok(())
}
