//! Invites: a random 256-bit token, shown once; only its SHA-256 is stored. Accepting succeeds
//! once, ever, even under concurrent attempts.

use std::fmt;

use base64::Engine;
use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;
use ring::digest;

use crate::audit::{self, rfc3339, AuditAction, AuditEvent, AuditTrail};
use crate::dialect::serialized_transaction;
use crate::ids::{fill_random, new_id, IdKind};
use crate::schema::{navi_org_invites, navi_org_members, navi_users};
use crate::{now, DbConnection, Email, Principal, Privileged, Role, StoreError, TenantScope};

/// How long an invite can be accepted.
pub const INVITE_LIFETIME: TimeDelta = TimeDelta::days(7);

/// An invite token, shown once at creation. `Debug` does not print it.
#[derive(Clone, PartialEq, Eq)]
pub struct InviteToken(String);

impl InviteToken {
    /// The token to hand to the invitee.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for InviteToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InviteToken([redacted])")
    }
}

/// An invite row, without its token hash.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = navi_org_invites)]
pub struct InviteRow {
    /// `inv_…`
    pub id: String,
    /// The org invited to.
    pub org_id: String,
    /// Lowercased.
    pub email: String,
    /// `admin` or `member`.
    pub role: String,
    /// Naive UTC.
    pub expires_at: NaiveDateTime,
    /// Set once accepted.
    pub accepted_at: Option<NaiveDateTime>,
    /// Set when revoked.
    pub revoked_at: Option<NaiveDateTime>,
    /// The inviting user.
    pub created_by: String,
    /// Naive UTC.
    pub created_at: NaiveDateTime,
}

fn token_hash(token: &str) -> String {
    digest::digest(&digest::SHA256, token.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Invites `email` to the scope's org as `role` (admin+; `owner` cannot be invited). Audited as
/// `invite.create` (the token is never recorded).
pub fn create_invite(
    scope: &TenantScope,
    conn: &mut DbConnection,
    trail: &AuditTrail,
    email: &Email,
    role: Role,
) -> Result<(InviteRow, InviteToken), StoreError> {
    scope.require(Role::Admin)?;
    if role == Role::Owner {
        return Err(StoreError::Invalid("role: one of admin, member".to_owned()));
    }
    let mut bytes = [0u8; 32];
    fill_random(&mut bytes);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let created_at = now();
    let row = InviteRow {
        id: new_id(IdKind::Invite),
        org_id: scope.org_id().to_owned(),
        email: email.as_str().to_owned(),
        role: role.as_str().to_owned(),
        expires_at: created_at + INVITE_LIFETIME,
        accepted_at: None,
        revoked_at: None,
        created_by: scope.user_id().to_owned(),
        created_at,
    };
    audit::org_transaction(scope, conn, |conn| {
        insert_invite(conn, &row, &token)?;
        audit::record(
            scope,
            conn,
            trail,
            AuditAction::InviteCreate,
            &row.id,
            serde_json::json!({
                "email": row.email,
                "role": row.role,
                "expires_at": rfc3339(row.expires_at),
            }),
        )
    })?;
    Ok((row, InviteToken(token)))
}

fn insert_invite(conn: &mut DbConnection, row: &InviteRow, token: &str) -> Result<(), StoreError> {
    diesel::insert_into(navi_org_invites::table)
        .values((
            navi_org_invites::id.eq(&row.id),
            navi_org_invites::org_id.eq(&row.org_id),
            navi_org_invites::email.eq(&row.email),
            navi_org_invites::role.eq(&row.role),
            navi_org_invites::token_hash.eq(token_hash(token)),
            navi_org_invites::expires_at.eq(row.expires_at),
            navi_org_invites::created_by.eq(&row.created_by),
            navi_org_invites::created_at.eq(row.created_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// The scope's pending invites (not accepted, revoked or expired), newest first (admin+).
pub fn list_pending_invites(
    scope: &TenantScope,
    conn: &mut DbConnection,
) -> Result<Vec<InviteRow>, StoreError> {
    scope.require(Role::Admin)?;
    Ok(navi_org_invites::table
        .filter(navi_org_invites::org_id.eq(scope.org_id()))
        .filter(navi_org_invites::accepted_at.is_null())
        .filter(navi_org_invites::revoked_at.is_null())
        .filter(navi_org_invites::expires_at.gt(now()))
        .order((navi_org_invites::created_at.desc(), navi_org_invites::id))
        .select(InviteRow::as_select())
        .load(conn)?)
}

/// Revokes a pending invite of the scope's org (admin+). Anything else is `NotFound`. Audited as
/// `invite.revoke`.
pub fn revoke_invite(
    scope: &TenantScope,
    conn: &mut DbConnection,
    trail: &AuditTrail,
    invite_id: &str,
) -> Result<(), StoreError> {
    scope.require(Role::Admin)?;
    audit::org_transaction(scope, conn, |conn| {
        let revoked = diesel::update(
            navi_org_invites::table
                .filter(navi_org_invites::org_id.eq(scope.org_id()))
                .filter(navi_org_invites::id.eq(invite_id))
                .filter(navi_org_invites::accepted_at.is_null())
                .filter(navi_org_invites::revoked_at.is_null()),
        )
        .set(navi_org_invites::revoked_at.eq(now()))
        .execute(conn)?;
        if revoked == 0 {
            return Err(StoreError::NotFound);
        }
        audit::record(
            scope,
            conn,
            trail,
            AuditAction::InviteRevoke,
            invite_id,
            serde_json::json!({}),
        )?;
        Ok(())
    })
}

/// Revokes the pending invites `inviter` made in the scope's org, inside the caller's
/// transaction: their authority ends with their admin role. Audited as `invite.revoke` of each,
/// with the `reason`.
pub(crate) fn revoke_invites_made_by(
    scope: &TenantScope,
    conn: &mut DbConnection,
    trail: &AuditTrail,
    inviter: &str,
    reason: &str,
) -> Result<(), StoreError> {
    let pending = navi_org_invites::table
        .filter(navi_org_invites::org_id.eq(scope.org_id()))
        .filter(navi_org_invites::created_by.eq(inviter))
        .filter(navi_org_invites::accepted_at.is_null())
        .filter(navi_org_invites::revoked_at.is_null());
    let invite_ids: Vec<String> = pending
        .select(navi_org_invites::id)
        .order(navi_org_invites::id)
        .load(conn)?;
    diesel::update(pending)
        .set(navi_org_invites::revoked_at.eq(now()))
        .execute(conn)?;
    for invite_id in &invite_ids {
        audit::record(
            scope,
            conn,
            trail,
            AuditAction::InviteRevoke,
            invite_id,
            serde_json::json!({ "reason": reason }),
        )?;
    }
    Ok(())
}

/// What accepting an invite produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedInvite {
    /// The org joined.
    pub org_id: String,
    /// The new member.
    pub user_id: String,
    /// The role given.
    pub role: Role,
}

/// Accepts an invite, once, ever, as the user it was made for: whoever controls the invited
/// mailbox. The inviting admin also holds the token, so the token alone proves nothing.
///
/// The token is checked first: unknown, expired, revoked or used → [`StoreError::InvalidInvite`].
/// Then the caller must be the invited email's user, and that email verified (a link to the
/// mailbox or a trusted identity provider), through a session or a key that is not pinned to an
/// org (a pinned key stays inside its org): else `Forbidden`, whether or not the email has an
/// account anywhere. The first write of the transaction is one conditional update that only the
/// first of concurrent callers wins; a later failure rolls it back, leaving the invite usable.
/// Audited in the invite's org as `invite.accept`, by the accepting user.
pub fn accept_invite(
    _: &Privileged,
    conn: &mut DbConnection,
    trail: &AuditTrail,
    token: &str,
    caller: &Principal,
) -> Result<AcceptedInvite, StoreError> {
    let hash = token_hash(token);
    serialized_transaction(conn, &format!("invite:{hash}"), |conn| {
        let at = now();
        let invite: InviteRow = navi_org_invites::table
            .filter(navi_org_invites::token_hash.eq(&hash))
            .select(InviteRow::as_select())
            .first(conn)
            .optional()?
            .filter(|invite| {
                invite.accepted_at.is_none()
                    && invite.revoked_at.is_none()
                    && invite.expires_at > at
            })
            .ok_or(StoreError::InvalidInvite)?;
        // Take the org's lock before writing the invite row, in the order every other change of
        // the org takes them (org, then rows): a revoke of this invite then waits here instead
        // of deadlocking against the row lock.
        crate::dialect::lock_for_transaction(conn, &audit::org_lock_key(&invite.org_id))?;
        let role: Role = invite.role.parse()?;

        let (caller_email, verified): (String, Option<NaiveDateTime>) = navi_users::table
            .find(caller.user_id())
            .select((navi_users::email, navi_users::email_verified_at))
            .first(conn)
            .optional()?
            .ok_or(StoreError::Unauthenticated)?;
        if caller.pinned_org_id().is_some() || caller_email != invite.email || verified.is_none() {
            return Err(StoreError::Forbidden);
        }
        // The key must still be live now, not only when an instance last cached it: a first
        // verification revokes the keys made for the address before it.
        if let Some(key_id) = caller.key_id() {
            let live: i64 = crate::schema::navi_api_keys::table
                .filter(crate::schema::navi_api_keys::id.eq(key_id))
                .filter(crate::schema::navi_api_keys::revoked_at.is_null())
                .count()
                .get_result(conn)?;
            if live == 0 {
                return Err(StoreError::Unauthenticated);
            }
        }
        let user_id = caller.user_id().to_owned();

        let won = diesel::update(
            navi_org_invites::table
                .filter(navi_org_invites::id.eq(&invite.id))
                .filter(navi_org_invites::accepted_at.is_null())
                .filter(navi_org_invites::revoked_at.is_null())
                .filter(navi_org_invites::expires_at.gt(at)),
        )
        .set(navi_org_invites::accepted_at.eq(at))
        .execute(conn)?;
        if won == 0 {
            return Err(StoreError::InvalidInvite);
        }

        diesel::insert_into(navi_org_members::table)
            .values((
                navi_org_members::org_id.eq(&invite.org_id),
                navi_org_members::user_id.eq(&user_id),
                navi_org_members::role.eq(role.as_str()),
                navi_org_members::joined_at.eq(at),
            ))
            .execute(conn)
            .map_err(|error| match error {
                diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UniqueViolation,
                    _,
                ) => StoreError::Conflict("you are already a member of this org".to_owned()),
                other => other.into(),
            })?;
        audit::append(
            conn,
            trail,
            &invite.org_id,
            Some(&user_id),
            AuditEvent::new(
                AuditAction::InviteAccept,
                &invite.id,
                serde_json::json!({
                    "user_id": user_id,
                    "email": invite.email,
                    "role": role.as_str(),
                }),
            ),
        )?;
        Ok(AcceptedInvite {
            org_id: invite.org_id,
            user_id,
            role,
        })
    })
}
