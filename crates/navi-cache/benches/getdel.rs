//! `cargo bench -p navi-cache`: get-and-delete throughput on every path, next to a baseline.
//!
//! - Redis, `GETDEL` and Lua paths, at 1 and 50 concurrent tasks, next to `redis-benchmark` at the
//!   same concurrency sending the same command (`GETDEL key`; `EVALSHA <our script's sha> 1 key`).
//!   redis-benchmark repeats one key, so after its first request it deletes nothing: it is
//!   compared with our run on missing keys (the same server work). Our run on present keys (a
//!   real consume: lookup, delete, value returned and decoded) is printed too.
//! - Memory backend get-and-delete at 1 and 2 threads, next to a bare `Mutex<HashMap>` remove.
//!
//! Set `NAVI_BENCH_REDIS_URL` (default `NAVI_TEST_REDIS_URL`, then `redis://127.0.0.1:6379`).

use std::collections::HashMap;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

#[path = "support/redis_benchmark.rs"]
mod redis_benchmark;

use navi_cache::{
    Cache, CacheBackend, GetDelMode, MemoryBackend, MemoryConfig, RedisBackend, RedisConfig,
};

const REDIS_OPS: usize = 100_000;
const REDIS_OPS_SINGLE: usize = 30_000;
const MEMORY_OPS: usize = 1_000_000;
/// Every figure is the best of this many runs, for navi and baselines alike: the machine is
/// shared, and the best run is the one least disturbed by others.
const RUNS: usize = 3;

fn best_of(mut run: impl FnMut() -> f64) -> f64 {
    (0..RUNS).map(|_| run()).fold(0.0, f64::max)
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not supported and ignored.
    let url = std::env::var("NAVI_BENCH_REDIS_URL")
        .or_else(|_| std::env::var("NAVI_TEST_REDIS_URL"))
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let (host, port) = redis_benchmark::host_port(&url);
    let workers = std::env::var("NAVI_BENCH_WORKERS")
        .ok()
        .and_then(|workers| workers.parse().ok())
        .unwrap_or(2);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .expect("tokio runtime");

    println!(
        "navi-cache getdel benchmark (redis {url}, {} cores, {workers} tokio workers)",
        available_cores()
    );
    println!();
    // NAVI_BENCH_ONLY=memory skips the Redis half (for quick iterations on the memory backend).
    let only_memory = std::env::var("NAVI_BENCH_ONLY").is_ok_and(|only| only == "memory");
    println!(
        "{:<34} {:>6} {:>12} {:>12} {:>12} {:>7}",
        "redis path", "tasks", "navi hit/s", "navi miss/s", "redis-bench", "ratio"
    );
    let modes: &[GetDelMode] = if only_memory {
        &[]
    } else {
        &[GetDelMode::GetDel, GetDelMode::Lua]
    };
    for &mode in modes {
        for tasks in [1usize, 50] {
            let ops = if tasks == 1 {
                REDIS_OPS_SINGLE
            } else {
                REDIS_OPS
            };
            let row = runtime.block_on(redis_row(&url, &host, port, mode, tasks, ops));
            println!(
                "{:<34} {:>6} {:>12.0} {:>12.0} {:>12.0} {:>7.2}",
                row.label,
                tasks,
                row.hit_ops,
                row.miss_ops,
                row.redis_benchmark_ops,
                row.miss_ops / row.redis_benchmark_ops
            );
        }
    }
    println!(
        "ratio = navi miss/s / redis-benchmark (same command, same server work, same concurrency)"
    );
    println!();

    println!(
        "{:<34} {:>6} {:>12} {:>12} {:>7}",
        "memory", "threads", "navi ops/s", "bare ops/s", "ratio"
    );
    let mut memory_rates = Vec::new();
    for threads in [1usize, 2] {
        let navi = best_of(|| memory_backend_rate(threads));
        let bare = best_of(|| bare_map_rate(threads));
        memory_rates.push(navi);
        println!(
            "{:<34} {:>6} {:>12.0} {:>12.0} {:>7.2}",
            "MemoryBackend::get_del vs remove",
            threads,
            navi,
            bare,
            navi / bare
        );
    }
    println!(
        "memory 2 threads / 1 thread: {:.2}",
        memory_rates[1] / memory_rates[0]
    );
}

struct RedisRow {
    label: String,
    hit_ops: f64,
    miss_ops: f64,
    redis_benchmark_ops: f64,
}

async fn redis_row(
    url: &str,
    host: &str,
    port: u16,
    mode: GetDelMode,
    tasks: usize,
    ops: usize,
) -> RedisRow {
    let mut config = RedisConfig::new(url);
    config.getdel_mode = mode;
    config.pool_max_size = tasks.max(2);
    config.pool_wait_timeout = Duration::from_secs(30);
    let backend = RedisBackend::new(&config).expect("redis config");
    backend.ping().await.unwrap_or_else(|err| {
        panic!("the benchmark needs Redis at {url}: {err}");
    });
    let sha = backend.script_sha().to_owned();
    let cache = Cache::new(Arc::new(backend), format!("navi-bench:{mode}:{tasks}:"));

    // Warm the pool (and load the script) so connection setup is not measured.
    run_getdels(&cache, "warm", tasks, tasks * 20).await;

    let (label, command) = match mode {
        GetDelMode::Lua => (
            "lua: EVALSHA".to_owned(),
            vec![
                "EVALSHA".to_owned(),
                sha,
                "1".to_owned(),
                "navi-bench:rb".to_owned(),
            ],
        ),
        _ => (
            "getdel: GETDEL".to_owned(),
            vec!["GETDEL".to_owned(), "navi-bench:rb".to_owned()],
        ),
    };
    // Runs alternate between navi and redis-benchmark so both meet the same background load.
    let (mut hit_ops, mut miss_ops, mut redis_benchmark_ops) = (0.0f64, 0.0f64, 0.0f64);
    for run in 0..RUNS {
        let tag = format!("hit{run}");
        populate(url, cache.key_prefix(), &tag, ops).await;
        hit_ops = hit_ops.max(run_getdels(&cache, &tag, tasks, ops).await);
        miss_ops = miss_ops.max(run_getdels(&cache, "miss", tasks, ops).await);
        redis_benchmark_ops =
            redis_benchmark_ops.max(redis_benchmark::run(host, port, tasks, ops, &command));
    }
    RedisRow {
        label,
        hit_ops,
        miss_ops,
        redis_benchmark_ops,
    }
}

/// Store `count` small JSON values under `<prefix><tag>:<i>`, pipelined so setup is quick.
async fn populate(url: &str, prefix: &str, tag: &str, count: usize) {
    let client = redis::Client::open(url).expect("redis url");
    let mut connection = client
        .get_multiplexed_async_connection()
        .await
        .expect("redis connection for setup");
    for chunk_start in (0..count).step_by(1000) {
        let mut pipeline = redis::pipe();
        for index in chunk_start..(chunk_start + 1000).min(count) {
            pipeline
                .cmd("SET")
                .arg(format!("{prefix}{tag}:{index}"))
                .arg(br#"{"org":7,"redirect":"/dashboard"}"#)
                .arg("EX")
                .arg(600)
                .ignore();
        }
        let () = pipeline
            .query_async(&mut connection)
            .await
            .expect("populate keys");
    }
}

/// `ops` get-and-deletes of `<tag>:<i>` spread over `tasks` tasks; returns ops/s.
async fn run_getdels(cache: &Cache, tag: &str, tasks: usize, ops: usize) -> f64 {
    let keys: Arc<Vec<String>> = Arc::new((0..ops).map(|i| format!("{tag}:{i}")).collect());
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            let (cache, keys, next) = (cache.clone(), keys.clone(), next.clone());
            tokio::spawn(async move {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(key) = keys.get(index) else { break };
                    cache
                        .getdel_json::<serde_json::Value>(key)
                        .await
                        .expect("getdel_json");
                }
            })
        })
        .collect();
    for handle in handles {
        handle.await.expect("benchmark task");
    }
    ops as f64 / start.elapsed().as_secs_f64()
}

fn available_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Poll a future that never waits (the memory backend's) to completion on this thread.
fn run_ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut context = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
    }
}

fn memory_keys() -> Vec<String> {
    (0..MEMORY_OPS)
        .map(|i| format!("navi:token:bench:{i:016x}"))
        .collect()
}

const VALUE: &[u8] = br#"{"org":7,"redirect":"/dashboard"}"#;

fn memory_backend_rate(threads: usize) -> f64 {
    let keys = memory_keys();
    let backend = MemoryBackend::new(MemoryConfig {
        // Headroom so no shard evicts during setup.
        capacity: MEMORY_OPS * 2,
        shards: 16,
    })
    .expect("memory config");
    timed_threads(
        threads,
        &keys,
        |key| {
            run_ready(backend.set(key, VALUE.to_vec(), Duration::from_secs(600))).expect("set");
        },
        |key| {
            assert!(run_ready(backend.get_del(key)).expect("get_del").is_some());
        },
    )
}

fn bare_map_rate(threads: usize) -> f64 {
    let keys = memory_keys();
    let map: Mutex<HashMap<String, Vec<u8>>> = Mutex::new(HashMap::with_capacity(MEMORY_OPS));
    timed_threads(
        threads,
        &keys,
        |key| {
            map.lock()
                .expect("bare map lock")
                .insert(key.to_owned(), VALUE.to_vec());
        },
        |key| {
            assert!(map.lock().expect("bare map lock").remove(key).is_some());
        },
    )
}

/// Split `keys` into `threads` contiguous ranges. Each thread first runs `setup` on its range
/// (so the values it frees later come from its own allocator arena, as in a server where the
/// request that stores a token is usually served by some worker and frees are spread too), then
/// all threads start `op` together; returns total `op`s per second.
fn timed_threads(
    threads: usize,
    keys: &[String],
    setup: impl Fn(&str) + Sync,
    op: impl Fn(&str) + Sync,
) -> f64 {
    let chunk = keys.len().div_ceil(threads);
    let ready = Barrier::new(threads + 1);
    let elapsed = std::thread::scope(|scope| {
        for part in keys.chunks(chunk) {
            let (setup, op, ready) = (&setup, &op, &ready);
            scope.spawn(move || {
                part.iter().for_each(|key| setup(key));
                ready.wait();
                part.iter().for_each(|key| op(key));
            });
        }
        ready.wait();
        let start = Instant::now();
        // Leaving the scope joins every thread; the closure's end is after all ops finished.
        start
    })
    .elapsed();
    keys.len() as f64 / elapsed.as_secs_f64()
}
