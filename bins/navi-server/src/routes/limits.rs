//! `GET /v1/org/limits` (admin+) and `PUT /v1/org/limits` (owner): the org's rate-limit
//! policies, each with its quota, window and the platform's ceiling. An owner may set a quota
//! from 1 to the ceiling (setting the ceiling itself returns the policy to the platform's).

use std::collections::BTreeMap;

use actix_web::{web, HttpResponse};
use navi_tenancy::rate_limits::{org_quotas, update_org_quotas};
use navi_tenancy::Role;
use serde::{Deserialize, Serialize};

use crate::app::{resource, AppState};
use crate::audit_trail::Trail;
use crate::auth::Scoped;
use crate::error::ApiError;
use crate::json::Json;
use crate::rate_limits::{org_rate, Policy, RateLimitConfig};

/// Mounts the routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/v1/org/limits").get(show).put(update));
}

#[derive(Debug, Serialize)]
struct PolicyResponse {
    name: &'static str,
    quota: u64,
    window_seconds: u64,
    ceiling: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateRequest {
    policies: Vec<PolicyQuota>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyQuota {
    name: String,
    quota: u64,
}

fn policies(config: &RateLimitConfig, quotas: &BTreeMap<String, u64>) -> HttpResponse {
    let policies: Vec<PolicyResponse> = Policy::ALL
        .into_iter()
        .filter(|policy| policy.per_org())
        .map(|policy| {
            let rate = org_rate(config, quotas, policy);
            PolicyResponse {
                name: policy.name(),
                quota: rate.quota(),
                window_seconds: rate.window().as_secs(),
                ceiling: config.rate(policy).quota(),
            }
        })
        .collect();
    HttpResponse::Ok().json(serde_json::json!({ "policies": policies }))
}

async fn show(
    Scoped { scope, .. }: Scoped,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    scope.require(Role::Admin)?;
    let quotas = state.db(move |conn| org_quotas(&scope, conn)).await?;
    Ok(policies(&state.config.rate_limits, &quotas))
}

async fn update(
    Scoped { scope, .. }: Scoped,
    Trail(trail): Trail,
    state: web::Data<AppState>,
    body: Json<UpdateRequest>,
) -> Result<HttpResponse, ApiError> {
    scope.require(Role::Owner)?;
    if body.policies.is_empty() {
        return Err(ApiError::invalid_request(
            "policies: name at least one policy to change.",
        ));
    }
    let config = &state.config.rate_limits;
    let mut changes = BTreeMap::new();
    for PolicyQuota { name, quota } in &body.policies {
        let policy = Policy::parse(name)
            .filter(|policy| policy.per_org())
            .ok_or_else(|| {
                ApiError::invalid_request(format!(
                    "policies: `{}` is not a policy an org can set (one of {}).",
                    name.chars().take(64).collect::<String>(),
                    Policy::ALL
                        .into_iter()
                        .filter(|policy| policy.per_org())
                        .map(Policy::name)
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
        let ceiling = config.rate(policy).quota();
        if !(1..=ceiling).contains(quota) {
            return Err(ApiError::invalid_request(format!(
                "policies: the quota of `{name}` must be 1 to {ceiling}, the platform's ceiling."
            )));
        }
        // The ceiling itself is the platform's quota: nothing of the org's to keep.
        let stored = (*quota < ceiling).then_some(*quota);
        if changes.insert(name.clone(), stored).is_some() {
            return Err(ApiError::invalid_request(format!(
                "policies: `{name}` is named twice."
            )));
        }
    }
    let quotas = state
        .db(move |conn| update_org_quotas(&scope, conn, &trail, &changes))
        .await?;
    state.org_quotas.forget();
    Ok(policies(config, &quotas))
}
