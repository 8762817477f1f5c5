//! Authentication: `Authorization: Bearer <api key>`, else the session cookie → [`Principal`],
//! and the org context (`X-Navi-Org`, else the key's pin) → [`TenantScope`]. Handlers take these
//! extractors first, so an unauthenticated request is refused before its body is parsed. Key
//! records and key contexts come from the per-instance
//! [`AuthCache`](crate::auth_cache::AuthCache) when it has them; a session is checked in the
//! shared cache and the database on every request, so a logout or a removal holds at once.
//!
//! Under a session cookie, an unsafe method (anything but GET, HEAD, OPTIONS) needs an `Origin`
//! equal to `NAVI_PUBLIC_URL` and the session's CSRF token in `X-Navi-CSRF`, else 403: a page on
//! another site cannot act with the browser's cookie. A bearer key is never sent by a browser on
//! its own, so it needs neither.

use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::http::header::{AUTHORIZATION, ORIGIN};
use actix_web::http::Method;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use navi_tenancy::api_keys::{find_key_for_authentication, parse_key, record_key_use};
use navi_tenancy::orgs::OrgRow;
use navi_tenancy::{now, Credential, Principal, Privileged, StoreError, TenantScope};

use crate::app::AppState;
use crate::auth_cache::OrgContext;
use crate::error::ApiError;
use crate::rate_limits::{self, CallerLimits, Policy};
use crate::sessions::{self, Session, CSRF_HEADER, SESSION_COOKIE};

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
    /// The caller's rate limits in that org (for the policies a route adds).
    pub limits: CallerLimits,
}

/// A caller signed in through a browser session (the session routes need its record and token).
/// `Debug` leaves the token out.
pub struct SignedIn {
    /// Who is calling.
    pub principal: Principal,
    /// The session, as the cache holds it.
    pub session: Session,
    /// The session's token (from the cookie), to end it.
    pub token: String,
}

impl std::fmt::Debug for SignedIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedIn")
            .field("principal", &self.principal)
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

enum Credentials {
    Missing,
    Malformed,
    Key(String),
    Session(String),
}

/// The bearer key when there is an `Authorization` header (even alongside a cookie), else the
/// session cookie.
fn credentials(req: &HttpRequest) -> Credentials {
    let Some(value) = req.headers().get(AUTHORIZATION) else {
        return match req.cookie(SESSION_COOKIE) {
            Some(cookie) if !cookie.value().is_empty() => {
                Credentials::Session(cookie.value().to_owned())
            }
            _ => Credentials::Missing,
        };
    };
    let Ok(value) = value.to_str() else {
        return Credentials::Malformed;
    };
    match value.split_once(' ') {
        Some((scheme, key)) if scheme.eq_ignore_ascii_case("bearer") && !key.trim().is_empty() => {
            Credentials::Key(key.trim().to_owned())
        }
        _ => Credentials::Malformed,
    }
}

/// What the CSRF rule needs of a request, taken before the extractor's future runs.
struct Unsafe {
    origin: Option<String>,
    csrf: Option<String>,
}

fn unsafe_request(req: &HttpRequest) -> Option<Unsafe> {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return None;
    }
    let header = |name| {
        req.headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    };
    Some(Unsafe {
        origin: header(ORIGIN.as_str()),
        csrf: header(CSRF_HEADER),
    })
}

/// `Ok` unless `origin` is missing, `null` or another origin than `NAVI_PUBLIC_URL`'s: 403.
pub fn check_origin(state: &AppState, origin: Option<&str>) -> Result<(), ApiError> {
    match origin {
        Some(origin) if origin == state.public_origin() => Ok(()),
        _ => Err(ApiError::forbidden(format!(
            "A request that changes something under a session cookie must come from {} \
             (the Origin header).",
            state.public_origin()
        ))),
    }
}

/// The session of `token` and its principal: the cache says it is live, the CSRF rule holds for
/// an unsafe request, and the database says its user may still use it.
async fn session_principal(
    state: &AppState,
    token: &str,
    unsafe_request: Option<Unsafe>,
) -> Result<(Principal, Session), ApiError> {
    let (principal, session) = live_session(state, token).await?;
    if let Some(request) = unsafe_request {
        check_origin(state, request.origin.as_deref())?;
        // Digests are compared, not the tokens: how long a comparison takes then says nothing
        // an attacker can steer toward the token.
        let csrf_matches = request.csrf.is_some_and(|csrf| {
            sessions::digest_of(&[&csrf]) == sessions::digest_of(&[&session.csrf])
        });
        if !csrf_matches {
            return Err(ApiError::forbidden(format!(
                "A request that changes something under a session cookie needs the session's \
                 CSRF token in {CSRF_HEADER} (GET /v1/auth/session gives it)."
            )));
        }
    }
    Ok((principal, session))
}

/// The session of `token` and its principal, when the cache says it is live and the database
/// says its user may still use it; else 401 (503 when the cache is down).
pub(crate) async fn live_session(
    state: &AppState,
    token: &str,
) -> Result<(Principal, Session), ApiError> {
    let session = sessions::find(&state.cache, token)
        .await
        .map_err(|error| {
            tracing::warn!(%error, "the session store is unavailable");
            ApiError::unavailable("The session store is unavailable.")
        })?
        .ok_or(StoreError::Unauthenticated)?;
    let facts = session.facts();
    let principal = state
        .db(move |conn| {
            let privileged = Privileged::acquire("resolve a browser session");
            navi_tenancy::users::session_principal(&privileged, conn, &facts)
        })
        .await?;
    Ok((principal, session))
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
async fn principal(state: &AppState, req: &HttpRequest, key: &str) -> Result<Principal, ApiError> {
    let (prefix, secret) = parse_key(key).ok_or(StoreError::Unauthenticated)?;
    let generation = state.auth_cache.key_generation();
    let record = match state.auth_cache.key(prefix) {
        Some(record) => record,
        None => {
            // A key this instance has not verified lately: a client past its failures gets no
            // lookup.
            rate_limits::check_failures(state, req).await?;
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
    if let Credential::Session { .. } = principal.credential() {
        // Read at every request: a removed member's session loses the org at once.
        let owned = principal.clone();
        return Ok(Arc::new(
            state
                .db(move |conn| owned.scope_with_org(conn, requested_org.as_deref()))
                .await?,
        ));
    }
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

/// The refusals that count as failed authentications: a credential refused (401), a CSRF check
/// refused (403).
const AUTHENTICATION_FAILURES: &[&str] = &["unauthenticated", "forbidden"];

/// The principal of `credentials`, and the session token when it is a session's.
async fn authenticate(
    state: &AppState,
    req: &HttpRequest,
    credentials: Credentials,
    unsafe_request: Option<Unsafe>,
) -> Result<(Principal, Option<String>), ApiError> {
    let result = match credentials {
        Credentials::Key(key) => principal(state, req, &key).await.map(|p| (p, None)),
        Credentials::Session(token) => session_principal(state, &token, unsafe_request)
            .await
            .map(|(principal, _)| (principal, Some(token))),
        Credentials::Malformed => Err(ApiError::from(StoreError::Unauthenticated)),
        Credentials::Missing => return Err(ApiError::from(StoreError::Unauthenticated)),
    };
    rate_limits::count_failure(state, req, AUTHENTICATION_FAILURES, result).await
}

/// Admits the request under `requests` for a caller acting in no org, at the platform's rate.
async fn limit_caller(
    state: &AppState,
    req: &HttpRequest,
    principal: &Principal,
    session_token: Option<&str>,
) -> Result<(), ApiError> {
    let subject = rate_limits::principal_subject(principal, session_token);
    let rate = state.config.rate_limits.rate(Policy::Requests);
    rate_limits::admit(state, req, Policy::Requests, &subject, rate, 1).await
}

impl FromRequest for Authenticated {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let (state, credentials, unsafe_request) =
            (state(req), credentials(req), unsafe_request(req));
        let req = req.clone();
        Box::pin(async move {
            let state = state?;
            let (principal, token) =
                authenticate(&state, &req, credentials, unsafe_request).await?;
            limit_caller(&state, &req, &principal, token.as_deref()).await?;
            Ok(Authenticated(principal))
        })
    }
}

impl FromRequest for SignedIn {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    /// Only the session cookie counts here, even beside a bearer key.
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = state(req);
        let token = req
            .cookie(SESSION_COOKIE)
            .map(|cookie| cookie.value().to_owned())
            .filter(|token| !token.is_empty());
        let unsafe_request = unsafe_request(req);
        let req = req.clone();
        Box::pin(async move {
            let state = state?;
            let token = token.ok_or(ApiError::from(StoreError::Unauthenticated))?;
            let (principal, session) = rate_limits::count_failure(
                &state,
                &req,
                AUTHENTICATION_FAILURES,
                session_principal(&state, &token, unsafe_request).await,
            )
            .await?;
            limit_caller(&state, &req, &principal, Some(&token)).await?;
            Ok(SignedIn {
                principal,
                session,
                token,
            })
        })
    }
}

impl FromRequest for Scoped {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    /// The caller (as [`Authenticated`]), then the org context, then the rate limits of the
    /// caller and the org at the org's quotas.
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let (state, org, credentials, unsafe_request) = (
            state(req),
            requested_org(req),
            credentials(req),
            unsafe_request(req),
        );
        let req = req.clone();
        Box::pin(async move {
            let state = state?;
            let (principal, token) =
                authenticate(&state, &req, credentials, unsafe_request).await?;
            // An org refused (not a member, pinned elsewhere, no such org) counts as a failure:
            // each costs a lookup, and guessing orgs is probing.
            let context = rate_limits::count_failure(
                &state,
                &req,
                &["forbidden"],
                context(&state, &principal, org?).await,
            )
            .await?;
            let (scope, org) = Arc::unwrap_or_clone(context);
            let quotas = if state.config.rate_limits.enabled {
                state.org_quotas.get(&state, &scope).await?
            } else {
                Arc::default()
            };
            let limits = CallerLimits::new(
                rate_limits::principal_subject(&principal, token.as_deref()),
                quotas,
            );
            limits.admit_request(&state, &req, scope.org_id()).await?;
            Ok(Scoped {
                principal,
                scope,
                org,
                limits,
            })
        })
    }
}
