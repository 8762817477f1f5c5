//! Helpers shared by the integration tests: the machine's Redis, throwaway redis-servers, and the
//! conformance suite every backend runs.
#![allow(dead_code)] // Each test binary uses a different subset.

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use navi_cache::{
    Cache, CacheBackend, CacheError, GetDelMode, Rate, RedisBackend, RedisConfig, TokenPurpose,
};
use ring::rand::{SecureRandom, SystemRandom};

/// The Redis tests run against: `NAVI_TEST_REDIS_URL`, default `redis://127.0.0.1:6379`.
pub fn redis_url() -> String {
    std::env::var("NAVI_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A key prefix no other test (or run) uses.
pub fn unique_prefix(test: &str) -> String {
    let mut bytes = [0u8; 8];
    SystemRandom::new().fill(&mut bytes).unwrap();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("navi-test:{test}:{hex}:")
}

/// A Redis backend on `url`, failing the test with a clear message if Redis is not there.
pub async fn redis_backend(url: &str, mode: GetDelMode) -> RedisBackend {
    let mut config = RedisConfig::new(url);
    config.getdel_mode = mode;
    // The race tests queue thousands of requests on purpose; they test single use, not shedding
    // load, and a debug build on a busy machine is slow.
    config.pool_wait_timeout = Duration::from_secs(60);
    let backend = RedisBackend::new(&config).expect("valid redis config");
    if let Err(err) = backend.ping().await {
        panic!(
            "Redis is required for this test and is not reachable at {url}: {err}. \
             Start it (redis-server --daemonize yes --port 6379 --save \"\" --appendonly no) \
             or set NAVI_TEST_REDIS_URL."
        );
    }
    backend
}

/// A cache over the machine's Redis with its own key prefix.
pub async fn redis_cache(test: &str, mode: GetDelMode) -> Cache {
    let backend = redis_backend(&redis_url(), mode).await;
    Cache::new(Arc::new(backend), unique_prefix(test))
}

/// A cache and whatever must outlive it (a throwaway server).
#[derive(Debug)]
pub struct Fixture {
    pub cache: Cache,
    pub server: Option<ThrowawayRedis>,
}

/// A throwaway redis-server on a free port, killed (and reaped) on drop.
#[derive(Debug)]
pub struct ThrowawayRedis {
    child: Child,
    pub port: u16,
    /// The server's working directory: a replica writes the RDB it receives there.
    _dir: tempfile::TempDir,
}

impl ThrowawayRedis {
    /// Start `redis-server` with no persistence and `extra` arguments, and wait until it accepts
    /// connections. A free port can be taken by another process (another test binary, another
    /// checkout's run) before the server binds it: then the server exits, or the port answers with
    /// someone else's server. Either way this starts again on another port.
    pub fn start(extra: &[&str]) -> Self {
        for _attempt in 0..5 {
            if let Some(server) = Self::try_start(extra) {
                return server;
            }
        }
        panic!("could not start a throwaway redis-server on a free port in 5 attempts");
    }

    fn try_start(extra: &[&str]) -> Option<Self> {
        let port = free_port();
        let dir = tempfile::tempdir().expect("temporary directory for redis-server");
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(dir.path())
            .args(["--save", "", "--appendonly", "no"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|err| {
                panic!(
                    "cannot start redis-server (is it installed at /usr/bin/redis-server?): {err}"
                )
            });
        let mut server = Self {
            child,
            port,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if server.child.try_wait().ok().flatten().is_some() {
                return None;
            }
            if let Some(pid) = server_pid(port) {
                return (pid == server.child.id()).then_some(server);
            }
            assert!(
                Instant::now() < deadline,
                "throwaway redis-server on port {port} did not start within 10 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Stop the server now (the drop then has nothing left to do).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ThrowawayRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The `process_id` of the Redis server answering on `port`, if one answers.
fn server_pid(port: u16) -> Option<u32> {
    use std::io::{Read, Write};
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    stream.write_all(b"INFO server\r\n").ok()?;
    let mut reply = Vec::new();
    let mut buffer = [0u8; 4096];
    while !String::from_utf8_lossy(&reply).contains("process_id:") || !reply.ends_with(b"\r\n") {
        let read = stream.read(&mut buffer).ok()?;
        if read == 0 {
            break;
        }
        reply.extend_from_slice(&buffer[..read]);
    }
    let reply = String::from_utf8_lossy(&reply);
    let line = reply.lines().find(|line| line.starts_with("process_id:"))?;
    line["process_id:".len()..].trim().parse().ok()
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local address").port()
}

/// Run one raw command on `url` (test setup only: LPUSH, ACL, INFO ...).
pub async fn raw_command<T: redis::FromRedisValue>(
    url: &str,
    command: &redis::Cmd,
) -> redis::RedisResult<T> {
    let client = redis::Client::open(url)?;
    let mut connection = client.get_multiplexed_async_connection().await?;
    command.query_async(&mut connection).await
}

/// `N` tokens, each consumed by `CONSUMERS` concurrent tasks spread over `caches` (several caches
/// = several pools = several "instances"): exactly one consumer per token gets its payload.
pub async fn exactly_one_consumer_per_token(caches: &[Cache]) {
    const TOKENS: usize = 10_000;
    const CONSUMERS: usize = 16;
    const BATCH: usize = 500;
    let purpose = TokenPurpose::parse("race").unwrap();
    let ttl = Duration::from_secs(300);

    for batch_start in (0..TOKENS).step_by(BATCH) {
        let batch: Vec<usize> = (batch_start..(batch_start + BATCH).min(TOKENS)).collect();
        let mut issued = Vec::with_capacity(batch.len());
        for &index in &batch {
            let token = caches[0].issue_token(&purpose, &index, ttl).await.unwrap();
            issued.push((index, token.into_string()));
        }
        let mut tasks = Vec::with_capacity(issued.len() * CONSUMERS);
        for (index, token) in &issued {
            for consumer in 0..CONSUMERS {
                let cache = caches[consumer % caches.len()].clone();
                let purpose = purpose.clone();
                let token = token.clone();
                let index = *index;
                tasks.push(tokio::spawn(async move {
                    let consumed: Option<usize> = cache
                        .consume_token(&purpose, &token)
                        .await
                        .unwrap_or_else(|err| panic!("consume of token {index} failed: {err}"));
                    (index, consumed)
                }));
            }
        }
        let mut successes = vec![0usize; batch.len()];
        for task in futures_util::future::join_all(tasks).await {
            let (index, consumed) = task.expect("consumer task panicked");
            if let Some(payload) = consumed {
                assert_eq!(payload, index, "a token returned another token's payload");
                successes[index - batch_start] += 1;
            }
        }
        for (offset, count) in successes.iter().enumerate() {
            assert_eq!(
                *count,
                1,
                "token {} was consumed {count} times by {CONSUMERS} racing consumers",
                batch_start + offset
            );
        }
    }
}

/// The behaviour every backend must share, one function per behaviour so failures name it.
/// Two separate pools ("instances") in `mode` race to consume the same tokens: each is consumed
/// exactly once, every consume went down `path` and none down the other Redis path.
pub async fn two_pools_race(test: &str, mode: GetDelMode, path: &str, other_path: &str) {
    let prefix = unique_prefix(test);
    let first = Cache::new(
        std::sync::Arc::new(redis_backend(&redis_url(), mode).await),
        prefix.clone(),
    );
    let second = Cache::new(
        std::sync::Arc::new(redis_backend(&redis_url(), mode).await),
        prefix,
    );
    exactly_one_consumer_per_token(&[first.clone(), second.clone()]).await;
    for cache in [first, second] {
        let metrics = cache.metrics().await;
        assert!(metrics.getdel_for(path) > 0);
        assert_eq!(metrics.getdel_for(other_path), 0);
    }
}

/// `getdel_json` on a key holding a list is a WRONGTYPE error, never a miss, and leaves the list
/// alone. Returns the cache for path-specific checks.
pub async fn wrongtype_is_an_error_not_a_miss(cache: Cache) -> Cache {
    let key = format!("{}list", cache.key_prefix());
    let _: i64 = raw_command(&redis_url(), redis::cmd("LPUSH").arg(&key).arg("x"))
        .await
        .unwrap();
    let err = cache.getdel_json::<String>("list").await.unwrap_err();
    match &err {
        CacheError::Server { code, .. } => assert_eq!(code, "WRONGTYPE"),
        other => panic!("expected WRONGTYPE, got {other:?}"),
    }
    let length: i64 = raw_command(&redis_url(), redis::cmd("LLEN").arg(&key))
        .await
        .unwrap();
    assert_eq!(length, 1);
    let _: i64 = raw_command(&redis_url(), redis::cmd("DEL").arg(&key))
        .await
        .unwrap();
    cache
}

pub mod suite {
    use super::*;
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct State {
        pub org: u64,
        pub redirect: String,
    }

    fn state() -> State {
        State {
            org: 7,
            redirect: "/dashboard".to_owned(),
        }
    }

    pub async fn value_set_is_read_back(cache: Cache) {
        cache
            .set_json("a", &state(), Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(cache.get_json::<State>("a").await.unwrap(), Some(state()));
        // A get does not consume.
        assert_eq!(cache.get_json::<State>("a").await.unwrap(), Some(state()));
        assert_eq!(cache.get_json::<State>("missing").await.unwrap(), None);
    }

    pub async fn set_replaces_the_previous_value(cache: Cache) {
        cache
            .set_json("a", &1u32, Duration::from_secs(60))
            .await
            .unwrap();
        cache
            .set_json("a", &2u32, Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(cache.get_json::<u32>("a").await.unwrap(), Some(2));
    }

    pub async fn delete_removes_and_reports(cache: Cache) {
        cache
            .set_json("a", &1u32, Duration::from_secs(60))
            .await
            .unwrap();
        assert!(cache.delete("a").await.unwrap());
        assert!(!cache.delete("a").await.unwrap());
        assert_eq!(cache.get_json::<u32>("a").await.unwrap(), None);
    }

    pub async fn getdel_returns_the_value_once(cache: Cache) {
        cache
            .set_json("a", &state(), Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(
            cache.getdel_json::<State>("a").await.unwrap(),
            Some(state())
        );
        assert_eq!(cache.getdel_json::<State>("a").await.unwrap(), None);
        assert_eq!(cache.get_json::<State>("a").await.unwrap(), None);
        assert_eq!(cache.getdel_json::<State>("never-set").await.unwrap(), None);
    }

    pub async fn zero_ttl_is_refused(cache: Cache) {
        let err = cache
            .set_json("a", &1u32, Duration::ZERO)
            .await
            .unwrap_err();
        assert!(matches!(err, CacheError::Invalid(_)), "got {err:?}");
        assert!(err.to_string().contains("TTL"), "unclear message: {err}");
        let err = cache
            .set_json("a", &1u32, Duration::from_nanos(10))
            .await
            .unwrap_err();
        assert!(matches!(err, CacheError::Invalid(_)), "got {err:?}");
        // Nothing was written.
        assert_eq!(cache.get_json::<u32>("a").await.unwrap(), None);
        // The backend refuses it too when called directly.
        let err = cache
            .backend()
            .set("direct", b"1".to_vec(), Duration::ZERO)
            .await
            .unwrap_err();
        assert!(matches!(err, CacheError::Invalid(_)), "got {err:?}");
    }

    pub async fn value_expires_after_its_ttl(cache: Cache) {
        cache
            .set_json("short", &1u32, Duration::from_secs(1))
            .await
            .unwrap();
        cache
            .set_json("short-getdel", &1u32, Duration::from_secs(1))
            .await
            .unwrap();
        cache
            .set_json("long", &2u32, Duration::from_secs(60))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(cache.get_json::<u32>("short").await.unwrap(), None);
        assert_eq!(
            cache.getdel_json::<u32>("short-getdel").await.unwrap(),
            None
        );
        assert!(!cache.delete("short").await.unwrap());
        assert_eq!(cache.get_json::<u32>("long").await.unwrap(), Some(2));
    }

    pub async fn invalid_json_is_a_decode_error_and_still_deleted(cache: Cache) {
        let key = format!("{}garbage", cache.key_prefix());
        let backend = cache.backend();
        backend
            .set(&key, b"not json{".to_vec(), Duration::from_secs(60))
            .await
            .unwrap();
        let err = cache.getdel_json::<State>("garbage").await.unwrap_err();
        assert!(matches!(err, CacheError::Decode { .. }), "got {err:?}");
        assert!(
            err.to_string().contains("not valid JSON"),
            "unclear message: {err}"
        );
        assert_eq!(
            backend.get(&key).await.unwrap(),
            None,
            "garbage was not deleted"
        );

        // Valid JSON of the wrong shape is a decode error too, and also deleted.
        cache
            .set_json("wrong-shape", &[1, 2, 3], Duration::from_secs(60))
            .await
            .unwrap();
        let err = cache.getdel_json::<State>("wrong-shape").await.unwrap_err();
        assert!(matches!(err, CacheError::Decode { .. }), "got {err:?}");
        assert_eq!(
            cache
                .get_json::<serde_json::Value>("wrong-shape")
                .await
                .unwrap(),
            None
        );
    }

    pub async fn token_is_consumed_once_and_only_for_its_purpose(cache: Cache) {
        let sso = TokenPurpose::parse("sso_state").unwrap();
        let invite = TokenPurpose::parse("invite").unwrap();
        let token = cache
            .issue_token(&sso, &state(), Duration::from_secs(60))
            .await
            .unwrap();
        assert!(token.as_str().len() >= 22, "token shorter than 128 bits");
        assert!(token
            .as_str()
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_eq!(format!("{token:?}"), "Token([redacted])");
        // Stored under the hash: the token text is not a key, nor part of one.
        let stored_key = format!(
            "{}{}",
            cache.key_prefix(),
            navi_cache::token_key(&sso, token.as_str())
        );
        assert!(!stored_key.contains(token.as_str()));
        assert!(cache.backend().get(&stored_key).await.unwrap().is_some());

        assert_eq!(
            cache
                .consume_token::<State>(&invite, token.as_str())
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            cache
                .consume_token::<State>(&sso, token.as_str())
                .await
                .unwrap(),
            Some(state())
        );
        assert_eq!(
            cache
                .consume_token::<State>(&sso, token.as_str())
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            cache.consume_token::<State>(&sso, "made-up").await.unwrap(),
            None
        );
    }

    pub async fn tokens_are_distinct(cache: Cache) {
        let purpose = TokenPurpose::parse("distinct").unwrap();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            let token = cache
                .issue_token(&purpose, &(), Duration::from_secs(60))
                .await
                .unwrap();
            assert!(seen.insert(token.into_string()), "token repeated");
        }
    }

    pub async fn count_counts_each_key_in_a_fixed_window(cache: Cache) {
        let window = Duration::from_secs(1);
        for expected in 1..=3 {
            assert_eq!(cache.count("mails", window).await.unwrap(), expected);
        }
        assert_eq!(cache.count("other", window).await.unwrap(), 1);
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(
            cache.count("mails", window).await.unwrap(),
            1,
            "a new window starts from one"
        );
        let err = cache.count("mails", Duration::ZERO).await.unwrap_err();
        assert!(matches!(err, CacheError::Invalid(_)), "got {err:?}");
        cache
            .set_json("not-a-counter", &"text", Duration::from_secs(60))
            .await
            .unwrap();
        assert!(cache
            .count("not-a-counter", Duration::from_secs(60))
            .await
            .is_err());
        assert_eq!(cache.metrics().await.requests_for("count", "ok"), 5);
    }

    pub async fn concurrent_counts_are_each_counted_once(cache: Cache) {
        let counts = futures_util::future::join_all(
            (0..64).map(|_| cache.count("shared", Duration::from_secs(60))),
        )
        .await;
        let mut counts: Vec<u64> = counts.into_iter().map(Result::unwrap).collect();
        counts.sort_unstable();
        assert_eq!(counts, (1..=64).collect::<Vec<u64>>());
    }

    /// The exact GCRA, written out independently: the TAT in 1/quota µs, in u128.
    struct Reference {
        tat: u128,
    }

    impl Reference {
        fn decide(
            &mut self,
            quota: u64,
            window_us: u64,
            cells: u64,
            now_us: u64,
        ) -> (bool, u64, u64, u64) {
            let (q, w) = (u128::from(quota), u128::from(window_us));
            let now = u128::from(now_us) * q;
            let tat = self.tat.max(now);
            let wanted = tat + u128::from(cells) * w;
            let allowed = wanted <= now + w * q;
            if allowed {
                self.tat = wanted;
            }
            let used = if allowed { wanted } else { tat } - now;
            let retry = if allowed {
                0
            } else {
                (wanted - now - w * q).div_ceil(q)
            };
            (
                allowed,
                ((w * q - used) / w) as u64,
                used.div_ceil(q) as u64,
                retry as u64,
            )
        }
    }

    pub async fn admissions_match_a_reference_on_a_fixed_schedule(cache: Cache) {
        let rates = [
            (7, Duration::from_secs(60)),
            (1000, Duration::from_secs(1)),
            (navi_cache::rate::MAX_QUOTA, Duration::from_secs(3600)),
        ];
        for (index, (quota, window)) in rates.into_iter().enumerate() {
            let rate = Rate::new(quota, window).unwrap();
            let key = format!("schedule-{index}");
            let mut reference = Reference { tat: 0 };
            // A fixed pseudo-random schedule (an LCG), so a failure replays.
            let mut seed: u64 = 0x9e37_79b9_7f4a_7c15 ^ quota;
            let mut next = |bound: u64| {
                seed = seed
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                (seed >> 11) % bound
            };
            let mut now_us: u64 = 1_796_000_000_000_000;
            let step_bound = window.as_micros() as u64 / quota.min(20);
            let mut outcomes = [0u32; 2];
            for arrival in 0..300 {
                now_us += next(step_bound.max(1));
                let cells = 1 + next(quota.div_ceil(3));
                let decision = cache.admit_at(&key, &rate, cells, now_us).await.unwrap();
                let (allowed, remaining, reset_us, retry_us) =
                    reference.decide(quota, window.as_micros() as u64, cells, now_us);
                assert_eq!(
                    (
                        decision.allowed,
                        decision.remaining,
                        decision.reset_after.as_micros() as u64,
                        decision.retry_after.as_micros() as u64,
                    ),
                    (allowed, remaining, reset_us, retry_us),
                    "rate {quota}/{window:?}, arrival {arrival}: {cells} cells at {now_us}"
                );
                outcomes[usize::from(allowed)] += 1;
            }
            assert!(
                outcomes[0] > 10 && outcomes[1] > 10,
                "the schedule must both admit and refuse: {outcomes:?} for {quota}/{window:?}"
            );
        }
    }

    pub async fn concurrent_decisions_admit_exactly_the_quota(cache: Cache) {
        let rate = Rate::new(50, Duration::from_secs(60)).unwrap();
        let now_us = 1_796_000_000_000_000;
        let decisions = futures_util::future::join_all(
            (0..200).map(|_| cache.admit_at("crowd", &rate, 1, now_us)),
        )
        .await;
        let admitted = decisions
            .into_iter()
            .filter(|decision| decision.as_ref().unwrap().allowed)
            .count();
        assert_eq!(admitted, 50);
        // A decision on the backend's own clock: a fresh key admits its quota, then refuses.
        let small = Rate::new(3, Duration::from_secs(60)).unwrap();
        for _ in 0..3 {
            assert!(cache.admit("clock", &small, 1).await.unwrap().allowed);
        }
        let refused = cache.admit("clock", &small, 1).await.unwrap();
        assert!(!refused.allowed);
        assert!(
            refused.retry_after > Duration::ZERO && refused.retry_after <= Duration::from_secs(20)
        );
        let err = cache.admit("clock", &small, 4).await.unwrap_err();
        assert!(matches!(err, CacheError::Invalid(_)), "got {err:?}");
    }

    /// A decision over two buckets is counted in both or in neither, and says which refused.
    pub async fn a_decision_over_two_buckets_counts_in_both_or_neither(cache: Cache) {
        let now_us = 1_796_000_000_000_000;
        let minute = Duration::from_secs(60);
        let (three, two) = (Rate::new(3, minute).unwrap(), Rate::new(2, minute).unwrap());
        let both = [("key", &three, 1), ("org", &two, 1)];
        for _ in 0..2 {
            let decisions = cache.admit_all_at(&both, now_us).await.unwrap();
            assert!(decisions.iter().all(|decision| decision.allowed));
        }
        let refused = cache.admit_all_at(&both, now_us).await.unwrap();
        assert!(refused[0].allowed, "the key alone would admit it");
        assert_eq!(refused[0].remaining, 1);
        assert!(!refused[1].allowed, "the org refuses");
        assert!(refused[1].retry_after > Duration::ZERO);
        // The refusal counted nothing in the key's bucket: its last cell is still there.
        let alone = cache.admit_at("key", &three, 1, now_us).await.unwrap();
        assert!(alone.allowed);
        assert_eq!(alone.remaining, 0);
        let err = cache
            .admit_all_at(&[("key", &three, 1), ("key", &three, 1)], now_us)
            .await
            .unwrap_err();
        assert!(matches!(err, CacheError::Invalid(_)), "got {err:?}");
    }

    /// On the backend's clock, concurrent decisions over two buckets (batched on Redis) admit
    /// exactly what the tighter one allows, and count it in both.
    pub async fn concurrent_decisions_over_two_buckets_count_in_both(cache: Cache) {
        let day = Duration::from_secs(24 * 3600);
        let (fifty, eighty) = (Rate::new(50, day).unwrap(), Rate::new(80, day).unwrap());
        let both = [("tight", &fifty, 1), ("loose", &eighty, 1)];
        let decisions =
            futures_util::future::join_all((0..200).map(|_| cache.admit_all(&both))).await;
        let admitted = decisions
            .iter()
            .filter(|decision| decision.as_ref().unwrap().iter().all(|d| d.allowed))
            .count();
        assert_eq!(admitted, 50);
        let loose = cache.admit("loose", &eighty, 30).await.unwrap();
        assert!(loose.allowed, "30 of 80 left");
        assert_eq!(loose.remaining, 0);
    }

    /// A bucket keeps its state when the quota it is decided under changes: a full bucket is not
    /// a fresh one at a lower or a higher quota, and a remainder counted in another quota's units
    /// costs at most a microsecond.
    pub async fn a_bucket_keeps_its_state_across_quota_changes(cache: Cache) {
        let now_us = 1_796_000_000_000_000;
        let minute = Duration::from_secs(60);
        let ten = Rate::new(10, minute).unwrap();
        for _ in 0..10 {
            assert!(cache.admit_at("q", &ten, 1, now_us).await.unwrap().allowed);
        }
        for quota in [5, 10, 20, 1_000_000] {
            let rate = Rate::new(quota, minute).unwrap();
            let decision = cache.admit_at("q", &rate, 1, now_us).await.unwrap();
            assert!(!decision.allowed, "a full bucket at quota {quota}");
        }
        // 7 a minute leaves a remainder (a cell is 8,571,428 4/7 µs): decided at 3 a minute
        // afterwards, the bucket is one microsecond stricter, never looser.
        let seven = Rate::new(7, minute).unwrap();
        assert!(
            cache
                .admit_at("r", &seven, 1, now_us)
                .await
                .unwrap()
                .allowed
        );
        let three = Rate::new(3, minute).unwrap();
        let decision = cache.admit_at("r", &three, 1, now_us).await.unwrap();
        assert!(decision.allowed);
        assert_eq!(
            decision.reset_after,
            Duration::from_micros(8_571_429 + 20_000_000)
        );
    }

    /// On the backend's own clock, concurrent decisions on one bucket (which the Redis backend
    /// sends to Redis in batches) admit exactly the quota, each admitted one seeing its own
    /// place: the remaining counts of the admitted are 49 down to 0, once each.
    pub async fn concurrent_decisions_on_the_clock_each_get_their_own_answer(cache: Cache) {
        let rate = Rate::new(50, Duration::from_secs(24 * 3600)).unwrap();
        let decisions =
            futures_util::future::join_all((0..200).map(|_| cache.admit("crowd-live", &rate, 1)))
                .await;
        let mut remaining: Vec<u64> = decisions
            .iter()
            .map(|decision| decision.as_ref().unwrap())
            .filter(|decision| decision.allowed)
            .map(|decision| decision.remaining)
            .collect();
        remaining.sort_unstable();
        assert_eq!(remaining, (0..50).collect::<Vec<_>>());
        for refused in decisions
            .iter()
            .map(|d| d.as_ref().unwrap())
            .filter(|d| !d.allowed)
        {
            assert_eq!(refused.remaining, 0);
            assert!(refused.retry_after > Duration::ZERO);
        }
    }

    pub async fn requests_are_counted_by_op_and_result(cache: Cache) {
        cache
            .set_json("a", &1u32, Duration::from_secs(60))
            .await
            .unwrap();
        cache.get_json::<u32>("a").await.unwrap();
        cache.get_json::<u32>("b").await.unwrap();
        cache.getdel_json::<u32>("a").await.unwrap();
        cache.getdel_json::<u32>("a").await.unwrap();
        cache.delete("a").await.unwrap();
        let _ = cache.set_json("a", &1u32, Duration::ZERO).await;
        let metrics = cache.metrics().await;
        assert_eq!(metrics.requests_for("set", "ok"), 1);
        assert_eq!(metrics.requests_for("set", "error"), 1);
        assert_eq!(metrics.requests_for("get", "hit"), 1);
        assert_eq!(metrics.requests_for("get", "miss"), 1);
        assert_eq!(metrics.requests_for("getdel", "hit"), 1);
        assert_eq!(metrics.requests_for("getdel", "miss"), 1);
        assert_eq!(metrics.requests_for("delete", "miss"), 1);
        let mut text = String::new();
        metrics.write_prometheus(&mut text);
        assert!(
            text.contains("navi_cache_requests_total{op=\"getdel\",result=\"hit\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("navi_cache_getdel_total{path=\"memory\"}"),
            "{text}"
        );
        assert!(text.contains("navi_cache_evictions_total "), "{text}");
    }
}

/// Emit one `#[tokio::test]` per suite behaviour for a backend, built by `$make` (an async
/// function taking the test name and returning a [`Fixture`]).
#[macro_export]
macro_rules! conformance_suite {
    ($make:expr) => {
        $crate::conformance_suite!(@tests $make;
            value_set_is_read_back,
            set_replaces_the_previous_value,
            delete_removes_and_reports,
            getdel_returns_the_value_once,
            zero_ttl_is_refused,
            value_expires_after_its_ttl,
            invalid_json_is_a_decode_error_and_still_deleted,
            token_is_consumed_once_and_only_for_its_purpose,
            tokens_are_distinct,
            count_counts_each_key_in_a_fixed_window,
            concurrent_counts_are_each_counted_once,
            admissions_match_a_reference_on_a_fixed_schedule,
            concurrent_decisions_admit_exactly_the_quota,
            concurrent_decisions_on_the_clock_each_get_their_own_answer,
            a_bucket_keeps_its_state_across_quota_changes,
            a_decision_over_two_buckets_counts_in_both_or_neither,
            concurrent_decisions_over_two_buckets_count_in_both,
            requests_are_counted_by_op_and_result,
        );

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn ten_thousand_tokens_sixteen_consumers_each_exactly_one_wins() {
            let fixture = $make("race").await;
            $crate::common::exactly_one_consumer_per_token(std::slice::from_ref(&fixture.cache)).await;
        }
    };
    (@tests $make:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                let fixture = $make(stringify!($name)).await;
                $crate::common::suite::$name(fixture.cache.clone()).await;
            }
        )*
    };
}
