//! Authentication: `Authorization: Bearer <api key>` → [`Principal`], and the org context
//! (`X-Navi-Org`, else the key's pin) → [`TenantScope`]. Handlers take these extractors first, so
//! an unauthenticated request is refused before its body is parsed.

use actix_web::dev::Payload;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use navi_tenancy::api_keys::authenticate;
use navi_tenancy::invites::InviteCaller;
use navi_tenancy::{Principal, Privileged, StoreError, TenantScope};

use crate::app::AppState;
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
            let pepper = state.pepper.clone();
            let principal = state
                .db(move |conn| {
                    authenticate(&Privileged::acquire("authenticate"), conn, &pepper, &key)
                })
                .await?;
            Ok(Authenticated(principal))
        })
    }
}

impl FromRequest for Scoped {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let (state, bearer, org) = (state(req), bearer(req), requested_org(req));
        Box::pin(async move {
            let state = state?;
            let Bearer::Key(key) = bearer else {
                return Err(ApiError::from(StoreError::Unauthenticated).into());
            };
            let org = org?;
            let pepper = state.pepper.clone();
            let scoped = state
                .db(move |conn| {
                    let principal =
                        authenticate(&Privileged::acquire("authenticate"), conn, &pepper, &key)?;
                    let scope = principal.scope(conn, org.as_deref())?;
                    Ok(Scoped { principal, scope })
                })
                .await?;
            Ok(scoped)
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
            let key = match bearer {
                Bearer::Missing => return Ok(MaybeAuthenticated(InviteCaller::Anonymous)),
                Bearer::Malformed => return Ok(MaybeAuthenticated(InviteCaller::BadCredentials)),
                Bearer::Key(key) => key,
            };
            let pepper = state.pepper.clone();
            let caller = state
                .db(move |conn| {
                    match authenticate(&Privileged::acquire("authenticate"), conn, &pepper, &key) {
                        Ok(principal) => Ok(InviteCaller::Authenticated(principal)),
                        Err(StoreError::Unauthenticated) => Ok(InviteCaller::BadCredentials),
                        Err(other) => Err(other),
                    }
                })
                .await?;
            Ok(MaybeAuthenticated(caller))
        })
    }
}
