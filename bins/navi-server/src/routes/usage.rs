//! `POST /v1/llm-calls`, `POST /v1/feedback`, `GET /v1/analytics/usage` and `/org`.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use navi_analytics::store::{record_calls, record_feedback};
use navi_analytics::{validate_calls, CallInput, DashboardQuery, Store, MAX_BATCH};
use navi_tenancy::Role;
use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::app::{resource, AppState};
use crate::auth::Scoped;
use crate::error::ApiError;
use crate::json::{decode, Json};
use crate::rate_limits::Policy;

/// Mounts the routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/v1/llm-calls").post(create_calls))
        .service(resource("/v1/feedback").post(create_feedback))
        .service(resource("/v1/analytics/usage").get(usage_dashboard))
        .service(resource("/v1/analytics/org").get(org_dashboard));
}

/// The body is one call, or `{"calls": [...]}` and nothing else. Each call is decoded on its own
/// so that an error names its index (a single call is `calls[0]`).
fn parse_calls(body: &RawValue) -> Result<Vec<CallInput>, ApiError> {
    /// Whether the body is a batch: an object with `calls` (other fields are looked at later).
    #[derive(Deserialize)]
    struct Shape {
        #[serde(default)]
        calls: Option<IgnoredAny>,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Batch<'a> {
        #[serde(borrow)]
        calls: Vec<&'a RawValue>,
    }
    if !body.get().starts_with('{') {
        return Err(ApiError::invalid_request(
            "The body is one call object or {\"calls\": [...]}.",
        ));
    }
    let shape: Shape = decode(body, "")?;
    let items = match shape.calls {
        Some(_) => decode::<Batch<'_>>(body, "")?.calls,
        None => vec![body],
    };
    if items.is_empty() || items.len() > MAX_BATCH {
        return Err(ApiError::invalid_request(format!(
            "calls: 1 to {MAX_BATCH} calls per request."
        )));
    }
    items
        .into_iter()
        .enumerate()
        .map(|(index, item)| decode::<CallInput>(item, &format!("calls[{index}]")))
        .collect()
}

async fn create_calls(
    Scoped {
        principal,
        scope,
        limits,
        ..
    }: Scoped,
    req: HttpRequest,
    state: web::Data<AppState>,
    // Taken as raw text, not through `Json`: `parse_calls` decodes each call on its own.
    body: web::Json<Box<RawValue>>,
) -> Result<HttpResponse, ApiError> {
    limits.admit(&state, &req, Policy::LlmCalls, 1).await?;
    let inputs = parse_calls(&body)?;
    let calls = validate_calls(&inputs, Utc::now())
        .map_err(|invalid| ApiError::invalid_request(format!("{invalid}.")))?;
    let observed: Vec<(i64, i64)> = calls
        .iter()
        .map(|call| (call.latency_ms, call.cost_micros))
        .collect();
    let recorded = state
        .db(move |conn| record_calls(&scope, conn, principal.key_id(), &calls))
        .await?;
    // Only what was recorded (duplicates were already counted the first time).
    state
        .http_metrics
        .observe_llm_calls(recorded.recorded.iter().map(|&index| observed[index]));
    Ok(HttpResponse::Created().json(serde_json::json!({
        "accepted": recorded.accepted(),
        "duplicates": recorded.duplicates,
    })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FeedbackBody {
    target_id: String,
    rating: i64,
    #[serde(default)]
    comment: Option<String>,
}

async fn create_feedback(
    Scoped { scope, .. }: Scoped,
    state: web::Data<AppState>,
    body: Json<FeedbackBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let rating = match body.rating {
        1 => 1,
        -1 => -1,
        _ => return Err(ApiError::invalid_request("rating: 1 or -1.")),
    };
    let at = Utc::now().timestamp();
    let id = state
        .db(move |conn| {
            record_feedback(
                &scope,
                conn,
                &body.target_id,
                rating,
                body.comment.as_deref(),
                at,
            )
        })
        .await?;
    state.http_metrics.observe_feedback(rating);
    Ok(HttpResponse::Created().json(serde_json::json!({ "id": id })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RangeParams {
    from: Option<String>,
    to: Option<String>,
    tz: Option<String>,
}

impl RangeParams {
    /// The query of `req`'s parameters. Read in the handler, not by an extractor, so that a
    /// caller refused the dashboard is refused whatever parameters it sent.
    fn of(req: &HttpRequest) -> Result<DashboardQuery, ApiError> {
        web::Query::<RangeParams>::from_query(req.query_string())
            .map_err(ApiError::bad_query_parameter)?
            .query()
    }

    fn query(&self) -> Result<DashboardQuery, ApiError> {
        DashboardQuery::parse(
            self.from.as_deref(),
            self.to.as_deref(),
            self.tz.as_deref(),
            Utc::now(),
        )
        .map_err(|invalid| ApiError::invalid_request(invalid.message))
    }
}

async fn usage_dashboard(
    Scoped { scope, .. }: Scoped,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let query = RangeParams::of(&req)?;
    let dashboard = state
        .db(move |conn| Store::new(&scope, conn).own_usage(&query))
        .await?;
    Ok(HttpResponse::Ok().json(dashboard))
}

async fn org_dashboard(
    Scoped { scope, .. }: Scoped,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    // A member is refused whatever parameters it sends (the store checks again).
    scope.require(Role::Admin)?;
    let query = RangeParams::of(&req)?;
    let dashboard = state
        .db(move |conn| Store::new(&scope, conn).whole_org(&query))
        .await?;
    Ok(HttpResponse::Ok().json(dashboard))
}
