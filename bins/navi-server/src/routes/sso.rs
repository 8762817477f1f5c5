//! `/v1/org/sso/connections` (owner): an org's OpenID Connect connections. Responses carry
//! `has_client_secret`, never the secret.

use actix_web::{web, HttpResponse};
use navi_tenancy::sso::{
    create_connection, delete_connection, find_connection, list_connections, update_connection,
    ClientSecretChange, ConnectionRow, ConnectionSpec, RoleValues,
};
use serde::{Deserialize, Serialize};

use super::timestamp;
use crate::app::{resource, AppState};
use crate::audit_trail::Trail;
use crate::auth::Scoped;
use crate::error::ApiError;
use crate::json::Json;

/// Mounts the routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/v1/org/sso/connections").post(create).get(list))
        .service(
            resource("/v1/org/sso/connections/{id}")
                .get(show)
                .put(update)
                .delete(remove),
        );
}

/// The body of POST and PUT. `client_secret` absent keeps it (PUT), `null` clears it, a string
/// sets it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConnectionRequest {
    issuer: String,
    client_id: String,
    #[serde(default, deserialize_with = "super::present")]
    client_secret: Option<Option<String>>,
    #[serde(default)]
    first_role: Option<String>,
    #[serde(default)]
    role_claim: Option<String>,
    #[serde(default)]
    role_values: RoleValues,
    #[serde(default)]
    enforced: bool,
}

impl ConnectionRequest {
    /// The validated connection; its issuer must also be one this deployment may reach (https
    /// to a public host, unless Navi itself runs on loopback).
    fn spec(&self, state: &AppState) -> Result<ConnectionSpec, ApiError> {
        state
            .oidc
            .check_url(&self.issuer)
            .map_err(|error| ApiError::invalid_request(format!("issuer: {error}.")))?;
        Ok(ConnectionSpec::parse(
            &self.issuer,
            &self.client_id,
            self.first_role.as_deref().unwrap_or("member"),
            self.role_claim.as_deref(),
            self.role_values.clone(),
            self.enforced,
        )?)
    }

    fn secret_change(&self) -> ClientSecretChange {
        match &self.client_secret {
            None => ClientSecretChange::Keep,
            Some(None) => ClientSecretChange::Clear,
            Some(Some(secret)) => ClientSecretChange::Set(secret.clone()),
        }
    }
}

#[derive(Debug, Serialize)]
struct ConnectionResponse {
    id: String,
    issuer: String,
    client_id: String,
    has_client_secret: bool,
    first_role: &'static str,
    role_claim: Option<String>,
    role_values: RoleValues,
    enforced: bool,
    /// What to register at the provider as the redirect URI.
    redirect_uri: String,
    created_at: String,
    updated_at: String,
}

fn response(state: &AppState, row: ConnectionRow) -> ConnectionResponse {
    ConnectionResponse {
        id: row.id,
        issuer: row.issuer,
        client_id: row.client_id,
        has_client_secret: row.has_client_secret,
        first_role: row.first_role.as_str(),
        role_claim: row.role_claim,
        role_values: row.role_values,
        enforced: row.enforced,
        redirect_uri: state.public_link(crate::routes::auth::SSO_CALLBACK_PATH),
        created_at: timestamp(row.created_at),
        updated_at: timestamp(row.updated_at),
    }
}

async fn create(
    Scoped { scope, .. }: Scoped,
    Trail(trail): Trail,
    state: web::Data<AppState>,
    body: Json<ConnectionRequest>,
) -> Result<HttpResponse, ApiError> {
    let spec = body.spec(&state)?;
    let secret = match body.secret_change() {
        ClientSecretChange::Set(secret) => Some(secret),
        ClientSecretChange::Keep | ClientSecretChange::Clear => None,
    };
    let keyring = state.keyring.clone();
    let row = state
        .db(move |conn| create_connection(&scope, conn, &trail, &keyring, &spec, secret.as_deref()))
        .await?;
    Ok(HttpResponse::Created().json(response(&state, row)))
}

async fn list(
    Scoped { scope, .. }: Scoped,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let rows = state.db(move |conn| list_connections(&scope, conn)).await?;
    let connections: Vec<ConnectionResponse> =
        rows.into_iter().map(|row| response(&state, row)).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "connections": connections })))
}

async fn show(
    Scoped { scope, .. }: Scoped,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let row = state
        .db(move |conn| find_connection(&scope, conn, &id))
        .await?;
    Ok(HttpResponse::Ok().json(response(&state, row)))
}

async fn update(
    Scoped { scope, .. }: Scoped,
    Trail(trail): Trail,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: Json<ConnectionRequest>,
) -> Result<HttpResponse, ApiError> {
    let (spec, secret) = (body.spec(&state)?, body.secret_change());
    let (id, keyring) = (id.into_inner(), state.keyring.clone());
    let row = state
        .db(move |conn| update_connection(&scope, conn, &trail, &keyring, &id, &spec, &secret))
        .await?;
    Ok(HttpResponse::Ok().json(response(&state, row)))
}

async fn remove(
    Scoped { scope, .. }: Scoped,
    Trail(trail): Trail,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    state
        .db(move |conn| delete_connection(&scope, conn, &trail, &id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
