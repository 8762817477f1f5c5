//! Migrations: both trees agree, every migration goes up, down and up again to the same schema,
//! PostgreSQL and SQLite end with the same tables and columns, every usage column holds only
//! 64-bit integers, and a database from before the usage squash is refused.

use std::collections::BTreeSet;
use std::path::Path;

use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};
use navi_tenancy::orgs::create_org;
use navi_tenancy::testing::TestDatabase;
use navi_tenancy::usage::{record_calls, NewCall};
use navi_tenancy::users::find_or_create_user;
use navi_tenancy::{
    backend_tests, checkout, migrations, Backend, DbConnection, Email, OrgName, Privileged, Role,
    TenantScope,
};

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

const SUMS: [&str; 5] = [
    "requests",
    "prompt_tokens",
    "completion_tokens",
    "cost_micros",
    "latency_sum_ms",
];

/// Calls at pseudo-random instants over 100 days from 2026-10-01, half of them within a second
/// of a UTC midnight, a quarter hour or an hour.
fn calls(seed: u64, count: usize) -> Vec<NewCall> {
    let mut state = seed;
    let mut next = move |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    let start = 1_790_812_800; // 2026-10-01T00:00:00Z
    (0..count)
        .map(|i| {
            let day = next(100) as i64;
            let second = match i % 4 {
                0 => next(86_400) as i64,
                1 => 86_400 - 1 + next(2) as i64,
                2 => next(96) as i64 * 900 - 1 + next(3) as i64,
                _ => next(24) as i64 * 3_600 + next(2) as i64,
            };
            let latency_ms = next(20_000) as i64;
            NewCall {
                client_call_id: Some(format!("call-{seed}-{i}")),
                model: ["gpt-4o", "claude-haiku", "llama-3"][next(3) as usize].to_owned(),
                prompt_tokens: next(5_000) as i64,
                completion_tokens: next(2_000) as i64,
                cost_micros: next(3_000_000_000) as i64,
                latency_ms,
                latency_bucket: (latency_ms % 29) as i16,
                occurred_at: start + day * 86_400 + second,
            }
        })
        .collect()
}

/// Two orgs and two users, and 2100 calls recorded for them in batches of 300: each as
/// `(org, user, call)`.
fn record_sample_calls(conn: &mut DbConnection) -> Vec<(String, String, NewCall)> {
    let privileged = Privileged::acquire("tests");
    let users: Vec<String> = ["ada@example.com", "bob@example.com"]
        .iter()
        .map(|email| {
            find_or_create_user(&privileged, conn, &Email::parse(email).unwrap())
                .unwrap()
                .id
        })
        .collect();
    let owner = privileged.act_as(&users[0]);
    let orgs: Vec<String> = ["Acme", "Globex"]
        .iter()
        .map(|name| {
            create_org(
                &owner,
                conn,
                &navi_tenancy::testing::audit_trail(),
                &OrgName::parse(name).unwrap(),
                None,
            )
            .unwrap()
            .0
            .id
        })
        .collect();
    let mut recorded = Vec::new();
    for (seed, (org, user)) in [
        (&orgs[0], &users[0]),
        (&orgs[0], &users[1]),
        (&orgs[1], &users[1]),
    ]
    .into_iter()
    .enumerate()
    {
        let scope = TenantScope::for_tests(org, user, Role::Member);
        for batch in calls(seed as u64 + 1, 700).chunks(300) {
            record_calls(&scope, conn, batch).unwrap();
            recorded.extend(
                batch
                    .iter()
                    .map(|call| (org.clone(), user.clone(), call.clone())),
            );
        }
    }
    recorded
}

/// A call of i64::MAX tokens, cost and latency, recorded for a user of its own in `org` as the
/// server did before calls were bounded.
fn record_a_huge_call(conn: &mut DbConnection, org: &str, email: &str) -> Result<(), String> {
    let privileged = Privileged::acquire("tests");
    let user = find_or_create_user(&privileged, conn, &Email::parse(email).unwrap())
        .unwrap()
        .id;
    let scope = TenantScope::for_tests(org, &user, Role::Member);
    let huge = NewCall {
        client_call_id: Some(format!("huge-{email}")),
        model: "huge-model".to_owned(),
        prompt_tokens: i64::MAX,
        completion_tokens: i64::MAX,
        cost_micros: i64::MAX,
        latency_ms: i64::MAX,
        latency_bucket: 28,
        occurred_at: 1_790_812_800 + 5 * 86_400 + 7,
    };
    record_calls(&scope, conn, std::slice::from_ref(&huge))
        .map(drop)
        .map_err(|e| e.to_string())?;
    let mut again = huge;
    again.client_call_id = Some(format!("again-{email}"));
    again.prompt_tokens = 1;
    record_calls(&scope, conn, &[again])
        .map(drop)
        .map_err(|e| e.to_string())
}

/// Every usage rollup with its columns.
fn all_rollups() -> Vec<(&'static str, Vec<String>)> {
    let columns = |names: &[&str]| names.iter().map(|c| c.to_string()).collect::<Vec<_>>();
    let sums = |keys: &[&str]| [columns(keys), columns(&SUMS)].concat();
    let histogram: Vec<String> = (0..29).map(|i| format!("h{i:02}")).collect();
    vec![
        (
            "navi_usage_model_15m",
            [
                sums(&["org_id", "bucket", "model"]),
                columns(&["max_ms"]),
                histogram.clone(),
            ]
            .concat(),
        ),
        ("navi_usage_model_1h", sums(&["org_id", "bucket", "model"])),
        ("navi_usage_model_1d", sums(&["org_id", "bucket", "model"])),
        (
            "navi_usage_latency_1d",
            [columns(&["org_id", "bucket", "max_ms"]), histogram].concat(),
        ),
        ("navi_usage_user_6h", sums(&["org_id", "bucket", "user_id"])),
        (
            "navi_usage_user_running_1d",
            sums(&["org_id", "window_start", "day", "user_id"]),
        ),
    ]
}

/// Every integer column of the calls and the rollups refuses a value beyond 64 bits, and on
/// SQLite a fraction, instead of storing a REAL; an overflowing sum fails the batch.
fn usage_columns_refuse_what_is_not_a_64_bit_integer(db: TestDatabase) {
    let pool = db.migrated_pool();
    let mut conn = checkout(&pool).unwrap();
    let recorded = record_sample_calls(&mut conn);
    let mut tables = all_rollups();
    tables.push((
        "navi_llm_calls",
        [
            "org_id",
            "prompt_tokens",
            "completion_tokens",
            "cost_micros",
            "latency_ms",
            "latency_bucket",
            "occurred_at",
        ]
        .iter()
        .map(|c| c.to_string())
        .collect(),
    ));
    let mut values = vec!["1.5e19"];
    if db.backend() == Backend::Sqlite {
        values.push("1.5");
    }
    for (table, columns) in &tables {
        for column in columns
            .iter()
            .filter(|c| !c.ends_with("_id") && *c != "model")
        {
            for value in &values {
                let update = diesel::sql_query(format!(
                    "UPDATE {table} SET {column} = {value} WHERE org_id = '{}'",
                    recorded[0].0
                ))
                .execute(&mut conn);
                assert!(update.is_err(), "{table}.{column} = {value} was stored");
            }
        }
    }
    let second = record_a_huge_call(&mut conn, &recorded[0].0, "eve@example.com");
    assert!(second.is_err(), "{second:?}");
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
    usage_columns_refuse_what_is_not_a_64_bit_integer,
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
