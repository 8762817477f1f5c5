//! API keys: `navi_<prefix>_<secret>`. Only an HMAC-SHA256 of the secret under a server-side
//! pepper is stored; a key is found by its public prefix and its secret compared in constant time.

use std::fmt;

use base64::Engine;
use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;
use ring::hmac;

use crate::audit::{self, rfc3339, AuditAction, AuditEvent, AuditTrail};
use crate::dialect::serialized_transaction;
use crate::ids::{new_id, random_base32, IdKind};
use crate::schema::navi_api_keys;
use crate::scope::{Credential, Principal};
use crate::{now, DbConnection, Privileged, Role, StoreError, TenantScope};

const PREFIX_LEN: usize = 8;
/// 52 base32 characters: 260 random bits.
const SECRET_LEN: usize = 52;
/// `last_used_at` is written at most this often per key, so reads don't turn into writes.
const LAST_USED_RESOLUTION: TimeDelta = TimeDelta::minutes(1);
/// Longest rotation grace period: 7 days.
pub const MAX_GRACE_SECONDS: u32 = 604_800;

/// The server-side HMAC key under which key secrets are hashed (`NAVI_API_KEY_PEPPER`).
pub struct Pepper(hmac::Key);

impl Pepper {
    /// Parses standard base64 of exactly 32 bytes.
    pub fn from_base64(encoded: &str) -> Result<Pepper, StoreError> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .ok()
            .filter(|bytes| bytes.len() == 32)
            .ok_or_else(|| {
                StoreError::Invalid("the API key pepper must be base64 of 32 bytes".to_owned())
            })?;
        Ok(Pepper(hmac::Key::new(hmac::HMAC_SHA256, &bytes)))
    }

    /// A new random pepper, as standard base64 (for the embedded default's generated file).
    pub fn generate_base64() -> String {
        let mut bytes = [0u8; 32];
        crate::ids::fill_random(&mut bytes);
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    fn hash(&self, secret: &str) -> String {
        hex(hmac::sign(&self.0, secret.as_bytes()).as_ref())
    }

    fn verify(&self, secret: &str, stored_hash: &str) -> bool {
        unhex(stored_hash).is_some_and(|tag| hmac::verify(&self.0, secret.as_bytes(), &tag).is_ok())
    }
}

impl fmt::Debug for Pepper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pepper([redacted])")
    }
}

/// A full API key, shown once at creation. `Debug` does not print it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKeySecret(String);

impl ApiKeySecret {
    /// The key to hand to the client.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKeySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKeySecret([redacted])")
    }
}

/// An API key row, without its hash.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = navi_api_keys)]
pub struct ApiKeyRow {
    /// `key_…`
    pub id: String,
    /// The key's user.
    pub user_id: String,
    /// The org it is pinned to; `None` for a user key.
    pub org_id: Option<String>,
    /// The caller's label.
    pub name: String,
    /// The public prefix (shown in lists).
    pub prefix: String,
    /// Naive UTC.
    pub created_at: NaiveDateTime,
    /// After this the key no longer works.
    pub expires_at: Option<NaiveDateTime>,
    /// Set when revoked.
    pub revoked_at: Option<NaiveDateTime>,
    /// Last successful authentication, to the minute.
    pub last_used_at: Option<NaiveDateTime>,
}

/// What a new key looks like.
#[derive(Debug, Clone)]
pub struct NewApiKey<'a> {
    /// 1–100 characters.
    pub name: &'a str,
    /// Pinned to the scope's org (`true`) or a user key.
    pub pinned: bool,
    /// Lifetime in days; `None` never expires.
    pub expires_in_days: Option<u32>,
}

fn validate_name(name: &str) -> Result<String, StoreError> {
    Ok(crate::validate::display_name("name", name, 100)?.to_owned())
}

/// Creates a key for the caller in the scope's org context. Only a user key can create user keys;
/// a pinned key only creates keys pinned to its own org (the scope is always that org). The new
/// key never outlives the calling key: its expiry is at most the caller's. A key in the grace
/// period of its rotation creates nothing (`Forbidden`). Audited in the scope's org as
/// `api_key.create` (the secret is never recorded).
pub fn create_api_key(
    scope: &TenantScope,
    principal: &Principal,
    conn: &mut DbConnection,
    trail: &AuditTrail,
    pepper: &Pepper,
    new: &NewApiKey<'_>,
) -> Result<(ApiKeyRow, ApiKeySecret), StoreError> {
    if principal.user_id() != scope.user_id() {
        return Err(StoreError::Forbidden);
    }
    if !new.pinned && principal.pinned_org_id().is_some() {
        return Err(StoreError::Forbidden);
    }
    // A session makes keys pinned to the org it acts in, where that org's rules (its enforced
    // SSO) have just been applied; a user key would carry the session into every other org.
    if !new.pinned && matches!(principal.credential(), Credential::Session { .. }) {
        return Err(StoreError::Forbidden);
    }
    let created_at = now();
    let expires_at = match new.expires_in_days {
        Some(days @ 1..=3650) => Some(created_at + TimeDelta::days(i64::from(days))),
        Some(_) => {
            return Err(StoreError::Invalid(
                "expires_in_days: a whole number from 1 to 3650".to_owned(),
            ))
        }
        None => None,
    };
    let org_id = new.pinned.then(|| scope.org_id().to_owned());
    let name = validate_name(new.name)?;
    audit::org_transaction(scope, conn, |conn| {
        let caller_expires_at = calling_key_expiry(conn, principal)?;
        let expires_at = earliest(expires_at, caller_expires_at);
        let (row, key) = insert_key(
            conn,
            pepper,
            scope.user_id(),
            org_id,
            name,
            expires_at,
            None,
        )?;
        audit_key_created(conn, trail, scope.org_id(), &row)?;
        Ok((row, key))
    })
}

/// How long a key made under a browser session may live, at most.
pub const SESSION_KEY_LIFETIME: TimeDelta = TimeDelta::days(90);

/// How recent a session's sign-in must be for it to make a key.
pub const RECENT_SIGN_IN: TimeDelta = TimeDelta::minutes(15);

/// The latest expiry the caller may give a key it makes (`None`: never), which must not outlive
/// what the caller was given:
/// - a key hands on at most its own expiry; a key that has been rotated (it is in its grace
///   period), or is no longer live, hands on nothing: `Forbidden`;
/// - a session hands on [`SESSION_KEY_LIFETIME`], and only within [`RECENT_SIGN_IN`] of its
///   sign-in (else `RecentSignInRequired`);
/// - a user acting without a credential (bootstrap) is bounded by none.
///
/// Takes the lock of the user's keys first (inside the caller's transaction): a user key works in
/// every org of its user, so two requests through it in two orgs hold two different org locks,
/// and only this one orders a rotation against another rotation or a creation.
fn calling_key_expiry(
    conn: &mut DbConnection,
    principal: &Principal,
) -> Result<Option<NaiveDateTime>, StoreError> {
    crate::dialect::lock_for_transaction(conn, &format!("user-keys:{}", principal.user_id()))?;
    match principal.credential() {
        Credential::Operator => Ok(None),
        Credential::Session { signed_in_at, .. } => {
            let at = now();
            if at - *signed_in_at > RECENT_SIGN_IN {
                return Err(StoreError::RecentSignInRequired);
            }
            Ok(Some(at + SESSION_KEY_LIFETIME))
        }
        Credential::Key(key_id) => live_key_expiry(conn, principal.user_id(), key_id),
    }
}

/// The expiry of `user_id`'s key `key_id` (`None`: never) when it is live and not rotated, else
/// `Forbidden`.
fn live_key_expiry(
    conn: &mut DbConnection,
    user_id: &str,
    key_id: &str,
) -> Result<Option<NaiveDateTime>, StoreError> {
    let expires_at: Option<NaiveDateTime> = navi_api_keys::table
        .filter(navi_api_keys::user_id.eq(user_id))
        .filter(navi_api_keys::id.eq(key_id))
        .filter(navi_api_keys::revoked_at.is_null())
        .select(navi_api_keys::expires_at)
        .first(conn)
        .optional()?
        .ok_or(StoreError::Forbidden)?;
    if has_successor(conn, user_id, key_id)? {
        return Err(StoreError::Forbidden);
    }
    Ok(expires_at)
}

/// Whether `user_id`'s key `key_id` has been rotated (it has a successor).
fn has_successor(conn: &mut DbConnection, user_id: &str, key_id: &str) -> Result<bool, StoreError> {
    let successors: i64 = navi_api_keys::table
        .filter(navi_api_keys::user_id.eq(user_id))
        .filter(navi_api_keys::rotated_from.eq(key_id))
        .count()
        .get_result(conn)?;
    Ok(successors > 0)
}

/// The earlier of two expiries, where `None` is never.
fn earliest(a: Option<NaiveDateTime>, b: Option<NaiveDateTime>) -> Option<NaiveDateTime> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// What an audit event says of a key: never its secret or hash.
pub(crate) fn key_payload(row: &ApiKeyRow) -> serde_json::Value {
    serde_json::json!({
        "user_id": row.user_id,
        "name": row.name,
        "prefix": row.prefix,
        "pinned": row.org_id.is_some(),
        "expires_at": row.expires_at.map(rfc3339),
    })
}

fn audit_key_created(
    conn: &mut DbConnection,
    trail: &AuditTrail,
    org_id: &str,
    row: &ApiKeyRow,
) -> Result<(), StoreError> {
    audit::append(
        conn,
        trail,
        org_id,
        Some(&row.user_id),
        AuditEvent::new(AuditAction::ApiKeyCreate, &row.id, key_payload(row)),
    )?;
    Ok(())
}

fn insert_key(
    conn: &mut DbConnection,
    pepper: &Pepper,
    user_id: &str,
    org_id: Option<String>,
    name: String,
    expires_at: Option<NaiveDateTime>,
    rotated_from: Option<&str>,
) -> Result<(ApiKeyRow, ApiKeySecret), StoreError> {
    let prefix = random_base32(PREFIX_LEN);
    let secret = random_base32(SECRET_LEN);
    let row = ApiKeyRow {
        id: new_id(IdKind::ApiKey),
        user_id: user_id.to_owned(),
        org_id,
        name,
        prefix,
        created_at: now(),
        expires_at,
        revoked_at: None,
        last_used_at: None,
    };
    diesel::insert_into(navi_api_keys::table)
        .values((
            navi_api_keys::id.eq(&row.id),
            navi_api_keys::user_id.eq(&row.user_id),
            navi_api_keys::org_id.eq(&row.org_id),
            navi_api_keys::name.eq(&row.name),
            navi_api_keys::prefix.eq(&row.prefix),
            navi_api_keys::secret_hash.eq(pepper.hash(&secret)),
            navi_api_keys::created_at.eq(row.created_at),
            navi_api_keys::expires_at.eq(row.expires_at),
            navi_api_keys::rotated_from.eq(rotated_from),
        ))
        .execute(conn)?;
    let key = ApiKeySecret(format!("navi_{}_{secret}", row.prefix));
    Ok((row, key))
}

/// Creates a key outside any request (bootstrap, tests), audited as
/// `api_key.create` by its user in `audit_org_id`: the org the key was made for. `None` is a key
/// made outside every org (a user key before the user joins one): there is no chain to record
/// it in.
#[allow(clippy::too_many_arguments)] // Each is a distinct input of a privileged act.
pub fn create_api_key_privileged(
    _: &Privileged,
    conn: &mut DbConnection,
    trail: &AuditTrail,
    audit_org_id: Option<&str>,
    pepper: &Pepper,
    user_id: &str,
    pinned_org_id: Option<&str>,
    name: &str,
) -> Result<(ApiKeyRow, ApiKeySecret), StoreError> {
    let name = validate_name(name)?;
    let lock_key = audit::org_lock_key(audit_org_id.unwrap_or(user_id));
    serialized_transaction(conn, &lock_key, |conn| {
        let (row, key) = insert_key(
            conn,
            pepper,
            user_id,
            pinned_org_id.map(str::to_owned),
            name,
            None,
            None,
        )?;
        if let Some(org_id) = audit_org_id {
            audit_key_created(conn, trail, org_id, &row)?;
        }
        Ok((row, key))
    })
}

/// What authentication needs of a key: its owner, pin, validity and stored hash. Callers may keep
/// it for a short while (a per-instance cache); [`KeyRecord::verify`] still checks the secret,
/// revocation and expiry on every use.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyRecord {
    key_id: String,
    user_id: String,
    pinned_org_id: Option<String>,
    secret_hash: String,
    expires_at: Option<NaiveDateTime>,
    revoked: bool,
    last_used_at: Option<NaiveDateTime>,
}

impl fmt::Debug for KeyRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRecord")
            .field("key_id", &self.key_id)
            .field("user_id", &self.user_id)
            .field("pinned_org_id", &self.pinned_org_id)
            .finish_non_exhaustive()
    }
}

impl KeyRecord {
    /// The key's id.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The caller, when `secret` is this key's secret and the key is neither revoked nor expired
    /// at `at`; else [`StoreError::Unauthenticated`]. The secret is compared in constant time.
    pub fn verify(
        &self,
        pepper: &Pepper,
        secret: &str,
        at: NaiveDateTime,
    ) -> Result<Principal, StoreError> {
        let usable = !self.revoked
            && self.expires_at.is_none_or(|expires_at| at < expires_at)
            && pepper.verify(secret, &self.secret_hash);
        if !usable {
            return Err(StoreError::Unauthenticated);
        }
        Ok(Principal::authenticated(
            self.user_id.clone(),
            Credential::Key(self.key_id.clone()),
            self.pinned_org_id.clone(),
        ))
    }

    /// Whether `last_used_at` is older than its one-minute resolution at `at`.
    pub fn use_is_stale(&self, at: NaiveDateTime) -> bool {
        self.last_used_at
            .is_none_or(|last| at - last >= LAST_USED_RESOLUTION)
    }

    /// This record after [`record_key_use`] at `at`.
    pub fn used_at(&self, at: NaiveDateTime) -> KeyRecord {
        KeyRecord {
            last_used_at: Some(at),
            ..self.clone()
        }
    }
}

/// Splits a bearer key `navi_<prefix>_<secret>` into prefix and secret.
pub fn parse_key(bearer: &str) -> Option<(&str, &str)> {
    let rest = bearer.strip_prefix("navi_")?;
    let (prefix, secret) = rest.split_once('_')?;
    (prefix.len() == PREFIX_LEN && secret.len() == SECRET_LEN).then_some((prefix, secret))
}

/// Finds a key by its public prefix. Keys span tenants: this is privileged.
pub fn find_key_for_authentication(
    _: &Privileged,
    conn: &mut DbConnection,
    prefix: &str,
) -> Result<Option<KeyRecord>, StoreError> {
    let found: Option<(ApiKeyRow, String)> = navi_api_keys::table
        .filter(navi_api_keys::prefix.eq(prefix))
        .select((ApiKeyRow::as_select(), navi_api_keys::secret_hash))
        .first(conn)
        .optional()?;
    Ok(found.map(|(key, secret_hash)| KeyRecord {
        key_id: key.id,
        user_id: key.user_id,
        pinned_org_id: key.org_id,
        secret_hash,
        expires_at: key.expires_at,
        revoked: key.revoked_at.is_some(),
        last_used_at: key.last_used_at,
    }))
}

/// Records that a key was used at `at`, unless another request already did within the minute (a
/// conditional update, so concurrent requests write once).
pub fn record_key_use(
    _: &Privileged,
    conn: &mut DbConnection,
    key_id: &str,
    at: NaiveDateTime,
) -> Result<(), StoreError> {
    let stale = at - LAST_USED_RESOLUTION;
    diesel::update(
        navi_api_keys::table
            .filter(navi_api_keys::id.eq(key_id))
            .filter(
                navi_api_keys::last_used_at
                    .is_null()
                    .or(navi_api_keys::last_used_at.le(stale)),
            ),
    )
    .set(navi_api_keys::last_used_at.eq(at))
    .execute(conn)?;
    Ok(())
}

/// Turns a bearer key into the calling [`Principal`]: unknown, malformed, revoked, expired and
/// wrong-secret keys are all [`StoreError::Unauthenticated`]. Records `last_used_at` at most once
/// a minute per key.
pub fn authenticate(
    privileged: &Privileged,
    conn: &mut DbConnection,
    pepper: &Pepper,
    bearer: &str,
) -> Result<Principal, StoreError> {
    let (prefix, secret) = parse_key(bearer).ok_or(StoreError::Unauthenticated)?;
    let key = find_key_for_authentication(privileged, conn, prefix)?
        .ok_or(StoreError::Unauthenticated)?;
    let at = now();
    let principal = key.verify(pepper, secret, at)?;
    if key.use_is_stale(at) {
        // A failure to record use must not fail the request.
        if let Err(error) = record_key_use(privileged, conn, key.key_id(), at) {
            tracing::warn!(%error, key_id = %key.key_id(), "could not record last_used_at");
        }
    }
    Ok(principal)
}

/// The keys visible in the scope: the caller's own keys usable in this org (pinned to it, or,
/// unless the caller's key is itself pinned, user keys); admin+ also see every key pinned to the
/// org. A pinned key thus never sees a user key. Newest first.
pub fn list_api_keys(
    scope: &TenantScope,
    conn: &mut DbConnection,
) -> Result<Vec<ApiKeyRow>, StoreError> {
    let pinned_here = navi_api_keys::org_id.eq(scope.org_id());
    let own_usable_here = navi_api_keys::user_id
        .eq(scope.user_id())
        .and(pinned_here.or(navi_api_keys::org_id.is_null()));
    let mut query = navi_api_keys::table
        .filter(navi_api_keys::revoked_at.is_null())
        .order((navi_api_keys::created_at.desc(), navi_api_keys::id))
        .select(ApiKeyRow::as_select())
        .into_boxed();
    if scope.pinned() {
        query = query.filter(pinned_here);
    }
    let rows = if scope.require(Role::Admin).is_ok() {
        query.filter(own_usable_here.or(pinned_here)).load(conn)?
    } else {
        query.filter(own_usable_here).load(conn)?
    };
    Ok(rows)
}

/// A key visible in the scope (see [`list_api_keys`]), else `NotFound`.
fn find_visible_key(
    scope: &TenantScope,
    conn: &mut DbConnection,
    key_id: &str,
) -> Result<ApiKeyRow, StoreError> {
    list_api_keys(scope, conn)?
        .into_iter()
        .find(|key| key.id == key_id)
        .ok_or(StoreError::NotFound)
}

/// Revokes a key at once: the key's own user, or admin+ of the org it is pinned to. A key in the
/// grace period of its rotation may revoke itself but no other key (`Forbidden`): a leaked old
/// key cannot take its successor away. Audited in the scope's org as `api_key.revoke`.
pub fn revoke_api_key(
    scope: &TenantScope,
    principal: &Principal,
    conn: &mut DbConnection,
    trail: &AuditTrail,
    key_id: &str,
) -> Result<(), StoreError> {
    let key = find_visible_key(scope, conn, key_id)?;
    let own = key.user_id == scope.user_id();
    let admin_of_pin =
        key.org_id.as_deref() == Some(scope.org_id()) && scope.require(Role::Admin).is_ok();
    if !own && !admin_of_pin {
        return Err(StoreError::Forbidden);
    }
    audit::org_transaction(scope, conn, |conn| {
        // A key revoking another key must be live and not rotated (see `calling_key_expiry`);
        // revoking itself is always allowed, and so is revoking from a session.
        if let Some(calling_key) = principal.key_id().filter(|&calling| calling != key.id) {
            live_key_expiry(conn, principal.user_id(), calling_key)?;
        }
        diesel::update(navi_api_keys::table.filter(navi_api_keys::id.eq(&key.id)))
            .set(navi_api_keys::revoked_at.eq(now()))
            .execute(conn)?;
        audit::record(
            scope,
            conn,
            trail,
            AuditAction::ApiKeyRevoke,
            &key.id,
            key_payload(&key),
        )?;
        Ok(())
    })
}

/// Revokes every live key of `user_id` pinned to the scope's org, inside the caller's transaction
/// (a member's removal: a re-invited member must not find old keys working again). Audited as
/// `api_key.revoke` of each, with the `reason`.
pub(crate) fn revoke_keys_pinned_for(
    scope: &TenantScope,
    conn: &mut DbConnection,
    trail: &AuditTrail,
    user_id: &str,
    reason: &str,
) -> Result<(), StoreError> {
    let live = navi_api_keys::table
        .filter(navi_api_keys::user_id.eq(user_id))
        .filter(navi_api_keys::org_id.eq(scope.org_id()))
        .filter(navi_api_keys::revoked_at.is_null());
    let keys: Vec<ApiKeyRow> = live
        .select(ApiKeyRow::as_select())
        .order(navi_api_keys::id)
        .load(conn)?;
    diesel::update(live)
        .set(navi_api_keys::revoked_at.eq(now()))
        .execute(conn)?;
    for key in &keys {
        let mut payload = key_payload(key);
        payload["reason"] = reason.into();
        audit::record(
            scope,
            conn,
            trail,
            AuditAction::ApiKeyRevoke,
            &key.id,
            payload,
        )?;
    }
    Ok(())
}

/// Replaces a key with a new one of the same name and pin (the key's own user only, since it
/// hands out a secret). The old key keeps working for `grace_seconds`, then stops. A key is
/// rotated once: rotating it again is a `Conflict`. The new key expires when the old one would
/// have, but never after the calling key; a calling key in its own grace period rotates nothing
/// (`Forbidden`). Audited in the scope's org as `api_key.rotate` of the old key.
pub fn rotate_api_key(
    scope: &TenantScope,
    principal: &Principal,
    conn: &mut DbConnection,
    trail: &AuditTrail,
    pepper: &Pepper,
    key_id: &str,
    grace_seconds: u32,
) -> Result<(ApiKeyRow, ApiKeySecret), StoreError> {
    if grace_seconds > MAX_GRACE_SECONDS {
        return Err(StoreError::Invalid(format!(
            "grace_seconds: a whole number from 0 to {MAX_GRACE_SECONDS}"
        )));
    }
    let old = find_visible_key(scope, conn, key_id)?;
    if old.user_id != scope.user_id() || principal.user_id() != scope.user_id() {
        return Err(StoreError::Forbidden);
    }
    if old.expires_at.is_some_and(|expires_at| expires_at <= now()) {
        return Err(StoreError::Conflict("the key has expired".to_owned()));
    }
    audit::org_transaction(scope, conn, |conn| {
        let new_expiry = earliest(old.expires_at, calling_key_expiry(conn, principal)?);
        let at = now();
        let grace_end = at + TimeDelta::seconds(i64::from(grace_seconds));
        let old_expiry = old.expires_at.map_or(grace_end, |e| e.min(grace_end));
        // Only a key that is still live can be rotated, and only once.
        if has_successor(conn, &old.user_id, &old.id)? {
            return Err(StoreError::Conflict(
                "the key has already been rotated".to_owned(),
            ));
        }
        let updated = diesel::update(
            navi_api_keys::table
                .filter(navi_api_keys::id.eq(&old.id))
                .filter(navi_api_keys::revoked_at.is_null()),
        )
        .set(navi_api_keys::expires_at.eq(old_expiry))
        .execute(conn)?;
        if updated == 0 {
            return Err(StoreError::NotFound);
        }
        let (row, key) = insert_key(
            conn,
            pepper,
            &old.user_id,
            old.org_id.clone(),
            old.name.clone(),
            new_expiry,
            Some(&old.id),
        )?;
        let mut payload = key_payload(&old);
        payload["new_key_id"] = row.id.clone().into();
        payload["grace_seconds"] = grace_seconds.into();
        audit::record(
            scope,
            conn,
            trail,
            AuditAction::ApiKeyRotate,
            &old.id,
            payload,
        )?;
        Ok((row, key))
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}
