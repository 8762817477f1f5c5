//! Invites: a random 256-bit token, shown once; only its SHA-256 is stored. Accepting succeeds
//! once, ever, even under concurrent attempts.

use std::fmt;

use base64::Engine;
use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;
use ring::digest;

use crate::api_keys::{create_api_key_privileged, ApiKeySecret, Pepper};
use crate::audit::{self, rfc3339, AuditAction, AuditEvent, AuditTrail};
use crate::dialect::serialized_transaction;
use crate::ids::{fill_random, new_id, IdKind};
use crate::schema::{navi_org_invites, navi_org_members, navi_users};
use crate::users::{find_or_create_user, find_user_by_email};
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

/// Who is accepting an invite.
#[derive(Debug, Clone)]
pub enum InviteCaller {
    /// No credentials: the invitee must be a new user.
    Anonymous,
    /// A valid key: it must belong to the invited user.
    Authenticated(Principal),
    /// Credentials that did not authenticate. Still, the token is judged first.
    BadCredentials,
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
    /// A new key pinned to the org, when the invitee was created by this acceptance.
    pub api_key: Option<ApiKeySecret>,
}

/// Accepts an invite, once, ever.
///
/// The token is checked first: unknown, expired, revoked or used → [`StoreError::InvalidInvite`],
/// whoever asks (bad credentials included, which are `Unauthenticated` only for a valid token).
/// Then an authenticated caller must be the invited user (else `Forbidden`); an anonymous one the invited email must not have a user yet (else `Unauthenticated`), and a user
/// and a key pinned to the org are created. The first write of the transaction is one
/// conditional update that only the first of concurrent callers wins; a later failure rolls it
/// back, leaving the invite usable. Audited in the invite's org as `invite.accept` (and
/// `api_key.create` for a new key), by the accepting user.
pub fn accept_invite(
    privileged: &Privileged,
    conn: &mut DbConnection,
    trail: &AuditTrail,
    pepper: &Pepper,
    token: &str,
    caller: &InviteCaller,
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
        let email = Email::parse(&invite.email)?;

        let existing_user = match caller {
            InviteCaller::BadCredentials => return Err(StoreError::Unauthenticated),
            InviteCaller::Authenticated(principal) => {
                let caller_email: String = navi_users::table
                    .find(principal.user_id())
                    .select(navi_users::email)
                    .first(conn)?;
                if caller_email != invite.email {
                    return Err(StoreError::Forbidden);
                }
                Some(principal.user_id().to_owned())
            }
            InviteCaller::Anonymous => {
                if find_user_by_email(privileged, conn, &email)?.is_some() {
                    return Err(StoreError::Unauthenticated);
                }
                None
            }
        };

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

        let (user_id, api_key) = match existing_user {
            Some(user_id) => (user_id, None),
            None => {
                let user = find_or_create_user(privileged, conn, &email)?;
                let (_, key) = create_api_key_privileged(
                    privileged,
                    conn,
                    trail,
                    Some(&invite.org_id),
                    pepper,
                    &user.id,
                    Some(&invite.org_id),
                    "invite",
                )?;
                (user.id, Some(key))
            }
        };
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
                    "new_user": api_key.is_some(),
                }),
            ),
        )?;
        Ok(AcceptedInvite {
            org_id: invite.org_id,
            user_id,
            role,
            api_key,
        })
    })
}
