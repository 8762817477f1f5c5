//! The Lua path forced by configuration (`lua` mode) on the machine's Redis, which has `GETDEL`.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{raw_command, redis_backend, redis_cache, redis_url, unique_prefix, Fixture};
use navi_cache::{Cache, CacheError, GetDelMode, GetDelPath};

async fn lua_fixture(test: &str) -> Fixture {
    Fixture {
        cache: redis_cache(test, GetDelMode::Lua).await,
        server: None,
    }
}

conformance_suite!(lua_fixture);

#[tokio::test]
async fn forced_lua_mode_uses_the_script_on_a_server_with_getdel() {
    let backend = redis_backend(&redis_url(), GetDelMode::Lua).await;
    assert_eq!(backend.getdel_path(), GetDelPath::Lua);
    let cache = Cache::new(Arc::new(backend), unique_prefix("forced-lua"));
    cache
        .set_json("a", &42u32, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(cache.getdel_json::<u32>("a").await.unwrap(), Some(42));
    assert_eq!(cache.getdel_json::<u32>("a").await.unwrap(), None);
    let metrics = cache.metrics().await;
    assert_eq!(metrics.getdel_for("lua"), 2);
    assert_eq!(metrics.getdel_for("getdel"), 0);
    assert_eq!(metrics.lua_fallbacks, 0, "forcing is not a fallback");
}

#[tokio::test]
async fn script_is_reloaded_after_script_flush() {
    let cache = redis_cache("noscript", GetDelMode::Lua).await;
    cache
        .set_json("a", &1u32, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(cache.getdel_json::<u32>("a").await.unwrap(), Some(1));
    // Another test binary may run SCRIPT FLUSH too; either way the next EVALSHA meets NOSCRIPT.
    let _: () = raw_command(&redis_url(), redis::cmd("SCRIPT").arg("FLUSH"))
        .await
        .unwrap();
    cache
        .set_json("b", &2u32, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(cache.getdel_json::<u32>("b").await.unwrap(), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_pools_racing_on_lua_consume_each_token_once() {
    let prefix = unique_prefix("two-pools-lua");
    let first = Cache::new(
        Arc::new(redis_backend(&redis_url(), GetDelMode::Lua).await),
        prefix.clone(),
    );
    let second = Cache::new(
        Arc::new(redis_backend(&redis_url(), GetDelMode::Lua).await),
        prefix,
    );
    common::exactly_one_consumer_per_token(&[first.clone(), second.clone()]).await;
    for cache in [first, second] {
        let metrics = cache.metrics().await;
        assert!(metrics.getdel_for("lua") > 0);
        assert_eq!(metrics.getdel_for("getdel"), 0);
    }
}

#[tokio::test]
async fn lua_on_a_list_is_a_wrongtype_error_not_a_miss() {
    let cache = redis_cache("wrongtype-lua", GetDelMode::Lua).await;
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
}
