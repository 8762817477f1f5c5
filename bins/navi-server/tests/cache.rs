//! The server's cache: readiness with Redis up and down, the opt-in memory fallback, and
//! `/metrics` with its access rule and metric names.

mod common;

use common::{assert_error_body, config_for, state_with, TestServer};
use navi_cache::CacheFallback;
use navi_tenancy::testing::TestDatabase;

fn redis_url() -> String {
    std::env::var("NAVI_TEST_REDIS_URL")
        .ok()
        .filter(|url| !url.trim().is_empty())
        .unwrap_or_else(|| "redis://127.0.0.1:6379".into())
}

/// Nothing listens on port 1: connections are refused at once.
const DOWN_REDIS: &str = "redis://127.0.0.1:1";

#[actix_web::test]
async fn readyz_checks_a_live_redis() {
    let db = TestDatabase::sqlite();
    let mut config = config_for(&db);
    config.redis_url = Some(redis_url());
    let server = TestServer::start_with(state_with(config).await);
    let (status, body) = server.get("/readyz").await;
    assert_eq!(
        (status, body),
        (200, serde_json::json!({"database": "ok", "cache": "ok"}))
    );
    server.stop().await;
}

#[actix_web::test]
async fn a_configured_redis_that_is_down_fails_closed() {
    let db = TestDatabase::sqlite();
    let mut config = config_for(&db);
    config.redis_url = Some(DOWN_REDIS.into());
    let server = TestServer::start_with(state_with(config).await);
    let (status, body) = server.get("/readyz").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["database"], "ok");
    assert_eq!(body["cache"], "unavailable");
    let error = server
        .state
        .cache
        .getdel_json::<serde_json::Value>("k")
        .await
        .unwrap_err();
    assert!(error.is_unavailable(), "{error}");
    server.stop().await;
}

#[actix_web::test]
async fn the_memory_fallback_is_opt_in() {
    let db = TestDatabase::sqlite();
    let mut config = config_for(&db);
    config.redis_url = Some(DOWN_REDIS.into());
    config.cache_fallback = CacheFallback::Memory;
    let server = TestServer::start_with(state_with(config).await);
    let (status, body) = server.get("/readyz").await;
    assert_eq!((status, body["cache"].as_str()), (200, Some("ok")));
    assert_eq!(
        server.state.cache.backend_kind(),
        navi_cache::BackendKind::Memory
    );
    server.stop().await;
}

async fn metrics_text(server: &TestServer, token: Option<&str>) -> (u16, String) {
    let mut request = awc::Client::new().get(server.url("/metrics"));
    if let Some(token) = token {
        request = request.insert_header(("Authorization", format!("Bearer {token}")));
    }
    let mut response = request.send().await.unwrap();
    let body = response.body().await.unwrap();
    (
        response.status().as_u16(),
        String::from_utf8_lossy(&body).into_owned(),
    )
}

#[actix_web::test]
async fn metrics_are_served_to_loopback_with_the_contract_names() {
    let db = TestDatabase::sqlite();
    let server = TestServer::start(&db).await;
    server.get("/healthz").await;
    server
        .state
        .cache
        .getdel_json::<serde_json::Value>("missing")
        .await
        .unwrap();
    let (status, text) = metrics_text(&server, None).await;
    assert_eq!(status, 200, "{text}");
    for name in [
        "navi_http_requests_total{route=\"/healthz\",status=\"200\"} 1",
        "navi_http_request_duration_seconds_bucket",
        "navi_cache_requests_total{op=\"getdel\",result=\"miss\"} 1",
        "navi_cache_getdel_total{path=\"memory\"} 1",
        "navi_cache_evictions_total",
    ] {
        assert!(text.contains(name), "{name} missing from:\n{text}");
    }
    server.stop().await;
}

#[actix_web::test]
async fn with_a_token_metrics_require_it() {
    let db = TestDatabase::sqlite();
    let mut config = config_for(&db);
    config.metrics_token = Some("s3cret-token".into());
    let server = TestServer::start_with(state_with(config).await);
    let (status, body) = metrics_text(&server, None).await;
    assert_eq!(status, 403);
    assert_error_body(&serde_json::from_str(&body).unwrap(), "forbidden");
    assert_eq!(metrics_text(&server, Some("wrong")).await.0, 403);
    assert_eq!(metrics_text(&server, Some("s3cret-token")).await.0, 200);
    server.stop().await;
}

#[actix_web::test]
async fn without_a_token_non_loopback_clients_are_refused() {
    let db = TestDatabase::sqlite();
    let app =
        actix_web::test::init_service(navi_server::app::build_app(common::state_for(&db).await))
            .await;
    let request = actix_web::test::TestRequest::get()
        .uri("/metrics")
        .peer_addr("192.0.2.7:4000".parse().unwrap())
        .to_request();
    let response = actix_web::test::call_service(&app, request).await;
    assert_eq!(response.status().as_u16(), 403);
}
