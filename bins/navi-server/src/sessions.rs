//! Browser sessions, kept in `navi-cache` (shared by every instance, so a logout is seen
//! everywhere at once; no instance keeps a copy).
//!
//! The cookie `__Host-navi_session` holds an opaque 256-bit token; the cache holds, by the token's
//! SHA-256, the session (`session:<hash>`, for the absolute limit [`ABSOLUTE_LIMIT`]) and when it
//! was last seen (`session-seen:<hash>`, for the idle limit [`IDLE_LIMIT`], refreshed at most
//! once a minute). A session needs both: a logout deletes both, and a refresh racing it can
//! bring back only the second. The database has the last word on every request
//! ([`navi_tenancy::users::session_principal`]): "sign out everywhere" and a first email
//! verification end the sessions made before them there.

use std::time::Duration;

use actix_web::cookie::{time, Cookie, SameSite};
use base64::Engine;
use chrono::NaiveDateTime;
use navi_cache::{Cache, CacheError};
use navi_tenancy::users::SessionFacts;
use ring::digest;
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};

/// The session cookie.
pub const SESSION_COOKIE: &str = "__Host-navi_session";
/// The header that carries a session's CSRF token on unsafe methods.
pub const CSRF_HEADER: &str = "X-Navi-CSRF";
/// A session ends after this long without a request.
pub const IDLE_LIMIT: Duration = Duration::from_secs(12 * 3600);
/// A session ends this long after its sign-in, however active.
pub const ABSOLUTE_LIMIT: Duration = Duration::from_secs(7 * 24 * 3600);
/// How stale the last-seen mark may get before a request refreshes it.
const SEEN_REFRESH: chrono::TimeDelta = chrono::TimeDelta::minutes(1);

/// 256 random bits, base64url without padding (43 characters).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    // The system RNG only fails when the OS cannot provide randomness at all; nothing secure
    // can continue then.
    SystemRandom::new()
        .fill(&mut bytes)
        .expect("the operating system's random number generator failed");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The hex SHA-256 of the parts, each preceded by its length (so no two lists collide): how
/// single-use values are keyed in the cache, never by the value itself.
pub fn digest_of(parts: &[&str]) -> String {
    let mut context = digest::Context::new(&digest::SHA256);
    for part in parts {
        context.update(&(part.len() as u64).to_be_bytes());
        context.update(part.as_bytes());
    }
    context
        .finish()
        .as_ref()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// What the cache holds of a session. `Debug` leaves the CSRF token out.
#[derive(Clone, Serialize, Deserialize)]
pub struct Session {
    /// Its user.
    pub user_id: String,
    /// When it was made: its user signed in then.
    pub created_at: NaiveDateTime,
    /// The token unsafe requests must carry in [`CSRF_HEADER`].
    pub csrf: String,
    /// The SSO connection it was made through, if any.
    pub sso_connection: Option<String>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("user_id", &self.user_id)
            .field("created_at", &self.created_at)
            .field("sso_connection", &self.sso_connection)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// What the database checks of it.
    pub fn facts(&self) -> SessionFacts {
        SessionFacts {
            user_id: self.user_id.clone(),
            created_at: self.created_at,
            sso_connection: self.sso_connection.clone(),
        }
    }

    /// When it ends however active it is.
    pub fn absolute_end(&self) -> NaiveDateTime {
        self.created_at + to_delta(ABSOLUTE_LIMIT)
    }
}

fn to_delta(duration: Duration) -> chrono::TimeDelta {
    chrono::TimeDelta::from_std(duration).unwrap_or(chrono::TimeDelta::MAX)
}

fn session_key(token: &str) -> String {
    format!("session:{}", digest_of(&[token]))
}

fn seen_key(token: &str) -> String {
    format!("session-seen:{}", digest_of(&[token]))
}

/// Starts a session for `user_id`: its token (for the cookie) and the session.
pub async fn start(
    cache: &Cache,
    user_id: &str,
    sso_connection: Option<String>,
) -> Result<(String, Session), CacheError> {
    let token = random_token();
    let session = Session {
        user_id: user_id.to_owned(),
        created_at: navi_tenancy::now(),
        csrf: random_token(),
        sso_connection,
    };
    cache
        .set_json(&session_key(&token), &session, ABSOLUTE_LIMIT)
        .await?;
    cache
        .set_json(&seen_key(&token), &session.created_at, IDLE_LIMIT)
        .await?;
    Ok((token, session))
}

/// The live session of `token`, its last-seen mark refreshed when a minute old; `None` when
/// unknown, ended, or idle or old past its limits.
pub async fn find(cache: &Cache, token: &str) -> Result<Option<Session>, CacheError> {
    let Some(session) = cache.get_json::<Session>(&session_key(token)).await? else {
        return Ok(None);
    };
    let Some(seen) = cache.get_json::<NaiveDateTime>(&seen_key(token)).await? else {
        return Ok(None);
    };
    let now = navi_tenancy::now();
    if now >= session.absolute_end() || now - seen >= to_delta(IDLE_LIMIT) {
        return Ok(None);
    }
    if now - seen >= SEEN_REFRESH {
        let left = (session.absolute_end() - now)
            .to_std()
            .unwrap_or(Duration::ZERO)
            .min(IDLE_LIMIT);
        if !left.is_zero() {
            cache.set_json(&seen_key(token), &now, left).await?;
        }
    }
    Ok(Some(session))
}

/// Ends the session of `token`.
pub async fn end(cache: &Cache, token: &str) -> Result<(), CacheError> {
    cache.delete(&session_key(token)).await?;
    cache.delete(&seen_key(token)).await?;
    Ok(())
}

/// A `__Host-` cookie: Secure, HttpOnly, Path=/, SameSite=Lax, living `max_age`.
pub fn host_cookie(name: &'static str, value: String, max_age: Duration) -> Cookie<'static> {
    Cookie::build(name, value)
        .secure(true)
        .http_only(true)
        .path("/")
        .same_site(SameSite::Lax)
        .max_age(time::Duration::seconds(
            i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX),
        ))
        .finish()
}

/// The cookie that tells the browser to drop `name`.
pub fn removal_cookie(name: &'static str) -> Cookie<'static> {
    let mut cookie = host_cookie(name, String::new(), Duration::ZERO);
    cookie.make_removal();
    cookie
}
