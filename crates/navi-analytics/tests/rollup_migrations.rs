//! The usage rollup migrations against the store that maintains the rollups: a migration that
//! adds rollups fills them from the rows already there exactly as ingest would have, and the
//! bounds migration repairs what unbounded calls did.

use std::collections::BTreeMap;

use diesel::prelude::*;
use diesel::sql_types::Text;
use navi_analytics::store::record_calls;
use navi_analytics::NewCall;
use navi_tenancy::orgs::create_org;
use navi_tenancy::testing::TestDatabase;
use navi_tenancy::users::find_or_create_user;
use navi_tenancy::{
    backend_tests, checkout, migrations, Backend, DbConnection, Email, OrgName, Privileged, Role,
    TenantScope,
};

/// Every row of a table, each as its columns joined by `|`, sorted (in Rust: the backends'
/// collations differ).
fn rows(conn: &mut DbConnection, table: &str, columns: &[impl AsRef<str>]) -> Vec<String> {
    #[derive(QueryableByName)]
    struct Line {
        #[diesel(sql_type = Text)]
        line: String,
    }
    let line = columns
        .iter()
        .map(|c| format!("CAST({} AS TEXT)", c.as_ref()))
        .collect::<Vec<_>>()
        .join(" || '|' || ");
    let mut lines: Vec<String> = diesel::sql_query(format!("SELECT {line} AS line FROM {table}"))
        .load::<Line>(conn)
        .unwrap_or_else(|e| panic!("{table}: {e}"))
        .into_iter()
        .map(|l| l.line)
        .collect();
    lines.sort();
    lines
}

/// The migrations after usage_latency_per_model_quarter, newest first.
const LATER_THAN_LATENCY_PER_MODEL_QUARTER: [&str; 3] = [
    "20261203090200_usage_integer_columns",
    "20261203090100_usage_calls_within_bounds",
    "20261203090000_usage_call_ids_per_user",
];

const SUMS: [&str; 5] = [
    "requests",
    "prompt_tokens",
    "completion_tokens",
    "cost_micros",
    "latency_sum_ms",
];

/// The rollups the usage-grains migration adds, with their columns.
fn grain_rollups() -> Vec<(&'static str, Vec<String>)> {
    let columns = |names: &[&str]| names.iter().map(|c| c.to_string()).collect::<Vec<_>>();
    let sums = |keys: &[&str]| [columns(keys), columns(&SUMS)].concat();
    let histogram = [
        columns(&["org_id", "bucket", "max_ms"]),
        (0..29).map(|i| format!("h{i:02}")).collect(),
    ]
    .concat();
    vec![
        (
            "navi_usage_by_model_hour",
            sums(&["org_id", "bucket", "model"]),
        ),
        (
            "navi_usage_by_model_day",
            sums(&["org_id", "bucket", "model"]),
        ),
        ("navi_usage_latency_day", histogram),
        (
            "navi_usage_by_user_6h",
            sums(&["org_id", "bucket", "user_id"]),
        ),
        (
            "navi_usage_user_running",
            sums(&["org_id", "window_start", "day", "user_id"]),
        ),
    ]
}

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

fn the_usage_grains_migration_backfills_what_ingest_maintains(db: TestDatabase) {
    let pool = db.migrated_pool();
    let mut conn = checkout(&pool).unwrap();
    let recorded = record_sample_calls(&mut conn);
    let maintained: Vec<Vec<String>> = grain_rollups()
        .iter()
        .map(|(table, columns)| rows(&mut conn, table, columns))
        .collect();
    assert!(maintained.iter().all(|rows| !rows.is_empty()));

    // The migrations after it first (each rebuilds what it replaces), then the grains.
    for later in LATER_THAN_LATENCY_PER_MODEL_QUARTER.into_iter().chain([
        "20261202170734_usage_latency_per_model_quarter",
        "20261202170220_usage_call_ids_only_where_given",
        "20261202131021_usage_model_keys_without_sums",
        "20261201235128_usage_user_six_hours",
        "20261201233944_usage_without_foreign_keys",
    ]) {
        assert_eq!(
            migrations::revert_last(&mut conn).unwrap().as_deref(),
            Some(later)
        );
    }
    assert_eq!(
        migrations::revert_last(&mut conn).unwrap().as_deref(),
        Some("20261201000100_usage_grains")
    );
    // Reverted, the per-user day rollup holds the calls' sums again.
    let mut by_user_day: BTreeMap<(String, i64, String), [i64; 5]> = BTreeMap::new();
    for (org, user, call) in &recorded {
        let sums = by_user_day
            .entry((
                org.clone(),
                call.occurred_at.div_euclid(86_400),
                user.clone(),
            ))
            .or_default();
        for (sum, value) in sums.iter_mut().zip([
            1,
            call.prompt_tokens,
            call.completion_tokens,
            call.cost_micros,
            call.latency_ms,
        ]) {
            *sum += value;
        }
    }
    let mut expected: Vec<String> = by_user_day
        .iter()
        .map(|((org, day, user), sums)| {
            let sums: Vec<String> = sums.iter().map(i64::to_string).collect();
            format!("{org}|{day}|{user}|{}", sums.join("|"))
        })
        .collect();
    expected.sort();
    let columns: Vec<&str> = ["org_id", "day", "user_id"]
        .iter()
        .chain(&SUMS)
        .copied()
        .collect();
    assert_eq!(
        rows(&mut conn, "navi_usage_by_user_day", &columns),
        expected
    );

    // Applied again, the migration rebuilds from the older rollups exactly what ingest kept.
    migrations::run_pending(&mut conn, |_| {}).unwrap();
    for ((table, columns), maintained) in grain_rollups().iter().zip(&maintained) {
        assert_eq!(&rows(&mut conn, table, columns), maintained, "{table}");
    }
}

/// The migration that moves the 15-minute latency histograms into the by-model rollup: reverted,
/// it sums them per org again; applied, it rebuilds each model's from the calls exactly as
/// ingest keeps them.
fn the_latency_migration_backfills_what_ingest_maintains(db: TestDatabase) {
    let pool = db.migrated_pool();
    let mut conn = checkout(&pool).unwrap();
    let recorded = record_sample_calls(&mut conn);
    let histogram: Vec<String> = (0..29).map(|i| format!("h{i:02}")).collect();
    let quarter_columns: Vec<String> = ["org_id", "bucket", "model"]
        .iter()
        .chain(&SUMS)
        .chain(&["max_ms"])
        .map(|c| c.to_string())
        .chain(histogram.iter().cloned())
        .collect();
    let maintained = rows(&mut conn, "navi_usage_by_model", &quarter_columns);

    for later in LATER_THAN_LATENCY_PER_MODEL_QUARTER {
        assert_eq!(
            migrations::revert_last(&mut conn).unwrap().as_deref(),
            Some(later)
        );
    }
    assert_eq!(
        migrations::revert_last(&mut conn).unwrap().as_deref(),
        Some("20261202170734_usage_latency_per_model_quarter")
    );
    // Reverted: one histogram per org and 15-minute bucket, as the calls give it.
    let mut per_org: BTreeMap<(String, i64), (i64, [i64; 29])> = BTreeMap::new();
    for (org, _, call) in &recorded {
        let bucket = call.occurred_at - call.occurred_at.rem_euclid(900);
        let (max_ms, counts) = per_org.entry((org.clone(), bucket)).or_default();
        *max_ms = (*max_ms).max(call.latency_ms);
        counts[call.latency_bucket as usize] += 1;
    }
    let mut expected: Vec<String> = per_org
        .iter()
        .map(|((org, bucket), (max_ms, counts))| {
            let counts: Vec<String> = counts.iter().map(i64::to_string).collect();
            format!("{org}|{bucket}|{max_ms}|{}", counts.join("|"))
        })
        .collect();
    expected.sort();
    let latency_columns: Vec<String> = ["org_id", "bucket", "max_ms"]
        .iter()
        .map(|c| c.to_string())
        .chain(histogram.iter().cloned())
        .collect();
    assert_eq!(
        rows(&mut conn, "navi_usage_latency", &latency_columns),
        expected
    );

    migrations::run_pending(&mut conn, |_| {}).unwrap();
    assert_eq!(
        rows(&mut conn, "navi_usage_by_model", &quarter_columns),
        maintained
    );
}

/// Every rollup with its columns: those of [`grain_rollups`] and the 15-minute one by model.
fn all_rollups() -> Vec<(&'static str, Vec<String>)> {
    let mut quarter: Vec<String> = ["org_id", "bucket", "model"]
        .iter()
        .chain(&SUMS)
        .chain(&["max_ms"])
        .map(|c| c.to_string())
        .collect();
    quarter.extend((0..29).map(|i| format!("h{i:02}")));
    let mut all = grain_rollups();
    all.push(("navi_usage_by_model", quarter));
    all
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

fn count(conn: &mut DbConnection, table: &str) -> i64 {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}"))
        .get_result::<Count>(conn)
        .unwrap()
        .n
}

/// The migration that repairs what unbounded calls did: the calls beyond the bounds move out,
/// every rollup row that counted them, and on SQLite every row that holds a non-integer, is
/// recomputed from the calls that remain, and the rest is left as it was.
fn the_bounds_migration_repairs_rollups_from_the_calls(db: TestDatabase) {
    let pool = db.migrated_pool();
    let mut conn = checkout(&pool).unwrap();
    let recorded = record_sample_calls(&mut conn);
    let maintained: Vec<Vec<String>> = all_rollups()
        .iter()
        .map(|(table, columns)| rows(&mut conn, table, columns))
        .collect();
    for later in [
        "20261203090200_usage_integer_columns",
        "20261203090100_usage_calls_within_bounds",
    ] {
        assert_eq!(
            migrations::revert_last(&mut conn).unwrap().as_deref(),
            Some(later)
        );
    }
    let org = recorded[0].0.clone();
    let second = record_a_huge_call(&mut conn, &org, "eve@example.com");
    if db.backend() == Backend::Sqlite {
        assert_eq!(second, Ok(()), "SQLite took the overflow silently");
        // Sums that overflowed became REALs; here every row of the org's rollups of sums is one.
        for table in [
            "navi_usage_by_model",
            "navi_usage_by_model_hour",
            "navi_usage_by_model_day",
            "navi_usage_by_user_6h",
            "navi_usage_user_running",
        ] {
            diesel::sql_query(format!(
                "UPDATE {table} SET cost_micros = cost_micros + 0.5 WHERE org_id = '{org}'"
            ))
            .execute(&mut conn)
            .unwrap();
            assert!(
                count(
                    &mut conn,
                    &format!("{table} WHERE typeof(cost_micros) = 'real'")
                ) > 0
            );
        }
    } else {
        assert!(second.is_err(), "PostgreSQL refused the later call");
    }

    migrations::run_pending(&mut conn, |_| {}).unwrap();
    for ((table, columns), maintained) in all_rollups().iter().zip(&maintained) {
        assert_eq!(&rows(&mut conn, table, columns), maintained, "{table}");
    }
    assert_eq!(count(&mut conn, "navi_llm_calls"), recorded.len() as i64);
    let moved = if db.backend() == Backend::Sqlite {
        2
    } else {
        1
    };
    assert_eq!(count(&mut conn, "navi_llm_calls_out_of_bounds"), moved);
    // Ingest goes on for the model and day: the same call within the bounds is recorded.
    let scope = TenantScope::for_tests(&org, &recorded[0].1, Role::Member);
    let mut call = recorded[0].2.clone();
    call.client_call_id = Some("after-the-repair".to_owned());
    call.model = "huge-model".to_owned();
    call.occurred_at = 1_790_812_800 + 5 * 86_400 + 8;
    assert_eq!(
        record_calls(&scope, &mut conn, &[call]).unwrap().accepted(),
        1
    );
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

backend_tests!(
    the_usage_grains_migration_backfills_what_ingest_maintains,
    the_latency_migration_backfills_what_ingest_maintains,
    the_bounds_migration_repairs_rollups_from_the_calls,
    usage_columns_refuse_what_is_not_a_64_bit_integer,
);
