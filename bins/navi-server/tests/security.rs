//! Regression tests for the holes an outside review found (issue 19), over a real socket on
//! PostgreSQL and SQLite: a pinned key reaching a user key, keys outliving the key that made them,
//! a revoked key served from the auth cache, invites and keys outliving their maker's membership,
//! and names that display as something they are not.

mod common;

use common::{assert_error, Api, Owner, Reply, TestServer};
use navi_tenancy::api_keys::create_api_key_privileged;
use navi_tenancy::testing::TestDatabase;
use navi_tenancy::{checkout, Privileged};
use serde_json::{json, Value};

/// Makes a key as `key` in `org`; returns (id, secret, expires_at).
async fn make_key(api: &Api, key: &str, org: &str, body: Value) -> (String, String, Value) {
    let reply = api
        .call("POST", "/v1/api-keys", Some(key), Some(org), Some(body))
        .await;
    assert_eq!(reply.status, 201, "{reply:?}");
    (
        reply.body["id"].as_str().unwrap().to_owned(),
        reply.body["api_key"].as_str().unwrap().to_owned(),
        reply.body["expires_at"].clone(),
    )
}

async fn rotate(api: &Api, key: &str, org: &str, id: &str, grace: u32) -> Reply {
    api.call(
        "POST",
        &format!("/v1/api-keys/{id}/rotate"),
        Some(key),
        Some(org),
        Some(json!({ "grace_seconds": grace })),
    )
    .await
}

async fn org_status(api: &Api, key: &str, org: &str) -> u16 {
    api.call("GET", "/v1/org", Some(key), Some(org), None)
        .await
        .status
}

/// The owner's own user key, as the listing shows it.
async fn user_key_id(api: &Api, owner: &Owner) -> String {
    let reply = api
        .call(
            "GET",
            "/v1/api-keys",
            Some(&owner.key),
            Some(&owner.org_id),
            None,
        )
        .await;
    let keys = reply.body["api_keys"].as_array().unwrap();
    let user_key = keys.iter().find(|k| k["org_id"].is_null()).unwrap();
    user_key["id"].as_str().unwrap().to_owned()
}

async fn a_pinned_key_never_sees_or_touches_a_user_key(db: TestDatabase) {
    let api = Api::start(db).await;
    let owner = api.owner("ada@example.com", "Acme").await;
    let other_org = api.owner("ada@example.com", "Other").await.org_id;
    let org = owner.org_id.as_str();
    let user_key = user_key_id(&api, &owner).await;
    let (pinned_id, pinned, _) = make_key(&api, &owner.key, org, json!({"name": "ci"})).await;
    assert_error(
        &api.call("GET", "/v1/org", Some(&pinned), Some(&other_org), None)
            .await,
        403,
        "forbidden",
    );

    // The pinned key lists only keys pinned to its org: never the user key.
    let listed = api
        .call("GET", "/v1/api-keys", Some(&pinned), Some(org), None)
        .await;
    assert_eq!(listed.status, 200);
    let ids: Vec<&str> = listed.body["api_keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [pinned_id.as_str()]);

    // Rotating or revoking the user key through it finds nothing, and the user key keeps working.
    assert_error(
        &rotate(&api, &pinned, org, &user_key, 0).await,
        404,
        "not_found",
    );
    let revoke = api
        .call(
            "DELETE",
            &format!("/v1/api-keys/{user_key}"),
            Some(&pinned),
            Some(org),
            None,
        )
        .await;
    assert_error(&revoke, 404, "not_found");
    assert_eq!(org_status(&api, &owner.key, &other_org).await, 200);

    // It still acts on its own org's keys: rotating itself gives a key pinned to the same org.
    let rotated = rotate(&api, &pinned, org, &pinned_id, 0).await;
    assert_eq!(rotated.status, 201, "{rotated:?}");
    assert_eq!(rotated.body["org_id"], org);
    let successor = rotated.body["api_key"].as_str().unwrap();
    assert_eq!(org_status(&api, successor, org).await, 200);
    assert_error(
        &api.call("GET", "/v1/org", Some(successor), Some(&other_org), None)
            .await,
        403,
        "forbidden",
    );
}

async fn a_new_key_never_outlives_the_key_that_made_it(db: TestDatabase) {
    let api = Api::start(db).await;
    let owner = api.owner("ada@example.com", "Acme").await;
    let org = owner.org_id.as_str();
    let (short_id, short, short_expiry) = make_key(
        &api,
        &owner.key,
        org,
        json!({"name": "tomorrow", "expires_in_days": 1}),
    )
    .await;
    assert!(short_expiry.is_string());

    // Asking for no expiry, or a later one, gets the calling key's expiry.
    for body in [
        json!({"name": "forever"}),
        json!({"name": "month", "expires_in_days": 30}),
    ] {
        let (_, _, expiry) = make_key(&api, &short, org, body).await;
        assert_eq!(expiry, short_expiry);
    }
    // Rotating a never-expiring key through the short key: the successor expires with the caller.
    let (long_id, _, long_expiry) = make_key(&api, &owner.key, org, json!({"name": "long"})).await;
    assert_eq!(long_expiry, Value::Null);
    let rotated = rotate(&api, &short, org, &long_id, 0).await;
    assert_eq!(rotated.status, 201, "{rotated:?}");
    assert_eq!(rotated.body["expires_at"], short_expiry);

    // A key in its rotation grace period hands on nothing: no new key, no successor.
    let rotated = rotate(&api, &owner.key, org, &short_id, 3600).await;
    assert_eq!(rotated.status, 201, "{rotated:?}");
    let successor_id = rotated.body["id"].as_str().unwrap();
    assert_eq!(org_status(&api, &short, org).await, 200, "in grace");
    let create = api
        .call(
            "POST",
            "/v1/api-keys",
            Some(&short),
            Some(org),
            Some(json!({"name": "heir"})),
        )
        .await;
    assert_error(&create, 403, "forbidden");
    assert_error(
        &rotate(&api, &short, org, successor_id, 0).await,
        403,
        "forbidden",
    );
    // And a key is rotated once: a second successor is a conflict.
    assert_error(
        &rotate(&api, &owner.key, org, &short_id, 0).await,
        409,
        "conflict",
    );
    // A superseded key cannot take its successor away; it may still revoke itself.
    let revoke = |key: String, id: String| {
        let api = &api;
        async move {
            api.call(
                "DELETE",
                &format!("/v1/api-keys/{id}"),
                Some(&key),
                Some(org),
                None,
            )
            .await
        }
    };
    assert_error(
        &revoke(short.clone(), successor_id.to_owned()).await,
        403,
        "forbidden",
    );
    assert_eq!(revoke(short.clone(), short_id.clone()).await.status, 204);
    assert_error(
        &api.call("GET", "/v1/org", Some(&short), Some(org), None)
            .await,
        401,
        "unauthenticated",
    );
}

/// First uses of a fresh key race its revocation on one instance (auth cache TTL 5 s): every
/// request sent after the DELETE returned is refused, whatever the race left in the cache.
async fn a_revoked_key_is_refused_at_once_by_the_instance_that_revoked_it(db: TestDatabase) {
    let mut config = common::config_for(&db);
    config.auth_cache_ttl = std::time::Duration::from_secs(5);
    // Three refusals an attempt are expected here, far more than a minute's `auth_failures`.
    common::set_limit(
        &mut config,
        navi_server::rate_limits::Policy::AuthFailures,
        1_000,
        60,
    );
    let api = Api::start_on(TestServer::start_with(common::state_with(config).await));
    let owner = api.owner("ada@example.com", "Acme").await;
    let org = owner.org_id.as_str();
    let privileged = Privileged::acquire("test setup");
    for attempt in 0..100 {
        let (key_id, key) = {
            let mut conn = checkout(&api.server.state.pool).unwrap();
            let (row, key) = create_api_key_privileged(
                &privileged,
                &mut conn,
                &navi_tenancy::testing::audit_trail(),
                Some(org),
                &api.server.state.pepper,
                &owner.user_id,
                Some(org),
                "racer",
            )
            .unwrap();
            (row.id, key.expose().to_owned())
        };
        let first_uses =
            futures_util::future::join_all((0..6).map(|_| org_status(&api, &key, org)));
        let revoke_then_use = async {
            let revoked = api
                .call(
                    "DELETE",
                    &format!("/v1/api-keys/{key_id}"),
                    Some(&owner.key),
                    Some(org),
                    None,
                )
                .await;
            assert_eq!(revoked.status, 204, "{revoked:?}");
            let mut after = Vec::new();
            for _ in 0..3 {
                after.push(org_status(&api, &key, org).await);
            }
            after
        };
        let (_, after) = futures_util::future::join(first_uses, revoke_then_use).await;
        assert_eq!(after, [401, 401, 401], "attempt {attempt}");
    }
    // The owner's key was never disturbed.
    assert_eq!(org_status(&api, &owner.key, org).await, 200);
    drop(db);
}

async fn audit_actions(api: &Api, owner: &Owner) -> Vec<(String, Value)> {
    let logs = api
        .call(
            "GET",
            "/v1/audit/logs",
            Some(&owner.key),
            Some(&owner.org_id),
            None,
        )
        .await;
    assert_eq!(logs.status, 200, "{logs:?}");
    logs.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["payload"].clone(),
            )
        })
        .collect()
}

/// `email`'s user (verified, with a new key) accepts the invite `token`.
async fn accept(api: &Api, email: &str, token: &str) -> Reply {
    let (key, _) = api.user(email);
    api.call(
        "POST",
        "/v1/invites/accept",
        Some(&key),
        None,
        Some(json!({ "token": token })),
    )
    .await
}

async fn a_removed_or_demoted_admin_leaves_no_invite_behind(db: TestDatabase) {
    let api = Api::start(db).await;
    let owner = api.owner("ada@example.com", "Acme").await;
    let org = owner.org_id.as_str();
    let (removed_key, removed_id) = api.member(&owner, "rex@example.com", "admin").await;
    let (demoted_key, demoted_id) = api.member(&owner, "dee@example.com", "admin").await;
    let invite_as = |key: String, email: &'static str| {
        let api = &api;
        async move {
            let reply = api
                .call(
                    "POST",
                    "/v1/org/invites",
                    Some(&key),
                    Some(org),
                    Some(json!({"email": email, "role": "admin"})),
                )
                .await;
            assert_eq!(reply.status, 201, "{reply:?}");
            reply.body["token"].as_str().unwrap().to_owned()
        }
    };
    let from_removed = invite_as(removed_key, "accomplice@example.com").await;
    let from_demoted = invite_as(demoted_key, "friend@example.com").await;
    let from_owner = invite_as(owner.key.clone(), "welcome@example.com").await;

    let removed = api
        .call(
            "DELETE",
            &format!("/v1/org/members/{removed_id}"),
            Some(&owner.key),
            Some(org),
            None,
        )
        .await;
    assert_eq!(removed.status, 204, "{removed:?}");
    let demoted = api
        .call(
            "PATCH",
            &format!("/v1/org/members/{demoted_id}"),
            Some(&owner.key),
            Some(org),
            Some(json!({"role": "member"})),
        )
        .await;
    assert_eq!(demoted.status, 200, "{demoted:?}");

    assert_error(
        &accept(&api, "accomplice@example.com", &from_removed).await,
        400,
        "invalid_invite",
    );
    assert_error(
        &accept(&api, "friend@example.com", &from_demoted).await,
        400,
        "invalid_invite",
    );
    assert_eq!(
        accept(&api, "welcome@example.com", &from_owner)
            .await
            .status,
        201
    );

    let events = audit_actions(&api, &owner).await;
    let revocations: Vec<&Value> = events
        .iter()
        .filter(|(action, _)| action == "invite.revoke")
        .map(|(_, payload)| &payload["reason"])
        .collect();
    assert_eq!(revocations.len(), 2, "{events:?}");
    assert!(revocations.contains(&&json!("inviter removed")));
    assert!(revocations.contains(&&json!("inviter demoted")));
}

async fn a_removed_members_pinned_keys_stay_dead_when_they_return(db: TestDatabase) {
    let api = Api::start(db).await;
    let owner = api.owner("ada@example.com", "Acme").await;
    let org = owner.org_id.as_str();
    let (member_key, member_id) = api.member(&owner, "cy@example.com", "member").await;
    let (_, pinned, _) = make_key(&api, &member_key, org, json!({"name": "laptop"})).await;
    assert_eq!(org_status(&api, &pinned, org).await, 200);

    let removed = api
        .call(
            "DELETE",
            &format!("/v1/org/members/{member_id}"),
            Some(&owner.key),
            Some(org),
            None,
        )
        .await;
    assert_eq!(removed.status, 204);
    // Re-invited and back in: the old pinned key still does not work; the user key does.
    let token = api.invite(&owner, "cy@example.com", "member").await;
    let back = api
        .call(
            "POST",
            "/v1/invites/accept",
            Some(&member_key),
            None,
            Some(json!({ "token": token })),
        )
        .await;
    assert_eq!(back.status, 201, "{back:?}");
    assert_eq!(org_status(&api, &member_key, org).await, 200);
    assert_error(
        &api.call("GET", "/v1/org", Some(&pinned), Some(org), None)
            .await,
        401,
        "unauthenticated",
    );
    let events = audit_actions(&api, &owner).await;
    assert!(
        events
            .iter()
            .any(|(action, payload)| action == "api_key.revoke"
                && payload["reason"] == "member removed"),
        "{events:?}"
    );
}

/// The characters the review used, each in every kind of name; ZWJ and ZWNJ stay allowed.
async fn names_refuse_invisible_and_direction_changing_characters(db: TestDatabase) {
    let api = Api::start(db).await;
    let owner = api.owner("ada@example.com", "Acme").await;
    let org = Some(owner.org_id.as_str());
    let post = |path: &'static str, body: Value, with_org: bool| {
        let api = &api;
        let key = owner.key.clone();
        async move {
            api.call(
                "POST",
                path,
                Some(&key),
                if with_org { org } else { None },
                Some(body),
            )
            .await
        }
    };
    for spoof in [
        "\u{202E}gnp.exe",
        "ad\u{200B}min",
        "\u{2066}x\u{2069}",
        "x\u{061C}",
        "x\u{00AD}y",
        "x\u{FEFF}",
        "x\u{E0041}",
    ] {
        for (path, body, field, with_org) in [
            ("/v1/orgs", json!({ "name": spoof }), "name", false),
            ("/v1/api-keys", json!({ "name": spoof }), "name", true),
            (
                "/v1/mcp-servers",
                json!({"name": spoof, "url": "https://tools.example.com/mcp", "transport": "http"}),
                "name",
                true,
            ),
            (
                "/v1/llm-calls",
                json!({"model": spoof, "prompt_tokens": 1, "completion_tokens": 1,
                       "cost_micros": 1, "latency_ms": 1}),
                "model",
                true,
            ),
        ] {
            let reply = post(path, body, with_org).await;
            assert_error(&reply, 400, "invalid_request");
            let message = reply.body["error"]["message"].as_str().unwrap();
            assert!(message.contains(field), "{path} {spoof:?}: {message}");
        }
    }
    // Joiners are names, not spoofs: a Persian name (ZWNJ) and an emoji sequence (ZWJ).
    for name in ["می\u{200C}خواهم", "\u{1F469}\u{200D}\u{1F4BB} team"] {
        assert_eq!(
            post("/v1/orgs", json!({ "name": name }), false)
                .await
                .status,
            201
        );
        assert_eq!(
            post("/v1/api-keys", json!({ "name": name }), true)
                .await
                .status,
            201
        );
    }
}

/// A user key works in every org of its user, so two rotations of it sent through two orgs hold
/// two different org locks: still, one rotation wins and the other is a conflict, every time.
async fn a_user_key_rotated_through_two_orgs_at_once_has_one_successor(db: TestDatabase) {
    let api = Api::start(db).await;
    let owner = api.owner("ada@example.com", "Acme").await;
    let other_org = api.owner("ada@example.com", "Other").await.org_id;
    for attempt in 0..20 {
        let made = api
            .call(
                "POST",
                "/v1/api-keys",
                Some(&owner.key),
                Some(&owner.org_id),
                Some(json!({"name": format!("user-{attempt}"), "pinned": false})),
            )
            .await;
        assert_eq!(made.status, 201, "{made:?}");
        let id = made.body["id"].as_str().unwrap().to_owned();
        let (here, there) = futures_util::future::join(
            rotate(&api, &owner.key, &owner.org_id, &id, 60),
            rotate(&api, &owner.key, &other_org, &id, 60),
        )
        .await;
        let mut statuses = [here.status, there.status];
        statuses.sort_unstable();
        assert_eq!(
            statuses,
            [201, 409],
            "attempt {attempt}: {here:?} {there:?}"
        );
    }
}

/// A model name is kept trimmed: names that differ only by spaces at their ends (ASCII, no-break,
/// ideographic) are one model on the dashboard, not several rows that look the same.
async fn model_names_are_kept_trimmed(db: TestDatabase) {
    let api = Api::start(db).await;
    let owner = api.owner("ada@example.com", "Acme").await;
    let org = Some(owner.org_id.as_str());
    let calls: Vec<Value> = ["gpt-4o", " gpt-4o", "gpt-4o\u{00A0}", "\u{3000}gpt-4o "]
        .iter()
        .map(|model| {
            json!({"model": model, "prompt_tokens": 1, "completion_tokens": 1, "cost_micros": 1,
                   "latency_ms": 1, "occurred_at": "2026-11-20T10:00:00Z"})
        })
        .collect();
    let recorded = api
        .call(
            "POST",
            "/v1/llm-calls",
            Some(&owner.key),
            org,
            Some(json!({ "calls": calls })),
        )
        .await;
    assert_eq!(recorded.status, 201, "{recorded:?}");
    let dashboard = api
        .get_ok(
            "/v1/analytics/org?from=2026-11-20&to=2026-11-20&tz=UTC",
            &owner.key,
            org,
        )
        .await;
    let models: Vec<(&str, i64)> = dashboard["by_model"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["model"].as_str().unwrap(),
                m["requests"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(models, [("gpt-4o", 4)]);
}

on_both_backends!(
    model_names_are_kept_trimmed,
    a_user_key_rotated_through_two_orgs_at_once_has_one_successor,
    a_pinned_key_never_sees_or_touches_a_user_key,
    a_new_key_never_outlives_the_key_that_made_it,
    a_revoked_key_is_refused_at_once_by_the_instance_that_revoked_it,
    a_removed_or_demoted_admin_leaves_no_invite_behind,
    a_removed_members_pinned_keys_stay_dead_when_they_return,
    names_refuse_invisible_and_direction_changing_characters,
);
