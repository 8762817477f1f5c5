//! Organizations: creating one (its creator becomes its owner) and reading the current one.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::audit::{self, AuditAction, AuditEvent, AuditTrail};
use crate::dialect::serialized_transaction;
use crate::ids::{new_id, random_base32, IdKind};
use crate::schema::{navi_org_members, navi_orgs};
use crate::{now, DbConnection, OrgName, Principal, Role, Slug, StoreError, TenantScope};

/// An org row.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = navi_orgs)]
pub struct OrgRow {
    /// `org_…`
    pub id: String,
    /// 1–80 characters.
    pub name: String,
    /// Unique, `[a-z0-9-]{3,80}`.
    pub slug: String,
    /// The creator.
    pub owner_user_id: String,
    /// Naive UTC.
    pub created_at: NaiveDateTime,
}

/// Creates an org owned by the caller, who becomes its first owner member. An explicit slug that
/// is taken is a [`StoreError::Conflict`]; a slug derived from the name gets a random suffix
/// instead. A key pinned to an org acts inside that org only: `Forbidden`. Audited as
/// `org.create`.
pub fn create_org(
    principal: &Principal,
    conn: &mut DbConnection,
    trail: &AuditTrail,
    name: &OrgName,
    slug: Option<&Slug>,
) -> Result<(OrgRow, TenantScope), StoreError> {
    if principal.pinned_org_id().is_some() {
        return Err(StoreError::Forbidden);
    }
    let derived = slug.is_none();
    let mut slug = slug.cloned().unwrap_or_else(|| Slug::derive(name));
    for _attempt in 0..4 {
        match insert_org(principal, conn, trail, name, &slug) {
            Err(StoreError::Conflict(_)) if derived => {
                slug = Slug::derive(name).with_suffix(&random_base32(6));
            }
            result => return result,
        }
    }
    Err(StoreError::Conflict(format!(
        "slug: `{}` is taken",
        slug.as_str()
    )))
}

fn insert_org(
    principal: &Principal,
    conn: &mut DbConnection,
    trail: &AuditTrail,
    name: &OrgName,
    slug: &Slug,
) -> Result<(OrgRow, TenantScope), StoreError> {
    let created_at = now();
    let org = OrgRow {
        id: new_id(IdKind::Org),
        name: name.as_str().to_owned(),
        slug: slug.as_str().to_owned(),
        owner_user_id: principal.user_id().to_owned(),
        created_at,
    };
    serialized_transaction(conn, &audit::org_lock_key(&org.id), |conn| {
        diesel::insert_into(navi_orgs::table)
            .values((
                navi_orgs::id.eq(&org.id),
                navi_orgs::name.eq(&org.name),
                navi_orgs::slug.eq(&org.slug),
                navi_orgs::owner_user_id.eq(&org.owner_user_id),
                navi_orgs::created_at.eq(org.created_at),
            ))
            .execute(conn)
            .map_err(|error| match error {
                DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                    StoreError::Conflict(format!("slug: `{}` is taken", org.slug))
                }
                other => other.into(),
            })?;
        diesel::insert_into(navi_org_members::table)
            .values((
                navi_org_members::org_id.eq(&org.id),
                navi_org_members::user_id.eq(principal.user_id()),
                navi_org_members::role.eq(Role::Owner.as_str()),
                navi_org_members::joined_at.eq(created_at),
            ))
            .execute(conn)?;
        audit::append(
            conn,
            trail,
            &org.id,
            Some(principal.user_id()),
            AuditEvent::new(
                AuditAction::OrgCreate,
                &org.id,
                serde_json::json!({ "name": org.name, "slug": org.slug }),
            ),
        )?;
        Ok(())
    })?;
    let scope = TenantScope::for_new_org(&org.id, principal.user_id());
    Ok((org, scope))
}

/// The scope's org.
pub fn find_org(scope: &TenantScope, conn: &mut DbConnection) -> Result<OrgRow, StoreError> {
    Ok(navi_orgs::table
        .find(scope.org_id())
        .select(OrgRow::as_select())
        .first(conn)?)
}
