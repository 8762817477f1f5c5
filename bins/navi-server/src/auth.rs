//! Authentication: `Authorization: Bearer <api key>` → [`Principal`], and the org context
//! (`X-Navi-Org`, else the key's pin) → [`TenantScope`]. Handlers take these extractors first, so
//! an unauthenticated request is refused before its body is parsed. Key records and contexts come
//! from the per-instance [`AuthCache`](crate::auth_cache::AuthCache) when it has them.

use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use navi_tenancy::api_keys::{find_key_for_authentication, parse_key, record_key_use};
use navi_tenancy::invites::InviteCaller;
use navi_tenancy::orgs::OrgRow;
use navi_tenancy::{now, Principal, Privileged, StoreError, TenantScope};

use crate::app::AppState;
use crate::auth_cache::OrgContext;
use crate::error::ApiError;

/// The header naming the org a request acts in.
pub const ORG_HEADER: &str = "X-Navi-Org";

/// An authenticated caller, without org context (e.g. `POST /v1/orgs`).
#[derive(Debug)]
pub struct Authenticated(pub Principal);

/// An authenticated caller acting in one org.
#[derive(Debug)]
pub struct Scoped {
    /// Who is calling.
    pub principal: Principal,
    /// The org they act in, with their role there.
    pub scope: TenantScope,
    /// That org's row.
    pub org: OrgRow,
}

/// Whoever calls `POST /v1/invites/accept`: credentials are optional there.
#[derive(Debug)]
pub struct MaybeAuthenticated(pub InviteCaller);

enum Bearer {
    Missing,
    Malformed,
    Key(String),
}

fn bearer(req: &HttpRequest) -> Bearer {
    let Some(value) = req.headers().get(AUTHORIZATION) else {
        return Bearer::Missing;
    };
    let Ok(value) = value.to_str() else {
        return Bearer::Malformed;
    };
    match value.split_once(' ') {
        Some((scheme, key)) if scheme.eq_ignore_ascii_case("bearer") && !key.trim().is_empty() => {
            Bearer::Key(key.trim().to_owned())
        }
        _ => Bearer::Malformed,
    }
}

fn state(req: &HttpRequest) -> Result<web::Data<AppState>, ApiError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| {
            tracing::error!("AppState is not registered");
            ApiError::internal()
        })
}

/// `Some(org)` from the header; a header that is not text names no org anyone belongs to.
fn requested_org(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    match req.headers().get(ORG_HEADER) {
        None => Ok(None),
        Some(value) => value
            .to_str()
            .map(|org| Some(org.trim().to_owned()))
            .map_err(|_| ApiError::from(StoreError::Forbidden)),
    }
}

/// Verifies `key`: its record from the cache or the database, then the secret, revocation and
/// expiry in memory, and `last_used_at` written when a minute old.
///
/// The cache generation is noted once, before the record is looked up, and every record this
/// request stores goes under it: a record read before a revocation on this instance is thus
/// never stored as current after it (the revocation starts a newer generation).
async fn principal(state: &AppState, key: &str) -> Result<Principal, ApiError> {
    let (prefix, secret) = parse_key(key).ok_or(StoreError::Unauthenticated)?;
    let generation = state.auth_cache.key_generation();
    let record = match state.auth_cache.key(prefix) {
        Some(record) => record,
        None => {
            let owned_prefix = prefix.to_owned();
            let record = state
                .db(move |conn| {
                    let privileged = Privileged::acquire("authenticate an API key");
                    find_key_for_authentication(&privileged, conn, &owned_prefix)
                })
                .await?
                .ok_or(StoreError::Unauthenticated)?;
            let record = Arc::new(record);
            state
                .auth_cache
                .put_key(prefix, generation, Arc::clone(&record));
            record
        }
    };
    let at = now();
    let principal = record.verify(&state.pepper, secret, at)?;
    if record.use_is_stale(at) {
        let key_id = record.key_id().to_owned();
        let written = state
            .db(move |conn| {
                let privileged = Privileged::acquire("record API key use");
                record_key_use(&privileged, conn, &key_id, at)
            })
            .await;
        // A failure to record use must not fail the request.
        if written.is_ok() {
            state
                .auth_cache
                .put_key(prefix, generation, Arc::new(record.used_at(at)));
        }
    }
    Ok(principal)
}

/// The caller's scope and org row in the requested (or pinned) org.
async fn context(
    state: &AppState,
    principal: &Principal,
    requested_org: Option<String>,
) -> Result<OrgContext, ApiError> {
    let org_id = principal.org_context(requested_org.as_deref())?;
    let pinned = principal.pinned_org_id().is_some();
    if let Some(context) = state
        .auth_cache
        .context(principal.user_id(), org_id, pinned)
    {
        return Ok(context);
    }
    let generation = state.auth_cache.context_generation();
    let owned = principal.clone();
    let context = Arc::new(
        state
            .db(move |conn| owned.scope_with_org(conn, requested_org.as_deref()))
            .await?,
    );
    state
        .auth_cache
        .put_context(generation, Arc::clone(&context));
    Ok(context)
}

impl FromRequest for Authenticated {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let (state, bearer) = (state(req), bearer(req));
        Box::pin(async move {
            let state = state?;
            let Bearer::Key(key) = bearer else {
                return Err(ApiError::from(StoreError::Unauthenticated).into());
            };
            Ok(Authenticated(principal(&state, &key).await?))
        })
    }
}

impl FromRequest for Scoped {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    /// [`Authenticated`], then the org context.
    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let (state, org) = (state(req), requested_org(req));
        let authenticated = Authenticated::from_request(req, payload);
        Box::pin(async move {
            let Authenticated(principal) = authenticated.await?;
            let state = state?;
            let context = context(&state, &principal, org?).await?;
            let (scope, org) = Arc::unwrap_or_clone(context);
            Ok(Scoped {
                principal,
                scope,
                org,
            })
        })
    }
}

impl FromRequest for MaybeAuthenticated {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let (state, bearer) = (state(req), bearer(req));
        Box::pin(async move {
            let state = state?;
            let caller = match bearer {
                Bearer::Missing => InviteCaller::Anonymous,
                Bearer::Malformed => InviteCaller::BadCredentials,
                Bearer::Key(key) => match principal(&state, &key).await {
                    Ok(principal) => InviteCaller::Authenticated(principal),
                    Err(error) if error.code() == "unauthenticated" => InviteCaller::BadCredentials,
                    Err(error) => return Err(error.into()),
                },
            };
            Ok(MaybeAuthenticated(caller))
        })
    }
}
