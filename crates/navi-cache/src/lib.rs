//! `navi-cache`: a JSON cache and single-use tokens over interchangeable backends (Redis, memory).
//!
//! The one operation this crate exists to get right is [`Cache::getdel_json`]: read and delete a
//! JSON value atomically, so a one-time token (an SSO `state`, an OAuth nonce) is consumed once,
//! ever.
//!
//! ```
//! use std::time::Duration;
//! use navi_cache::{Cache, MemoryConfig, TokenPurpose};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), navi_cache::CacheError> {
//! let cache = Cache::memory(MemoryConfig::default(), "navi:")?;
//! let purpose = TokenPurpose::parse("sso_state")?;
//!
//! let token = cache
//!     .issue_token(&purpose, &serde_json::json!({"org": 7}), Duration::from_secs(600))
//!     .await?;
//! // Hand `token.as_str()` to the client; it comes back on the callback.
//! let first: Option<serde_json::Value> = cache.consume_token(&purpose, token.as_str()).await?;
//! assert_eq!(first, Some(serde_json::json!({"org": 7})));
//! let replay: Option<serde_json::Value> = cache.consume_token(&purpose, token.as_str()).await?;
//! assert_eq!(replay, None);
//! # Ok(())
//! # }
//! ```
//!
//! # The three get-and-delete paths
//!
//! - **`GETDEL`** (Redis 6.2+): one atomic command. The default ([`GetDelMode::Auto`]).
//! - **Lua** (`EVALSHA` of `GET` then `DEL`, loaded again on `NOSCRIPT`): atomic because Redis
//!   runs a script without interleaving other commands. Used when the server answers "unknown
//!   command" (or "unknown or disabled command") to `GETDEL`: the pool switches once, logs a
//!   warning once and counts it. [`GetDelMode::Lua`] forces it for known legacy servers. Only
//!   "unknown command" switches: `NOPERM`, `WRONGTYPE`, `READONLY` and every other error is
//!   returned as [`CacheError::Server`].
//! - **Memory**: a `HashMap::remove` under the lock of the key's shard ([`MemoryBackend`]).
//!
//! # Failure
//!
//! Errors are never turned into "not found". A command whose reply is lost (I/O error, timeout)
//! is not retried, because it may have run: the caller must treat the token as spent. A Redis
//! that is configured but down gives [`CacheError::Unavailable`] (fail closed); falling back to
//! memory is an explicit startup choice ([`CacheFallback::Memory`], see [`Cache::connect`]).
//! Connections that fail with I/O errors or answer `READONLY` are dropped from the pool. An
//! optional `WAIT` after each consume ([`ConsumeWait`]) narrows the failover window described in
//! `docs/runbooks/redis-failover.md`.
//!
//! # What this crate deliberately does not do
//!
//! - It knows nothing of databases, tenants, HTTP or configuration sources: the server parses
//!   `NAVI_REDIS_URL` / `NAVI_CACHE_FALLBACK` into a [`CacheConfig`] and renders
//!   [`CacheMetricsSnapshot`] on `/metrics`.
//! - It does not retry, and it does not write to two backends or switch backends at run time.
//! - It does not talk to Sentinel or Redis Cluster itself (point the URL at the primary, or see the
//!   runbook), and it does not make asynchronous replication synchronous: `WAIT` narrows the
//!   failover window, it does not close it.
//! - The memory backend is per process: it is not a shared store for several instances.
#![warn(missing_docs)]

mod backend;
mod cache;
mod coalesce;
mod error;
mod memory;
mod metrics;
pub mod rate;
mod redis_backend;
mod tokens;

pub use backend::{validate_ttl, BackendKind, BackendStats, CacheBackend, GetDelPath, MAX_TTL};
pub use cache::{Cache, CacheConfig, CacheFallback};
pub use error::CacheError;
pub use memory::{MemoryBackend, MemoryConfig};
pub use metrics::CacheMetricsSnapshot;
pub use rate::{Decision, Rate};
pub use redis_backend::{ConsumeWait, GetDelMode, RedisBackend, RedisConfig};
pub use tokens::{token_key, Token, TokenPurpose};
