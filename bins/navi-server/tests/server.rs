//! The server started in-process on port 0 and driven over a real socket, and the binary itself.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

mod common;

use common::{assert_error_body, config_for, state_for, TestServer};
use navi_server::startup::open_database;
use navi_tenancy::testing::TestDatabase;
use navi_tenancy::{migrations, Backend};
use serde_json::{json, Value};

async fn healthz_readyz_and_unknown_routes(db: TestDatabase) {
    let server = TestServer::start(&db).await;
    assert_eq!(server.get("/healthz").await, (200, json!({"status": "ok"})));
    let (status, body) = server.get("/readyz").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["database"], "ok");

    let (status, body) = server.get("/no/such/route").await;
    assert_eq!(status, 404);
    assert_error_body(&body, "not_found");

    let mut response = awc::Client::new()
        .delete(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 405);
    assert_error_body(
        &serde_json::from_slice(&response.body().await.unwrap()).unwrap(),
        "method_not_allowed",
    );
    server.stop().await;
}

#[actix_web::test]
async fn postgres_healthz_readyz_and_unknown_routes() {
    healthz_readyz_and_unknown_routes(TestDatabase::postgres()).await;
}

#[actix_web::test]
async fn sqlite_healthz_readyz_and_unknown_routes() {
    healthz_readyz_and_unknown_routes(TestDatabase::sqlite()).await;
}

/// Sends only the head of a request declaring `length` body bytes and returns the raw response:
/// the server must answer without waiting for the body.
fn send_head_only(addr: SocketAddr, path: &str, length: usize) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Content-Length: {length}\r\n\r\n"
    )
    .unwrap();
    let mut response = Vec::new();
    let mut chunk = [0u8; 4096];
    // Read until the JSON body is complete (the server may keep the connection open).
    while !String::from_utf8_lossy(&response).ends_with("}}") {
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => response.extend_from_slice(&chunk[..n]),
            Err(e) => panic!("no response before the body was sent: {e}"),
        }
    }
    String::from_utf8_lossy(&response).into_owned()
}

#[actix_web::test]
async fn a_declared_body_over_one_mebibyte_is_refused_before_it_is_read_on_any_path() {
    let db = TestDatabase::sqlite();
    let server = TestServer::start(&db).await;
    let addr = server.addr;
    for path in ["/healthz", "/no/such/route", "/v1/orgs"] {
        let response =
            actix_web::rt::task::spawn_blocking(move || send_head_only(addr, path, 2 << 20))
                .await
                .unwrap();
        assert!(response.starts_with("HTTP/1.1 413"), "{path}: {response}");
        let body = &response[response.find("\r\n\r\n").unwrap() + 4..];
        assert_error_body(&serde_json::from_str(body).unwrap(), "payload_too_large");
    }
    // A body at the limit is not refused by the limit.
    let response = actix_web::rt::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(stream, "POST /nowhere HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", 1 << 20).unwrap();
        stream.write_all(&vec![b' '; 1 << 20]).unwrap();
        let mut response = String::new();
        let _ = stream.read_to_string(&mut response);
        response
    })
    .await
    .unwrap();
    assert!(response.starts_with("HTTP/1.1 404"), "{response}");
    server.stop().await;
}

#[actix_web::test]
async fn a_two_mebibyte_body_sent_in_full_gets_413() {
    let db = TestDatabase::sqlite();
    let state = state_for(&db).await;
    let app = actix_web::test::init_service(navi_server::app::build_app(state)).await;
    for path in ["/healthz", "/v1/orgs", "/anything/else"] {
        let request = actix_web::test::TestRequest::post()
            .uri(path)
            .insert_header(("content-type", "application/json"))
            .set_payload(vec![b'x'; 2 << 20])
            .to_request();
        let response = actix_web::test::call_service(&app, request).await;
        assert_eq!(response.status().as_u16(), 413, "{path}");
        let body: Value = actix_web::test::read_body_json(response).await;
        assert_error_body(&body, "payload_too_large");
    }
}

#[actix_web::test]
async fn readyz_is_503_naming_the_database_when_it_is_gone() {
    let db = TestDatabase::postgres_database();
    let server = TestServer::start(&db).await;
    assert_eq!(server.get("/readyz").await.0, 200);
    db.destroy();
    let (status, body) = server.get("/readyz").await;
    assert_eq!(status, 503, "{body}");
    assert_ne!(body["database"], "ok", "{body}");
    assert_eq!(
        server.get("/healthz").await.0,
        200,
        "the process is still up"
    );
    server.stop().await;
}

#[test]
fn postgres_with_pending_migrations_refuses_to_start_unless_told_to_migrate() {
    let db = TestDatabase::postgres();
    let config = config_for(&db);
    let error = open_database(&config, false)
        .expect_err("must refuse")
        .to_string();
    assert!(error.contains("cargo xtask migrate"), "{error}");
    assert!(error.contains("pending"), "{error}");
    assert!(
        !migrations::pending(&mut db.connect()).unwrap().is_empty(),
        "nothing was applied"
    );

    open_database(&config, true).expect("--migrate applies and starts");
    assert!(migrations::pending(&mut db.connect()).unwrap().is_empty());
    open_database(&config, false).expect("an up-to-date database starts");
}

#[test]
fn sqlite_applies_pending_migrations_at_start() {
    let db = TestDatabase::sqlite();
    open_database(&config_for(&db), false).expect("starts");
    assert!(migrations::pending(&mut db.connect()).unwrap().is_empty());
    assert_eq!(db.backend(), Backend::Sqlite);
}

fn server_binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_navi-server"));
    for (name, _) in std::env::vars() {
        if name.starts_with("NAVI_") {
            command.env_remove(name);
        }
    }
    command
}

#[test]
fn the_binary_reports_each_configuration_problem_on_its_own_line() {
    let output = server_binary()
        .env("NAVI_DATABASE_URL", "mysql://root:secret@localhost/navi")
        .env("NAVI_BIND", "nowhere")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(lines[0].contains("NAVI_DATABASE_URL"), "{stderr}");
    assert!(lines[1].contains("NAVI_BIND"), "{stderr}");
    assert!(!stderr.contains("secret"), "{stderr}");
}

#[test]
fn the_binary_refuses_a_postgres_database_with_pending_migrations() {
    let db = TestDatabase::postgres();
    let navi_tenancy::DatabaseUrl::Postgres(url) = db.url() else {
        unreachable!()
    };
    let output = server_binary()
        .env("NAVI_DATABASE_URL", url)
        .env(
            "NAVI_API_KEY_PEPPER",
            navi_tenancy::api_keys::Pepper::generate_base64(),
        )
        .env(
            "NAVI_ENCRYPTION_KEYS",
            navi_crypto::generate_key_line().unwrap().as_str(),
        )
        .env("NAVI_BIND", "127.0.0.1:0")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("cargo xtask migrate"));
}

#[test]
fn the_binary_serves_the_embedded_default_with_no_configuration_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = server_binary()
        .current_dir(dir.path())
        .env("NAVI_BIND", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut addr = None;
    let mut log = String::new();
    for _ in 0..200 {
        let mut line = String::new();
        if stderr.read_line(&mut line).unwrap() == 0 {
            break;
        }
        log.push_str(&line);
        if let Some(rest) = line.split("listening on http://").nth(1) {
            addr = Some(
                rest.split_whitespace()
                    .next()
                    .unwrap()
                    .parse::<SocketAddr>()
                    .unwrap(),
            );
            break;
        }
    }
    let addr = addr.unwrap_or_else(|| panic!("no listening line in:\n{log}"));
    assert!(log.contains("applied migration"), "{log}");
    assert!(
        dir.path().join("data/navi.db").is_file(),
        "the default keeps its data in ./data/"
    );
    for secret in ["data/api_key_pepper", "data/encryption_keys"] {
        let metadata = std::fs::metadata(dir.path().join(secret)).unwrap();
        let mode = std::os::unix::fs::PermissionsExt::mode(&metadata.permissions());
        assert_eq!(mode & 0o777, 0o600, "{secret}");
    }
    assert!(log.contains("NAVI_ENCRYPTION_KEYS is not set"), "{log}");

    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with(r#"{"status":"ok"}"#), "{response}");

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "graceful shutdown exits 0, got {exit}");
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    assert_eq!(stdout, "", "logs go to stderr; stdout stays free");
}

#[actix_web::test]
async fn bootstrap_prints_one_json_object_whose_key_works() {
    let dir = tempfile::tempdir().unwrap();
    let run = |extra: &[&str]| {
        let output = server_binary()
            .current_dir(dir.path())
            .args([
                "bootstrap",
                "--org-name",
                "Acme Corp",
                "--email",
                "Ada@Example.com",
            ])
            .args(extra)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let stdout = String::from_utf8(output.stdout).unwrap();
        assert_eq!(stdout.lines().count(), 1, "exactly one line: {stdout}");
        let value: Value = serde_json::from_str(&stdout).unwrap();
        let keys: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["org_id", "user_id", "api_key"]);
        value
    };
    let pinned = run(&[]);
    let unpinned = run(&["--unpinned"]);
    assert_eq!(pinned["user_id"], unpinned["user_id"], "the user is reused");
    assert_ne!(pinned["org_id"], unpinned["org_id"]);

    // A server over the same data directory accepts both keys.
    let mut config = navi_server::config::Config::from_lookup(|_| None).unwrap();
    config.database_url =
        navi_tenancy::DatabaseUrl::parse(dir.path().join("data/navi.db").to_str().unwrap())
            .unwrap();
    let server = TestServer::start_with(common::state_with(config).await);
    let reply = server
        .call("GET", "/v1/org", pinned["api_key"].as_str(), None, None)
        .await;
    assert_eq!((reply.status, &reply.body["id"]), (200, &pinned["org_id"]));
    let org = unpinned["org_id"].as_str();
    let reply = server
        .call("GET", "/v1/org", unpinned["api_key"].as_str(), None, None)
        .await;
    assert_error_body(&reply.body, "org_context_required");
    let reply = server
        .call("GET", "/v1/org", unpinned["api_key"].as_str(), org, None)
        .await;
    assert_eq!(reply.status, 200);
    server.stop().await;
}
