//! One module per resource. Each exposes `configure`, mounted by [`crate::app::build_app`].
//! Wire types live here, never in the library crates: rows are not responses.

pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod health;
pub mod invites;
pub mod limits;
pub mod mcp_servers;
pub mod oidc;
pub mod orgs;
pub mod sso;
pub mod usage;

use actix_web::http::header;
use actix_web::HttpResponse;
use chrono::{NaiveDateTime, SecondsFormat};
use serde::{Deserialize, Deserializer};

/// For `#[serde(default, deserialize_with = "present")]` on an `Option<Option<T>>`: tells a
/// present `null` (`Some(None)`) from an absent field (`None`).
pub(crate) fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// A small page of Navi's own (the steps of sign-in that a browser must take itself): a `<p>`
/// that `say(text)` fills, and `script`, the only script the page's policy lets run (by a nonce
/// made for this response). It talks to this origin only and cannot be framed.
pub(crate) fn page(title: &str, script: &str) -> HttpResponse {
    let nonce = crate::sessions::random_token();
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         <meta name=\"viewport\" content=\"width=device-width\"></head>\n<body><main><h1>{title}</h1>\
         <p id=\"status\"></p><div id=\"form\"></div></main>\n<script nonce=\"{nonce}\">\n\
         const status = document.getElementById(\"status\");\n\
         const say = (text) => {{ status.textContent = text; }};\n{script}</script></body></html>\n"
    );
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            format!(
                "default-src 'none'; script-src 'nonce-{nonce}'; connect-src 'self'; \
                 frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
            ),
        ))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .body(html)
}

/// A stored naive-UTC timestamp as the API writes it: RFC 3339 with `Z`, whole seconds.
pub(crate) fn timestamp(at: NaiveDateTime) -> String {
    at.and_utc().to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub(crate) fn optional_timestamp(at: Option<NaiveDateTime>) -> Option<String> {
    at.map(timestamp)
}
