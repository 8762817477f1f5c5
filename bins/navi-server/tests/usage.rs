//! LLM usage over HTTP on PostgreSQL and SQLite: ingestion (single, batch, idempotent retries,
//! all-or-nothing), feedback, the two dashboards, every 400 the contract names, the 403 cases,
//! and isolation between orgs and between users.

mod common;

use common::{assert_error, Api};
use diesel::RunQueryDsl;
use navi_tenancy::checkout;
use navi_tenancy::testing::TestDatabase;
use serde_json::{json, Value};

fn call(id: &str, cost_micros: i64, occurred_at: &str) -> Value {
    json!({"id": id, "model": "gpt-4o", "prompt_tokens": 100, "completion_tokens": 20,
           "cost_micros": cost_micros, "latency_ms": 250, "occurred_at": occurred_at})
}

const RANGE: &str = "from=2026-11-01&to=2026-11-30&tz=UTC";

async fn calls_are_recorded_once_and_dashboards_show_them(db: TestDatabase) {
    let api = Api::start(db).await;
    let owner = api.owner("ada@example.com", "Acme").await;
    let (member_key, member_id) = api.member(&owner, "mia@example.com", "member").await;
    let org = Some(owner.org_id.as_str());

    let single = api
        .call(
            "POST",
            "/v1/llm-calls",
            Some(&owner.key),
            org,
            Some(call("c-1", 1_500_000, "2026-11-20T10:00:00Z")),
        )
        .await;
    assert_eq!(single.status, 201, "{single:?}");
    assert_eq!(single.body, json!({"accepted": 1, "duplicates": 0}));
    let batch = json!({"calls": [call("c-2", 2_000_000, "2026-11-21T23:30:00Z"),
                                 call("c-3", 250_000, "2026-11-22T00:30:00+01:00")]});
    let first = api
        .call(
            "POST",
            "/v1/llm-calls",
            Some(&member_key),
            org,
            Some(batch.clone()),
        )
        .await;
    assert_eq!(first.body, json!({"accepted": 2, "duplicates": 0}));
    let retried = api
        .call("POST", "/v1/llm-calls", Some(&member_key), org, Some(batch))
        .await;
    assert_eq!(retried.status, 201);
    assert_eq!(
        retried.body,
        json!({"accepted": 0, "duplicates": 2}),
        "a retry never double-counts"
    );
    let without_id = json!({"model": "claude", "prompt_tokens": 1, "completion_tokens": 1,
                            "cost_micros": 0, "latency_ms": 10, "occurred_at": "2026-11-22T08:00:00Z"});
    assert_eq!(
        api.call(
            "POST",
            "/v1/llm-calls",
            Some(&owner.key),
            org,
            Some(without_id)
        )
        .await
        .status,
        201
    );
    let feedback = api
        .call(
            "POST",
            "/v1/feedback",
            Some(&member_key),
            org,
            Some(json!({"target_id": "msg_1", "rating": -1, "comment": "wrong answer"})),
        )
        .await;
    assert_eq!(feedback.status, 201, "{feedback:?}");
    assert!(feedback.body["id"].as_str().unwrap().starts_with("fbk_"));

    let dashboard = api
        .get_ok(&format!("/v1/analytics/org?{RANGE}"), &owner.key, org)
        .await;
    let body = &dashboard;
    let keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["org_id", "user_id", "from", "to", "tz", "totals", "daily", "by_model", "by_user"]
    );
    assert_eq!(body["user_id"], Value::Null);
    assert_eq!(body["totals"]["requests"], 4);
    assert_eq!(body["totals"]["cost_micros"], 3_750_000);
    assert_eq!(body["totals"]["cost_usd"], "3.750000");
    assert_eq!(
        body["totals"]["avg_latency_ms"],
        json!(190.0),
        "(3 × 250 + 10) / 4"
    );
    assert_eq!(body["daily"].as_array().unwrap().len(), 30);
    assert_eq!(
        body["daily"][20]["requests"], 2,
        "21 November: 23:30 UTC and 23:30 UTC (+01:00)"
    );
    assert_eq!(body["by_user"].as_array().unwrap().len(), 2);
    assert_eq!(
        body["by_user"][0]["user_id"],
        member_id.as_str(),
        "most expensive first"
    );
    let own = api
        .call(
            "GET",
            &format!("/v1/analytics/usage?{RANGE}"),
            Some(&member_key),
            org,
            None,
        )
        .await;
    assert_eq!(own.status, 200);
    assert_eq!(own.body["user_id"], member_id.as_str());
    assert_eq!(own.body["totals"]["requests"], 2);
    assert!(own.body.get("by_user").is_none());
    // Feedback is stamped when it is given: it counts on today's date, not in November.
    let today = chrono::Utc::now().date_naive();
    let around_now = format!(
        "/v1/analytics/usage?from={}&to={}&tz=UTC",
        today.pred_opt().unwrap(),
        today.succ_opt().unwrap()
    );
    let own_now = api
        .call("GET", &around_now, Some(&member_key), org, None)
        .await;
    assert_eq!(own_now.status, 200);
    assert_eq!(own_now.body["totals"]["feedback_negative"], 1);

    // Without occurred_at a call is stamped now.
    let now = json!({"model": "m", "prompt_tokens": 1, "completion_tokens": 1, "cost_micros": 1, "latency_ms": 1});
    assert_eq!(
        api.call("POST", "/v1/llm-calls", Some(&owner.key), org, Some(now))
            .await
            .status,
        201
    );
    let recent = api
        .call("GET", &around_now, Some(&owner.key), org, None)
        .await;
    let model_m: Vec<&Value> = recent.body["by_model"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| row["model"] == "m")
        .collect();
    assert_eq!(model_m.len(), 1, "{recent:?}");
    assert_eq!(model_m[0]["requests"], 1);
    // Feedback is stamped now too, and counted on its giver's own dashboard only.
    let members_recent = api
        .call("GET", &around_now, Some(&member_key), org, None)
        .await;
    assert_eq!(members_recent.body["totals"]["feedback_negative"], 1);
    assert_eq!(recent.body["totals"]["feedback_negative"], 0);
}

/// An error message is one sentence: it ends with a single full stop, and says where by the
/// field's path, not by a position in the text.
fn one_sentence(message: &str) -> bool {
    message.ends_with('.') && !message.ends_with("..") && !message.contains(" at line ")
}

async fn a_batch_with_one_bad_call_records_nothing(db: TestDatabase) {
    let api = Api::start(db).await;
    let owner = api.owner("ada@example.com", "Acme").await;
    let org = Some(owner.org_id.as_str());
    let mut bad = call("c-3", 1, "2026-11-20T10:00:00Z");
    bad["prompt_tokens"] = json!(-5);
    let batch = json!({"calls": [call("c-1", 1, "2026-11-20T10:00:00Z"), call("c-2", 1, "2026-11-20T10:00:00Z"), bad]});
    let reply = api
        .call("POST", "/v1/llm-calls", Some(&owner.key), org, Some(batch))
        .await;
    assert_error(&reply, 400, "invalid_request");
    let message = reply.body["error"]["message"].as_str().unwrap();
    assert!(message.contains("calls[2].prompt_tokens"), "{message}");
    let dashboard = api
        .call(
            "GET",
            &format!("/v1/analytics/org?{RANGE}"),
            Some(&owner.key),
            org,
            None,
        )
        .await;
    assert_eq!(dashboard.body["totals"]["requests"], 0, "all or nothing");

    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"calls": [call("a", 1, "2026-11-20T10:00:00Z"), {"model": "m", "prompt_tokens": 1, "completion_tokens": 1, "cost_micros": 1, "latency_ms": 1, "extra": true}]}),
            "calls[1].extra: unknown field `extra`",
        ),
        (
            json!({"calls": [{"model": "m", "prompt_tokens": 1.5, "completion_tokens": 1, "cost_micros": 1, "latency_ms": 1}]}),
            "calls[0].prompt_tokens: invalid type",
        ),
        (
            json!({"calls": [call("a", 1, "2026-11-20T10:00:00Z"), {"model": "m", "prompt_tokens": 1, "completion_tokens": "1", "cost_micros": 1, "latency_ms": 1}]}),
            "calls[1].completion_tokens: invalid type",
        ),
        (
            json!({"model": "m", "prompt_tokens": 1, "completion_tokens": 1, "cost_micros": 10_000_000_000_000_000_000u64, "latency_ms": 1}),
            "calls[0].cost_micros: invalid value",
        ),
        (
            json!({"model": 5, "prompt_tokens": 1, "completion_tokens": 1, "cost_micros": 1, "latency_ms": 1}),
            "calls[0].model: invalid type",
        ),
        (
            json!({"calls": [{"prompt_tokens": 1, "completion_tokens": 1, "cost_micros": 1, "latency_ms": 1}]}),
            "calls[0]: missing field `model`",
        ),
        (
            json!({"calls": [{"model": "", "prompt_tokens": 1, "completion_tokens": 1, "cost_micros": 1, "latency_ms": 1}]}),
            "calls[0].model",
        ),
        (
            json!({"calls": [{"model": "m", "prompt_tokens": 1, "completion_tokens": 1, "cost_micros": -1, "latency_ms": 1}]}),
            "calls[0].cost_micros",
        ),
        (
            json!({"calls": [{"model": "m", "prompt_tokens": 1, "completion_tokens": 1, "cost_micros": 1, "latency_ms": 1, "occurred_at": "yesterday"}]}),
            "calls[0].occurred_at: ",
        ),
        (
            json!({"calls": [{"model": "m", "prompt_tokens": 1, "completion_tokens": 1, "cost_micros": 1, "latency_ms": 1, "id": "x".repeat(101)}]}),
            "calls[0].id",
        ),
        (json!({"calls": []}), "calls"),
        (
            json!({"calls": vec![call("a", 1, "2026-11-20T10:00:00Z"); 1001]}),
            "calls",
        ),
        (json!([1, 2]), "call"),
        (json!({"calls": 5}), "calls: invalid type"),
        (json!({"calls": [], "extra": 1}), "unknown field `extra`"),
    ];
    for (body, named) in cases {
        let reply = api
            .call("POST", "/v1/llm-calls", Some(&owner.key), org, Some(body))
            .await;
        assert_error(&reply, 400, "invalid_request");
        let message = reply.body["error"]["message"].as_str().unwrap();
        assert!(message.contains(named), "{named}: {message}");
        assert!(one_sentence(message), "{message}");
    }
    for (body, named) in [
        (
            r#"{"calls": [{"model": "m", "prompt_tokens": 1, "completion_tokens": 1, "cost_micros": 1, "latency_ms": 1, "latency_ms": 2}]}"#,
            "calls[0]",
        ),
        (r#"{"calls": [], "calls": []}"#, "duplicate field `calls`"),
    ] {
        let reply = api
            .call_text("POST", "/v1/llm-calls", Some(&owner.key), org, body)
            .await;
        assert_error(&reply, 400, "invalid_request");
        let message = reply.body["error"]["message"].as_str().unwrap();
        assert!(message.contains(named), "{named}: {message}");
        assert!(message.contains("duplicate field"), "{message}");
        assert!(one_sentence(message), "{message}");
    }
    for (body, named) in [
        (json!({"target_id": "m", "rating": 2}), "rating"),
        (json!({"target_id": "", "rating": 1}), "target_id"),
        (json!({"target_id": "m", "rating": 1, "stars": 5}), "stars"),
        (
            json!({"target_id": "m", "rating": "1"}),
            "rating: invalid type",
        ),
        (
            json!({"target_id": 7, "rating": 1}),
            "target_id: invalid type",
        ),
        (
            json!({"target_id": "m", "rating": 1, "comment": ["x"]}),
            "comment: invalid type",
        ),
        (json!({"rating": 1}), "missing field `target_id`"),
    ] {
        let reply = api
            .call("POST", "/v1/feedback", Some(&owner.key), org, Some(body))
            .await;
        assert_error(&reply, 400, "invalid_request");
        assert!(
            reply.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains(named),
            "{reply:?}"
        );
    }
    for (query, named) in [
        ("from=2026-11-01&to=2026-11-30&tz=Mars/Olympus", "tz"),
        ("from=2026-12-01&to=2026-11-30", "from"),
        ("from=2026-01-01&to=2027-01-02", "to"),
        ("from=2026-13-01&to=2026-12-30", "from"),
        ("from=2026-11-01&to=2026-11-30&zone=UTC", "zone"),
    ] {
        for path in ["/v1/analytics/usage", "/v1/analytics/org"] {
            let reply = api
                .call(
                    "GET",
                    &format!("{path}?{query}"),
                    Some(&owner.key),
                    org,
                    None,
                )
                .await;
            assert_error(&reply, 400, "invalid_request");
            let message = reply.body["error"]["message"].as_str().unwrap();
            assert!(message.contains(named), "{query}: {reply:?}");
            assert!(one_sentence(message), "{message}");
        }
    }
}

async fn dashboards_keep_orgs_and_users_apart(db: TestDatabase) {
    let api = Api::start(db).await;
    let a = api.owner("ada@example.com", "Org A").await;
    let (a_member, _) = api.member(&a, "mia@example.com", "member").await;
    let (a_admin, _) = api.member(&a, "adam@example.com", "admin").await;
    let b = api.owner("bob@example.com", "Org B").await;
    let a_org = Some(a.org_id.as_str());
    api.call(
        "POST",
        "/v1/llm-calls",
        Some(&a.key),
        a_org,
        Some(call("x", 7_000_000, "2026-11-10T12:00:00Z")),
    )
    .await;
    api.call(
        "POST",
        "/v1/feedback",
        Some(&a.key),
        a_org,
        Some(json!({"target_id": "t", "rating": 1})),
    )
    .await;

    // No org context, member on the org dashboard, outsiders naming org A.
    assert_error(
        &api.call(
            "GET",
            &format!("/v1/analytics/usage?{RANGE}"),
            Some(&a.key),
            None,
            None,
        )
        .await,
        403,
        "org_context_required",
    );
    assert_error(
        &api.call(
            "POST",
            "/v1/llm-calls",
            Some(&a.key),
            None,
            Some(call("y", 1, "2026-11-10T12:00:00Z")),
        )
        .await,
        403,
        "org_context_required",
    );
    assert_error(
        &api.call(
            "GET",
            &format!("/v1/analytics/org?{RANGE}"),
            Some(&a_member),
            a_org,
            None,
        )
        .await,
        403,
        "forbidden",
    );
    // Refused before its parameters are looked at: bad ones do not make a member's 403 a 400.
    for query in [
        "from=2026-12-01&to=2026-11-01&tz=Mars/Olympus",
        "zone=UTC",
        "from=a&from=b",
    ] {
        assert_error(
            &api.call(
                "GET",
                &format!("/v1/analytics/org?{query}"),
                Some(&a_member),
                a_org,
                None,
            )
            .await,
            403,
            "forbidden",
        );
    }
    assert_error(
        &api.call(
            "GET",
            &format!("/v1/analytics/org?{RANGE}"),
            Some(&b.key),
            a_org,
            None,
        )
        .await,
        403,
        "forbidden",
    );
    assert_error(
        &api.call(
            "GET",
            &format!("/v1/analytics/usage?{RANGE}"),
            Some(&b.key),
            a_org,
            None,
        )
        .await,
        403,
        "forbidden",
    );
    assert_error(
        &api.call(
            "POST",
            "/v1/llm-calls",
            Some(&b.key),
            a_org,
            Some(call("z", 1, "2026-11-10T12:00:00Z")),
        )
        .await,
        403,
        "forbidden",
    );

    let admin_view = api
        .call(
            "GET",
            &format!("/v1/analytics/org?{RANGE}"),
            Some(&a_admin),
            a_org,
            None,
        )
        .await;
    assert_eq!(admin_view.body["totals"]["requests"], 1);
    // Another user's calls are not in my usage; another org's are not in its dashboards.
    let member_view = api
        .call(
            "GET",
            &format!("/v1/analytics/usage?{RANGE}"),
            Some(&a_member),
            a_org,
            None,
        )
        .await;
    assert_eq!(member_view.body["totals"]["requests"], 0);
    assert_eq!(member_view.body["totals"]["feedback_positive"], 0);
    let b_org = Some(b.org_id.as_str());
    for path in ["/v1/analytics/org", "/v1/analytics/usage"] {
        let b_view = api
            .call("GET", &format!("{path}?{RANGE}"), Some(&b.key), b_org, None)
            .await;
        assert_eq!(b_view.status, 200);
        assert_eq!(b_view.body["totals"]["requests"], 0, "{path}");
        assert_eq!(b_view.body["totals"]["cost_usd"], "0.000000");
        assert_eq!(b_view.body["totals"]["feedback_positive"], 0);
    }
    // The same call id in org B is a different call.
    let reused = api
        .call(
            "POST",
            "/v1/llm-calls",
            Some(&b.key),
            b_org,
            Some(call("x", 1, "2026-11-10T12:00:00Z")),
        )
        .await;
    assert_eq!(reused.body, json!({"accepted": 1, "duplicates": 0}));
}

/// The value of a metric without labels in the server's `/metrics` text.
async fn metric(api: &Api, name: &str) -> f64 {
    let mut response = awc::Client::new()
        .get(api.server.url("/metrics"))
        .send()
        .await
        .expect("metrics");
    let text = String::from_utf8(response.body().await.expect("body").to_vec()).expect("text");
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("{name} missing from:\n{text}"))
        .parse()
        .expect("a number")
}

async fn metrics_count_each_recorded_call_once(db: TestDatabase) {
    let api = Api::start(db).await;
    let owner = api.owner("ada@example.com", "Acme").await;
    let org = Some(owner.org_id.as_str());
    let post = |body: Value| api.call("POST", "/v1/llm-calls", Some(&owner.key), org, Some(body));
    let first = post(json!({"calls": [call("a", 1_000, "2026-11-20T10:00:00Z"),
                                      call("b", 20_000, "2026-11-20T10:00:00Z")]}))
    .await;
    assert_eq!(first.body, json!({"accepted": 2, "duplicates": 0}));
    // A retry that brings one new call: only the new call is counted.
    let partly_retried = post(json!({"calls": [call("b", 20_000, "2026-11-20T10:00:00Z"),
                                               call("c", 300_000, "2026-11-20T10:00:00Z"),
                                               call("a", 1_000, "2026-11-20T10:00:00Z")]}))
    .await;
    assert_eq!(partly_retried.body, json!({"accepted": 1, "duplicates": 2}));
    assert_eq!(metric(&api, "navi_llm_cost_micros_total").await, 321_000.0);
    assert_eq!(metric(&api, "navi_llm_latency_seconds_count").await, 3.0);
}

/// A call at the bounds is recorded; one beyond any of them is a 400 naming the field, so a
/// member cannot record a call whose sums would break the day's rollups for the whole org.
async fn each_call_is_bounded_and_a_huge_one_breaks_nothing(db: TestDatabase) {
    let api = Api::start(db).await;
    let owner = api.owner("ada@example.com", "Acme").await;
    let org = Some(owner.org_id.as_str());
    let at = "2026-11-20T10:00:00Z";
    let huge = json!({"id": "huge", "model": "gpt-4o", "prompt_tokens": i64::MAX,
                      "completion_tokens": i64::MAX, "cost_micros": i64::MAX,
                      "latency_ms": i64::MAX, "occurred_at": at});
    let reply = api
        .call("POST", "/v1/llm-calls", Some(&owner.key), org, Some(huge))
        .await;
    assert_error(&reply, 400, "invalid_request");
    for (field, max) in [
        ("prompt_tokens", 100_000_000_i64),
        ("completion_tokens", 100_000_000),
        ("cost_micros", 10_000_000_000),
        ("latency_ms", 86_400_000),
    ] {
        let mut beyond = call(&format!("beyond-{field}"), 1, at);
        beyond[field] = json!(max + 1);
        let reply = api
            .call("POST", "/v1/llm-calls", Some(&owner.key), org, Some(beyond))
            .await;
        assert_error(&reply, 400, "invalid_request");
        let message = reply.body["error"]["message"].as_str().unwrap();
        assert_eq!(
            message,
            format!("calls[0].{field}: a whole number from 0 to {max}.")
        );
    }
    let largest = json!({"id": "largest", "model": "gpt-4o", "prompt_tokens": 100_000_000,
                         "completion_tokens": 100_000_000, "cost_micros": 10_000_000_000_i64,
                         "latency_ms": 86_400_000, "occurred_at": at});
    let reply = api
        .call(
            "POST",
            "/v1/llm-calls",
            Some(&owner.key),
            org,
            Some(largest),
        )
        .await;
    assert_eq!(reply.body, json!({"accepted": 1, "duplicates": 0}));
    // Later calls of the model and day are still recorded, and the day's dashboard adds up.
    let reply = api
        .call(
            "POST",
            "/v1/llm-calls",
            Some(&owner.key),
            org,
            Some(call("later", 5, at)),
        )
        .await;
    assert_eq!(
        reply.body,
        json!({"accepted": 1, "duplicates": 0}),
        "{reply:?}"
    );
    let dashboard = api
        .get_ok(
            "/v1/analytics/org?from=2026-11-20&to=2026-11-20&tz=UTC",
            &owner.key,
            org,
        )
        .await;
    let totals = &dashboard["totals"];
    assert_eq!(totals["requests"], 2);
    assert_eq!(totals["prompt_tokens"], 100_000_100);
    assert_eq!(totals["completion_tokens"], 100_000_020);
    assert_eq!(totals["cost_micros"], 10_000_000_005_i64);
    assert_eq!(totals["cost_usd"], "10000.000005");
}

/// Client ids are unique per org and user: a member's `req-1` does not make a colleague's
/// `req-1` a duplicate, and the same member's `req-1` twice is still one call.
async fn call_ids_are_unique_per_member_not_per_org(db: TestDatabase) {
    let api = Api::start(db).await;
    let owner = api.owner("ada@example.com", "Acme").await;
    let (member_key, member_id) = api.member(&owner, "mia@example.com", "member").await;
    let org = Some(owner.org_id.as_str());
    let post = |key: &str, cost_micros: i64| {
        let body = call("req-1", cost_micros, "2026-11-20T10:00:00Z");
        let key = key.to_owned();
        let api = &api;
        async move {
            api.call("POST", "/v1/llm-calls", Some(&key), org, Some(body))
                .await
        }
    };
    let first = post(&member_key, 1_000).await;
    assert_eq!(
        first.body,
        json!({"accepted": 1, "duplicates": 0}),
        "{first:?}"
    );
    let colleague = post(&owner.key, 20_000).await;
    assert_eq!(
        colleague.body,
        json!({"accepted": 1, "duplicates": 0}),
        "another member's req-1 is another call"
    );
    let retried = post(&member_key, 1_000).await;
    assert_eq!(retried.body, json!({"accepted": 0, "duplicates": 1}));
    let in_one_batch = api
        .call(
            "POST",
            "/v1/llm-calls",
            Some(&owner.key),
            org,
            Some(
                json!({"calls": [call("req-2", 300_000, "2026-11-20T11:00:00Z"),
                                  call("req-1", 1, "2026-11-20T11:00:00Z")]}),
            ),
        )
        .await;
    assert_eq!(in_one_batch.body, json!({"accepted": 1, "duplicates": 1}));

    let dashboard = api
        .get_ok(&format!("/v1/analytics/org?{RANGE}"), &owner.key, org)
        .await;
    assert_eq!(dashboard["totals"]["requests"], 3);
    assert_eq!(dashboard["totals"]["cost_micros"], 321_000);
    let users = dashboard["by_user"].as_array().unwrap();
    assert_eq!(users.len(), 2, "{users:?}");
    assert_eq!(users[0]["user_id"], owner.user_id.as_str());
    assert_eq!(users[0]["requests"], 2);
    assert_eq!(users[1]["user_id"], member_id.as_str());
    assert_eq!(users[1]["requests"], 1);
    let own = api
        .call(
            "GET",
            &format!("/v1/analytics/usage?{RANGE}"),
            Some(&member_key),
            org,
            None,
        )
        .await;
    assert_eq!(own.body["totals"]["requests"], 1);
    assert_eq!(own.body["totals"]["cost_micros"], 1_000);
}

/// A range whose sums do not fit the answer's 64-bit integers is a 400 naming the range, never a
/// 500; each of its days alone is answered. (Calls are bounded, so rows this large are written
/// here directly: it would take about 9 × 10⁸ calls of the largest cost.)
async fn a_range_whose_totals_do_not_fit_is_a_400_naming_it(db: TestDatabase) {
    let api = Api::start(db).await;
    let owner = api.owner("ada@example.com", "Acme").await;
    let org = Some(owner.org_id.as_str());
    {
        let mut conn = checkout(&api.server.state.pool).unwrap();
        for bucket in [1_795_132_800_i64, 1_795_219_200] {
            // 2026-11-20 and 2026-11-21, UTC.
            diesel::sql_query(format!(
                "INSERT INTO navi_usage_model_1d (org_id, bucket, model, requests, \
                 prompt_tokens, completion_tokens, cost_micros, latency_sum_ms) \
                 VALUES ('{}', {bucket}, 'gpt-4o', 1, 1, 1, 5000000000000000000, 1)",
                owner.org_id
            ))
            .execute(&mut conn)
            .unwrap();
        }
    }
    let day = api
        .call(
            "GET",
            "/v1/analytics/org?from=2026-11-21&to=2026-11-21&tz=UTC",
            Some(&owner.key),
            org,
            None,
        )
        .await;
    assert_eq!(day.status, 200, "{day:?}");
    assert_eq!(
        day.body["totals"]["cost_micros"],
        5_000_000_000_000_000_000_i64
    );
    let range = api
        .call(
            "GET",
            "/v1/analytics/org?from=2026-11-20&to=2026-11-21&tz=UTC",
            Some(&owner.key),
            org,
            None,
        )
        .await;
    assert_error(&range, 400, "invalid_request");
    assert_eq!(
        range.body["error"]["message"],
        "The sums from 2026-11-20 to 2026-11-21 do not fit in 64-bit integers: ask for a \
         shorter range."
    );
}

/// Each recorded call keeps the API key that sent it (spend per key can be read later): two keys
/// of one member, each call with its own.
async fn each_call_keeps_the_key_that_recorded_it(db: TestDatabase) {
    let api = Api::start(db).await;
    let owner = api.owner("ada@example.com", "Acme").await;
    let org = Some(owner.org_id.as_str());
    let made = api
        .call(
            "POST",
            "/v1/api-keys",
            Some(&owner.key),
            org,
            Some(json!({"name": "ci"})),
        )
        .await;
    assert_eq!(made.status, 201, "{made:?}");
    let ci_key = made.body["api_key"].as_str().unwrap().to_owned();
    let ci_id = made.body["id"].as_str().unwrap().to_owned();
    let listed = api
        .call("GET", "/v1/api-keys", Some(&owner.key), org, None)
        .await;
    let user_key_id = listed.body["api_keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["org_id"].is_null())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (key, id) in [(&owner.key, "from-user-key"), (&ci_key, "from-ci-key")] {
        let call = json!({"id": id, "model": "m", "prompt_tokens": 1, "completion_tokens": 1,
                          "cost_micros": 1, "latency_ms": 1});
        let reply = api
            .call("POST", "/v1/llm-calls", Some(key), org, Some(call))
            .await;
        assert_eq!(reply.status, 201, "{reply:?}");
    }
    #[derive(diesel::QueryableByName, Debug, PartialEq)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        client_call_id: String,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        api_key_id: Option<String>,
    }
    let mut conn = checkout(&api.server.state.pool).unwrap();
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT client_call_id, api_key_id FROM navi_llm_calls ORDER BY client_call_id",
    )
    .load(&mut conn)
    .unwrap();
    assert_eq!(
        rows,
        [
            Row {
                client_call_id: "from-ci-key".into(),
                api_key_id: Some(ci_id),
            },
            Row {
                client_call_id: "from-user-key".into(),
                api_key_id: Some(user_key_id),
            },
        ]
    );
}

on_both_backends!(
    calls_are_recorded_once_and_dashboards_show_them,
    metrics_count_each_recorded_call_once,
    a_batch_with_one_bad_call_records_nothing,
    dashboards_keep_orgs_and_users_apart,
    each_call_is_bounded_and_a_huge_one_breaks_nothing,
    call_ids_are_unique_per_member_not_per_org,
    a_range_whose_totals_do_not_fit_is_a_400_naming_it,
    each_call_keeps_the_key_that_recorded_it,
);
