//! The Lua path reached by fallback: a real redis-server that does not know `GETDEL`
//! (`--rename-command GETDEL ""`).

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{raw_command, redis_backend, unique_prefix, Fixture, ThrowawayRedis};
use navi_cache::{Cache, CacheError, GetDelMode, GetDelPath};

fn server_without_getdel() -> ThrowawayRedis {
    ThrowawayRedis::start(&["--rename-command", "GETDEL", ""])
}

async fn fallback_fixture(test: &str) -> Fixture {
    let server = server_without_getdel();
    let backend = redis_backend(&server.url(), GetDelMode::Auto).await;
    Fixture {
        cache: Cache::new(Arc::new(backend), unique_prefix(test)),
        server: Some(server),
    }
}

conformance_suite!(fallback_fixture);

#[tokio::test]
async fn unknown_getdel_switches_to_lua_once_and_counts_it() {
    let server = server_without_getdel();
    let backend = Arc::new(redis_backend(&server.url(), GetDelMode::Auto).await);
    assert_eq!(backend.getdel_path(), GetDelPath::GetDel);
    let cache = Cache::new(backend.clone(), unique_prefix("fallback"));
    cache
        .set_json("a", &"first", Duration::from_secs(60))
        .await
        .unwrap();
    cache
        .set_json("b", &"second", Duration::from_secs(60))
        .await
        .unwrap();

    assert_eq!(
        cache.getdel_json::<String>("a").await.unwrap().as_deref(),
        Some("first")
    );
    assert_eq!(backend.getdel_path(), GetDelPath::Lua);
    assert_eq!(cache.getdel_json::<String>("a").await.unwrap(), None);
    assert_eq!(
        cache.getdel_json::<String>("b").await.unwrap().as_deref(),
        Some("second")
    );

    let metrics = cache.metrics().await;
    assert_eq!(metrics.lua_fallbacks, 1, "the switch happens once per pool");
    assert_eq!(metrics.getdel_for("lua"), 3);
    assert_eq!(metrics.getdel_for("getdel"), 0);
    // GETDEL was tried once; everything after went straight to the script.
    let info: String = raw_command(&server.url(), redis::cmd("INFO").arg("commandstats"))
        .await
        .unwrap();
    assert!(info.contains("cmdstat_evalsha:calls="), "{info}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_pools_racing_after_fallback_consume_each_token_once() {
    let server = server_without_getdel();
    let prefix = unique_prefix("two-pools-fallback");
    let first = Cache::new(
        Arc::new(redis_backend(&server.url(), GetDelMode::Auto).await),
        prefix.clone(),
    );
    let second = Cache::new(
        Arc::new(redis_backend(&server.url(), GetDelMode::Auto).await),
        prefix,
    );
    common::exactly_one_consumer_per_token(&[first.clone(), second.clone()]).await;
    for cache in [first, second] {
        let metrics = cache.metrics().await;
        assert_eq!(metrics.lua_fallbacks, 1);
        assert_eq!(metrics.getdel_for("getdel"), 0);
    }
}

#[tokio::test]
async fn lua_fallback_on_a_list_is_a_wrongtype_error() {
    let server = server_without_getdel();
    let cache = Cache::new(
        Arc::new(redis_backend(&server.url(), GetDelMode::Auto).await),
        unique_prefix("wrongtype-fallback"),
    );
    let key = format!("{}list", cache.key_prefix());
    let _: i64 = raw_command(&server.url(), redis::cmd("LPUSH").arg(&key).arg("x"))
        .await
        .unwrap();
    let err = cache.getdel_json::<String>("list").await.unwrap_err();
    match &err {
        CacheError::Server { code, .. } => assert_eq!(code, "WRONGTYPE"),
        other => panic!("expected WRONGTYPE, got {other:?}"),
    }
    assert_eq!(cache.metrics().await.getdel_for("lua"), 1);
}

#[tokio::test]
async fn forced_getdel_mode_reports_unknown_command_instead_of_falling_back() {
    let server = server_without_getdel();
    let backend = Arc::new(redis_backend(&server.url(), GetDelMode::GetDel).await);
    let cache = Cache::new(backend.clone(), unique_prefix("forced-getdel"));
    cache
        .set_json("a", &1u32, Duration::from_secs(60))
        .await
        .unwrap();
    let err = cache.getdel_json::<u32>("a").await.unwrap_err();
    match &err {
        CacheError::Server { code, message } => {
            assert_eq!(code, "ERR");
            assert!(message.contains("unknown command"), "{message}");
        }
        other => panic!("expected unknown command, got {other:?}"),
    }
    assert_eq!(backend.getdel_path(), GetDelPath::GetDel);
    assert_eq!(cache.metrics().await.lua_fallbacks, 0);
    // The value is untouched.
    assert_eq!(cache.get_json::<u32>("a").await.unwrap(), Some(1));
}
