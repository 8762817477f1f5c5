//! The actix-web application: shared state, middleware order, extractor error handling, routes.

use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::error::{JsonPayloadError, PayloadError};
use actix_web::middleware::{from_fn, Next};
use actix_web::{web, App, HttpRequest, HttpResponse, Resource, ResponseError};
use navi_tenancy::api_keys::Pepper;
use navi_tenancy::{DbConnection, DbPool, StoreError};

use crate::config::Config;
use crate::error::ApiError;
use crate::limits::{limit_body, MAX_BODY_BYTES};
use crate::metrics::HttpMetrics;
use crate::routes;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The database pool.
    pub pool: DbPool,
    /// The configuration the server started with.
    pub config: Arc<Config>,
    /// The HMAC key of API key hashes.
    pub pepper: Arc<Pepper>,
    /// The keys that seal and open encrypted columns.
    pub keyring: navi_crypto::Keyring,
    /// The keys audit events are sealed and chained with.
    pub audit_keys: navi_tenancy::audit::AuditKeys,
    /// The JSON cache and single-use tokens (Redis or memory).
    pub cache: navi_cache::Cache,
    /// The server's own Prometheus metrics.
    pub http_metrics: HttpMetrics,
    /// Recently verified key records and org contexts of this instance.
    pub auth_cache: crate::auth_cache::AuthCache,
    /// Where mail goes.
    pub mailer: crate::mail::Mailer,
    /// The OpenID Connect relying party (SSO).
    pub oidc: crate::oidc::Oidc,
    /// Each org's own rate-limit quotas, as this instance last read them.
    pub org_quotas: crate::rate_limits::OrgQuotas,
    /// The rate limits this instance keeps alone (`probes`), in memory.
    pub instance_limits: navi_cache::Cache,
}

impl AppState {
    /// The state over an open pool and cache: loads (or, on SQLite, generates) the pepper and
    /// the keys as the configuration says.
    pub fn new(
        pool: DbPool,
        config: Arc<Config>,
        cache: navi_cache::Cache,
    ) -> anyhow::Result<AppState> {
        let keyring = crate::secrets::encryption_keys(&config)?;
        Ok(AppState {
            pool,
            pepper: Arc::new(crate::secrets::api_key_pepper(&config)?),
            audit_keys: crate::secrets::audit_keys(&config, keyring.clone())?,
            keyring,
            cache,
            http_metrics: HttpMetrics::new(),
            auth_cache: crate::auth_cache::AuthCache::new(config.auth_cache_ttl),
            mailer: crate::mail::Mailer::from_config(&config)?,
            oidc: crate::oidc::Oidc::new(crate::config::is_loopback(&config.public_url))?,
            org_quotas: crate::rate_limits::OrgQuotas::new(config.auth_cache_ttl),
            instance_limits: navi_cache::Cache::memory(
                navi_cache::MemoryConfig::default(),
                "instance:",
            )?,
            config,
        })
    }

    /// `NAVI_PUBLIC_URL` as browsers send it in `Origin`: `https://host[:port]`.
    pub fn public_origin(&self) -> String {
        self.config.public_url.origin().ascii_serialization()
    }

    /// `path` (starting with `/`) under `NAVI_PUBLIC_URL`.
    pub fn public_link(&self, path: &str) -> String {
        format!("{}{path}", self.public_origin())
    }

    /// Runs synchronous database work on the blocking pool with a checked-out connection, and
    /// maps its error (a `StoreError`, or any error that can carry one) to the API's.
    pub async fn db<T, E, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        E: From<StoreError> + Send + 'static,
        ApiError: From<E>,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        let result = web::block(move || {
            let mut conn = navi_tenancy::checkout(&pool)?;
            work(&mut conn)
        })
        .await;
        match result {
            Ok(result) => result.map_err(ApiError::from),
            Err(error) => {
                tracing::error!(%error, "database task panicked");
                Err(ApiError::internal())
            }
        }
    }
}

/// Builds the application. Middleware registered last runs first: the body limit is outermost.
pub fn build_app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let metrics_on_this_listener = state.config.metrics_bind.is_none();
    App::new()
        .app_data(web::Data::new(state))
        .app_data(json_config())
        .app_data(
            web::QueryConfig::default()
                .error_handler(|error, _| ApiError::bad_query_parameter(error).into()),
        )
        .app_data(web::PathConfig::default().error_handler(|error, _| {
            ApiError::invalid_request(format!("Bad path parameter: {error}.")).into()
        }))
        .configure(routes::health::configure)
        .configure(|cfg| {
            if metrics_on_this_listener {
                crate::metrics::configure(cfg)
            }
        })
        .configure(routes::auth::configure)
        .configure(routes::oidc::configure)
        .configure(routes::orgs::configure)
        .configure(routes::invites::configure)
        .configure(routes::api_keys::configure)
        .configure(routes::mcp_servers::configure)
        .configure(routes::sso::configure)
        .configure(routes::limits::configure)
        .configure(routes::usage::configure)
        .configure(routes::audit::configure)
        .default_service(web::to(unknown_route))
        .wrap(from_fn(crate::rate_limits::headers))
        .wrap(from_fn(log_request))
        .wrap(from_fn(limit_body))
}

/// The application of the `NAVI_METRICS_BIND` listener: `/metrics` (same access rule) and
/// nothing else, behind the same body limit and request log.
pub fn build_metrics_app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .app_data(web::Data::new(state))
        .configure(crate::metrics::configure)
        .default_service(web::to(unknown_route))
        .wrap(from_fn(log_request))
        .wrap(from_fn(limit_body))
}

/// A resource whose unsupported methods answer 405 with the JSON error body.
pub fn resource(path: &str) -> Resource {
    web::resource(path).default_service(web::to(method_not_allowed))
}

fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(MAX_BODY_BYTES)
        .error_handler(|error, _| json_error(error).into())
}

fn json_error(error: JsonPayloadError) -> ApiError {
    match error {
        JsonPayloadError::OverflowKnownLength { .. }
        | JsonPayloadError::Overflow { .. }
        | JsonPayloadError::Payload(PayloadError::Overflow) => {
            ApiError::payload_too_large(MAX_BODY_BYTES)
        }
        JsonPayloadError::ContentType => {
            ApiError::invalid_request("The body must be JSON (Content-Type: application/json).")
        }
        JsonPayloadError::Deserialize(error) => {
            ApiError::invalid_request(format!("Invalid JSON body: {error}."))
        }
        other => ApiError::invalid_request(format!("Unreadable request body: {other}.")),
    }
}

async fn unknown_route(req: HttpRequest) -> HttpResponse {
    ApiError::not_found(format!("No route for {} {}.", req.method(), req.path())).error_response()
}

async fn method_not_allowed(req: HttpRequest) -> HttpResponse {
    ApiError::method_not_allowed(format!(
        "{} is not allowed on {}.",
        req.method(),
        req.path()
    ))
    .error_response()
}

/// Logs each request and counts it in `navi_http_requests_total` by route pattern and status.
async fn log_request(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = std::time::Instant::now();
    let method = req.method().clone();
    let path = req.path().to_owned();
    let response = next.call(req).await?;
    let elapsed = started.elapsed().as_secs_f64();
    let status = response.status().as_u16();
    let route = response
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    if let Some(state) = response.request().app_data::<web::Data<AppState>>() {
        state.http_metrics.observe(&route, status, elapsed);
    }
    tracing::info!(%method, path, route, status, elapsed_ms = elapsed * 1000.0, "request");
    Ok(response)
}
