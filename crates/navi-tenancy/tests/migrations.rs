//! Migrations: both trees agree, every migration goes up, down and up again to the same schema,
//! PostgreSQL and SQLite end with the same tables and columns, and a database from before the
//! usage squash is refused. (That every usage column holds only 64-bit integers is tested with
//! the usage store, in `navi-analytics`'s `tests/usage_columns.rs`.)

use std::collections::BTreeSet;
use std::path::Path;

use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};
use navi_tenancy::testing::TestDatabase;
use navi_tenancy::{backend_tests, migrations, Backend, DbConnection};

#[derive(QueryableByName, Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct CatalogColumn {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
    #[diesel(sql_type = Bool)]
    nullable: bool,
}

#[derive(QueryableByName, Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct CatalogIndex {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    definition: String,
}

/// Every column of every table in the connection's schema, from the backend's own catalog.
fn columns(conn: &mut DbConnection) -> Vec<CatalogColumn> {
    let query = match conn.backend() {
        Backend::Postgres => {
            "SELECT table_name::text AS table_name, column_name::text AS column_name, \
                    data_type::text AS data_type, (is_nullable = 'YES') AS nullable \
             FROM information_schema.columns WHERE table_schema = current_schema() \
             ORDER BY 1, 2"
        }
        Backend::Sqlite => {
            "SELECT m.name AS table_name, p.name AS column_name, p.type AS data_type, \
                    (p.\"notnull\" = 0) AS nullable \
             FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' \
             ORDER BY 1, 2"
        }
    };
    diesel::sql_query(query).load(conn).expect("catalog query")
}

fn indexes(conn: &mut DbConnection) -> Vec<CatalogIndex> {
    let query = match conn.backend() {
        Backend::Postgres => {
            "SELECT indexname::text AS name, indexdef AS definition FROM pg_indexes \
             WHERE schemaname = current_schema() ORDER BY 1"
        }
        Backend::Sqlite => {
            "SELECT name, COALESCE(sql, 'auto') AS definition FROM sqlite_master \
             WHERE type = 'index' ORDER BY 1"
        }
    };
    diesel::sql_query(query).load(conn).expect("index query")
}

fn snapshot(conn: &mut DbConnection) -> (Vec<CatalogColumn>, Vec<CatalogIndex>) {
    (columns(conn), indexes(conn))
}

fn tables(conn: &mut DbConnection) -> BTreeSet<String> {
    columns(conn)
        .into_iter()
        .map(|c| c.table_name)
        .filter(|t| t != "__diesel_schema_migrations")
        .collect()
}

fn every_migration_goes_up_down_and_up_to_the_same_schema(db: TestDatabase) {
    let mut conn = db.connect();
    let all = migrations::all(db.backend()).unwrap();
    assert!(!all.is_empty());
    assert_eq!(migrations::pending(&mut conn).unwrap(), all);

    let mut reported = Vec::new();
    let applied =
        migrations::run_pending(&mut conn, |name| reported.push(name.to_owned())).unwrap();
    assert_eq!(applied, all);
    assert_eq!(reported, all);
    assert_eq!(migrations::applied(&mut conn).unwrap(), all);
    assert!(migrations::pending(&mut conn).unwrap().is_empty());
    let first_up = snapshot(&mut conn);
    assert!(tables(&mut conn).contains("navi_orgs"));

    let mut reverted = Vec::new();
    while let Some(name) = migrations::revert_last(&mut conn).unwrap() {
        reverted.push(name);
    }
    reverted.reverse();
    assert_eq!(reverted, all, "every migration reverts, newest first");
    assert_eq!(
        tables(&mut conn),
        BTreeSet::new(),
        "down.sql leaves no table behind"
    );
    assert_eq!(migrations::pending(&mut conn).unwrap(), all);

    migrations::run_pending(&mut conn, |_| {}).unwrap();
    assert_eq!(snapshot(&mut conn), first_up);
}

fn running_pending_twice_applies_nothing_the_second_time(db: TestDatabase) {
    let mut conn = db.connect();
    migrations::run_pending(&mut conn, |_| {}).unwrap();
    let again = migrations::run_pending(&mut conn, |name| panic!("{name} applied twice")).unwrap();
    assert!(again.is_empty());
}

/// A database that applied any of the usage migrations the squash retired is refused, in one
/// line that says how to recreate it, and nothing is applied to it.
fn a_database_from_before_the_usage_squash_is_refused_not_migrated(db: TestDatabase) {
    let mut conn = db.connect();
    migrations::run_pending(&mut conn, |_| {}).unwrap();
    let applied_before = migrations::applied(&mut conn).unwrap();
    // What a database made before the squash holds among its applied versions.
    diesel::sql_query("INSERT INTO __diesel_schema_migrations (version) VALUES ('20261122000300')")
        .execute(&mut conn)
        .unwrap();
    for error in [
        migrations::run_pending(&mut conn, |name| panic!("{name} applied")).unwrap_err(),
        migrations::pending(&mut conn).unwrap_err(),
    ] {
        let message = error.to_string();
        assert!(!message.contains('\n'), "{message}");
        assert!(
            message.contains("before the usage migrations were squashed")
                && message.contains("recreate"),
            "{message}"
        );
    }
    assert_eq!(
        migrations::applied(&mut conn).unwrap().len(),
        applied_before.len() + 1
    );
}

backend_tests!(
    every_migration_goes_up_down_and_up_to_the_same_schema,
    running_pending_twice_applies_nothing_the_second_time,
    a_database_from_before_the_usage_squash_is_refused_not_migrated,
);

fn directory_names(tree: &Path) -> BTreeSet<String> {
    std::fs::read_dir(tree)
        .unwrap_or_else(|e| panic!("{}: {e}", tree.display()))
        .map(|entry| entry.unwrap())
        .filter(|entry| entry.file_type().unwrap().is_dir())
        .map(|entry| entry.file_name().into_string().unwrap())
        .collect()
}

#[test]
fn both_trees_hold_the_same_migration_names() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations");
    let postgres = directory_names(&root.join("postgres"));
    let sqlite = directory_names(&root.join("sqlite"));
    assert!(!postgres.is_empty());
    assert_eq!(postgres, sqlite);
    for name in &postgres {
        for tree in ["postgres", "sqlite"] {
            for file in ["up.sql", "down.sql"] {
                let path = root.join(tree).join(name).join(file);
                assert!(path.is_file(), "{} is missing", path.display());
            }
        }
    }
    // What is embedded is what is on disk.
    let embedded_pg: BTreeSet<String> = migrations::all(Backend::Postgres)
        .unwrap()
        .into_iter()
        .collect();
    let embedded_sqlite: BTreeSet<String> = migrations::all(Backend::Sqlite)
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(embedded_pg, postgres);
    assert_eq!(embedded_sqlite, sqlite);
}

#[test]
fn postgres_and_sqlite_have_the_same_tables_columns_and_nullability() {
    let pg = TestDatabase::postgres();
    let lite = TestDatabase::sqlite();
    let shape = |db: &TestDatabase| -> BTreeSet<(String, String, bool)> {
        let mut conn = db.connect();
        migrations::run_pending(&mut conn, |_| {}).unwrap();
        columns(&mut conn)
            .into_iter()
            .filter(|c| c.table_name != "__diesel_schema_migrations")
            .map(|c| (c.table_name, c.column_name, c.nullable))
            .collect()
    };
    let pg_shape = shape(&pg);
    assert!(pg_shape.len() > 10, "{pg_shape:?}");
    assert_eq!(pg_shape, shape(&lite));
}
