//! `cargo xtask bench limits` (or `cargo bench -p navi-server --bench limits` with
//! `NAVI_TEST_DATABASE_URL` and `NAVI_TEST_REDIS_URL` set): what rate limits cost.
//!
//! 1. Decisions per second of the Redis limiter (`Cache::admit`) at 1 and 50 concurrent tasks,
//!    next to `redis-benchmark` at the same concurrency running the same script with `EVALSHA`
//!    and the same arguments (one key, a rate so high every decision is admitted, so both do the
//!    same server work: read, write and expire). Target ≥ 0.8.
//! 2. Authenticated `GET /v1/org` requests per second with limits on (every request makes its
//!    `requests` and `org_requests` decisions) next to the same server with
//!    `NAVI_RATE_LIMITS=off`, as `bench auth` runs: on SQLite and PostgreSQL with the embedded
//!    cache (target ≥ 0.8), and on PostgreSQL with Redis, where each decision is a round trip
//!    that costs more than this request does without it (reported beside them).
//!
//! Runs alternate between each side and its baseline so both meet the same background load, and
//! each figure is the median of the runs: the machine is shared and noisy.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "support/load.rs"]
mod load;
#[path = "../../../crates/navi-cache/benches/support/redis_benchmark.rs"]
mod redis_benchmark;

use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::TestServer;
use navi_cache::{Cache, RedisBackend, RedisConfig};
use navi_server::rate_limits::Policy;
use navi_tenancy::testing::TestDatabase;
use navi_tenancy::Backend;

const RUNS: usize = 5;
const DECISIONS: usize = 50_000;
const DECISIONS_SINGLE: usize = 10_000;
const HTTP_CONCURRENCY: usize = 32;
const HTTP_ROUND: Duration = Duration::from_secs(2);
/// The most cells a quota may have: with a window of a second, a decision of one cell moves the
/// bucket by a millionth of a microsecond, so every decision is admitted.
const HUGE_QUOTA: u64 = 1_000_000_000_000;

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn redis_url() -> String {
    std::env::var("NAVI_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// Decisions per second `tasks` concurrent tasks get from `cache` on one key.
async fn limiter_rate(cache: &Cache, rate: navi_cache::Rate, tasks: usize, ops: usize) -> f64 {
    let left = Arc::new(AtomicUsize::new(ops));
    let started = Instant::now();
    let workers: Vec<_> = (0..tasks)
        .map(|_| {
            let (cache, left) = (cache.clone(), Arc::clone(&left));
            tokio::spawn(async move {
                while left
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                    .is_ok()
                {
                    let decision = cache.admit("bench", &rate, 1).await.expect("decision");
                    assert!(decision.allowed, "the benchmark's rate admits everything");
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.expect("worker");
    }
    ops as f64 / started.elapsed().as_secs_f64()
}

fn limiter_rows() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let url = redis_url();
    let (host, port) = redis_benchmark::host_port(&url);
    let rate = navi_cache::Rate::new(HUGE_QUOTA, Duration::from_secs(1)).expect("rate");
    println!(
        "{:<40} {:>6} {:>14} {:>16} {:>7}",
        "Redis limiter", "tasks", "navi dec/s", "EVALSHA r/s", "ratio"
    );
    for (tasks, ops) in [(1, DECISIONS_SINGLE), (50, DECISIONS)] {
        let mut config = RedisConfig::new(&url);
        config.pool_max_size = tasks.max(2);
        config.pool_wait_timeout = Duration::from_secs(30);
        let backend = RedisBackend::new(&config).expect("redis config");
        let sha = backend.rate_script_sha().to_owned();
        let prefix = format!("navi-bench-limits:{tasks}:");
        let cache = Cache::new(Arc::new(backend), prefix.clone());
        // The same call the cache makes: the key, then the cost of one cell (0 µs and 10^6
        // 10^-12ths), the quota, the window in µs, no time of our own (Redis's TIME), and one
        // decision (redis-benchmark's clients each wait for their answer; navi's concurrent
        // decisions may share a call, which is the point of coalescing them).
        let args: Vec<String> = [
            "EVALSHA",
            &sha,
            "1",
            &format!("{prefix}bench"),
            "0",
            "1000000",
            &HUGE_QUOTA.to_string(),
            "1000000",
            "",
            "1",
        ]
        .map(str::to_owned)
        .to_vec();
        // Warm the pool and load the script.
        runtime.block_on(limiter_rate(&cache, rate, tasks, tasks * 20));
        let (mut navi, mut baseline) = (Vec::new(), Vec::new());
        for _ in 0..RUNS {
            navi.push(runtime.block_on(limiter_rate(&cache, rate, tasks, ops)));
            baseline.push(redis_benchmark::run(&host, port, tasks, ops, &args));
        }
        let (navi, baseline) = (median(navi), median(baseline));
        println!(
            "{:<40} {:>6} {:>14.0} {:>16.0} {:>7.2}",
            "Cache::admit vs redis-benchmark EVALSHA",
            tasks,
            navi,
            baseline,
            navi / baseline
        );
    }
    println!("ratio = navi decisions/s / redis-benchmark of the same script (target >= 0.8)");
    println!();
}

/// Requests/s of authenticated `GET /v1/org` with limits on and off over `backend`, with the
/// embedded cache or Redis: medians of alternating runs.
async fn http_row(backend: Backend, redis: bool) -> (f64, f64) {
    let db = TestDatabase::new(backend);
    let mut config = common::config_for(&db);
    if redis {
        config.redis_url = Some(redis_url());
        config.cache_key_prefix = format!("navi-bench-http:{}:", std::process::id());
    }
    // Quotas no client here reaches: every request is decided and admitted.
    for policy in [Policy::Requests, Policy::OrgRequests] {
        common::set_limit(&mut config, policy, HUGE_QUOTA, 60);
    }
    let mut off = config.clone();
    off.rate_limits.enabled = false;
    let limited = TestServer::start_with(common::state_with(config).await);
    let unlimited = TestServer::start_with(common::state_with(off).await);
    let api = common::Api::start_on(limited);
    let owner = api.owner("bench@example.com", "Bench").await;
    let key = api.pinned_key(&owner);
    let client = Rc::new(
        awc::Client::builder()
            .timeout(Duration::from_secs(30))
            .connector(awc::Connector::new().limit(HTTP_CONCURRENCY * 2))
            .finish(),
    );
    let (on_url, off_url) = (api.server.url("/v1/org"), unlimited.url("/v1/org"));
    let round = |url: &str| {
        let (client, url, key) = (Rc::clone(&client), url.to_owned(), key.clone());
        async move { load::measure(client, HTTP_CONCURRENCY, HTTP_ROUND, &url, Some(&key)).await }
    };
    // Warm up connections, caches and pools.
    round(&on_url).await;
    round(&off_url).await;
    let (mut on, mut off) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        on.push(round(&on_url).await);
        off.push(round(&off_url).await);
    }
    unlimited.stop().await;
    drop(db);
    (median(on), median(off))
}

async fn http_rows() {
    println!(
        "{:<40} {:>14} {:>16} {:>7}",
        "GET /v1/org", "limits on r/s", "limits off r/s", "ratio"
    );
    for (label, backend, redis) in [
        ("SQLite, embedded cache", Backend::Sqlite, false),
        ("PostgreSQL, embedded cache", Backend::Postgres, false),
        ("PostgreSQL, Redis", Backend::Postgres, true),
    ] {
        let (on, off) = http_row(backend, redis).await;
        println!("{label:<40} {on:>14.0} {off:>16.0} {:>7.2}", on / off);
    }
    println!(
        "ratio = requests/s with limits on / off ({HTTP_CONCURRENCY} clients, as `bench auth`; \
         target >= 0.8 on the embedded cache; on Redis every request waits for its decisions' \
         round trip, reported beside them)"
    );
}

fn main() {
    println!("limits benchmark: medians of {RUNS} alternating runs");
    println!();
    limiter_rows();
    actix_web::rt::System::new().block_on(http_rows());
}
