//! `cargo xtask test`: the one test command. It never skips a test: the services are found or
//! started, or the command fails saying how to provide them.

use std::process::{Command, ExitCode};

use anyhow::Context;

use crate::services;

pub fn run(cargo_args: &[String]) -> anyhow::Result<ExitCode> {
    let scratch = crate::workspace_root()
        .join("target")
        .join("navi-test-services");
    std::fs::create_dir_all(&scratch)
        .with_context(|| format!("cannot create {}", scratch.display()))?;

    // Dropped at the end of this function: throwaway servers stop.
    let postgres = services::postgres(&scratch)?;
    let redis = services::redis(&scratch)?;
    let (smtp, maildir) = services::smtp(&scratch)?;
    let (oidc, platform_issuer, org_issuer) = services::oidc(&scratch)?;
    eprintln!(
        "xtask: PostgreSQL {} ({}), Redis {} ({}), SMTP {} ({}), OpenID Provider {} and {} ({}), \
         SQLite in temporary files",
        redact(&postgres.url),
        postgres.origin,
        redact(&redis.url),
        redis.origin,
        smtp.url,
        smtp.origin,
        platform_issuer,
        org_issuer,
        oidc.origin
    );

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(crate::workspace_root())
        .args(["test", "--workspace"])
        .args(cargo_args)
        .env("NAVI_TEST_DATABASE_URL", &postgres.url)
        .env("NAVI_TEST_REDIS_URL", &redis.url)
        .env("NAVI_TEST_SMTP_URL", &smtp.url)
        .env("NAVI_TEST_MAILDIR", &maildir)
        .env("NAVI_TEST_OIDC_PLATFORM", &platform_issuer)
        .env("NAVI_TEST_OIDC_ORG", &org_issuer)
        .status()
        .context("cannot run cargo test")?;
    Ok(if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Hides a password in a service URL before printing it.
fn redact(url: &str) -> String {
    navi_tenancy::DatabaseUrl::parse(url)
        .map(|url| url.to_string())
        .unwrap_or_else(|_| match url.split_once('@') {
            Some((_, host)) => format!("redis://***@{host}"),
            None => url.to_owned(),
        })
}
