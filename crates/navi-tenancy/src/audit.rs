//! Audit logs: one encrypted, tamper-evident chain of events per org.
//!
//! Every change to org configuration and every secret read appends its event in the same
//! transaction as the change, through the [`AuditTrail`] the repository function takes: a change
//! that rolls back leaves no event, and no change commits without one.
//!
//! Each row holds:
//! - `seq`: the org's event number, 1, 2, 3, ... without gaps;
//! - `payload`: a JSON object sealed with navi-crypto, bound to the org, table, column and row
//!   (it is in the registry of encrypted columns, so `rotate-keys` re-seals it);
//! - `link`: HMAC-SHA256 under the chain key `chain_key_id` of the row's fields, a keyed digest
//!   of the *plaintext* payload (so re-sealing under a new encryption key leaves the chain as it
//!   was) and the previous row's link. The chain keys are not in the database: someone with only
//!   database access can alter rows but cannot make the links match again.
//!
//! Appends for one org are serialised (PostgreSQL: a transaction-scoped advisory lock; SQLite: the
//! immediate transaction every audited change runs in), and `(org_id, seq)` is unique, so a
//! chain never forks. [`verify_chain`] recomputes the links and names the first that fails.
//!
//! What the chain cannot show: rows removed from its end (the newest events), since nothing after
//! them links to them and the next append links to the new head. Keep the id of the newest event
//! from each export or verification and check it is still there.

use std::fmt;
use std::net::IpAddr;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use navi_crypto::{Ciphertext, Keyring, MacKeyring, SealContext, StoredValue, MAC_LEN};
use serde_json::{Map, Value};

use crate::ids::{new_id, IdKind};
use crate::schema::{navi_audit_logs, navi_org_members};
use crate::{now, DbConnection, Role, StoreError, TenantScope};

/// The table and column names the payload is sealed under.
pub(crate) const TABLE: &str = "navi_audit_logs";
pub(crate) const PAYLOAD_COLUMN: &str = "payload";

/// Most events one listing page returns.
pub const MAX_PAGE: i64 = 1000;

const LINK_DOMAIN: &[u8] = b"navi-audit-link-v1\0";
const PAYLOAD_DOMAIN: &[u8] = b"navi-audit-payload-v1\0";
const GENESIS: [u8; MAC_LEN] = [0; MAC_LEN];

/// The keys an audit event is written and verified with: the keyring that seals payloads and the
/// chain keys that sign links. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AuditKeys {
    keyring: Keyring,
    chain: MacKeyring,
}

impl AuditKeys {
    /// Payloads sealed with `keyring`, links signed with `chain`'s primary key.
    pub fn new(keyring: Keyring, chain: MacKeyring) -> AuditKeys {
        AuditKeys { keyring, chain }
    }

    /// The keyring that seals and opens payloads.
    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    /// The chain keys.
    pub fn chain(&self) -> &MacKeyring {
        &self.chain
    }
}

/// Where an audited change comes from: the keys to record it with and the client's address.
/// Every repository function that changes org configuration (or reads a secret) takes one.
#[derive(Debug, Clone)]
pub struct AuditTrail {
    keys: AuditKeys,
    ip: Option<String>,
}

impl AuditTrail {
    /// A trail for changes made from `ip` (`None`: no network client, e.g. bootstrap).
    pub fn new(keys: AuditKeys, ip: Option<IpAddr>) -> AuditTrail {
        AuditTrail {
            keys,
            ip: ip.map(|ip| ip.to_string()),
        }
    }

    /// The keys.
    pub fn keys(&self) -> &AuditKeys {
        &self.keys
    }
}

/// The audited actions (the dotted names of the API).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    /// An org was created.
    OrgCreate,
    /// A member's role changed.
    MemberRoleChange,
    /// A member was removed.
    MemberRemove,
    /// Someone joined through the org's SSO connection, at their first sign-in.
    MemberJoin,
    /// An invite was created.
    InviteCreate,
    /// An invite was revoked.
    InviteRevoke,
    /// An invite was accepted (a member joined).
    InviteAccept,
    /// An API key was created.
    ApiKeyCreate,
    /// An API key was rotated.
    ApiKeyRotate,
    /// An API key was revoked.
    ApiKeyRevoke,
    /// An MCP server was created.
    McpServerCreate,
    /// An MCP server was changed.
    McpServerUpdate,
    /// An MCP server was deleted.
    McpServerDelete,
    /// An MCP server's secret was read.
    McpServerSecretRead,
    /// An SSO connection was created.
    SsoConnectionCreate,
    /// An SSO connection was changed.
    SsoConnectionUpdate,
    /// An SSO connection was deleted.
    SsoConnectionDelete,
    /// The operator approved an email domain for the org.
    SsoDomainApprove,
    /// The operator revoked an email domain of the org.
    SsoDomainRevoke,
    /// The org's rate-limit quotas changed.
    OrgLimitsUpdate,
}

impl AuditAction {
    /// Every action.
    pub const ALL: [AuditAction; 20] = [
        AuditAction::OrgCreate,
        AuditAction::MemberRoleChange,
        AuditAction::MemberRemove,
        AuditAction::MemberJoin,
        AuditAction::InviteCreate,
        AuditAction::InviteRevoke,
        AuditAction::InviteAccept,
        AuditAction::ApiKeyCreate,
        AuditAction::ApiKeyRotate,
        AuditAction::ApiKeyRevoke,
        AuditAction::McpServerCreate,
        AuditAction::McpServerUpdate,
        AuditAction::McpServerDelete,
        AuditAction::McpServerSecretRead,
        AuditAction::SsoConnectionCreate,
        AuditAction::SsoConnectionUpdate,
        AuditAction::SsoConnectionDelete,
        AuditAction::SsoDomainApprove,
        AuditAction::SsoDomainRevoke,
        AuditAction::OrgLimitsUpdate,
    ];

    /// The dotted name, `org.create`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::OrgCreate => "org.create",
            AuditAction::MemberRoleChange => "member.role_change",
            AuditAction::MemberRemove => "member.remove",
            AuditAction::MemberJoin => "member.join",
            AuditAction::InviteCreate => "invite.create",
            AuditAction::InviteRevoke => "invite.revoke",
            AuditAction::InviteAccept => "invite.accept",
            AuditAction::ApiKeyCreate => "api_key.create",
            AuditAction::ApiKeyRotate => "api_key.rotate",
            AuditAction::ApiKeyRevoke => "api_key.revoke",
            AuditAction::McpServerCreate => "mcp_server.create",
            AuditAction::McpServerUpdate => "mcp_server.update",
            AuditAction::McpServerDelete => "mcp_server.delete",
            AuditAction::McpServerSecretRead => "mcp_server.secret_read",
            AuditAction::SsoConnectionCreate => "sso_connection.create",
            AuditAction::SsoConnectionUpdate => "sso_connection.update",
            AuditAction::SsoConnectionDelete => "sso_connection.delete",
            AuditAction::SsoDomainApprove => "sso_domain.approve",
            AuditAction::SsoDomainRevoke => "sso_domain.revoke",
            AuditAction::OrgLimitsUpdate => "org_limits.update",
        }
    }

    /// What kind of thing the action targets: the name before the dot (`member`, `api_key`).
    pub fn target_type(self) -> &'static str {
        let name = self.as_str();
        name.split_once('.').map_or(name, |(target, _)| target)
    }

    /// The action with this dotted name.
    pub fn parse(name: &str) -> Option<AuditAction> {
        AuditAction::ALL
            .into_iter()
            .find(|action| action.as_str() == name)
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An event to append: what was done to what, and the details (never a secret).
#[derive(Debug, Clone)]
pub(crate) struct AuditEvent {
    pub(crate) action: AuditAction,
    pub(crate) target_id: Option<String>,
    pub(crate) payload: Map<String, Value>,
}

impl AuditEvent {
    pub(crate) fn new(action: AuditAction, target_id: &str, payload: Value) -> AuditEvent {
        AuditEvent {
            action,
            target_id: Some(target_id.to_owned()),
            payload: match payload {
                Value::Object(map) => map,
                Value::Null => Map::new(),
                other => Map::from_iter([("value".to_owned(), other)]),
            },
        }
    }
}

/// The fields a link covers, in the order they are encoded.
struct LinkFields<'a> {
    id: &'a str,
    org_id: &'a str,
    seq: i64,
    actor_user_id: Option<&'a str>,
    action: &'a str,
    target_type: &'a str,
    target_id: Option<&'a str>,
    ip: Option<&'a str>,
    created_at: NaiveDateTime,
    chain_key_id: &'a str,
}

impl LinkFields<'_> {
    /// The signed message: a domain tag, each field length-prefixed (absent fields marked), the
    /// payload digest and the previous link.
    fn message(&self, payload_digest: &[u8; MAC_LEN], previous: &[u8]) -> Vec<u8> {
        fn text(out: &mut Vec<u8>, value: Option<&str>) {
            match value {
                None => out.push(0),
                Some(value) => {
                    out.push(1);
                    out.extend_from_slice(&(value.len() as u64).to_be_bytes());
                    out.extend_from_slice(value.as_bytes());
                }
            }
        }
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(LINK_DOMAIN);
        text(&mut out, Some(self.id));
        text(&mut out, Some(self.org_id));
        out.extend_from_slice(&self.seq.to_be_bytes());
        text(&mut out, self.actor_user_id);
        text(&mut out, Some(self.action));
        text(&mut out, Some(self.target_type));
        text(&mut out, self.target_id);
        text(&mut out, self.ip);
        out.extend_from_slice(&self.created_at.and_utc().timestamp_micros().to_be_bytes());
        text(&mut out, Some(self.chain_key_id));
        out.extend_from_slice(payload_digest);
        out.extend_from_slice(&(previous.len() as u64).to_be_bytes());
        out.extend_from_slice(previous);
        out
    }
}

/// Runs `work` in the transaction an audited change of the scope's org makes: serialised with
/// every other change of that org (see `dialect::serialized_transaction`), so its event can join.
///
/// The scope was resolved before the org's lock was taken, perhaps on another instance from its
/// auth cache: under the lock the caller must still be a member with at least the scope's role,
/// else the change is `Forbidden`. An admin removed (or demoted) while their request waited
/// changes nothing, and so leaves nothing behind.
pub(crate) fn org_transaction<T>(
    scope: &TenantScope,
    conn: &mut DbConnection,
    work: impl FnOnce(&mut DbConnection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    crate::dialect::serialized_transaction(conn, &org_lock_key(scope.org_id()), |conn| {
        let role: Option<String> = navi_org_members::table
            .filter(navi_org_members::org_id.eq(scope.org_id()))
            .filter(navi_org_members::user_id.eq(scope.user_id()))
            .select(navi_org_members::role)
            .first(conn)
            .optional()?;
        match role.map(|role| role.parse::<Role>()).transpose()? {
            Some(role) if role >= scope.role() => work(conn),
            _ => Err(StoreError::Forbidden),
        }
    })
}

/// The lock every change of one org (and every append to its chain) takes.
pub(crate) fn org_lock_key(org_id: &str) -> String {
    format!("org:{org_id}")
}

/// Appends the event of a change the scope's user made in the scope's org (inside
/// [`org_transaction`]).
pub(crate) fn record(
    scope: &TenantScope,
    conn: &mut DbConnection,
    trail: &AuditTrail,
    action: AuditAction,
    target_id: &str,
    payload: Value,
) -> Result<(), StoreError> {
    append(
        conn,
        trail,
        scope.org_id(),
        Some(scope.user_id()),
        AuditEvent::new(action, target_id, payload),
    )
    .map(|_| ())
}

/// An instant as an RFC 3339 UTC string (`2026-11-22T09:15:00Z`), for payloads.
pub(crate) fn rfc3339(at: NaiveDateTime) -> String {
    at.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn payload_digest(chain: &MacKeyring, key_id: &str, payload: &[u8]) -> Option<[u8; MAC_LEN]> {
    let mut message = Vec::with_capacity(PAYLOAD_DOMAIN.len() + payload.len());
    message.extend_from_slice(PAYLOAD_DOMAIN);
    message.extend_from_slice(payload);
    chain.sign(key_id, &message)
}

fn seal_context<'a>(org_id: &'a str, row_id: &'a str) -> SealContext<'a> {
    SealContext {
        org_id,
        table: TABLE,
        column: PAYLOAD_COLUMN,
        row_id,
    }
}

/// Appends `event` to `org_id`'s chain, done by `actor_user_id`. Must run inside the change's
/// transaction, which on SQLite must be immediate (every audited change runs in
/// `dialect::serialized_transaction`); on PostgreSQL this takes the org's advisory lock itself.
pub(crate) fn append(
    conn: &mut DbConnection,
    trail: &AuditTrail,
    org_id: &str,
    actor_user_id: Option<&str>,
    event: AuditEvent,
) -> Result<String, StoreError> {
    crate::dialect::lock_for_transaction(conn, &org_lock_key(org_id))?;
    let head: Option<(i64, Vec<u8>)> = navi_audit_logs::table
        .filter(navi_audit_logs::org_id.eq(org_id))
        .order(navi_audit_logs::seq.desc())
        .select((navi_audit_logs::seq, navi_audit_logs::link))
        .first(conn)
        .optional()?;
    let (seq, previous) = match head {
        Some((seq, link)) => (
            seq.checked_add(1).ok_or_else(|| {
                StoreError::Conflict("the org's audit chain has no next number".to_owned())
            })?,
            link,
        ),
        None => (1, GENESIS.to_vec()),
    };
    let id = new_id(IdKind::Audit);
    let payload_json = Value::Object(event.payload).to_string();
    let sealed = Ciphertext::seal(
        &trail.keys.keyring,
        &seal_context(org_id, &id),
        payload_json.as_bytes(),
    )
    .map_err(|error| StoreError::Invalid(format!("audit payload: {error}")))?;
    let chain_key_id = trail.keys.chain.primary_key_id().as_str();
    let created_at = now();
    let fields = LinkFields {
        id: &id,
        org_id,
        seq,
        actor_user_id,
        action: event.action.as_str(),
        target_type: event.action.target_type(),
        target_id: event.target_id.as_deref(),
        ip: trail.ip.as_deref(),
        created_at,
        chain_key_id,
    };
    let digest = payload_digest(&trail.keys.chain, chain_key_id, payload_json.as_bytes())
        .expect("the primary chain key is in the ring");
    let link = trail
        .keys
        .chain
        .sign(chain_key_id, &fields.message(&digest, &previous))
        .expect("the primary chain key is in the ring");
    diesel::insert_into(navi_audit_logs::table)
        .values((
            navi_audit_logs::id.eq(&id),
            navi_audit_logs::org_id.eq(org_id),
            navi_audit_logs::seq.eq(seq),
            navi_audit_logs::actor_user_id.eq(actor_user_id),
            navi_audit_logs::action.eq(event.action.as_str()),
            navi_audit_logs::target_type.eq(event.action.target_type()),
            navi_audit_logs::target_id.eq(event.target_id.as_deref()),
            navi_audit_logs::ip.eq(trail.ip.as_deref()),
            navi_audit_logs::created_at.eq(created_at),
            navi_audit_logs::payload.eq(Some(&sealed)),
            navi_audit_logs::chain_key_id.eq(chain_key_id),
            navi_audit_logs::link.eq(link.as_slice()),
        ))
        .execute(conn)?;
    Ok(id)
}

/// A stored audit event. The payload stays sealed until [`AuditRecord::open_payload`].
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = navi_audit_logs)]
pub struct AuditRecord {
    /// `aud_…`
    pub id: String,
    /// The org whose chain holds it.
    pub org_id: String,
    /// Its number in the org's chain, from 1.
    pub seq: i64,
    /// Who did it.
    pub actor_user_id: Option<String>,
    /// The dotted action name.
    pub action: String,
    /// What kind of thing it was done to.
    pub target_type: String,
    /// The thing's id.
    pub target_id: Option<String>,
    /// The client's address.
    pub ip: Option<String>,
    /// Naive UTC.
    pub created_at: NaiveDateTime,
    /// The sealed payload as stored.
    pub payload: Option<StoredValue>,
    /// The chain key that signed the link.
    pub chain_key_id: String,
    /// The link.
    pub link: Vec<u8>,
}

impl AuditRecord {
    /// The stored payload bytes (the ciphertext), as an export carries them.
    pub fn payload_bytes(&self) -> Option<&[u8]> {
        self.payload.as_ref().map(|value| match value {
            StoredValue::Ciphertext(ciphertext) => ciphertext.as_bytes(),
            StoredValue::NotCiphertext(bytes) => bytes.expose(),
        })
    }

    /// The payload's plaintext JSON bytes. A value that does not open (tampered with, plaintext
    /// written around the repository, a key missing from the keyring) is
    /// [`StoreError::SecretUnreadable`].
    fn open_payload_bytes(&self, keyring: &Keyring) -> Result<navi_crypto::Plaintext, StoreError> {
        let unreadable = |problem: String| StoreError::SecretUnreadable(problem);
        match &self.payload {
            None => Err(unreadable("the payload is missing".to_owned())),
            Some(StoredValue::NotCiphertext(value)) => Err(unreadable(value.problem().to_string())),
            Some(StoredValue::Ciphertext(ciphertext)) => ciphertext
                .open(keyring, &seal_context(&self.org_id, &self.id))
                .map_err(|error| unreadable(error.to_string())),
        }
    }

    /// Opens the payload: a JSON object.
    pub fn open_payload(&self, keyring: &Keyring) -> Result<Map<String, Value>, StoreError> {
        self.open_payload_bytes(keyring)?
            .decode_json()
            .map_err(|error| StoreError::SecretUnreadable(error.to_string()))
    }

    fn link_fields(&self) -> LinkFields<'_> {
        LinkFields {
            id: &self.id,
            org_id: &self.org_id,
            seq: self.seq,
            actor_user_id: self.actor_user_id.as_deref(),
            action: &self.action,
            target_type: &self.target_type,
            target_id: self.target_id.as_deref(),
            ip: self.ip.as_deref(),
            created_at: self.created_at,
            chain_key_id: &self.chain_key_id,
        }
    }
}

/// Which events a listing, export or verification covers. Times are naive UTC; `from` is
/// included, `to` is not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Events at or after this instant.
    pub from: Option<NaiveDateTime>,
    /// Events before this instant.
    pub to: Option<NaiveDateTime>,
    /// Only this action.
    pub action: Option<AuditAction>,
    /// Only this actor.
    pub actor_user_id: Option<String>,
}

/// The scope's events matching `filter`, newest first, with `seq` below `before_seq` (the
/// keyset cursor: the last `seq` of the previous page), at most `limit` (admin+).
pub fn list_audit_events(
    scope: &TenantScope,
    conn: &mut DbConnection,
    filter: &AuditFilter,
    before_seq: Option<i64>,
    limit: i64,
) -> Result<Vec<AuditRecord>, StoreError> {
    scope.require(Role::Admin)?;
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(StoreError::Invalid(format!(
            "limit: a whole number from 1 to {MAX_PAGE}"
        )));
    }
    let mut query = navi_audit_logs::table
        .filter(navi_audit_logs::org_id.eq(scope.org_id()))
        .select(AuditRecord::as_select())
        .order(navi_audit_logs::seq.desc())
        .limit(limit)
        .into_boxed();
    if let Some(before) = before_seq {
        query = query.filter(navi_audit_logs::seq.lt(before));
    }
    if let Some(from) = filter.from {
        query = query.filter(navi_audit_logs::created_at.ge(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(navi_audit_logs::created_at.lt(to));
    }
    if let Some(action) = filter.action {
        query = query.filter(navi_audit_logs::action.eq(action.as_str()));
    }
    if let Some(actor) = &filter.actor_user_id {
        query = query.filter(navi_audit_logs::actor_user_id.eq(actor.clone()));
    }
    Ok(query.load(conn)?)
}

/// Why a link of the chain does not hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrokenReason {
    /// The row before this one (by `seq`) is missing: rows were deleted.
    MissingRow,
    /// The row's `seq` is below 1 or repeats an earlier one: rows were inserted around the
    /// repository.
    OutOfSequence,
    /// The payload does not open: the ciphertext was altered or replaced.
    PayloadUnreadable,
    /// The row names a chain key this server does not hold.
    UnknownChainKey,
    /// The recomputed link differs from the stored one: a field, the payload or an earlier link
    /// was altered.
    LinkMismatch,
}

impl BrokenReason {
    /// The wire name, `link_mismatch`.
    pub fn as_str(self) -> &'static str {
        match self {
            BrokenReason::MissingRow => "missing_row",
            BrokenReason::OutOfSequence => "out_of_sequence",
            BrokenReason::PayloadUnreadable => "payload_unreadable",
            BrokenReason::UnknownChainKey => "unknown_chain_key",
            BrokenReason::LinkMismatch => "link_mismatch",
        }
    }
}

/// The first link that does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenLink {
    /// The row's id.
    pub id: String,
    /// Its `seq`.
    pub seq: i64,
    /// Its time, naive UTC.
    pub created_at: NaiveDateTime,
    /// What is wrong.
    pub reason: BrokenReason,
}

/// What a verification found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    /// Rows checked (up to and including a broken one; the range widened by one row at each
    /// end where there is one).
    pub checked: u64,
    /// The first broken link, if any.
    pub broken: Option<BrokenLink>,
}

/// Rows read per batch while verifying.
const VERIFY_BATCH: i64 = 500;

/// Recomputes the scope's chain over the events in `[from, to)` (all when unset), oldest first,
/// and names the first link that does not hold (admin+).
///
/// The range is found by `created_at` but walked by `seq`, and it is widened by one event at each
/// end: the event before the first (checked against its own predecessor) and the first event at
/// or after `to`. So an event whose time was moved out of the range still breaks a link that is
/// checked, and a deleted event shows as the gap it leaves.
pub fn verify_chain(
    scope: &TenantScope,
    conn: &mut DbConnection,
    keys: &AuditKeys,
    from: Option<NaiveDateTime>,
    to: Option<NaiveDateTime>,
) -> Result<ChainReport, StoreError> {
    scope.require(Role::Admin)?;
    let mut checked = 0u64;
    let mut first = navi_audit_logs::table
        .filter(navi_audit_logs::org_id.eq(scope.org_id()))
        .select(diesel::dsl::min(navi_audit_logs::seq))
        .into_boxed();
    if let Some(from) = from {
        first = first.filter(navi_audit_logs::created_at.ge(from));
    }
    let Some(first_seq) = first.first::<Option<i64>>(conn)? else {
        return Ok(ChainReport {
            checked,
            broken: None,
        });
    };
    // Start one event early (when there is one before), to check the anchor's own link too.
    let start_seq = if first_seq > 1 {
        first_seq - 1
    } else {
        first_seq
    };
    // The previous row's (seq, id, link), once known; `None` before the first row.
    let mut previous: Option<(i64, String, Vec<u8>)> = None;
    loop {
        let mut query = navi_audit_logs::table
            .filter(navi_audit_logs::org_id.eq(scope.org_id()))
            .select(AuditRecord::as_select())
            .order((navi_audit_logs::seq.asc(), navi_audit_logs::id.asc()))
            .limit(VERIFY_BATCH)
            .into_boxed();
        // Keyset on (seq, id): a repeated seq, which the unique key forbids, is still read.
        query = match &previous {
            None => query.filter(navi_audit_logs::seq.ge(start_seq)),
            Some((seq, id, _)) => query.filter(
                navi_audit_logs::seq.gt(*seq).or(navi_audit_logs::seq
                    .eq(*seq)
                    .and(navi_audit_logs::id.gt(id.clone()))),
            ),
        };
        let batch: Vec<AuditRecord> = query.load(conn)?;
        if batch.is_empty() {
            return Ok(ChainReport {
                checked,
                broken: None,
            });
        }
        for row in batch {
            checked += 1;
            let ends_range = to.is_some_and(|to| row.created_at >= to);
            let previous_link = match previous.take() {
                Some((seq, _, link)) if seq.checked_add(1) == Some(row.seq) => link,
                Some((seq, _, _)) if row.seq <= seq => {
                    return Ok(broken(checked, &row, BrokenReason::OutOfSequence))
                }
                Some(_) => return Ok(broken(checked, &row, BrokenReason::MissingRow)),
                None if row.seq < 1 => {
                    return Ok(broken(checked, &row, BrokenReason::OutOfSequence))
                }
                None => match anchor(scope, conn, row.seq)? {
                    Some(link) => link,
                    None => return Ok(broken(checked, &row, BrokenReason::MissingRow)),
                },
            };
            if let Some(reason) = check_row(keys, &row, &previous_link) {
                return Ok(broken(checked, &row, reason));
            }
            if ends_range {
                return Ok(ChainReport {
                    checked,
                    broken: None,
                });
            }
            previous = Some((row.seq, row.id, row.link));
        }
    }
}

/// The link the event `seq` follows: the genesis value for the first, else the stored link of
/// `seq - 1` (`None` when that row is missing).
fn anchor(
    scope: &TenantScope,
    conn: &mut DbConnection,
    seq: i64,
) -> Result<Option<Vec<u8>>, StoreError> {
    if seq == 1 {
        return Ok(Some(GENESIS.to_vec()));
    }
    Ok(navi_audit_logs::table
        .filter(navi_audit_logs::org_id.eq(scope.org_id()))
        .filter(navi_audit_logs::seq.eq(seq - 1))
        .select(navi_audit_logs::link)
        .first(conn)
        .optional()?)
}

fn check_row(keys: &AuditKeys, row: &AuditRecord, previous_link: &[u8]) -> Option<BrokenReason> {
    let Ok(payload) = row.open_payload_bytes(&keys.keyring) else {
        return Some(BrokenReason::PayloadUnreadable);
    };
    let Some(digest) = payload_digest(&keys.chain, &row.chain_key_id, payload.expose()) else {
        return Some(BrokenReason::UnknownChainKey);
    };
    let message = row.link_fields().message(&digest, previous_link);
    match keys.chain.verify(&row.chain_key_id, &message, &row.link) {
        Some(true) => None,
        Some(false) => Some(BrokenReason::LinkMismatch),
        None => Some(BrokenReason::UnknownChainKey),
    }
}

fn broken(checked: u64, row: &AuditRecord, reason: BrokenReason) -> ChainReport {
    ChainReport {
        checked,
        broken: Some(BrokenLink {
            id: row.id.clone(),
            seq: row.seq,
            created_at: row.created_at,
            reason,
        }),
    }
}

/// Appends an event with any payload in its own transaction, for benchmarks and tests that need
/// many events of a given size (the repositories write real events only as changes happen).
#[cfg(any(test, feature = "test-support"))]
pub fn append_for_tests(
    scope: &TenantScope,
    conn: &mut DbConnection,
    trail: &AuditTrail,
    action: AuditAction,
    target_id: &str,
    payload: Value,
) -> Result<(), StoreError> {
    org_transaction(scope, conn, |conn| {
        record(scope, conn, trail, action, target_id, payload)
    })
}

/// Rewrites every link of the scope's chain under `keys`, as someone who has the code and the
/// database but not the chain key would after altering rows: tests show such a chain fails to
/// verify under the real keys (and verifies under `keys`, so the rewrite itself is right).
#[cfg(any(test, feature = "test-support"))]
pub fn relink_for_tests(
    scope: &TenantScope,
    conn: &mut DbConnection,
    keys: &AuditKeys,
) -> Result<(), StoreError> {
    let rows: Vec<AuditRecord> = navi_audit_logs::table
        .filter(navi_audit_logs::org_id.eq(scope.org_id()))
        .select(AuditRecord::as_select())
        .order(navi_audit_logs::seq.asc())
        .load(conn)?;
    let mut previous = GENESIS.to_vec();
    for row in rows {
        let payload = row.open_payload_bytes(&keys.keyring)?;
        let digest = payload_digest(&keys.chain, &row.chain_key_id, payload.expose())
            .ok_or_else(|| StoreError::Invalid("no such chain key".to_owned()))?;
        let link = keys
            .chain
            .sign(
                &row.chain_key_id,
                &row.link_fields().message(&digest, &previous),
            )
            .ok_or_else(|| StoreError::Invalid("no such chain key".to_owned()))?;
        diesel::update(navi_audit_logs::table.filter(navi_audit_logs::id.eq(&row.id)))
            .set(navi_audit_logs::link.eq(link.as_slice()))
            .execute(conn)?;
        previous = link.to_vec();
    }
    Ok(())
}
