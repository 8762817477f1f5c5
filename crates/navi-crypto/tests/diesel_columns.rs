//! Encrypted columns through diesel on PostgreSQL and SQLite: every test runs on both backends.
#![cfg(feature = "diesel")]

mod support;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::result::Error as DieselError;
use navi_crypto::{Ciphertext, CryptoError, Keyring, SealContext, Sealed, StoredValue};

diesel::table! {
    use diesel::sql_types::*;
    use navi_crypto::sql_types::Encrypted;

    vault (id) {
        id -> Text,
        secret -> Encrypted,
        copy -> Nullable<Binary>,
    }
}

const KEYS: &str = "b:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=,\
                    a:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

fn context(row_id: &str) -> SealContext<'_> {
    SealContext {
        org_id: "org_1",
        table: "vault",
        column: "secret",
        row_id,
    }
}

fn crypto_error(error: &DieselError) -> Option<&CryptoError> {
    CryptoError::in_diesel_error(error)
}

/// Emits the suite for one backend. `$connect` makes an isolated connection; `$blob` turns a
/// string of SQL-escaped text into a SQL literal of the column's byte type.
macro_rules! encrypted_column_suite {
    ($backend:ident, $connect:expr, $blob:expr) => {
        mod $backend {
            use super::*;

            fn byte_type() -> &'static str {
                $blob("").0
            }

            fn raw_insert(connection: &mut impl SimpleConnection, id: &str, text: &str) {
                let literal = $blob(text).1;
                connection
                    .batch_execute(&format!(
                        "INSERT INTO vault (id, secret) VALUES ('{id}', {literal})"
                    ))
                    .unwrap();
            }

            #[test]
            fn sealed_values_round_trip_through_encrypted_and_binary_columns() {
                let mut connection = $connect;
                prepare(&mut *connection, byte_type());
                let keyring = Keyring::parse(KEYS).unwrap();
                let value = serde_json::json!({"token": "hunter2"});
                let sealed = Sealed::seal(&keyring, &context("r1"), &value).unwrap();
                diesel::insert_into(vault::table)
                    .values((
                        vault::id.eq("r1"),
                        vault::secret.eq(&sealed),
                        vault::copy.eq(Some(sealed.ciphertext())),
                    ))
                    .execute(&mut *connection)
                    .unwrap();

                let (read, copy): (Sealed<serde_json::Value>, Option<Ciphertext>) = vault::table
                    .select((vault::secret, vault::copy))
                    .filter(vault::id.eq("r1"))
                    .first(&mut *connection)
                    .unwrap();
                assert_eq!(read, sealed);
                assert_eq!(copy.as_ref(), Some(sealed.ciphertext()));
                let opened = read.open(&keyring, &context("r1")).unwrap();
                assert_eq!(opened.decode().unwrap(), value);
                assert!(read.open(&keyring, &context("r2")).is_err());
            }

            #[test]
            fn raw_plaintext_written_with_sql_is_refused_on_read() {
                let mut connection = $connect;
                prepare(&mut *connection, byte_type());
                let keyring = Keyring::parse(KEYS).unwrap();
                let good = Ciphertext::seal(&keyring, &context("good"), b"fine").unwrap();
                diesel::insert_into(vault::table)
                    .values((vault::id.eq("good"), vault::secret.eq(&good)))
                    .execute(&mut *connection)
                    .unwrap();
                raw_insert(&mut *connection, "legacy", r#"{"token":"hunter2"}"#);

                let error = vault::table
                    .select(vault::secret)
                    .filter(vault::id.eq("legacy"))
                    .first::<Ciphertext>(&mut *connection)
                    .unwrap_err();
                assert!(
                    matches!(crypto_error(&error), Some(CryptoError::NotCiphertext(_))),
                    "{error:?}"
                );
                assert!(!error.to_string().contains("hunter2"), "{error}");
                assert!(vault::table
                    .select(vault::secret)
                    .filter(vault::id.eq("legacy"))
                    .first::<Sealed<serde_json::Value>>(&mut *connection)
                    .is_err());

                // Other rows are unaffected.
                let read: Ciphertext = vault::table
                    .select(vault::secret)
                    .filter(vault::id.eq("good"))
                    .first(&mut *connection)
                    .unwrap();
                assert_eq!(read.open(&keyring, &context("good")).unwrap().expose(), b"fine");

                // Tools read every row without failing and see which ones are not ciphertext.
                let stored: Vec<(String, StoredValue)> = vault::table
                    .select((vault::id, vault::secret))
                    .order(vault::id)
                    .load(&mut *connection)
                    .unwrap();
                assert!(matches!(&stored[0], (id, StoredValue::Ciphertext(c)) if id == "good" && c.key_id() == "b"));
                let (id, StoredValue::NotCiphertext(legacy)) = &stored[1] else {
                    panic!("legacy row read as a ciphertext");
                };
                assert_eq!(id, "legacy");
                assert_eq!(legacy.expose(), br#"{"token":"hunter2"}"#);
                assert!(matches!(legacy.problem(), CryptoError::NotCiphertext(_)));
                assert!(!format!("{stored:?}").contains("hunter2"));
            }

            #[test]
            fn an_unknown_format_version_is_refused_on_read() {
                let mut connection = $connect;
                prepare(&mut *connection, byte_type());
                raw_insert(&mut *connection, "future", "\u{2}\u{1}a0123456789ab0123456789abcdef");
                let error = vault::table
                    .select(vault::secret)
                    .first::<Ciphertext>(&mut *connection)
                    .unwrap_err();
                assert!(
                    matches!(crypto_error(&error), Some(CryptoError::UnsupportedVersion(2))),
                    "{error:?}"
                );
            }

            #[test]
            fn flipping_any_stored_byte_makes_the_value_refused() {
                let mut connection = $connect;
                prepare(&mut *connection, byte_type());
                let keyring = Keyring::parse(KEYS).unwrap();
                let sealed = Ciphertext::seal(&keyring, &context("r"), b"s3cret").unwrap();
                let mut stored_and_refused = 0;
                for position in 0..sealed.as_bytes().len() {
                    let mut bytes = sealed.as_bytes().to_vec();
                    bytes[position] ^= 0x01;
                    // Bytes that fail the format check cannot even be made into a value to
                    // store; the rest are stored, read back and must not open.
                    let Ok(tampered) = Ciphertext::from_stored_bytes(bytes) else {
                        continue;
                    };
                    diesel::delete(vault::table).execute(&mut *connection).unwrap();
                    diesel::insert_into(vault::table)
                        .values((vault::id.eq("r"), vault::secret.eq(&tampered)))
                        .execute(&mut *connection)
                        .unwrap();
                    let outcome = vault::table
                        .select(vault::secret)
                        .first::<Ciphertext>(&mut *connection)
                        .map_err(|error| error.to_string())
                        .and_then(|read| {
                            read.open(&keyring, &context("r")).map_err(|error| error.to_string())
                        });
                    assert!(outcome.is_err(), "byte {position} flipped still opened");
                    stored_and_refused += 1;
                }
                // Every nonce, body and tag byte passes the format check and must be refused by
                // authentication after a round trip through the database.
                assert!(stored_and_refused >= 12 + 6 + 16, "{stored_and_refused}");
            }

            #[test]
            fn rotation_write_back_only_replaces_the_value_that_was_read() {
                let mut connection = $connect;
                prepare(&mut *connection, byte_type());
                let only_a = Keyring::parse(&KEYS[KEYS.find('a').unwrap()..]).unwrap();
                let b_then_a = Keyring::parse(KEYS).unwrap();
                let old = Ciphertext::seal(&only_a, &context("r"), b"rotate").unwrap();
                diesel::insert_into(vault::table)
                    .values((vault::id.eq("r"), vault::secret.eq(&old)))
                    .execute(&mut *connection)
                    .unwrap();

                let read: Ciphertext = vault::table.select(vault::secret).first(&mut *connection).unwrap();
                let resealed = read.reseal(&b_then_a, &context("r")).unwrap();
                // Meanwhile the server writes a new value.
                let newer = Ciphertext::seal(&b_then_a, &context("r"), b"newer").unwrap();
                diesel::update(vault::table)
                    .set(vault::secret.eq(&newer))
                    .execute(&mut *connection)
                    .unwrap();
                let written = diesel::update(vault::table.filter(vault::secret.eq(&read)))
                    .set(vault::secret.eq(&resealed))
                    .execute(&mut *connection)
                    .unwrap();
                assert_eq!(written, 0, "a newer value was overwritten");
                let current: Ciphertext = vault::table.select(vault::secret).first(&mut *connection).unwrap();
                assert_eq!(current.open(&b_then_a, &context("r")).unwrap().expose(), b"newer");
                assert_eq!(current.key_id(), "b");

                // Without interference the compare-and-swap succeeds.
                let resealed_again = current.reseal(&b_then_a, &context("r")).unwrap();
                let written = diesel::update(vault::table.filter(vault::secret.eq(&current)))
                    .set(vault::secret.eq(&resealed_again))
                    .execute(&mut *connection)
                    .unwrap();
                assert_eq!(written, 1);
            }
        }
    };
}

fn prepare(connection: &mut impl SimpleConnection, byte_type: &str) {
    connection
        .batch_execute(
            &support::create_temporary_table(
                "vault (id TEXT PRIMARY KEY, secret BYTES NOT NULL, copy BYTES)",
            )
            .replace("BYTES", byte_type),
        )
        .unwrap();
}

encrypted_column_suite!(
    postgres,
    support::PgTestConnection::connect(),
    |text: &str| ("BYTEA", format!("convert_to('{text}', 'UTF8')"))
);
encrypted_column_suite!(
    sqlite,
    support::SqliteTestConnection::connect(),
    // A TEXT value in the BLOB column, as a careless script would write it.
    |text: &str| ("BLOB", format!("'{text}'"))
);
