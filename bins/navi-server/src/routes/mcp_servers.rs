//! `/v1/mcp-servers`: MCP server configurations, with secrets sealed at rest. Responses carry
//! `has_secret`, never the secret, except `GET /v1/mcp-servers/{id}/secret` (admin+).

use actix_web::{web, HttpResponse};
use navi_tenancy::mcp_servers::{
    create_mcp_server, delete_mcp_server, find_mcp_server, list_mcp_servers,
    read_mcp_server_secret, update_mcp_server, McpSecret, McpServerRow, McpServerSpec,
    SecretChange,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::timestamp;
use crate::app::{resource, AppState};
use crate::audit_trail::Trail;
use crate::auth::Scoped;
use crate::error::ApiError;
use crate::json::Json;

/// Mounts the routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/v1/mcp-servers").post(create).get(list))
        .service(
            resource("/v1/mcp-servers/{id}")
                .get(show)
                .put(update)
                .delete(delete),
        )
        .service(resource("/v1/mcp-servers/{id}/secret").get(show_secret));
}

/// The body of POST and PUT. `secret` is absent (`None`), `null` (`Some(None)`) or a value.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerRequest {
    name: String,
    url: String,
    transport: String,
    #[serde(default, deserialize_with = "super::present")]
    secret: Option<Option<Value>>,
}

impl ServerRequest {
    fn spec(&self) -> Result<McpServerSpec, ApiError> {
        Ok(McpServerSpec::parse(
            &self.name,
            &self.url,
            &self.transport,
        )?)
    }

    /// The secret change this body asks for: absent keeps, `null` clears, an object sets.
    fn secret_change(self) -> Result<SecretChange, ApiError> {
        match self.secret {
            None => Ok(SecretChange::Keep),
            Some(None) => Ok(SecretChange::Clear),
            Some(Some(Value::Object(secret))) => Ok(SecretChange::Set(secret)),
            Some(Some(_)) => Err(ApiError::invalid_request(
                "secret: a JSON object (or null to clear it).",
            )),
        }
    }
}

#[derive(Debug, Serialize)]
struct ServerResponse {
    id: String,
    name: String,
    url: String,
    transport: &'static str,
    has_secret: bool,
    created_at: String,
    updated_at: String,
}

impl From<McpServerRow> for ServerResponse {
    fn from(row: McpServerRow) -> Self {
        ServerResponse {
            id: row.id,
            name: row.name,
            url: row.url,
            transport: row.transport.as_str(),
            has_secret: row.has_secret,
            created_at: timestamp(row.created_at),
            updated_at: timestamp(row.updated_at),
        }
    }
}

async fn create(
    Scoped { scope, .. }: Scoped,
    Trail(trail): Trail,
    state: web::Data<AppState>,
    body: Json<ServerRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let spec = body.spec()?;
    let secret: Option<McpSecret> = match body.secret_change()? {
        SecretChange::Set(secret) => Some(secret),
        SecretChange::Keep | SecretChange::Clear => None,
    };
    let keyring = state.keyring.clone();
    let row = state
        .db(move |conn| create_mcp_server(&scope, conn, &trail, &keyring, &spec, secret.as_ref()))
        .await?;
    Ok(HttpResponse::Created().json(ServerResponse::from(row)))
}

async fn list(
    Scoped { scope, .. }: Scoped,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let rows = state.db(move |conn| list_mcp_servers(&scope, conn)).await?;
    let servers: Vec<ServerResponse> = rows.into_iter().map(ServerResponse::from).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "mcp_servers": servers })))
}

async fn show(
    Scoped { scope, .. }: Scoped,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let row = state
        .db(move |conn| find_mcp_server(&scope, conn, &id))
        .await?;
    Ok(HttpResponse::Ok().json(ServerResponse::from(row)))
}

async fn update(
    Scoped { scope, .. }: Scoped,
    Trail(trail): Trail,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: Json<ServerRequest>,
) -> Result<HttpResponse, ApiError> {
    let (id, body) = (id.into_inner(), body.into_inner());
    let spec = body.spec()?;
    let secret = body.secret_change()?;
    let keyring = state.keyring.clone();
    let row = state
        .db(move |conn| update_mcp_server(&scope, conn, &trail, &keyring, &id, &spec, &secret))
        .await?;
    Ok(HttpResponse::Ok().json(ServerResponse::from(row)))
}

async fn delete(
    Scoped { scope, .. }: Scoped,
    Trail(trail): Trail,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    state
        .db(move |conn| delete_mcp_server(&scope, conn, &trail, &id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn show_secret(
    Scoped { scope, .. }: Scoped,
    Trail(trail): Trail,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let keyring = state.keyring.clone();
    let secret = state
        .db(move |conn| read_mcp_server_secret(&scope, conn, &trail, &keyring, &id))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(serde_json::json!({ "secret": secret })))
}
