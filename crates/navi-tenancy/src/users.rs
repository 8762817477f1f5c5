//! Users. Emails are stored lowercased, so they compare case-insensitively.
//!
//! A user is an email that Navi verified (`email_verified_at`): through a link to the mailbox, or
//! an identity provider trusted for the email's domain. Users made otherwise (bootstrap, and
//! before sign-in existed) are unverified until then, and their first verification revokes every
//! key and session made before it: whoever made them may not have been the mailbox's owner.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::api_keys::key_payload;
use crate::audit::{self, AuditAction, AuditEvent, AuditTrail};
use crate::dialect::{lock_for_transaction, serialized_transaction};
use crate::ids::{new_id, IdKind};
use crate::schema::{navi_api_keys, navi_org_members, navi_orgs, navi_users};
use crate::scope::Credential;
use crate::{now, DbConnection, Email, Principal, Privileged, Role, StoreError};

/// A user row.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = navi_users)]
pub struct UserRow {
    /// `usr_…`
    pub id: String,
    /// Lowercased.
    pub email: String,
    /// Naive UTC.
    pub created_at: NaiveDateTime,
    /// When Navi verified the email; `None`: never.
    pub email_verified_at: Option<NaiveDateTime>,
    /// Sessions made before this instant are over.
    pub sessions_not_before: Option<NaiveDateTime>,
}

/// The user with `email`, if any. Users span tenants: finding one by email is privileged.
pub fn find_user_by_email(
    _: &Privileged,
    conn: &mut DbConnection,
    email: &Email,
) -> Result<Option<UserRow>, StoreError> {
    Ok(navi_users::table
        .filter(navi_users::email.eq(email.as_str()))
        .select(UserRow::as_select())
        .first(conn)
        .optional()?)
}

/// The user with `email`, created when new. Safe under concurrent calls for the same email.
pub fn find_or_create_user(
    privileged: &Privileged,
    conn: &mut DbConnection,
    email: &Email,
) -> Result<UserRow, StoreError> {
    if let Some(user) = find_user_by_email(privileged, conn, email)? {
        return Ok(user);
    }
    let user = UserRow {
        id: new_id(IdKind::User),
        email: email.as_str().to_owned(),
        created_at: now(),
        email_verified_at: None,
        sessions_not_before: None,
    };
    let inserted = diesel::insert_into(navi_users::table)
        .values((
            navi_users::id.eq(&user.id),
            navi_users::email.eq(&user.email),
            navi_users::created_at.eq(user.created_at),
        ))
        .execute(conn);
    match inserted {
        Ok(_) => Ok(user),
        // Another caller created the same email between our read and our write.
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => find_user_by_email(privileged, conn, email)?.ok_or(StoreError::NotFound),
        Err(error) => Err(error.into()),
    }
}

/// The user whose mailbox (or trusted identity provider) just proved `email`: created when new,
/// and verified now when not yet. A first verification of an existing user also ends what was
/// made before it: every session (`sessions_not_before`) and every live key, each revocation
/// audited as `api_key.revoke` (reason `email_verified`) in the orgs where the key worked.
pub fn verify_email(
    privileged: &Privileged,
    conn: &mut DbConnection,
    trail: &AuditTrail,
    email: &Email,
) -> Result<UserRow, StoreError> {
    serialized_transaction(conn, &email_lock_key(email), |conn| {
        verify_email_within(privileged, conn, trail, email)
    })
}

fn email_lock_key(email: &Email) -> String {
    format!("user-email:{}", email.as_str())
}

/// [`verify_email`] inside the caller's (serialized) transaction.
pub(crate) fn verify_email_within(
    privileged: &Privileged,
    conn: &mut DbConnection,
    trail: &AuditTrail,
    email: &Email,
) -> Result<UserRow, StoreError> {
    lock_for_transaction(conn, &email_lock_key(email))?;
    let user = find_or_create_user(privileged, conn, email)?;
    if user.email_verified_at.is_some() {
        return Ok(user);
    }
    let at = now();
    revoke_keys_before_verification(conn, trail, &user.id)?;
    diesel::update(navi_users::table.find(&user.id))
        .set((
            navi_users::email_verified_at.eq(at),
            navi_users::sessions_not_before.eq(at),
        ))
        .execute(conn)?;
    Ok(UserRow {
        email_verified_at: Some(at),
        sessions_not_before: Some(at),
        ..user
    })
}

/// Revokes every live key of `user_id`, audited in the org a key is pinned to, or in each of the
/// user's orgs for a user key. The user's orgs are locked first, in id order, as every change of
/// an org takes its lock before its rows: a key made concurrently in one of them (which needs its
/// lock) is then either seen here and revoked, or made after this transaction.
fn revoke_keys_before_verification(
    conn: &mut DbConnection,
    trail: &AuditTrail,
    user_id: &str,
) -> Result<(), StoreError> {
    let member_of: Vec<String> = navi_org_members::table
        .filter(navi_org_members::user_id.eq(user_id))
        .select(navi_org_members::org_id)
        .order(navi_org_members::org_id)
        .load(conn)?;
    for org_id in &member_of {
        lock_for_transaction(conn, &audit::org_lock_key(org_id))?;
    }
    let keys: Vec<crate::api_keys::ApiKeyRow> = navi_api_keys::table
        .filter(navi_api_keys::user_id.eq(user_id))
        .filter(navi_api_keys::revoked_at.is_null())
        .select(crate::api_keys::ApiKeyRow::as_select())
        .order(navi_api_keys::id)
        .load(conn)?;
    let key_ids: Vec<&str> = keys.iter().map(|key| key.id.as_str()).collect();
    diesel::update(navi_api_keys::table.filter(navi_api_keys::id.eq_any(&key_ids)))
        .set(navi_api_keys::revoked_at.eq(now()))
        .execute(conn)?;
    for key in &keys {
        let audited_in = match &key.org_id {
            Some(org_id) => vec![org_id.as_str()],
            None => member_of.iter().map(String::as_str).collect(),
        };
        for org_id in audited_in {
            let mut payload = key_payload(key);
            payload["reason"] = "email_verified".into();
            audit::append(
                conn,
                trail,
                org_id,
                Some(user_id),
                AuditEvent::new(AuditAction::ApiKeyRevoke, &key.id, payload),
            )?;
        }
    }
    Ok(())
}

/// What a browser session says of itself: whose it is and when it was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionFacts {
    /// Its user.
    pub user_id: String,
    /// When it was made (its user signed in then).
    pub created_at: NaiveDateTime,
    /// The SSO connection it was made through, if any.
    pub sso_connection: Option<String>,
}

/// The principal of a live session: its user still exists, is verified, and has not ended their
/// sessions since it was made; else `Unauthenticated`. The session itself (its token, idle and
/// absolute limits) is the caller's to check: it lives in the cache.
pub fn session_principal(
    _: &Privileged,
    conn: &mut DbConnection,
    session: &SessionFacts,
) -> Result<Principal, StoreError> {
    let user: Option<(Option<NaiveDateTime>, Option<NaiveDateTime>)> = navi_users::table
        .find(&session.user_id)
        .select((
            navi_users::email_verified_at,
            navi_users::sessions_not_before,
        ))
        .first(conn)
        .optional()?;
    match user {
        Some((Some(_), not_before)) if not_before.is_none_or(|at| session.created_at >= at) => {
            Ok(Principal::authenticated(
                session.user_id.clone(),
                Credential::Session {
                    signed_in_at: session.created_at,
                    sso_connection: session.sso_connection.clone(),
                },
                None,
            ))
        }
        _ => Err(StoreError::Unauthenticated),
    }
}

/// Ends every session of the caller's user made until now ("sign out everywhere"). A key pinned to
/// an org acts inside that org only: `Forbidden`.
pub fn end_sessions(conn: &mut DbConnection, principal: &Principal) -> Result<(), StoreError> {
    if principal.pinned_org_id().is_some() {
        return Err(StoreError::Forbidden);
    }
    diesel::update(navi_users::table.find(principal.user_id()))
        .set(navi_users::sessions_not_before.eq(now()))
        .execute(conn)?;
    Ok(())
}

/// One org of a signed-in user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// `org_…`
    pub org_id: String,
    /// The org's slug.
    pub slug: String,
    /// The org's name.
    pub name: String,
    /// The user's role there.
    pub role: Role,
}

/// The caller's own user row and orgs (with their roles), by org id.
pub fn own_user(
    conn: &mut DbConnection,
    principal: &Principal,
) -> Result<(UserRow, Vec<Membership>), StoreError> {
    let user = navi_users::table
        .find(principal.user_id())
        .select(UserRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(StoreError::Unauthenticated)?;
    let rows: Vec<(String, String, String, String)> = navi_org_members::table
        .inner_join(navi_orgs::table)
        .filter(navi_org_members::user_id.eq(principal.user_id()))
        .order(navi_orgs::id)
        .select((
            navi_orgs::id,
            navi_orgs::slug,
            navi_orgs::name,
            navi_org_members::role,
        ))
        .load(conn)?;
    let orgs = rows
        .into_iter()
        .map(|(org_id, slug, name, role)| {
            Ok(Membership {
                org_id,
                slug,
                name,
                role: role.parse()?,
            })
        })
        .collect::<Result<_, StoreError>>()?;
    Ok((user, orgs))
}
