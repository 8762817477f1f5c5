//! The MCP server endpoints over a real socket, on PostgreSQL and SQLite: shapes, validation,
//! role boundaries, secrets that never appear outside `GET .../secret`, an unreadable stored
//! secret answered without a 500, and a key rotation while the server keeps serving.
//! (The cross-tenant attack on these endpoints is part of `api.rs`.)

mod common;

use common::{assert_error, config_for, is_timestamp, state_with, Api, TestServer};
use navi_server::config::KeySource;
use navi_tenancy::encrypted_columns::{key_usage, rotate_column, ENCRYPTED_COLUMNS};
use navi_tenancy::testing::{fixtures, TestDatabase};
use navi_tenancy::{checkout, Privileged};
use serde_json::{json, Value};

fn server_body(name: &str, secret: Option<Value>) -> Value {
    let mut body =
        json!({"name": name, "url": "https://tools.example.com/mcp", "transport": "http"});
    if let Some(secret) = secret {
        body["secret"] = secret;
    }
    body
}

async fn mcp_servers_are_managed_by_admins_and_read_by_members(db: TestDatabase) {
    let api = Api::start(db).await;
    let owner = api.owner("ada@example.com", "Acme").await;
    let (admin_key, _) = api.member(&owner, "adam@example.com", "admin").await;
    let (member_key, _) = api.member(&owner, "mia@example.com", "member").await;
    let org = Some(owner.org_id.as_str());

    let created = api
        .call(
            "POST",
            "/v1/mcp-servers",
            Some(&admin_key),
            org,
            Some(server_body(
                "Search",
                Some(json!({"api_key": "sk-search-1", "headers": {"x": "y"}})),
            )),
        )
        .await;
    assert_eq!(created.status, 201, "{created:?}");
    let body = created.body.as_object().unwrap();
    let keys: Vec<&str> = body.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "id",
            "name",
            "url",
            "transport",
            "has_secret",
            "created_at",
            "updated_at"
        ]
    );
    assert!(body["id"].as_str().unwrap().starts_with("mcp_"));
    assert_eq!(body["has_secret"], true);
    assert_eq!(body["transport"], "http");
    assert!(is_timestamp(&body["created_at"]) && is_timestamp(&body["updated_at"]));
    let id = body["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/mcp-servers/{id}");
    let secret_path = format!("{path}/secret");

    let stdio = api
        .call("POST", "/v1/mcp-servers", Some(&owner.key), org,
              Some(json!({"name": "Git", "url": "uvx mcp-server-git --repository .", "transport": "stdio"})))
        .await;
    assert_eq!(stdio.status, 201, "{stdio:?}");
    assert_eq!(stdio.body["has_secret"], false);

    // Members read definitions, never secrets, and change nothing.
    let listed = api
        .call("GET", "/v1/mcp-servers", Some(&member_key), org, None)
        .await;
    assert_eq!(listed.status, 200);
    let names: Vec<&str> = listed.body["mcp_servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Git", "Search"]);
    assert!(!listed.body.to_string().contains("sk-search-1"));
    let shown = api.call("GET", &path, Some(&member_key), org, None).await;
    assert_eq!(shown.body, created.body);
    assert_error(
        &api.call("GET", &secret_path, Some(&member_key), org, None)
            .await,
        403,
        "forbidden",
    );
    assert_error(
        &api.call(
            "POST",
            "/v1/mcp-servers",
            Some(&member_key),
            org,
            Some(server_body("M", None)),
        )
        .await,
        403,
        "forbidden",
    );
    assert_error(
        &api.call(
            "PUT",
            &path,
            Some(&member_key),
            org,
            Some(server_body("M", None)),
        )
        .await,
        403,
        "forbidden",
    );
    assert_error(
        &api.call("DELETE", &path, Some(&member_key), org, None)
            .await,
        403,
        "forbidden",
    );

    // Admins open the secret.
    let secret = api
        .call("GET", &secret_path, Some(&admin_key), org, None)
        .await;
    assert_eq!(secret.status, 200);
    assert_eq!(
        secret.body,
        json!({"secret": {"api_key": "sk-search-1", "headers": {"x": "y"}}})
    );

    // PUT: absent keeps the secret, an object replaces it, null clears it.
    let kept = api.call("PUT", &path, Some(&admin_key), org,
        Some(json!({"name": "Search v2", "url": "https://search.example.com/sse", "transport": "sse"}))).await;
    assert_eq!(kept.status, 200, "{kept:?}");
    assert_eq!(
        (
            kept.body["name"].as_str(),
            kept.body["transport"].as_str(),
            kept.body["has_secret"].as_bool()
        ),
        (Some("Search v2"), Some("sse"), Some(true))
    );
    assert_eq!(kept.body["created_at"], created.body["created_at"]);
    assert_eq!(
        api.call("GET", &secret_path, Some(&admin_key), org, None)
            .await
            .body["secret"]["api_key"],
        "sk-search-1"
    );
    let replaced = api
        .call(
            "PUT",
            &path,
            Some(&admin_key),
            org,
            Some(server_body(
                "Search v2",
                Some(json!({"api_key": "sk-search-2"})),
            )),
        )
        .await;
    assert_eq!(replaced.status, 200);
    assert_eq!(
        api.call("GET", &secret_path, Some(&admin_key), org, None)
            .await
            .body,
        json!({"secret": {"api_key": "sk-search-2"}})
    );
    let cleared = api
        .call(
            "PUT",
            &path,
            Some(&admin_key),
            org,
            Some(server_body("Search v2", Some(Value::Null))),
        )
        .await;
    assert_eq!(cleared.body["has_secret"], false);
    assert_eq!(
        api.call("GET", &secret_path, Some(&admin_key), org, None)
            .await
            .body,
        json!({"secret": null})
    );

    // Names are unique in the org.
    assert_error(
        &api.call(
            "POST",
            "/v1/mcp-servers",
            Some(&admin_key),
            org,
            Some(server_body("Git", None)),
        )
        .await,
        409,
        "conflict",
    );
    assert_error(
        &api.call(
            "PUT",
            &path,
            Some(&admin_key),
            org,
            Some(server_body("Git", None)),
        )
        .await,
        409,
        "conflict",
    );

    // Bad input: 400 naming the field, nothing written.
    let bad = [
        (
            json!({"name": "", "url": "https://x.example", "transport": "http"}),
            "name",
        ),
        (
            json!({"name": "x".repeat(101), "url": "https://x.example", "transport": "http"}),
            "name",
        ),
        (
            json!({"name": "N", "url": "ftp://x.example", "transport": "http"}),
            "url",
        ),
        (
            json!({"name": "N", "url": "x.example/mcp", "transport": "sse"}),
            "url",
        ),
        (json!({"name": "N", "url": "", "transport": "stdio"}), "url"),
        (
            json!({"name": "N", "url": "https://x.example", "transport": "grpc"}),
            "transport",
        ),
        (
            json!({"name": "N", "url": "https://x.example", "transport": "http", "secret": "sk"}),
            "secret",
        ),
        (
            json!({"name": "N", "url": "https://x.example", "transport": "http", "secret": [1]}),
            "secret",
        ),
        (
            json!({"name": "N", "url": "https://x.example", "transport": "http", "extra": 1}),
            "extra",
        ),
        (
            json!({"url": "https://x.example", "transport": "http"}),
            "name",
        ),
    ];
    for (body, field) in bad {
        let reply = api
            .call(
                "POST",
                "/v1/mcp-servers",
                Some(&admin_key),
                org,
                Some(body.clone()),
            )
            .await;
        assert_error(&reply, 400, "invalid_request");
        assert!(
            reply.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains(field),
            "{body} → {reply:?}"
        );
    }
    let after = api
        .call("GET", "/v1/mcp-servers", Some(&member_key), org, None)
        .await;
    assert_eq!(after.body["mcp_servers"].as_array().unwrap().len(), 2);

    // Delete: 204, then gone.
    let deleted = api.call("DELETE", &path, Some(&admin_key), org, None).await;
    assert_eq!(deleted.status, 204);
    assert_error(
        &api.call("GET", &path, Some(&admin_key), org, None).await,
        404,
        "not_found",
    );
    assert_error(
        &api.call("DELETE", &path, Some(&admin_key), org, None).await,
        404,
        "not_found",
    );
    assert_error(
        &api.call("GET", &secret_path, Some(&admin_key), org, None)
            .await,
        404,
        "not_found",
    );
    assert_error(
        &api.call("GET", "/v1/mcp-servers", Some(&admin_key), None, None)
            .await,
        403,
        "org_context_required",
    );
}

async fn an_unreadable_secret_is_a_clear_error_for_that_server_only(db: TestDatabase) {
    let api = Api::start(db).await;
    let owner = api.owner("ada@example.com", "Acme").await;
    let org = Some(owner.org_id.as_str());
    let mut ids = Vec::new();
    for name in ["Broken", "Fine"] {
        let reply = api
            .call(
                "POST",
                "/v1/mcp-servers",
                Some(&owner.key),
                org,
                Some(server_body(name, Some(json!({"token": name})))),
            )
            .await;
        ids.push(reply.body["id"].as_str().unwrap().to_owned());
    }
    {
        let mut conn = checkout(&api.server.state.pool).unwrap();
        fixtures::write_raw_mcp_secret(&mut conn, &ids[0], br#"{"token":"written-in-plaintext"}"#);
    }
    let broken = api
        .call(
            "GET",
            &format!("/v1/mcp-servers/{}/secret", ids[0]),
            Some(&owner.key),
            org,
            None,
        )
        .await;
    assert_error(&broken, 409, "conflict");
    let message = broken.body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("not a navi-crypto ciphertext"),
        "{message}"
    );
    assert!(!message.contains("written-in-plaintext"), "{message}");
    let listed = api
        .call("GET", "/v1/mcp-servers", Some(&owner.key), org, None)
        .await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.body["mcp_servers"].as_array().unwrap().len(), 2);
    assert_eq!(
        api.call(
            "GET",
            &format!("/v1/mcp-servers/{}", ids[0]),
            Some(&owner.key),
            org,
            None
        )
        .await
        .status,
        200
    );
    let fine = api
        .call(
            "GET",
            &format!("/v1/mcp-servers/{}/secret", ids[1]),
            Some(&owner.key),
            org,
            None,
        )
        .await;
    assert_eq!(fine.body, json!({"secret": {"token": "Fine"}}));
}

fn key_line(id: &str, fill: u8) -> String {
    use base64::Engine;
    format!(
        "{id}:{}",
        base64::engine::general_purpose::STANDARD.encode([fill; 32])
    )
}

/// Seal under key A; add key B as primary on a second server; rotate with the library xtask uses
/// while that server keeps answering reads and writes; every row ends on B, and a server with
/// only B reads them all.
async fn keys_rotate_while_the_server_serves(db: TestDatabase) {
    // One pepper for all three servers, so the same API key works on each.
    let base = config_for(&db);
    let with_keys = |keys: String| {
        let mut config = base.clone();
        config.encryption_keys = Some(KeySource::Inline(keys));
        config
    };
    let old = TestServer::start_with(state_with(with_keys(key_line("ka", 1))).await);
    let api = Api::start_on(old);
    let owner = api.owner("ada@example.com", "Acme").await;
    let org = Some(owner.org_id.as_str());
    let mut ids = Vec::new();
    for i in 0..30 {
        let reply = api
            .call(
                "POST",
                "/v1/mcp-servers",
                Some(&owner.key),
                org,
                Some(server_body(&format!("S{i:02}"), Some(json!({"n": i})))),
            )
            .await;
        assert_eq!(reply.status, 201);
        ids.push(reply.body["id"].as_str().unwrap().to_owned());
    }
    let both = TestServer::start_with(
        state_with(with_keys(format!(
            "{},{}",
            key_line("kb", 2),
            key_line("ka", 1)
        )))
        .await,
    );
    let pool = both.state.pool.clone();
    let keyring = both.state.keyring.clone();
    let rotation = tokio::task::spawn_blocking(move || {
        let privileged = Privileged::acquire("test rotation");
        let mut conn = checkout(&pool).unwrap();
        rotate_column(
            &privileged,
            &mut conn,
            &keyring,
            &ENCRYPTED_COLUMNS[0],
            4,
            false,
            |_| {},
        )
        .unwrap()
    });
    let mut expected: Vec<i64> = (0..30).collect();
    for round in 0..3 {
        for (i, id) in ids.iter().enumerate().skip(round).step_by(7) {
            let path = format!("/v1/mcp-servers/{id}");
            let read = both
                .call(
                    "GET",
                    &format!("{path}/secret"),
                    Some(&owner.key),
                    org,
                    None,
                )
                .await;
            assert_eq!(read.status, 200, "{read:?}");
            assert_eq!(read.body["secret"]["n"], expected[i]);
            let value = 1000 * (round as i64 + 1) + i as i64;
            let written = both
                .call(
                    "PUT",
                    &path,
                    Some(&owner.key),
                    org,
                    Some(server_body(&format!("S{i:02}"), Some(json!({"n": value})))),
                )
                .await;
            assert_eq!(written.status, 200, "{written:?}");
            expected[i] = value;
        }
    }
    let rotated = rotation.await.unwrap();
    assert!(rotated.unopenable.is_empty(), "{rotated:?}");
    {
        let mut conn = checkout(&both.state.pool).unwrap();
        let usage = key_usage(
            &Privileged::acquire("test"),
            &mut conn,
            &ENCRYPTED_COLUMNS[0],
            100,
        )
        .unwrap();
        assert_eq!(usage.rows_per_key, [("kb".to_owned(), 30)].into());
    }
    let only_new = TestServer::start_with(state_with(with_keys(key_line("kb", 2))).await);
    for (i, id) in ids.iter().enumerate() {
        let read = only_new
            .call(
                "GET",
                &format!("/v1/mcp-servers/{id}/secret"),
                Some(&owner.key),
                org,
                None,
            )
            .await;
        assert_eq!(read.body["secret"]["n"], expected[i], "server {i}");
    }
    only_new.stop().await;
    both.stop().await;
}

on_both_backends!(
    mcp_servers_are_managed_by_admins_and_read_by_members,
    an_unreadable_secret_is_a_clear_error_for_that_server_only,
    keys_rotate_while_the_server_serves,
);
