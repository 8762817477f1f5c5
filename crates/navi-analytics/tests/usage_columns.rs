//! Every integer column of the usage tables holds only 64-bit integers: a value beyond 64 bits,
//! and on SQLite a fraction, is refused instead of stored as a REAL, and a sum that overflows
//! fails the batch.

use diesel::prelude::*;
use navi_analytics::store::record_calls;
use navi_analytics::NewCall;
use navi_tenancy::orgs::create_org;
use navi_tenancy::testing::TestDatabase;
use navi_tenancy::users::find_or_create_user;
use navi_tenancy::{
    backend_tests, checkout, Backend, DbConnection, Email, OrgName, Privileged, Role, TenantScope,
};

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
            record_calls(&scope, conn, None, batch).unwrap();
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
    record_calls(&scope, conn, None, std::slice::from_ref(&huge))
        .map(drop)
        .map_err(|e| e.to_string())?;
    let mut again = huge;
    again.client_call_id = Some(format!("again-{email}"));
    again.prompt_tokens = 1;
    record_calls(&scope, conn, None, &[again])
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

backend_tests!(usage_columns_refuse_what_is_not_a_64_bit_integer);
