//! `cargo xtask bench <auth|cache|crypto|rotate|analytics|export|limits>`: runs a benchmark against the
//! same services the tests use (found running, or started as throwaway servers), printing its ratio against a baseline
//! measured in the same run.

use std::process::{Command, ExitCode};

use anyhow::Context;

use crate::services;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Suite {
    /// Authenticated `GET /v1/org` against `GET /healthz`, on SQLite and PostgreSQL.
    Auth,
    /// `getdel_json` on Redis and memory against redis-benchmark and a bare map.
    Cache,
    /// Seal + open of 1 KiB against bare ring AES-256-GCM.
    Crypto,
    /// Dashboards over 2,000,000 calls on PostgreSQL and SQLite against a raw GROUP BY.
    Analytics,
    /// `rotate-keys` rows/s over 100,000 rows on PostgreSQL against an in-place UPDATE.
    Rotate,
    /// The audit CSV export of 10,000 events with 3 KiB payloads from a navi-server process:
    /// peak RSS growth, first byte and total time, against `psql \copy` of the same rows.
    Export,
    /// Rate limits: Redis limiter decisions/s at 1 and 50 tasks against redis-benchmark running
    /// the same script with EVALSHA, and authenticated `GET /v1/org` with limits on against off.
    Limits,
}

pub fn run(suite: Suite) -> anyhow::Result<ExitCode> {
    let scratch = crate::workspace_root()
        .join("target")
        .join("navi-test-services");
    std::fs::create_dir_all(&scratch)?;
    let postgres = services::postgres(&scratch)?;
    let redis = services::redis(&scratch)?;
    let (package, bench) = match suite {
        Suite::Auth => ("navi-server", "auth"),
        Suite::Cache => ("navi-cache", "getdel"),
        Suite::Crypto => ("navi-crypto", "seal"),
        Suite::Rotate => ("navi-tenancy", "rotate"),
        Suite::Analytics => ("navi-analytics", "analytics"),
        Suite::Export => ("navi-server", "export"),
        Suite::Limits => ("navi-server", "limits"),
    };
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(crate::workspace_root())
        .args(["bench", "-p", package, "--bench", bench])
        .env("NAVI_TEST_DATABASE_URL", &postgres.url)
        .env("NAVI_TEST_REDIS_URL", &redis.url)
        .status()
        .context("cannot run cargo bench")?;
    Ok(if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
