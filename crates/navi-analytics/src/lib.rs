//! `navi-analytics`: LLM usage dashboards (tokens, exact cost, latency per day, model and user),
//! computed identically on PostgreSQL and SQLite, with a plain-Rust reference implementation as
//! the oracle of its tests.
//!
//! It reads usage rows only through a tenant scope from `navi-tenancy`; it knows nothing of HTTP.
#![warn(missing_docs)]
