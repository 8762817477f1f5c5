//! Members of the scope's org: list, change role, remove; an org always keeps an owner.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::audit::{self, AuditAction, AuditTrail};
use crate::schema::{navi_org_members, navi_users};
use crate::{api_keys, invites};
use crate::{DbConnection, Role, StoreError, TenantScope};

/// A member of an org.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRow {
    /// `usr_…`
    pub user_id: String,
    /// Lowercased.
    pub email: String,
    /// The role in this org.
    pub role: Role,
    /// Naive UTC.
    pub joined_at: NaiveDateTime,
}

type MemberColumns = (
    navi_org_members::user_id,
    navi_users::email,
    navi_org_members::role,
    navi_org_members::joined_at,
);

const MEMBER_COLUMNS: MemberColumns = (
    navi_org_members::user_id,
    navi_users::email,
    navi_org_members::role,
    navi_org_members::joined_at,
);

fn member_row(
    (user_id, email, role, joined_at): (String, String, String, NaiveDateTime),
) -> Result<MemberRow, StoreError> {
    Ok(MemberRow {
        user_id,
        email,
        role: role.parse()?,
        joined_at,
    })
}

/// Every member of the scope's org, oldest first.
pub fn list_members(
    scope: &TenantScope,
    conn: &mut DbConnection,
) -> Result<Vec<MemberRow>, StoreError> {
    navi_org_members::table
        .inner_join(navi_users::table)
        .filter(navi_org_members::org_id.eq(scope.org_id()))
        .order((navi_org_members::joined_at, navi_org_members::user_id))
        .select(MEMBER_COLUMNS)
        .load(conn)?
        .into_iter()
        .map(member_row)
        .collect()
}

fn find_member(
    scope: &TenantScope,
    conn: &mut DbConnection,
    user_id: &str,
) -> Result<MemberRow, StoreError> {
    member_row(
        navi_org_members::table
            .inner_join(navi_users::table)
            .filter(navi_org_members::org_id.eq(scope.org_id()))
            .filter(navi_org_members::user_id.eq(user_id))
            .select(MEMBER_COLUMNS)
            .first(conn)?,
    )
}

fn count_owners(scope: &TenantScope, conn: &mut DbConnection) -> Result<i64, StoreError> {
    Ok(navi_org_members::table
        .filter(navi_org_members::org_id.eq(scope.org_id()))
        .filter(navi_org_members::role.eq(Role::Owner.as_str()))
        .count()
        .get_result(conn)?)
}

/// Changes a member's role (owners only). Demoting the last owner is a conflict. Demoting an
/// admin or owner to member revokes the pending invites they made, in the same transaction.
/// Audited as `member.role_change` (and `invite.revoke` of each invite).
pub fn change_member_role(
    scope: &TenantScope,
    conn: &mut DbConnection,
    trail: &AuditTrail,
    user_id: &str,
    role: Role,
) -> Result<MemberRow, StoreError> {
    scope.require(Role::Owner)?;
    audit::org_transaction(scope, conn, |conn| {
        let member = find_member(scope, conn, user_id)?;
        if member.role == Role::Owner && role != Role::Owner && count_owners(scope, conn)? <= 1 {
            return Err(StoreError::Conflict(
                "the last owner of an org cannot be demoted".to_owned(),
            ));
        }
        diesel::update(
            navi_org_members::table
                .filter(navi_org_members::org_id.eq(scope.org_id()))
                .filter(navi_org_members::user_id.eq(user_id)),
        )
        .set(navi_org_members::role.eq(role.as_str()))
        .execute(conn)?;
        audit::record(
            scope,
            conn,
            trail,
            AuditAction::MemberRoleChange,
            user_id,
            serde_json::json!({ "from": member.role.as_str(), "to": role.as_str() }),
        )?;
        if role < Role::Admin && member.role >= Role::Admin {
            invites::revoke_invites_made_by(scope, conn, trail, user_id, "inviter demoted")?;
        }
        Ok(MemberRow { role, ..member })
    })
}

/// Removes a member (admin+; only owners remove owners). Removing the last owner is a conflict.
/// In the same transaction, the pending invites they made and their keys pinned to the org are
/// revoked: a removed admin leaves nothing behind, and a re-invited member finds no old key
/// working. Audited as `member.remove` (and `invite.revoke`, `api_key.revoke` of each).
pub fn remove_member(
    scope: &TenantScope,
    conn: &mut DbConnection,
    trail: &AuditTrail,
    user_id: &str,
) -> Result<(), StoreError> {
    scope.require(Role::Admin)?;
    audit::org_transaction(scope, conn, |conn| {
        let member = find_member(scope, conn, user_id)?;
        if member.role == Role::Owner {
            scope.require(Role::Owner)?;
            if count_owners(scope, conn)? <= 1 {
                return Err(StoreError::Conflict(
                    "the last owner of an org cannot be removed".to_owned(),
                ));
            }
        }
        diesel::delete(
            navi_org_members::table
                .filter(navi_org_members::org_id.eq(scope.org_id()))
                .filter(navi_org_members::user_id.eq(user_id)),
        )
        .execute(conn)?;
        audit::record(
            scope,
            conn,
            trail,
            AuditAction::MemberRemove,
            user_id,
            serde_json::json!({ "email": member.email, "role": member.role.as_str() }),
        )?;
        invites::revoke_invites_made_by(scope, conn, trail, user_id, "inviter removed")?;
        api_keys::revoke_keys_pinned_for(scope, conn, trail, user_id, "member removed")?;
        Ok(())
    })
}
