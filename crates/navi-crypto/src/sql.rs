//! diesel integration: the [`Encrypted`] SQL type and the column impls for PostgreSQL and SQLite.

use std::fmt;

use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::Binary;
use diesel::sqlite::{Sqlite, SqliteValue};
use zeroize::Zeroizing;

use crate::ciphertext::check_format;
use crate::{Ciphertext, CryptoError, Sealed};

/// SQL types for encrypted columns.
pub mod sql_types {
    /// The SQL type of an encrypted column: stored as `bytea` on PostgreSQL and `BLOB` on
    /// SQLite, but only [`Ciphertext`](crate::Ciphertext), [`Sealed<T>`](crate::Sealed) and
    /// [`StoredValue`](crate::StoredValue) can be written to it or read from it. Declare
    /// encrypted columns with it in `schema.rs`:
    /// `secret -> navi_crypto::sql_types::Encrypted`.
    #[derive(
        Debug, Clone, Copy, Default, diesel::sql_types::SqlType, diesel::query_builder::QueryId,
    )]
    // bytea's fixed OIDs: no per-connection type lookup.
    #[diesel(postgres_type(oid = 17, array_oid = 1001))]
    #[diesel(sqlite_type(name = "Binary"))]
    pub struct Encrypted;
}

use sql_types::Encrypted;

/// A stored value of an encrypted column, read without failing on bad content: a valid
/// [`Ciphertext`], or the bytes of something that is not one (legacy plaintext, garbage). For
/// tools that must list or repair such rows (`key-usage`, `rotate-keys --seal-plaintext`);
/// application code reads [`Ciphertext`] or [`Sealed<T>`], which refuse such values.
///
/// It can be written back (so a compare-and-swap `filter(column.eq(&stored))` can match what was
/// read), but it can only be made by reading an encrypted column, so it never brings new
/// plaintext into one.
#[derive(Debug, Clone, PartialEq, Eq, AsExpression, FromSqlRow)]
#[diesel(sql_type = Encrypted)]
pub enum StoredValue {
    /// A well-formed ciphertext.
    Ciphertext(Ciphertext),
    /// Bytes that are not a ciphertext.
    NotCiphertext(NotCiphertext),
}

impl StoredValue {
    fn classify(bytes: Vec<u8>) -> StoredValue {
        if check_format(&bytes).is_ok() {
            match Ciphertext::from_stored_bytes(bytes) {
                Ok(ciphertext) => return StoredValue::Ciphertext(ciphertext),
                Err(_) => unreachable!("the format was just checked"),
            }
        }
        StoredValue::NotCiphertext(NotCiphertext {
            bytes: Zeroizing::new(bytes),
        })
    }

    /// The stored bytes.
    fn as_bytes(&self) -> &[u8] {
        match self {
            StoredValue::Ciphertext(ciphertext) => ciphertext.as_bytes(),
            StoredValue::NotCiphertext(value) => &value.bytes,
        }
    }
}

/// Stored bytes of an encrypted column that are not a ciphertext. `Debug` prints
/// `[redacted]` (they may be a plaintext secret); zeroed on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct NotCiphertext {
    bytes: Zeroizing<Vec<u8>>,
}

impl NotCiphertext {
    /// Why the bytes are not a ciphertext ([`CryptoError::NotCiphertext`] or
    /// [`CryptoError::UnsupportedVersion`]).
    pub fn problem(&self) -> CryptoError {
        match check_format(&self.bytes) {
            Err(error) => error,
            Ok(()) => unreachable!("NotCiphertext is only made from bytes that fail the check"),
        }
    }

    /// The stored bytes, e.g. to seal legacy plaintext with
    /// [`Ciphertext::seal`](crate::Ciphertext::seal).
    pub fn expose(&self) -> &[u8] {
        &self.bytes
    }
}

impl fmt::Debug for NotCiphertext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NotCiphertext([redacted], {} bytes)", self.bytes.len())
    }
}

trait StoredBytes {
    fn stored_bytes(&self) -> &[u8];
}

impl StoredBytes for Ciphertext {
    fn stored_bytes(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl<T> StoredBytes for Sealed<T> {
    fn stored_bytes(&self) -> &[u8] {
        self.ciphertext().as_bytes()
    }
}

impl StoredBytes for StoredValue {
    fn stored_bytes(&self) -> &[u8] {
        self.as_bytes()
    }
}

trait FromStored: Sized {
    fn from_stored(bytes: Vec<u8>) -> Result<Self, CryptoError>;
}

impl FromStored for Ciphertext {
    fn from_stored(bytes: Vec<u8>) -> Result<Self, CryptoError> {
        Ciphertext::from_stored_bytes(bytes)
    }
}

impl<T> FromStored for Sealed<T> {
    fn from_stored(bytes: Vec<u8>) -> Result<Self, CryptoError> {
        Ciphertext::from_stored_bytes(bytes).map(Sealed::from_ciphertext)
    }
}

impl FromStored for StoredValue {
    fn from_stored(bytes: Vec<u8>) -> Result<Self, CryptoError> {
        Ok(StoredValue::classify(bytes))
    }
}

/// `ToSql`/`FromSql` over PostgreSQL and SQLite for one value type and SQL type, delegating to
/// diesel's byte impls and validating on read.
macro_rules! byte_column_impls {
    ([$($generics:tt)*] $value:ty, $sql_type:ty) => {
        impl<$($generics)*> ToSql<$sql_type, Pg> for $value {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
                <[u8] as ToSql<Binary, Pg>>::to_sql(self.stored_bytes(), out)
            }
        }

        impl<$($generics)*> ToSql<$sql_type, Sqlite> for $value {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
                <[u8] as ToSql<Binary, Sqlite>>::to_sql(self.stored_bytes(), out)
            }
        }

        impl<$($generics)*> FromSql<$sql_type, Pg> for $value {
            fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
                let bytes = <Vec<u8> as FromSql<Binary, Pg>>::from_sql(value)?;
                Ok(<Self as FromStored>::from_stored(bytes)?)
            }
        }

        impl<$($generics)*> FromSql<$sql_type, Sqlite> for $value {
            fn from_sql(value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
                let bytes = <Vec<u8> as FromSql<Binary, Sqlite>>::from_sql(value)?;
                Ok(<Self as FromStored>::from_stored(bytes)?)
            }
        }
    };
}

byte_column_impls!([] Ciphertext, Encrypted);
byte_column_impls!([] Ciphertext, Binary);
byte_column_impls!([T] Sealed<T>, Encrypted);
byte_column_impls!([] StoredValue, Encrypted);

/// Implements the encrypted-column traits for the backend of a `#[derive(diesel::MultiConnection)]`
/// enum. Invoke it once, in the crate that defines the enum (the orphan rule puts the impls
/// there), with the path of the generated backend type:
///
/// ```text
/// navi_crypto::impl_encrypted_columns_for_multi_backend!(crate::db::MultiBackend);
/// ```
///
/// It implements `HasSqlType<Encrypted>` for the backend, and `ToSql`/`FromSql` over it for
/// [`Ciphertext`] (SQL types `Encrypted` and `Binary`), [`Sealed<T>`](crate::Sealed) and
/// [`StoredValue`] (SQL type `Encrypted`), each delegating to the PostgreSQL and SQLite impls in
/// this crate, so the read-time format check applies on every backend. The caller needs `diesel`
/// as a dependency.
#[macro_export]
macro_rules! impl_encrypted_columns_for_multi_backend {
    ($backend:ty) => {
        impl ::diesel::sql_types::HasSqlType<$crate::sql_types::Encrypted> for $backend {
            fn metadata(lookup: &mut Self::MetadataLookup) -> Self::TypeMetadata {
                <$backend>::lookup_sql_type::<$crate::sql_types::Encrypted>(lookup)
            }
        }
        $crate::impl_encrypted_columns_for_multi_backend!(@value $backend, [] $crate::Ciphertext, $crate::sql_types::Encrypted);
        $crate::impl_encrypted_columns_for_multi_backend!(@value $backend, [] $crate::Ciphertext, ::diesel::sql_types::Binary);
        $crate::impl_encrypted_columns_for_multi_backend!(@value $backend, [T: 'static] $crate::Sealed<T>, $crate::sql_types::Encrypted);
        $crate::impl_encrypted_columns_for_multi_backend!(@value $backend, [] $crate::StoredValue, $crate::sql_types::Encrypted);
    };
    (@value $backend:ty, [$($generics:tt)*] $value:ty, $sql_type:ty) => {
        impl<$($generics)*> ::diesel::serialize::ToSql<$sql_type, $backend> for $value {
            fn to_sql<'b>(
                &'b self,
                out: &mut ::diesel::serialize::Output<'b, '_, $backend>,
            ) -> ::diesel::serialize::Result {
                out.set_value((<$sql_type as ::std::default::Default>::default(), self));
                ::std::result::Result::Ok(::diesel::serialize::IsNull::No)
            }
        }
        impl<$($generics)*> ::diesel::deserialize::FromSql<$sql_type, $backend> for $value {
            fn from_sql(
                bytes: <$backend as ::diesel::backend::Backend>::RawValue<'_>,
            ) -> ::diesel::deserialize::Result<Self> {
                bytes.from_sql::<Self, $sql_type>()
            }
        }
    };
}
