//! `navi-crypto`: a keyring of AES-256-GCM keys, sealing bound to where a value lives, and
//! crypto-typed database columns that cannot hold plaintext.
//!
//! Secrets Navi stores (MCP server credentials, later audit payloads) are sealed before they
//! reach the database and opened after they leave it. This crate makes the safe path the only
//! path:
//!
//! - a [`Keyring`] holds several keys, each with a short [`KeyId`]; the primary seals, every key
//!   opens what was sealed under its id, so keys rotate without downtime;
//! - every seal is bound to a [`SealContext`] (org, table, column, row id): a ciphertext copied
//!   to another row, column, table or org does not open;
//! - a [`Ciphertext`] (or typed [`Sealed<T>`]) can only be made by sealing, and is the only thing
//!   diesel accepts for a column of SQL type [`sql_types::Encrypted`]; reading a stored value
//!   that is not a ciphertext (plaintext, garbage, unknown version) is an error, never data;
//! - decrypted values ([`Plaintext`], [`Decrypted<T>`]) print `[redacted]` and are zeroed on
//!   drop; errors never contain key material, plaintext or stored bytes.
//!
//! # Example
//!
//! ```
//! use navi_crypto::{Keyring, SealContext, Sealed};
//!
//! # fn main() -> Result<(), navi_crypto::CryptoError> {
//! // Usually from NAVI_ENCRYPTION_KEYS or a key file; the first key is the primary.
//! let keyring = Keyring::parse(
//!     "k2:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=,k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
//! )?;
//! let context = SealContext {
//!     org_id: "org_42",
//!     table: "navi_mcp_servers",
//!     column: "secret",
//!     row_id: "mcp_7",
//! };
//! let secret = serde_json::json!({"api_key": "sk-live-123"});
//!
//! let sealed = Sealed::seal(&keyring, &context, &secret)?;
//! assert_eq!(sealed.key_id(), "k2");
//!
//! let opened = sealed.open(&keyring, &context)?;
//! assert_eq!(format!("{opened:?}"), "Decrypted([redacted])");
//! assert_eq!(opened.decode()?, secret);
//!
//! // Moved to another row, it does not open.
//! let other_row = SealContext { row_id: "mcp_8", ..context };
//! assert!(sealed.open(&keyring, &other_row).is_err());
//! # Ok(())
//! # }
//! ```
//!
//! # Ciphertext format (version 1)
//!
//! A stored value is, byte by byte (`L` = key id length, `n` = plaintext length):
//!
//! | offset     | length | content                                                        |
//! |------------|--------|----------------------------------------------------------------|
//! | 0          | 1      | format version, `0x01`                                         |
//! | 1          | 1      | key id length `L`, 1 to 16                                     |
//! | 2          | `L`    | key id, ASCII `[A-Za-z0-9_-]`                                  |
//! | 2+L        | 12     | nonce: 96 random bits per seal (ring `SystemRandom`)           |
//! | 14+L       | `n`    | AES-256-GCM ciphertext                                         |
//! | 14+L+n     | 16     | GCM authentication tag                                         |
//!
//! Bytes `0 .. 14+L` are the *header*. The shortest valid value is 31 bytes (`L` = 1, `n` = 0).
//! Reading a stored value checks this layout before anything else: a first byte of `0x01`
//! continues; `0x02..=0x0F` is a future version ([`CryptoError::UnsupportedVersion`]); any other
//! first byte, a malformed key id or a value too short for nonce and tag is
//! [`CryptoError::NotCiphertext`]. Opening looks the key up by the id in the header; no other key
//! is tried.
//!
//! # What the associated data binds
//!
//! The AES-GCM associated data of every seal is the header (version, key id, nonce) followed by
//! the context's four fields in this order: org id, table, column, row id, each as an 8-byte
//! big-endian length and then its UTF-8 bytes. The lengths make the encoding unambiguous:
//! table `ab` with column `c` differs from table `a` with column `bc`. So a value opens only with
//! the key that sealed it, under the id it names, in the very org, table, column and row it was
//! sealed for; changing any stored byte, including the version or key id, makes opening fail.
//!
//! # Database columns
//!
//! Declare encrypted columns with SQL type [`sql_types::Encrypted`] (`bytea` on PostgreSQL,
//! `BLOB` on SQLite) and give row structs a [`Sealed<T>`] or [`Ciphertext`] field. Those types
//! implement diesel's `ToSql`/`FromSql` for PostgreSQL and SQLite (also over `Binary`, for
//! `Ciphertext`); a crate with a `#[derive(diesel::MultiConnection)]` enum adds the impls for its
//! backend with [`impl_encrypted_columns_for_multi_backend!`]. A read refused by the format check
//! surfaces as a diesel `DeserializationError`; [`CryptoError::in_diesel_error`] recovers the
//! cause. Tools that must see every row, valid or not, read [`StoredValue`].
//!
//! All of this is the `diesel` cargo feature (on by default). Without it
//! (`default-features = false`) the crate seals and opens values with neither diesel, libpq nor
//! SQLite.
//!
//! # What it deliberately does not do
//!
//! - It knows no tables: callers name table and column in the [`SealContext`]; the registry of
//!   encrypted columns and the repositories live in `navi-tenancy`.
//! - It never tries keys in turn (trial decryption): the key id in the header picks the key, and
//!   an absent key is [`CryptoError::UnknownKeyId`].
//! - It does not decide key policy (environment vs file, refusing to start): it offers
//!   [`Keyring::parse`], [`Keyring::from_file`] and [`Keyring::load_or_generate`] to the binary.
//! - It does not walk the database to rotate keys: it offers [`Ciphertext::reseal`] and
//!   [`Ciphertext::key_id`] to the tool that does.
//! - It cannot zero ring's expanded AES key schedules (ring offers no way to); raw key bytes it
//!   handles are zeroed as soon as ring has taken them.
//!
//! # The column type is the guard
//!
//! Raw bytes or text do not pass where a ciphertext is expected:
//!
//! ```compile_fail,E0308
//! fn store(secret: &navi_crypto::Ciphertext) {}
//! store(&vec![1u8, 2, 3]);
//! ```
//!
//! ```compile_fail,E0308
//! fn store(secret: &navi_crypto::Ciphertext) {}
//! store(&String::from("hunter2"));
//! ```
//!
//! ```compile_fail,E0308
//! struct NewMcpServer {
//!     secret: navi_crypto::Sealed<serde_json::Value>,
//! }
//! let row = NewMcpServer { secret: b"hunter2".to_vec() };
//! ```
//!
//! A ciphertext cannot be built from parts or converted from bytes:
//!
//! ```compile_fail,E0451
//! let forged = navi_crypto::Ciphertext { bytes: vec![1u8] };
//! ```
//!
//! ```compile_fail,E0277
//! let forged = navi_crypto::Ciphertext::from(vec![1u8]);
//! ```
//!
//! And diesel refuses to write anything but a ciphertext into an `Encrypted` column. With this
//! schema, writing a `Ciphertext` compiles:
//!
//! ```
//! diesel::table! {
//!     use diesel::sql_types::*;
//!     use navi_crypto::sql_types::Encrypted;
//!     vault (id) {
//!         id -> Text,
//!         secret -> Encrypted,
//!     }
//! }
//! use diesel::prelude::*;
//!
//! # fn main() -> Result<(), navi_crypto::CryptoError> {
//! let keyring = navi_crypto::Keyring::generate()?;
//! let context = navi_crypto::SealContext { org_id: "o", table: "vault", column: "secret", row_id: "1" };
//! let sealed = navi_crypto::Ciphertext::seal(&keyring, &context, b"hunter2")?;
//! let insert = diesel::insert_into(vault::table).values((vault::id.eq("1"), vault::secret.eq(&sealed)));
//! let sql = diesel::debug_query::<diesel::sqlite::Sqlite, _>(&insert).to_string();
//! assert!(sql.starts_with("INSERT INTO `vault`"));
//! # Ok(())
//! # }
//! ```
//!
//! but bytes or text do not:
//!
//! ```compile_fail,E0277
//! # diesel::table! {
//! #     use diesel::sql_types::*;
//! #     use navi_crypto::sql_types::Encrypted;
//! #     vault (id) { id -> Text, secret -> Encrypted, }
//! # }
//! use diesel::prelude::*;
//! let insert = diesel::insert_into(vault::table).values(vault::secret.eq(vec![1u8]));
//! ```
//!
//! ```compile_fail,E0277
//! # diesel::table! {
//! #     use diesel::sql_types::*;
//! #     use navi_crypto::sql_types::Encrypted;
//! #     vault (id) { id -> Text, secret -> Encrypted, }
//! # }
//! use diesel::prelude::*;
//! let insert = diesel::insert_into(vault::table).values(vault::secret.eq("hunter2".to_string()));
//! ```
#![warn(missing_docs)]

mod ciphertext;
mod error;
mod keyring;
mod mac;
mod plaintext;
mod sealed;
#[cfg(feature = "diesel")]
mod sql;

pub use ciphertext::{Ciphertext, SealContext, FORMAT_VERSION, TAG_LEN};
pub use error::CryptoError;
pub use keyring::{generate_key_line, KeyFileOrigin, KeyId, Keyring, KEY_LEN, MAX_KEY_ID_LEN};
pub use mac::{MacKeyring, MAC_LEN};
pub use plaintext::{Decrypted, Plaintext};
pub use sealed::Sealed;
#[cfg(feature = "diesel")]
pub use sql::{sql_types, NotCiphertext, StoredValue};
