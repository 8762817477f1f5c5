//! Single sign-on through OpenID Connect: `GET /v1/auth/sso/start` sends the browser to the
//! provider, `GET /v1/auth/sso/callback` takes it back. `POST /v1/auth/sso/link` starts the
//! same flow to link another identity to the signed-in user: a POST under the session's CSRF
//! rule and a recent sign-in, whose callback must come back to that same live session (a link
//! cannot be started by another site, nor outlive a logout).
//!
//! The start picks the connection (`org=SLUG`, `email=ADDRESS` by its approved domain, or neither
//! for the platform's), and keeps state, PKCE verifier, nonce, connection and `return_to` as one
//! single-use value in `navi-cache`, keyed by a digest of the state, which the `__Host-navi_sso`
//! cookie also holds. The callback compares the state with the cookie, consumes the value with
//! `getdel` (so of concurrent callbacks with one state, one goes on), exchanges the code, checks
//! the ID token, applies the identity rules (`navi_tenancy::sso::sign_in_identity`) and makes a
//! session.

use std::time::Duration;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use navi_tenancy::audit::AuditTrail;
use navi_tenancy::sso::{
    connection_of_domain, connection_of_org, sign_in_connection, sign_in_identity, Assertion,
    SignInConnection,
};
use navi_tenancy::{Credential, Email, Privileged, StoreError};
use serde::{Deserialize, Serialize};

use super::auth::{cache_unavailable, SSO_CALLBACK_PATH};
use crate::app::{resource, AppState};
use crate::audit_trail::Trail;
use crate::auth::{live_session, SignedIn};
use crate::error::ApiError;
use crate::json::Json;
use crate::oidc::{OidcError, Provider};
use crate::rate_limits::{self, SignInAttempt};
use crate::sessions::{self, digest_of, host_cookie, removal_cookie};

/// The cookie that binds a sign-in's state to the browser that started it.
pub const SSO_COOKIE: &str = "__Host-navi_sso";
/// How long a started sign-in (its state and cookie) lives.
pub const SSO_LIFETIME: Duration = Duration::from_secs(10 * 60);

/// Mounts the routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/v1/auth/sso/start").get(start))
        .service(resource("/v1/auth/sso/link").post(link))
        .service(resource(SSO_CALLBACK_PATH).get(callback));
}

/// Which connection, and where to go after: the query of `start`, the body of `link`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StartQuery {
    org: Option<String>,
    email: Option<String>,
    return_to: Option<String>,
}

/// A started sign-in, as the cache keeps it. `Debug` shows neither nonce nor verifier.
#[derive(Serialize, Deserialize)]
struct Pending {
    connection: Option<String>,
    /// The provider the browser was sent to, and Navi's client there: a connection changed
    /// meanwhile must not receive this sign-in's code and verifier.
    issuer: String,
    client_id: String,
    nonce: String,
    verifier: String,
    return_to: String,
    link_to: Option<String>,
}

fn pending_key(state: &str) -> String {
    format!("sso-state:{}", digest_of(&[state]))
}

/// `return_to`: a path on this site (one leading `/`, then neither `/` nor `\`, no control
/// characters, at most 2048 bytes), so the redirect after sign-in cannot leave it.
fn check_return_to(return_to: Option<String>) -> Result<String, ApiError> {
    let Some(path) = return_to else {
        return Ok("/".to_owned());
    };
    let bytes = path.as_bytes();
    let ok = path.len() <= 2048
        && bytes.first() == Some(&b'/')
        && !matches!(bytes.get(1), Some(b'/' | b'\\'))
        && !path.chars().any(char::is_control);
    if ok {
        Ok(path)
    } else {
        Err(ApiError::invalid_request(
            "return_to: a path on this site, such as /app/settings (one leading /, no control \
             characters, at most 2048 bytes).",
        ))
    }
}

fn no_connection() -> ApiError {
    ApiError::not_found("No single sign-on is set up for this organization or email domain.")
}

fn provider_failed(error: OidcError) -> ApiError {
    match error {
        OidcError::Unavailable(cause) => {
            tracing::warn!(%cause, "identity provider unavailable");
            ApiError::unavailable("The identity provider is unavailable; try again shortly.")
        }
        OidcError::Failed(reason) => {
            ApiError::bad_request("sso_failed", format!("Sign-in failed: {reason}."))
        }
    }
}

/// The provider of `connection`, or the platform's (`None`).
fn provider(state: &AppState, connection: Option<&SignInConnection>) -> Result<Provider, ApiError> {
    match connection {
        Some(connection) => Ok(Provider {
            issuer: connection.issuer.clone(),
            client_id: connection.client_id.clone(),
            client_secret: connection.client_secret.clone(),
            role_claim: connection.role_claim.clone(),
        }),
        None => {
            let platform = state
                .config
                .platform_oidc
                .as_ref()
                .ok_or_else(no_connection)?;
            Ok(Provider {
                issuer: platform.issuer.clone(),
                client_id: platform.client_id.clone(),
                client_secret: platform.client_secret.clone(),
                role_claim: None,
            })
        }
    }
}

async fn load_connection(
    state: &AppState,
    id: Option<String>,
) -> Result<Option<SignInConnection>, ApiError> {
    let Some(id) = id else {
        return Ok(None);
    };
    let keyring = state.keyring.clone();
    let connection = state
        .db(move |conn| {
            let privileged = Privileged::acquire("read an SSO connection to sign in");
            sign_in_connection(&privileged, conn, &keyring, &id)
        })
        .await?;
    Ok(Some(connection))
}

/// The connection `query` names: `org` (its slug), `email` (its domain's org), or neither (the
/// platform's, `None`). Both → 400; nothing found → 404.
async fn chosen_connection(
    state: &AppState,
    query: &StartQuery,
) -> Result<Option<SignInConnection>, ApiError> {
    let id = match (query.org.clone(), query.email.as_deref()) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid_request(
                "Name one of org and email, or neither for the platform's sign-in.",
            ))
        }
        (Some(slug), None) => {
            // Not a slug: no org has it (and nothing odd reaches the database).
            let slug = navi_tenancy::Slug::parse(&slug).map_err(|_| no_connection())?;
            Some(
                state
                    .db(move |conn| {
                        let privileged = Privileged::acquire("find an org's SSO connection");
                        connection_of_org(&privileged, conn, slug.as_str())
                    })
                    .await?
                    .ok_or_else(no_connection)?,
            )
        }
        (None, Some(email)) => {
            let email = Email::parse(email)?;
            Some(
                state
                    .db(move |conn| {
                        let privileged = Privileged::acquire("find a domain's SSO connection");
                        connection_of_domain(&privileged, conn, email.domain())
                    })
                    .await?
                    .ok_or_else(no_connection)?,
            )
        }
        (None, None) => None,
    };
    load_connection(state, id).await
}

/// Sends a sign-in to its provider: the provider's URL and the state, kept in the cache with
/// everything the callback needs.
async fn begin(
    state: &AppState,
    query: StartQuery,
    link_to: Option<String>,
) -> Result<(String, String), ApiError> {
    let return_to = check_return_to(query.return_to.clone())?;
    let connection = chosen_connection(state, &query).await?;
    let provider = provider(state, connection.as_ref())?;
    let started = state
        .oidc
        .start(&provider, &state.public_link(SSO_CALLBACK_PATH))
        .await
        .map_err(provider_failed)?;
    let pending = Pending {
        connection: connection.map(|connection| connection.id),
        issuer: provider.issuer.clone(),
        client_id: provider.client_id.clone(),
        nonce: started.nonce,
        verifier: started.verifier,
        return_to,
        link_to,
    };
    state
        .cache
        .set_json(&pending_key(&started.state), &pending, SSO_LIFETIME)
        .await
        .map_err(cache_unavailable)?;
    Ok((started.url, started.state))
}

async fn start(
    _: SignInAttempt,
    state: web::Data<AppState>,
    query: web::Query<StartQuery>,
) -> Result<HttpResponse, ApiError> {
    let (url, sso_state) = begin(&state, query.into_inner(), None).await?;
    Ok(HttpResponse::Found()
        .insert_header((header::LOCATION, url))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .cookie(host_cookie(SSO_COOKIE, sso_state, SSO_LIFETIME))
        .finish())
}

/// `POST /v1/auth/sso/link {"org"|"email"|neither, "return_to"}` (a session, within 15 minutes
/// of its sign-in): → 200 `{"authorization_url"}` for the browser to open, and the
/// `__Host-navi_sso` cookie.
async fn link(
    SignedIn { principal, .. }: SignedIn,
    state: web::Data<AppState>,
    body: Json<StartQuery>,
) -> Result<HttpResponse, ApiError> {
    if let Credential::Session { signed_in_at, .. } = principal.credential() {
        if navi_tenancy::now() - *signed_in_at > navi_tenancy::api_keys::RECENT_SIGN_IN {
            return Err(StoreError::RecentSignInRequired.into());
        }
    }
    let (url, sso_state) = begin(
        &state,
        body.into_inner(),
        Some(principal.user_id().to_owned()),
    )
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .cookie(host_cookie(SSO_COOKIE, sso_state, SSO_LIFETIME))
        .json(serde_json::json!({ "authorization_url": url })))
}

/// The user of the request's live session: else 401.
async fn signed_in_user(req: &HttpRequest, state: &AppState) -> Result<String, ApiError> {
    let token = req
        .cookie(sessions::SESSION_COOKIE)
        .ok_or(ApiError::from(StoreError::Unauthenticated))?;
    let (principal, _) = live_session(state, token.value()).await?;
    Ok(principal.user_id().to_owned())
}

#[derive(Debug, Deserialize)]
struct CallbackQuery {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

fn invalid_state() -> ApiError {
    ApiError::bad_request(
        "invalid_state",
        "This sign-in is unknown, used or expired, or was started in another browser: start again.",
    )
}

async fn callback(
    _: SignInAttempt,
    req: HttpRequest,
    Trail(trail): Trail,
    state: web::Data<AppState>,
    query: web::Query<CallbackQuery>,
) -> Result<HttpResponse, ApiError> {
    let result = finish(&req, trail, &state, query.into_inner()).await;
    rate_limits::count_failure(&state, &req, &["invalid_state"], result).await
}

/// The sign-in (or link) a callback with this state finishes.
async fn finish(
    req: &HttpRequest,
    trail: AuditTrail,
    state: &AppState,
    query: CallbackQuery,
) -> Result<HttpResponse, ApiError> {
    let returned = query.state.ok_or_else(invalid_state)?;
    let cookie = req.cookie(SSO_COOKIE).ok_or_else(invalid_state)?;
    // Digests are compared, not the states: the time taken says nothing steerable.
    if digest_of(&[cookie.value()]) != digest_of(&[&returned]) {
        return Err(invalid_state());
    }
    let pending: Pending = state
        .cache
        .getdel_json(&pending_key(&returned))
        .await
        .map_err(cache_unavailable)?
        .ok_or_else(invalid_state)?;
    if let Some(error) = query.error {
        let detail = query
            .error_description
            .map(|detail| format!(" ({})", detail.chars().take(200).collect::<String>()))
            .unwrap_or_default();
        let error: String = error.chars().take(64).collect();
        return Err(ApiError::bad_request(
            "sso_failed",
            format!("The identity provider answered {error}{detail}."),
        ));
    }
    let code = query.code.ok_or_else(|| {
        ApiError::bad_request("sso_failed", "The identity provider sent no code.")
    })?;
    let connection = match load_connection(state, pending.connection.clone()).await {
        Err(error) if error.code() == "not_found" => {
            return Err(ApiError::bad_request(
                "sso_failed",
                "The organization's single sign-on was removed meanwhile.",
            ))
        }
        other => other?,
    };
    let provider = provider(state, connection.as_ref())?;
    if provider.issuer != pending.issuer || provider.client_id != pending.client_id {
        return Err(ApiError::bad_request(
            "sso_failed",
            "The single sign-on changed during this sign-in: start again.",
        ));
    }
    let identity = state
        .oidc
        .finish(
            &provider,
            &state.public_link(SSO_CALLBACK_PATH),
            &code,
            &pending.verifier,
            &pending.nonce,
        )
        .await
        .map_err(provider_failed)?;
    let email = identity
        .email
        .as_deref()
        .and_then(|email| Email::parse(email).ok())
        .ok_or_else(|| {
            ApiError::bad_request(
                "sso_failed",
                "The identity provider gave no usable email address.",
            )
        })?;
    let assertion = Assertion {
        issuer: identity.issuer,
        subject: identity.subject,
        email,
        email_verified: identity.email_verified,
        role_values: identity.role_values,
    };
    // A link goes to the session that asked for it, still live in this browser.
    if let Some(link_to) = &pending.link_to {
        if signed_in_user(req, state).await.ok().as_ref() != Some(link_to) {
            return Err(invalid_state());
        }
    }
    let link_to = pending.link_to.clone();
    let signed_in_connection = connection.clone();
    let user = state
        .db(move |conn| {
            let privileged = Privileged::acquire("sign in through an identity provider");
            sign_in_identity(
                &privileged,
                conn,
                &trail,
                signed_in_connection.as_ref(),
                &assertion,
                link_to.as_deref(),
            )
        })
        .await?;
    // A first verification revokes the user's keys: this instance must not serve them cached.
    state.auth_cache.forget_keys();
    let (token, _) = sessions::start(
        &state.cache,
        &user.id,
        connection.map(|connection| connection.id),
    )
    .await
    .map_err(cache_unavailable)?;
    Ok(HttpResponse::Found()
        .insert_header((header::LOCATION, state.public_link(&pending.return_to)))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .cookie(host_cookie(
            sessions::SESSION_COOKIE,
            token,
            sessions::ABSOLUTE_LIMIT,
        ))
        .cookie(removal_cookie(SSO_COOKIE))
        .finish())
}
