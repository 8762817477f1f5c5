//! An org's own rate-limit quotas: what its owner set below the platform's, by policy name.
//!
//! This crate only stores them. The policies, their windows and the platform's ceilings are the
//! server's (configuration), and the server checks a quota against its ceiling before it calls
//! [`update_org_quotas`]; a policy without a stored quota has the platform's.

use std::collections::BTreeMap;

use diesel::prelude::*;
use serde_json::json;

use crate::audit::{self, AuditAction, AuditTrail};
use crate::schema::navi_org_rate_limits;
use crate::{now, DbConnection, Role, StoreError, TenantScope};

/// The longest policy name stored.
pub const MAX_POLICY_NAME: usize = 64;

/// The quotas the scope's org set, by policy name. Any member may read them: the server reads
/// them on every request of the org to apply them (the routes decide who may see them).
pub fn org_quotas(
    scope: &TenantScope,
    conn: &mut DbConnection,
) -> Result<BTreeMap<String, u64>, StoreError> {
    let rows: Vec<(String, i64)> = navi_org_rate_limits::table
        .filter(navi_org_rate_limits::org_id.eq(scope.org_id()))
        .select((navi_org_rate_limits::policy, navi_org_rate_limits::quota))
        .load(conn)?;
    // The column's CHECK keeps quotas positive.
    Ok(rows
        .into_iter()
        .map(|(policy, quota)| (policy, quota.unsigned_abs()))
        .collect())
}

/// Sets the quotas of the named policies (owner): `Some(quota)` stores it, `None` removes the
/// org's quota (the platform's applies again); policies not named keep theirs. Audited as
/// `org_limits.update` with each named policy's quota before and after (`null`: the platform's).
/// Returns the org's quotas after the change.
pub fn update_org_quotas(
    scope: &TenantScope,
    conn: &mut DbConnection,
    trail: &AuditTrail,
    changes: &BTreeMap<String, Option<u64>>,
) -> Result<BTreeMap<String, u64>, StoreError> {
    scope.require(Role::Owner)?;
    for (policy, quota) in changes {
        if policy.is_empty() || policy.len() > MAX_POLICY_NAME {
            return Err(StoreError::Invalid(format!(
                "A policy name is 1 to {MAX_POLICY_NAME} characters."
            )));
        }
        if quota.is_some_and(|quota| quota == 0 || i64::try_from(quota).is_err()) {
            return Err(StoreError::Invalid(format!(
                "The quota of `{policy}` must be a positive integer."
            )));
        }
    }
    audit::org_transaction(scope, conn, |conn| {
        let before = org_quotas(scope, conn)?;
        let at = now();
        for (policy, quota) in changes {
            diesel::delete(
                navi_org_rate_limits::table
                    .filter(navi_org_rate_limits::org_id.eq(scope.org_id()))
                    .filter(navi_org_rate_limits::policy.eq(policy)),
            )
            .execute(conn)?;
            if let Some(quota) = quota {
                diesel::insert_into(navi_org_rate_limits::table)
                    .values((
                        navi_org_rate_limits::org_id.eq(scope.org_id()),
                        navi_org_rate_limits::policy.eq(policy),
                        // Checked above to fit.
                        navi_org_rate_limits::quota.eq(*quota as i64),
                        navi_org_rate_limits::updated_at.eq(at),
                    ))
                    .execute(conn)?;
            }
        }
        let payload: Vec<_> = changes
            .iter()
            .map(|(policy, quota)| json!({"name": policy, "from": before.get(policy), "to": quota}))
            .collect();
        audit::record(
            scope,
            conn,
            trail,
            AuditAction::OrgLimitsUpdate,
            scope.org_id(),
            json!({ "policies": payload }),
        )?;
        org_quotas(scope, conn)
    })
}
