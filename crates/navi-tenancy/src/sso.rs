//! Single sign-on: an org's OpenID Connect connections (owners manage them; the client secret is
//! sealed like every encrypted column and never returned), the email domains the operator
//! approved for an org (a domain belongs to at most one org), and the identities (issuer,
//! subject) people sign in with.
//!
//! The identity rules: the platform connection is trusted for every domain, an org's connection
//! only for its org's approved domains. An identity links to a user by (issuer, subject); a new
//! identity links to the user of its email only when its provider is trusted for the email's
//! domain and says the email is verified (which verifies it in Navi too), or when the user asked
//! for the link from a signed-in session. Never by an email claim alone.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use navi_crypto::{Keyring, SealContext, Sealed};
use serde::{Deserialize, Serialize};

use crate::audit::{self, AuditAction, AuditEvent, AuditTrail};
use crate::dialect::{lock_for_transaction, serialized_transaction};
use crate::ids::{new_id, IdKind};
use crate::schema::{
    navi_org_members, navi_orgs, navi_sso_connections, navi_sso_domains, navi_user_identities,
    navi_users,
};
use crate::users::{verify_email_within, UserRow};
use crate::{now, DbConnection, Email, Privileged, Role, StoreError, TenantScope};

const TABLE: &str = "navi_sso_connections";

/// Owners manage connections, never through a key pinned to the org: a connection signs people
/// in to all their orgs, which would take a pinned key outside its own.
fn require_owner(scope: &TenantScope) -> Result<(), StoreError> {
    if scope.pinned() {
        return Err(StoreError::Forbidden);
    }
    scope.require(Role::Owner)
}
const SECRET_COLUMN: &str = "client_secret";
/// The most values `role_values` lists per role.
const MAX_ROLE_VALUES: usize = 50;

/// Which values of the role claim give which first role.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleValues {
    /// Values that make a first sign-in an admin.
    #[serde(default)]
    pub admin: Vec<String>,
    /// Values that make a first sign-in a member.
    #[serde(default)]
    pub member: Vec<String>,
}

/// A validated connection (everything but the client secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionSpec {
    issuer: String,
    client_id: String,
    first_role: Role,
    role_claim: Option<String>,
    role_values: RoleValues,
    enforced: bool,
}

/// `https://…` (or `http://` on a loopback host, for local providers): an issuer URL as OpenID
/// Connect discovery needs it, at most 2048 characters.
pub fn validate_issuer(issuer: &str) -> Result<(), StoreError> {
    let invalid = || {
        StoreError::Invalid(
            "issuer: an https:// URL (http:// only on a loopback host), at most 2048 characters, \
             without query or fragment"
                .to_owned(),
        )
    };
    if issuer.len() > 2048 || issuer.trim() != issuer {
        return Err(invalid());
    }
    let url = url::Url::parse(issuer).map_err(|_| invalid())?;
    let loopback = match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => return Err(invalid()),
    };
    let secure = url.scheme() == "https" || (url.scheme() == "http" && loopback);
    if !secure || url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(invalid());
    }
    Ok(())
}

fn printable(field: &str, value: &str, max: usize) -> Result<(), StoreError> {
    if value.is_empty() || value.len() > max || value.chars().any(char::is_control) {
        return Err(StoreError::Invalid(format!(
            "{field}: 1 to {max} bytes without control characters"
        )));
    }
    Ok(())
}

impl ConnectionSpec {
    /// Validates a connection: an issuer (see [`validate_issuer`]), a client id (1–512 bytes),
    /// the first role (`admin` or `member`, never `owner`), an optional role claim (1–128 bytes)
    /// whose values (at most 50 per role, each 1–256 bytes) map to admin or member, and whether
    /// the org's members must sign in through it.
    pub fn parse(
        issuer: &str,
        client_id: &str,
        first_role: &str,
        role_claim: Option<&str>,
        role_values: RoleValues,
        enforced: bool,
    ) -> Result<ConnectionSpec, StoreError> {
        validate_issuer(issuer)?;
        printable("client_id", client_id, 512)?;
        let first_role = match first_role {
            "admin" => Role::Admin,
            "member" => Role::Member,
            _ => {
                return Err(StoreError::Invalid(
                    "first_role: one of admin, member".to_owned(),
                ))
            }
        };
        if let Some(claim) = role_claim {
            printable("role_claim", claim, 128)?;
        }
        for (role, values) in [
            ("admin", &role_values.admin),
            ("member", &role_values.member),
        ] {
            if values.len() > MAX_ROLE_VALUES {
                return Err(StoreError::Invalid(format!(
                    "role_values.{role}: at most {MAX_ROLE_VALUES} values"
                )));
            }
            for value in values {
                printable(&format!("role_values.{role}[]"), value, 256)?;
            }
        }
        if role_claim.is_none() && (!role_values.admin.is_empty() || !role_values.member.is_empty())
        {
            return Err(StoreError::Invalid(
                "role_values: name the claim they are values of in role_claim".to_owned(),
            ));
        }
        Ok(ConnectionSpec {
            issuer: issuer.to_owned(),
            client_id: client_id.to_owned(),
            first_role,
            role_claim: role_claim.map(str::to_owned),
            role_values,
            enforced,
        })
    }
}

/// What to do with the client secret on update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientSecretChange {
    /// Leave it.
    Keep,
    /// Remove it (a public client).
    Clear,
    /// Replace it.
    Set(String),
}

/// A connection as its owners see it: the secret only as `has_client_secret`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionRow {
    /// `sso_…`
    pub id: String,
    /// The owning org.
    pub org_id: String,
    /// The provider's issuer URL.
    pub issuer: String,
    /// Navi's client id at the provider.
    pub client_id: String,
    /// Whether a client secret is stored.
    pub has_client_secret: bool,
    /// The role of people it signs in for the first time.
    pub first_role: Role,
    /// The claim whose values map to a first role.
    pub role_claim: Option<String>,
    /// Which values map to which role.
    pub role_values: RoleValues,
    /// Whether the org's sessions must come through it.
    pub enforced: bool,
    /// Naive UTC.
    pub created_at: NaiveDateTime,
    /// Naive UTC.
    pub updated_at: NaiveDateTime,
}

type RawRow = (
    String,
    String,
    String,
    String,
    bool,
    String,
    Option<String>,
    String,
    bool,
    NaiveDateTime,
    NaiveDateTime,
);

macro_rules! row_columns {
    () => {
        (
            navi_sso_connections::id,
            navi_sso_connections::org_id,
            navi_sso_connections::issuer,
            navi_sso_connections::client_id,
            navi_sso_connections::client_secret.is_not_null(),
            navi_sso_connections::first_role,
            navi_sso_connections::role_claim,
            navi_sso_connections::role_values,
            navi_sso_connections::enforced,
            navi_sso_connections::created_at,
            navi_sso_connections::updated_at,
        )
    };
}

fn into_row(raw: RawRow) -> Result<ConnectionRow, StoreError> {
    let (
        id,
        org_id,
        issuer,
        client_id,
        has_client_secret,
        first_role,
        role_claim,
        values,
        enforced,
        created_at,
        updated_at,
    ) = raw;
    let role_values = serde_json::from_str(&values)
        .map_err(|error| StoreError::Internal(format!("stored role_values: {error}")))?;
    Ok(ConnectionRow {
        id,
        org_id,
        issuer,
        client_id,
        has_client_secret,
        first_role: first_role.parse()?,
        role_claim,
        role_values,
        enforced,
        created_at,
        updated_at,
    })
}

fn seal_context<'a>(org_id: &'a str, row_id: &'a str) -> SealContext<'a> {
    SealContext {
        org_id,
        table: TABLE,
        column: SECRET_COLUMN,
        row_id,
    }
}

fn seal(
    keyring: &Keyring,
    org_id: &str,
    row_id: &str,
    secret: &str,
) -> Result<Sealed<String>, StoreError> {
    printable("client_secret", secret, 1024)?;
    Sealed::seal(keyring, &seal_context(org_id, row_id), &secret.to_owned())
        .map_err(|error| StoreError::Invalid(format!("client_secret: {error}")))
}

fn role_values_text(values: &RoleValues) -> Result<String, StoreError> {
    serde_json::to_string(values).map_err(|error| StoreError::Internal(error.to_string()))
}

fn audit_change(
    conn: &mut DbConnection,
    trail: &AuditTrail,
    scope: &TenantScope,
    action: AuditAction,
    row: &ConnectionRow,
    secret: Option<&ClientSecretChange>,
) -> Result<(), StoreError> {
    let mut payload = serde_json::json!({
        "issuer": row.issuer,
        "client_id": row.client_id,
        "has_client_secret": row.has_client_secret,
        "first_role": row.first_role.as_str(),
        "role_claim": row.role_claim,
        "role_values": row.role_values,
        "enforced": row.enforced,
    });
    if let Some(secret) = secret {
        payload["client_secret"] = match secret {
            ClientSecretChange::Keep => "kept",
            ClientSecretChange::Clear => "cleared",
            ClientSecretChange::Set(_) => "replaced",
        }
        .into();
    }
    audit::record(scope, conn, trail, action, &row.id, payload)
}

/// Creates a connection of the scope's org (owner). Audited as `sso_connection.create`.
pub fn create_connection(
    scope: &TenantScope,
    conn: &mut DbConnection,
    trail: &AuditTrail,
    keyring: &Keyring,
    spec: &ConnectionSpec,
    client_secret: Option<&str>,
) -> Result<ConnectionRow, StoreError> {
    require_owner(scope)?;
    let id = new_id(IdKind::SsoConnection);
    let sealed = client_secret
        .map(|secret| seal(keyring, scope.org_id(), &id, secret))
        .transpose()?;
    let at = now();
    let row = ConnectionRow {
        id,
        org_id: scope.org_id().to_owned(),
        issuer: spec.issuer.clone(),
        client_id: spec.client_id.clone(),
        has_client_secret: sealed.is_some(),
        first_role: spec.first_role,
        role_claim: spec.role_claim.clone(),
        role_values: spec.role_values.clone(),
        enforced: spec.enforced,
        created_at: at,
        updated_at: at,
    };
    let role_values = role_values_text(&spec.role_values)?;
    audit::org_transaction(scope, conn, |conn| {
        diesel::insert_into(navi_sso_connections::table)
            .values((
                navi_sso_connections::id.eq(&row.id),
                navi_sso_connections::org_id.eq(&row.org_id),
                navi_sso_connections::issuer.eq(&row.issuer),
                navi_sso_connections::client_id.eq(&row.client_id),
                navi_sso_connections::client_secret.eq(sealed.as_ref()),
                navi_sso_connections::first_role.eq(row.first_role.as_str()),
                navi_sso_connections::role_claim.eq(&row.role_claim),
                navi_sso_connections::role_values.eq(&role_values),
                navi_sso_connections::enforced.eq(row.enforced),
                navi_sso_connections::created_at.eq(at),
                navi_sso_connections::updated_at.eq(at),
            ))
            .execute(conn)?;
        audit_change(
            conn,
            trail,
            scope,
            AuditAction::SsoConnectionCreate,
            &row,
            None,
        )
    })?;
    Ok(row)
}

/// The org's connections, oldest first (owner).
pub fn list_connections(
    scope: &TenantScope,
    conn: &mut DbConnection,
) -> Result<Vec<ConnectionRow>, StoreError> {
    require_owner(scope)?;
    navi_sso_connections::table
        .filter(navi_sso_connections::org_id.eq(scope.org_id()))
        .order((navi_sso_connections::created_at, navi_sso_connections::id))
        .select(row_columns!())
        .load::<RawRow>(conn)?
        .into_iter()
        .map(into_row)
        .collect()
}

/// One connection of the scope's org (owner); another org's id is `NotFound`.
pub fn find_connection(
    scope: &TenantScope,
    conn: &mut DbConnection,
    id: &str,
) -> Result<ConnectionRow, StoreError> {
    require_owner(scope)?;
    let raw = navi_sso_connections::table
        .filter(navi_sso_connections::org_id.eq(scope.org_id()))
        .filter(navi_sso_connections::id.eq(id))
        .select(row_columns!())
        .first::<RawRow>(conn)
        .optional()?
        .ok_or(StoreError::NotFound)?;
    into_row(raw)
}

/// Replaces a connection (owner), and its secret as `secret` says. Audited as
/// `sso_connection.update`.
pub fn update_connection(
    scope: &TenantScope,
    conn: &mut DbConnection,
    trail: &AuditTrail,
    keyring: &Keyring,
    id: &str,
    spec: &ConnectionSpec,
    secret: &ClientSecretChange,
) -> Result<ConnectionRow, StoreError> {
    require_owner(scope)?;
    let role_values = role_values_text(&spec.role_values)?;
    audit::org_transaction(scope, conn, |conn| {
        let target = navi_sso_connections::table
            .filter(navi_sso_connections::org_id.eq(scope.org_id()))
            .filter(navi_sso_connections::id.eq(id));
        let definition = (
            navi_sso_connections::issuer.eq(&spec.issuer),
            navi_sso_connections::client_id.eq(&spec.client_id),
            navi_sso_connections::first_role.eq(spec.first_role.as_str()),
            navi_sso_connections::role_claim.eq(&spec.role_claim),
            navi_sso_connections::role_values.eq(&role_values),
            navi_sso_connections::enforced.eq(spec.enforced),
            navi_sso_connections::updated_at.eq(now()),
        );
        let updated = match secret {
            ClientSecretChange::Keep => diesel::update(target).set(definition).execute(conn)?,
            ClientSecretChange::Clear => diesel::update(target)
                .set((
                    definition,
                    navi_sso_connections::client_secret.eq(None::<Sealed<String>>),
                ))
                .execute(conn)?,
            ClientSecretChange::Set(secret) => {
                let sealed = seal(keyring, scope.org_id(), id, secret)?;
                diesel::update(target)
                    .set((
                        definition,
                        navi_sso_connections::client_secret.eq(Some(&sealed)),
                    ))
                    .execute(conn)?
            }
        };
        if updated == 0 {
            return Err(StoreError::NotFound);
        }
        let row = find_connection(scope, conn, id)?;
        audit_change(
            conn,
            trail,
            scope,
            AuditAction::SsoConnectionUpdate,
            &row,
            Some(secret),
        )?;
        Ok(row)
    })
}

/// Deletes a connection (owner). Audited as `sso_connection.delete`.
pub fn delete_connection(
    scope: &TenantScope,
    conn: &mut DbConnection,
    trail: &AuditTrail,
    id: &str,
) -> Result<(), StoreError> {
    require_owner(scope)?;
    audit::org_transaction(scope, conn, |conn| {
        let row = find_connection(scope, conn, id)?;
        diesel::delete(
            navi_sso_connections::table
                .filter(navi_sso_connections::org_id.eq(scope.org_id()))
                .filter(navi_sso_connections::id.eq(id)),
        )
        .execute(conn)?;
        audit_change(
            conn,
            trail,
            scope,
            AuditAction::SsoConnectionDelete,
            &row,
            None,
        )
    })
}

/// A domain as stored: lowercase letters, digits, hyphens and dots, at most 253 characters, with
/// at least one dot (`corp.example`).
pub fn normalize_domain(domain: &str) -> Result<String, StoreError> {
    let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    if domain.len() > 253 || !domain.contains('.') || !domain.split('.').all(label_ok) {
        return Err(StoreError::Invalid(format!(
            "domain: `{domain}` is not a domain name such as corp.example (IDNs in their xn-- form)"
        )));
    }
    Ok(domain)
}

fn org_by_slug(conn: &mut DbConnection, slug: &str) -> Result<String, StoreError> {
    navi_orgs::table
        .filter(navi_orgs::slug.eq(slug))
        .select(navi_orgs::id)
        .first(conn)
        .optional()?
        .ok_or(StoreError::NotFound)
}

/// The operator approves `domain` for the org `slug`: its connections are then trusted for the
/// domain's emails. A domain belongs to at most one org: approved for another → `Conflict`;
/// already approved for this one → `Conflict` too (nothing changes). Audited in the org as
/// `sso_domain.approve`.
pub fn approve_domain(
    _: &Privileged,
    conn: &mut DbConnection,
    trail: &AuditTrail,
    slug: &str,
    domain: &str,
) -> Result<(), StoreError> {
    let domain = normalize_domain(domain)?;
    serialized_transaction(conn, &format!("sso-domain:{domain}"), |conn| {
        let org_id = org_by_slug(conn, slug)?;
        lock_for_transaction(conn, &audit::org_lock_key(&org_id))?;
        let holder: Option<String> = navi_sso_domains::table
            .find(&domain)
            .select(navi_sso_domains::org_id)
            .first(conn)
            .optional()?;
        match holder {
            Some(holder) if holder == org_id => {
                return Err(StoreError::Conflict(format!(
                    "{domain} is already approved for this org"
                )))
            }
            Some(_) => {
                return Err(StoreError::Conflict(format!(
                    "{domain} is approved for another org; revoke it there first"
                )))
            }
            None => {}
        }
        diesel::insert_into(navi_sso_domains::table)
            .values((
                navi_sso_domains::domain.eq(&domain),
                navi_sso_domains::org_id.eq(&org_id),
                navi_sso_domains::approved_at.eq(now()),
            ))
            .execute(conn)?;
        audit::append(
            conn,
            trail,
            &org_id,
            None,
            AuditEvent::new(
                AuditAction::SsoDomainApprove,
                &domain,
                serde_json::json!({ "domain": domain }),
            ),
        )?;
        Ok(())
    })
}

/// The operator revokes `domain` from the org `slug` (not approved there → `NotFound`). Audited
/// in the org as `sso_domain.revoke`.
pub fn revoke_domain(
    _: &Privileged,
    conn: &mut DbConnection,
    trail: &AuditTrail,
    slug: &str,
    domain: &str,
) -> Result<(), StoreError> {
    let domain = normalize_domain(domain)?;
    serialized_transaction(conn, &format!("sso-domain:{domain}"), |conn| {
        let org_id = org_by_slug(conn, slug)?;
        lock_for_transaction(conn, &audit::org_lock_key(&org_id))?;
        let removed = diesel::delete(
            navi_sso_domains::table
                .filter(navi_sso_domains::domain.eq(&domain))
                .filter(navi_sso_domains::org_id.eq(&org_id)),
        )
        .execute(conn)?;
        if removed == 0 {
            return Err(StoreError::NotFound);
        }
        audit::append(
            conn,
            trail,
            &org_id,
            None,
            AuditEvent::new(
                AuditAction::SsoDomainRevoke,
                &domain,
                serde_json::json!({ "domain": domain }),
            ),
        )?;
        Ok(())
    })
}

/// The domains approved for the org `slug`, sorted.
pub fn list_domains(
    _: &Privileged,
    conn: &mut DbConnection,
    slug: &str,
) -> Result<Vec<String>, StoreError> {
    let org_id = org_by_slug(conn, slug)?;
    Ok(navi_sso_domains::table
        .filter(navi_sso_domains::org_id.eq(&org_id))
        .order(navi_sso_domains::domain)
        .select(navi_sso_domains::domain)
        .load(conn)?)
}

/// A connection as the sign-in flow needs it: its client secret opened.
#[derive(Clone, PartialEq, Eq)]
pub struct SignInConnection {
    /// `sso_…`
    pub id: String,
    /// The org it belongs to.
    pub org_id: String,
    /// The provider's issuer URL.
    pub issuer: String,
    /// Navi's client id at the provider.
    pub client_id: String,
    /// Navi's client secret at the provider, if any.
    pub client_secret: Option<String>,
    /// The role of people it signs in for the first time.
    pub first_role: Role,
    /// The claim whose values map to a first role.
    pub role_claim: Option<String>,
    /// Which values map to which role.
    pub role_values: RoleValues,
}

impl std::fmt::Debug for SignInConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInConnection")
            .field("id", &self.id)
            .field("org_id", &self.org_id)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// The connection `id`, its secret opened (the sign-in flow, before anyone is authenticated).
pub fn sign_in_connection(
    _: &Privileged,
    conn: &mut DbConnection,
    keyring: &Keyring,
    id: &str,
) -> Result<SignInConnection, StoreError> {
    let raw = navi_sso_connections::table
        .filter(navi_sso_connections::id.eq(id))
        .select(row_columns!())
        .first::<RawRow>(conn)
        .optional()?
        .ok_or(StoreError::NotFound)?;
    let row = into_row(raw)?;
    let sealed: Option<Sealed<String>> = navi_sso_connections::table
        .filter(navi_sso_connections::id.eq(id))
        .select(navi_sso_connections::client_secret)
        .first(conn)?;
    let client_secret = sealed
        .map(|sealed| {
            crate::encrypted_columns::open_sealed(
                sealed,
                keyring,
                &seal_context(&row.org_id, &row.id),
            )
        })
        .transpose()?;
    Ok(SignInConnection {
        id: row.id,
        org_id: row.org_id,
        issuer: row.issuer,
        client_id: row.client_id,
        client_secret,
        first_role: row.first_role,
        role_claim: row.role_claim,
        role_values: row.role_values,
    })
}

/// The connection an org signs in through: its enforced one, else its oldest; `None` when the
/// slug names no org or the org has none.
pub fn connection_of_org(
    _: &Privileged,
    conn: &mut DbConnection,
    slug: &str,
) -> Result<Option<String>, StoreError> {
    Ok(navi_sso_connections::table
        .inner_join(navi_orgs::table)
        .filter(navi_orgs::slug.eq(slug))
        .order((
            navi_sso_connections::enforced.desc(),
            navi_sso_connections::created_at,
            navi_sso_connections::id,
        ))
        .select(navi_sso_connections::id)
        .first(conn)
        .optional()?)
}

/// The connection that signs in emails of `domain`: that of the org the domain is approved for
/// (as [`connection_of_org`] picks it); `None` when no org holds the domain or it has none.
pub fn connection_of_domain(
    privileged: &Privileged,
    conn: &mut DbConnection,
    domain: &str,
) -> Result<Option<String>, StoreError> {
    let Ok(domain) = normalize_domain(domain) else {
        return Ok(None);
    };
    let slug: Option<String> = navi_sso_domains::table
        .inner_join(navi_orgs::table)
        .filter(navi_sso_domains::domain.eq(&domain))
        .select(navi_orgs::slug)
        .first(conn)
        .optional()?;
    match slug {
        Some(slug) => connection_of_org(privileged, conn, &slug),
        None => Ok(None),
    }
}

/// What an identity provider asserted about who signed in (from a checked ID token).
#[derive(Debug, Clone)]
pub struct Assertion {
    /// The provider.
    pub issuer: String,
    /// The person at the provider.
    pub subject: String,
    /// Their email, as the provider says it.
    pub email: Email,
    /// Whether the provider says it verified the email.
    pub email_verified: bool,
    /// The values of the connection's role claim, if it has one.
    pub role_values: Vec<String>,
}

/// Signs in the person `assertion` describes, through `connection` (`None`: the platform's),
/// following the identity rules of this module: the user of the identity, else (an explicit
/// link) `link_to`, else the user of a verified email whose domain the provider is trusted for.
/// Through an org's connection, the identity's first sign-in makes them a member (role from the
/// claim, else the connection's first role; audited as `member.join`); later sign-ins leave
/// membership to the org, so a member it removed stays removed. A refusal is
/// [`StoreError::SignInRefused`], naming the reason.
pub fn sign_in_identity(
    privileged: &Privileged,
    conn: &mut DbConnection,
    trail: &AuditTrail,
    connection: Option<&SignInConnection>,
    assertion: &Assertion,
    link_to: Option<&str>,
) -> Result<UserRow, StoreError> {
    let refuse = |reason: &str| Err(StoreError::SignInRefused(reason.to_owned()));
    let domain = assertion.email.domain().to_owned();
    if let Some(connection) = connection {
        let holder: Option<String> = navi_sso_domains::table
            .find(&domain)
            .select(navi_sso_domains::org_id)
            .first(conn)
            .optional()?;
        if holder.as_deref() != Some(connection.org_id.as_str()) {
            return refuse(
                "the identity provider asserted an email outside the domains approved for its \
                 organization",
            );
        }
    }
    check_subject(&assertion.subject)?;
    let lock = format!("identity:{}:{}", assertion.issuer, assertion.subject);
    serialized_transaction(conn, &lock, |conn| {
        let linked: Option<String> = navi_user_identities::table
            .find((&assertion.issuer, &assertion.subject))
            .select(navi_user_identities::user_id)
            .first(conn)
            .optional()?;
        // The first sign-in of this identity; later ones change no membership (a member the
        // org removed stays removed).
        let first_sign_in = linked.is_none();
        let user_id = match (linked, link_to) {
            (Some(linked), Some(link_to)) if linked != link_to => {
                return refuse("this identity is linked to another user");
            }
            (Some(linked), _) => linked,
            (None, Some(link_to)) => {
                link_identity(conn, assertion, link_to)?;
                link_to.to_owned()
            }
            (None, None) => {
                if !assertion.email_verified {
                    return refuse("the identity provider does not say the email is verified");
                }
                let user = verify_email_within(privileged, conn, trail, &assertion.email)?;
                link_identity(conn, assertion, &user.id)?;
                user.id
            }
        };
        let user: UserRow = navi_users::table
            .find(&user_id)
            .select(UserRow::as_select())
            .first(conn)?;
        if let (Some(connection), true) = (connection, first_sign_in) {
            join_on_first_sign_in(conn, trail, connection, assertion, &user)?;
        }
        Ok(user)
    })
}

fn link_identity(
    conn: &mut DbConnection,
    assertion: &Assertion,
    user_id: &str,
) -> Result<(), StoreError> {
    check_subject(&assertion.subject)?;
    diesel::insert_into(navi_user_identities::table)
        .values((
            navi_user_identities::issuer.eq(&assertion.issuer),
            navi_user_identities::subject.eq(&assertion.subject),
            navi_user_identities::user_id.eq(user_id),
            navi_user_identities::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// A subject Navi stores: 1 to 255 bytes, no control characters.
fn check_subject(subject: &str) -> Result<(), StoreError> {
    if subject.is_empty() || subject.len() > 255 || subject.chars().any(char::is_control) {
        return Err(StoreError::SignInRefused(
            "the identity provider's subject is empty, longer than 255 bytes or has control \
             characters"
                .to_owned(),
        ));
    }
    Ok(())
}

/// Makes `user` a member of the connection's org when they are not one yet: admin or member as
/// the role claim's values say, else the connection's first role (never owner).
fn join_on_first_sign_in(
    conn: &mut DbConnection,
    trail: &AuditTrail,
    connection: &SignInConnection,
    assertion: &Assertion,
    user: &UserRow,
) -> Result<(), StoreError> {
    lock_for_transaction(conn, &audit::org_lock_key(&connection.org_id))?;
    let member: i64 = navi_org_members::table
        .filter(navi_org_members::org_id.eq(&connection.org_id))
        .filter(navi_org_members::user_id.eq(&user.id))
        .count()
        .get_result(conn)?;
    if member > 0 {
        return Ok(());
    }
    let has = |values: &[String]| assertion.role_values.iter().any(|v| values.contains(v));
    let role = if has(&connection.role_values.admin) {
        Role::Admin
    } else if has(&connection.role_values.member) {
        Role::Member
    } else {
        connection.first_role
    };
    diesel::insert_into(navi_org_members::table)
        .values((
            navi_org_members::org_id.eq(&connection.org_id),
            navi_org_members::user_id.eq(&user.id),
            navi_org_members::role.eq(role.as_str()),
            navi_org_members::joined_at.eq(now()),
        ))
        .execute(conn)?;
    audit::append(
        conn,
        trail,
        &connection.org_id,
        Some(&user.id),
        AuditEvent::new(
            AuditAction::MemberJoin,
            &user.id,
            serde_json::json!({
                "user_id": user.id,
                "email": user.email,
                "role": role.as_str(),
                "sso_connection": connection.id,
            }),
        ),
    )?;
    Ok(())
}
