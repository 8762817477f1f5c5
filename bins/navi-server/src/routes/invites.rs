//! Invites of the current org, and `POST /v1/invites/accept`.

use actix_web::{web, HttpResponse};
use navi_tenancy::invites::{
    accept_invite, create_invite, list_pending_invites, revoke_invite, InviteRow,
};
use navi_tenancy::{Email, Privileged, Role};
use serde::{Deserialize, Serialize};

use super::timestamp;
use crate::app::{resource, AppState};
use crate::audit_trail::Trail;
use crate::auth::{MaybeAuthenticated, Scoped};
use crate::error::ApiError;
use crate::json::Json;

/// Mounts the routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/v1/org/invites").post(create).get(list))
        .service(resource("/v1/org/invites/{id}").delete(revoke))
        .service(resource("/v1/invites/accept").post(accept));
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
    #[serde(skip_serializing_if = "Option::is_none")]
    api_key: Option<String>,
}

async fn create(
    Scoped { scope, .. }: Scoped,
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
    let (invite, token) = state
        .db(move |conn| create_invite(&scope, conn, &trail, &email, role))
        .await?;
    Ok(HttpResponse::Created().json(CreatedInviteResponse {
        id: invite.id,
        email: invite.email,
        role: invite.role,
        token: token.expose().to_owned(),
        expires_at: timestamp(invite.expires_at),
    }))
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

async fn accept(
    MaybeAuthenticated(caller): MaybeAuthenticated,
    Trail(trail): Trail,
    state: web::Data<AppState>,
    body: Json<AcceptRequest>,
) -> Result<HttpResponse, ApiError> {
    let token = body.into_inner().token;
    let pepper = state.pepper.clone();
    let accepted = state
        .db(move |conn| {
            let privileged = Privileged::acquire("accept an invite");
            accept_invite(&privileged, conn, &trail, &pepper, &token, &caller)
        })
        .await?;
    Ok(HttpResponse::Created().json(AcceptedResponse {
        org_id: accepted.org_id,
        user_id: accepted.user_id,
        role: accepted.role.as_str(),
        api_key: accepted.api_key.map(|key| key.expose().to_owned()),
    }))
}
