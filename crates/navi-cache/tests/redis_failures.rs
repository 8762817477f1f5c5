//! Redis failures: a stopped server, startup choices, ACL refusals, a demoted primary, lost
//! replies, and `WAIT` after consume. Each test runs its own throwaway redis-server.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{free_port, raw_command, redis_backend, unique_prefix, ThrowawayRedis};
use navi_cache::{
    BackendKind, Cache, CacheBackend, CacheConfig, CacheError, CacheFallback, ConsumeWait,
    GetDelMode, GetDelPath, RedisBackend, RedisConfig, TokenPurpose,
};

fn assert_unavailable<T: std::fmt::Debug>(result: Result<T, CacheError>) {
    match result {
        Err(CacheError::Unavailable(_)) => {}
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

fn unreachable_url() -> String {
    format!("redis://127.0.0.1:{}", free_port())
}

#[tokio::test]
async fn stopped_server_gives_unavailable() {
    let mut server = ThrowawayRedis::start(&[]);
    let backend = Arc::new(redis_backend(&server.url(), GetDelMode::Auto).await);
    let cache = Cache::new(backend.clone(), unique_prefix("stopped"));
    cache
        .set_json("a", &1u32, Duration::from_secs(60))
        .await
        .unwrap();
    server.stop();

    assert_unavailable(cache.getdel_json::<u32>("a").await);
    assert_unavailable(cache.get_json::<u32>("a").await);
    assert_unavailable(cache.set_json("a", &1u32, Duration::from_secs(60)).await);
    assert_unavailable(cache.delete("a").await);
    assert_unavailable(cache.ping().await);
    let purpose = TokenPurpose::parse("sso_state").unwrap();
    assert_unavailable(
        cache
            .issue_token(&purpose, &1u32, Duration::from_secs(60))
            .await,
    );
    assert_unavailable(cache.consume_token::<u32>(&purpose, "whatever").await);
    // Metrics still answer, without Redis's own numbers.
    let metrics = cache.metrics().await;
    assert_eq!(metrics.redis_evicted_keys, None);
    assert!(metrics.requests_for("getdel", "error") >= 2);
}

#[tokio::test]
async fn server_never_started_gives_unavailable() {
    let backend = RedisBackend::new(&RedisConfig::new(unreachable_url())).unwrap();
    let cache = Cache::new(Arc::new(backend), "navi:");
    assert_unavailable(cache.getdel_json::<u32>("a").await);
    assert_unavailable(cache.ping().await);
}

#[tokio::test]
async fn connect_without_redis_uses_memory() {
    let cache = Cache::connect(CacheConfig::default()).await.unwrap();
    assert_eq!(cache.backend_kind(), BackendKind::Memory);
    cache.ping().await.unwrap();
}

#[tokio::test]
async fn connect_to_a_down_redis_fails_closed_by_default() {
    let config = CacheConfig {
        redis: Some(RedisConfig::new(unreachable_url())),
        ..CacheConfig::default()
    };
    let cache = Cache::connect(config).await.unwrap();
    assert_eq!(cache.backend_kind(), BackendKind::Redis);
    assert_unavailable(cache.ping().await);
    assert_unavailable(cache.set_json("a", &1u32, Duration::from_secs(60)).await);
    assert_unavailable(cache.getdel_json::<u32>("a").await);
}

#[tokio::test]
async fn connect_to_a_down_redis_with_memory_fallback_uses_memory() {
    let config = CacheConfig {
        redis: Some(RedisConfig::new(unreachable_url())),
        fallback: "memory".parse().unwrap(),
        ..CacheConfig::default()
    };
    let cache = Cache::connect(config).await.unwrap();
    assert_eq!(cache.backend_kind(), BackendKind::Memory);
    let purpose = TokenPurpose::parse("sso_state").unwrap();
    let token = cache
        .issue_token(&purpose, &5u32, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(
        cache
            .consume_token::<u32>(&purpose, token.as_str())
            .await
            .unwrap(),
        Some(5)
    );
    assert_eq!(
        cache
            .consume_token::<u32>(&purpose, token.as_str())
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn connect_to_a_live_redis_uses_it_even_with_a_fallback_configured() {
    let server = ThrowawayRedis::start(&[]);
    let config = CacheConfig {
        redis: Some(RedisConfig::new(server.url())),
        fallback: CacheFallback::Memory,
        ..CacheConfig::default()
    };
    let cache = Cache::connect(config).await.unwrap();
    assert_eq!(cache.backend_kind(), BackendKind::Redis);
    cache.ping().await.unwrap();
}

#[tokio::test]
async fn connect_with_a_malformed_url_is_invalid() {
    let config = CacheConfig {
        redis: Some(RedisConfig::new("not a url")),
        fallback: CacheFallback::Memory,
        ..CacheConfig::default()
    };
    let err = Cache::connect(config).await.unwrap_err();
    assert!(matches!(err, CacheError::Invalid(_)), "got {err:?}");
}

#[test]
fn fallback_setting_parses_operator_spellings() {
    assert_eq!(
        "memory".parse::<CacheFallback>().unwrap(),
        CacheFallback::Memory
    );
    assert_eq!(
        "".parse::<CacheFallback>().unwrap(),
        CacheFallback::Disabled
    );
    assert_eq!(
        "None".parse::<CacheFallback>().unwrap(),
        CacheFallback::Disabled
    );
    assert!("redis".parse::<CacheFallback>().is_err());
}

#[tokio::test]
async fn acl_refusal_is_an_error_not_a_reason_to_fall_back() {
    let server = ThrowawayRedis::start(&[]);
    let _: () = raw_command(
        &server.url(),
        redis::cmd("ACL")
            .arg("SETUSER")
            .arg("navi")
            .arg("on")
            .arg(">secret")
            .arg("~*")
            .arg("+@all")
            .arg("-getdel"),
    )
    .await
    .unwrap();
    let url = format!("redis://navi:secret@127.0.0.1:{}", server.port);
    let backend = Arc::new(redis_backend(&url, GetDelMode::Auto).await);
    let cache = Cache::new(backend.clone(), unique_prefix("noperm"));
    cache
        .set_json("a", &1u32, Duration::from_secs(60))
        .await
        .unwrap();
    let err = cache.getdel_json::<u32>("a").await.unwrap_err();
    match &err {
        CacheError::Server { code, .. } => assert_eq!(code, "NOPERM"),
        other => panic!("expected NOPERM, got {other:?}"),
    }
    assert_eq!(backend.getdel_path(), GetDelPath::GetDel);
    assert_eq!(cache.metrics().await.lua_fallbacks, 0);
    assert_eq!(cache.get_json::<u32>("a").await.unwrap(), Some(1));
}

/// Wait until `replica` reports a live link to its primary.
async fn wait_for_replication(replica: &ThrowawayRedis) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let info: String = raw_command(&replica.url(), redis::cmd("INFO").arg("replication"))
            .await
            .unwrap();
        if info.contains("master_link_status:up") {
            return;
        }
        assert!(Instant::now() < deadline, "replica never synced: {info}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn readonly_replica_is_an_error_and_its_connection_is_dropped() {
    let primary = ThrowawayRedis::start(&[]);
    let replica_port = primary.port.to_string();
    let replica = ThrowawayRedis::start(&["--replicaof", "127.0.0.1", &replica_port]);
    wait_for_replication(&replica).await;

    for mode in [GetDelMode::GetDel, GetDelMode::Lua] {
        let backend = Arc::new(redis_backend(&replica.url(), mode).await);
        let cache = Cache::new(backend.clone(), unique_prefix("readonly"));
        assert_eq!(backend.open_connections(), 1);
        // Present on the replica, so the Lua path reaches its DEL (a script that only reads
        // runs fine on a replica).
        let key = format!("{}a", cache.key_prefix());
        let _: () = raw_command(&primary.url(), redis::cmd("SET").arg(&key).arg("1"))
            .await
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while cache.get_json::<u32>("a").await.unwrap().is_none() {
            assert!(Instant::now() < deadline, "key never replicated");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let err = cache.getdel_json::<u32>("a").await.unwrap_err();
        match &err {
            CacheError::Server { code, .. } => assert_eq!(code, "READONLY", "{mode}"),
            other => panic!("expected READONLY on {mode}, got {other:?}"),
        }
        assert_eq!(
            backend.open_connections(),
            0,
            "READONLY connection kept in the pool"
        );
        let err = cache
            .set_json("a", &1u32, Duration::from_secs(60))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, CacheError::Server { code, .. } if code == "READONLY"),
            "{err:?}"
        );
        // Reads on a replica still work, and keep their connection; the value is untouched.
        assert_eq!(cache.get_json::<u32>("a").await.unwrap(), Some(1));
        assert_eq!(backend.open_connections(), 1);
    }
}

#[tokio::test]
async fn lost_reply_is_an_error_and_never_retried() {
    let server = ThrowawayRedis::start(&[]);
    let mut config = RedisConfig::new(server.url());
    config.getdel_mode = GetDelMode::GetDel;
    config.response_timeout = Duration::from_millis(300);
    let backend = Arc::new(RedisBackend::new(&config).unwrap());
    let cache = Cache::new(backend.clone(), unique_prefix("lost-reply"));
    cache
        .set_json("a", &1u32, Duration::from_secs(60))
        .await
        .unwrap();

    // Hold every write for longer than the response timeout: the GETDEL is sent, its reply
    // never arrives in time.
    let _: () = raw_command(
        &server.url(),
        redis::cmd("CLIENT").arg("PAUSE").arg(2000).arg("WRITE"),
    )
    .await
    .unwrap();
    assert_unavailable(cache.getdel_json::<u32>("a").await);
    assert_eq!(
        backend.open_connections(),
        0,
        "a connection with a lost reply was kept"
    );
    let _: () = raw_command(&server.url(), redis::cmd("CLIENT").arg("UNPAUSE"))
        .await
        .unwrap();

    // The server saw at most the one GETDEL we sent: no retry.
    let info: String = raw_command(&server.url(), redis::cmd("INFO").arg("commandstats"))
        .await
        .unwrap();
    let getdel_calls = info
        .lines()
        .find_map(|line| line.strip_prefix("cmdstat_getdel:calls="))
        .map_or(0, |rest| {
            rest.split(',').next().unwrap().parse::<u64>().unwrap()
        });
    assert!(getdel_calls <= 1, "GETDEL ran {getdel_calls} times: {info}");
    assert_eq!(cache.metrics().await.getdel_for("getdel"), 1);
}

#[tokio::test]
async fn wait_without_enough_replicas_reports_not_replicated_and_the_token_stays_spent() {
    let server = ThrowawayRedis::start(&[]);
    let mut config = RedisConfig::new(server.url());
    config.consume_wait = Some(ConsumeWait {
        replicas: 1,
        timeout: Duration::from_millis(100),
    });
    let cache = Cache::new(
        Arc::new(RedisBackend::new(&config).unwrap()),
        unique_prefix("wait"),
    );
    let purpose = TokenPurpose::parse("sso_state").unwrap();
    let token = cache
        .issue_token(&purpose, &1u32, Duration::from_secs(60))
        .await
        .unwrap();
    let err = cache
        .consume_token::<u32>(&purpose, token.as_str())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            CacheError::NotReplicated {
                acknowledged: 0,
                required: 1
            }
        ),
        "got {err:?}"
    );
    assert!(err.is_unavailable());
    assert_eq!(
        cache
            .consume_token::<u32>(&purpose, token.as_str())
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn wait_with_a_live_replica_confirms_the_consume() {
    let primary = ThrowawayRedis::start(&[]);
    let primary_port = primary.port.to_string();
    let replica = ThrowawayRedis::start(&["--replicaof", "127.0.0.1", &primary_port]);
    wait_for_replication(&replica).await;

    let mut config = RedisConfig::new(primary.url());
    config.consume_wait = Some(ConsumeWait {
        replicas: 1,
        timeout: Duration::from_millis(1000),
    });
    let cache = Cache::new(
        Arc::new(RedisBackend::new(&config).unwrap()),
        unique_prefix("wait-ok"),
    );
    let purpose = TokenPurpose::parse("sso_state").unwrap();
    let token = cache
        .issue_token(&purpose, &1u32, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(
        cache
            .consume_token::<u32>(&purpose, token.as_str())
            .await
            .unwrap(),
        Some(1)
    );
    // The delete reached the replica.
    let key = format!(
        "{}{}",
        cache.key_prefix(),
        navi_cache::token_key(&purpose, token.as_str())
    );
    let on_replica: Option<Vec<u8>> = raw_command(&replica.url(), redis::cmd("GET").arg(&key))
        .await
        .unwrap();
    assert_eq!(on_replica, None);
}

#[test]
fn wait_longer_than_the_response_timeout_is_refused() {
    let mut config = RedisConfig::new("redis://127.0.0.1:6379");
    config.consume_wait = Some(ConsumeWait {
        replicas: 1,
        timeout: config.response_timeout,
    });
    assert!(matches!(
        RedisBackend::new(&config),
        Err(CacheError::Invalid(_))
    ));
    config.consume_wait = Some(ConsumeWait {
        replicas: 0,
        timeout: Duration::from_millis(10),
    });
    assert!(matches!(
        RedisBackend::new(&config),
        Err(CacheError::Invalid(_))
    ));
}

#[tokio::test]
async fn redis_evicted_keys_are_read_from_info() {
    let server =
        ThrowawayRedis::start(&["--maxmemory", "2mb", "--maxmemory-policy", "allkeys-random"]);
    let backend = Arc::new(redis_backend(&server.url(), GetDelMode::Auto).await);
    let cache = Cache::new(backend.clone(), unique_prefix("evicted"));
    let big = "x".repeat(10_000);
    for index in 0..600 {
        cache
            .set_json(&format!("k{index}"), &big, Duration::from_secs(60))
            .await
            .unwrap();
    }
    let metrics = cache.metrics().await;
    let evicted = metrics.redis_evicted_keys.expect("evicted_keys read");
    assert!(evicted > 0, "6 MB into a 2 MB server evicted nothing?");
    assert_eq!(metrics.evictions_total(), evicted);
    assert!(backend.stats().await.redis_evicted_keys.is_some());
}

/// Rate-limit decisions share one multiplexed connection: when the server goes away they fail
/// as Unavailable, and once it is back (same address) they work again on a fresh connection.
#[tokio::test]
async fn rate_decisions_come_back_with_the_server() {
    let mut server = ThrowawayRedis::start(&[]);
    let port = server.port.to_string();
    let backend = Arc::new(redis_backend(&server.url(), GetDelMode::Auto).await);
    let cache = Cache::new(backend, unique_prefix("rate-back"));
    let rate = navi_cache::Rate::new(10, Duration::from_secs(60)).unwrap();
    assert!(cache.admit("k", &rate, 1).await.unwrap().allowed);
    server.stop();
    assert_unavailable(cache.admit("k", &rate, 1).await);

    let dir = tempfile::tempdir().unwrap();
    let mut again = std::process::Command::new("redis-server")
        .args([
            "--port",
            &port,
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .arg("--dir")
        .arg(dir.path())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("redis-server starts again");
    let deadline = Instant::now() + Duration::from_secs(10);
    let decision = loop {
        match cache.admit("k", &rate, 1).await {
            Ok(decision) => break decision,
            Err(CacheError::Unavailable(_)) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(other) => panic!("decisions did not come back: {other:?}"),
        }
    };
    // A new, empty server: the bucket starts full again.
    assert!(decision.allowed);
    assert_eq!(decision.remaining, 9);
    let _ = again.kill();
    let _ = again.wait();
}
