//! The Lua path forced by configuration (`lua` mode) on the machine's Redis, which has `GETDEL`.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{raw_command, redis_backend, redis_cache, redis_url, unique_prefix, Fixture};
use navi_cache::{Cache, GetDelMode, GetDelPath};

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
    common::two_pools_race("two-pools-lua", GetDelMode::Lua, "lua", "getdel").await;
}

#[tokio::test]
async fn lua_on_a_list_is_a_wrongtype_error_not_a_miss() {
    common::wrongtype_is_an_error_not_a_miss(redis_cache("wrongtype-lua", GetDelMode::Lua).await)
        .await;
}
