//! The recipe navi-tenancy uses for its connection enum: `impl_encrypted_columns_for_multi_backend!`
//! on a `#[derive(diesel::MultiConnection)]` backend, exercised on both variants.
#![cfg(feature = "diesel")]

mod support;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use navi_crypto::{Ciphertext, CryptoError, Keyring, SealContext, Sealed, StoredValue};

mod db {
    use diesel::{PgConnection, SqliteConnection};

    #[derive(diesel::MultiConnection)]
    pub enum TestConnection {
        Postgresql(PgConnection),
        Sqlite(SqliteConnection),
    }

    navi_crypto::impl_encrypted_columns_for_multi_backend!(MultiBackend);
}

use db::TestConnection;

diesel::table! {
    use diesel::sql_types::*;
    use navi_crypto::sql_types::Encrypted;

    vault (id) {
        id -> Text,
        secret -> Encrypted,
        copy -> Nullable<Binary>,
    }
}

fn context(row_id: &str) -> SealContext<'_> {
    SealContext {
        org_id: "org_1",
        table: "vault",
        column: "secret",
        row_id,
    }
}

fn round_trip_and_refusal(
    connection: &mut TestConnection,
    byte_type: &str,
    plaintext_literal: &str,
) {
    connection
        .batch_execute(
            &support::create_temporary_table(
                "vault (id TEXT PRIMARY KEY, secret BYTES NOT NULL, copy BYTES)",
            )
            .replace("BYTES", byte_type),
        )
        .unwrap();
    let keyring = Keyring::generate().unwrap();
    let value = serde_json::json!({"token": "hunter2"});
    let sealed = Sealed::seal(&keyring, &context("r1"), &value).unwrap();
    diesel::insert_into(vault::table)
        .values((
            vault::id.eq("r1"),
            vault::secret.eq(&sealed),
            vault::copy.eq(Some(sealed.ciphertext())),
        ))
        .execute(connection)
        .unwrap();
    let (read, copy): (Sealed<serde_json::Value>, Option<Ciphertext>) = vault::table
        .select((vault::secret, vault::copy))
        .first(connection)
        .unwrap();
    assert_eq!(copy.as_ref(), Some(read.ciphertext()));
    assert_eq!(
        read.open(&keyring, &context("r1"))
            .unwrap()
            .decode()
            .unwrap(),
        value
    );

    // Compare-and-swap on the encrypted column, as rotate-keys does.
    let resealed = read.reseal(&keyring, &context("r1")).unwrap();
    let written = diesel::update(vault::table.filter(vault::secret.eq(&read)))
        .set(vault::secret.eq(&resealed))
        .execute(connection)
        .unwrap();
    assert_eq!(written, 1);

    connection
        .batch_execute(&format!(
            "INSERT INTO vault (id, secret) VALUES ('legacy', {plaintext_literal})"
        ))
        .unwrap();
    let error = vault::table
        .select(vault::secret)
        .filter(vault::id.eq("legacy"))
        .first::<Ciphertext>(connection)
        .unwrap_err();
    assert!(
        matches!(
            CryptoError::in_diesel_error(&error),
            Some(CryptoError::NotCiphertext(_))
        ),
        "{error:?}"
    );
    let stored: Vec<StoredValue> = vault::table
        .select(vault::secret)
        .order(vault::id)
        .load(connection)
        .unwrap();
    assert!(matches!(stored[0], StoredValue::NotCiphertext(_)));
    assert!(matches!(&stored[1], StoredValue::Ciphertext(c) if *c == *resealed.ciphertext()));
}

#[test]
fn encrypted_columns_work_through_the_connection_enum_on_postgres() {
    let mut guard = support::PgTestConnection::connect();
    // Move the schema-scoped connection into the enum for the test, then back for cleanup.
    let inner = std::mem::replace(
        &mut *guard,
        PgConnection::establish(&support::postgres_url()).unwrap(),
    );
    let mut connection = TestConnection::Postgresql(inner);
    round_trip_and_refusal(
        &mut connection,
        "BYTEA",
        "convert_to('{\"token\":\"hunter2\"}', 'UTF8')",
    );
    let TestConnection::Postgresql(inner) = connection else {
        unreachable!("built as PostgreSQL above")
    };
    *guard = inner;
}

#[test]
fn encrypted_columns_work_through_the_connection_enum_on_sqlite() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("multi.db");
    let mut connection =
        TestConnection::Sqlite(SqliteConnection::establish(path.to_str().unwrap()).unwrap());
    round_trip_and_refusal(&mut connection, "BLOB", "'{\"token\":\"hunter2\"}'");
}
