//! The crate's one error type.

use std::fmt;

/// Everything that can go wrong in a cache operation, split by what a caller can do about it.
///
/// The server maps these in one place: `Unavailable` and `NotReplicated` to HTTP 503, `Invalid` to a
/// 400 or a 500 depending on whether the input came from a client, `Decode`, `Server` and `Protocol`
/// to a 500 (with the cause logged, never sent to the client).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CacheError {
    /// The backend could not be reached or did not answer: connection refused, pool wait timeout,
    /// an I/O error, or a reply lost mid-command. A lost reply is never retried: the command may have
    /// run, so a token consumed this way is treated as spent (fail closed).
    #[error("cache unavailable: {0}")]
    Unavailable(String),

    /// The caller asked for something the cache refuses: a zero TTL, a bad purpose name, a bad
    /// configuration value.
    #[error("invalid cache request: {0}")]
    Invalid(String),

    /// A stored value is not valid JSON for the requested type. For `getdel_json` the value has
    /// already been deleted: single use holds even for garbage.
    #[error("cached value at key `{key}` is not valid JSON for the requested type: {source}")]
    Decode {
        /// The key as stored (with the cache prefix).
        key: String,
        /// What serde_json said.
        #[source]
        source: serde_json::Error,
    },

    /// A value could not be serialised to JSON before storing it.
    #[error("value for key `{key}` could not be serialised to JSON: {source}")]
    Encode {
        /// The key as it would be stored.
        key: String,
        /// What serde_json said.
        #[source]
        source: serde_json::Error,
    },

    /// Redis answered with an error, e.g. `WRONGTYPE`, `READONLY` (a demoted primary after failover),
    /// `NOPERM`. Never turned into "not found" and never a silent fallback.
    #[error("redis error {code}: {message}")]
    Server {
        /// The error code Redis sent (`WRONGTYPE`, `READONLY`, `ERR`, ...).
        code: String,
        /// The rest of the error line.
        message: String,
    },

    /// Redis answered, but not with a reply of the expected shape.
    #[error("unexpected reply from redis: {0}")]
    Protocol(String),

    /// A consume succeeded on the primary, but the configured `WAIT` did not see enough replicas
    /// acknowledge it in time. The token is spent on the primary; it is reported as a failure because
    /// a failover now could resurrect it (see docs/runbooks/redis-failover.md).
    #[error("consume not acknowledged by enough replicas: {acknowledged} of {required}")]
    NotReplicated {
        /// Replicas that acknowledged the delete.
        acknowledged: u64,
        /// Replicas the configuration requires.
        required: u64,
    },
}

impl CacheError {
    /// The same error again, for each caller of a batch that failed as one (`coalesce.rs`).
    pub(crate) fn duplicate(&self) -> CacheError {
        match self {
            Self::Unavailable(message) => Self::Unavailable(message.clone()),
            Self::Invalid(message) => Self::Invalid(message.clone()),
            Self::Server { code, message } => Self::Server {
                code: code.clone(),
                message: message.clone(),
            },
            other => Self::Protocol(other.to_string()),
        }
    }

    /// True for the errors a server should answer with 503 Service Unavailable.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable(_) | Self::NotReplicated { .. })
    }

    pub(crate) fn invalid(message: impl fmt::Display) -> Self {
        Self::Invalid(message.to_string())
    }
}
