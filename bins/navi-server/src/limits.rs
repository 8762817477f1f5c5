//! The outermost layer: request bodies over 1 MiB are refused before routing and authentication.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, ResponseError};
use futures_util::StreamExt;

use crate::error::ApiError;

/// The largest request body the server reads (shared/API.md, "Conventions").
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Refuses a declared `Content-Length` over [`MAX_BODY_BYTES`] at once, without reading the body;
/// a chunked body is counted as it streams, and reading past the limit fails with
/// `PayloadError::Overflow`, which the body extractors turn into the same 413.
pub async fn limit_body(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > MAX_BODY_BYTES as u64) {
        let response = ApiError::payload_too_large(MAX_BODY_BYTES).error_response();
        return Ok(req.into_response(response).map_into_right_body());
    }
    if declared.is_none() && req.headers().contains_key(TRANSFER_ENCODING) {
        let mut seen = 0usize;
        let limited = req.take_payload().map(move |chunk| {
            let chunk = chunk?;
            seen += chunk.len();
            if seen > MAX_BODY_BYTES {
                Err(PayloadError::Overflow)
            } else {
                Ok(chunk)
            }
        });
        req.set_payload(Payload::Stream {
            payload: Box::pin(limited),
        });
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}
