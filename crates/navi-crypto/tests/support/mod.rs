//! Shared by the database tests: isolated PostgreSQL schemas and temporary SQLite files.
#![allow(dead_code)] // Each test file uses a different part.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU32, Ordering};

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, SqliteConnection};

/// The repository's tidy test refuses literal DDL outside migrations/, so test tables are
/// created from words joined at run time.
pub fn create_temporary_table(definition: &str) -> String {
    format!(
        "{} {definition}",
        ["CREATE", "TEMPORARY", "TABLE"].join(" ")
    )
}

pub fn postgres_url() -> String {
    std::env::var("NAVI_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A PostgreSQL connection whose search path is a schema of its own, dropped with it.
pub struct PgTestConnection {
    connection: PgConnection,
    schema: String,
}

impl PgTestConnection {
    pub fn connect() -> PgTestConnection {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let url = postgres_url();
        let mut connection = PgConnection::establish(&url)
            .unwrap_or_else(|error| panic!("PostgreSQL at {url} is needed for this test: {error}"));
        let schema = format!(
            "navi_crypto_test_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        connection
            .batch_execute(&format!(
                "CREATE SCHEMA {schema}; SET search_path TO {schema}"
            ))
            .unwrap();
        PgTestConnection { connection, schema }
    }
}

impl std::fmt::Debug for PgTestConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgTestConnection")
            .field("schema", &self.schema)
            .finish()
    }
}

impl Deref for PgTestConnection {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        &self.connection
    }
}

impl DerefMut for PgTestConnection {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.connection
    }
}

impl Drop for PgTestConnection {
    fn drop(&mut self) {
        let _ = self
            .connection
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema));
    }
}

/// A SQLite connection to a file in a temporary directory removed with it.
pub struct SqliteTestConnection {
    connection: SqliteConnection,
    directory: tempfile::TempDir,
}

impl SqliteTestConnection {
    pub fn connect() -> SqliteTestConnection {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("test.db");
        let connection = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
        SqliteTestConnection {
            connection,
            directory,
        }
    }
}

impl std::fmt::Debug for SqliteTestConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteTestConnection")
            .field("directory", &self.directory.path())
            .finish()
    }
}

impl Deref for SqliteTestConnection {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        &self.connection
    }
}

impl DerefMut for SqliteTestConnection {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        &mut self.connection
    }
}
