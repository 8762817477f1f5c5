//! `navi-server`: the actix-web binary that composes the navi-* crates. It owns configuration,
//! wiring and HTTP; the rules live in the library crates.
//!
//! A request passes, outermost first: the body limit ([`limits`]), request logging, the rate-limit
//! headers ([`rate_limits`]), routing, then the handler's extractors (authentication and its rate
//! limits in [`auth`]) and a handler in [`routes`] that calls a library crate inside `web::block`
//! (diesel is synchronous) and maps its error through [`error::ApiError`], the one place errors
//! become the API's JSON body.
#![warn(missing_docs)]

pub mod app;
pub mod audit_trail;
pub mod auth;
pub mod auth_cache;
pub mod bootstrap;
pub mod config;
pub mod error;
pub mod file_modes;
pub mod json;
pub mod limits;
pub mod mail;
pub mod metrics;
pub mod oidc;
pub mod rate_limits;
pub mod routes;
pub mod secrets;
pub mod sessions;
pub mod startup;
