//! MCP server configurations of an org. The secret (credentials, a JSON object) is sealed with
//! navi-crypto, bound to the org, table, column and row, before it is written, and only opened
//! by [`read_mcp_server_secret`]; every other read leaves it sealed.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use navi_crypto::{Keyring, SealContext, Sealed};
use serde_json::{Map, Value};

use crate::audit::{self, AuditAction, AuditTrail};
use crate::ids::{new_id, IdKind};
use crate::schema::navi_mcp_servers;
use crate::{now, DbConnection, Role, StoreError, TenantScope};

/// What an MCP server's secret is: a JSON object.
pub type McpSecret = Map<String, Value>;

/// The table and column names the secret is sealed under (part of every seal's context).
pub(crate) const TABLE: &str = "navi_mcp_servers";
pub(crate) const SECRET_COLUMN: &str = "secret";

/// How the assistant talks to the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// Streamable HTTP.
    Http,
    /// Server-sent events.
    Sse,
    /// A local process speaking on stdin/stdout.
    Stdio,
}

impl Transport {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Http => "http",
            Transport::Sse => "sse",
            Transport::Stdio => "stdio",
        }
    }
}

impl FromStr for Transport {
    type Err = StoreError;

    fn from_str(input: &str) -> Result<Transport, StoreError> {
        match input {
            "http" => Ok(Transport::Http),
            "sse" => Ok(Transport::Sse),
            "stdio" => Ok(Transport::Stdio),
            _ => Err(StoreError::Invalid(
                "transport: one of \"http\", \"sse\" or \"stdio\"".to_owned(),
            )),
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A validated MCP server definition (everything but the secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct McpServerSpec {
    name: String,
    url: String,
    transport: Transport,
}

impl McpServerSpec {
    /// Validates a definition: `name` 1–100 printable characters; for `http` and `sse` an
    /// absolute `http(s)` URL with a host, for `stdio` a command line (no control characters);
    /// at most 2048 characters either way.
    pub fn parse(name: &str, url: &str, transport: &str) -> Result<McpServerSpec, StoreError> {
        let transport: Transport = transport.parse()?;
        if crate::validate::display_name("name", name, 100)? != name {
            return Err(StoreError::Invalid(
                "name: 1 to 100 printable characters, without leading or trailing spaces"
                    .to_owned(),
            ));
        }
        if url.chars().count() > 2048 {
            return Err(StoreError::Invalid(
                "url: at most 2048 characters".to_owned(),
            ));
        }
        match transport {
            Transport::Http | Transport::Sse => {
                let parsed = url::Url::parse(url).ok().filter(|parsed| {
                    matches!(parsed.scheme(), "http" | "https") && parsed.host().is_some()
                });
                if parsed.is_none() || url.trim() != url {
                    return Err(StoreError::Invalid(format!(
                        "url: an absolute http:// or https:// URL for the {transport} transport"
                    )));
                }
            }
            Transport::Stdio => {
                if url.trim().is_empty() || url.chars().any(char::is_control) {
                    return Err(StoreError::Invalid(
                        "url: the command line to run for the stdio transport (one line)"
                            .to_owned(),
                    ));
                }
            }
        }
        Ok(McpServerSpec {
            name: name.to_owned(),
            url: url.to_owned(),
            transport,
        })
    }
}

/// What to do with the secret on update.
#[derive(Debug, Clone, PartialEq)]
pub enum SecretChange {
    /// Leave the stored secret as it is.
    Keep,
    /// Remove it.
    Clear,
    /// Replace it.
    Set(McpSecret),
}

/// An MCP server as every reader sees it: the secret only as `has_secret`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct McpServerRow {
    /// `mcp_…`
    pub id: String,
    /// The owning org.
    pub org_id: String,
    /// Unique within the org.
    pub name: String,
    /// URL (http, sse) or command line (stdio).
    pub url: String,
    /// How to reach it.
    pub transport: Transport,
    /// Whether a secret is stored.
    pub has_secret: bool,
    /// Naive UTC.
    pub created_at: NaiveDateTime,
    /// Naive UTC.
    pub updated_at: NaiveDateTime,
}

type RowColumns = (
    navi_mcp_servers::id,
    navi_mcp_servers::org_id,
    navi_mcp_servers::name,
    navi_mcp_servers::url,
    navi_mcp_servers::transport,
    diesel::dsl::IsNotNull<navi_mcp_servers::secret>,
    navi_mcp_servers::created_at,
    navi_mcp_servers::updated_at,
);

type RawRow = (
    String,
    String,
    String,
    String,
    String,
    bool,
    NaiveDateTime,
    NaiveDateTime,
);

/// The columns of a row, with the secret reduced to whether it is set: the ciphertext is never
/// even loaded, so listing cannot fail on an unreadable secret.
fn row_columns() -> RowColumns {
    (
        navi_mcp_servers::id,
        navi_mcp_servers::org_id,
        navi_mcp_servers::name,
        navi_mcp_servers::url,
        navi_mcp_servers::transport,
        navi_mcp_servers::secret.is_not_null(),
        navi_mcp_servers::created_at,
        navi_mcp_servers::updated_at,
    )
}

fn into_row(raw: RawRow) -> Result<McpServerRow, StoreError> {
    let (id, org_id, name, url, transport, has_secret, created_at, updated_at) = raw;
    Ok(McpServerRow {
        transport: transport.parse()?,
        id,
        org_id,
        name,
        url,
        has_secret,
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
    secret: &McpSecret,
) -> Result<Sealed<McpSecret>, StoreError> {
    Sealed::seal(keyring, &seal_context(org_id, row_id), secret)
        .map_err(|error| StoreError::Invalid(format!("secret: {error}")))
}

fn name_taken(error: diesel::result::Error) -> StoreError {
    match error {
        diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        ) => StoreError::Conflict("an MCP server with this name already exists".to_owned()),
        other => other.into(),
    }
}

/// Creates a server in the scope's org (admin+). The id is made first so the secret's seal is
/// bound to the row it is written to. Audited as `mcp_server.create` (never with the secret).
pub fn create_mcp_server(
    scope: &TenantScope,
    conn: &mut DbConnection,
    trail: &AuditTrail,
    keyring: &Keyring,
    spec: &McpServerSpec,
    secret: Option<&McpSecret>,
) -> Result<McpServerRow, StoreError> {
    scope.require(Role::Admin)?;
    let id = new_id(IdKind::McpServer);
    let sealed = secret
        .map(|secret| seal(keyring, scope.org_id(), &id, secret))
        .transpose()?;
    let at = now();
    let row = McpServerRow {
        id,
        org_id: scope.org_id().to_owned(),
        name: spec.name.clone(),
        url: spec.url.clone(),
        transport: spec.transport,
        has_secret: sealed.is_some(),
        created_at: at,
        updated_at: at,
    };
    audit::org_transaction(scope, conn, |conn| {
        let id = &row.id;
        diesel::insert_into(navi_mcp_servers::table)
            .values((
                navi_mcp_servers::id.eq(&id),
                navi_mcp_servers::org_id.eq(scope.org_id()),
                navi_mcp_servers::name.eq(&spec.name),
                navi_mcp_servers::url.eq(&spec.url),
                navi_mcp_servers::transport.eq(spec.transport.as_str()),
                navi_mcp_servers::secret.eq(sealed.as_ref()),
                navi_mcp_servers::created_at.eq(at),
                navi_mcp_servers::updated_at.eq(at),
            ))
            .execute(conn)
            .map_err(name_taken)?;
        audit_change(conn, trail, scope, AuditAction::McpServerCreate, &row, None)
    })?;
    Ok(row)
}

/// Appends the audit event of a change to `row` (`secret`: what happened to its secret).
fn audit_change(
    conn: &mut DbConnection,
    trail: &AuditTrail,
    scope: &TenantScope,
    action: AuditAction,
    row: &McpServerRow,
    secret: Option<&SecretChange>,
) -> Result<(), StoreError> {
    let mut payload = serde_json::json!({
        "name": row.name,
        "url": row.url,
        "transport": row.transport.as_str(),
        "has_secret": row.has_secret,
    });
    if let Some(secret) = secret {
        payload["secret"] = match secret {
            SecretChange::Keep => "kept",
            SecretChange::Clear => "cleared",
            SecretChange::Set(_) => "replaced",
        }
        .into();
    }
    audit::record(scope, conn, trail, action, &row.id, payload)?;
    Ok(())
}

/// The org's servers, by name.
pub fn list_mcp_servers(
    scope: &TenantScope,
    conn: &mut DbConnection,
) -> Result<Vec<McpServerRow>, StoreError> {
    navi_mcp_servers::table
        .filter(navi_mcp_servers::org_id.eq(scope.org_id()))
        .order((navi_mcp_servers::name, navi_mcp_servers::id))
        .select(row_columns())
        .load::<RawRow>(conn)?
        .into_iter()
        .map(into_row)
        .collect()
}

/// One server of the scope's org; another org's id is `NotFound`, as if it did not exist.
pub fn find_mcp_server(
    scope: &TenantScope,
    conn: &mut DbConnection,
    id: &str,
) -> Result<McpServerRow, StoreError> {
    let raw = navi_mcp_servers::table
        .filter(navi_mcp_servers::org_id.eq(scope.org_id()))
        .filter(navi_mcp_servers::id.eq(id))
        .select(row_columns())
        .first::<RawRow>(conn)
        .optional()?
        .ok_or(StoreError::NotFound)?;
    into_row(raw)
}

/// Replaces a server's definition (admin+), and its secret as `secret` says. Audited as
/// `mcp_server.update`.
pub fn update_mcp_server(
    scope: &TenantScope,
    conn: &mut DbConnection,
    trail: &AuditTrail,
    keyring: &Keyring,
    id: &str,
    spec: &McpServerSpec,
    secret: &SecretChange,
) -> Result<McpServerRow, StoreError> {
    scope.require(Role::Admin)?;
    audit::org_transaction(scope, conn, |conn| {
        let target = navi_mcp_servers::table
            .filter(navi_mcp_servers::org_id.eq(scope.org_id()))
            .filter(navi_mcp_servers::id.eq(id));
        let definition = (
            navi_mcp_servers::name.eq(&spec.name),
            navi_mcp_servers::url.eq(&spec.url),
            navi_mcp_servers::transport.eq(spec.transport.as_str()),
            navi_mcp_servers::updated_at.eq(now()),
        );
        let updated = match secret {
            SecretChange::Keep => diesel::update(target).set(definition).execute(conn),
            SecretChange::Clear => diesel::update(target)
                .set((
                    definition,
                    navi_mcp_servers::secret.eq(None::<Sealed<McpSecret>>),
                ))
                .execute(conn),
            SecretChange::Set(secret) => {
                let sealed = seal(keyring, scope.org_id(), id, secret)?;
                diesel::update(target)
                    .set((definition, navi_mcp_servers::secret.eq(Some(&sealed))))
                    .execute(conn)
            }
        }
        .map_err(name_taken)?;
        if updated == 0 {
            return Err(StoreError::NotFound);
        }
        let row = find_mcp_server(scope, conn, id)?;
        audit_change(
            conn,
            trail,
            scope,
            AuditAction::McpServerUpdate,
            &row,
            Some(secret),
        )?;
        Ok(row)
    })
}

/// Deletes a server (admin+). Audited as `mcp_server.delete`.
pub fn delete_mcp_server(
    scope: &TenantScope,
    conn: &mut DbConnection,
    trail: &AuditTrail,
    id: &str,
) -> Result<(), StoreError> {
    scope.require(Role::Admin)?;
    audit::org_transaction(scope, conn, |conn| {
        let row = find_mcp_server(scope, conn, id)?;
        diesel::delete(
            navi_mcp_servers::table
                .filter(navi_mcp_servers::org_id.eq(scope.org_id()))
                .filter(navi_mcp_servers::id.eq(id)),
        )
        .execute(conn)?;
        audit_change(conn, trail, scope, AuditAction::McpServerDelete, &row, None)
    })
}

/// Opens a server's secret (admin+). `Ok(None)` when it has none. A stored value that is not a
/// valid ciphertext for this row (plaintext written around the repository, a removed key,
/// tampering) is [`StoreError::SecretUnreadable`]: an error for this server only.
///
/// Every read that returns a secret is audited as `mcp_server.secret_read`, in the transaction
/// that reads it: if the event cannot be written, the secret is not returned.
pub fn read_mcp_server_secret(
    scope: &TenantScope,
    conn: &mut DbConnection,
    trail: &AuditTrail,
    keyring: &Keyring,
    id: &str,
) -> Result<Option<McpSecret>, StoreError> {
    scope.require(Role::Admin)?;
    audit::org_transaction(scope, conn, |conn| {
        let row = find_mcp_server(scope, conn, id)?;
        let sealed: Option<Sealed<McpSecret>> = navi_mcp_servers::table
            .filter(navi_mcp_servers::org_id.eq(scope.org_id()))
            .filter(navi_mcp_servers::id.eq(id))
            .select(navi_mcp_servers::secret)
            .first::<Option<Sealed<McpSecret>>>(conn)
            .optional()?
            .ok_or(StoreError::NotFound)?;
        let Some(sealed) = sealed else {
            return Ok(None);
        };
        let secret = crate::encrypted_columns::open_sealed(
            sealed,
            keyring,
            &seal_context(scope.org_id(), id),
        )?;
        audit_change(
            conn,
            trail,
            scope,
            AuditAction::McpServerSecretRead,
            &row,
            None,
        )?;
        Ok(Some(secret))
    })
}
