//! `cargo bench -p navi-server --bench export` (or `cargo xtask bench export`): the audit CSV
//! export with payloads over HTTP, from a real `navi-server` process on PostgreSQL, beside
//! `psql \copy` of the same rows in the same run.
//!
//! Writes 10,000 audit events with 3 KiB payloads into one org, starts the server binary, and
//! for exports of 1,000 and 10,000 rows prints the server's peak RSS growth during the export
//! (VmHWM reset through /proc/PID/clear_refs before, read after, minus VmRSS before), the time to
//! the first byte and the total time (medians of a few runs), then the time psql takes to
//! `\copy` the same rows to CSV, and the ratio. Targets: RSS growth ≤ 16 MiB, first byte
//! ≤ 100 ms, total ≤ 1.5× psql, and an RSS figure that does not grow with the export's size.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use navi_tenancy::api_keys::{create_api_key_privileged, Pepper};
use navi_tenancy::audit::{append_for_tests, AuditAction, AuditKeys, AuditTrail};
use navi_tenancy::orgs::create_org;
use navi_tenancy::testing::TestDatabase;
use navi_tenancy::users::find_or_create_user;
use navi_tenancy::{checkout, DatabaseUrl, Email, OrgName, Privileged};

const EVENTS: usize = 10_000;
const PAYLOAD_BYTES: usize = 3 * 1024;
const RUNS: usize = 5;

struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

fn proc_status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// One `GET` over a fresh connection: (time to the first byte, total time, body bytes).
fn get(addr: SocketAddr, path: &str, key: &str, org: &str) -> (Duration, Duration, usize) {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).expect("connect");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {key}\r\n\
         X-Navi-Org: {org}\r\nConnection: close\r\n\r\n"
    )
    .expect("request written");
    let mut buffer = vec![0u8; 64 * 1024];
    let mut first_byte = None;
    let mut received = Vec::new();
    loop {
        let read = stream.read(&mut buffer).expect("response read");
        if read == 0 {
            break;
        }
        first_byte.get_or_insert_with(|| started.elapsed());
        received.extend_from_slice(&buffer[..read]);
    }
    let total = started.elapsed();
    let head_end = received
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .expect("a complete response head");
    let head = String::from_utf8_lossy(&received[..head_end]);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    (
        first_byte.expect("a response"),
        total,
        received.len() - head_end - 4,
    )
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

struct Export {
    rss_growth_kib: u64,
    first_byte: Duration,
    total: Duration,
    body_bytes: usize,
}

/// Exports `rows` rows with payloads `RUNS` times; the RSS figure is the largest growth seen.
fn export(server: &Server, key: &str, org: &str, rows: usize) -> Export {
    let pid = server.child.id();
    let path = format!("/v1/audit/export.csv?include_payload=true&limit={rows}");
    let mut first_bytes = Vec::new();
    let mut totals = Vec::new();
    let mut rss_growth_kib = 0;
    let mut body_bytes = 0;
    for _ in 0..RUNS {
        std::fs::write(format!("/proc/{pid}/clear_refs"), "5").expect("reset the peak RSS");
        let before = proc_status_kib(pid, "VmRSS:");
        let (first_byte, total, bytes) = get(server.addr, &path, key, org);
        let peak = proc_status_kib(pid, "VmHWM:");
        rss_growth_kib = rss_growth_kib.max(peak.saturating_sub(before));
        first_bytes.push(first_byte);
        totals.push(total);
        body_bytes = bytes;
    }
    Export {
        rss_growth_kib,
        first_byte: median(first_bytes),
        total: median(totals),
        body_bytes,
    }
}

/// `psql \copy` of the same rows (newest first, payload as base64) to a CSV file.
fn psql_copy(url: &str, org: &str, rows: usize, out: &std::path::Path) -> Duration {
    let copy = format!(
        "\\copy (SELECT id, created_at, org_id, actor_user_id, action, target_type, target_id, \
         ip, encode(payload, 'base64') AS payload_b64 FROM navi_audit_logs WHERE org_id = '{org}' \
         ORDER BY seq DESC LIMIT {rows}) TO '{}' WITH (FORMAT csv, HEADER)",
        out.display()
    );
    let mut samples = Vec::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        let status = Command::new("psql")
            .args([url, "-X", "-q", "-c", &copy])
            .status()
            .expect("psql runs");
        assert!(status.success(), "psql \\copy failed");
        samples.push(started.elapsed());
    }
    median(samples)
}

fn main() {
    let db = TestDatabase::postgres_database();
    let DatabaseUrl::Postgres(url) = db.url().clone() else {
        unreachable!("a PostgreSQL test database")
    };
    let pool = db.migrated_pool();
    let pepper_base64 = Pepper::generate_base64();
    let pepper = Pepper::from_base64(&pepper_base64).expect("pepper");
    let key_line = navi_crypto::generate_key_line().expect("a key");
    let keyring = navi_crypto::Keyring::parse(&key_line).expect("keyring");
    let chain = navi_crypto::MacKeyring::parse(&navi_crypto::generate_key_line().expect("a key"))
        .expect("chain key");
    let trail = AuditTrail::new(
        AuditKeys::new(keyring, chain),
        Some(std::net::IpAddr::from([203, 0, 113, 9])),
    );

    let (org_id, api_key) = {
        let privileged = Privileged::acquire("benchmark setup");
        let mut conn = checkout(&pool).expect("connection");
        let user = find_or_create_user(
            &privileged,
            &mut conn,
            &Email::parse("bench@example.com").unwrap(),
        )
        .expect("user");
        let (org, scope) = create_org(
            &privileged.act_as(&user.id),
            &mut conn,
            &trail,
            &OrgName::parse("Bench").unwrap(),
            None,
        )
        .expect("org");
        let (_, key) = create_api_key_privileged(
            &privileged,
            &mut conn,
            &trail,
            Some(&org.id),
            &pepper,
            &user.id,
            Some(&org.id),
            "bench",
        )
        .expect("key");
        let started = Instant::now();
        let filler = "x".repeat(PAYLOAD_BYTES);
        for i in 0..EVENTS {
            append_for_tests(
                &scope,
                &mut conn,
                &trail,
                AuditAction::McpServerUpdate,
                &format!("mcp_bench{i:05}"),
                serde_json::json!({ "index": i, "notes": filler }),
            )
            .expect("event");
        }
        eprintln!(
            "wrote {EVENTS} events with {PAYLOAD_BYTES}-byte payloads in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        (org.id, key.expose().to_owned())
    };

    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_navi-server"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("NAVI_DATABASE_URL", &url)
        .env("NAVI_BIND", addr.to_string())
        .env("NAVI_LOG", "warn")
        .env("NAVI_API_KEY_PEPPER", &pepper_base64)
        .env("NAVI_ENCRYPTION_KEYS", key_line.as_str())
        .stdout(Stdio::null())
        .spawn()
        .expect("navi-server starts");
    let server = Server { child, addr };
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "navi-server did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Warm up: the first export starts worker threads and the pool's connections.
    export(&server, &api_key, &org_id, 1_000);

    let small = export(&server, &api_key, &org_id, 1_000);
    let large = export(&server, &api_key, &org_id, EVENTS);
    let scratch = tempfile::tempdir().expect("a temporary directory");
    let csv = scratch.path().join("audit.csv");
    let psql_small = psql_copy(&url, &org_id, 1_000, &csv);
    let psql_large = psql_copy(&url, &org_id, EVENTS, &csv);
    let psql_bytes = std::fs::metadata(&csv).map(|m| m.len()).unwrap_or(0);
    // What psql's figures include besides the copy: starting the process and connecting.
    let psql_empty = psql_copy(&url, &org_id, 0, &csv);

    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!();
    println!(
        "audit CSV export with payloads, navi-server (release) on PostgreSQL, median of {RUNS}"
    );
    println!(
        "| rows | body | server RSS growth | first byte | total | psql \\copy | total / psql |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (rows, result, psql) in [(1_000, &small, psql_small), (EVENTS, &large, psql_large)] {
        println!(
            "| {rows} | {:.1} MiB | {:.1} MiB | {:.1} ms | {:.1} ms | {:.1} ms | {:.2} |",
            result.body_bytes as f64 / 1_048_576.0,
            result.rss_growth_kib as f64 / 1024.0,
            ms(result.first_byte),
            ms(result.total),
            ms(psql),
            result.total.as_secs_f64() / psql.as_secs_f64(),
        );
    }
    println!(
        "psql's CSV of {EVENTS} rows: {:.1} MiB (its base64 wraps at 76 columns); psql start-up \
         and connection alone (a \\copy of 0 rows): {:.1} ms",
        psql_bytes as f64 / 1_048_576.0,
        ms(psql_empty)
    );
    println!(
        "targets: RSS growth ≤ 16 MiB ({}), first byte ≤ 100 ms ({}), total ≤ 1.5× psql ({})",
        if large.rss_growth_kib <= 16 * 1024 {
            "met"
        } else {
            "NOT met"
        },
        if large.first_byte <= Duration::from_millis(100) {
            "met"
        } else {
            "NOT met"
        },
        if large.total.as_secs_f64() <= 1.5 * psql_large.as_secs_f64() {
            "met"
        } else {
            "NOT met"
        },
    );
}
