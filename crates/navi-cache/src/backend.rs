//! The backend seam: raw bytes in, raw bytes out. The JSON layer ([`crate::Cache`]) sits on top.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;

use crate::error::CacheError;

/// The longest TTL accepted: ten years. Far beyond any sane cache entry, and far inside what both
/// Redis (`PX` is an i64 of milliseconds) and `Instant` arithmetic can represent.
pub const MAX_TTL: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// A key-value store with TTLs and an atomic get-and-delete.
///
/// Two implementations exist, [`crate::RedisBackend`] and [`crate::MemoryBackend`], and both run
/// one conformance suite (`tests/common/mod.rs`, run by `tests/memory.rs` and `tests/redis_*.rs`).
/// Keys are used as given: prefixing is the [`crate::Cache`]'s job.
#[async_trait]
pub trait CacheBackend: Send + Sync + fmt::Debug {
    /// Which implementation this is.
    fn kind(&self) -> BackendKind;

    /// The value at `key`, or `None` if absent or expired.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError>;

    /// Store `value` at `key` for `ttl`, replacing any previous value. A TTL that
    /// [`validate_ttl`] refuses is an [`CacheError::Invalid`].
    async fn set(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<(), CacheError>;

    /// Remove `key`; true if it existed (and had not expired).
    async fn delete(&self, key: &str) -> Result<bool, CacheError>;

    /// Atomically read and remove `key`: of any number of concurrent callers, at most one sees
    /// the value.
    async fn get_del(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError>;

    /// Adds one to the counter at `key` and returns the new count. A counter starts at 1 and
    /// lasts `window` from that first count (a fixed window: later counts do not extend it). A
    /// window that [`validate_ttl`] refuses is an [`CacheError::Invalid`].
    async fn count(&self, key: &str, window: Duration) -> Result<u64, CacheError>;

    /// One GCRA decision over the buckets `keys` (distinct), each with its [`Link`] (rate and
    /// cost), atomically and all or nothing ([`crate::rate::step_all`]): when every bucket admits
    /// it, each bucket's new TAT is stored (expiring when it is reached). Answers each bucket's
    /// [`Gcra`]. `now_us` (microseconds since the Unix epoch) is for tests; else the backend's own
    /// clock (Redis's `TIME`, shared by every instance).
    ///
    /// [`Link`]: crate::rate::Link
    async fn gcra(
        &self,
        keys: &[String],
        links: &[crate::rate::Link],
        now_us: Option<u64>,
    ) -> Result<Vec<crate::rate::Gcra>, CacheError>;

    /// Check the backend can serve requests now (for a readiness probe).
    async fn ping(&self) -> Result<(), CacheError>;

    /// The backend's own counters: get-and-delete calls by path, evictions.
    async fn stats(&self) -> BackendStats;
}

/// Which [`CacheBackend`] implementation serves a [`crate::Cache`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BackendKind {
    /// [`crate::RedisBackend`].
    Redis,
    /// [`crate::MemoryBackend`].
    Memory,
}

impl BackendKind {
    /// `"redis"` or `"memory"`, for logs and metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Redis => "redis",
            Self::Memory => "memory",
        }
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The path that served a get-and-delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GetDelPath {
    /// Redis `GETDEL` (Redis 6.2+).
    GetDel,
    /// A Lua script doing `GET` then `DEL` atomically on the server.
    Lua,
    /// The memory backend's locked get-then-remove.
    Memory,
}

impl GetDelPath {
    /// All paths, in the order metrics list them.
    pub const ALL: [GetDelPath; 3] = [Self::GetDel, Self::Lua, Self::Memory];

    /// `"getdel"`, `"lua"` or `"memory"`: the `path` label of `navi_cache_getdel_total`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::GetDel => "getdel",
            Self::Lua => "lua",
            Self::Memory => "memory",
        }
    }
}

/// Counters a backend keeps about itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackendStats {
    /// Get-and-delete calls that reached the backend, by the path that served them (including
    /// calls that returned an error from that path).
    pub getdel_by_path: Vec<(GetDelPath, u64)>,
    /// How many times this backend switched from `GETDEL` to Lua after "unknown command" (0 or 1
    /// per Redis pool in practice).
    pub lua_fallbacks: u64,
    /// Entries the memory backend evicted to stay within its capacity (expired entries dropped
    /// are not evictions).
    pub memory_evictions: u64,
    /// Redis's `evicted_keys` from `INFO stats` (server-wide, since the server started); `None`
    /// for the memory backend or when Redis could not be asked.
    pub redis_evicted_keys: Option<u64>,
}

/// Refuse TTLs the backends cannot honour: zero, under one millisecond (Redis `PX` granularity),
/// or above [`MAX_TTL`]. A negative TTL cannot be expressed as a [`Duration`]; callers parsing
/// signed numbers must refuse them before building one.
pub fn validate_ttl(ttl: Duration) -> Result<(), CacheError> {
    if ttl.is_zero() {
        return Err(CacheError::invalid("TTL must be positive, got zero"));
    }
    if ttl < Duration::from_millis(1) {
        return Err(CacheError::invalid(format!(
            "TTL must be at least 1ms, got {ttl:?}"
        )));
    }
    if ttl > MAX_TTL {
        return Err(CacheError::invalid(format!(
            "TTL must be at most {MAX_TTL:?}, got {ttl:?}"
        )));
    }
    Ok(())
}

/// Milliseconds for Redis `PX`, rounded up so a TTL never ends early. Only called on validated TTLs.
pub(crate) fn ttl_millis(ttl: Duration) -> u64 {
    let millis = ttl.as_millis();
    let rounded = if ttl.subsec_nanos().is_multiple_of(1_000_000) {
        millis
    } else {
        millis + 1
    };
    // validate_ttl caps the TTL at ten years, about 3.2e11 ms, far below u64::MAX.
    u64::try_from(rounded).unwrap_or(u64::MAX)
}
