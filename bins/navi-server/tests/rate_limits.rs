//! Rate limits over HTTP: the answers and their headers (parsed as Structured Fields), client
//! addresses behind proxies, refused credentials, an org's own quotas, many clients on two
//! instances sharing one Redis, weighted token decisions, and Redis stopping mid-run.

mod common;

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::rc::Rc;
use std::time::{Duration, Instant};

use common::browser::{redis_url, unique};
use common::{assert_error_body, config_for, set_limit, state_with, Api, TestServer};
use navi_server::config::Config;
use navi_server::rate_limits::{CallerLimits, OnCacheError, Policy};
use navi_tenancy::testing::TestDatabase;
use serde_json::{json, Value};

/// A response with the headers the limits set.
#[derive(Debug)]
struct Answer {
    status: u16,
    body: Value,
    /// `RateLimit-Policy`: name, q, w.
    policy: Option<(String, u64, u64)>,
    /// `RateLimit`: name, r, t.
    limit: Option<(String, u64, u64)>,
    retry_after: Option<u64>,
}

/// The one item of a `RateLimit-Policy` or `RateLimit` value, parsed as a Structured Field
/// List: its name (a String) and the two integer parameters asked for.
fn structured(value: &str, first: &str, second: &str) -> (String, u64, u64) {
    let list: sfv::List = sfv::Parser::new(value)
        .parse()
        .unwrap_or_else(|e| panic!("`{value}` is not a Structured Field List: {e}"));
    assert_eq!(list.len(), 1, "one policy named: {value}");
    let sfv::ListEntry::Item(item) = &list[0] else {
        panic!("an item, not an inner list: {value}");
    };
    let name = item
        .bare_item
        .as_string()
        .unwrap_or_else(|| panic!("the policy is a String: {value}"))
        .as_str()
        .to_owned();
    let integer = |key: &str| {
        let integer = item
            .params
            .get(key)
            .and_then(|param| param.as_integer())
            .unwrap_or_else(|| panic!("an integer `{key}`: {value}"));
        u64::try_from(i64::from(integer)).expect("non-negative")
    };
    (name, integer(first), integer(second))
}

async fn send(
    server: &TestServer,
    method: &str,
    path: &str,
    key: Option<&str>,
    org: Option<&str>,
    forwarded_for: Option<&str>,
    body: Option<Value>,
) -> Answer {
    let method = actix_web::http::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = awc::Client::new().request(method, server.url(path));
    if let Some(key) = key {
        request = request.insert_header(("Authorization", format!("Bearer {key}")));
    }
    if let Some(org) = org {
        request = request.insert_header(("X-Navi-Org", org));
    }
    if let Some(client) = forwarded_for {
        request = request.insert_header(("X-Forwarded-For", client));
    }
    let mut response = match body {
        Some(body) => request.send_json(&body).await,
        None => request.send().await,
    }
    .expect("request sent");
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|value| value.to_str().expect("an ASCII header").to_owned())
    };
    let policy = header("RateLimit-Policy").map(|value| structured(&value, "q", "w"));
    let limit = header("RateLimit").map(|value| structured(&value, "r", "t"));
    let retry_after = header("Retry-After").map(|value| value.parse().expect("delay-seconds"));
    let bytes = response.body().await.expect("body");
    let body = if bytes.is_empty() || !bytes.starts_with(b"{") {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).expect("JSON")
    };
    Answer {
        status: response.status().as_u16(),
        body,
        policy,
        limit,
        retry_after,
    }
}

async fn a_caller_past_its_quota_gets_429_with_the_headers_and_retry_after_is_honoured(
    db: TestDatabase,
) {
    let mut config = config_for(&db);
    set_limit(&mut config, Policy::Requests, 3, 2);
    let api = Api::start_with_config(db, config).await;
    let owner = api.owner("ada@example.com", "Acme").await;
    let key = api.pinned_key(&owner);
    for remaining in [2, 1, 0] {
        let answer = send(&api.server, "GET", "/v1/org", Some(&key), None, None, None).await;
        assert_eq!(answer.status, 200, "{answer:?}");
        assert_eq!(answer.policy, Some(("requests".into(), 3, 2)), "{answer:?}");
        let (name, r, t) = answer.limit.clone().expect("RateLimit");
        assert_eq!((name.as_str(), r), ("requests", remaining), "{answer:?}");
        assert!((1..=2).contains(&t), "{answer:?}");
        assert_eq!(answer.retry_after, None);
    }
    let refused = send(&api.server, "GET", "/v1/org", Some(&key), None, None, None).await;
    assert_eq!(refused.status, 429, "{refused:?}");
    assert_error_body(&refused.body, "rate_limited");
    let wait = refused.retry_after.expect("Retry-After");
    assert!((1..=2).contains(&wait), "{refused:?}");
    assert_eq!(refused.limit, Some(("requests".into(), 0, wait)));
    assert_eq!(refused.policy, Some(("requests".into(), 3, 2)));

    // A client that waits as told is admitted.
    actix_web::rt::time::sleep(Duration::from_secs(wait)).await;
    let after = send(&api.server, "GET", "/v1/org", Some(&key), None, None, None).await;
    assert_eq!(after.status, 200, "{after:?}");

    // Another key of the same user has a bucket of its own.
    let other = api.pinned_key(&owner);
    let fresh = send(
        &api.server,
        "GET",
        "/v1/org",
        Some(&other),
        None,
        None,
        None,
    )
    .await;
    assert_eq!(fresh.limit.map(|limit| limit.1), Some(2));
}

/// `GET /v1/auth/email/confirm` (the page) is a sign-in step with no other effect.
const SIGN_IN_PAGE: &str = "/v1/auth/email/confirm";

async fn sign_in_from(server: &TestServer, forwarded_for: &str) -> u16 {
    send(
        server,
        "GET",
        SIGN_IN_PAGE,
        None,
        None,
        Some(forwarded_for),
        None,
    )
    .await
    .status
}

#[actix_web::test]
async fn a_spoofed_forwarded_for_gets_no_fresh_bucket_but_a_trusted_proxys_does() {
    let db = TestDatabase::sqlite();
    let mut config = config_for(&db);
    set_limit(&mut config, Policy::SignIn, 3, 60);
    // No trusted proxy: the peer (127.0.0.1) is the client, whatever it says.
    let direct = TestServer::start_with(state_with(config.clone()).await);
    for n in 1..=3 {
        assert_eq!(sign_in_from(&direct, &format!("198.51.100.{n}")).await, 200);
    }
    for n in 4..=6 {
        let spoofed = send(
            &direct,
            "GET",
            SIGN_IN_PAGE,
            None,
            None,
            Some(&format!("198.51.100.{n}")),
            None,
        )
        .await;
        assert_eq!(spoofed.status, 429, "{spoofed:?}");
        assert_eq!(spoofed.policy, Some(("sign_in".into(), 3, 60)));
    }

    // Behind a trusted proxy, each forwarded client has its own bucket; IPv6 per /64.
    config.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    let proxied = TestServer::start_with(state_with(config).await);
    for _ in 0..3 {
        assert_eq!(sign_in_from(&proxied, "198.51.100.7").await, 200);
    }
    assert_eq!(sign_in_from(&proxied, "198.51.100.7").await, 429);
    assert_eq!(sign_in_from(&proxied, "198.51.100.8").await, 200);
    for host in ["2001:db8::1", "2001:db8::2", "2001:db8::ffff:1"] {
        assert_eq!(sign_in_from(&proxied, host).await, 200);
    }
    assert_eq!(sign_in_from(&proxied, "2001:db8::3").await, 429, "same /64");
    assert_eq!(sign_in_from(&proxied, "2001:db8:0:1::1").await, 200);
    // A forwarded address the client put before the proxy's own is not believed either.
    assert_eq!(
        sign_in_from(&proxied, "203.0.113.9, 198.51.100.7").await,
        429
    );
}

async fn refused_credentials_count_per_address_and_past_the_limit_answer_429(db: TestDatabase) {
    // The owner's key is verified (and kept by this instance) before the failures begin.
    let mut config = config_for(&db);
    set_limit(&mut config, Policy::AuthFailures, 3, 60);
    let api = Api::start_with_config(db, config).await;
    let owner = api.owner("ada@example.com", "Acme").await;
    // No credential at all is not a failed authentication.
    for _ in 0..5 {
        let anonymous = send(&api.server, "GET", "/v1/org", None, None, None, None).await;
        assert_eq!(anonymous.status, 401);
    }
    let bad = "navi_sk_0000000000000000_notakeyatallnotakeyatallnotakeyatallxx";
    for _ in 0..3 {
        let refused = send(&api.server, "GET", "/v1/org", Some(bad), None, None, None).await;
        assert_eq!(refused.status, 401, "{refused:?}");
        assert_error_body(&refused.body, "unauthenticated");
    }
    let limited = send(&api.server, "GET", "/v1/org", Some(bad), None, None, None).await;
    assert_eq!(limited.status, 429, "{limited:?}");
    assert_error_body(&limited.body, "rate_limited");
    assert!(limited.retry_after.is_some_and(|wait| wait >= 1));
    assert_eq!(limited.policy, Some(("auth_failures".into(), 3, 60)));
    // A dead session cookie counts the same way.
    let cookie = awc::Client::new()
        .get(api.server.url("/v1/auth/session"))
        .insert_header(("Cookie", "__Host-navi_session=not-a-session"))
        .send()
        .await
        .unwrap();
    assert_eq!(cookie.status().as_u16(), 429);
    // Past the limit, a key this instance has not verified lately is not even looked up...
    let fresh = api.pinned_key(&owner);
    let unlooked = send(
        &api.server,
        "GET",
        "/v1/org",
        Some(&fresh),
        None,
        None,
        None,
    )
    .await;
    assert_eq!(unlooked.status, 429, "{unlooked:?}");
    assert_eq!(unlooked.policy, Some(("auth_failures".into(), 3, 60)));
    // ...while a key in use from that address keeps working.
    let ok = send(
        &api.server,
        "GET",
        "/v1/org",
        Some(&owner.key),
        Some(&owner.org_id),
        None,
        None,
    )
    .await;
    assert_eq!(ok.status, 200, "{ok:?}");
}

async fn org_limits_are_shown_to_admins_and_lowered_by_owners_only(db: TestDatabase) {
    let api = Api::start(db).await;
    let owner = api.owner("ada@example.com", "Acme").await;
    let org = Some(owner.org_id.as_str());
    let (admin_key, admin_id) = api.member(&owner, "abe@example.com", "admin").await;
    let (member_key, _) = api.member(&owner, "mia@example.com", "member").await;

    // Nobody, and a body that is not the contract's, get the API's errors.
    let anonymous = api.call("GET", "/v1/org/limits", None, org, None).await;
    common::assert_error(&anonymous, 401, "unauthenticated");
    let malformed = api
        .call(
            "PUT",
            "/v1/org/limits",
            Some(&owner.key),
            org,
            Some(json!({"policies": "requests"})),
        )
        .await;
    common::assert_error(&malformed, 400, "invalid_request");

    let shown = api.get_ok("/v1/org/limits", &admin_key, org).await;
    let policies = shown["policies"].as_array().unwrap();
    let names: Vec<&str> = policies
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "requests",
            "org_requests",
            "llm_calls",
            "llm_tokens",
            "llm_cost_micros"
        ]
    );
    assert_eq!(
        policies[0],
        json!({"name": "requests", "quota": 600, "window_seconds": 60, "ceiling": 600})
    );
    let member_reads = api
        .call("GET", "/v1/org/limits", Some(&member_key), org, None)
        .await;
    common::assert_error(&member_reads, 403, "forbidden");
    let lower = json!({"policies": [{"name": "requests", "quota": 2}]});
    let admin_writes = api
        .call(
            "PUT",
            "/v1/org/limits",
            Some(&admin_key),
            org,
            Some(lower.clone()),
        )
        .await;
    common::assert_error(&admin_writes, 403, "forbidden");

    for (body, named) in [
        (
            json!({"policies": [{"name": "requests", "quota": 601}]}),
            "requests",
        ),
        (
            json!({"policies": [{"name": "llm_calls", "quota": 0}]}),
            "llm_calls",
        ),
        (
            json!({"policies": [{"name": "sign_in", "quota": 1}]}),
            "sign_in",
        ),
        (
            json!({"policies": [{"name": "nonsense", "quota": 1}]}),
            "nonsense",
        ),
        (
            json!({"policies": [{"name": "requests", "quota": 5}, {"name": "requests", "quota": 6}]}),
            "requests",
        ),
    ] {
        let refused = api
            .call("PUT", "/v1/org/limits", Some(&owner.key), org, Some(body))
            .await;
        common::assert_error(&refused, 400, "invalid_request");
        let message = refused.body["error"]["message"].as_str().unwrap();
        assert!(message.contains(named), "{message}");
    }

    let lowered = api
        .call("PUT", "/v1/org/limits", Some(&owner.key), org, Some(lower))
        .await;
    assert_eq!(lowered.status, 200, "{lowered:?}");
    assert_eq!(lowered.body["policies"][0]["quota"], 2);
    assert_eq!(lowered.body["policies"][0]["ceiling"], 600);
    let events = api
        .get_ok("/v1/audit/logs?action=org_limits.update", &owner.key, org)
        .await;
    let event = &events["events"][0];
    assert_eq!(event["action"], "org_limits.update", "{events}");

    // The member's own key now meets the org's quota.
    let member = pinned_or_not(&api, &member_key, org, 2).await;
    assert_eq!(member.status, 429, "{member:?}");
    assert_eq!(member.policy, Some(("requests".into(), 2, 60)));

    // Another org keeps the platform's.
    let other = api.owner("bob@example.com", "Beta").await;
    let theirs = pinned_or_not(&api, &other.key, Some(&other.org_id), 5).await;
    assert_eq!(theirs.status, 200, "{theirs:?}");
    assert_eq!(theirs.policy.map(|p| p.1), Some(600));

    // Back to the ceiling: the org's quota is gone. (The owner's key is under the org's quota
    // of 2 a minute too, and spent it: another key of the owner's has a bucket of its own.)
    let other_owner_key = api.pinned_key(&owner);
    // A removed admin's key reads nothing any more.
    let removed = api
        .call(
            "DELETE",
            &format!("/v1/org/members/{admin_id}"),
            Some(&other_owner_key),
            org,
            None,
        )
        .await;
    assert_eq!(removed.status, 204, "{removed:?}");
    let gone = api
        .call("GET", "/v1/org/limits", Some(&admin_key), org, None)
        .await;
    common::assert_error(&gone, 403, "forbidden");

    let restored = api
        .call(
            "PUT",
            "/v1/org/limits",
            Some(&other_owner_key),
            org,
            Some(json!({"policies": [{"name": "requests", "quota": 600}]})),
        )
        .await;
    assert_eq!(restored.body["policies"][0]["quota"], 600, "{restored:?}");
}

/// `GET /v1/org` `times` times as `key`; the last answer.
async fn pinned_or_not(api: &Api, key: &str, org: Option<&str>, times: usize) -> Answer {
    let mut last = None;
    for _ in 0..=times {
        last = Some(send(&api.server, "GET", "/v1/org", Some(key), org, None, None).await);
    }
    last.unwrap()
}

async fn a_key_its_own_quota_refuses_spends_nothing_of_the_orgs(db: TestDatabase) {
    let mut config = config_for(&db);
    set_limit(&mut config, Policy::Requests, 2, 60);
    set_limit(&mut config, Policy::OrgRequests, 5, 60);
    let api = Api::start_with_config(db, config).await;
    let owner = api.owner("ada@example.com", "Acme").await;
    let (flooding, other) = (api.pinned_key(&owner), api.pinned_key(&owner));
    let mut statuses = Vec::new();
    for _ in 0..10 {
        statuses.push(
            send(
                &api.server,
                "GET",
                "/v1/org",
                Some(&flooding),
                None,
                None,
                None,
            )
            .await,
        );
    }
    assert_eq!(statuses.iter().filter(|a| a.status == 200).count(), 2);
    assert!(statuses[2..]
        .iter()
        .all(|a| a.status == 429 && a.policy == Some(("requests".into(), 2, 60))));
    // The org spent 2 of its 5 (the owner's own POST /v1/orgs acted in no org): two more keys
    // get the other 3, and then the org's ceiling refuses.
    let third = api.pinned_key(&owner);
    for key in [&other, &other, &third] {
        let answer = send(&api.server, "GET", "/v1/org", Some(key), None, None, None).await;
        assert_eq!(answer.status, 200, "{answer:?}");
    }
    let ceiling = send(
        &api.server,
        "GET",
        "/v1/org",
        Some(&third),
        None,
        None,
        None,
    )
    .await;
    assert_eq!(ceiling.status, 429, "{ceiling:?}");
    assert_eq!(ceiling.policy, Some(("org_requests".into(), 5, 60)));
}

async fn refused_by_two_policies_the_answer_names_the_longer_wait(db: TestDatabase) {
    let mut config = config_for(&db);
    set_limit(&mut config, Policy::Requests, 1, 60);
    set_limit(&mut config, Policy::OrgRequests, 1, 120);
    let api = Api::start_with_config(db, config).await;
    let owner = api.owner("ada@example.com", "Acme").await;
    let key = api.pinned_key(&owner);
    let first = send(&api.server, "GET", "/v1/org", Some(&key), None, None, None).await;
    assert_eq!(first.status, 200, "{first:?}");
    let refused = send(&api.server, "GET", "/v1/org", Some(&key), None, None, None).await;
    assert_eq!(refused.status, 429, "{refused:?}");
    // Both refuse: the org's wait (about 120 s) is the one that makes waiting as told enough.
    assert_eq!(refused.policy, Some(("org_requests".into(), 1, 120)));
    let wait = refused.retry_after.expect("Retry-After");
    assert!((61..=120).contains(&wait), "{wait}");
    let message = refused.body["error"]["message"].as_str().unwrap();
    assert!(message.contains("org_requests"), "{message}");
}

async fn recording_llm_calls_is_limited_per_key(db: TestDatabase) {
    let mut config = config_for(&db);
    set_limit(&mut config, Policy::LlmCalls, 2, 60);
    let api = Api::start_with_config(db, config).await;
    let owner = api.owner("ada@example.com", "Acme").await;
    let key = api.pinned_key(&owner);
    let record = || {
        let call = json!({"model": "m", "prompt_tokens": 1, "completion_tokens": 1,
                          "cost_micros": 1, "latency_ms": 1});
        send(
            &api.server,
            "POST",
            "/v1/llm-calls",
            Some(&key),
            None,
            None,
            Some(call),
        )
    };
    for _ in 0..2 {
        let recorded = record().await;
        assert_eq!(recorded.status, 201, "{recorded:?}");
        assert_eq!(
            recorded.policy.as_ref().map(|p| p.0.as_str()),
            Some("llm_calls")
        );
    }
    let refused = record().await;
    assert_eq!(refused.status, 429, "{refused:?}");
    assert_eq!(refused.policy, Some(("llm_calls".into(), 2, 60)));
    // Reading is another policy's business.
    let read = send(&api.server, "GET", "/v1/org", Some(&key), None, None, None).await;
    assert_eq!(read.status, 200);
}

on_both_backends!(
    a_caller_past_its_quota_gets_429_with_the_headers_and_retry_after_is_honoured,
    refused_credentials_count_per_address_and_past_the_limit_answer_429,
    org_limits_are_shown_to_admins_and_lowered_by_owners_only,
    recording_llm_calls_is_limited_per_key,
    a_key_its_own_quota_refuses_spends_nothing_of_the_orgs,
    refused_by_two_policies_the_answer_names_the_longer_wait,
);

#[actix_web::test]
async fn health_probes_are_limited_per_client_address() {
    let db = TestDatabase::sqlite();
    let mut config = config_for(&db);
    set_limit(&mut config, Policy::Probes, 2, 60);
    let server = TestServer::start_with(state_with(config).await);
    for path in ["/healthz", "/readyz"] {
        let answer = send(&server, "GET", path, None, None, None, None).await;
        assert_eq!(answer.status, 200, "{answer:?}");
        assert_eq!(answer.policy, Some(("probes".into(), 2, 60)));
    }
    let refused = send(&server, "GET", "/readyz", None, None, None, None).await;
    assert_eq!(refused.status, 429, "{refused:?}");
    assert_error_body(&refused.body, "rate_limited");
}

/// What the load test saw: when each admitted request's answer arrived (since the start), per
/// key, and how long the run took.
struct Load {
    admitted: Vec<Vec<Duration>>,
    offered: usize,
    elapsed: Duration,
}

/// 64 clients, spread over `servers` and `keys`, each sending `GET /v1/org` every `pace` for
/// `run`.
async fn offer_load(
    servers: &[TestServer],
    keys: &[String],
    pace: Duration,
    run: Duration,
) -> Load {
    let started = Instant::now();
    let client = Rc::new(awc::Client::new());
    let tasks: Vec<_> = (0..64)
        .map(|n| {
            let url = servers[n % servers.len()].url("/v1/org");
            let (key, index) = (keys[n % keys.len()].clone(), n % keys.len());
            let client = Rc::clone(&client);
            actix_web::rt::spawn(async move {
                // Spread the clients' first sends over one pace.
                actix_web::rt::time::sleep(pace * n as u32 / 64).await;
                let mut seen = Vec::new();
                while started.elapsed() < run {
                    let sent = Instant::now();
                    let mut response = client
                        .get(&url)
                        .insert_header(("Authorization", format!("Bearer {key}")))
                        .send()
                        .await
                        .expect("request sent");
                    let status = response.status().as_u16();
                    response.body().await.expect("body");
                    assert!(status == 200 || status == 429, "status {status}");
                    seen.push((index, status == 200, started.elapsed()));
                    actix_web::rt::time::sleep(pace.saturating_sub(sent.elapsed())).await;
                }
                seen
            })
        })
        .collect();
    let mut admitted = vec![Vec::new(); keys.len()];
    let mut offered = 0;
    for task in tasks {
        for (index, allowed, at) in task.await.expect("client task") {
            offered += 1;
            if allowed {
                admitted[index].push(at);
            }
        }
    }
    Load {
        admitted,
        offered,
        elapsed: started.elapsed(),
    }
}

/// GCRA's bound: over any stretch of time `span`, at most `quota` (the burst) plus what the rate
/// refills in `span`.
fn bound(quota: u64, window: Duration, span: Duration) -> u64 {
    quota + (span.as_secs_f64() * quota as f64 / window.as_secs_f64()).ceil() as u64
}

/// Each key's and the org's admissions stay within their policies over the whole run, and
/// within the limit plus the burst over any window.
fn assert_within_limits(load: &Load, key_quota: u64, org_quota: u64, window: Duration) {
    let mut all: Vec<Duration> = load.admitted.iter().flatten().copied().collect();
    all.sort();
    for (times, quota) in load
        .admitted
        .iter()
        .map(|times| (times, key_quota))
        .chain([(&all, org_quota)])
    {
        let mut times = times.clone();
        times.sort();
        let count = times.len() as u64;
        assert!(
            count <= bound(quota, window, load.elapsed),
            "{count} admitted in {:?} at {quota} per {window:?}",
            load.elapsed
        );
        for (i, start) in times.iter().enumerate() {
            let within = times[i..]
                .iter()
                .take_while(|t| **t - *start < window)
                .count() as u64;
            assert!(within <= 2 * quota, "{within} admitted within one window");
        }
    }
    // The burst is admitted: the test measured something.
    assert!(
        all.len() as u64 >= org_quota.min(key_quota),
        "{}",
        all.len()
    );
    assert!(load.offered > all.len(), "some of {} refused", load.offered);
}

const KEY_QUOTA: u64 = 60;
const ORG_QUOTA: u64 = 100;
const WINDOW: Duration = Duration::from_secs(2);

fn load_config(db: &TestDatabase) -> Config {
    let mut config = config_for(db);
    set_limit(&mut config, Policy::Requests, KEY_QUOTA, WINDOW.as_secs());
    set_limit(
        &mut config,
        Policy::OrgRequests,
        ORG_QUOTA,
        WINDOW.as_secs(),
    );
    config
}

/// The org's rate is 50 requests a second; 64 clients offer ten times that (a request every
/// 128 ms each) for three seconds, half to each key.
const PACE: Duration = Duration::from_millis(128);
const RUN: Duration = Duration::from_secs(3);

#[actix_web::test]
async fn sixty_four_clients_on_two_instances_never_pass_the_limit_plus_the_burst() {
    let db = TestDatabase::postgres();
    let mut config = load_config(&db);
    config.redis_url = Some(redis_url());
    config.cache_key_prefix = format!("{}:", unique("limits"));
    let first = TestServer::start_with(state_with(config.clone()).await);
    let second = TestServer::start_with(state_with(config).await);
    let api = Api::start_on(first);
    let owner = api.owner("ada@example.com", "Acme").await;
    let keys = [api.pinned_key(&owner), api.pinned_key(&owner)];
    let servers = [api.server, second];
    let load = offer_load(&servers, &keys, PACE, RUN).await;
    assert_within_limits(&load, KEY_QUOTA, ORG_QUOTA, WINDOW);
    drop(db);
}

#[actix_web::test]
async fn sixty_four_clients_on_the_memory_cache_never_pass_the_limit_plus_the_burst() {
    let db = TestDatabase::sqlite();
    let api = Api::start_on(TestServer::start_with(state_with(load_config(&db)).await));
    let owner = api.owner("ada@example.com", "Acme").await;
    let keys = [api.pinned_key(&owner), api.pinned_key(&owner)];
    let servers = [api.server];
    let load = offer_load(&servers, &keys, PACE, RUN).await;
    assert_within_limits(&load, KEY_QUOTA, ORG_QUOTA, WINDOW);
    drop(db);
}

#[actix_web::test]
async fn a_token_policy_admits_exactly_its_quota_across_instances() {
    const QUOTA: u64 = 1_000_000;
    const DAY: u64 = 86_400;
    let db = TestDatabase::postgres();
    let mut config = config_for(&db);
    set_limit(&mut config, Policy::LlmTokens, QUOTA, DAY);
    config.redis_url = Some(redis_url());
    config.cache_key_prefix = format!("{}:", unique("tokens"));
    let states = [state_with(config.clone()).await, state_with(config).await];
    let limits = CallerLimits::new("key:shared".into(), Default::default());
    let started = Instant::now();
    let tasks = (0..64u64).map(|n| {
        let (state, limits) = (&states[n as usize % 2], &limits);
        async move {
            let req = actix_web::test::TestRequest::default().to_http_request();
            // A fixed spread of sizes per task, 1 to 5,000 tokens.
            let mut size = n * 7919 % 5_000 + 1;
            let mut admitted = 0;
            loop {
                match limits.admit(state, &req, Policy::LlmTokens, size).await {
                    Ok(()) => admitted += size,
                    Err(error) if error.code() == "rate_limited" => return admitted,
                    Err(error) => panic!("{error}"),
                }
                size = size * 7919 % 5_000 + 1;
            }
        }
    });
    let mut admitted: u64 = futures_util::future::join_all(tasks)
        .await
        .into_iter()
        .sum();
    // Then single tokens, alternating instances, until one is refused: the bucket is empty.
    let req = actix_web::test::TestRequest::default().to_http_request();
    for n in 0.. {
        match limits
            .admit(&states[n % 2], &req, Policy::LlmTokens, 1)
            .await
        {
            Ok(()) => admitted += 1,
            Err(error) if error.code() == "rate_limited" => break,
            Err(error) => panic!("{error}"),
        }
    }
    // Exactly the quota, and what the rate refilled while the test ran.
    let refilled = bound(QUOTA, Duration::from_secs(DAY), started.elapsed()) - QUOTA;
    assert!(
        (QUOTA..=QUOTA + refilled).contains(&admitted),
        "{admitted} tokens admitted, quota {QUOTA} plus {refilled} refilled"
    );
    drop(db);
}

/// A throwaway redis-server this test may stop.
struct OwnRedis {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl OwnRedis {
    fn start() -> OwnRedis {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(dir.path())
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server is installed");
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        OwnRedis {
            child,
            port,
            _dir: dir,
        }
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

fn metric(text: &str, series: &str) -> u64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series))
        .and_then(|value| value.trim().parse::<f64>().ok())
        .map_or(0, |value| value as u64)
}

#[actix_web::test]
async fn when_redis_stops_sign_in_fails_closed_and_requests_fail_open_unless_told_otherwise() {
    let db = TestDatabase::sqlite();
    let mut redis = OwnRedis::start();
    let mut config = config_for(&db);
    config.redis_url = Some(format!("redis://127.0.0.1:{}", redis.port));
    let by_default = TestServer::start_with(state_with(config.clone()).await);
    let mut denying = config.clone();
    denying.rate_limits.on_cache_error = Some(OnCacheError::Deny);
    let denying = TestServer::start_with(state_with(denying).await);
    let mut allowing = config;
    allowing.rate_limits.on_cache_error = Some(OnCacheError::Allow);
    let allowing = TestServer::start_with(state_with(allowing).await);
    let api = Api::start_on(by_default);
    let owner = api.owner("ada@example.com", "Acme").await;
    let key = api.pinned_key(&owner);
    let org_of = |server: &TestServer| {
        let server_url = server.url("/v1/org");
        let key = key.clone();
        async move {
            awc::Client::new()
                .get(server_url)
                .insert_header(("Authorization", format!("Bearer {key}")))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(org_of(&api.server).await, 200);
    assert_eq!(sign_in_from(&api.server, "x").await, 200);

    redis.stop();
    // By default: sign-in and refused credentials fail closed, the rest open.
    let closed = send(&api.server, "GET", SIGN_IN_PAGE, None, None, None, None).await;
    assert_eq!(closed.status, 503, "{closed:?}");
    assert_error_body(&closed.body, "unavailable");
    let bad = send(
        &api.server,
        "GET",
        "/v1/org",
        Some("navi_sk_x_y"),
        None,
        None,
        None,
    )
    .await;
    assert_eq!(bad.status, 503, "{bad:?}");
    let open = send(&api.server, "GET", "/v1/org", Some(&key), None, None, None).await;
    assert_eq!(open.status, 200, "{open:?}");
    assert_eq!(open.limit, None, "no decision, no header");
    // As configured: everything closed, or everything open.
    assert_eq!(org_of(&denying).await, 503);
    // Probes never fail closed: a liveness probe must not restart a healthy server.
    assert_eq!(denying.get("/healthz").await.0, 200);
    assert_eq!(org_of(&allowing).await, 200);
    assert_eq!(sign_in_from(&allowing, "x").await, 200);

    let text = awc::Client::new()
        .get(api.server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .body()
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap();
    for (series, at_least) in [
        (
            r#"navi_rate_limit_unavailable_total{action="deny",policy="sign_in"}"#,
            1,
        ),
        (
            r#"navi_rate_limit_unavailable_total{action="deny",policy="auth_failures"}"#,
            1,
        ),
        (
            r#"navi_rate_limit_unavailable_total{action="allow",policy="requests"}"#,
            1,
        ),
    ] {
        assert!(metric(&text, series) >= at_least, "{series} in\n{text}");
    }
    drop(db);
}
