//! `cargo bench -p navi-server --bench auth` (or `cargo xtask bench auth`): requests/s of
//! authenticated `GET /v1/org` next to `GET /healthz` under the same concurrent load, on SQLite and
//! PostgreSQL, with their ratio (target ≥ 0.5). Server and client share this process and machine,
//! so both endpoints pay the same client cost; rounds alternate so both meet the same background
//! load, and the best round of each is reported.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "support/load.rs"]
mod load;

use std::rc::Rc;
use std::time::Duration;

use common::TestServer;
use navi_server::rate_limits::Policy;
use navi_tenancy::api_keys::create_api_key_privileged;
use navi_tenancy::orgs::create_org;
use navi_tenancy::testing::TestDatabase;
use navi_tenancy::users::find_or_create_user;
use navi_tenancy::{checkout, Backend, Email, OrgName, Privileged};

const CONCURRENCY: usize = 32;
const ROUND: Duration = Duration::from_secs(2);
const ROUNDS: usize = 3;

async fn bench(backend: Backend) -> (f64, f64) {
    let db = TestDatabase::new(backend);
    // Rate limits stay on (their cost is part of a request's) with quotas no client here
    // reaches: `bench limits` measures them.
    let mut config = common::config_for(&db);
    for policy in [Policy::Probes, Policy::Requests, Policy::OrgRequests] {
        common::set_limit(&mut config, policy, 1_000_000_000_000, 60);
    }
    let server = TestServer::start_with(common::state_with(config).await);
    let key = {
        let privileged = Privileged::acquire("benchmark setup");
        let mut conn = checkout(&server.state.pool).expect("connection");
        let user = find_or_create_user(
            &privileged,
            &mut conn,
            &Email::parse("bench@example.com").unwrap(),
        )
        .unwrap();
        let (org, _) = create_org(
            &privileged.act_as(&user.id),
            &mut conn,
            &navi_tenancy::testing::audit_trail(),
            &OrgName::parse("Bench").unwrap(),
            None,
        )
        .unwrap();
        let (_, key) = create_api_key_privileged(
            &privileged,
            &mut conn,
            &navi_tenancy::testing::audit_trail(),
            Some(&org.id),
            &server.state.pepper,
            &user.id,
            Some(&org.id),
            "bench",
        )
        .unwrap();
        key.expose().to_owned()
    };
    let client = Rc::new(
        awc::Client::builder()
            .timeout(Duration::from_secs(30))
            .connector(awc::Connector::new().limit(CONCURRENCY))
            .finish(),
    );
    let (health, org) = (server.url("/healthz"), server.url("/v1/org"));
    // Warm up connections, caches and the pool.
    load::measure(Rc::clone(&client), CONCURRENCY, ROUND, &health, None).await;
    load::measure(Rc::clone(&client), CONCURRENCY, ROUND, &org, Some(&key)).await;
    let (mut best_health, mut best_org) = (0f64, 0f64);
    for _ in 0..ROUNDS {
        best_health = best_health
            .max(load::measure(Rc::clone(&client), CONCURRENCY, ROUND, &health, None).await);
        best_org = best_org
            .max(load::measure(Rc::clone(&client), CONCURRENCY, ROUND, &org, Some(&key)).await);
    }
    server.stop().await;
    (best_health, best_org)
}

fn main() {
    actix_web::rt::System::new().block_on(async {
        println!(
            "auth benchmark: {CONCURRENCY} concurrent clients, best of {ROUNDS} rounds of {}s",
            ROUND.as_secs()
        );
        println!(
            "{:<12} {:>16} {:>20} {:>8}",
            "backend", "GET /healthz r/s", "GET /v1/org r/s", "ratio"
        );
        for backend in [Backend::Sqlite, Backend::Postgres] {
            let (health, org) = bench(backend).await;
            println!(
                "{:<12} {:>16.0} {:>20.0} {:>8.2}",
                backend.to_string(),
                health,
                org,
                org / health
            );
        }
        println!("ratio = authenticated GET /v1/org / GET /healthz (target >= 0.5)");
    });
}
