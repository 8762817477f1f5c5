//! `GET /healthz` (the process is up) and `GET /readyz` (its backing services answer), limited
//! per client address under `probes` (which never fails closed).

use std::time::Duration;

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::app::{resource, AppState};
use crate::rate_limits::Probe;

/// How long `/readyz` waits for each backing service.
const READINESS_TIMEOUT: Duration = Duration::from_secs(2);

/// Mounts the health routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/healthz").get(healthz))
        .service(resource("/readyz").get(readyz));
}

async fn healthz(_: Probe) -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

async fn readyz(_: Probe, state: web::Data<AppState>) -> HttpResponse {
    let pool = state.pool.clone();
    let check = web::block(move || {
        let mut conn = navi_tenancy::checkout(&pool)?;
        navi_tenancy::ping(&mut conn)
    });
    let database = match actix_web::rt::time::timeout(READINESS_TIMEOUT, check).await {
        Ok(Ok(Ok(()))) => "ok".to_owned(),
        Ok(Ok(Err(error))) => {
            tracing::warn!(%error, "readiness: database check failed");
            "unavailable".to_owned()
        }
        Ok(Err(error)) => {
            tracing::error!(%error, "readiness: database check panicked");
            "unavailable".to_owned()
        }
        Err(_) => {
            tracing::warn!("readiness: database check timed out");
            "timeout".to_owned()
        }
    };
    let cache = match actix_web::rt::time::timeout(READINESS_TIMEOUT, state.cache.ping()).await {
        Ok(Ok(())) => "ok",
        Ok(Err(error)) => {
            tracing::warn!(%error, "readiness: cache check failed");
            "unavailable"
        }
        Err(_) => {
            tracing::warn!("readiness: cache check timed out");
            "timeout"
        }
    };
    let ready = database == "ok" && cache == "ok";
    let body = json!({"database": database, "cache": cache});
    if ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}
