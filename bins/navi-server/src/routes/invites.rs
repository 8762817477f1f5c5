//! Invites of the current org, and `POST /v1/invites/accept`.
//!
//! The token goes to the admin (for their own mailer) and, when mail is configured, in a mail to
//! the invitee; neither lets anyone but the mailbox's owner join: accepting needs a principal
//! whose verified email is the invite's.

use actix_web::{web, HttpResponse};
use navi_tenancy::invites::{
    accept_invite, create_invite, list_pending_invites, revoke_invite, InviteRow,
};
use navi_tenancy::{Email, Privileged, Role};
use serde::{Deserialize, Serialize};

use super::timestamp;
use crate::app::{resource, AppState};
use crate::audit_trail::Trail;
use crate::auth::{Authenticated, Scoped};
use crate::error::ApiError;
use crate::json::Json;
use crate::routes::auth::MAILS_PER_HOUR;

/// The most invite mails an org sends in an hour.
pub const INVITE_MAILS_PER_ORG_HOUR: u64 = 20;

/// Mounts the routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/v1/org/invites").post(create).get(list))
        .service(resource("/v1/org/invites/{id}").delete(revoke))
        .service(resource("/v1/invites/accept").get(accept_page).post(accept));
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateInviteRequest {
    email: String,
    role: String,
}

#[derive(Debug, Serialize)]
struct CreatedInviteResponse {
    id: String,
    email: String,
    role: String,
    token: String,
    expires_at: String,
}

#[derive(Debug, Serialize)]
struct InviteResponse {
    id: String,
    email: String,
    role: String,
    created_by: String,
    created_at: String,
    expires_at: String,
}

impl From<InviteRow> for InviteResponse {
    fn from(invite: InviteRow) -> Self {
        InviteResponse {
            id: invite.id,
            email: invite.email,
            role: invite.role,
            created_by: invite.created_by,
            created_at: timestamp(invite.created_at),
            expires_at: timestamp(invite.expires_at),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AcceptRequest {
    token: String,
}

#[derive(Debug, Serialize)]
struct AcceptedResponse {
    org_id: String,
    user_id: String,
    role: &'static str,
}

async fn create(
    Scoped { scope, org, .. }: Scoped,
    Trail(trail): Trail,
    state: web::Data<AppState>,
    body: Json<CreateInviteRequest>,
) -> Result<HttpResponse, ApiError> {
    let email = Email::parse(&body.email)?;
    let role = match body.role.as_str() {
        "admin" => Role::Admin,
        "member" => Role::Member,
        _ => return Err(ApiError::invalid_request("role: one of admin, member")),
    };
    let org_name = org.name.clone();
    let (invite, token) = state
        .db(move |conn| create_invite(&scope, conn, &trail, &email, role))
        .await?;
    mail_invite(&state, &invite, &org_name, token.expose()).await;
    Ok(HttpResponse::Created().json(CreatedInviteResponse {
        id: invite.id,
        email: invite.email,
        role: invite.role,
        token: token.expose().to_owned(),
        expires_at: timestamp(invite.expires_at),
    }))
}

/// Mails the invite when mail is configured, within the sign-in mail limits: an invite mail
/// counts toward its recipient's [`MAILS_PER_HOUR`] as a sign-in mail does, and an org mails at
/// most [`INVITE_MAILS_PER_ORG_HOUR`] invites an hour, so nobody can make Navi a mailer of their
/// own. A mail that cannot (or may not) go is logged, not an error: the invite exists and the
/// admin holds its token.
async fn mail_invite(state: &AppState, invite: &InviteRow, org_name: &str, token: &str) {
    if !state.mailer.is_configured() {
        return;
    }
    let hour = std::time::Duration::from_secs(3600);
    let counted = async {
        let org = state
            .cache
            .count(&format!("mail-org:{}", invite.org_id), hour)
            .await?;
        if org > INVITE_MAILS_PER_ORG_HOUR {
            return Ok(false);
        }
        let recipient = state
            .cache
            .count(&crate::routes::auth::recipient_counter(&invite.email), hour)
            .await?;
        Ok::<bool, navi_cache::CacheError>(recipient <= MAILS_PER_HOUR)
    };
    match counted.await {
        Ok(true) => {}
        Ok(false) => {
            tracing::warn!(invite_id = %invite.id, "invite not mailed: over the hourly mail limit");
            return;
        }
        Err(error) => {
            tracing::warn!(%error, invite_id = %invite.id, "invite not mailed: the cache is unavailable");
            return;
        }
    }
    let link = state.public_link(&format!("/v1/invites/accept#token={token}"));
    let text = format!(
        "You are invited to join {org_name} on Navi as {role}.\n\n\
         Open this link within 7 days, sign in as {email} there, and accept:\n\n{link}\n",
        role = invite.role,
        email = invite.email,
    );
    // The org's name is the inviter's text: kept out of the subject line.
    let subject = "You are invited to an organization on Navi";
    if let Err(error) = state.mailer.send(&invite.email, subject, text).await {
        tracing::warn!(%error, invite_id = %invite.id, "invite mail not sent");
    }
}

async fn list(
    Scoped { scope, .. }: Scoped,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let invites = state
        .db(move |conn| list_pending_invites(&scope, conn))
        .await?;
    let invites: Vec<InviteResponse> = invites.into_iter().map(InviteResponse::from).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "invites": invites })))
}

async fn revoke(
    Scoped { scope, .. }: Scoped,
    Trail(trail): Trail,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    state
        .db(move |conn| revoke_invite(&scope, conn, &trail, &id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The page an invite mail links to: signed in, it accepts with the session (its CSRF token, from
/// `GET /v1/auth/session`); else it asks for the address and sends a sign-in link, after which
/// the invite link is opened again.
async fn accept_page() -> HttpResponse {
    super::page("Join an organization on Navi", ACCEPT_SCRIPT)
}

const ACCEPT_SCRIPT: &str = r#"
const token = new URLSearchParams(location.hash.slice(1)).get("token") || "";
const post = (path, body, csrf) => fetch(path, {
  method: "POST",
  credentials: "same-origin",
  headers: Object.assign({"Content-Type": "application/json"}, csrf ? {"X-Navi-CSRF": csrf} : {}),
  body: JSON.stringify(body),
}).then(async (response) => ({ok: response.ok, body: await response.json()}));
const button = (label, onclick) => {
  const element = document.createElement("button");
  element.textContent = label;
  element.onclick = onclick;
  document.getElementById("form").replaceChildren(element);
  return element;
};
fetch("/v1/auth/session", {credentials: "same-origin"}).then(async (response) => {
  if (response.ok) {
    const session = await response.json();
    say("Signed in as " + session.user.email + ".");
    button("Accept the invite", async () => {
      const reply = await post("/v1/invites/accept", {token}, session.csrf_token);
      say(reply.ok ? "You joined the organization as " + reply.body.role + "." : reply.body.error.message);
    });
  } else {
    say("Sign in with the invited address first: Navi mails you a link.");
    const email = document.createElement("input");
    email.type = "email";
    email.placeholder = "you@example.com";
    const form = document.getElementById("form");
    button("Email me a sign-in link", async () => {
      const reply = await post("/v1/auth/email/start", {email: email.value});
      say(reply.ok ? "Check your mail, open the link in this browser, then open the invite link again." : reply.body.error.message);
    });
    form.prepend(email);
  }
}, () => say("Navi cannot be reached; try again."));
"#;

async fn accept(
    Authenticated(caller): Authenticated,
    Trail(trail): Trail,
    state: web::Data<AppState>,
    body: Json<AcceptRequest>,
) -> Result<HttpResponse, ApiError> {
    let token = body.into_inner().token;
    let accepted = state
        .db(move |conn| {
            let privileged = Privileged::acquire("accept an invite");
            accept_invite(&privileged, conn, &trail, &token, &caller)
        })
        .await?;
    Ok(HttpResponse::Created().json(AcceptedResponse {
        org_id: accepted.org_id,
        user_id: accepted.user_id,
        role: accepted.role.as_str(),
    }))
}
