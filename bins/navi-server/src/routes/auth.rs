//! Human sign-in: email links, and the session they make.
//!
//! - `POST /v1/auth/email/start {"email"}`: 202 whatever the address (no answer says whether it
//!   has an account), a cookie `__Host-navi_email` that binds the link to this browser, and a mail
//!   with a single-use link (15 minutes). At most [`MAILS_PER_HOUR`] mails per recipient and per
//!   client address (an IPv6 client per /64) an hour: 429 `rate_limited`.
//! - `GET /v1/auth/email/confirm`: the page the link opens; it confirms with a POST, so a mail
//!   scanner's GET signs nobody in.
//! - `POST /v1/auth/email/confirm {"token"}`: from `NAVI_PUBLIC_URL`'s origin, with the cookie of
//!   the browser that asked: the link is consumed (`getdel`, keyed by a digest of token and
//!   cookie, so a request without that cookie consumes nothing), the email verified, a session
//!   made.
//! - `GET /v1/auth/session`, `POST /v1/auth/logout`, `DELETE /v1/auth/sessions`.
//!
//! The email steps are limited under `sign_in` per client address, and a link that does not
//! confirm counts under `auth_failures` ([`crate::rate_limits`]).

use std::time::Duration;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use navi_tenancy::audit::AuditTrail;
use navi_tenancy::users::{end_sessions, own_user, session_principal, verify_email, Membership};
use navi_tenancy::{Email, Principal, Privileged};
use serde::{Deserialize, Serialize};

use super::{optional_timestamp, timestamp};
use crate::app::{resource, AppState};
use crate::audit_trail::{request_client_ip, Trail};
use crate::auth::{check_origin, Authenticated, SignedIn};
use crate::error::ApiError;
use crate::json::Json;
use crate::mail::MailError;
use crate::rate_limits::{self, SignInAttempt};
use crate::sessions::{self, digest_of, host_cookie, random_token, removal_cookie, Session};

/// Where identity providers send people back (register `NAVI_PUBLIC_URL` + this path).
pub const SSO_CALLBACK_PATH: &str = "/v1/auth/sso/callback";

/// The cookie that binds an email link to the browser that asked for it.
pub const EMAIL_COOKIE: &str = "__Host-navi_email";
/// How long an email link (and its cookie) lives.
pub const EMAIL_LINK_LIFETIME: Duration = Duration::from_secs(15 * 60);
/// The most sign-in mails per recipient, and per client address, in an hour.
pub const MAILS_PER_HOUR: u64 = 5;

/// Mounts the routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/v1/auth/email/start").post(email_start))
        .service(
            resource("/v1/auth/email/confirm")
                .get(email_confirm_page)
                .post(email_confirm),
        )
        .service(resource("/v1/auth/session").get(current_session))
        .service(resource("/v1/auth/logout").post(logout))
        .service(resource("/v1/auth/sessions").delete(end_all_sessions));
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EmailStartRequest {
    email: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EmailConfirmRequest {
    token: String,
}

impl std::fmt::Debug for EmailConfirmRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EmailConfirmRequest { token: <redacted> }")
    }
}

/// What the cache holds of an email link, under a digest of its token and its browser's cookie.
#[derive(Debug, Serialize, Deserialize)]
struct EmailLink {
    email: String,
}

fn email_link_key(token: &str, browser: &str) -> String {
    format!("email-link:{}", digest_of(&[token, browser]))
}

/// The counter of mails to `email` (sign-in links and invites alike).
pub fn recipient_counter(email: &str) -> String {
    format!("mail-recipient:{}", digest_of(&[email]))
}

/// The cache failing on a sign-in step fails it closed.
pub(crate) fn cache_unavailable(error: navi_cache::CacheError) -> ApiError {
    tracing::warn!(%error, "the cache is unavailable to sign-in");
    ApiError::unavailable("Sign-in is unavailable right now; try again shortly.")
}

async fn email_start(
    _: SignInAttempt,
    req: HttpRequest,
    state: web::Data<AppState>,
    body: Json<EmailStartRequest>,
) -> Result<HttpResponse, ApiError> {
    let email = Email::parse(&body.email)?;
    if !state.mailer.is_configured() {
        return Err(ApiError::unavailable(
            "Email sign-in needs mail, and the operator has not configured NAVI_SMTP_URL.",
        ));
    }
    let window = Duration::from_secs(3600);
    let client = rate_limits::client_group(request_client_ip(&req, &state.config.trusted_proxies));
    let from_client = state
        .cache
        .count(&format!("mail-client:{client}"), window)
        .await
        .map_err(cache_unavailable)?;
    if from_client > MAILS_PER_HOUR {
        return Err(ApiError::rate_limited(format!(
            "At most {MAILS_PER_HOUR} sign-in mails an hour from one address: try again later."
        )));
    }
    let to_recipient = state
        .cache
        .count(&recipient_counter(email.as_str()), window)
        .await
        .map_err(cache_unavailable)?;
    if to_recipient > MAILS_PER_HOUR {
        return Err(ApiError::rate_limited(format!(
            "At most {MAILS_PER_HOUR} sign-in mails an hour to one address: use a link already \
             sent, or try again later."
        )));
    }

    let (token, browser) = (random_token(), random_token());
    let link = EmailLink {
        email: email.as_str().to_owned(),
    };
    state
        .cache
        .set_json(
            &email_link_key(&token, &browser),
            &link,
            EMAIL_LINK_LIFETIME,
        )
        .await
        .map_err(cache_unavailable)?;
    let url = state.public_link(&format!("/v1/auth/email/confirm#token={token}"));
    let text = format!(
        "Someone, hopefully you, asked to sign in to Navi as {email}.\n\n\
         Open this link in the browser where you asked, within 15 minutes:\n\n{url}\n\n\
         If it was not you, ignore this message: nobody can use the link without that browser.\n",
        email = email.as_str()
    );
    match state
        .mailer
        .send(email.as_str(), "Your Navi sign-in link", text)
        .await
    {
        Ok(()) => {}
        // Answered as if sent: the answer must not say which addresses the relay knows.
        Err(error @ MailError::Refused(_)) => tracing::warn!(%error, "sign-in mail refused"),
        Err(error) => {
            tracing::warn!(%error, "sign-in mail not sent");
            return Err(ApiError::unavailable(
                "Mail cannot be sent right now; try again shortly.",
            ));
        }
    }
    Ok(HttpResponse::Accepted()
        .cookie(host_cookie(EMAIL_COOKIE, browser, EMAIL_LINK_LIFETIME))
        .json(serde_json::json!({
            "message": "If this address can receive mail, a sign-in link is on its way. Open it \
                        in this browser within 15 minutes."
        })))
}

/// The page an email link opens: it sends the token (from the fragment, which never reaches a
/// server log) with a POST.
async fn email_confirm_page(_: SignInAttempt) -> HttpResponse {
    super::page("Sign in to Navi", CONFIRM_SCRIPT)
}

const CONFIRM_SCRIPT: &str = r#"
const token = new URLSearchParams(location.hash.slice(1)).get("token") || "";
history.replaceState(null, "", location.pathname);
fetch("/v1/auth/email/confirm", {
  method: "POST",
  credentials: "same-origin",
  headers: {"Content-Type": "application/json"},
  body: JSON.stringify({token}),
}).then(async (response) => {
  const body = await response.json();
  say(response.ok
    ? "You are signed in as " + body.user.email + ". If you came from an invite, open its link again."
    : body.error.message);
}, () => say("Navi cannot be reached; try again."));
"#;

async fn email_confirm(
    _: SignInAttempt,
    req: HttpRequest,
    Trail(trail): Trail,
    state: web::Data<AppState>,
    body: Json<EmailConfirmRequest>,
) -> Result<HttpResponse, ApiError> {
    let result = confirm_email_link(&req, trail, &state, &body.token).await;
    rate_limits::count_failure(&state, &req, &["invalid_token"], result).await
}

/// The session of a sign-in link's token, opened in the browser that asked for it.
async fn confirm_email_link(
    req: &HttpRequest,
    trail: AuditTrail,
    state: &AppState,
    token: &str,
) -> Result<HttpResponse, ApiError> {
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|value| value.to_str().ok());
    check_origin(state, origin)?;
    let invalid = || {
        ApiError::bad_request(
            "invalid_token",
            "The sign-in link is unknown, used or expired, or was opened in another browser than \
             the one that asked for it: ask for a new one there.",
        )
    };
    let browser = req.cookie(EMAIL_COOKIE).ok_or_else(invalid)?;
    let link: EmailLink = state
        .cache
        .getdel_json(&email_link_key(token, browser.value()))
        .await
        .map_err(cache_unavailable)?
        .ok_or_else(invalid)?;
    let email = Email::parse(&link.email)?;
    let user = state
        .db(move |conn| {
            let privileged = Privileged::acquire("verify an email through its mailbox");
            verify_email(&privileged, conn, &trail, &email)
        })
        .await?;
    // A first verification revokes the user's keys: this instance must not serve them from its
    // cache (other instances stop within their cache's TTL).
    state.auth_cache.forget_keys();
    let (token, session) = sessions::start(&state.cache, &user.id, None)
        .await
        .map_err(cache_unavailable)?;
    let facts = session.facts();
    let principal = state
        .db(move |conn| {
            let privileged = Privileged::acquire("resolve a browser session");
            session_principal(&privileged, conn, &facts)
        })
        .await?;
    let body = session_body(state, principal, &session).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .cookie(host_cookie(
            sessions::SESSION_COOKIE,
            token,
            sessions::ABSOLUTE_LIMIT,
        ))
        .cookie(removal_cookie(EMAIL_COOKIE))
        .json(body))
}

#[derive(Debug, Serialize)]
struct SessionResponse {
    user: UserResponse,
    orgs: Vec<OrgResponse>,
    csrf_token: String,
    signed_in_at: String,
    expires_at: String,
}

#[derive(Debug, Serialize)]
struct UserResponse {
    id: String,
    email: String,
    email_verified_at: Option<String>,
}

#[derive(Debug, Serialize)]
struct OrgResponse {
    id: String,
    slug: String,
    name: String,
    role: &'static str,
}

impl From<Membership> for OrgResponse {
    fn from(membership: Membership) -> Self {
        OrgResponse {
            id: membership.org_id,
            slug: membership.slug,
            name: membership.name,
            role: membership.role.as_str(),
        }
    }
}

/// The session's user, orgs and CSRF token, as the database has them now.
async fn session_body(
    state: &AppState,
    principal: Principal,
    session: &Session,
) -> Result<SessionResponse, ApiError> {
    let (user, orgs) = state.db(move |conn| own_user(conn, &principal)).await?;
    Ok(SessionResponse {
        user: UserResponse {
            id: user.id,
            email: user.email,
            email_verified_at: optional_timestamp(user.email_verified_at),
        },
        orgs: orgs.into_iter().map(OrgResponse::from).collect(),
        csrf_token: session.csrf.clone(),
        signed_in_at: timestamp(session.created_at),
        expires_at: timestamp(session.absolute_end()),
    })
}

async fn current_session(
    SignedIn {
        principal, session, ..
    }: SignedIn,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(session_body(&state, principal, &session).await?))
}

async fn logout(
    SignedIn { token, .. }: SignedIn,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    sessions::end(&state.cache, &token)
        .await
        .map_err(cache_unavailable)?;
    Ok(HttpResponse::NoContent()
        .cookie(removal_cookie(sessions::SESSION_COOKIE))
        .finish())
}

/// Ends every session of the caller's user (a session, or a key not pinned to an org).
async fn end_all_sessions(
    req: HttpRequest,
    Authenticated(principal): Authenticated,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    state.db(move |conn| end_sessions(conn, &principal)).await?;
    let mut response = HttpResponse::NoContent();
    if let Some(cookie) = req.cookie(sessions::SESSION_COOKIE) {
        sessions::end(&state.cache, cookie.value())
            .await
            .map_err(cache_unavailable)?;
        response.cookie(removal_cookie(sessions::SESSION_COOKIE));
    }
    Ok(response.finish())
}
