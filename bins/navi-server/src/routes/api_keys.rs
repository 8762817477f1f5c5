//! `POST/GET /v1/api-keys`, rotation and revocation.

use actix_web::{web, HttpResponse};
use navi_tenancy::api_keys::{
    create_api_key, list_api_keys, revoke_api_key, rotate_api_key, ApiKeyRow, ApiKeySecret,
    NewApiKey,
};
use serde::{Deserialize, Serialize};

use super::{optional_timestamp, timestamp};
use crate::app::{resource, AppState};
use crate::audit_trail::Trail;
use crate::auth::Scoped;
use crate::error::ApiError;
use crate::json::Json;

/// Mounts the routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/v1/api-keys").post(create).get(list))
        .service(resource("/v1/api-keys/{id}").delete(revoke))
        .service(resource("/v1/api-keys/{id}/rotate").post(rotate));
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateKeyRequest {
    name: String,
    #[serde(default)]
    pinned: Option<bool>,
    #[serde(default)]
    expires_in_days: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RotateRequest {
    grace_seconds: u32,
}

#[derive(Debug, Serialize)]
struct CreatedKeyResponse {
    id: String,
    name: String,
    prefix: String,
    api_key: String,
    org_id: Option<String>,
    created_at: String,
    expires_at: Option<String>,
}

impl CreatedKeyResponse {
    fn new(row: ApiKeyRow, key: &ApiKeySecret) -> Self {
        CreatedKeyResponse {
            id: row.id,
            name: row.name,
            prefix: row.prefix,
            api_key: key.expose().to_owned(),
            org_id: row.org_id,
            created_at: timestamp(row.created_at),
            expires_at: optional_timestamp(row.expires_at),
        }
    }
}

#[derive(Debug, Serialize)]
struct KeyResponse {
    id: String,
    name: String,
    prefix: String,
    user_id: String,
    org_id: Option<String>,
    created_at: String,
    expires_at: Option<String>,
    last_used_at: Option<String>,
}

impl From<ApiKeyRow> for KeyResponse {
    fn from(row: ApiKeyRow) -> Self {
        KeyResponse {
            id: row.id,
            name: row.name,
            prefix: row.prefix,
            user_id: row.user_id,
            org_id: row.org_id,
            created_at: timestamp(row.created_at),
            expires_at: optional_timestamp(row.expires_at),
            last_used_at: optional_timestamp(row.last_used_at),
        }
    }
}

async fn create(
    Scoped {
        principal, scope, ..
    }: Scoped,
    Trail(trail): Trail,
    state: web::Data<AppState>,
    body: Json<CreateKeyRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let pepper = state.pepper.clone();
    let (row, key) = state
        .db(move |conn| {
            let new = NewApiKey {
                name: &body.name,
                pinned: body.pinned.unwrap_or(true),
                expires_in_days: body.expires_in_days,
            };
            create_api_key(&scope, &principal, conn, &trail, &pepper, &new)
        })
        .await?;
    Ok(HttpResponse::Created().json(CreatedKeyResponse::new(row, &key)))
}

async fn list(
    Scoped { scope, .. }: Scoped,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let keys = state.db(move |conn| list_api_keys(&scope, conn)).await?;
    let keys: Vec<KeyResponse> = keys.into_iter().map(KeyResponse::from).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "api_keys": keys })))
}

async fn rotate(
    Scoped {
        principal, scope, ..
    }: Scoped,
    Trail(trail): Trail,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: Json<RotateRequest>,
) -> Result<HttpResponse, ApiError> {
    let (id, grace_seconds) = (id.into_inner(), body.grace_seconds);
    let pepper = state.pepper.clone();
    let (row, key) = state
        .db(move |conn| {
            rotate_api_key(
                &scope,
                &principal,
                conn,
                &trail,
                &pepper,
                &id,
                grace_seconds,
            )
        })
        .await?;
    state.auth_cache.forget_keys();
    Ok(HttpResponse::Created().json(CreatedKeyResponse::new(row, &key)))
}

async fn revoke(
    Scoped {
        principal, scope, ..
    }: Scoped,
    Trail(trail): Trail,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    state
        .db(move |conn| revoke_api_key(&scope, &principal, conn, &trail, &id))
        .await?;
    // Revocation takes effect at once on this instance.
    state.auth_cache.forget_keys();
    Ok(HttpResponse::NoContent().finish())
}
