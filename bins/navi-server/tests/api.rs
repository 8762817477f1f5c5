//! The org, member, invite and API key endpoints over a real socket, on PostgreSQL and SQLite:
//! success shapes, every error status of the contract, role boundaries, a cross-tenant attack on
//! every org-scoped endpoint, and concurrent invite acceptance.

mod common;

use common::{assert_error, is_timestamp, Api, Owner, Reply, TestServer};
use navi_tenancy::api_keys::create_api_key_privileged;
use navi_tenancy::testing::TestDatabase;
use navi_tenancy::users::find_or_create_user;
use navi_tenancy::{checkout, Email, Privileged};
use serde_json::{json, Value};

async fn orgs_are_created_and_read(db: TestDatabase) {
    let api = Api::start(db).await;
    let (key, user_id) = api.user("ada@example.com");

    let reply = api
        .call(
            "POST",
            "/v1/orgs",
            Some(&key),
            None,
            Some(json!({"name": "Acme Corp"})),
        )
        .await;
    assert_eq!(reply.status, 201, "{reply:?}");
    let org = reply.body;
    assert!(org["id"].as_str().unwrap().starts_with("org_"));
    assert_eq!(
        (org["name"].as_str(), org["slug"].as_str()),
        (Some("Acme Corp"), Some("acme-corp"))
    );
    assert_eq!(org["owner_user_id"], user_id);
    assert!(is_timestamp(&org["created_at"]), "{org}");
    let keys: Vec<&str> = org
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["id", "name", "slug", "owner_user_id", "created_at"]);

    let org_id = org["id"].as_str().unwrap();
    let reply = api
        .call("GET", "/v1/org", Some(&key), Some(org_id), None)
        .await;
    assert_eq!((reply.status, &reply.body), (200, &org));

    let explicit = api
        .call(
            "POST",
            "/v1/orgs",
            Some(&key),
            None,
            Some(json!({"name": "X", "slug": "taken-slug"})),
        )
        .await;
    assert_eq!(explicit.status, 201);
    let taken = api
        .call(
            "POST",
            "/v1/orgs",
            Some(&key),
            None,
            Some(json!({"name": "Y", "slug": "taken-slug"})),
        )
        .await;
    assert_error(&taken, 409, "conflict");

    for bad in [
        json!({"name": "Z", "slug": "No"}),
        json!({"name": ""}),
        json!({"slug": "abc"}),
        json!({"name": "Z", "owner": "me"}),
        json!([1]),
    ] {
        let reply = api
            .call("POST", "/v1/orgs", Some(&key), None, Some(bad.clone()))
            .await;
        assert_error(&reply, 400, "invalid_request");
    }
    // A value of the wrong type is named like any other bad field.
    for (bad, named) in [
        (json!({"name": 5}), "name: invalid type"),
        (json!({"name": "Z", "slug": ["a"]}), "slug: invalid type"),
        (json!({"name": "Z", "owner": "me"}), "owner: unknown field"),
    ] {
        let reply = api
            .call("POST", "/v1/orgs", Some(&key), None, Some(bad))
            .await;
        assert_error(&reply, 400, "invalid_request");
        let message = reply.body["error"]["message"].as_str().unwrap();
        assert!(message.starts_with(named), "{named}: {message}");
        assert!(!message.contains(" at line "), "{message}");
    }
    // A key given twice is refused, not settled by whichever comes last.
    let reply = api
        .call_text(
            "POST",
            "/v1/orgs",
            Some(&key),
            None,
            r#"{"name": "A", "name": "B"}"#,
        )
        .await;
    assert_error(&reply, 400, "invalid_request");
    let message = reply.body["error"]["message"].as_str().unwrap();
    assert!(message.contains("duplicate field `name`"), "{message}");
    let reply = api
        .call("POST", "/v1/orgs", None, None, Some(json!({"name": "Z"})))
        .await;
    assert_error(&reply, 401, "unauthenticated");
    let reply = api.call("GET", "/v1/org", Some(&key), None, None).await;
    assert_error(&reply, 403, "org_context_required");
    let reply = api
        .call(
            "GET",
            "/v1/org",
            Some("navi_aaaaaaaa_bbbb"),
            Some(org_id),
            None,
        )
        .await;
    assert_error(&reply, 401, "unauthenticated");
}

async fn members_are_listed_changed_and_removed_by_role(db: TestDatabase) {
    let api = Api::start(db).await;
    let owner = api.owner("ada@example.com", "Acme").await;
    let (admin_key, admin_id) = api.member(&owner, "bob@example.com", "admin").await;
    let (member_key, member_id) = api.member(&owner, "cy@example.com", "member").await;
    let org = Some(owner.org_id.as_str());

    let reply = api
        .call("GET", "/v1/org/members", Some(&member_key), org, None)
        .await;
    assert_eq!(reply.status, 200);
    let members = reply.body["members"].as_array().unwrap();
    assert_eq!(members.len(), 3);
    assert_eq!(
        members[0],
        json!({"user_id": owner.user_id, "email": "ada@example.com", "role": "owner", "joined_at": members[0]["joined_at"]})
    );
    assert!(is_timestamp(&members[0]["joined_at"]));

    let patch = |key: String, user: String, role: &'static str| {
        let api = &api;
        async move {
            api.call(
                "PATCH",
                &format!("/v1/org/members/{user}"),
                Some(&key),
                org,
                Some(json!({"role": role})),
            )
            .await
        }
    };
    assert_error(
        &patch(admin_key.clone(), member_id.clone(), "admin").await,
        403,
        "forbidden",
    );
    assert_error(
        &patch(owner.key.clone(), owner.user_id.clone(), "admin").await,
        409,
        "conflict",
    );
    assert_error(
        &patch(owner.key.clone(), member_id.clone(), "boss").await,
        400,
        "invalid_request",
    );
    assert_error(
        &patch(owner.key.clone(), "usr_nobody".into(), "admin").await,
        404,
        "not_found",
    );
    let reply = patch(owner.key.clone(), member_id.clone(), "admin").await;
    assert_eq!(
        (reply.status, reply.body["role"].as_str()),
        (200, Some("admin"))
    );

    let delete = |key: String, user: String| {
        let api = &api;
        async move {
            api.call(
                "DELETE",
                &format!("/v1/org/members/{user}"),
                Some(&key),
                org,
                None,
            )
            .await
        }
    };
    assert_error(
        &delete(admin_key.clone(), owner.user_id.clone()).await,
        403,
        "forbidden",
    );
    assert_error(
        &delete(owner.key.clone(), owner.user_id.clone()).await,
        409,
        "conflict",
    );
    let reply = delete(admin_key.clone(), member_id.clone()).await;
    assert_eq!((reply.status, reply.body), (204, Value::Null));
    assert_error(
        &delete(admin_key.clone(), member_id.clone()).await,
        404,
        "not_found",
    );
    // A removed member's key no longer reaches the org.
    let reply = api
        .call("GET", "/v1/org", Some(&member_key), org, None)
        .await;
    assert_error(&reply, 403, "forbidden");
    let _ = admin_id;
}

async fn invites_are_created_listed_revoked_and_accepted_once(db: TestDatabase) {
    let api = Api::start(db).await;
    let owner = api.owner("ada@example.com", "Acme").await;
    let (member_key, _) = api.member(&owner, "cy@example.com", "member").await;
    let org = Some(owner.org_id.as_str());

    let reply = api
        .call(
            "POST",
            "/v1/org/invites",
            Some(&owner.key),
            org,
            Some(json!({"email": "New@Example.com", "role": "member"})),
        )
        .await;
    assert_eq!(reply.status, 201, "{reply:?}");
    let keys: Vec<&str> = reply
        .body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["id", "email", "role", "token", "expires_at"]);
    assert_eq!(reply.body["email"], "new@example.com");
    let token = reply.body["token"].as_str().unwrap().to_owned();
    let invite_id = reply.body["id"].as_str().unwrap().to_owned();

    for (body, status, code) in [
        (
            json!({"email": "x", "role": "member"}),
            400,
            "invalid_request",
        ),
        (
            json!({"email": "x@example.com", "role": "owner"}),
            400,
            "invalid_request",
        ),
        (json!({"email": "x@example.com"}), 400, "invalid_request"),
    ] {
        let reply = api
            .call("POST", "/v1/org/invites", Some(&owner.key), org, Some(body))
            .await;
        assert_error(&reply, status, code);
    }
    let reply = api
        .call(
            "POST",
            "/v1/org/invites",
            Some(&member_key),
            org,
            Some(json!({"email": "x@example.com", "role": "member"})),
        )
        .await;
    assert_error(&reply, 403, "forbidden");
    assert_error(
        &api.call("GET", "/v1/org/invites", Some(&member_key), org, None)
            .await,
        403,
        "forbidden",
    );

    let reply = api
        .call("GET", "/v1/org/invites", Some(&owner.key), org, None)
        .await;
    assert_eq!(reply.status, 200);
    let invites = reply.body["invites"].as_array().unwrap();
    assert_eq!(invites.len(), 1);
    assert_eq!(invites[0]["id"], invite_id.as_str());
    assert!(invites[0].get("token").is_none(), "no tokens in lists");

    // Nobody accepts anonymously: the token alone does not prove the mailbox.
    let reply = api
        .call(
            "POST",
            "/v1/invites/accept",
            None,
            None,
            Some(json!({"token": token})),
        )
        .await;
    assert_error(&reply, 401, "unauthenticated");
    // The invitee, verified, with their own key: a membership.
    let (new_key, _) = api.user("new@example.com");
    let reply = api
        .call(
            "POST",
            "/v1/invites/accept",
            Some(&new_key),
            None,
            Some(json!({"token": token})),
        )
        .await;
    assert_eq!(reply.status, 201, "{reply:?}");
    assert_eq!(reply.body["org_id"], owner.org_id.as_str());
    assert_eq!(reply.body["role"], "member");
    assert!(reply.body.get("api_key").is_none(), "{reply:?}");
    let reply = api.call("GET", "/v1/org", Some(&new_key), org, None).await;
    assert_eq!(
        (reply.status, reply.body["id"].as_str()),
        (200, Some(owner.org_id.as_str()))
    );

    // Used, or unknown: the same answer whoever asks.
    for key in [Some(new_key.as_str()), Some(owner.key.as_str())] {
        let reply = api
            .call(
                "POST",
                "/v1/invites/accept",
                key,
                None,
                Some(json!({"token": token})),
            )
            .await;
        assert_error(&reply, 400, "invalid_invite");
    }
    let reply = api
        .call(
            "POST",
            "/v1/invites/accept",
            Some(&new_key),
            None,
            Some(json!({"token": "unknown"})),
        )
        .await;
    assert_error(&reply, 400, "invalid_invite");

    // Another user, even the inviting admin, holding the token: refused.
    let (eve_key, _) = api.user("eve@example.com");
    api.user("dan@example.com");
    let token = api.invite(&owner, "dan@example.com", "admin").await;
    for key in [&eve_key, &owner.key] {
        let reply = api
            .call(
                "POST",
                "/v1/invites/accept",
                Some(key),
                None,
                Some(json!({"token": token})),
            )
            .await;
        assert_error(&reply, 403, "forbidden");
    }

    // Revoked invites are gone.
    let token = api.invite(&owner, "gone@example.com", "member").await;
    let (gone_key, _) = api.user("gone@example.com");
    let listed = api
        .call("GET", "/v1/org/invites", Some(&owner.key), org, None)
        .await;
    let gone_id = listed.body["invites"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["email"] == "gone@example.com")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let reply = api
        .call(
            "DELETE",
            &format!("/v1/org/invites/{gone_id}"),
            Some(&owner.key),
            org,
            None,
        )
        .await;
    assert_eq!(reply.status, 204);
    assert_error(
        &api.call(
            "DELETE",
            &format!("/v1/org/invites/{gone_id}"),
            Some(&owner.key),
            org,
            None,
        )
        .await,
        404,
        "not_found",
    );
    let reply = api
        .call(
            "POST",
            "/v1/invites/accept",
            Some(&gone_key),
            None,
            Some(json!({"token": token})),
        )
        .await;
    assert_error(&reply, 400, "invalid_invite");
}

async fn api_keys_are_created_listed_rotated_and_revoked(db: TestDatabase) {
    let api = Api::start(db).await;
    let owner = api.owner("ada@example.com", "Acme").await;
    let (member_key, member_id) = api.member(&owner, "cy@example.com", "member").await;
    let org = Some(owner.org_id.as_str());

    let reply = api
        .call(
            "POST",
            "/v1/api-keys",
            Some(&owner.key),
            org,
            Some(json!({"name": "ci"})),
        )
        .await;
    assert_eq!(reply.status, 201, "{reply:?}");
    let keys: Vec<&str> = reply
        .body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "id",
            "name",
            "prefix",
            "api_key",
            "org_id",
            "created_at",
            "expires_at"
        ]
    );
    assert_eq!(
        reply.body["org_id"],
        owner.org_id.as_str(),
        "pinned by default"
    );
    let pinned_key = reply.body["api_key"].as_str().unwrap().to_owned();
    assert!(pinned_key.starts_with(&format!("navi_{}_", reply.body["prefix"].as_str().unwrap())));

    // A pinned key stays inside its org: it makes no other org, and no user key; a user key can.
    let reply = api
        .call(
            "POST",
            "/v1/orgs",
            Some(&pinned_key),
            None,
            Some(json!({"name": "Elsewhere"})),
        )
        .await;
    assert_error(&reply, 403, "forbidden");
    let reply = api
        .call(
            "POST",
            "/v1/api-keys",
            Some(&pinned_key),
            None,
            Some(json!({"name": "u", "pinned": false})),
        )
        .await;
    assert_error(&reply, 403, "forbidden");
    let reply = api
        .call(
            "POST",
            "/v1/api-keys",
            Some(&owner.key),
            org,
            Some(json!({"name": "u", "pinned": false, "expires_in_days": 30})),
        )
        .await;
    assert_eq!(
        (reply.status, reply.body["org_id"].clone()),
        (201, Value::Null)
    );
    assert!(is_timestamp(&reply.body["expires_at"]));
    for bad in [
        json!({"name": ""}),
        json!({"name": "x", "expires_in_days": 0}),
        json!({"name": "x", "color": "red"}),
        json!({"pinned": true}),
    ] {
        assert_error(
            &api.call("POST", "/v1/api-keys", Some(&owner.key), org, Some(bad))
                .await,
            400,
            "invalid_request",
        );
    }

    // A member's own key, pinned to the org.
    let reply = api
        .call(
            "POST",
            "/v1/api-keys",
            Some(&member_key),
            org,
            Some(json!({"name": "mine"})),
        )
        .await;
    let member_pinned_id = reply.body["id"].as_str().unwrap().to_owned();
    let list = |key: String| {
        let api = &api;
        async move {
            let reply = api.call("GET", "/v1/api-keys", Some(&key), org, None).await;
            assert_eq!(reply.status, 200);
            reply.body["api_keys"].as_array().unwrap().clone()
        }
    };
    let member_sees = list(member_key.clone()).await;
    assert!(
        member_sees
            .iter()
            .all(|k| k["user_id"] == member_id.as_str()),
        "{member_sees:?}"
    );
    assert!(member_sees.iter().all(|k| k.get("api_key").is_none()));
    let owner_sees = list(owner.key.clone()).await;
    assert!(
        owner_sees
            .iter()
            .any(|k| k["id"] == member_pinned_id.as_str()),
        "admin+ see the org's pinned keys"
    );

    // Rotation: only the key's own user; the predecessor works during the grace period.
    let ci_id = owner_sees.iter().find(|k| k["name"] == "ci").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let rotate = |key: String, id: String, grace: Value| {
        let api = &api;
        async move {
            api.call(
                "POST",
                &format!("/v1/api-keys/{id}/rotate"),
                Some(&key),
                org,
                Some(json!({"grace_seconds": grace})),
            )
            .await
        }
    };
    assert_error(
        &rotate(owner.key.clone(), member_pinned_id.clone(), json!(0)).await,
        403,
        "forbidden",
    );
    assert_error(
        &rotate(owner.key.clone(), ci_id.clone(), json!(604_801)).await,
        400,
        "invalid_request",
    );
    assert_error(
        &rotate(owner.key.clone(), ci_id.clone(), json!(-1)).await,
        400,
        "invalid_request",
    );
    let reply = rotate(owner.key.clone(), ci_id.clone(), json!(3600)).await;
    assert_eq!(
        (reply.status, reply.body["name"].as_str()),
        (201, Some("ci"))
    );
    let rotated_key = reply.body["api_key"].as_str().unwrap().to_owned();
    let rotated_id = reply.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        api.call("GET", "/v1/org", Some(&pinned_key), None, None)
            .await
            .status,
        200,
        "grace"
    );
    assert_eq!(
        api.call("GET", "/v1/org", Some(&rotated_key), None, None)
            .await
            .status,
        200
    );
    let reply = rotate(owner.key.clone(), rotated_id.clone(), json!(0)).await;
    assert_eq!(reply.status, 201);
    assert_error(
        &api.call("GET", "/v1/org", Some(&rotated_key), None, None)
            .await,
        401,
        "unauthenticated",
    );

    // Revocation: the own user, or admin+ of the pinned org; effective at once.
    let reply = api
        .call(
            "DELETE",
            &format!("/v1/api-keys/{member_pinned_id}"),
            Some(&owner.key),
            org,
            None,
        )
        .await;
    assert_eq!(reply.status, 204);
    let owner_key_id = owner_sees.iter().find(|k| k["name"] == "test").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let reply = api
        .call(
            "DELETE",
            &format!("/v1/api-keys/{owner_key_id}"),
            Some(&member_key),
            org,
            None,
        )
        .await;
    assert_error(&reply, 404, "not_found");
    let reply = api
        .call(
            "DELETE",
            &format!("/v1/api-keys/{owner_key_id}"),
            Some(&owner.key),
            org,
            None,
        )
        .await;
    assert_eq!(reply.status, 204);
    assert_error(
        &api.call("GET", "/v1/org", Some(&owner.key), org, None)
            .await,
        401,
        "unauthenticated",
    );
}

/// What `owner` sees of their org through every listing endpoint.
async fn snapshot(api: &Api, owner: &Owner) -> Vec<Reply> {
    let mut state = Vec::new();
    for path in [
        "/v1/org",
        "/v1/org/members",
        "/v1/org/invites",
        "/v1/api-keys",
        "/v1/mcp-servers",
        // Failed attacks write no audit event, and the chain still holds.
        "/v1/audit/logs",
        "/v1/audit/verify",
    ] {
        state.push(
            api.call("GET", path, Some(&owner.key), Some(&owner.org_id), None)
                .await,
        );
    }
    state
}

/// Every org-scoped endpoint, attacked from org B with org A's ids, and by naming org A without
/// being a member: never a byte of A's data, and "exists elsewhere" answers exactly like "does
/// not exist".
async fn another_orgs_data_is_unreachable_from_every_endpoint(db: TestDatabase) {
    // Every refusal below counts under `auth_failures`: more than a minute's quota.
    let mut config = common::config_for(&db);
    common::set_limit(
        &mut config,
        navi_server::rate_limits::Policy::AuthFailures,
        1_000,
        60,
    );
    let api = Api::start_with_config(db, config).await;
    let a = api.owner("ada@example.com", "Org A").await;
    let (a_member_key, a_member_id) = api.member(&a, "amy@example.com", "member").await;
    let a_invite = api.invite(&a, "pending@example.com", "member").await;
    let a_invites = api
        .call(
            "GET",
            "/v1/org/invites",
            Some(&a.key),
            Some(&a.org_id),
            None,
        )
        .await;
    let a_invite_id = a_invites.body["invites"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let a_keys = api
        .call("GET", "/v1/api-keys", Some(&a.key), Some(&a.org_id), None)
        .await;
    let a_key_id = a_keys.body["api_keys"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let a_server = api
        .call(
            "POST",
            "/v1/mcp-servers",
            Some(&a.key),
            Some(&a.org_id),
            Some(
                json!({"name": "A tools", "url": "https://a.example/mcp", "transport": "http",
                        "secret": {"token": "a-secret"}}),
            ),
        )
        .await;
    assert_eq!(a_server.status, 201, "{a_server:?}");
    let a_server_id = a_server.body["id"].as_str().unwrap().to_owned();
    let server_body = json!({"name": "B's now", "url": "https://b.example", "transport": "sse",
                             "secret": {"token": "b"}});
    let b = api.owner("bob@example.com", "Org B").await;
    let before = snapshot(&api, &a).await;

    // Org B's owner, acting in B, with A's resource ids: 404, identical to an unknown id.
    let by_id: Vec<(&str, String, String, Option<Value>)> = vec![
        (
            "PATCH",
            format!("/v1/org/members/{a_member_id}"),
            "/v1/org/members/usr_nonexistent000000000".into(),
            Some(json!({"role": "admin"})),
        ),
        (
            "DELETE",
            format!("/v1/org/members/{a_member_id}"),
            "/v1/org/members/usr_nonexistent000000000".into(),
            None,
        ),
        (
            "DELETE",
            format!("/v1/org/invites/{a_invite_id}"),
            "/v1/org/invites/inv_nonexistent000000000".into(),
            None,
        ),
        (
            "DELETE",
            format!("/v1/api-keys/{a_key_id}"),
            "/v1/api-keys/key_nonexistent000000000".into(),
            None,
        ),
        (
            "POST",
            format!("/v1/api-keys/{a_key_id}/rotate"),
            "/v1/api-keys/key_nonexistent000000000/rotate".into(),
            Some(json!({"grace_seconds": 0})),
        ),
        (
            "GET",
            format!("/v1/mcp-servers/{a_server_id}"),
            "/v1/mcp-servers/mcp_nonexistent000000000".into(),
            None,
        ),
        (
            "PUT",
            format!("/v1/mcp-servers/{a_server_id}"),
            "/v1/mcp-servers/mcp_nonexistent000000000".into(),
            Some(server_body.clone()),
        ),
        (
            "GET",
            format!("/v1/mcp-servers/{a_server_id}/secret"),
            "/v1/mcp-servers/mcp_nonexistent000000000/secret".into(),
            None,
        ),
        (
            "DELETE",
            format!("/v1/mcp-servers/{a_server_id}"),
            "/v1/mcp-servers/mcp_nonexistent000000000".into(),
            None,
        ),
    ];
    for (method, elsewhere, nowhere, body) in &by_id {
        let exists_elsewhere = api
            .call(
                method,
                elsewhere,
                Some(&b.key),
                Some(&b.org_id),
                body.clone(),
            )
            .await;
        let does_not_exist = api
            .call(method, nowhere, Some(&b.key), Some(&b.org_id), body.clone())
            .await;
        assert_error(&exists_elsewhere, 404, "not_found");
        assert_eq!(exists_elsewhere, does_not_exist, "{method} {elsewhere}");
    }

    // Org B's owner naming org A: 403, identical to naming an org that does not exist.
    let scoped: Vec<(&str, String, Option<Value>)> = vec![
        ("GET", "/v1/org".into(), None),
        ("GET", "/v1/org/members".into(), None),
        (
            "PATCH",
            format!("/v1/org/members/{a_member_id}"),
            Some(json!({"role": "admin"})),
        ),
        ("DELETE", format!("/v1/org/members/{a_member_id}"), None),
        (
            "POST",
            "/v1/org/invites".into(),
            Some(json!({"email": "x@example.com", "role": "admin"})),
        ),
        ("GET", "/v1/org/invites".into(), None),
        ("DELETE", format!("/v1/org/invites/{a_invite_id}"), None),
        ("POST", "/v1/api-keys".into(), Some(json!({"name": "evil"}))),
        ("GET", "/v1/api-keys".into(), None),
        ("DELETE", format!("/v1/api-keys/{a_key_id}"), None),
        (
            "POST",
            format!("/v1/api-keys/{a_key_id}/rotate"),
            Some(json!({"grace_seconds": 0})),
        ),
        ("POST", "/v1/mcp-servers".into(), Some(server_body.clone())),
        ("GET", "/v1/mcp-servers".into(), None),
        ("GET", format!("/v1/mcp-servers/{a_server_id}"), None),
        (
            "PUT",
            format!("/v1/mcp-servers/{a_server_id}"),
            Some(server_body.clone()),
        ),
        ("GET", format!("/v1/mcp-servers/{a_server_id}/secret"), None),
        ("DELETE", format!("/v1/mcp-servers/{a_server_id}"), None),
        ("GET", "/v1/audit/logs".into(), None),
        ("GET", "/v1/audit/export.csv".into(), None),
        ("GET", "/v1/audit/verify".into(), None),
        ("GET", "/v1/org/limits".into(), None),
        (
            "PUT",
            "/v1/org/limits".into(),
            Some(json!({"policies": [{"name": "requests", "quota": 1}]})),
        ),
    ];
    let (pinned_b, _) = {
        let reply = api
            .call(
                "POST",
                "/v1/api-keys",
                Some(&b.key),
                Some(&b.org_id),
                Some(json!({"name": "pinned"})),
            )
            .await;
        (reply.body["api_key"].as_str().unwrap().to_owned(), ())
    };
    for (method, path, body) in &scoped {
        let member_of_b_naming_a = api
            .call(method, path, Some(&b.key), Some(&a.org_id), body.clone())
            .await;
        let naming_nothing = api
            .call(
                method,
                path,
                Some(&b.key),
                Some("org_nonexistent000000000"),
                body.clone(),
            )
            .await;
        let pinned_elsewhere = api
            .call(method, path, Some(&pinned_b), Some(&a.org_id), body.clone())
            .await;
        assert_error(&member_of_b_naming_a, 403, "forbidden");
        assert_eq!(member_of_b_naming_a, naming_nothing, "{method} {path}");
        assert_eq!(member_of_b_naming_a, pinned_elsewhere, "{method} {path}");
    }

    // A's invite token is still A's to give; A's data did not change.
    assert_eq!(snapshot(&api, &a).await, before);
    let secret = api
        .call(
            "GET",
            &format!("/v1/mcp-servers/{a_server_id}/secret"),
            Some(&a.key),
            Some(&a.org_id),
            None,
        )
        .await;
    assert_eq!(secret.body, json!({"secret": {"token": "a-secret"}}));
    let _ = (a_member_key, a_invite);
}

async fn thirty_two_concurrent_accepts_give_one_201(db: TestDatabase) {
    let api = Api::start(db).await;
    let owner = api.owner("ada@example.com", "Acme").await;
    let token = api.invite(&owner, "racer@example.com", "member").await;
    let (racer_key, _) = api.user("racer@example.com");
    let attempts = (0..32).map(|_| {
        api.call(
            "POST",
            "/v1/invites/accept",
            Some(&racer_key),
            None,
            Some(json!({"token": token})),
        )
    });
    let replies = futures_util::future::join_all(attempts).await;
    let created = replies.iter().filter(|r| r.status == 201).count();
    let invalid = replies
        .iter()
        .filter(|r| r.status == 400 && r.body["error"]["code"] == "invalid_invite")
        .count();
    assert_eq!((created, invalid), (1, 31), "{replies:?}");
}

on_both_backends!(
    orgs_are_created_and_read,
    members_are_listed_changed_and_removed_by_role,
    invites_are_created_listed_revoked_and_accepted_once,
    api_keys_are_created_listed_rotated_and_revoked,
    another_orgs_data_is_unreachable_from_every_endpoint,
    thirty_two_concurrent_accepts_give_one_201,
);

/// Two instances over one database: a revocation through A is refused by A at once; B, which may
/// have the key cached, refuses it once its cache TTL has passed (at once with the cache off).
async fn revocation_reaches_other_instances_within_the_cache_ttl(ttl_ms: u64) {
    let db = TestDatabase::sqlite();
    let start = |ttl_ms: u64| {
        let mut config = common::config_for(&db);
        config.auth_cache_ttl = std::time::Duration::from_millis(ttl_ms);
        async move { TestServer::start_with(common::state_with(config).await) }
    };
    let a = start(5_000).await;
    let b = start(ttl_ms).await;
    let privileged = Privileged::acquire("test setup");
    let key = {
        let mut conn = checkout(&a.state.pool).unwrap();
        let user = find_or_create_user(
            &privileged,
            &mut conn,
            &Email::parse("ada@example.com").unwrap(),
        )
        .unwrap();
        let (_, key) = create_api_key_privileged(
            &privileged,
            &mut conn,
            &navi_tenancy::testing::audit_trail(),
            None,
            &a.state.pepper,
            &user.id,
            None,
            "k",
        )
        .unwrap();
        key.expose().to_owned()
    };
    let org = a
        .call(
            "POST",
            "/v1/orgs",
            Some(&key),
            None,
            Some(json!({"name": "Acme"})),
        )
        .await;
    let org_id = org.body["id"].as_str().unwrap().to_owned();
    // Both instances have seen (and may have cached) the key.
    assert_eq!(
        a.call("GET", "/v1/org", Some(&key), Some(&org_id), None)
            .await
            .status,
        200
    );
    assert_eq!(
        b.call("GET", "/v1/org", Some(&key), Some(&org_id), None)
            .await
            .status,
        200
    );
    let keys = a
        .call("GET", "/v1/api-keys", Some(&key), Some(&org_id), None)
        .await;
    let key_id = keys.body["api_keys"][0]["id"].as_str().unwrap().to_owned();
    let revoked = a
        .call(
            "DELETE",
            &format!("/v1/api-keys/{key_id}"),
            Some(&key),
            Some(&org_id),
            None,
        )
        .await;
    assert_eq!(revoked.status, 204);
    assert_error(
        &a.call("GET", "/v1/org", Some(&key), Some(&org_id), None)
            .await,
        401,
        "unauthenticated",
    );
    actix_web::rt::time::sleep(std::time::Duration::from_millis(ttl_ms + 50)).await;
    assert_error(
        &b.call("GET", "/v1/org", Some(&key), Some(&org_id), None)
            .await,
        401,
        "unauthenticated",
    );
    a.stop().await;
    b.stop().await;
}

#[actix_web::test]
async fn revocation_reaches_a_caching_instance_after_its_ttl() {
    revocation_reaches_other_instances_within_the_cache_ttl(300).await;
}

#[actix_web::test]
async fn revocation_reaches_an_instance_without_a_cache_at_once() {
    revocation_reaches_other_instances_within_the_cache_ttl(0).await;
}
