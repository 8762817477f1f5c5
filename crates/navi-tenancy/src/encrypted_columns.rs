//! The registry of encrypted columns, and the privileged walks over them: per-key usage counts
//! and re-sealing under the primary key (`cargo xtask key-usage` / `rotate-keys`).
//!
//! A table with an encrypted column joins rotation by adding one [`EncryptedColumn`] entry to
//! [`ENCRYPTED_COLUMNS`] (the table needs `id` and `org_id` text columns, which with the table
//! and column names make the seal's context).
//!
//! Rotation reads a batch of rows in id order, re-seals the ones not under the primary key, and
//! writes each back only where the stored value is still exactly the one it read (a compare and
//! swap), so a value the server wrote meanwhile is never overwritten. Rows already under the
//! primary key are skipped, so a stopped rotation resumes by running again.

use std::collections::BTreeMap;

use diesel::prelude::*;
use navi_crypto::{Ciphertext, Keyring, SealContext, StoredValue};

use crate::schema::{navi_audit_logs, navi_mcp_servers, navi_sso_connections};

/// Opens a sealed column value read for `context`: a value that is not a valid ciphertext for
/// it (plaintext written around the repository, a removed key, tampering, the wrong JSON) is
/// [`StoreError::SecretUnreadable`], an error for that row only.
pub(crate) fn open_sealed<T: serde::Serialize + serde::de::DeserializeOwned>(
    sealed: navi_crypto::Sealed<T>,
    keyring: &Keyring,
    context: &SealContext<'_>,
) -> Result<T, StoreError> {
    let unreadable =
        |error: navi_crypto::CryptoError| StoreError::SecretUnreadable(error.to_string());
    sealed
        .open(keyring, context)
        .map_err(unreadable)?
        .decode()
        .map_err(unreadable)
}
use crate::{DbConnection, Privileged, StoreError};

/// One stored value of an encrypted column, with what its seal is bound to.
#[derive(Debug, Clone)]
pub struct StoredCell {
    /// The row's id (the seal's row id).
    pub row_id: String,
    /// The row's org (the seal's org).
    pub org_id: String,
    /// The stored bytes: a ciphertext, or something that is not one.
    pub value: StoredValue,
}

type ReadBatch = fn(&mut DbConnection, &str, i64) -> Result<Vec<StoredCell>, StoreError>;
type WriteBack = fn(&mut DbConnection, &str, &StoredValue, &Ciphertext) -> Result<bool, StoreError>;

/// An encrypted column: where it lives and how to walk it.
#[derive(Debug, Clone, Copy)]
pub struct EncryptedColumn {
    /// The table.
    pub table: &'static str,
    /// The column.
    pub column: &'static str,
    /// Non-null values with a row id greater than the given one, in id order, at most `limit`.
    read_batch: ReadBatch,
    /// Writes the new value where the stored one still equals the expected one; whether it did.
    write_back: WriteBack,
}

impl EncryptedColumn {
    fn context<'a>(&self, cell: &'a StoredCell) -> SealContext<'a> {
        SealContext {
            org_id: &cell.org_id,
            table: self.table,
            column: self.column,
            row_id: &cell.row_id,
        }
    }
}

/// Builds the registry entry of `$table.$column` (a nullable `Encrypted` column beside text
/// `id` and `org_id` columns).
macro_rules! encrypted_column {
    ($table:ident, $column:ident) => {{
        fn read_batch(
            conn: &mut DbConnection,
            after: &str,
            limit: i64,
        ) -> Result<Vec<StoredCell>, StoreError> {
            let rows: Vec<(String, String, StoredValue)> = $table::table
                .filter($table::id.gt(after))
                .filter($table::$column.is_not_null())
                .order($table::id)
                .limit(limit)
                .select((
                    $table::id,
                    $table::org_id,
                    $table::$column.assume_not_null(),
                ))
                .load(conn)?;
            Ok(rows
                .into_iter()
                .map(|(row_id, org_id, value)| StoredCell {
                    row_id,
                    org_id,
                    value,
                })
                .collect())
        }

        fn write_back(
            conn: &mut DbConnection,
            row_id: &str,
            expected: &StoredValue,
            new: &Ciphertext,
        ) -> Result<bool, StoreError> {
            let updated = diesel::update(
                $table::table
                    .filter($table::id.eq(row_id))
                    .filter($table::$column.eq(expected)),
            )
            .set($table::$column.eq(new))
            .execute(conn)?;
            Ok(updated == 1)
        }

        EncryptedColumn {
            table: stringify!($table),
            column: stringify!($column),
            read_batch,
            write_back,
        }
    }};
}

/// Every encrypted column of the schema: what `rotate-keys` and `key-usage` visit.
pub const ENCRYPTED_COLUMNS: &[EncryptedColumn] = &[
    encrypted_column!(navi_mcp_servers, secret),
    encrypted_column!(navi_audit_logs, payload),
    encrypted_column!(navi_sso_connections, client_secret),
];

/// Rows of one column by the key that sealed them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnKeyUsage {
    /// Rows per key id.
    pub rows_per_key: BTreeMap<String, u64>,
    /// Ids of rows whose value is not a valid ciphertext (legacy plaintext, garbage).
    pub not_ciphertext: Vec<String>,
}

impl ColumnKeyUsage {
    /// Rows with a value (ciphertext or not).
    pub fn total(&self) -> u64 {
        self.rows_per_key.values().sum::<u64>() + self.not_ciphertext.len() as u64
    }
}

/// Counts the column's values per key id, reading `batch_size` rows at a time.
pub fn key_usage(
    _: &Privileged,
    conn: &mut DbConnection,
    column: &EncryptedColumn,
    batch_size: i64,
) -> Result<ColumnKeyUsage, StoreError> {
    let mut usage = ColumnKeyUsage::default();
    let mut after = String::new();
    loop {
        let cells = (column.read_batch)(conn, &after, batch_size)?;
        let Some(last) = cells.last() else {
            return Ok(usage);
        };
        after = last.row_id.clone();
        for cell in cells {
            match &cell.value {
                StoredValue::Ciphertext(ciphertext) => {
                    *usage
                        .rows_per_key
                        .entry(ciphertext.key_id().to_owned())
                        .or_default() += 1;
                }
                StoredValue::NotCiphertext(_) => usage.not_ciphertext.push(cell.row_id),
            }
        }
    }
}

/// What one rotation batch did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RotationBatch {
    /// The last row id read; the next batch starts after it. `None`: the column is done.
    pub last_row_id: Option<String>,
    /// Rows read.
    pub read: u64,
    /// Rows re-sealed under the primary key and written back.
    pub resealed: u64,
    /// Legacy non-ciphertext values sealed (only with `seal_plaintext`).
    pub sealed_plaintext: u64,
    /// Rows already under the primary key (nothing to do).
    pub already_primary: u64,
    /// Rows changed by someone else between the read and the write: left alone (the writer
    /// sealed them under the primary key).
    pub changed_meanwhile: u64,
    /// Rows that are not ciphertext, left alone (without `seal_plaintext`).
    pub not_ciphertext: Vec<String>,
    /// Rows that did not open (unknown key id, tampering), with the reason.
    pub unopenable: Vec<(String, String)>,
}

/// Reads one batch of the column's stored values: rows with an id greater than `after`, in id
/// order, at most `batch_size`.
pub fn read_cells(
    _: &Privileged,
    conn: &mut DbConnection,
    column: &EncryptedColumn,
    after: &str,
    batch_size: i64,
) -> Result<Vec<StoredCell>, StoreError> {
    (column.read_batch)(conn, after, batch_size)
}

/// Re-seals one batch: [`read_cells`] then [`reseal_cells`].
pub fn rotate_batch(
    privileged: &Privileged,
    conn: &mut DbConnection,
    keyring: &Keyring,
    column: &EncryptedColumn,
    after: &str,
    batch_size: i64,
    seal_plaintext: bool,
) -> Result<RotationBatch, StoreError> {
    let cells = read_cells(privileged, conn, column, after, batch_size)?;
    reseal_cells(privileged, conn, keyring, column, &cells, seal_plaintext)
}

/// Re-seals under the keyring's primary key the cells read by [`read_cells`] that are not under
/// it yet. With `seal_plaintext`, values that are not ciphertext are sealed as they are (data
/// imported from older systems); otherwise they are reported.
///
/// Each write is a compare and swap on the value read, all in one writer transaction: a row
/// changed since it was read is left as it is and counted in `changed_meanwhile` (a rerun
/// re-seals it if it is still not under the primary key).
pub fn reseal_cells(
    _: &Privileged,
    conn: &mut DbConnection,
    keyring: &Keyring,
    column: &EncryptedColumn,
    cells: &[StoredCell],
    seal_plaintext: bool,
) -> Result<RotationBatch, StoreError> {
    let mut batch = RotationBatch {
        last_row_id: cells.last().map(|cell| cell.row_id.clone()),
        read: cells.len() as u64,
        ..RotationBatch::default()
    };
    let mut writes = Vec::new();
    for cell in cells {
        let context = column.context(cell);
        let new = match &cell.value {
            StoredValue::Ciphertext(ciphertext) if ciphertext.is_sealed_under_primary(keyring) => {
                batch.already_primary += 1;
                continue;
            }
            StoredValue::Ciphertext(ciphertext) => ciphertext.reseal(keyring, &context),
            StoredValue::NotCiphertext(_) if !seal_plaintext => {
                batch.not_ciphertext.push(cell.row_id.clone());
                continue;
            }
            StoredValue::NotCiphertext(bytes) => {
                Ciphertext::seal(keyring, &context, bytes.expose())
            }
        };
        match new {
            Ok(new) => writes.push((cell, new)),
            Err(error) => batch
                .unopenable
                .push((cell.row_id.clone(), error.to_string())),
        }
    }
    if writes.is_empty() {
        return Ok(batch);
    }
    let lock_key = format!("rotate-keys:{}.{}", column.table, column.column);
    let written = crate::dialect::serialized_transaction(conn, &lock_key, |conn| {
        writes
            .iter()
            .map(|(cell, new)| (column.write_back)(conn, &cell.row_id, &cell.value, new))
            .collect::<Result<Vec<bool>, StoreError>>()
    })?;
    for ((cell, _), written) in writes.iter().zip(written) {
        match (written, &cell.value) {
            (false, _) => batch.changed_meanwhile += 1,
            (true, StoredValue::Ciphertext(_)) => batch.resealed += 1,
            (true, StoredValue::NotCiphertext(_)) => batch.sealed_plaintext += 1,
        }
    }
    Ok(batch)
}

impl RotationBatch {
    /// Adds another batch's counts to these (the last row id becomes the other's).
    pub fn absorb(&mut self, other: RotationBatch) {
        self.last_row_id = other.last_row_id;
        self.read += other.read;
        self.resealed += other.resealed;
        self.sealed_plaintext += other.sealed_plaintext;
        self.already_primary += other.already_primary;
        self.changed_meanwhile += other.changed_meanwhile;
        self.not_ciphertext.extend(other.not_ciphertext);
        self.unopenable.extend(other.unopenable);
    }
}

/// Re-seals a whole column under the primary key, batch by batch from the first row id, calling
/// `progress` after each batch with the column's running totals. Returns the totals.
///
/// Rows changed by a writer between a batch's read and its write are left to the writer
/// (`changed_meanwhile`); when there were any, the column is walked again (at most
/// `max_passes` times) so a value a writer still sealed under an old key is rotated too.
pub fn rotate_column(
    privileged: &Privileged,
    conn: &mut DbConnection,
    keyring: &Keyring,
    column: &EncryptedColumn,
    batch_size: i64,
    seal_plaintext: bool,
    mut progress: impl FnMut(&RotationBatch),
) -> Result<RotationBatch, StoreError> {
    const MAX_PASSES: usize = 3;
    let mut total = RotationBatch::default();
    for _ in 0..MAX_PASSES {
        let mut pass = RotationBatch::default();
        let mut after = String::new();
        loop {
            let batch = rotate_batch(
                privileged,
                conn,
                keyring,
                column,
                &after,
                batch_size,
                seal_plaintext,
            )?;
            let Some(last) = batch.last_row_id.clone() else {
                break;
            };
            after = last;
            pass.absorb(batch);
            let mut running = total.clone();
            running.absorb(pass.clone());
            progress(&running);
        }
        let again = pass.changed_meanwhile > 0;
        total.absorb(pass);
        if !again {
            break;
        }
    }
    Ok(total)
}
