//! `navi-server bootstrap` (the first user, org and API key) and `navi-server domains` (the email
//! domains an org's SSO connections are trusted for): the operator's way in, from the command line.

use navi_tenancy::api_keys::create_api_key_privileged;
use navi_tenancy::audit::AuditTrail;
use navi_tenancy::orgs::create_org;
use navi_tenancy::users::find_or_create_user;
use navi_tenancy::{Email, OrgName, Privileged};
use serde::Serialize;

use crate::config::Config;
use crate::startup::open_database;

/// What bootstrap prints: exactly this one JSON object on stdout.
#[derive(Debug, Serialize)]
pub struct Bootstrapped {
    /// The new org.
    pub org_id: String,
    /// The (new or existing) user, its owner.
    pub user_id: String,
    /// A new key for the user: pinned to the org, or a user key when `unpinned`.
    pub api_key: String,
}

/// Creates the user (if new), an org owned by them and an API key, in one transaction, under the
/// server's configuration and migration rules.
pub fn bootstrap(
    config: &Config,
    migrate: bool,
    org_name: &str,
    email: &str,
    unpinned: bool,
) -> anyhow::Result<Bootstrapped> {
    let name = OrgName::parse(org_name)?;
    let email = Email::parse(email)?;
    let pool = open_database(config, migrate)?;
    let pepper = crate::secrets::api_key_pepper(config)?;
    let keyring = crate::secrets::encryption_keys(config)?;
    // Made from the command line: no client address.
    let trail = AuditTrail::new(crate::secrets::audit_keys(config, keyring)?, None);
    let mut conn = navi_tenancy::checkout(&pool)?;
    let privileged = Privileged::acquire("bootstrap");
    // One writer transaction from the start (BEGIN IMMEDIATE on SQLite), like every audited
    // change, so a server running on the same database cannot interleave.
    let bootstrapped = navi_tenancy::serialized_transaction(&mut conn, "bootstrap", |conn| {
        let user = find_or_create_user(&privileged, conn, &email)?;
        let (org, _) = create_org(&privileged.act_as(&user.id), conn, &trail, &name, None)?;
        let pin = (!unpinned).then_some(org.id.as_str());
        let (_, key) = create_api_key_privileged(
            &privileged,
            conn,
            &trail,
            Some(&org.id),
            &pepper,
            &user.id,
            pin,
            "bootstrap",
        )?;
        Ok(Bootstrapped {
            org_id: org.id,
            user_id: user.id,
            api_key: key.expose().to_owned(),
        })
    })?;
    Ok(bootstrapped)
}

/// What `navi-server domains` does.
#[derive(Debug, Clone, Copy)]
pub enum Domains<'a> {
    /// Approve `domain` for the org `org`.
    Approve {
        /// The org's slug.
        org: &'a str,
        /// The domain.
        domain: &'a str,
    },
    /// Revoke `domain` from the org `org`.
    Revoke {
        /// The org's slug.
        org: &'a str,
        /// The domain.
        domain: &'a str,
    },
    /// The org's approved domains.
    List {
        /// The org's slug.
        org: &'a str,
    },
}

/// Runs `action` under the server's configuration and migration rules: the lines to print.
pub fn domains(config: &Config, migrate: bool, action: Domains<'_>) -> anyhow::Result<Vec<String>> {
    use navi_tenancy::sso::{approve_domain, list_domains, revoke_domain};
    let pool = open_database(config, migrate)?;
    let keyring = crate::secrets::encryption_keys(config)?;
    let trail = AuditTrail::new(crate::secrets::audit_keys(config, keyring)?, None);
    let mut conn = navi_tenancy::checkout(&pool)?;
    let privileged = Privileged::acquire("manage an org's SSO domains");
    Ok(match action {
        Domains::Approve { org, domain } => {
            approve_domain(&privileged, &mut conn, &trail, org, domain)
                .map_err(|error| named(org, error))?;
            vec![format!(
                "approved {} for {org}",
                domain.trim().to_ascii_lowercase()
            )]
        }
        Domains::Revoke { org, domain } => {
            revoke_domain(&privileged, &mut conn, &trail, org, domain)
                .map_err(|error| named(org, error))?;
            vec![format!(
                "revoked {} from {org}",
                domain.trim().to_ascii_lowercase()
            )]
        }
        Domains::List { org } => {
            list_domains(&privileged, &mut conn, org).map_err(|error| named(org, error))?
        }
    })
}

/// A store error of `navi-server domains`, naming the org when it is a `NotFound`.
fn named(org: &str, error: navi_tenancy::StoreError) -> anyhow::Error {
    match error {
        navi_tenancy::StoreError::NotFound => {
            anyhow::anyhow!("no org `{org}`, or the domain is not approved for it")
        }
        other => other.into(),
    }
}
