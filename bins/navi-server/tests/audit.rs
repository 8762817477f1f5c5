//! The audit endpoints over a real socket, on PostgreSQL and SQLite: events written by the
//! changes themselves, listing with filters and keyset pages, the CSV export parsed back with a
//! real CSV parser, verification that names a tampered link, the client address, role and tenant
//! boundaries, and an export that stops reading when its client goes away.

mod common;

use base64::Engine as _;
use common::{assert_error, config_for, is_timestamp, state_with, Api, Owner, TestServer};
use diesel::prelude::*;
use navi_crypto::{Ciphertext, SealContext};
use navi_tenancy::audit::{list_audit_events, AuditFilter, AuditRecord};
use navi_tenancy::testing::TestDatabase;
use navi_tenancy::{checkout, DbConnection, TenantScope};
use serde_json::{json, Value};

fn server_body(name: &str) -> Value {
    json!({"name": name, "url": "https://tools.example.com/mcp", "transport": "http",
           "secret": {"token": "hunter2"}})
}

/// Every stored event of the owner's org, newest first, read past the API.
fn stored(api: &Api, owner: &Owner) -> Vec<AuditRecord> {
    let scope = TenantScope::for_tests(&owner.org_id, &owner.user_id, navi_tenancy::Role::Owner);
    let mut conn = checkout(&api.server.state.pool).unwrap();
    list_audit_events(&scope, &mut conn, &AuditFilter::default(), None, 1000).unwrap()
}

fn exec(api: &Api, sql: &str) {
    let mut conn = checkout(&api.server.state.pool).unwrap();
    diesel::sql_query(sql).execute(&mut conn).unwrap();
}

/// A raw GET: status, headers and body text.
async fn get_raw(
    server: &TestServer,
    path: &str,
    key: &str,
    org: &str,
) -> (u16, awc::http::header::HeaderMap, String) {
    let mut response = awc::Client::new()
        .get(server.url(path))
        .insert_header(("Authorization", format!("Bearer {key}")))
        .insert_header(("X-Navi-Org", org))
        .send()
        .await
        .expect("request sent");
    let body = response.body().limit(64 << 20).await.expect("body read");
    (
        response.status().as_u16(),
        response.headers().clone(),
        String::from_utf8(body.to_vec()).expect("UTF-8"),
    )
}

/// Events 2..=`last` of `org` (after its `org.create`), written past the repository in one
/// transaction, with `target_id` set to `filler`.
fn insert_bulk_events(api: &Api, org: &str, last: i64, filler: &str) {
    let mut conn = checkout(&api.server.state.pool).unwrap();
    let link = match &*conn as &DbConnection {
        DbConnection::Postgresql(_) => "'\\x00'::bytea",
        DbConnection::Sqlite(_) => "X'00'",
    };
    conn.transaction::<_, diesel::result::Error, _>(|conn| {
        for seq in 2..=last {
            diesel::sql_query(format!(
                "INSERT INTO navi_audit_logs (id, org_id, seq, action, target_type, created_at, \
                 chain_key_id, link, target_id) VALUES ('aud_bulk{seq}', '{org}', {seq}, \
                 'invite.create', 'invite', '2026-11-22 09:15:00', 'k', {link}, '{filler}')"
            ))
            .execute(conn)?;
        }
        Ok(())
    })
    .unwrap();
}

/// `POST /v1/mcp-servers` as the owner, with a secret.
async fn create_server(api: &Api, owner: &Owner, name: &str) -> common::Reply {
    api.call(
        "POST",
        "/v1/mcp-servers",
        Some(&owner.key),
        Some(&owner.org_id),
        Some(server_body(name)),
    )
    .await
}

async fn changes_are_listed_newest_first_with_filters_and_pages(db: TestDatabase) {
    let api = Api::start(db).await;
    let owner = api.owner("ada@example.com", "Acme").await;
    let org = Some(owner.org_id.as_str());
    let created = create_server(&api, &owner, "Tools").await;
    assert_eq!(created.status, 201, "{created:?}");
    let id = created.body["id"].as_str().unwrap().to_owned();
    let read = api
        .call(
            "GET",
            &format!("/v1/mcp-servers/{id}/secret"),
            Some(&owner.key),
            org,
            None,
        )
        .await;
    assert_eq!(read.status, 200);
    // Usage data is not audited.
    let calls = api
        .call(
            "POST",
            "/v1/llm-calls",
            Some(&owner.key),
            org,
            Some(
                json!({"model": "m", "prompt_tokens": 1, "completion_tokens": 1,
                        "cost_micros": 1, "latency_ms": 1}),
            ),
        )
        .await;
    assert_eq!(calls.status, 201);

    let logs = api
        .call("GET", "/v1/audit/logs", Some(&owner.key), org, None)
        .await;
    assert_eq!(logs.status, 200, "{logs:?}");
    let events = logs.body["events"].as_array().unwrap();
    let actions: Vec<&str> = events
        .iter()
        .map(|event| event["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["mcp_server.secret_read", "mcp_server.create", "org.create"]
    );
    assert_eq!(logs.body["next_cursor"], Value::Null);
    let read_event = &events[0];
    assert_eq!(read_event["org_id"], owner.org_id.as_str());
    assert_eq!(read_event["actor_user_id"], owner.user_id.as_str());
    assert_eq!(read_event["target_type"], "mcp_server");
    assert_eq!(read_event["target_id"], id.as_str());
    assert_eq!(read_event["ip"], "127.0.0.1");
    assert!(read_event["id"].as_str().unwrap().starts_with("aud_"));
    assert!(is_timestamp(&read_event["created_at"]));
    assert_eq!(read_event["payload"]["name"], "Tools");
    assert!(!logs.body.to_string().contains("hunter2"), "{}", logs.body);

    // Pages of one, by cursor, cover the three events once.
    let mut seen = Vec::new();
    let mut path = "/v1/audit/logs?limit=1".to_owned();
    loop {
        let page = api.call("GET", &path, Some(&owner.key), org, None).await;
        assert_eq!(page.status, 200, "{page:?}");
        for event in page.body["events"].as_array().unwrap() {
            seen.push(event["action"].as_str().unwrap().to_owned());
        }
        match page.body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/audit/logs?limit=1&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, actions);

    let only = |query: String| {
        let api = &api;
        let owner = &owner;
        async move {
            let reply = api
                .call(
                    "GET",
                    &format!("/v1/audit/logs?{query}"),
                    Some(&owner.key),
                    Some(&owner.org_id),
                    None,
                )
                .await;
            assert_eq!(reply.status, 200, "{query}: {reply:?}");
            reply.body["events"].as_array().unwrap().len()
        }
    };
    assert_eq!(only("action=org.create".into()).await, 1);
    assert_eq!(only(format!("actor={}", owner.user_id)).await, 3);
    assert_eq!(only("actor=usr_nobody".into()).await, 0);
    assert_eq!(only("from=2000-01-01&to=2000-01-01".into()).await, 0);
    assert_eq!(only("from=2000-01-01T00:00:00Z".into()).await, 3);

    for bad in [
        "limit=0",
        "limit=1001",
        "limit=ten",
        "cursor=abc",
        "action=org.explode",
        "actor=ada",
        "from=yesterday",
        "from=2026-12-02&to=2026-12-01",
        "include_payload=true",
        "unknown=1",
    ] {
        let reply = api
            .call(
                "GET",
                &format!("/v1/audit/logs?{bad}"),
                Some(&owner.key),
                org,
                None,
            )
            .await;
        assert_error(&reply, 400, "invalid_request");
    }
}

async fn a_change_that_fails_writes_no_event(db: TestDatabase) {
    let api = Api::start(db).await;
    let owner = api.owner("ada@example.com", "Acme").await;
    let org = Some(owner.org_id.as_str());
    let first = create_server(&api, &owner, "Same").await;
    assert_eq!(first.status, 201);
    let before = stored(&api, &owner).len();
    let again = create_server(&api, &owner, "Same").await;
    assert_error(&again, 409, "conflict");
    let last_owner = api
        .call(
            "PATCH",
            &format!("/v1/org/members/{}", owner.user_id),
            Some(&owner.key),
            org,
            Some(json!({"role": "member"})),
        )
        .await;
    assert_error(&last_owner, 409, "conflict");
    assert_eq!(stored(&api, &owner).len(), before);
}

/// Rows with awkward cells, written past the repository (so their links do not hold, which the
/// export does not care about).
fn insert_awkward_rows(api: &Api, owner: &Owner) -> Vec<(String, String)> {
    let cells = [
        ("aud_quote", "say \"hi\", then\nleave"),
        ("aud_formula", "=HYPERLINK(\"http://evil\")"),
        ("aud_plus", "+1-555"),
        ("aud_at", "@SUM(A1)"),
        ("aud_tab", "\tindented"),
        ("aud_unicode", "Zürich — 東京 ✓"),
    ];
    let backend = api.server.state.config.backend();
    for (index, (id, target)) in cells.iter().enumerate() {
        let link = match backend {
            navi_tenancy::Backend::Postgres => "'\\x00'::bytea",
            navi_tenancy::Backend::Sqlite => "X'00'",
        };
        let target = target.replace('\'', "''");
        exec(
            api,
            &format!(
                "INSERT INTO navi_audit_logs (id, org_id, seq, actor_user_id, action, \
                 target_type, target_id, ip, created_at, chain_key_id, link) VALUES \
                 ('{id}', '{}', {}, '{}', 'org.create', 'org', '{target}', '-1', \
                 '2026-11-22 09:15:00', 'k', {link})",
                owner.org_id,
                1000 + index,
                owner.user_id
            ),
        );
    }
    cells
        .iter()
        .map(|(id, target)| (id.to_string(), target.to_string()))
        .collect()
}

async fn the_export_parses_back_to_the_stored_rows(db: TestDatabase) {
    let api = Api::start(db).await;
    let owner = api.owner("ada@example.com", "Acme Corp").await;
    let org = owner.org_id.as_str();
    for name in ["One", "Two"] {
        let reply = create_server(&api, &owner, name).await;
        assert_eq!(reply.status, 201);
    }
    let awkward = insert_awkward_rows(&api, &owner);

    let (status, headers, body) = get_raw(
        &api.server,
        "/v1/audit/export.csv?include_payload=true",
        &owner.key,
        org,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(headers
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let disposition = headers
        .get("content-disposition")
        .unwrap()
        .to_str()
        .unwrap();
    let today = chrono::Utc::now().date_naive().format("%Y-%m-%d");
    assert!(disposition.starts_with("attachment"), "{disposition}");
    assert!(
        disposition.contains(&format!("audit-acme-corp-{today}.csv")),
        "{disposition}"
    );
    assert!(body.contains("\r\n"), "RFC 4180 line ends");

    let mut reader = csv::Reader::from_reader(body.as_bytes());
    assert_eq!(
        reader.headers().unwrap(),
        vec![
            "id",
            "created_at",
            "org_id",
            "actor_user_id",
            "action",
            "target_type",
            "target_id",
            "ip",
            "payload_b64"
        ]
    );
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let rows = stored(&api, &owner);
    assert_eq!(records.len(), rows.len());
    let keyring = &api.server.state.keyring;
    let neutral = |cell: &str| match cell.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => format!("'{cell}"),
        _ => cell.to_owned(),
    };
    for (record, row) in records.iter().zip(&rows) {
        let expected = [
            row.id.clone(),
            row.created_at
                .and_utc()
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            row.org_id.clone(),
            row.actor_user_id.clone().unwrap_or_default(),
            row.action.clone(),
            row.target_type.clone(),
            row.target_id.clone().unwrap_or_default(),
            row.ip.clone().unwrap_or_default(),
        ]
        .map(|cell| neutral(&cell));
        assert_eq!(&record.iter().take(8).collect::<Vec<_>>(), &expected);
        let payload = record.get(8).unwrap();
        match row.payload_bytes() {
            None => assert_eq!(payload, ""),
            Some(stored) => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(payload)
                    .expect("payload_b64 is base64");
                assert_eq!(bytes, stored);
                let opened = Ciphertext::from_stored_bytes(bytes)
                    .unwrap()
                    .open(
                        keyring,
                        &SealContext {
                            org_id: &row.org_id,
                            table: "navi_audit_logs",
                            column: "payload",
                            row_id: &row.id,
                        },
                    )
                    .expect("the payload opens with the keyring");
                let json: Value = opened.decode_json().unwrap();
                assert!(json.is_object());
            }
        }
    }
    // The awkward cells survived quoting, and formulas were neutralised.
    for (id, target) in &awkward {
        let record = records.iter().find(|r| &r[0] == id).expect("exported");
        assert_eq!(record[6], neutral(target));
        assert_eq!(&record[7], "'-1");
    }
    let formula = records.iter().find(|r| &r[0] == "aud_formula").unwrap();
    assert!(formula[6].starts_with("'="));

    // Without payloads: the eight columns only.
    let (_, _, plain) = get_raw(&api.server, "/v1/audit/export.csv", &owner.key, org).await;
    let mut reader = csv::Reader::from_reader(plain.as_bytes());
    assert_eq!(reader.headers().unwrap().len(), 8);
    assert_eq!(reader.records().count(), rows.len());
    // Filters and the limit apply.
    let (_, _, limited) = get_raw(
        &api.server,
        "/v1/audit/export.csv?limit=2&action=mcp_server.create",
        &owner.key,
        org,
    )
    .await;
    let mut reader = csv::Reader::from_reader(limited.as_bytes());
    let actions: Vec<String> = reader.records().map(|r| r.unwrap()[4].to_owned()).collect();
    assert_eq!(actions, ["mcp_server.create", "mcp_server.create"]);
}

async fn the_export_limit_is_validated_and_defaults_to_a_thousand(db: TestDatabase) {
    let api = Api::start(db).await;
    let owner = api.owner("ada@example.com", "Acme").await;
    let org = owner.org_id.as_str();
    for bad in [
        "limit=10001",
        "limit=0",
        "limit=-5",
        "limit=many",
        "include_payload=yes",
        "cursor=5",
    ] {
        let reply = api
            .call(
                "GET",
                &format!("/v1/audit/export.csv?{bad}"),
                Some(&owner.key),
                Some(org),
                None,
            )
            .await;
        assert_error(&reply, 400, "invalid_request");
    }
    // 1,204 events: the default export stops at 1,000, the maximum takes them all.
    insert_bulk_events(&api, org, 1204, "");
    let count = |body: &str| csv::Reader::from_reader(body.as_bytes()).records().count();
    let (_, _, default) = get_raw(&api.server, "/v1/audit/export.csv", &owner.key, org).await;
    assert_eq!(count(&default), 1000);
    let (_, _, all) = get_raw(
        &api.server,
        "/v1/audit/export.csv?limit=10000",
        &owner.key,
        org,
    )
    .await;
    assert_eq!(count(&all), 1204);
    let mut reader = csv::Reader::from_reader(all.as_bytes());
    let ids: std::collections::HashSet<String> =
        reader.records().map(|r| r.unwrap()[0].to_owned()).collect();
    assert_eq!(ids.len(), 1204, "no row twice");
}

async fn verify_names_the_first_broken_link(db: TestDatabase) {
    let api = Api::start(db).await;
    let owner = api.owner("ada@example.com", "Acme").await;
    let org = Some(owner.org_id.as_str());
    for i in 0..4 {
        let reply = api
            .call(
                "POST",
                "/v1/org/invites",
                Some(&owner.key),
                org,
                Some(json!({"email": format!("u{i}@example.com"), "role": "member"})),
            )
            .await;
        assert_eq!(reply.status, 201);
    }
    let ok = api
        .call("GET", "/v1/audit/verify", Some(&owner.key), org, None)
        .await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.body, json!({"checked": 5, "ok": true}));

    let rows = stored(&api, &owner);
    let third = rows.iter().find(|row| row.seq == 3).unwrap();
    exec(
        &api,
        &format!(
            "UPDATE navi_audit_logs SET ip = '10.9.9.9' WHERE id = '{}'",
            third.id
        ),
    );
    let broken = api
        .call("GET", "/v1/audit/verify", Some(&owner.key), org, None)
        .await;
    assert_eq!(broken.status, 200);
    assert_eq!(broken.body["ok"], false);
    assert_eq!(broken.body["checked"], 3);
    assert_eq!(broken.body["first_broken"]["id"], third.id.as_str());
    assert_eq!(broken.body["first_broken"]["seq"], 3);
    assert_eq!(broken.body["first_broken"]["reason"], "link_mismatch");

    let second = rows.iter().find(|row| row.seq == 2).unwrap();
    exec(
        &api,
        &format!("DELETE FROM navi_audit_logs WHERE id = '{}'", second.id),
    );
    let gap = api
        .call("GET", "/v1/audit/verify", Some(&owner.key), org, None)
        .await;
    assert_eq!(gap.body["first_broken"]["seq"], 3);
    assert_eq!(gap.body["first_broken"]["reason"], "missing_row");
    let bad = api
        .call(
            "GET",
            "/v1/audit/verify?from=nope",
            Some(&owner.key),
            org,
            None,
        )
        .await;
    assert_error(&bad, 400, "invalid_request");
}

async fn members_and_other_orgs_cannot_read_the_log(db: TestDatabase) {
    let api = Api::start(db).await;
    let owner = api.owner("ada@example.com", "Acme").await;
    let (member_key, _) = api.member(&owner, "mia@example.com", "member").await;
    let (admin_key, _) = api.member(&owner, "adam@example.com", "admin").await;
    let eve = api.owner("eve@example.com", "Evil").await;
    for path in ["/v1/audit/logs", "/v1/audit/export.csv", "/v1/audit/verify"] {
        let as_member = api
            .call("GET", path, Some(&member_key), Some(&owner.org_id), None)
            .await;
        assert_error(&as_member, 403, "forbidden");
        let (status, _, _) = get_raw(&api.server, path, &admin_key, &owner.org_id).await;
        assert_eq!(status, 200, "{path}");
        let into_other_org = api
            .call("GET", path, Some(&eve.key), Some(&owner.org_id), None)
            .await;
        assert_error(&into_other_org, 403, "forbidden");
        let no_context = api.call("GET", path, Some(&eve.key), None, None).await;
        assert_error(&no_context, 403, "org_context_required");
        let anonymous = api.call("GET", path, None, Some(&owner.org_id), None).await;
        assert_error(&anonymous, 401, "unauthenticated");
    }
    // Eve's own log, export and verification hold only Eve's org.
    let logs = api
        .call(
            "GET",
            "/v1/audit/logs",
            Some(&eve.key),
            Some(&eve.org_id),
            None,
        )
        .await;
    let events = logs.body["events"].as_array().unwrap();
    assert_eq!(events.len(), 1);
    assert!(events
        .iter()
        .all(|event| event["org_id"] == eve.org_id.as_str()));
    let (_, _, csv) = get_raw(&api.server, "/v1/audit/export.csv", &eve.key, &eve.org_id).await;
    assert!(!csv.contains(&owner.org_id), "{csv}");
    assert_eq!(
        csv::Reader::from_reader(csv.as_bytes()).records().count(),
        1
    );
    let verify = api
        .call(
            "GET",
            "/v1/audit/verify",
            Some(&eve.key),
            Some(&eve.org_id),
            None,
        )
        .await;
    assert_eq!(verify.body, json!({"checked": 1, "ok": true}));
}

async fn the_client_address_comes_from_trusted_proxies_only(db: TestDatabase) {
    let send = |server: &TestServer, key: &str, org: &str, name: &str| {
        let request = awc::Client::new()
            .post(server.url("/v1/mcp-servers"))
            .insert_header(("Authorization", format!("Bearer {key}")))
            .insert_header(("X-Navi-Org", org.to_owned()))
            .insert_header(("X-Forwarded-For", "198.51.100.1, 203.0.113.9"));
        let body = server_body(name);
        async move {
            let response = request.send_json(&body).await.expect("sent");
            assert_eq!(response.status().as_u16(), 201);
        }
    };
    // Not trusted: the header is ignored.
    let config = config_for(&db);
    let api = Api::start_on(TestServer::start_with(state_with(config.clone()).await));
    let owner = api.owner("ada@example.com", "Acme").await;
    send(&api.server, &owner.key, &owner.org_id, "Direct").await;
    assert_eq!(stored(&api, &owner)[0].ip.as_deref(), Some("127.0.0.1"));
    api.server.stop().await;

    // Loopback trusted: the rightmost untrusted hop is the client.
    let mut config = config;
    config.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    let api = Api::start_on(TestServer::start_with(state_with(config).await));
    send(&api.server, &owner.key, &owner.org_id, "Proxied").await;
    assert_eq!(stored(&api, &owner)[0].ip.as_deref(), Some("203.0.113.9"));
}

async fn an_export_stops_reading_when_its_client_goes_away(db: TestDatabase) {
    use futures_util::StreamExt as _;
    let api = Api::start(db).await;
    let owner = api.owner("ada@example.com", "Acme").await;
    // Rows of some size, so the export is far larger than what socket buffers hold.
    insert_bulk_events(&api, &owner.org_id, 10_000, &"x".repeat(200));
    let metrics = api.server.state.http_metrics.clone();
    let before = metrics.audit_export_rows();
    let mut response = awc::Client::new()
        .get(api.server.url("/v1/audit/export.csv?limit=10000"))
        .insert_header(("Authorization", format!("Bearer {}", owner.key)))
        .insert_header(("X-Navi-Org", owner.org_id.clone()))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status().as_u16(), 200);
    let first = response.next().await.expect("a first chunk").unwrap();
    assert!(first.starts_with(b"id,created_at"));
    drop(response);
    // The reading side ends on its own once the channel closes.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while metrics.audit_exports_active() > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the export is still reading a minute after its client left"
        );
        actix_web::rt::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let read = metrics.audit_export_rows() - before;
    assert!(
        read < 10_000,
        "the export kept reading after its client left: {read} rows"
    );
}

async fn fifty_concurrent_changes_leave_an_unbroken_chain(db: TestDatabase) {
    let api = Api::start(db).await;
    let owner = api.owner("ada@example.com", "Acme").await;
    let org = Some(owner.org_id.as_str());
    let changes = (0..50).map(|i| {
        api.call(
            "POST",
            "/v1/org/invites",
            Some(&owner.key),
            org,
            Some(json!({"email": format!("u{i}@example.com"), "role": "member"})),
        )
    });
    let replies = futures_util::future::join_all(changes).await;
    assert!(
        replies.iter().all(|reply| reply.status == 201),
        "{replies:?}"
    );
    let verify = api
        .call("GET", "/v1/audit/verify", Some(&owner.key), org, None)
        .await;
    assert_eq!(verify.body, json!({"checked": 51, "ok": true}));
    let mut seqs: Vec<i64> = stored(&api, &owner).iter().map(|row| row.seq).collect();
    seqs.sort();
    assert_eq!(seqs, (1..=51).collect::<Vec<i64>>());
}

async fn accepting_and_revoking_one_invite_at_once_never_fails(db: TestDatabase) {
    let api = Api::start(db).await;
    let owner = api.owner("ada@example.com", "Acme").await;
    let org = Some(owner.org_id.as_str());
    for round in 0..10 {
        let email = format!("racer{round}@example.com");
        let token = api.invite(&owner, &email, "member").await;
        let (racer_key, _) = api.user(&email);
        let pending = api
            .call("GET", "/v1/org/invites", Some(&owner.key), org, None)
            .await;
        let id = pending.body["invites"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let revoke_path = format!("/v1/org/invites/{id}");
        let accept = api.call(
            "POST",
            "/v1/invites/accept",
            Some(&racer_key),
            None,
            Some(json!({"token": token})),
        );
        let revoke = api.call("DELETE", &revoke_path, Some(&owner.key), org, None);
        let (accepted, revoked) = futures_util::future::join(accept, revoke).await;
        // One of the two wins; neither deadlocks (PostgreSQL would abort one with a 500).
        assert!(
            matches!((accepted.status, revoked.status), (201, 404) | (400, 204)),
            "{accepted:?} {revoked:?}"
        );
    }
    let verify = api
        .call("GET", "/v1/audit/verify", Some(&owner.key), org, None)
        .await;
    assert_eq!(verify.body["ok"], true);
}

on_both_backends!(
    accepting_and_revoking_one_invite_at_once_never_fails,
    fifty_concurrent_changes_leave_an_unbroken_chain,
    changes_are_listed_newest_first_with_filters_and_pages,
    a_change_that_fails_writes_no_event,
    the_export_parses_back_to_the_stored_rows,
    the_export_limit_is_validated_and_defaults_to_a_thousand,
    verify_names_the_first_broken_link,
    members_and_other_orgs_cannot_read_the_log,
    the_client_address_comes_from_trusted_proxies_only,
    an_export_stops_reading_when_its_client_goes_away,
);
