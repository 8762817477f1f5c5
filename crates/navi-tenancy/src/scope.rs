//! Who may touch which rows. A [`TenantScope`] is the only key to a tenant's rows, and only
//! authentication makes one; work that must cross tenants needs the [`Privileged`] capability.
//!
//! Outside this crate neither can be built by hand:
//!
//! ```compile_fail
//! let scope = navi_tenancy::TenantScope {
//!     org_id: "org_a".into(), user_id: "usr_a".into(), role: navi_tenancy::Role::Owner,
//!     pinned: false,
//! };
//! ```
//!
//! ```compile_fail
//! let principal = navi_tenancy::Principal {
//!     user_id: "usr_a".into(), credential: navi_tenancy::Credential::Operator, pinned_org_id: None,
//! };
//! ```

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::orgs::OrgRow;
use crate::schema::{navi_org_members, navi_orgs};
use crate::{DbConnection, Role, StoreError};

/// An authenticated caller: a user, through one of their API keys, a browser session (or, for
/// bootstrap only, a user acting without either). Made only by authentication
/// ([`crate::api_keys::authenticate`], [`crate::users::session_principal`]),
/// [`Privileged::act_as`] (and the `test-support` feature). It gives no access to tenant rows by
/// itself: those need a [`TenantScope`] from [`Principal::scope`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    user_id: String,
    credential: Credential,
    pinned_org_id: Option<String>,
}

/// How a [`Principal`] proved who it is. What it may hand on depends on it: a key's keys never
/// outlive the key; a session's keys need a recent sign-in and expire within
/// [`crate::api_keys::SESSION_KEY_LIFETIME`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// An API key, by id.
    Key(String),
    /// A browser session.
    Session {
        /// When its user last signed in (the session was made then).
        signed_in_at: NaiveDateTime,
        /// The SSO connection it was made through; `None` for email links and the platform
        /// connection.
        sso_connection: Option<String>,
    },
    /// The operator acting as the user, without a credential (bootstrap).
    Operator,
}

impl Principal {
    pub(crate) fn authenticated(
        user_id: String,
        credential: Credential,
        pinned_org_id: Option<String>,
    ) -> Self {
        Principal {
            user_id,
            credential,
            pinned_org_id,
        }
    }

    /// A principal for tests, without a key lookup.
    #[cfg(any(test, feature = "test-support"))]
    pub fn for_tests(user_id: &str, key_id: &str, pinned_org_id: Option<&str>) -> Self {
        Principal {
            user_id: user_id.to_owned(),
            credential: Credential::Key(key_id.to_owned()),
            pinned_org_id: pinned_org_id.map(str::to_owned),
        }
    }

    /// The calling user.
    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    /// How the caller authenticated.
    pub fn credential(&self) -> &Credential {
        &self.credential
    }

    /// The API key used; `None` for a session or a user acting without one (bootstrap).
    pub fn key_id(&self) -> Option<&str> {
        match &self.credential {
            Credential::Key(key_id) => Some(key_id),
            Credential::Session { .. } | Credential::Operator => None,
        }
    }

    /// The org the key is pinned to, if any.
    pub fn pinned_org_id(&self) -> Option<&str> {
        self.pinned_org_id.as_deref()
    }

    /// The org a request acts in: the requested org (the `X-Navi-Org` header), else the key's
    /// pin. No org at all is [`StoreError::OrgContextRequired`]; an org the key is pinned away
    /// from is [`StoreError::Forbidden`].
    pub fn org_context<'a>(
        &'a self,
        requested_org: Option<&'a str>,
    ) -> Result<&'a str, StoreError> {
        match (requested_org, self.pinned_org_id.as_deref()) {
            (Some(requested), Some(pinned)) if requested != pinned => Err(StoreError::Forbidden),
            (Some(org), _) | (None, Some(org)) => Ok(org),
            (None, None) => Err(StoreError::OrgContextRequired),
        }
    }

    /// Resolves the org context of a request (see [`Principal::org_context`]). An org the key is
    /// pinned away from, an org the user is not a member of and an org that does not exist are
    /// all the same [`StoreError::Forbidden`], so existence is not leaked.
    pub fn scope(
        &self,
        conn: &mut DbConnection,
        requested_org: Option<&str>,
    ) -> Result<TenantScope, StoreError> {
        self.scope_with_org(conn, requested_org)
            .map(|(scope, _)| scope)
    }

    /// [`Principal::scope`] together with the org's row, in one query.
    pub fn scope_with_org(
        &self,
        conn: &mut DbConnection,
        requested_org: Option<&str>,
    ) -> Result<(TenantScope, OrgRow), StoreError> {
        let org_id = self.org_context(requested_org)?;
        let found: Option<(String, OrgRow)> = navi_org_members::table
            .inner_join(navi_orgs::table)
            .filter(navi_org_members::org_id.eq(org_id))
            .filter(navi_org_members::user_id.eq(&self.user_id))
            .select((navi_org_members::role, OrgRow::as_select()))
            .first(conn)
            .optional()?;
        let (role, org) = found.ok_or(StoreError::Forbidden)?;
        if let Credential::Session { sso_connection, .. } = &self.credential {
            // An org with an enforced connection takes only sessions made through it.
            let enforced: Vec<String> = crate::schema::navi_sso_connections::table
                .filter(crate::schema::navi_sso_connections::org_id.eq(&org.id))
                .filter(crate::schema::navi_sso_connections::enforced.eq(true))
                .select(crate::schema::navi_sso_connections::id)
                .load(conn)?;
            if !enforced.is_empty()
                && !sso_connection
                    .as_ref()
                    .is_some_and(|made_through| enforced.contains(made_through))
            {
                return Err(StoreError::SsoRequired);
            }
        }
        let scope = TenantScope {
            org_id: org.id.clone(),
            user_id: self.user_id.clone(),
            role: role.parse::<Role>()?,
            pinned: self.pinned_org_id.is_some(),
        };
        Ok((scope, org))
    }
}

/// The right to read and write one org's rows, as one user with one role, through a key pinned
/// to that org or a user key. Every repository function that touches tenant rows takes it first
/// and filters by its org itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantScope {
    org_id: String,
    user_id: String,
    role: Role,
    pinned: bool,
}

impl TenantScope {
    /// A scope for tests, without authentication.
    #[cfg(any(test, feature = "test-support"))]
    pub fn for_tests(org_id: &str, user_id: &str, role: Role) -> Self {
        TenantScope {
            org_id: org_id.to_owned(),
            user_id: user_id.to_owned(),
            role,
            pinned: false,
        }
    }

    pub(crate) fn for_new_org(org_id: &str, user_id: &str) -> Self {
        TenantScope {
            org_id: org_id.to_owned(),
            user_id: user_id.to_owned(),
            role: Role::Owner,
            pinned: false,
        }
    }

    /// The org whose rows this scope reaches.
    pub fn org_id(&self) -> &str {
        &self.org_id
    }

    /// The acting user.
    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    /// The acting user's role in the org.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Whether the caller acts through a key pinned to this org. Such a caller stays inside the
    /// org: it sees and acts on only keys pinned to it, never its user's keys that work
    /// everywhere.
    pub fn pinned(&self) -> bool {
        self.pinned
    }

    /// `Ok` when the acting user has at least `role`, else [`StoreError::Forbidden`].
    pub fn require(&self, role: Role) -> Result<(), StoreError> {
        if self.role >= role {
            Ok(())
        } else {
            Err(StoreError::Forbidden)
        }
    }
}

/// The capability for work that must cross tenants: finding an API key by its prefix during
/// authentication, finding a session's user, bootstrap, verifying an email, accepting an invite,
/// re-encrypting every row. Only code
/// built with the `privileged` feature can make one; only `navi-server` and `xtask` enable it
/// (a tidy test checks), so every such place is easy to find and review.
#[derive(Debug)]
pub struct Privileged(());

impl Privileged {
    /// Takes the capability. `why` names the cross-tenant work, for the logs.
    #[cfg(any(test, feature = "privileged"))]
    pub fn acquire(why: &'static str) -> Privileged {
        tracing::debug!(why, "privileged capability acquired");
        Privileged(())
    }

    /// Acts as `user_id` without a key (bootstrap): an unpinned principal whose keys are bounded
    /// by no calling key.
    pub fn act_as(&self, user_id: &str) -> Principal {
        Principal {
            user_id: user_id.to_owned(),
            credential: Credential::Operator,
            pinned_org_id: None,
        }
    }
}
