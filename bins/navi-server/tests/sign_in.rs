//! Email sign-in and browser sessions, through a real SMTP server (aiosmtpd, started by
//! `cargo xtask test`, which delivers into a Maildir the tests read): the link, its binding to the
//! browser that asked, the mail limits, sessions (CSRF, logout seen by another instance, idle end,
//! "sign out everywhere", removal), and invites that need the mailbox.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::browser::{
    link_token, mails_to, redis_url, sign_in_config, start, unique, Browser, PUBLIC,
};
use common::{assert_error, state_with, Api, TestServer};
use navi_server::sessions::digest_of;
use navi_tenancy::testing::TestDatabase;
use serde_json::{json, Value};

async fn an_email_link_signs_in_the_browser_that_asked(db: TestDatabase) {
    let server = start(&db).await;
    let email = format!("{}@example.com", unique("ada"));
    let mut browser = Browser::at("203.0.113.1");
    let reply = browser.start_email(&server, &email).await;
    assert_eq!(reply.status, 202, "{reply:?}");
    assert!(browser.cookies.contains_key("__Host-navi_email"));
    let mails = mails_to(&email);
    assert_eq!(mails.len(), 1);
    assert!(mails[0].contains(&format!("{PUBLIC}/v1/auth/email/confirm#token=")));

    // The page the link opens signs nobody in by itself.
    let page = browser
        .send(&server, "GET", "/v1/auth/email/confirm", None, &[])
        .await;
    assert_eq!(page.status, 200);
    assert!(page
        .body
        .as_str()
        .unwrap()
        .contains("/v1/auth/email/confirm"));
    assert!(!browser.cookies.contains_key("__Host-navi_session"));

    let session = browser.confirm(&server, &link_token(&mails[0])).await;
    assert_eq!(session.status, 200, "{session:?}");
    assert_eq!(session.body["user"]["email"], email.as_str());
    assert!(common::is_timestamp(
        &session.body["user"]["email_verified_at"]
    ));
    assert_eq!(session.body["orgs"], json!([]));
    assert!(browser.cookies.contains_key("__Host-navi_session"));
    assert!(
        !browser.cookies.contains_key("__Host-navi_email"),
        "the link's cookie is dropped once used"
    );
    let current = browser
        .send(&server, "GET", "/v1/auth/session", None, &[])
        .await;
    assert_eq!(current.status, 200);
    assert_eq!(current.body["user"], session.body["user"]);
    assert_eq!(current.body["csrf_token"], session.body["csrf_token"]);

    // The session acts as its user: an org, then the org through X-Navi-Org.
    let session = session.body;
    let org = browser
        .act(
            &server,
            &session,
            "POST",
            "/v1/orgs",
            None,
            Some(json!({"name": "Acme"})),
        )
        .await;
    assert_eq!(org.status, 201, "{org:?}");
    let org_id = org.body["id"].as_str().unwrap();
    let read = browser
        .act(&server, &session, "GET", "/v1/org", Some(org_id), None)
        .await;
    assert_eq!((read.status, &read.body["id"]), (200, &json!(org_id)));
    let without_org = browser
        .act(&server, &session, "GET", "/v1/org", None, None)
        .await;
    assert_error(&without_org, 403, "org_context_required");

    // The link is single use.
    let replay = browser.confirm(&server, &link_token(&mails[0])).await;
    assert_error(&replay, 400, "invalid_token");
}

async fn a_link_opened_without_the_asking_browsers_cookie_signs_nobody_in(db: TestDatabase) {
    let server = start(&db).await;
    let email = format!("{}@example.com", unique("bob"));
    let mut asker = Browser::at("203.0.113.2");
    assert_eq!(asker.start_email(&server, &email).await.status, 202);
    let token = link_token(&mails_to(&email)[0]);

    // Another browser with no cookie, one with its own link's cookie, a scanner's GET: nothing.
    let mut elsewhere = Browser::at("198.51.100.7");
    assert_error(
        &elsewhere.confirm(&server, &token).await,
        400,
        "invalid_token",
    );
    let mut other = Browser::at("198.51.100.8");
    let other_email = format!("{}@example.com", unique("other"));
    assert_eq!(other.start_email(&server, &other_email).await.status, 202);
    assert_error(&other.confirm(&server, &token).await, 400, "invalid_token");
    let scanner = elsewhere
        .send(
            &server,
            "GET",
            &format!("/v1/auth/email/confirm?token={token}"),
            None,
            &[],
        )
        .await;
    assert_eq!(scanner.status, 200);
    assert!(!elsewhere.cookies.contains_key("__Host-navi_session"));
    // A made-up token in the right browser.
    assert_error(
        &asker.confirm(&server, &"A".repeat(43)).await,
        400,
        "invalid_token",
    );
    // From another origin, with the right cookie and token: refused before anything is used.
    let foreign = asker
        .send(
            &server,
            "POST",
            "/v1/auth/email/confirm",
            Some(json!({ "token": token })),
            &[("Origin", "https://evil.example")],
        )
        .await;
    assert_error(&foreign, 403, "forbidden");

    // None of that used the link up: the browser that asked signs in with it.
    let signed_in = asker.confirm(&server, &token).await;
    assert_eq!(signed_in.status, 200, "{signed_in:?}");
    assert_eq!(signed_in.body["user"]["email"], email.as_str());
}

async fn starting_answers_alike_for_every_address(db: TestDatabase) {
    let server = start(&db).await;
    let api = Api::start_on(server);
    let known = format!("{}@example.com", unique("known"));
    api.user(&known);
    let unknown = format!("{}@example.com", unique("unknown"));
    let mut browser = Browser::at("203.0.113.3");
    let a = browser.start_email(&api.server, &known).await;
    let b = browser.start_email(&api.server, &unknown).await;
    assert_eq!((a.status, &a.body), (b.status, &b.body));
    assert_eq!(a.status, 202);
    assert_eq!(mails_to(&known).len(), 1);
    assert_eq!(mails_to(&unknown).len(), 1);
    let named = format!("CALL-NOW<{known}>");
    for bad in [
        "",
        "not-an-email",
        "a@b@c",
        named.as_str(),
        "тест@пример.рф",
    ] {
        let reply = browser.start_email(&api.server, bad).await;
        assert_error(&reply, 400, "invalid_request");
    }
    let extra = browser
        .send(
            &api.server,
            "POST",
            "/v1/auth/email/start",
            Some(json!({"email": unknown, "admin": true})),
            &[],
        )
        .await;
    assert_error(&extra, 400, "invalid_request");
}

async fn mails_are_limited_per_recipient_and_per_client(db: TestDatabase) {
    let server = start(&db).await;
    // Five to one recipient from five clients; the sixth is refused and not sent.
    let target = format!("{}@example.com", unique("target"));
    for n in 0..5 {
        let mut browser = Browser::at(&format!("192.0.2.{n}"));
        assert_eq!(browser.start_email(&server, &target).await.status, 202);
    }
    let mut sixth = Browser::at("192.0.2.99");
    let refused = sixth.start_email(&server, &target).await;
    assert_error(&refused, 429, "rate_limited");
    assert_eq!(mails_to(&target).len(), 5);

    // Five from one client to five recipients; the sixth is refused. An IPv6 client counts per
    // /64: two addresses of one /64 are one client.
    for (client, other_half) in [
        ("198.51.100.20", "198.51.100.20"),
        ("2001:db8:1:2::1", "2001:db8:1:2::ffff"),
    ] {
        for n in 0..5 {
            let ip = if n % 2 == 0 { client } else { other_half };
            let mut browser = Browser::at(ip);
            let email = format!("{}@example.com", unique("many"));
            assert_eq!(
                browser.start_email(&server, &email).await.status,
                202,
                "{ip}"
            );
        }
        let mut browser = Browser::at(other_half);
        let email = format!("{}@example.com", unique("many"));
        assert_error(
            &browser.start_email(&server, &email).await,
            429,
            "rate_limited",
        );
        assert!(mails_to(&email).is_empty());
    }
    // Another /64 is another client.
    let mut neighbour = Browser::at("2001:db8:1:3::1");
    let email = format!("{}@example.com", unique("many"));
    assert_eq!(neighbour.start_email(&server, &email).await.status, 202);
}

async fn unsafe_session_requests_need_the_origin_and_the_csrf_token(db: TestDatabase) {
    let server = start(&db).await;
    let mut browser = Browser::at("203.0.113.4");
    let email = format!("{}@example.com", unique("csrf"));
    let session = browser.sign_in(&server, &email).await;
    let csrf = session["csrf_token"].as_str().unwrap().to_owned();
    let body = Some(json!({"name": "Acme"}));
    for (origin, token) in [
        (None, Some(csrf.as_str())),
        (Some("null"), Some(csrf.as_str())),
        (Some("https://evil.example"), Some(csrf.as_str())),
        (Some("http://localhost:8081"), Some(csrf.as_str())),
        (Some(PUBLIC), None),
        (Some(PUBLIC), Some("not-the-token")),
    ] {
        let mut request = awc::Client::new()
            .post(server.url("/v1/orgs"))
            .insert_header((
                "Cookie",
                format!(
                    "__Host-navi_session={}",
                    browser.cookies["__Host-navi_session"]
                ),
            ))
            .insert_header(("Content-Type", "application/json"));
        if let Some(origin) = origin {
            request = request.insert_header(("Origin", origin));
        }
        if let Some(token) = token {
            request = request.insert_header(("X-Navi-CSRF", token));
        }
        let response = request
            .send_body(body.clone().unwrap().to_string())
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 403, "{origin:?} {token:?}");
    }
    // Reads need neither; the right origin and token make the change.
    let read = browser
        .send(&server, "GET", "/v1/auth/session", None, &[])
        .await;
    assert_eq!(read.status, 200);
    let made = browser
        .act(&server, &session, "POST", "/v1/orgs", None, body)
        .await;
    assert_eq!(made.status, 201, "{made:?}");
    // Without a session, a cookie that names none is no credential.
    let mut stranger = Browser::at("203.0.113.5");
    stranger
        .cookies
        .insert("__Host-navi_session".into(), "made-up".into());
    let reply = stranger
        .send(&server, "GET", "/v1/auth/session", None, &[])
        .await;
    assert_error(&reply, 401, "unauthenticated");
}

/// Two instances over one database and one Redis: a logout through one is seen by the other at
/// the next request, and so is the end of every session.
async fn logout_is_seen_by_another_instance_at_once(db: TestDatabase) {
    let prefix = format!("{}:", unique("shared"));
    let redis = |db: &TestDatabase| {
        let mut config = sign_in_config(db, &prefix);
        config.redis_url = Some(redis_url());
        config.cache_key_prefix = prefix.clone();
        config
    };
    let a = TestServer::start_with(state_with(redis(&db)).await);
    let b = TestServer::start_with(state_with(redis(&db)).await);
    let email = format!("{}@example.com", unique("two"));
    let mut browser = Browser::at("203.0.113.6");
    let session = browser.sign_in(&a, &email).await;
    assert_eq!(
        browser
            .send(&b, "GET", "/v1/auth/session", None, &[])
            .await
            .status,
        200
    );
    let cookies = browser.cookies.clone();
    let out = browser
        .act(&a, &session, "POST", "/v1/auth/logout", None, None)
        .await;
    assert_eq!(out.status, 204, "{out:?}");
    assert!(!browser.cookies.contains_key("__Host-navi_session"));
    let mut stale = Browser::at("203.0.113.6");
    stale.cookies = cookies;
    assert_error(
        &stale.send(&b, "GET", "/v1/auth/session", None, &[]).await,
        401,
        "unauthenticated",
    );

    // Two sessions, one "sign out everywhere" through B: both end on both instances.
    let mut first = Browser::at("203.0.113.6");
    let first_session = first.sign_in(&a, &email).await;
    let mut second = Browser::at("203.0.113.6");
    second.sign_in(&b, &email).await;
    let ended = first
        .act(
            &b,
            &first_session,
            "DELETE",
            "/v1/auth/sessions",
            None,
            None,
        )
        .await;
    assert_eq!(ended.status, 204, "{ended:?}");
    for server in [&a, &b] {
        let reply = second
            .send(server, "GET", "/v1/auth/session", None, &[])
            .await;
        assert_error(&reply, 401, "unauthenticated");
    }
    // A new sign-in works.
    let mut third = Browser::at("203.0.113.6");
    third.sign_in(&b, &email).await;
    assert_eq!(
        third
            .send(&a, "GET", "/v1/auth/session", None, &[])
            .await
            .status,
        200
    );
}

async fn an_idle_session_ends(db: TestDatabase) {
    let server = start(&db).await;
    let mut browser = Browser::at("203.0.113.7");
    let email = format!("{}@example.com", unique("idle"));
    browser.sign_in(&server, &email).await;
    let token = browser.cookies["__Host-navi_session"].clone();
    // Its last request was 12 hours ago (the mark's TTL would have dropped it; an older mark
    // must not be trusted either).
    let long_ago = navi_tenancy::now() - chrono::TimeDelta::hours(12);
    server
        .state
        .cache
        .set_json(
            &format!("session-seen:{}", digest_of(&[&token])),
            &long_ago,
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    assert_error(
        &browser
            .send(&server, "GET", "/v1/auth/session", None, &[])
            .await,
        401,
        "unauthenticated",
    );
}

/// The old way to squat an address: an admin invites `victim@…`, keeps the token, and accepts it
/// for a user they made. Now the token needs the victim's verified mailbox, and the victim's first
/// verification ends whatever was made for that address before.
async fn an_invite_needs_the_invited_mailbox(db: TestDatabase) {
    let server = start(&db).await;
    let api = Api::start_on(server);
    let owner = api
        .owner(&format!("{}@example.com", unique("admin")), "Acme")
        .await;
    let victim = format!("{}@corp.example", unique("victim"));
    let token = api.invite(&owner, &victim, "member").await;
    assert_eq!(mails_to(&victim).len(), 1, "the invite is mailed");
    assert!(mails_to(&victim)[0].contains(&format!("{PUBLIC}/v1/invites/accept#token={token}")));

    let accept = |key: Option<String>| {
        let api = &api;
        let token = token.clone();
        async move {
            api.call(
                "POST",
                "/v1/invites/accept",
                key.as_deref(),
                None,
                Some(json!({ "token": token })),
            )
            .await
        }
    };
    assert_error(&accept(None).await, 401, "unauthenticated");
    assert_error(&accept(Some(owner.key.clone())).await, 403, "forbidden");
    // A user the admin made for the victim's address (as bootstrap would, unverified).
    let squatter_key = {
        let privileged = navi_tenancy::Privileged::acquire("test setup");
        let mut conn = navi_tenancy::checkout(&api.server.state.pool).unwrap();
        let user = navi_tenancy::users::find_or_create_user(
            &privileged,
            &mut conn,
            &navi_tenancy::Email::parse(&victim).unwrap(),
        )
        .unwrap();
        let (_, key) = navi_tenancy::api_keys::create_api_key_privileged(
            &privileged,
            &mut conn,
            &navi_tenancy::testing::audit_trail(),
            None,
            &api.server.state.pepper,
            &user.id,
            None,
            "squat",
        )
        .unwrap();
        key.expose().to_owned()
    };
    assert_error(&accept(Some(squatter_key.clone())).await, 403, "forbidden");

    // The victim signs in from their mailbox and accepts; the squatter's key is dead.
    let mut browser = Browser::at("203.0.113.8");
    let session = browser.sign_in(&api.server, &victim).await;
    let joined = browser
        .act(
            &api.server,
            &session,
            "POST",
            "/v1/invites/accept",
            None,
            Some(json!({ "token": token })),
        )
        .await;
    assert_eq!(joined.status, 201, "{joined:?}");
    assert_eq!(joined.body["org_id"], owner.org_id.as_str());
    let org = browser
        .act(
            &api.server,
            &session,
            "GET",
            "/v1/org",
            Some(&owner.org_id),
            None,
        )
        .await;
    assert_eq!(org.status, 200);
    assert_error(
        &api.call("GET", "/v1/api-keys", Some(&squatter_key), None, None)
            .await,
        401,
        "unauthenticated",
    );
}

async fn a_removed_members_session_loses_the_org_at_once(db: TestDatabase) {
    let server = start(&db).await;
    let api = Api::start_on(server);
    let owner = api
        .owner(&format!("{}@example.com", unique("owner")), "Acme")
        .await;
    let email = format!("{}@example.com", unique("member"));
    let (_, member_id) = api.member(&owner, &email, "member").await;
    let mut browser = Browser::at("203.0.113.9");
    let session = browser.sign_in(&api.server, &email).await;
    let org = Some(owner.org_id.as_str());
    assert_eq!(
        browser
            .act(&api.server, &session, "GET", "/v1/org", org, None)
            .await
            .status,
        200
    );
    let removed = api
        .call(
            "DELETE",
            &format!("/v1/org/members/{member_id}"),
            Some(&owner.key),
            org,
            None,
        )
        .await;
    assert_eq!(removed.status, 204);
    assert_error(
        &browser
            .act(&api.server, &session, "GET", "/v1/org", org, None)
            .await,
        403,
        "forbidden",
    );
}

async fn a_session_makes_keys_that_expire_within_90_days(db: TestDatabase) {
    let server = start(&db).await;
    let mut browser = Browser::at("203.0.113.10");
    let session = browser
        .sign_in(&server, &format!("{}@example.com", unique("keys")))
        .await;
    let org = browser
        .act(
            &server,
            &session,
            "POST",
            "/v1/orgs",
            None,
            Some(json!({"name": "Acme"})),
        )
        .await;
    let org_id = org.body["id"].as_str().unwrap();
    for asked in [
        json!({"name": "laptop"}),
        json!({"name": "ci", "expires_in_days": 365}),
    ] {
        let made = browser
            .act(
                &server,
                &session,
                "POST",
                "/v1/api-keys",
                Some(org_id),
                Some(asked),
            )
            .await;
        assert_eq!(made.status, 201, "{made:?}");
        let expires =
            chrono::DateTime::parse_from_rfc3339(made.body["expires_at"].as_str().unwrap())
                .unwrap();
        let limit = chrono::Utc::now() + chrono::TimeDelta::days(90);
        assert!(expires <= limit, "{expires} is within 90 days");
        assert!(expires > limit - chrono::TimeDelta::minutes(5), "{expires}");
    }
    // Only keys pinned to the org it acts in: a user key would carry the session elsewhere.
    let user_key = browser
        .act(
            &server,
            &session,
            "POST",
            "/v1/api-keys",
            Some(org_id),
            Some(json!({"name": "everywhere", "pinned": false})),
        )
        .await;
    assert_error(&user_key, 403, "forbidden");
}

async fn owners_manage_sso_connections(db: TestDatabase) {
    let server = start(&db).await;
    let api = Api::start_on(server);
    let owner = api
        .owner(&format!("{}@example.com", unique("owner")), "Acme")
        .await;
    let org = Some(owner.org_id.as_str());
    let (admin_key, _) = api
        .member(&owner, &format!("{}@example.com", unique("admin")), "admin")
        .await;
    let other = api
        .owner(&format!("{}@example.com", unique("other")), "Other")
        .await;
    let body = json!({
        "issuer": "https://idp.corp.example",
        "client_id": "navi",
        "client_secret": "s3cret-value",
        "role_claim": "groups",
        "role_values": {"admin": ["navi-admins"]},
    });
    let made = api
        .call(
            "POST",
            "/v1/org/sso/connections",
            Some(&owner.key),
            org,
            Some(body.clone()),
        )
        .await;
    assert_eq!(made.status, 201, "{made:?}");
    let id = made.body["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("sso_"));
    assert_eq!(made.body["has_client_secret"], true);
    assert_eq!(made.body["first_role"], "member");
    assert_eq!(made.body["enforced"], false);
    assert_eq!(
        made.body["redirect_uri"],
        format!("{PUBLIC}/v1/auth/sso/callback")
    );
    assert!(!made.body.to_string().contains("s3cret-value"), "{made:?}");
    let path = format!("/v1/org/sso/connections/{id}");
    let shown = api.get_ok(&path, &owner.key, org).await;
    assert_eq!(shown, made.body);
    let listed = api.get_ok("/v1/org/sso/connections", &owner.key, org).await;
    assert_eq!(listed["connections"], json!([made.body]));

    // Only owners, only their org.
    for (method, path) in [
        ("GET", "/v1/org/sso/connections"),
        ("GET", path.as_str()),
        ("DELETE", path.as_str()),
    ] {
        let reply = api.call(method, path, Some(&admin_key), org, None).await;
        assert_error(&reply, 403, "forbidden");
    }
    let reply = api
        .call(
            "POST",
            "/v1/org/sso/connections",
            Some(&admin_key),
            org,
            Some(body.clone()),
        )
        .await;
    assert_error(&reply, 403, "forbidden");
    let reply = api
        .call("GET", &path, Some(&other.key), Some(&other.org_id), None)
        .await;
    assert_error(&reply, 404, "not_found");

    // PUT: an absent secret is kept, null clears it.
    let mut kept = body.clone();
    kept.as_object_mut().unwrap().remove("client_secret");
    kept["enforced"] = json!(true);
    let updated = api
        .call("PUT", &path, Some(&owner.key), org, Some(kept))
        .await;
    assert_eq!(updated.status, 200, "{updated:?}");
    assert_eq!(
        (
            &updated.body["has_client_secret"],
            &updated.body["enforced"]
        ),
        (&json!(true), &json!(true))
    );
    let mut cleared = body.clone();
    cleared["client_secret"] = Value::Null;
    let updated = api
        .call("PUT", &path, Some(&owner.key), org, Some(cleared))
        .await;
    assert_eq!(updated.body["has_client_secret"], false, "{updated:?}");

    for (field, value) in [
        ("issuer", json!("http://idp.corp.example")),
        ("issuer", json!("ftp://idp.corp.example")),
        ("issuer", json!("https://idp.corp.example/?a=1")),
        ("issuer", json!("not a url")),
        ("first_role", json!("owner")),
        ("client_id", json!("")),
        ("role_claim", Value::Null),
    ] {
        let mut bad = body.clone();
        bad[field] = value;
        let reply = api
            .call(
                "POST",
                "/v1/org/sso/connections",
                Some(&owner.key),
                org,
                Some(bad),
            )
            .await;
        assert_error(&reply, 400, "invalid_request");
    }

    assert_eq!(
        api.call("DELETE", &path, Some(&owner.key), org, None)
            .await
            .status,
        204
    );
    assert_error(
        &api.call("GET", &path, Some(&owner.key), org, None).await,
        404,
        "not_found",
    );
    let events = api.get_ok("/v1/audit/logs", &owner.key, org).await;
    let actions: Vec<&str> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["action"].as_str().unwrap())
        .collect();
    for action in [
        "sso_connection.create",
        "sso_connection.update",
        "sso_connection.delete",
    ] {
        assert!(actions.contains(&action), "{actions:?}");
    }
    assert!(!events.to_string().contains("s3cret-value"));
}

async fn a_domain_belongs_to_one_org(db: TestDatabase) {
    use navi_server::bootstrap::{domains, Domains};
    let server = start(&db).await;
    let api = Api::start_on(server);
    let acme = api
        .owner(&format!("{}@example.com", unique("acme")), "Acme")
        .await;
    let globex = api
        .owner(&format!("{}@example.com", unique("globex")), "Globex")
        .await;
    let acme_slug = api.get_ok("/v1/org", &acme.key, Some(&acme.org_id)).await["slug"]
        .as_str()
        .unwrap()
        .to_owned();
    let globex_slug = api
        .get_ok("/v1/org", &globex.key, Some(&globex.org_id))
        .await["slug"]
        .as_str()
        .unwrap()
        .to_owned();
    let config = api.server.state.config.as_ref();
    let domain = format!("{}.example", unique("corp"));
    let run = |action| domains(config, false, action);
    let upper = domain.to_uppercase();
    run(Domains::Approve {
        org: &acme_slug,
        domain: &upper,
    })
    .unwrap();
    let twice = run(Domains::Approve {
        org: &acme_slug,
        domain: &domain,
    })
    .unwrap_err();
    assert!(twice.to_string().contains("already approved"), "{twice}");
    let taken = run(Domains::Approve {
        org: &globex_slug,
        domain: &domain,
    })
    .unwrap_err();
    assert!(taken.to_string().contains("another org"), "{taken}");
    assert_eq!(
        run(Domains::List { org: &acme_slug }).unwrap(),
        vec![domain.clone()]
    );
    assert!(run(Domains::List { org: &globex_slug }).unwrap().is_empty());
    let bad = run(Domains::Approve {
        org: &acme_slug,
        domain: "not a domain",
    })
    .unwrap_err();
    assert!(bad.to_string().contains("domain"), "{bad}");
    let missing = run(Domains::Revoke {
        org: &globex_slug,
        domain: &domain,
    })
    .unwrap_err();
    assert!(missing.to_string().contains("not approved"), "{missing}");
    run(Domains::Revoke {
        org: &acme_slug,
        domain: &domain,
    })
    .unwrap();
    run(Domains::Approve {
        org: &globex_slug,
        domain: &domain,
    })
    .unwrap();
    let events = api
        .get_ok("/v1/audit/logs", &acme.key, Some(&acme.org_id))
        .await;
    let actions: Vec<&str> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"sso_domain.approve") && actions.contains(&"sso_domain.revoke"),
        "{actions:?}"
    );
    let verified = api
        .get_ok("/v1/audit/verify", &acme.key, Some(&acme.org_id))
        .await;
    assert_eq!(verified["ok"], true);
}

async fn an_enforced_connection_refuses_other_sessions_but_not_keys(db: TestDatabase) {
    let server = start(&db).await;
    let api = Api::start_on(server);
    let owner = api
        .owner(&format!("{}@example.com", unique("owner")), "Acme")
        .await;
    let org = Some(owner.org_id.as_str());
    let email = format!("{}@example.com", unique("member"));
    let (member_key, _) = api.member(&owner, &email, "member").await;
    let mut browser = Browser::at("203.0.113.13");
    let session = browser.sign_in(&api.server, &email).await;
    assert_eq!(
        browser
            .act(&api.server, &session, "GET", "/v1/org", org, None)
            .await
            .status,
        200
    );
    let made = api
        .call(
            "POST",
            "/v1/org/sso/connections",
            Some(&owner.key),
            org,
            Some(json!({"issuer": "https://idp.corp.example", "client_id": "navi", "enforced": true})),
        )
        .await;
    assert_eq!(made.status, 201, "{made:?}");
    assert_error(
        &browser
            .act(&api.server, &session, "GET", "/v1/org", org, None)
            .await,
        403,
        "sso_required",
    );
    assert_eq!(
        api.call("GET", "/v1/org", Some(&member_key), org, None)
            .await
            .status,
        200
    );
}

/// Invites share the recipient's mail limit with sign-in links, and an org mails at most 20 an
/// hour: nobody makes Navi their mailer.
async fn invite_mails_are_limited(db: TestDatabase) {
    let server = start(&db).await;
    let api = Api::start_on(server);
    let owner = api
        .owner(&format!("{}@example.com", unique("owner")), "Acme")
        .await;
    let target = format!("{}@example.com", unique("target"));
    for _ in 0..7 {
        let token = api.invite(&owner, &target, "member").await;
        assert!(!token.is_empty(), "the invite is made even when not mailed");
    }
    assert_eq!(mails_to(&target).len(), 5);
    assert!(
        mails_to(&target)
            .iter()
            .all(|mail| mail.contains("Subject: You are invited to an organization on Navi")),
        "the org's name stays out of the subject"
    );
    let mut browser = Browser::at("203.0.113.14");
    assert_error(
        &browser.start_email(&api.server, &target).await,
        429,
        "rate_limited",
    );
    for n in 0..20 {
        api.invite(
            &owner,
            &format!("{}-{n}@example.com", unique("many")),
            "member",
        )
        .await;
    }
    let last = format!("{}@example.com", unique("last"));
    api.invite(&owner, &last, "member").await;
    assert!(
        mails_to(&last).is_empty(),
        "the org's 20 an hour are used up"
    );
}

on_both_backends!(
    invite_mails_are_limited,
    owners_manage_sso_connections,
    a_domain_belongs_to_one_org,
    an_enforced_connection_refuses_other_sessions_but_not_keys,
    an_email_link_signs_in_the_browser_that_asked,
    a_link_opened_without_the_asking_browsers_cookie_signs_nobody_in,
    starting_answers_alike_for_every_address,
    mails_are_limited_per_recipient_and_per_client,
    unsafe_session_requests_need_the_origin_and_the_csrf_token,
    logout_is_seen_by_another_instance_at_once,
    an_idle_session_ends,
    an_invite_needs_the_invited_mailbox,
    a_removed_members_session_loses_the_org_at_once,
    a_session_makes_keys_that_expire_within_90_days,
);

/// PostgreSQL without SMTP has nowhere to send a link: 503, and nothing is mailed.
#[actix_web::test]
async fn email_sign_in_without_mail_on_postgres_is_unavailable() {
    let db = TestDatabase::postgres();
    let mut config = sign_in_config(&db, &format!("{}:", unique("nomail")));
    config.smtp_url = None;
    let server = TestServer::start_with(state_with(config).await);
    let email = format!("{}@example.com", unique("nomail"));
    let reply = Browser::at("203.0.113.11")
        .start_email(&server, &email)
        .await;
    assert_error(&reply, 503, "unavailable");
    assert!(mails_to(&email).is_empty());
}

/// The embedded default without SMTP writes mail to `outbox/` next to the database, private,
/// keeping the newest 1,000.
#[actix_web::test]
async fn without_smtp_the_embedded_default_writes_an_outbox() {
    let db = TestDatabase::sqlite();
    let mut config = sign_in_config(&db, "unused:");
    config.smtp_url = None;
    let outbox = db
        .url()
        .sqlite_path()
        .unwrap()
        .parent()
        .unwrap()
        .join("outbox");
    std::fs::create_dir_all(&outbox).unwrap();
    for n in 0..1_000 {
        std::fs::write(outbox.join(format!("{n:020}-old.eml")), "To: old\r\n").unwrap();
    }
    let server = TestServer::start_with(state_with(config).await);
    let email = format!("{}@example.com", unique("outbox"));
    let reply = Browser::at("203.0.113.12")
        .start_email(&server, &email)
        .await;
    assert_eq!(reply.status, 202, "{reply:?}");
    let files: Vec<PathBuf> = std::fs::read_dir(&outbox)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1_000);
    assert!(
        !outbox.join(format!("{:020}-old.eml", 0)).exists(),
        "the oldest went"
    );
    let newest = files
        .iter()
        .find(|path| !path.to_string_lossy().ends_with("-old.eml"))
        .expect("the new message");
    let text = std::fs::read_to_string(newest).unwrap();
    assert!(text.contains(&email) && text.contains("#token="), "{text}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(newest).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
