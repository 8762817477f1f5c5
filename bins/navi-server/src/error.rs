//! The one place where failures become the API's error body (shared/API.md, "Conventions").

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use navi_tenancy::StoreError;
use serde::Serialize;

/// An error as the client sees it: a status, a stable code and one human sentence. Causes are
/// logged where the error is made, never sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorFields<'a>,
}

#[derive(Serialize)]
struct ErrorFields<'a> {
    code: &'a str,
    message: &'a str,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400 `invalid_request`: malformed JSON, a bad field or query parameter.
    pub fn invalid_request(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    /// 400 `invalid_request` for a query string that does not decode (an unknown parameter, a
    /// parameter twice).
    pub fn bad_query_parameter(error: impl std::fmt::Display) -> Self {
        Self::invalid_request(format!("Bad query parameter: {error}."))
    }

    /// 403 `forbidden`.
    pub fn forbidden(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 404 `not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 405 `method_not_allowed`: the route exists, the method does not.
    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            message,
        )
    }

    /// 413 `payload_too_large`.
    pub fn payload_too_large(limit: usize) -> Self {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("The request body is larger than {limit} bytes."),
        )
    }

    /// 503 `unavailable`: a backing service is down.
    pub fn unavailable(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }

    /// 429 `rate_limited`.
    pub fn rate_limited(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message)
    }

    /// 400 with `code` (a sign-in step that failed: `invalid_token`, `invalid_state`,
    /// `sso_failed`).
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 500 `internal`: a bug. The cause must already be logged.
    pub fn internal() -> Self {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "The server failed to handle the request.",
        )
    }

    /// The stable error code.
    pub fn code(&self) -> &'static str {
        self.code
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status).json(ErrorBody {
            error: ErrorFields {
                code: self.code,
                message: &self.message,
            },
        })
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => ApiError::not_found("No such resource."),
            StoreError::Conflict(message) => {
                ApiError::new(StatusCode::CONFLICT, "conflict", message)
            }
            StoreError::InvalidInvite => ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_invite",
                "The invite is unknown, expired, revoked or already used.",
            ),
            StoreError::Unauthenticated => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "Sign in, or send a valid API key (Authorization: Bearer navi_…).",
            ),
            StoreError::OrgContextRequired => ApiError::new(
                StatusCode::FORBIDDEN,
                "org_context_required",
                "Name the organization in the X-Navi-Org header, or use a key pinned to one.",
            ),
            StoreError::Forbidden => ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "You may not do this in this organization.",
            ),
            StoreError::SignInRefused(reason) => ApiError::new(
                StatusCode::BAD_REQUEST,
                "sso_failed",
                format!("Sign-in refused: {reason}."),
            ),
            StoreError::SsoRequired => ApiError::new(
                StatusCode::FORBIDDEN,
                "sso_required",
                "This organization requires signing in through its single sign-on \
                 (GET /v1/auth/sso/start?org=SLUG); API keys still work.",
            ),
            StoreError::RecentSignInRequired => ApiError::new(
                StatusCode::FORBIDDEN,
                "recent_sign_in_required",
                "Sign in again: a session makes keys only within 15 minutes of signing in.",
            ),
            StoreError::Invalid(message) => ApiError::invalid_request(message),
            StoreError::TooLarge(cause) => {
                tracing::info!(%cause, "a sum asked for does not fit in 64 bits");
                ApiError::invalid_request(
                    "The sums asked for do not fit in 64-bit integers: ask for less at once.",
                )
            }
            StoreError::SecretUnreadable(cause) => {
                tracing::error!(%cause, "a stored secret cannot be read");
                ApiError::new(
                    StatusCode::CONFLICT,
                    "conflict",
                    format!(
                        "The stored secret cannot be read ({cause}). Set the secret again, or ask \
                         an operator to run `cargo xtask key-usage`."
                    ),
                )
            }
            StoreError::Unavailable(cause) => {
                tracing::warn!(%cause, "database unavailable");
                ApiError::unavailable("The database is unavailable.")
            }
            error @ (StoreError::Migration(_) | StoreError::Database(_)) => {
                tracing::error!(%error, "database error");
                ApiError::internal()
            }
            StoreError::Internal(cause) => {
                tracing::error!(%cause, "internal invariant broken");
                ApiError::internal()
            }
        }
    }
}

impl From<navi_analytics::DashboardError> for ApiError {
    fn from(error: navi_analytics::DashboardError) -> Self {
        match error {
            navi_analytics::DashboardError::Store(error) => error.into(),
            error @ navi_analytics::DashboardError::RangeTooLarge { .. } => {
                ApiError::invalid_request(error.to_string())
            }
            navi_analytics::DashboardError::Analytics(error) => {
                tracing::error!(%error, "dashboard cannot be stated exactly");
                ApiError::internal()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_errors_map_to_the_contract_statuses() {
        let cases = [
            (StoreError::NotFound, 404, "not_found"),
            (StoreError::Conflict("taken".into()), 409, "conflict"),
            (StoreError::Forbidden, 403, "forbidden"),
            (StoreError::Unauthenticated, 401, "unauthenticated"),
            (StoreError::InvalidInvite, 400, "invalid_invite"),
            (StoreError::OrgContextRequired, 403, "org_context_required"),
            (StoreError::Invalid("slug".into()), 400, "invalid_request"),
            (
                StoreError::Unavailable("refused".into()),
                503,
                "unavailable",
            ),
            (StoreError::Migration("x".into()), 500, "internal"),
            (StoreError::Internal("x".into()), 500, "internal"),
            (StoreError::TooLarge("x".into()), 400, "invalid_request"),
            (
                StoreError::SecretUnreadable("no key".into()),
                409,
                "conflict",
            ),
        ];
        for (store, status, code) in cases {
            let api = ApiError::from(store);
            assert_eq!(api.status_code().as_u16(), status);
            assert_eq!(api.code(), code);
        }
    }

    #[actix_web::test]
    async fn a_broken_invariant_is_a_500_with_the_generic_body() {
        let cause = "the rollups disagree with each other: a user's sums are [-1, 0, 0, 0, 0]";
        for api in [
            ApiError::from(StoreError::Internal(cause.into())),
            ApiError::from(navi_analytics::DashboardError::Store(StoreError::Internal(
                cause.into(),
            ))),
        ] {
            let response = api.error_response();
            assert_eq!(response.status().as_u16(), 500);
            let body = actix_web::body::to_bytes(response.into_body())
                .await
                .expect("a JSON body");
            let body: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
            assert_eq!(
                body,
                serde_json::json!({"error": {
                    "code": "internal",
                    "message": "The server failed to handle the request.",
                }})
            );
            assert!(!api.to_string().contains("rollups"), "{api}");
        }
    }

    #[test]
    fn internal_errors_never_carry_their_cause() {
        let api = ApiError::from(StoreError::Migration("password=hunter2".into()));
        assert!(!api.to_string().contains("hunter2"));
    }
}
