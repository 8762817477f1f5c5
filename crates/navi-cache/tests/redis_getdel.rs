//! The `GETDEL` path on the machine's Redis: the conformance suite, two pools racing, path
//! counters, and errors that must not be swallowed.

mod common;

use std::time::Duration;

use common::{redis_backend, redis_cache, redis_url, Fixture};
use navi_cache::{GetDelMode, GetDelPath};

async fn getdel_fixture(test: &str) -> Fixture {
    Fixture {
        cache: redis_cache(test, GetDelMode::Auto).await,
        server: None,
    }
}

conformance_suite!(getdel_fixture);

#[tokio::test]
async fn getdel_path_is_used_and_counted_on_a_modern_server() {
    let cache = redis_cache("path", GetDelMode::Auto).await;
    cache
        .set_json("a", &"v", Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(
        cache.getdel_json::<String>("a").await.unwrap().as_deref(),
        Some("v")
    );
    assert_eq!(cache.getdel_json::<String>("a").await.unwrap(), None);
    let metrics = cache.metrics().await;
    assert_eq!(metrics.getdel_for("getdel"), 2);
    assert_eq!(metrics.getdel_for("lua"), 0);
    assert_eq!(metrics.lua_fallbacks, 0);
    assert!(
        metrics.redis_evicted_keys.is_some(),
        "INFO stats evicted_keys not read"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_pools_racing_consume_each_token_once() {
    common::two_pools_race("two-pools", GetDelMode::Auto, "getdel", "lua").await;
}

#[tokio::test]
async fn getdel_on_a_list_is_a_wrongtype_error_not_a_miss() {
    let cache =
        common::wrongtype_is_an_error_not_a_miss(redis_cache("wrongtype", GetDelMode::Auto).await)
            .await;
    // No silent fallback: the pool is still on GETDEL, and the list is untouched.
    let redis_backend = redis_backend(&redis_url(), GetDelMode::Auto).await;
    assert_eq!(redis_backend.getdel_path(), GetDelPath::GetDel);
    let metrics = cache.metrics().await;
    assert_eq!(metrics.lua_fallbacks, 0);
    assert_eq!(metrics.requests_for("getdel", "error"), 1);
}
