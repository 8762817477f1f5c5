//! `cargo xtask bench rotate`: key rotation throughput on PostgreSQL.
//!
//! Seeds 100,000 MCP servers (100 orgs) with 200-byte secrets sealed under key `ka`, then times
//! `rotate_column` (what `cargo xtask rotate-keys` runs) re-sealing all of them under a new
//! primary `kb`, batch 500. Baseline, same run and same rows: one `UPDATE` statement rewriting
//! every secret in place on the server (no crypto, no round trips: the database's floor).
//! Prints rows/s for both and their ratio. Set `NAVI_BENCH_ROWS` for another size.

use std::time::Instant;

use diesel::connection::SimpleConnection;
use diesel::Connection;
use navi_crypto::Keyring;
use navi_tenancy::encrypted_columns::{key_usage, rotate_column, ENCRYPTED_COLUMNS};
use navi_tenancy::mcp_servers::{create_mcp_server, McpServerSpec};
use navi_tenancy::testing::TestDatabase;
use navi_tenancy::{checkout, Privileged, TenantScope};

fn keyring(id: &str, fill: u8) -> Keyring {
    use base64::Engine;
    let key = base64::engine::general_purpose::STANDARD.encode([fill; 32]);
    Keyring::parse(&format!("{id}:{key}")).expect("a valid key")
}

fn main() {
    let rows: usize = std::env::var("NAVI_BENCH_ROWS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
    let db = TestDatabase::postgres();
    let pool = db.migrated_pool();
    let mut conn = checkout(&pool).expect("a connection");
    let privileged = Privileged::acquire("bench");
    let old = keyring("ka", 1);

    let seeding = Instant::now();
    let orgs: Vec<TenantScope> = (0..100)
        .map(|i| {
            let user = navi_tenancy::users::find_or_create_user(
                &privileged,
                &mut conn,
                &navi_tenancy::Email::parse(&format!("owner{i}@example.com")).expect("email"),
            )
            .expect("user");
            let (_, scope) = navi_tenancy::orgs::create_org(
                &privileged.act_as(&user.id),
                &mut conn,
                &navi_tenancy::testing::audit_trail(),
                &navi_tenancy::OrgName::parse(&format!("Org {i}")).expect("name"),
                None,
            )
            .expect("org");
            scope
        })
        .collect();
    let secret = serde_json::json!({"api_key": "x".repeat(160), "header": "Authorization"});
    let secret = secret.as_object().expect("an object").clone();
    for chunk in (0..rows).collect::<Vec<_>>().chunks(1000) {
        conn.transaction::<_, navi_tenancy::StoreError, _>(|conn| {
            for &i in chunk {
                let spec =
                    McpServerSpec::parse(&format!("server {i}"), "https://x.example/mcp", "http")?;
                create_mcp_server(
                    &orgs[i % orgs.len()],
                    conn,
                    &navi_tenancy::testing::audit_trail_sealing_with(old.clone()),
                    &old,
                    &spec,
                    Some(&secret),
                )?;
            }
            Ok(())
        })
        .expect("seeded");
    }
    conn.batch_execute("ANALYZE").expect("analyzed");
    eprintln!(
        "seeded {rows} rows in {:.1}s",
        seeding.elapsed().as_secs_f64()
    );

    let column = &ENCRYPTED_COLUMNS[0];
    let both = old.with_new_primary(&keyring("kb", 2)).expect("keyring");

    let baseline = Instant::now();
    conn.batch_execute("UPDATE navi_mcp_servers SET secret = secret")
        .expect("baseline update");
    let baseline = baseline.elapsed().as_secs_f64();

    let rotation = Instant::now();
    let total =
        rotate_column(&privileged, &mut conn, &both, column, 500, false, |_| {}).expect("rotation");
    let rotation = rotation.elapsed().as_secs_f64();
    assert_eq!(
        total.resealed as usize, rows,
        "every row re-sealed: {total:?}"
    );
    let usage = key_usage(&privileged, &mut conn, column, 1000).expect("usage");
    assert_eq!(usage.rows_per_key.get("kb").copied(), Some(rows as u64));

    let rotate_rate = rows as f64 / rotation;
    let baseline_rate = rows as f64 / baseline;
    println!("rotate-keys on PostgreSQL, {rows} rows, batch 500");
    println!("{:<52} {:>12}", "path", "rows/s");
    println!(
        "{:<52} {:>12.0}",
        "rotate_column (read, open, seal, CAS write back)", rotate_rate
    );
    println!(
        "{:<52} {:>12.0}",
        "baseline: UPDATE ... SET secret = secret (in place)", baseline_rate
    );
    println!(
        "ratio rotate / baseline: {:.3}",
        rotate_rate / baseline_rate
    );
}
