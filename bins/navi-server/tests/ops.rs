//! Operational safety (issue 19): that the server's `Debug` output holds no secret.

mod common;

use common::{config_for, state_with};
use navi_server::config::KeySource;
use navi_tenancy::testing::TestDatabase;

#[actix_web::test]
async fn the_app_states_debug_holds_no_secret() {
    let db = TestDatabase::sqlite();
    let mut config = config_for(&db);
    let pepper = navi_tenancy::api_keys::Pepper::generate_base64();
    let key = navi_crypto::generate_key_line()
        .unwrap()
        .as_str()
        .to_owned();
    config.api_key_pepper = Some(pepper.clone());
    config.encryption_keys = Some(KeySource::Inline(key.clone()));
    config.metrics_token = Some("metrics-token-for-debug".into());
    let state = state_with(config).await;
    let debug = format!("{state:?}");
    let key_secret = key.split_once(':').unwrap().1;
    for secret in [pepper.as_str(), key_secret, "metrics-token-for-debug"] {
        assert!(!debug.contains(secret), "{secret} in {debug}");
    }
    assert!(debug.contains("metrics_token: Some(<redacted>)"), "{debug}");
}
