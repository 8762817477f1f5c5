//! Operational safety (issue 19): who may read `/metrics` and where it is served, the modes of
//! the files a SQLite deployment keeps, and that the server's `Debug` output holds no secret.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};

mod common;

use common::{assert_error_body, config_for, state_with, TestServer};
use navi_server::config::{Config, KeySource};
use navi_server::file_modes::{loose_modes, LooseMode};
use navi_server::startup::bind_metrics;
use navi_tenancy::testing::TestDatabase;
use navi_tenancy::DatabaseUrl;

/// `GET /metrics` at `addr` with an optional bearer token and extra headers: status and body.
async fn get_metrics(
    addr: SocketAddr,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
) -> (u16, String) {
    let mut request = awc::Client::new().get(format!("http://{addr}{path}"));
    if let Some(token) = token {
        request = request.insert_header(("Authorization", format!("Bearer {token}")));
    }
    for &header in headers {
        request = request.insert_header(header);
    }
    let mut response = request.send().await.expect("request sent");
    let body = response.body().await.expect("body read");
    (
        response.status().as_u16(),
        String::from_utf8_lossy(&body).into_owned(),
    )
}

fn assert_forbidden(reply: &(u16, String)) {
    assert_eq!(reply.0, 403, "{}", reply.1);
    assert_error_body(&serde_json::from_str(&reply.1).unwrap(), "forbidden");
}

#[actix_web::test]
async fn without_a_token_a_loopback_peer_relaying_for_another_client_is_refused() {
    let db = TestDatabase::sqlite();
    let server = TestServer::start(&db).await;
    let addr = server.addr;
    assert_eq!(get_metrics(addr, "/metrics", None, &[]).await.0, 200);
    for header in [
        ("X-Forwarded-For", "203.0.113.9"),
        ("Forwarded", "for=203.0.113.9"),
    ] {
        assert_forbidden(&get_metrics(addr, "/metrics", None, &[header]).await);
    }
    server.stop().await;
}

#[actix_web::test]
async fn with_a_token_every_request_needs_it_loopback_and_relayed_alike() {
    let db = TestDatabase::sqlite();
    let mut config = config_for(&db);
    config.metrics_token = Some("metrics-token".into());
    let server = TestServer::start_with(state_with(config).await);
    let addr = server.addr;
    assert_forbidden(&get_metrics(addr, "/metrics", None, &[]).await);
    assert_forbidden(&get_metrics(addr, "/metrics", Some("wrong"), &[]).await);
    let relayed = [("X-Forwarded-For", "203.0.113.9")];
    let (status, text) = get_metrics(addr, "/metrics", Some("metrics-token"), &relayed).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("navi_http_requests_total"), "{text}");
    server.stop().await;
}

#[actix_web::test]
async fn with_a_metrics_bind_metrics_are_served_there_only_under_the_same_rule() {
    let db = TestDatabase::sqlite();
    let mut config = config_for(&db);
    config.metrics_bind = Some("127.0.0.1:0".parse().unwrap());
    let state = state_with(config).await;
    let main = TestServer::start_with(state.clone());
    let (metrics_server, metrics_addr) =
        bind_metrics(state, "127.0.0.1:0".parse().unwrap()).expect("binds");
    let metrics_handle = metrics_server.handle();
    actix_web::rt::spawn(metrics_server);

    let (status, body) = get_metrics(main.addr, "/metrics", None, &[]).await;
    assert_eq!(
        status, 404,
        "the main listener no longer serves /metrics: {body}"
    );
    assert_eq!(main.get("/healthz").await.0, 200);

    let (status, text) = get_metrics(metrics_addr, "/metrics", None, &[]).await;
    assert_eq!(status, 200, "{text}");
    assert!(
        text.contains("navi_http_requests_total{route=\"/healthz\",status=\"200\"} 1"),
        "one registry for both listeners: {text}"
    );
    let relayed = [("X-Forwarded-For", "203.0.113.9")];
    assert_forbidden(&get_metrics(metrics_addr, "/metrics", None, &relayed).await);
    let (status, body) = get_metrics(metrics_addr, "/healthz", None, &[]).await;
    assert_eq!(
        status, 404,
        "the metrics listener serves nothing else: {body}"
    );

    metrics_handle.stop(true).await;
    main.stop().await;
}

#[actix_web::test]
async fn a_metrics_listener_requires_the_token_when_one_is_set() {
    let db = TestDatabase::sqlite();
    let mut config = config_for(&db);
    config.metrics_token = Some("metrics-token".into());
    config.metrics_bind = Some("127.0.0.1:0".parse().unwrap());
    let (server, addr) =
        bind_metrics(state_with(config).await, "127.0.0.1:0".parse().unwrap()).expect("binds");
    let handle = server.handle();
    actix_web::rt::spawn(server);
    assert_forbidden(&get_metrics(addr, "/metrics", None, &[]).await);
    assert_eq!(
        get_metrics(addr, "/metrics", Some("metrics-token"), &[])
            .await
            .0,
        200
    );
    handle.stop(true).await;
}

/// The binary with no `NAVI_*` variable inherited from the test's environment.
fn server_binary(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_navi-server"));
    for (name, _) in std::env::vars() {
        if name.starts_with("NAVI_") {
            command.env_remove(name);
        }
    }
    command.current_dir(dir);
    command
}

/// Kills the child if a test fails while it runs.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_binary_refuses_trusted_proxies_without_a_metrics_token_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    // A port already taken: were the configuration accepted, the start would fail later, at
    // binding, with exit code 1 rather than 2.
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let output = server_binary(dir.path())
        .env("NAVI_BIND", taken.local_addr().unwrap().to_string())
        .env("NAVI_TRUSTED_PROXIES", "127.0.0.1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].starts_with("navi-server: configuration: NAVI_METRICS_TOKEN: required"),
        "{stderr}"
    );
    assert!(
        !dir.path().join("data").exists(),
        "refused before anything is created"
    );
}

/// A database made before the usage migrations were squashed (it lists a retired version among
/// its applied ones) stops the start with one line that says how to recreate it, and nothing is
/// applied to it.
#[test]
fn the_binary_refuses_a_database_from_before_the_usage_squash() {
    use diesel::RunQueryDsl;
    let dir = tempfile::tempdir().unwrap();
    let url = DatabaseUrl::Sqlite(dir.path().join("data/navi.db"));
    let mut conn = url
        .connect(&navi_tenancy::ConnectionOptions::default())
        .unwrap();
    navi_tenancy::migrations::run_pending(&mut conn, |_| {}).unwrap();
    diesel::sql_query("INSERT INTO __diesel_schema_migrations (version) VALUES ('20261201000100')")
        .execute(&mut conn)
        .unwrap();
    let applied = navi_tenancy::migrations::applied(&mut conn).unwrap();
    drop(conn);
    let output = server_binary(dir.path()).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let refusal: Vec<&str> = stderr
        .lines()
        .filter(|line| line.starts_with("navi-server: "))
        .collect();
    assert_eq!(refusal.len(), 1, "{stderr}");
    assert!(
        refusal[0].contains("created before the usage migrations were squashed")
            && refusal[0].contains("recreate it"),
        "{stderr}"
    );
    let mut conn = url
        .connect(&navi_tenancy::ConnectionOptions::default())
        .unwrap();
    assert_eq!(
        navi_tenancy::migrations::applied(&mut conn).unwrap(),
        applied
    );
}

/// The address in the first log line that contains `marker`, before the main listener's line.
fn address_after(log: &str, marker: &str) -> Option<SocketAddr> {
    let rest = log.lines().find_map(|line| line.split(marker).nth(1))?;
    rest.split(['/', ' ']).next()?.parse().ok()
}

fn http_get(addr: SocketAddr, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

#[test]
fn the_binary_serves_metrics_on_the_metrics_bind_address_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Running(
        server_binary(dir.path())
            .env("NAVI_BIND", "127.0.0.1:0")
            .env("NAVI_METRICS_BIND", "127.0.0.1:0")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut stderr = BufReader::new(child.0.stderr.take().unwrap());
    let mut log = String::new();
    // The metrics listener is logged before the main one, so reading stops at the main one.
    while !log.contains("navi-server listening on http://") {
        let mut line = String::new();
        if stderr.read_line(&mut line).unwrap() == 0 {
            break;
        }
        log.push_str(&line);
    }
    let main = address_after(&log, "listening on http://")
        .unwrap_or_else(|| panic!("no listening line in:\n{log}"));
    let metrics = address_after(&log, "metrics served on http://")
        .unwrap_or_else(|| panic!("no metrics line in:\n{log}"));
    assert_ne!(main, metrics);

    assert!(http_get(main, "/metrics").starts_with("HTTP/1.1 404"));
    assert!(http_get(main, "/healthz").starts_with("HTTP/1.1 200"));
    let response = http_get(metrics, "/metrics");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("navi_http_requests_total"), "{response}");
    assert!(http_get(metrics, "/healthz").starts_with("HTTP/1.1 404"));

    let status = Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.0.wait().unwrap();
    assert!(
        exit.success(),
        "both listeners stop on SIGTERM and the process exits 0, got {exit}"
    );
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

fn sqlite_config(database: &Path) -> Config {
    let mut config = Config::from_lookup(|_| None).expect("the default configuration is valid");
    config.database_url = DatabaseUrl::Sqlite(database.to_owned());
    config
}

#[actix_web::test]
async fn a_fresh_data_directory_is_private_with_the_database_its_wal_and_keys() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let config = sqlite_config(&data.join("navi.db"));
    // Kept while the modes are read: SQLite removes -wal and -shm when the last connection closes.
    let state = state_with(config.clone()).await;
    assert_eq!(mode(&data), 0o700, "data directory");
    for file in [
        "navi.db",
        "navi.db-wal",
        "navi.db-shm",
        "api_key_pepper",
        "encryption_keys",
    ] {
        assert_eq!(mode(&data.join(file)), 0o600, "{file}");
    }
    assert_eq!(loose_modes(&config), [], "nothing to warn about");
    drop(state);
}

#[actix_web::test]
async fn an_operators_looser_modes_are_kept_and_each_is_warned_about() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(data.join("navi.db"), b"").unwrap();
    std::fs::set_permissions(data.join("navi.db"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let config = sqlite_config(&data.join("navi.db"));
    let state = state_with(config.clone()).await;

    assert_eq!(
        mode(&data),
        0o755,
        "the operator's directory is not changed"
    );
    assert_eq!(mode(&data.join("navi.db")), 0o644, "nor their database");
    let loose = loose_modes(&config);
    let expected = |name: &str, mode, private_mode| LooseMode {
        path: if name.is_empty() {
            data.clone()
        } else {
            data.join(name)
        },
        mode,
        private_mode,
    };
    // SQLite gives -wal and -shm the database's mode; the key files Navi made are private.
    assert_eq!(
        loose,
        [
            expected("", 0o755, 0o700),
            expected("navi.db", 0o644, 0o600),
            expected("navi.db-wal", 0o644, 0o600),
            expected("navi.db-shm", 0o644, 0o600),
        ]
    );
    drop(state);
}

#[actix_web::test]
async fn a_loose_key_file_is_warned_about_and_postgres_has_nothing_to_check() {
    let root = tempfile::tempdir().unwrap();
    let key_file = root.path().join("keys");
    std::fs::write(
        &key_file,
        "k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
    )
    .unwrap();
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o640)).unwrap();
    let mut config = sqlite_config(&root.path().join("data/navi.db"));
    config.encryption_keys = Some(KeySource::File(key_file.clone()));
    let loose = loose_modes(&config);
    assert_eq!(loose.len(), 1, "{loose:?}");
    assert_eq!((&loose[0].path, loose[0].mode), (&key_file, 0o640));

    let postgres = config_for(&TestDatabase::postgres());
    assert_eq!(loose_modes(&postgres), []);
}

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
