//! `navi-cache`: a JSON cache and single-use tokens over interchangeable backends (Redis, memory).
//!
//! The one operation this crate exists to get right is `getdel_json`: read and delete a JSON value
//! atomically, so a one-time token (an SSO `state`, an OAuth nonce) is consumed once, ever.
//!
//! It deliberately knows nothing of databases, tenants or HTTP.
#![warn(missing_docs)]
