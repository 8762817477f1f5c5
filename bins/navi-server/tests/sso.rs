//! Single sign-on against a real OpenID Provider (`oidc-provider`, started by `cargo xtask test`
//! with two issuers: the platform's and an org's). The provider is driven as a browser would: the
//! test follows its redirects with the provider's cookies until it sends the browser back to
//! Navi's callback. Only who signs in is chosen by the test (`login_hint`, see
//! `xtask/peers/oidc/provider.mjs`).

mod common;

use std::collections::HashMap;

use base64::Engine;
use common::browser::{env, redis_url, sign_in_config, unique, Browser, PUBLIC};
use common::{assert_error, state_with, Api, Owner, Reply, TestServer};
use navi_server::config::{Config, PlatformOidc};
use navi_server::rate_limits::Policy;
use navi_tenancy::testing::TestDatabase;
use serde_json::{json, Value};

const CALLBACK: &str = "http://localhost:8080/v1/auth/sso/callback";

fn platform_issuer() -> String {
    env("NAVI_TEST_OIDC_PLATFORM")
}

fn org_issuer() -> String {
    env("NAVI_TEST_OIDC_ORG")
}

/// A server whose platform connection is the test provider's platform issuer.
fn sso_config(db: &TestDatabase, prefix: &str) -> Config {
    let mut config = sign_in_config(db, prefix);
    config.platform_oidc = Some(PlatformOidc {
        issuer: platform_issuer(),
        client_id: "navi".into(),
        client_secret: Some("navi-secret".into()),
    });
    config
}

async fn sso_server(db: &TestDatabase, prefix: &str) -> TestServer {
    TestServer::start_with(state_with(sso_config(db, prefix)).await)
}

/// Who signs in at the provider.
fn person(sub: &str, email: &str) -> Value {
    json!({"sub": sub, "email": email, "email_verified": true})
}

/// The authorization URL Navi sent the browser to, with the person who signs in.
fn with_login(url: &str, who: &Value) -> String {
    let hint = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(who.to_string());
    format!("{url}&login_hint={hint}")
}

/// Follows the provider's redirects (with its own cookies) from `url` until it sends the browser
/// to Navi's callback: that URL's path and query.
async fn at_provider(url: &str) -> String {
    let client = awc::Client::builder().disable_redirects().finish();
    let mut cookies: HashMap<String, String> = HashMap::new();
    let mut url = url.to_owned();
    for _ in 0..10 {
        let mut request = client.get(&url);
        if !cookies.is_empty() {
            let header: Vec<String> = cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
            request = request.insert_header(("Cookie", header.join("; ")));
        }
        let mut response = request.send().await.expect("the provider answers");
        for value in response.headers().get_all("set-cookie") {
            let cookie =
                actix_web::cookie::Cookie::parse(value.to_str().unwrap().to_owned()).unwrap();
            cookies.insert(cookie.name().to_owned(), cookie.value().to_owned());
        }
        let location = response
            .headers()
            .get("location")
            .map(|value| value.to_str().unwrap().to_owned());
        let Some(location) = location else {
            let body = response.body().await.unwrap();
            panic!(
                "the provider stopped at {url} with {}: {}",
                response.status(),
                String::from_utf8_lossy(&body)
            );
        };
        if let Some(rest) = location.strip_prefix("http://localhost:8080") {
            assert!(location.starts_with(CALLBACK), "{location}");
            return rest.to_owned();
        }
        url = if location.starts_with('/') {
            let origin: String = url.splitn(4, '/').take(3).collect::<Vec<_>>().join("/");
            format!("{origin}{location}")
        } else {
            location
        };
    }
    panic!("the provider redirected more than 10 times");
}

/// Starts a sign-in (`query` for `/v1/auth/sso/start`): the provider URL Navi answered with.
async fn begin(server: &TestServer, browser: &mut Browser, query: &str) -> String {
    let reply = browser
        .send(
            server,
            "GET",
            &format!("/v1/auth/sso/start{query}"),
            None,
            &[],
        )
        .await;
    assert_eq!(reply.status, 302, "{reply:?}");
    assert!(browser.cookies.contains_key("__Host-navi_sso"));
    browser.last_location.clone().expect("a Location")
}

/// A whole sign-in as `who`: the callback's reply.
async fn sign_in(server: &TestServer, browser: &mut Browser, query: &str, who: &Value) -> Reply {
    let url = begin(server, browser, query).await;
    let callback = at_provider(&with_login(&url, who)).await;
    browser.send(server, "GET", &callback, None, &[]).await
}

/// A whole sign-in as `who` that must succeed: the session it made.
async fn signed_in(server: &TestServer, browser: &mut Browser, query: &str, who: &Value) -> Value {
    let reply = sign_in(server, browser, query, who).await;
    assert_eq!(reply.status, 302, "{reply:?}");
    session_of(server, browser).await
}

async fn session_of(server: &TestServer, browser: &mut Browser) -> Value {
    let reply = browser
        .send(server, "GET", "/v1/auth/session", None, &[])
        .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    reply.body
}

/// An org with a connection to the org issuer, and `domain` approved for it.
async fn org_with_sso(api: &Api, domain: &str, extra: Value) -> (Owner, String) {
    let owner = api
        .owner(&format!("{}@example.com", unique("owner")), "Acme")
        .await;
    let slug = api.get_ok("/v1/org", &owner.key, Some(&owner.org_id)).await["slug"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut body =
        json!({"issuer": org_issuer(), "client_id": "navi", "client_secret": "navi-secret"});
    for (key, value) in extra.as_object().unwrap() {
        body[key] = value.clone();
    }
    let made = api
        .call(
            "POST",
            "/v1/org/sso/connections",
            Some(&owner.key),
            Some(&owner.org_id),
            Some(body),
        )
        .await;
    assert_eq!(made.status, 201, "{made:?}");
    navi_server::bootstrap::domains(
        &api.server.state.config,
        false,
        navi_server::bootstrap::Domains::Approve { org: &slug, domain },
    )
    .unwrap();
    (owner, slug)
}

async fn the_platform_connection_signs_in_by_identity(db: TestDatabase) {
    let server = sso_server(&db, &format!("{}:", unique("sso"))).await;
    let sub = unique("sub");
    let email = format!("{}@anywhere.example", unique("ada"));
    let mut browser = Browser::at("203.0.113.20");
    let reply = sign_in(
        &server,
        &mut browser,
        "?return_to=/app/home",
        &person(&sub, &email),
    )
    .await;
    assert_eq!(reply.status, 302, "{reply:?}");
    assert_eq!(
        browser.last_location.as_deref(),
        Some(format!("{PUBLIC}/app/home").as_str())
    );
    assert!(!browser.cookies.contains_key("__Host-navi_sso"));
    let session = session_of(&server, &mut browser).await;
    assert_eq!(session["user"]["email"], email.as_str());
    assert!(session["user"]["email_verified_at"].is_string());
    let user_id = session["user"]["id"].clone();

    // The same identity later, with another email claim: the same user (by issuer and subject).
    let mut again = Browser::at("203.0.113.20");
    let other = format!("{}@elsewhere.example", unique("ada"));
    let reply = sign_in(&server, &mut again, "", &person(&sub, &other)).await;
    assert_eq!(reply.status, 302, "{reply:?}");
    assert_eq!(session_of(&server, &mut again).await["user"]["id"], user_id);

    // An email the provider does not call verified links to nobody.
    let mut unverified = Browser::at("203.0.113.20");
    let who = json!({"sub": unique("sub"), "email": format!("{}@x.example", unique("u")), "email_verified": false});
    let reply = sign_in(&server, &mut unverified, "", &who).await;
    assert_error(&reply, 400, "sso_failed");
}

async fn an_org_connection_joins_people_with_the_mapped_role(db: TestDatabase) {
    let server = sso_server(&db, &format!("{}:", unique("sso"))).await;
    let api = Api::start_on(server);
    let domain = format!("{}.example", unique("corp"));
    let (owner, slug) = org_with_sso(
        &api,
        &domain,
        json!({"role_claim": "groups", "role_values": {"admin": ["navi-admins"]}}),
    )
    .await;
    let org = Some(owner.org_id.as_str());
    let mut bob = Browser::at("203.0.113.21");
    let mut who = person(&unique("bob"), &format!("bob@{domain}"));
    who["groups"] = json!(["staff", "navi-admins"]);
    let session = signed_in(&api.server, &mut bob, &format!("?org={slug}"), &who).await;
    assert_eq!(session["orgs"][0]["id"], owner.org_id.as_str());
    assert_eq!(session["orgs"][0]["role"], "admin");

    // Picked by the email's domain; no role claim value: the first role, member.
    let mut carol = Browser::at("203.0.113.21");
    let email = format!("carol@{domain}");
    let session = signed_in(
        &api.server,
        &mut carol,
        &format!("?email={email}"),
        &person(&unique("carol"), &email),
    )
    .await;
    assert_eq!(session["orgs"][0]["role"], "member");
    let joined = api.get_ok("/v1/org/members", &owner.key, org).await;
    assert_eq!(joined["members"].as_array().unwrap().len(), 3, "{joined}");
    let events = api
        .get_ok("/v1/audit/logs?action=member.join", &owner.key, org)
        .await;
    assert_eq!(events["events"].as_array().unwrap().len(), 2, "{events}");

    // Removed by the org, bob signs in again through its connection: he stays out.
    let bob_id = session_of(&api.server, &mut bob).await["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let removed = api
        .call(
            "DELETE",
            &format!("/v1/org/members/{bob_id}"),
            Some(&owner.key),
            org,
            None,
        )
        .await;
    assert_eq!(removed.status, 204, "{removed:?}");
    let mut again = Browser::at("203.0.113.21");
    let session = signed_in(&api.server, &mut again, &format!("?org={slug}"), &who).await;
    assert_eq!(session["user"]["id"], bob_id.as_str());
    assert_eq!(session["orgs"], json!([]), "{session}");
}

/// The takeover attempt: an org owner's own IdP asserts someone else's address.
async fn an_org_idp_cannot_speak_for_emails_outside_its_domains(db: TestDatabase) {
    let server = sso_server(&db, &format!("{}:", unique("sso"))).await;
    let api = Api::start_on(server);
    let victim = format!("{}@victim.example", unique("victim"));
    let (victim_key, victim_id) = api.user(&victim);
    let domain = format!("{}.example", unique("corp"));
    let (_, slug) = org_with_sso(&api, &domain, json!({})).await;
    let mut attacker = Browser::at("203.0.113.22");
    let reply = sign_in(
        &api.server,
        &mut attacker,
        &format!("?org={slug}"),
        &person(&unique("evil"), &victim),
    )
    .await;
    assert_error(&reply, 400, "sso_failed");
    assert!(!attacker.cookies.contains_key("__Host-navi_session"));
    // The victim is untouched: their key works, they joined nothing.
    let made = api
        .call(
            "POST",
            "/v1/orgs",
            Some(&victim_key),
            None,
            Some(json!({"name": "Mine"})),
        )
        .await;
    assert_eq!(made.status, 201, "the victim's key still works: {made:?}");
    let session = {
        let mut platform = Browser::at("203.0.113.22");
        let reply = sign_in(
            &api.server,
            &mut platform,
            "",
            &person(&unique("v"), &victim),
        )
        .await;
        assert_eq!(reply.status, 302, "{reply:?}");
        session_of(&api.server, &mut platform).await
    };
    // The platform's connection is trusted for every domain: it links to the verified victim,
    // who belongs to no org the attacker's IdP could have put them in (only their own).
    assert_eq!(session["user"]["id"], victim_id.as_str());
    assert_eq!(session["orgs"].as_array().unwrap().len(), 1, "{session}");
    assert_eq!(session["orgs"][0]["id"], made.body["id"]);
}

async fn the_state_is_single_use_and_bound_to_its_browser(db: TestDatabase) {
    let server = sso_server(&db, &format!("{}:", unique("sso"))).await;
    let who = person(&unique("sub"), &format!("{}@x.example", unique("s")));

    // Without the cookie, with another browser's cookie, made up: 400 invalid_state, and the
    // state stays usable by its own browser.
    let mut browser = Browser::at("203.0.113.23");
    let url = begin(&server, &mut browser, "").await;
    let callback = at_provider(&with_login(&url, &who)).await;
    let mut stranger = Browser::at("198.51.100.23");
    assert_error(
        &stranger.send(&server, "GET", &callback, None, &[]).await,
        400,
        "invalid_state",
    );
    begin(&server, &mut stranger, "").await;
    assert_error(
        &stranger.send(&server, "GET", &callback, None, &[]).await,
        400,
        "invalid_state",
    );
    let mut forged = Browser::at("203.0.113.23");
    forged
        .cookies
        .insert("__Host-navi_sso".into(), "made-up".into());
    let made_up = "/v1/auth/sso/callback?state=made-up&code=x";
    assert_error(
        &forged.send(&server, "GET", made_up, None, &[]).await,
        400,
        "invalid_state",
    );

    // Its browser signs in once; a replay fails.
    let cookies = browser.cookies.clone();
    assert_eq!(
        browser
            .send(&server, "GET", &callback, None, &[])
            .await
            .status,
        302
    );
    let mut replay = Browser::at("203.0.113.23");
    replay.cookies = cookies;
    assert_error(
        &replay.send(&server, "GET", &callback, None, &[]).await,
        400,
        "invalid_state",
    );

    // Expired (the cache let the state go after 10 minutes): the same answer.
    let mut late = Browser::at("203.0.113.23");
    let url = begin(&server, &mut late, "").await;
    let state = url
        .split("state=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_owned();
    let callback = at_provider(&with_login(&url, &who)).await;
    let key = format!("sso-state:{}", navi_server::sessions::digest_of(&[&state]));
    assert!(server.state.cache.delete(&key).await.unwrap());
    assert_error(
        &late.send(&server, "GET", &callback, None, &[]).await,
        400,
        "invalid_state",
    );

    // The provider's refusal is named.
    let mut declined = Browser::at("203.0.113.23");
    let mut no = who.clone();
    no["deny"] = json!(true);
    let reply = sign_in(&server, &mut declined, "", &no).await;
    assert_error(&reply, 400, "sso_failed");
    assert!(reply.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("access_denied"));
}

async fn thirty_two_callbacks_with_one_state_make_one_session(db: TestDatabase) {
    let mut config = sso_config(&db, &format!("{}:", unique("sso")));
    // 32 callbacks at once from one address: more than a minute's `sign_in`, which is not what
    // this test is about (rate_limits.rs tests it).
    common::set_limit(&mut config, Policy::SignIn, 100, 60);
    common::set_limit(&mut config, Policy::AuthFailures, 100, 60);
    let server = TestServer::start_with(state_with(config).await);
    let mut browser = Browser::at("203.0.113.24");
    let url = begin(&server, &mut browser, "").await;
    let who = person(&unique("sub"), &format!("{}@x.example", unique("r")));
    let callback = at_provider(&with_login(&url, &who)).await;
    let cookie = format!("__Host-navi_sso={}", browser.cookies["__Host-navi_sso"]);
    let client = awc::Client::builder().disable_redirects().finish();
    let attempts = (0..32).map(|_| {
        client
            .get(server.url(&callback))
            .insert_header(("Cookie", cookie.clone()))
            .send()
    });
    let replies = futures_util::future::join_all(attempts).await;
    let statuses: Vec<u16> = replies
        .iter()
        .map(|reply| reply.as_ref().unwrap().status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|&&s| s == 302).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|&&s| s == 400).count(),
        31,
        "{statuses:?}"
    );
}

async fn a_wrong_nonce_or_a_replayed_code_signs_nobody_in(db: TestDatabase) {
    let server = sso_server(&db, &format!("{}:", unique("sso"))).await;
    let who = person(&unique("sub"), &format!("{}@x.example", unique("n")));
    // The ID token carries another nonce than the one Navi keeps.
    let mut browser = Browser::at("203.0.113.25");
    let url = begin(&server, &mut browser, "").await;
    let (before, after) = url.split_once("nonce=").unwrap();
    let rest = after
        .split_once('&')
        .map_or(String::new(), |(_, rest)| format!("&{rest}"));
    let tampered = format!("{before}nonce=not-navis{rest}");
    let callback = at_provider(&with_login(&tampered, &who)).await;
    let reply = browser.send(&server, "GET", &callback, None, &[]).await;
    assert_error(&reply, 400, "sso_failed");

    // A code used once, brought back with another sign-in's state.
    let mut first = Browser::at("203.0.113.25");
    let url = begin(&server, &mut first, "").await;
    let used = at_provider(&with_login(&url, &who)).await;
    assert_eq!(
        first.send(&server, "GET", &used, None, &[]).await.status,
        302
    );
    let code = used
        .split("code=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_owned();
    let mut second = Browser::at("203.0.113.25");
    let url = begin(&server, &mut second, "").await;
    let state = url
        .split("state=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_owned();
    let replayed = format!("/v1/auth/sso/callback?code={code}&state={state}");
    assert_error(
        &second.send(&server, "GET", &replayed, None, &[]).await,
        400,
        "sso_failed",
    );
}

async fn a_rotated_signing_key_is_fetched_again(db: TestDatabase) {
    let server = sso_server(&db, &format!("{}:", unique("sso"))).await;
    let who = person(&unique("sub"), &format!("{}@x.example", unique("k")));
    let mut browser = Browser::at("203.0.113.26");
    assert_eq!(sign_in(&server, &mut browser, "", &who).await.status, 302);
    let rotated = awc::Client::new()
        .post(format!("{}/test/rotate", platform_issuer()))
        .send()
        .await
        .unwrap();
    assert_eq!(rotated.status().as_u16(), 200);
    let mut again = Browser::at("203.0.113.26");
    let reply = sign_in(&server, &mut again, "", &who).await;
    assert_eq!(reply.status, 302, "{reply:?}");
}

async fn bad_starts_are_refused_plainly(db: TestDatabase) {
    let server = sso_server(&db, &format!("{}:", unique("sso"))).await;
    let api = Api::start_on(server);
    let mut browser = Browser::at("203.0.113.27");
    for bad in [
        "//evil.example/",
        "/\\evil.example",
        "https://evil.example/",
        "evil",
        "/a%01b",
        &format!("/{}", "a".repeat(2048)),
    ] {
        let query = format!("/v1/auth/sso/start?return_to={}", bad.replace('\\', "%5C"));
        let reply = browser.send(&api.server, "GET", &query, None, &[]).await;
        assert_error(&reply, 400, "invalid_request");
    }
    let both = browser
        .send(
            &api.server,
            "GET",
            "/v1/auth/sso/start?org=a&email=a@b.example",
            None,
            &[],
        )
        .await;
    assert_error(&both, 400, "invalid_request");
    let unknown_org = browser
        .send(
            &api.server,
            "GET",
            "/v1/auth/sso/start?org=no-such-org",
            None,
            &[],
        )
        .await;
    let unknown_domain = browser
        .send(
            &api.server,
            "GET",
            "/v1/auth/sso/start?email=a@nobody.example",
            None,
            &[],
        )
        .await;
    assert_error(&unknown_org, 404, "not_found");
    assert_eq!(unknown_org.body, unknown_domain.body);

    // A provider that does not answer: 503.
    let owner = api
        .owner(&format!("{}@example.com", unique("o")), "Down")
        .await;
    let slug = api.get_ok("/v1/org", &owner.key, Some(&owner.org_id)).await["slug"]
        .as_str()
        .unwrap()
        .to_owned();
    let made = api
        .call(
            "POST",
            "/v1/org/sso/connections",
            Some(&owner.key),
            Some(&owner.org_id),
            Some(json!({"issuer": "http://127.0.0.1:1", "client_id": "navi"})),
        )
        .await;
    assert_eq!(made.status, 201);
    let down = browser
        .send(
            &api.server,
            "GET",
            &format!("/v1/auth/sso/start?org={slug}"),
            None,
            &[],
        )
        .await;
    assert_error(&down, 503, "unavailable");
}

/// A state issued by one instance is consumed by another (they share Redis), once.
async fn a_state_from_one_instance_is_consumed_by_another_once(db: TestDatabase) {
    let prefix = format!("{}:", unique("shared"));
    let shared = |db: &TestDatabase| {
        let mut config = sign_in_config(db, &prefix);
        config.redis_url = Some(redis_url());
        config.cache_key_prefix = prefix.clone();
        config.platform_oidc = Some(PlatformOidc {
            issuer: platform_issuer(),
            client_id: "navi".into(),
            client_secret: Some("navi-secret".into()),
        });
        config
    };
    let a = TestServer::start_with(state_with(shared(&db)).await);
    let b = TestServer::start_with(state_with(shared(&db)).await);
    let mut browser = Browser::at("203.0.113.28");
    let url = begin(&a, &mut browser, "").await;
    let who = person(&unique("sub"), &format!("{}@x.example", unique("i")));
    let callback = at_provider(&with_login(&url, &who)).await;
    let cookies = browser.cookies.clone();
    assert_eq!(
        browser.send(&b, "GET", &callback, None, &[]).await.status,
        302
    );
    for server in [&a, &b] {
        let mut replay = Browser::at("203.0.113.28");
        replay.cookies = cookies.clone();
        assert_error(
            &replay.send(server, "GET", &callback, None, &[]).await,
            400,
            "invalid_state",
        );
    }
}

/// Linking: a verified user is found by a trusted provider's verified email; a signed-in user
/// links another identity explicitly, whatever its email.
async fn identities_link_to_verified_users_or_by_an_explicit_link(db: TestDatabase) {
    let server = sso_server(&db, &format!("{}:", unique("sso"))).await;
    let api = Api::start_on(server);
    let domain = format!("{}.example", unique("corp"));
    let (_, slug) = org_with_sso(&api, &domain, json!({})).await;
    let dave = format!("dave@{domain}");
    let (_, dave_id) = api.user(&dave);
    let mut browser = Browser::at("203.0.113.29");
    let reply = sign_in(
        &api.server,
        &mut browser,
        &format!("?org={slug}"),
        &person(&unique("d"), &dave),
    )
    .await;
    assert_eq!(reply.status, 302, "{reply:?}");
    assert_eq!(
        session_of(&api.server, &mut browser).await["user"]["id"],
        dave_id.as_str()
    );

    // Explicit: dave, signed in, links a platform identity whose email is not his, by a POST
    // under his session's CSRF rule.
    let session = session_of(&api.server, &mut browser).await;
    let other = format!("{}@personal.example", unique("dave"));
    let sub = unique("personal");
    let started = browser
        .act(
            &api.server,
            &session,
            "POST",
            "/v1/auth/sso/link",
            None,
            Some(json!({})),
        )
        .await;
    assert_eq!(started.status, 200, "{started:?}");
    let url = started.body["authorization_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let callback = at_provider(&with_login(&url, &person(&sub, &other))).await;
    assert_eq!(
        browser
            .send(&api.server, "GET", &callback, None, &[])
            .await
            .status,
        302
    );
    let mut later = Browser::at("203.0.113.29");
    let reply = sign_in(&api.server, &mut later, "", &person(&sub, &other)).await;
    assert_eq!(reply.status, 302, "{reply:?}");
    assert_eq!(
        session_of(&api.server, &mut later).await["user"]["id"],
        dave_id.as_str()
    );

    // Another site cannot start a link (no CSRF token, or a GET), nor can anyone without a
    // session; and a link whose session ended meanwhile links nothing.
    let no_token = browser
        .send(
            &api.server,
            "POST",
            "/v1/auth/sso/link",
            Some(json!({})),
            &[],
        )
        .await;
    assert_error(&no_token, 403, "forbidden");
    let by_get = browser
        .send(
            &api.server,
            "GET",
            "/v1/auth/sso/start?link=true",
            None,
            &[],
        )
        .await;
    assert_error(&by_get, 400, "invalid_request");
    let mut anonymous = Browser::at("203.0.113.29");
    let reply = anonymous
        .send(
            &api.server,
            "POST",
            "/v1/auth/sso/link",
            Some(json!({})),
            &[],
        )
        .await;
    assert_error(&reply, 401, "unauthenticated");
    let session = session_of(&api.server, &mut browser).await;
    let started = browser
        .act(
            &api.server,
            &session,
            "POST",
            "/v1/auth/sso/link",
            None,
            Some(json!({})),
        )
        .await;
    let url = started.body["authorization_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let backdoor = unique("backdoor");
    let callback = at_provider(&with_login(&url, &person(&backdoor, &other))).await;
    let ended = browser
        .act(
            &api.server,
            &session,
            "DELETE",
            "/v1/auth/sessions",
            None,
            None,
        )
        .await;
    assert_eq!(ended.status, 204);
    let cookies = browser.cookies.clone();
    let mut after = Browser::at("203.0.113.29");
    after.cookies = cookies;
    assert_error(
        &after.send(&api.server, "GET", &callback, None, &[]).await,
        400,
        "invalid_state",
    );
}

/// An owner's key pinned to the org manages no connection (a connection signs people in to all
/// their orgs); a deployment on a public URL reaches only https providers on public addresses.
async fn connections_stay_inside_their_limits(db: TestDatabase) {
    let server = sso_server(&db, &format!("{}:", unique("sso"))).await;
    let api = Api::start_on(server);
    let owner = api
        .owner(&format!("{}@example.com", unique("o")), "Acme")
        .await;
    let org = Some(owner.org_id.as_str());
    let pinned = api
        .call(
            "POST",
            "/v1/api-keys",
            Some(&owner.key),
            org,
            Some(json!({"name": "p"})),
        )
        .await;
    let pinned_key = pinned.body["api_key"].as_str().unwrap().to_owned();
    let body = json!({"issuer": org_issuer(), "client_id": "navi"});
    let reply = api
        .call(
            "POST",
            "/v1/org/sso/connections",
            Some(&pinned_key),
            org,
            Some(body.clone()),
        )
        .await;
    assert_error(&reply, 403, "forbidden");
    let reply = api
        .call(
            "GET",
            "/v1/org/sso/connections",
            Some(&pinned_key),
            org,
            None,
        )
        .await;
    assert_error(&reply, 403, "forbidden");
    // Control characters in a slug reach nothing: the same 404 as an unknown org.
    let mut browser = Browser::at("203.0.113.31");
    let reply = browser
        .send(
            &api.server,
            "GET",
            "/v1/auth/sso/start?org=a%00b",
            None,
            &[],
        )
        .await;
    assert_error(&reply, 404, "not_found");

    // Served at a public https URL: loopback, private and plain-http issuers are refused.
    let mut config = (*api.server.state.config).clone();
    config.public_url = "https://navi.example".parse().unwrap();
    let public = TestServer::start_with(state_with(config).await);
    for issuer in [
        org_issuer(),
        "https://127.0.0.1:8443".to_owned(),
        "https://10.1.2.3".to_owned(),
        "https://[::1]".to_owned(),
        "https://169.254.169.254".to_owned(),
        "https://localhost".to_owned(),
        "http://idp.example".to_owned(),
    ] {
        let reply = public
            .call(
                "POST",
                "/v1/org/sso/connections",
                Some(&owner.key),
                org,
                Some(json!({"issuer": issuer, "client_id": "navi"})),
            )
            .await;
        assert_error(&reply, 400, "invalid_request");
    }
}

/// A connection changed while someone is at its provider: the code and verifier go nowhere new.
async fn a_connection_changed_mid_sign_in_takes_no_code(db: TestDatabase) {
    let server = sso_server(&db, &format!("{}:", unique("sso"))).await;
    let api = Api::start_on(server);
    let domain = format!("{}.example", unique("corp"));
    let (owner, slug) = org_with_sso(&api, &domain, json!({})).await;
    let org = Some(owner.org_id.as_str());
    let mut browser = Browser::at("203.0.113.32");
    let url = begin(&api.server, &mut browser, &format!("?org={slug}")).await;
    let callback = at_provider(&with_login(
        &url,
        &person(&unique("m"), &format!("m@{domain}")),
    ))
    .await;
    let listed = api.get_ok("/v1/org/sso/connections", &owner.key, org).await;
    let id = listed["connections"][0]["id"].as_str().unwrap().to_owned();
    let changed = api
        .call(
            "PUT",
            &format!("/v1/org/sso/connections/{id}"),
            Some(&owner.key),
            org,
            Some(json!({"issuer": platform_issuer(), "client_id": "navi"})),
        )
        .await;
    assert_eq!(changed.status, 200, "{changed:?}");
    let reply = browser.send(&api.server, "GET", &callback, None, &[]).await;
    assert_error(&reply, 400, "sso_failed");
}

async fn an_enforced_connection_takes_its_own_sessions(db: TestDatabase) {
    let server = sso_server(&db, &format!("{}:", unique("sso"))).await;
    let api = Api::start_on(server);
    let domain = format!("{}.example", unique("corp"));
    let (owner, slug) = org_with_sso(&api, &domain, json!({"enforced": true})).await;
    let org = Some(owner.org_id.as_str());
    let mut browser = Browser::at("203.0.113.30");
    let email = format!("erin@{domain}");
    let session = signed_in(
        &api.server,
        &mut browser,
        &format!("?org={slug}"),
        &person(&unique("e"), &email),
    )
    .await;
    assert_eq!(
        browser
            .act(&api.server, &session, "GET", "/v1/org", org, None)
            .await
            .status,
        200
    );
    // The same person by email link: not through the enforced connection.
    let mut by_mail = Browser::at("203.0.113.30");
    let session = by_mail.sign_in(&api.server, &email).await;
    assert_error(
        &by_mail
            .act(&api.server, &session, "GET", "/v1/org", org, None)
            .await,
        403,
        "sso_required",
    );
}

on_both_backends!(
    the_platform_connection_signs_in_by_identity,
    an_org_connection_joins_people_with_the_mapped_role,
    an_org_idp_cannot_speak_for_emails_outside_its_domains,
    the_state_is_single_use_and_bound_to_its_browser,
    thirty_two_callbacks_with_one_state_make_one_session,
    a_wrong_nonce_or_a_replayed_code_signs_nobody_in,
    a_rotated_signing_key_is_fetched_again,
    bad_starts_are_refused_plainly,
    a_state_from_one_instance_is_consumed_by_another_once,
    identities_link_to_verified_users_or_by_an_explicit_link,
    connections_stay_inside_their_limits,
    a_connection_changed_mid_sign_in_takes_no_code,
    an_enforced_connection_takes_its_own_sessions,
);
