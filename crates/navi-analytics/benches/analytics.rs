//! `cargo xtask bench analytics`: dashboards at scale, on PostgreSQL and SQLite.
//!
//! Generates 2,000,000 calls through `record_calls` in batches of 1000, each batch one user's
//! calls in one org, and times ingest (calls/s, for all batches and for each of two shapes):
//! - half in one big org of 1000 users, 5 models: each user sends one batch whose calls are
//!   spread over the 90 days (a client that flushes every 1000 calls), so all its users are
//!   active in any 30 days (the bench prints how many were) and every batch adds to rollup rows
//!   all over the 90 days;
//! - half in nine other orgs, in time order (a client that sends calls as they happen): the
//!   k-th of these batches holds the k-th slice of the 90 days.
//!
//! Besides, the same org at a tenth of the rows: the same 1000 users, models and 90 days, a batch
//! of a tenth of the calls from each user (not counted in the ingest rates).
//!
//! Then, in the same run, times (median of 21, the reads taking turns) the big org's dashboard for
//! 30 days through the library in UTC and in Asia/Kathmandu (+05:45, whose days begin at 18:15 UTC
//! and so need 15-minute pieces at their edges), the tenth org's in UTC, one user's dashboard, and
//! the baseline: a plain `GROUP BY` day over the raw table for the big org and range. Prints the
//! ratios of both zones to the baseline, and of the big org to the tenth (flat in row count
//! means near 1; the baseline grows tenfold).
//! After the reads, it also times batches of the big org's shape whose calls carry client ids
//! (random, like UUIDs), the path of a client that retries: one batch in twenty of the load's
//! number, informational (the target is on the load above, whose calls have none).
//! `NAVI_BENCH_CALLS` sets another size.

use std::time::{Duration, Instant};

use chrono::{NaiveDate, TimeDelta};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use navi_analytics::store::record_calls;
use navi_analytics::{latency_bucket, DashboardQuery, NewCall, Store};
use navi_tenancy::testing::TestDatabase;
use navi_tenancy::{
    checkout, Backend, DbConnection, Email, OrgName, Privileged, Role, TenantScope,
};

const USERS: usize = 1000;
const MODELS: [&str; 5] = [
    "gpt-4o",
    "gpt-4o-mini",
    "claude-sonnet",
    "claude-haiku",
    "llama-3",
];
const DAYS: i64 = 90;
const RUNS: usize = 21;
/// The API key the calls are recorded with, as the server records every call sent with a key.
const BENCH_KEY: &str = "key_bench000000000000000";

struct Results {
    /// All batches, then the big org's (spread over 90 days) and the others' (a slice of time).
    ingest_per_second: [f64; 3],
    /// Batches of the big org's shape whose calls carry client ids (timed after the reads).
    ingest_with_ids_per_second: f64,
    active_users: usize,
    org_utc: Duration,
    org_kathmandu: Duration,
    /// The same org's UTC dashboard at a tenth of the rows.
    tenth_utc: Duration,
    user: Duration,
    baseline: Duration,
}

/// A small deterministic generator (xorshift), so both backends get the same data.
struct Random(u64);
impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Times each of `reads` `RUNS` times, taking turns (so that a noisy moment of the machine
/// falls on all of them alike, not on one), and returns each one's median.
fn time_interleaved<const N: usize>(
    conn: &mut DbConnection,
    reads: [&dyn Fn(&mut DbConnection); N],
) -> [Duration; N] {
    let mut samples: [Vec<Duration>; N] = std::array::from_fn(|_| Vec::new());
    for _ in 0..RUNS {
        for (read, samples) in reads.iter().zip(samples.iter_mut()) {
            let start = Instant::now();
            read(conn);
            samples.push(start.elapsed());
        }
    }
    samples.map(median)
}

/// `count` random calls in `[start, start + length)`, in time order, each with a random client
/// id (32 hex digits, like a UUID) if `ids`.
fn new_calls(
    random: &mut Random,
    count: usize,
    (start, length): (i64, i64),
    ids: bool,
) -> Vec<NewCall> {
    let mut batch: Vec<NewCall> = (0..count)
        .map(|_| {
            let latency_ms = 50 + (random.below(3000) * random.below(3000)) as i64 / 1000;
            NewCall {
                client_call_id: ids
                    .then(|| format!("{:016x}{:016x}", random.next(), random.next())),
                model: MODELS[random.below(5) as usize].to_owned(),
                prompt_tokens: random.below(4000) as i64,
                completion_tokens: random.below(1000) as i64,
                cost_micros: random.below(50_000) as i64,
                latency_ms,
                latency_bucket: latency_bucket(latency_ms) as i16,
                occurred_at: start + random.below(length as u64) as i64,
            }
        })
        .collect();
    batch.sort_by_key(|call| call.occurred_at);
    batch
}

fn run(backend: Backend, calls: usize) -> Results {
    let db = TestDatabase::new(backend);
    let pool = db.migrated_pool();
    let mut conn = checkout(&pool).expect("connection");
    let privileged = Privileged::acquire("bench");
    let users: Vec<String> = (0..USERS)
        .map(|i| {
            let email = Email::parse(&format!("user{i}@example.com")).expect("email");
            navi_tenancy::users::find_or_create_user(&privileged, &mut conn, &email)
                .expect("user")
                .id
        })
        .collect();
    // Org 0 is the big org, 1..=9 the others, 10 the big org's shape at a tenth of the rows.
    let orgs: Vec<String> = (0..11)
        .map(|i| {
            let owner = privileged.act_as(&users[0]);
            navi_tenancy::orgs::create_org(
                &owner,
                &mut conn,
                &navi_tenancy::testing::audit_trail(),
                &OrgName::parse(&format!("Org {i}")).expect("name"),
                None,
            )
            .expect("org")
            .0
            .id
        })
        .collect();
    let start_day = NaiveDate::from_ymd_opt(2026, 8, 24).expect("date");
    let start = start_day
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc()
        .timestamp();
    let mut random = Random(0x9E37_79B9_7F4A_7C15);

    // Batches of 1000 calls, each from one user in one org. Even batches are the big org's:
    // each of its users sends one batch whose calls are spread over the 90 days (a client that
    // flushes every 1000 calls), so every user is active in any range and each batch touches
    // rollup rows all over the 90 days. Odd batches go to the nine other orgs in time order (a
    // client that sends calls as they happen): the k-th of them holds the k-th slice of time.
    let total_batches = calls.div_ceil(1000);
    let other_batches = (total_batches / 2).max(1) as i64;
    let window = (DAYS * 86_400 / other_batches).max(1);
    let mut ingest = [Duration::ZERO; 2];
    let mut ingested = [0; 2];
    let mut batches = 0;
    while ingested[0] + ingested[1] < calls {
        let big = batches % 2 == 0;
        let (org, user, slice_start, slice) = if big {
            (
                &orgs[0],
                &users[(batches / 2) % USERS],
                start,
                DAYS * 86_400,
            )
        } else {
            let org = &orgs[1 + random.below(9) as usize];
            let user = &users[random.below(USERS as u64) as usize];
            (org, user, start + (batches / 2) as i64 * window, window)
        };
        batches += 1;
        let count = 1000.min(calls - ingested[0] - ingested[1]);
        let batch = new_calls(&mut random, count, (slice_start, slice), false);
        let scope = TenantScope::for_tests(org, user, Role::Member);
        let began = Instant::now();
        record_calls(&scope, &mut conn, Some(BENCH_KEY), &batch).expect("recorded");
        ingest[usize::from(!big)] += began.elapsed();
        ingested[usize::from(!big)] += batch.len();
    }
    // The big org's shape at a tenth of the rows: one batch from each user over the 90 days.
    let tenth_per_user = (ingested[0] / 10 / USERS).max(1);
    for user in &users {
        let batch = new_calls(&mut random, tenth_per_user, (start, DAYS * 86_400), false);
        let scope = TenantScope::for_tests(&orgs[10], user, Role::Member);
        record_calls(&scope, &mut conn, Some(BENCH_KEY), &batch).expect("recorded");
    }
    // Statistics and visibility as autovacuum would leave them, and the load written out, so
    // that what is timed is the reads and not the flushing of a bulk load behind them.
    // (One statement at a time: PostgreSQL runs a multi-statement string as one transaction,
    // where VACUUM cannot run.)
    let settle: &[&str] = match backend {
        Backend::Postgres => &["VACUUM ANALYZE", "CHECKPOINT"],
        Backend::Sqlite => &["ANALYZE", "PRAGMA wal_checkpoint(TRUNCATE)"],
    };
    for statement in settle {
        conn.batch_execute(statement).expect(statement);
    }

    let from = start_day + TimeDelta::days(30);
    let to = from + TimeDelta::days(29);
    let utc = DashboardQuery::new(from, to, chrono_tz::UTC).expect("query");
    let kathmandu = DashboardQuery::new(from, to, chrono_tz::Asia::Kathmandu).expect("query");
    let admin = TenantScope::for_tests(&orgs[0], &users[0], Role::Admin);
    let tenth_admin = TenantScope::for_tests(&orgs[10], &users[0], Role::Admin);
    let member = TenantScope::for_tests(&orgs[0], &users[1], Role::Member);

    let org_dashboard = Store::new(&admin, &mut conn)
        .whole_org(&utc)
        .expect("dashboard");
    let active_users = org_dashboard.by_user.as_ref().map_or(0, Vec::len);
    assert!(active_users > 0);
    #[derive(QueryableByName)]
    #[allow(dead_code)]
    struct Day {
        #[diesel(sql_type = BigInt)]
        day: i64,
        #[diesel(sql_type = BigInt)]
        requests: i64,
        #[diesel(sql_type = BigInt)]
        cost_micros: i64,
        #[diesel(sql_type = BigInt)]
        tokens: i64,
        #[diesel(sql_type = BigInt)]
        latency_sum_ms: i64,
    }
    let (range_start, range_end) = utc.utc_range();
    let baseline_sql = "SELECT occurred_at / 86400 AS day, COUNT(*) AS requests, \
         CAST(SUM(cost_micros) AS BIGINT) AS cost_micros, \
         CAST(SUM(prompt_tokens + completion_tokens) AS BIGINT) AS tokens, \
         CAST(SUM(latency_ms) AS BIGINT) AS latency_sum_ms \
         FROM navi_llm_calls WHERE org_id = $1 AND occurred_at >= $2 AND occurred_at < $3 \
         GROUP BY occurred_at / 86400";
    let baseline_rows = |conn: &mut DbConnection| {
        diesel::sql_query(baseline_sql)
            .bind::<Text, _>(&orgs[0])
            .bind::<BigInt, _>(range_start.timestamp())
            .bind::<BigInt, _>(range_end.timestamp())
            .load::<Day>(conn)
            .expect("baseline")
    };
    let rows = baseline_rows(&mut conn);
    let total: i64 = rows.iter().map(|d| d.requests).sum();
    assert_eq!(
        total, org_dashboard.totals.requests,
        "baseline and dashboard count the same calls"
    );
    let [org_utc, org_kathmandu, tenth_utc, user, baseline] = time_interleaved(
        &mut conn,
        [
            &|conn| {
                std::hint::black_box(Store::new(&admin, conn).whole_org(&utc).expect("dashboard"));
            },
            &|conn| {
                std::hint::black_box(
                    Store::new(&admin, conn)
                        .whole_org(&kathmandu)
                        .expect("dashboard"),
                );
            },
            &|conn| {
                std::hint::black_box(
                    Store::new(&tenth_admin, conn)
                        .whole_org(&utc)
                        .expect("dashboard"),
                );
            },
            &|conn| {
                std::hint::black_box(
                    Store::new(&member, conn)
                        .own_usage(&utc)
                        .expect("dashboard"),
                );
            },
            &|conn| {
                std::hint::black_box(baseline_rows(conn));
            },
        ],
    );

    // The idempotent path: the same shape as the big org's batches, each call with an id, as a
    // client that retries would send them. After the reads, which it would otherwise change.
    let with_ids_batches = (total_batches / 20).max(1);
    let mut with_ids = Duration::ZERO;
    for batch_number in 0..with_ids_batches {
        let batch = new_calls(&mut random, 1000, (start, DAYS * 86_400), true);
        let scope = TenantScope::for_tests(&orgs[0], &users[batch_number % USERS], Role::Member);
        let began = Instant::now();
        let recorded = record_calls(&scope, &mut conn, Some(BENCH_KEY), &batch).expect("recorded");
        with_ids += began.elapsed();
        assert_eq!(recorded.accepted(), 1000, "fresh ids are all recorded");
    }

    let rate = |calls: usize, time: Duration| calls as f64 / time.as_secs_f64();
    Results {
        ingest_per_second: [
            rate(ingested[0] + ingested[1], ingest[0] + ingest[1]),
            rate(ingested[0], ingest[0]),
            rate(ingested[1], ingest[1]),
        ],
        ingest_with_ids_per_second: rate(with_ids_batches * 1000, with_ids),
        active_users,
        org_utc,
        org_kathmandu,
        tenth_utc,
        user,
        baseline,
    }
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn main() {
    let calls: usize = std::env::var("NAVI_BENCH_CALLS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2_000_000);
    let pg = run(Backend::Postgres, calls);
    let sqlite = run(Backend::Sqlite, calls);
    println!("analytics: {calls} calls (half in one org), {USERS} users, 5 models, {DAYS} days; 30-day range; median of {RUNS}");
    println!("{:<44} {:>12} {:>12}", "", "PostgreSQL", "SQLite");
    for (label, index) in [
        ("ingest, 1000-call batches (calls/s)", 0),
        ("  big org: one user's calls over 90 days", 1),
        ("  other orgs: one slice of time", 2),
    ] {
        println!(
            "{label:<44} {:>12.0} {:>12.0}",
            pg.ingest_per_second[index], sqlite.ingest_per_second[index]
        );
    }
    println!(
        "{:<44} {:>12.0} {:>12.0}",
        "  big org's shape, calls with client ids",
        pg.ingest_with_ids_per_second,
        sqlite.ingest_with_ids_per_second
    );
    println!(
        "{:<44} {:>12} {:>12}",
        "big org's users active in the 30 days", pg.active_users, sqlite.active_users
    );
    println!(
        "{:<44} {:>12.2} {:>12.2}",
        "org dashboard, UTC (ms)",
        ms(pg.org_utc),
        ms(sqlite.org_utc)
    );
    println!(
        "{:<44} {:>12.2} {:>12.2}",
        "org dashboard, Asia/Kathmandu (ms)",
        ms(pg.org_kathmandu),
        ms(sqlite.org_kathmandu)
    );
    println!(
        "{:<44} {:>12.2} {:>12.2}",
        "same org at a tenth of the rows, UTC (ms)",
        ms(pg.tenth_utc),
        ms(sqlite.tenth_utc)
    );
    println!(
        "{:<44} {:>12.2} {:>12.2}",
        "flat: org dashboard full / tenth (UTC)",
        ms(pg.org_utc) / ms(pg.tenth_utc),
        ms(sqlite.org_utc) / ms(sqlite.tenth_utc)
    );
    println!(
        "{:<44} {:>12.2} {:>12.2}",
        "one user's dashboard, UTC (ms)",
        ms(pg.user),
        ms(sqlite.user)
    );
    println!(
        "{:<44} {:>12.2} {:>12.2}",
        "baseline: GROUP BY day over raw rows (ms)",
        ms(pg.baseline),
        ms(sqlite.baseline)
    );
    println!(
        "{:<44} {:>12.1} {:>12.1}",
        "speedup org dashboard (UTC) vs baseline (x)",
        ms(pg.baseline) / ms(pg.org_utc),
        ms(sqlite.baseline) / ms(sqlite.org_utc)
    );
    println!(
        "{:<44} {:>12.1} {:>12.1}",
        "speedup org dashboard (Kathmandu) vs base (x)",
        ms(pg.baseline) / ms(pg.org_kathmandu),
        ms(sqlite.baseline) / ms(sqlite.org_kathmandu)
    );
    println!(
        "SQLite / PostgreSQL org dashboard (UTC): {:.2}, (Kathmandu): {:.2}  (target <= 3)",
        ms(sqlite.org_utc) / ms(pg.org_utc),
        ms(sqlite.org_kathmandu) / ms(pg.org_kathmandu)
    );
    println!(
        "targets (PostgreSQL): org dashboard <= 10 ms in UTC, <= 20 ms in Asia/Kathmandu, >= 10x \
         baseline; full / tenth <= 1.5; ingest >= 20,000 calls/s; SQLite <= 3x PostgreSQL"
    );
}
