//! Everything that differs between PostgreSQL and SQLite, in one place. Callers get the same Rust
//! types and semantics from both.

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
            // The enum's transaction manager shares the inner connection's state, so the
            // enum commits or rolls back the transaction begun on the inner connection.
            match work(conn) {
                Ok(value) => {
                    <DbConnection as Connection>::TransactionManager::commit_transaction(conn)?;
                    Ok(value)
                }
                Err(error) => {
                    <DbConnection as Connection>::TransactionManager::rollback_transaction(conn)?;
                    Err(error)
                }
            }
        }
    }
}

fn in_transaction(conn: &mut diesel::SqliteConnection) -> Result<bool, StoreError> {
    Ok(AnsiTransactionManager::transaction_manager_status_mut(conn)
        .transaction_depth()?
        .is_some())
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

/// SQL for the larger of two integer expressions: `GREATEST` on PostgreSQL, the two-argument
/// scalar `MAX` on SQLite.
pub(crate) fn greatest(conn: &DbConnection, a: &str, b: &str) -> String {
    match conn {
        DbConnection::Postgresql(_) => format!("GREATEST({a}, {b})"),
        DbConnection::Sqlite(_) => format!("MAX({a}, {b})"),
    }
}

/// SQL written with `$1, $2, ...` placeholders, each used once and in increasing order, for this
/// backend: unchanged on PostgreSQL, `?` on SQLite. (SQLite reads `$1` as a *named* parameter
/// and looks each name up in a list: a 10,000-row insert then spends seconds matching names.)
pub(crate) fn positional_placeholders(conn: &DbConnection, sql: String) -> String {
    match conn {
        DbConnection::Postgresql(_) => sql,
        DbConnection::Sqlite(_) => {
            let mut out = String::with_capacity(sql.len());
            let mut chars = sql.chars().peekable();
            while let Some(c) = chars.next() {
                if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
                    while chars.peek().is_some_and(char::is_ascii_digit) {
                        chars.next();
                    }
                    out.push('?');
                } else {
                    out.push(c);
                }
            }
            out
        }
    }
}

/// The `FROM` clause (with its `WHERE`) that reads, for each row of a `pieces (id, lo, hi)`
/// CTE, the org's rows of `table` whose `time_column` lies in `[lo, hi)`, as `t` with
/// `columns`; the org is placeholder `$org`.
///
/// Each piece must be one range scan of the table's key. PostgreSQL cannot estimate a join on
/// ranges and planned one over the calls as a sequential scan; a `LATERAL` subquery behind
/// `OFFSET 0` (which keeps the planner from flattening it back into that join) makes each piece
/// a scan of its own. SQLite has no `LATERAL`, and keeps the left side of a `CROSS JOIN` as the
/// outer loop, which is the same plan.
pub(crate) fn each_range(
    conn: &DbConnection,
    columns: &str,
    table: &str,
    time_column: &str,
    org: usize,
) -> String {
    match conn {
        DbConnection::Postgresql(_) => format!(
            "pieces CROSS JOIN LATERAL (SELECT {columns} FROM {table} WHERE org_id = ${org} \
             AND {time_column} >= pieces.lo AND {time_column} < pieces.hi OFFSET 0) t"
        ),
        DbConnection::Sqlite(_) => format!(
            "pieces CROSS JOIN {table} t WHERE t.org_id = ${org} \
             AND t.{time_column} >= pieces.lo AND t.{time_column} < pieces.hi"
        ),
    }
}
