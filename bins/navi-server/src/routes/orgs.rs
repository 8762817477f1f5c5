//! `POST /v1/orgs`, `GET /v1/org`, and the members of the current org.

use actix_web::{web, HttpResponse};
use navi_tenancy::members::{change_member_role, list_members, remove_member, MemberRow};
use navi_tenancy::orgs::{create_org, OrgRow};
use navi_tenancy::{OrgName, Role, Slug};
use serde::{Deserialize, Serialize};

use super::timestamp;
use crate::app::{resource, AppState};
use crate::audit_trail::Trail;
use crate::auth::{Authenticated, Scoped};
use crate::error::ApiError;
use crate::json::Json;

/// Mounts the routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/v1/orgs").post(create))
        .service(resource("/v1/org").get(current))
        .service(resource("/v1/org/members").get(members))
        .service(
            resource("/v1/org/members/{user_id}")
                .patch(change_role)
                .delete(remove),
        );
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateOrgRequest {
    name: String,
    #[serde(default)]
    slug: Option<String>,
}

#[derive(Debug, Serialize)]
struct OrgResponse {
    id: String,
    name: String,
    slug: String,
    owner_user_id: String,
    created_at: String,
}

impl From<OrgRow> for OrgResponse {
    fn from(org: OrgRow) -> Self {
        OrgResponse {
            id: org.id,
            name: org.name,
            slug: org.slug,
            owner_user_id: org.owner_user_id,
            created_at: timestamp(org.created_at),
        }
    }
}

#[derive(Debug, Serialize)]
struct MemberResponse {
    user_id: String,
    email: String,
    role: &'static str,
    joined_at: String,
}

impl From<MemberRow> for MemberResponse {
    fn from(member: MemberRow) -> Self {
        MemberResponse {
            user_id: member.user_id,
            email: member.email,
            role: member.role.as_str(),
            joined_at: timestamp(member.joined_at),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeRoleRequest {
    role: String,
}

async fn create(
    Authenticated(principal): Authenticated,
    Trail(trail): Trail,
    state: web::Data<AppState>,
    body: Json<CreateOrgRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let name = OrgName::parse(&body.name)?;
    let slug = body.slug.as_deref().map(Slug::parse).transpose()?;
    let (org, _) = state
        .db(move |conn| create_org(&principal, conn, &trail, &name, slug.as_ref()))
        .await?;
    Ok(HttpResponse::Created().json(OrgResponse::from(org)))
}

async fn current(Scoped { org, .. }: Scoped) -> HttpResponse {
    // The extractor resolved the org together with the caller's membership: no second read.
    HttpResponse::Ok().json(OrgResponse::from(org))
}

async fn members(
    Scoped { scope, .. }: Scoped,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let members = state.db(move |conn| list_members(&scope, conn)).await?;
    let members: Vec<MemberResponse> = members.into_iter().map(MemberResponse::from).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "members": members })))
}

async fn change_role(
    Scoped { scope, .. }: Scoped,
    Trail(trail): Trail,
    state: web::Data<AppState>,
    user_id: web::Path<String>,
    body: Json<ChangeRoleRequest>,
) -> Result<HttpResponse, ApiError> {
    let role: Role = body.role.parse()?;
    let user_id = user_id.into_inner();
    let member = state
        .db(move |conn| change_member_role(&scope, conn, &trail, &user_id, role))
        .await?;
    state.auth_cache.forget_contexts();
    Ok(HttpResponse::Ok().json(MemberResponse::from(member)))
}

async fn remove(
    Scoped { scope, .. }: Scoped,
    Trail(trail): Trail,
    state: web::Data<AppState>,
    user_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let user_id = user_id.into_inner();
    state
        .db(move |conn| remove_member(&scope, conn, &trail, &user_id))
        .await?;
    // The membership and the member's keys pinned to the org end at once on this instance.
    state.auth_cache.forget_contexts();
    state.auth_cache.forget_keys();
    Ok(HttpResponse::NoContent().finish())
}
