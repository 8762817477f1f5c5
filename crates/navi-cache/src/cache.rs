//! The JSON layer, the startup decision between Redis and memory, and readiness/metrics.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use ring::rand::SystemRandom;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::backend::{validate_ttl, BackendKind, CacheBackend};
use crate::error::CacheError;
use crate::memory::{MemoryBackend, MemoryConfig};
use crate::metrics::{CacheMetricsSnapshot, Op, Outcome, RequestCounters};
use crate::rate::{Decision, Link, Rate};
use crate::redis_backend::{RedisBackend, RedisConfig};

/// What to do when Redis is configured but unreachable at startup (`NAVI_CACHE_FALLBACK`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CacheFallback {
    /// Keep the Redis backend: requests fail with [`CacheError::Unavailable`] until Redis is back
    /// (fail closed). The default.
    #[default]
    Disabled,
    /// Serve from an in-process memory backend instead, for the life of the process. Only safe for
    /// a single instance: every instance would hold its own tokens, so a token could be consumed
    /// once per instance.
    Memory,
}

impl FromStr for CacheFallback {
    type Err = CacheError;

    /// Parses `memory`, or `none` / `off` / `disabled` / empty, ignoring case and spaces.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "" | "none" | "off" | "disabled" => Ok(Self::Disabled),
            "memory" => Ok(Self::Memory),
            other => Err(CacheError::invalid(format!(
                "unknown cache fallback `{other}`: expected memory or none"
            ))),
        }
    }
}

/// Everything [`Cache::connect`] needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheConfig {
    /// Redis settings (`NAVI_REDIS_URL`); `None` means the memory backend.
    pub redis: Option<RedisConfig>,
    /// What to do if Redis is configured but unreachable at startup.
    pub fallback: CacheFallback,
    /// Settings for the memory backend, when it is used.
    pub memory: MemoryConfig,
    /// Prepended to every key, so several applications (or tests) can share one Redis.
    pub key_prefix: String,
}

impl Default for CacheConfig {
    /// Memory backend, fail closed, prefix `navi:`.
    fn default() -> Self {
        Self {
            redis: None,
            fallback: CacheFallback::Disabled,
            memory: MemoryConfig::default(),
            key_prefix: "navi:".to_owned(),
        }
    }
}

/// A JSON cache with single-use tokens, over one [`CacheBackend`]. Cheap to clone: clones share
/// the backend and the counters.
#[derive(Clone)]
pub struct Cache {
    inner: Arc<Inner>,
}

struct Inner {
    backend: Arc<dyn CacheBackend>,
    key_prefix: String,
    requests: RequestCounters,
    random: SystemRandom,
}

impl fmt::Debug for Cache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cache")
            .field("backend", &self.inner.backend)
            .field("key_prefix", &self.inner.key_prefix)
            .finish_non_exhaustive()
    }
}

impl Cache {
    /// A cache over `backend`, prefixing every key with `key_prefix`.
    pub fn new(backend: Arc<dyn CacheBackend>, key_prefix: impl Into<String>) -> Self {
        Self {
            inner: Arc::new(Inner {
                backend,
                key_prefix: key_prefix.into(),
                requests: RequestCounters::default(),
                random: SystemRandom::new(),
            }),
        }
    }

    /// A cache over a fresh [`MemoryBackend`].
    pub fn memory(config: MemoryConfig, key_prefix: impl Into<String>) -> Result<Self, CacheError> {
        Ok(Self::new(Arc::new(MemoryBackend::new(config)?), key_prefix))
    }

    /// Choose the backend once, at startup, and never write to two:
    ///
    /// - no Redis configured: memory;
    /// - Redis answers `PING`: Redis;
    /// - Redis unreachable ([`CacheError::Unavailable`]) and [`CacheFallback::Memory`]: memory,
    ///   with a loud warning, for the life of the process (switching later would split tokens
    ///   between two stores);
    /// - Redis unreachable otherwise: Redis anyway, failing requests with `Unavailable` (and
    ///   readiness) until it is back;
    /// - any other failure (bad URL, a server error such as `NOAUTH`): `Err`, because it is a
    ///   configuration mistake that waiting will not fix.
    pub async fn connect(config: CacheConfig) -> Result<Self, CacheError> {
        let Some(redis_config) = &config.redis else {
            tracing::info!("no redis configured; using the in-process memory cache");
            return Self::memory(config.memory, config.key_prefix);
        };
        let redis = RedisBackend::new(redis_config)?;
        let backend: Arc<dyn CacheBackend> = match redis.ping().await {
            Ok(()) => {
                tracing::info!(backend = ?redis, "using redis cache");
                Arc::new(redis)
            }
            Err(err) if err.is_unavailable() => match config.fallback {
                CacheFallback::Memory => {
                    tracing::warn!(
                        error = %err,
                        "REDIS UNREACHABLE: falling back to the in-process memory cache for the life \
                         of this process (NAVI_CACHE_FALLBACK=memory). Single-use tokens are only \
                         single-use within this instance; do not run several instances like this."
                    );
                    Arc::new(MemoryBackend::new(config.memory)?)
                }
                CacheFallback::Disabled => {
                    tracing::warn!(
                        error = %err,
                        "redis unreachable at startup; cache requests fail until it is back"
                    );
                    Arc::new(redis)
                }
            },
            Err(err) => return Err(err),
        };
        Ok(Self::new(backend, config.key_prefix))
    }

    /// The backend in use.
    pub fn backend(&self) -> &Arc<dyn CacheBackend> {
        &self.inner.backend
    }

    /// Which backend is in use (after [`Cache::connect`], to report a memory fallback).
    pub fn backend_kind(&self) -> BackendKind {
        self.inner.backend.kind()
    }

    /// The prefix prepended to every key.
    pub fn key_prefix(&self) -> &str {
        &self.inner.key_prefix
    }

    pub(crate) fn random(&self) -> &SystemRandom {
        &self.inner.random
    }

    fn full_key(&self, key: &str) -> String {
        let mut full = String::with_capacity(self.inner.key_prefix.len() + key.len());
        full.push_str(&self.inner.key_prefix);
        full.push_str(key);
        full
    }

    fn record<T>(
        &self,
        op: Op,
        result: &Result<T, CacheError>,
        outcome: impl FnOnce(&T) -> Outcome,
    ) {
        let outcome = match result {
            Ok(value) => outcome(value),
            Err(_) => Outcome::Error,
        };
        self.inner.requests.record(op, outcome);
    }

    /// The JSON value at `key`, or `None` if absent or expired.
    pub async fn get_json<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, CacheError> {
        let key = self.full_key(key);
        let result = match self.inner.backend.get(&key).await {
            Ok(bytes) => decode(&key, bytes),
            Err(err) => Err(err),
        };
        self.record(Op::Get, &result, hit_or_miss);
        result
    }

    /// Store `value` as JSON at `key` for `ttl`. A zero TTL (or one under 1 ms, or over
    /// [`crate::MAX_TTL`]) is refused with [`CacheError::Invalid`] before anything is sent.
    pub async fn set_json<T: Serialize + ?Sized>(
        &self,
        key: &str,
        value: &T,
        ttl: Duration,
    ) -> Result<(), CacheError> {
        let result = self.set_json_unrecorded(key, value, ttl).await;
        self.record(Op::Set, &result, |()| Outcome::Ok);
        result
    }

    async fn set_json_unrecorded<T: Serialize + ?Sized>(
        &self,
        key: &str,
        value: &T,
        ttl: Duration,
    ) -> Result<(), CacheError> {
        validate_ttl(ttl)?;
        let key = self.full_key(key);
        let bytes = serde_json::to_vec(value).map_err(|source| CacheError::Encode {
            key: key.clone(),
            source,
        })?;
        self.inner.backend.set(&key, bytes, ttl).await
    }

    /// Remove `key`; true if it was there.
    pub async fn delete(&self, key: &str) -> Result<bool, CacheError> {
        let result = self.inner.backend.delete(&self.full_key(key)).await;
        self.record(Op::Delete, &result, |&removed| {
            if removed {
                Outcome::Hit
            } else {
                Outcome::Miss
            }
        });
        result
    }

    /// Atomically read and delete the JSON value at `key`: of any number of concurrent callers,
    /// in any number of processes sharing the Redis, at most one gets `Some`.
    ///
    /// A value that is not valid JSON for `T` is still deleted, and reported as
    /// [`CacheError::Decode`]. Errors are never turned into `None`, and a lost reply is not
    /// retried: treat any error as "the token is spent".
    pub async fn getdel_json<T: DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<Option<T>, CacheError> {
        let key = self.full_key(key);
        let result = match self.inner.backend.get_del(&key).await {
            Ok(bytes) => decode(&key, bytes),
            Err(err) => Err(err),
        };
        self.record(Op::GetDel, &result, hit_or_miss);
        result
    }

    /// Counts one event at `key` and returns how many were counted in its window: the window
    /// starts with the first count and lasts `window` (fixed, not sliding). Every instance sharing
    /// the Redis counts into the same window. For caps such as "5 mails per hour"; an error means
    /// nothing can be said about the count, so a caller that must hold a cap treats it as over.
    pub async fn count(&self, key: &str, window: Duration) -> Result<u64, CacheError> {
        let result = self.inner.backend.count(&self.full_key(key), window).await;
        self.record(Op::Count, &result, |_| Outcome::Ok);
        result
    }

    /// Admits `cells` at `key` under `rate` if they fit, counting them (GCRA, see
    /// [`crate::rate`]): one atomic step on the backend, Redis's clock shared by every instance.
    /// More cells than the quota can never fit: [`CacheError::Invalid`].
    pub async fn admit(&self, key: &str, rate: &Rate, cells: u64) -> Result<Decision, CacheError> {
        let mut decisions = self.decide(&[(key, rate, cells)], None).await?;
        Ok(decisions.remove(0))
    }

    /// [`Cache::admit`] at `now_us` (microseconds since the Unix epoch) instead of the backend's
    /// clock: for tests that compare decisions with a reference on a fixed schedule.
    #[doc(hidden)]
    pub async fn admit_at(
        &self,
        key: &str,
        rate: &Rate,
        cells: u64,
        now_us: u64,
    ) -> Result<Decision, CacheError> {
        let mut decisions = self.decide(&[(key, rate, cells)], Some(now_us)).await?;
        Ok(decisions.remove(0))
    }

    /// One decision over several buckets, all or nothing: `(key, rate, cells)` each (distinct
    /// keys), admitted only if every bucket admits its cells, and then counted in every one;
    /// else counted in none. One atomic step on the backend. Each bucket's [`Decision`] says
    /// whether that bucket would have admitted it (so the caller can name what refused):
    /// admitted means all of them `allowed`.
    pub async fn admit_all(
        &self,
        buckets: &[(&str, &Rate, u64)],
    ) -> Result<Vec<Decision>, CacheError> {
        self.decide(buckets, None).await
    }

    /// [`Cache::admit_all`] at `now_us`, for tests.
    #[doc(hidden)]
    pub async fn admit_all_at(
        &self,
        buckets: &[(&str, &Rate, u64)],
        now_us: u64,
    ) -> Result<Vec<Decision>, CacheError> {
        self.decide(buckets, Some(now_us)).await
    }

    async fn decide(
        &self,
        buckets: &[(&str, &Rate, u64)],
        now_us: Option<u64>,
    ) -> Result<Vec<Decision>, CacheError> {
        let result = self.decide_on_backend(buckets, now_us).await;
        self.record(Op::Admit, &result, |_| Outcome::Ok);
        result
    }

    async fn decide_on_backend(
        &self,
        buckets: &[(&str, &Rate, u64)],
        now_us: Option<u64>,
    ) -> Result<Vec<Decision>, CacheError> {
        if buckets.is_empty() {
            return Err(CacheError::invalid("a decision needs at least one bucket"));
        }
        let keys: Vec<String> = buckets.iter().map(|(key, ..)| self.full_key(key)).collect();
        let mut distinct = keys.clone();
        distinct.sort_unstable();
        distinct.dedup();
        if distinct.len() != keys.len() {
            return Err(CacheError::invalid("a decision names each bucket once"));
        }
        let links = buckets
            .iter()
            .map(|(_, rate, cells)| Link::new(**rate, *cells))
            .collect::<Result<Vec<Link>, CacheError>>()?;
        let steps = self.inner.backend.gcra(&keys, &links, now_us).await?;
        Ok(steps
            .iter()
            .zip(&links)
            .map(|(gcra, link)| gcra.decision(&link.rate))
            .collect())
    }

    /// Readiness: `Ok` when the backend answers now (Redis `PING`; always for memory).
    pub async fn ping(&self) -> Result<(), CacheError> {
        self.inner.backend.ping().await
    }

    /// Current counters. On Redis this asks the server for `INFO stats` (for `evicted_keys`);
    /// if Redis does not answer, `redis_evicted_keys` is `None` and the rest is still reported.
    pub async fn metrics(&self) -> CacheMetricsSnapshot {
        let stats = self.inner.backend.stats().await;
        CacheMetricsSnapshot::new(self.backend_kind(), &self.inner.requests, stats)
    }
}

fn hit_or_miss<T>(value: &Option<T>) -> Outcome {
    if value.is_some() {
        Outcome::Hit
    } else {
        Outcome::Miss
    }
}

fn decode<T: DeserializeOwned>(key: &str, bytes: Option<Vec<u8>>) -> Result<Option<T>, CacheError> {
    bytes
        .map(|bytes| {
            serde_json::from_slice(&bytes).map_err(|source| CacheError::Decode {
                key: key.to_owned(),
                source,
            })
        })
        .transpose()
}
