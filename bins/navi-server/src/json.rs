//! [`Json`]: the JSON body extractor of every route, whose decoding errors name the field.
//!
//! actix-web's `web::Json` passes on serde_json's message, which names a field that is unknown
//! or missing but not one whose value has the wrong type ("invalid type: floating point 1.5,
//! expected i64 at line 1 column 20"). This reads the body as `web::Json<Box<RawValue>>` (so
//! the size limit, the content type and malformed JSON are handled as before, see
//! `app::json_config`), then decodes its text with `serde_path_to_error`, which tracks where in
//! the value decoding failed. The text, not a `serde_json::Value`: a `Value` keeps the last of
//! two equal keys, where decoding the text refuses the duplicate field.

use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::error::ApiError;

/// A JSON request body decoded as `T`; a value that does not fit is a 400 naming its field.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T> Json<T> {
    /// The decoded body.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Json<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = web::Json::<Box<RawValue>>::from_request(req, payload);
        Box::pin(async move {
            let raw = body.await?.into_inner();
            Ok(Json(decode(&raw, "")?))
        })
    }
}

/// Decodes the JSON value `raw` as `T`. An error names where it happened, after `prefix` (the
/// place of `raw` in a larger body, like `calls[3]`, or nothing), as in "calls[3].prompt_tokens:
/// invalid type: floating point 1.5, expected i64."
pub fn decode<'a, T: Deserialize<'a>>(raw: &'a RawValue, prefix: &str) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_str(raw.get());
    serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let place = match (prefix.is_empty(), path == ".") {
            (true, true) => String::new(),
            (true, false) => format!("{path}: "),
            (false, true) => format!("{prefix}: "),
            (false, false) => format!("{prefix}.{path}: "),
        };
        ApiError::invalid_request(format!("{place}{}.", without_position(&error.into_inner())))
    })
}

/// serde_json's message without the " at line 1 column 20" it ends with when decoding text: the
/// path names the place, and a column in a body the client did not lay out helps nobody.
fn without_position(error: &serde_json::Error) -> String {
    let message = error.to_string();
    let position = format!(" at line {} column {}", error.line(), error.column());
    match message.strip_suffix(&position) {
        Some(message) => message.to_owned(),
        None => message,
    }
}
