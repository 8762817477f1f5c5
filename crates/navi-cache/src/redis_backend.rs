//! The Redis backend: a deadpool-redis pool, `GETDEL` with a Lua fallback, optional `WAIT`.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use deadpool::managed::{self, Metrics, Object, PoolError, RecycleResult};
use deadpool::Runtime;
use deadpool_redis::redis::aio::MultiplexedConnection;
use deadpool_redis::redis::{self, AsyncConnectionConfig, ErrorKind, RedisError, ServerErrorKind};

use crate::backend::{
    ttl_millis, validate_ttl, BackendKind, BackendStats, CacheBackend, GetDelPath,
};
use crate::coalesce::Coalescer;
use crate::error::CacheError;
use crate::rate::{Gcra, Link, Tat};

/// Atomic GET then DEL, for servers without `GETDEL` (before 6.2, or with it renamed away).
/// `redis.call` raises on WRONGTYPE, so the error reaches the caller exactly as `GETDEL`'s would.
const GETDEL_SCRIPT: &str = r"local value = redis.call('GET', KEYS[1])
if value then
  redis.call('DEL', KEYS[1])
end
return value
";

/// A fixed-window counter: `INCR`, and the window's expiry set by the count that created the
/// key, in one step, so no counter is ever left without an expiry.
const COUNT_SCRIPT: &str = r"local count = redis.call('INCR', KEYS[1])
if count == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return count
";

/// Which command `getdel` sends to Redis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GetDelMode {
    /// `GETDEL`; if the server answers "unknown command" (or "unknown or disabled command"),
    /// switch this pool to the Lua script for good, log it once and count it. Any other error is
    /// returned as is.
    #[default]
    Auto,
    /// `GETDEL` only; "unknown command" is an error.
    GetDel,
    /// The Lua script only, for servers known to lack `GETDEL`.
    Lua,
}

impl GetDelMode {
    /// `"auto"`, `"getdel"` or `"lua"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::GetDel => "getdel",
            Self::Lua => "lua",
        }
    }
}

impl fmt::Display for GetDelMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for GetDelMode {
    type Err = CacheError;

    /// Parses `auto`, `getdel` or `lua`, ignoring case and surrounding spaces.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "getdel" => Ok(Self::GetDel),
            "lua" => Ok(Self::Lua),
            other => Err(CacheError::invalid(format!(
                "unknown getdel mode `{other}`: expected auto, getdel or lua"
            ))),
        }
    }
}

/// After a successful consume, ask Redis to confirm the delete reached replicas
/// (`WAIT replicas timeout`) before reporting success. See docs/runbooks/redis-failover.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsumeWait {
    /// Replicas that must acknowledge (`numreplicas`); at least 1.
    pub replicas: u32,
    /// How long Redis may block waiting for them; positive, and shorter than the response timeout.
    pub timeout: Duration,
}

/// Settings for [`RedisBackend`].
#[derive(Clone, PartialEq, Eq)]
pub struct RedisConfig {
    /// `redis://[user:password@]host:port[/db]` (or `rediss://`).
    pub url: String,
    /// `GETDEL`, Lua, or `GETDEL` with an automatic fallback.
    pub getdel_mode: GetDelMode,
    /// Most pooled connections. Each request holds one connection for its duration.
    pub pool_max_size: usize,
    /// How long a request waits for a free pooled connection before `Unavailable`.
    pub pool_wait_timeout: Duration,
    /// How long opening a connection may take before `Unavailable`.
    pub connect_timeout: Duration,
    /// How long a command may wait for its reply before `Unavailable`. The command may still have
    /// run: it is never retried.
    pub response_timeout: Duration,
    /// Optional `WAIT` after each successful get-and-delete.
    pub consume_wait: Option<ConsumeWait>,
}

impl RedisConfig {
    /// Defaults for everything but the URL: mode `auto`, 50 connections, 1 s pool wait,
    /// 1 s connect timeout, 2 s response timeout, no `WAIT`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            getdel_mode: GetDelMode::Auto,
            pool_max_size: 50,
            pool_wait_timeout: Duration::from_secs(1),
            connect_timeout: Duration::from_secs(1),
            response_timeout: Duration::from_secs(2),
            consume_wait: None,
        }
    }
}

impl fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisConfig")
            .field("url", &redact_url(&self.url))
            .field("getdel_mode", &self.getdel_mode)
            .field("pool_max_size", &self.pool_max_size)
            .field("pool_wait_timeout", &self.pool_wait_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("response_timeout", &self.response_timeout)
            .field("consume_wait", &self.consume_wait)
            .finish()
    }
}

/// The URL without its credentials, for logs.
pub(crate) fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}[redacted]{}", &url[..scheme_end + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

/// A connection checked out less than this long ago is handed out again without a `PING`.
const PING_IF_IDLE_FOR: Duration = Duration::from_secs(1);

/// deadpool-redis's connection manager with a cheaper recycle.
///
/// deadpool-redis's own recycle sends `UNWATCH` + `PING` on every checkout: a second round trip
/// for every command, which halves throughput. Here a connection in steady use is handed out as is;
/// one idle for [`PING_IF_IDLE_FOR`] gets deadpool-redis's full check. A connection that broke since
/// its last use then fails its next command with an I/O error, which is reported as `Unavailable`
/// (never retried) and drops the connection: the same outcome as the server dying just after a
/// `PING`, which no recycle check can prevent anyway.
struct FastRecycleManager {
    inner: deadpool_redis::Manager,
}

impl fmt::Debug for FastRecycleManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FastRecycleManager")
            .field("inner", &self.inner)
            .finish()
    }
}

impl managed::Manager for FastRecycleManager {
    type Type = MultiplexedConnection;
    type Error = RedisError;

    async fn create(&self) -> Result<MultiplexedConnection, RedisError> {
        self.inner.create().await
    }

    async fn recycle(
        &self,
        connection: &mut MultiplexedConnection,
        metrics: &Metrics,
    ) -> RecycleResult<RedisError> {
        if metrics.last_used() < PING_IF_IDLE_FOR {
            return Ok(());
        }
        self.inner.recycle(connection, metrics).await
    }
}

type Pool = managed::Pool<FastRecycleManager>;
type Connection = Object<FastRecycleManager>;

/// The Redis [`CacheBackend`] over a deadpool pool of deadpool-redis connections.
///
/// Get-and-delete is `GETDEL` or an `EVALSHA` of a GET-then-DEL script (see [`GetDelMode`]); both
/// are atomic on the server, so concurrent consumers through any number of pools or processes see
/// a value at most once. Connections that fail with an I/O error or answer `READONLY` (a primary
/// demoted by a failover) are dropped from the pool instead of being returned to it.
pub struct RedisBackend {
    pool: Pool,
    mode: GetDelMode,
    /// Set once when `auto` meets a server without `GETDEL` (or from the start in `lua` mode).
    use_lua: AtomicBool,
    lua_fallbacks: AtomicU64,
    getdel_calls: AtomicU64,
    lua_calls: AtomicU64,
    script: redis::Script,
    count_script: redis::Script,
    consume_wait: Option<ConsumeWait>,
    redacted_url: String,
    decisions: Arc<Decisions>,
    /// Concurrent decisions on the same buckets, sent as one batch (`coalesce.rs`).
    coalescer: Arc<Coalescer<Chain, Result<Vec<Gcra>, CacheError>>>,
}

/// What batches group decisions by: the buckets and their links.
type Chain = (Vec<String>, Vec<Link>);

/// Rate-limit decisions: the script, over one multiplexed connection (concurrent calls are
/// pipelined on it, one write and one read for many, which is most of their cost at load).
struct Decisions {
    script: redis::Script,
    connection: Multiplexed,
}

impl Decisions {
    /// `n` decisions over `keys` and `links`, made one after another in one script call: each
    /// decision's [`Gcra`] per bucket.
    async fn batch(
        &self,
        keys: &[String],
        links: &[Link],
        now_us: Option<u64>,
        n: usize,
    ) -> Result<Vec<Vec<Gcra>>, CacheError> {
        let (number, mut connection) = self.connection.get().await?;
        let mut invocation = self.script.prepare_invoke();
        for (key, link) in keys.iter().zip(links) {
            invocation
                .key(key)
                .arg(link.cost.micros)
                .arg(link.cost.remainder)
                .arg(link.rate.quota())
                .arg(link.rate.window_us());
        }
        invocation
            .arg(now_us.map(|now| now.to_string()).unwrap_or_default())
            .arg(n);
        let reply: redis::RedisResult<Vec<String>> = invocation.invoke_async(&mut connection).await;
        let reply = reply.map_err(|err| {
            self.connection.fail(number, &err);
            map_redis_error(err)
        })?;
        let number = |index: usize| {
            reply
                .get(index)
                .and_then(|text| text.parse::<u64>().ok())
                .ok_or_else(|| {
                    CacheError::Protocol(format!("rate limit script answered {reply:?}"))
                })
        };
        let start = (0..keys.len())
            .map(|i| {
                Ok(Tat {
                    micros: number(1 + 2 * i)?,
                    remainder: number(2 + 2 * i)?,
                })
            })
            .collect::<Result<Vec<Tat>, CacheError>>()?;
        let now = number(1 + 2 * keys.len())?;
        let decisions = crate::rate::replay(&start, links, now, n);
        let admitted = decisions
            .iter()
            .filter(|steps| steps.iter().all(|gcra| gcra.allowed))
            .count() as u64;
        if admitted != number(0)? {
            return Err(CacheError::Protocol(format!(
                "rate limit script admitted {} of {n}, the replay {admitted}",
                number(0)?
            )));
        }
        Ok(decisions)
    }
}

/// One multiplexed connection, opened on first use and again after a failure. One caller at a
/// time connects; after a failed try every caller fails at once for
/// [`Multiplexed::RETRY_AFTER`], so while Redis is down a request that may go on without a
/// decision does not wait behind connection timeouts.
struct Multiplexed {
    client: redis::Client,
    config: AsyncConnectionConfig,
    /// The connection, numbered: a failure on an older one never drops a newer one.
    current: std::sync::Mutex<Option<(u64, MultiplexedConnection)>>,
    /// Held while connecting; the number of the next connection.
    opening: tokio::sync::Mutex<u64>,
    /// When the last try to connect failed; `None` since one succeeded.
    failed_at: std::sync::Mutex<Option<std::time::Instant>>,
}

impl Multiplexed {
    const RETRY_AFTER: Duration = Duration::from_millis(500);

    /// The connection and its number (for [`Multiplexed::fail`]).
    async fn get(&self) -> Result<(u64, MultiplexedConnection), CacheError> {
        if let Some(current) = self.current() {
            return Ok(current);
        }
        let failing = self.check_recent_failure()?;
        let mut opening = if failing {
            // Redis was down: do not wait behind someone else's try (a black-holed host makes it
            // last the whole connect timeout).
            self.opening.try_lock().map_err(|_| Self::unavailable())?
        } else {
            // A first connection (at start, or after one broke): worth the wait.
            self.opening.lock().await
        };
        if let Some(current) = self.current() {
            return Ok(current);
        }
        // The try this caller waited for may just have failed.
        self.check_recent_failure()?;
        match self
            .client
            .get_multiplexed_async_connection_with_config(&self.config)
            .await
        {
            Ok(connection) => {
                *opening += 1;
                let current = (*opening, connection);
                *self.slot() = Some(current.clone());
                *lock(&self.failed_at) = None;
                Ok(current)
            }
            Err(err) => {
                *lock(&self.failed_at) = Some(std::time::Instant::now());
                Err(map_redis_error(err))
            }
        }
    }

    fn unavailable() -> CacheError {
        CacheError::Unavailable("redis was unreachable a moment ago; retrying shortly".into())
    }

    /// `Err` within [`Multiplexed::RETRY_AFTER`] of a failed try; else whether one ever failed
    /// since the last success.
    fn check_recent_failure(&self) -> Result<bool, CacheError> {
        match *lock(&self.failed_at) {
            Some(at) if at.elapsed() < Self::RETRY_AFTER => Err(Self::unavailable()),
            failed => Ok(failed.is_some()),
        }
    }

    fn current(&self) -> Option<(u64, MultiplexedConnection)> {
        self.slot().clone()
    }

    /// Forgets connection `number` after `err` when it cannot be trusted for the next decision
    /// (I/O trouble, or a replica after a failover): the next caller opens a fresh one.
    fn fail(&self, number: u64, err: &RedisError) {
        if err.kind() == ErrorKind::Server(ServerErrorKind::ReadOnly) || !is_server_reply(err) {
            let mut slot = self.slot();
            if slot.as_ref().is_some_and(|(current, _)| *current == number) {
                *slot = None;
            }
        }
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Option<(u64, MultiplexedConnection)>> {
        lock(&self.current)
    }
}

/// A std mutex's guard; a panic while holding one of these cannot leave its value half-written.
fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl fmt::Debug for RedisBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisBackend")
            .field("url", &self.redacted_url)
            .field("mode", &self.mode)
            .field("path", &self.getdel_path())
            .field("pool", &self.pool.status())
            .field("consume_wait", &self.consume_wait)
            .finish_non_exhaustive()
    }
}

impl RedisBackend {
    /// Builds the pool without connecting: connections open on first use, so a server that is
    /// down now makes requests fail with [`CacheError::Unavailable`] until it is back. Invalid
    /// settings (a malformed URL, a zero pool size, a `WAIT` longer than the response timeout)
    /// are [`CacheError::Invalid`].
    pub fn new(config: &RedisConfig) -> Result<Self, CacheError> {
        if config.pool_max_size == 0 {
            return Err(CacheError::invalid("redis pool size must be positive"));
        }
        if let Some(wait) = config.consume_wait {
            if wait.replicas == 0 {
                return Err(CacheError::invalid(
                    "WAIT after consume needs at least 1 replica",
                ));
            }
            // WAIT 0 blocks forever, and a WAIT outliving the response timeout would be reported
            // as a lost reply.
            if wait.timeout.is_zero() || wait.timeout >= config.response_timeout {
                return Err(CacheError::invalid(format!(
                    "WAIT timeout must be positive and below the response timeout ({:?}), got {:?}",
                    config.response_timeout, wait.timeout
                )));
            }
        }
        let connection_config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(config.connect_timeout))
            .set_response_timeout(Some(config.response_timeout));
        let manager = deadpool_redis::Manager::new_with_config(
            config.url.as_str(),
            connection_config.clone(),
        )
        .map_err(|err| {
            CacheError::invalid(format!(
                "redis URL {} is not usable: {err}",
                redact_url(&config.url)
            ))
        })?;
        let pool = Pool::builder(FastRecycleManager { inner: manager })
            .max_size(config.pool_max_size)
            .wait_timeout(Some(config.pool_wait_timeout))
            .create_timeout(Some(config.connect_timeout))
            .recycle_timeout(Some(config.response_timeout))
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|err| CacheError::invalid(format!("redis pool: {err}")))?;
        Ok(Self {
            pool,
            mode: config.getdel_mode,
            use_lua: AtomicBool::new(config.getdel_mode == GetDelMode::Lua),
            lua_fallbacks: AtomicU64::new(0),
            getdel_calls: AtomicU64::new(0),
            lua_calls: AtomicU64::new(0),
            script: redis::Script::new(GETDEL_SCRIPT),
            count_script: redis::Script::new(COUNT_SCRIPT),
            consume_wait: config.consume_wait,
            redacted_url: redact_url(&config.url),
            coalescer: Arc::new(Coalescer::new()),
            decisions: Arc::new(Decisions {
                script: redis::Script::new(crate::rate::GCRA_SCRIPT),
                connection: Multiplexed {
                    client: redis::Client::open(config.url.as_str()).map_err(|err| {
                        CacheError::invalid(format!(
                            "redis URL {} is not usable: {err}",
                            redact_url(&config.url)
                        ))
                    })?,
                    config: connection_config,
                    current: std::sync::Mutex::new(None),
                    opening: tokio::sync::Mutex::new(0),
                    failed_at: std::sync::Mutex::new(None),
                },
            }),
        })
    }

    /// The path the next get-and-delete takes: [`GetDelPath::GetDel`] or [`GetDelPath::Lua`].
    pub fn getdel_path(&self) -> GetDelPath {
        if self.use_lua.load(Ordering::Relaxed) {
            GetDelPath::Lua
        } else {
            GetDelPath::GetDel
        }
    }

    /// Connections the pool holds now (in use or idle); for diagnostics.
    pub fn open_connections(&self) -> usize {
        self.pool.status().size
    }

    /// The configured mode.
    pub fn getdel_mode(&self) -> GetDelMode {
        self.mode
    }

    /// The SHA-1 the Lua path runs with `EVALSHA` (for comparing against `redis-benchmark`).
    pub fn script_sha(&self) -> &str {
        self.script.get_hash()
    }

    /// The SHA-1 a rate-limit decision runs with `EVALSHA` (for comparing against
    /// `redis-benchmark`).
    pub fn rate_script_sha(&self) -> &str {
        self.decisions.script.get_hash()
    }

    async fn connection(&self) -> Result<Connection, CacheError> {
        self.pool.get().await.map_err(|err| match err {
            PoolError::Backend(err) => map_redis_error(err),
            PoolError::Timeout(kind) => CacheError::Unavailable(format!(
                "no redis connection within the pool's {kind:?} timeout"
            )),
            other => CacheError::Unavailable(format!("redis pool: {other}")),
        })
    }

    /// Run one command on a pooled connection, without retrying.
    async fn query<T: redis::FromRedisValue>(&self, command: &redis::Cmd) -> Result<T, CacheError> {
        let mut connection = self.connection().await?;
        match command.query_async(&mut *connection).await {
            Ok(value) => Ok(value),
            Err(err) => Err(self.fail(connection, err)),
        }
    }

    /// Turn a failed command's error into a [`CacheError`], dropping the connection when it cannot
    /// be trusted for the next request (I/O trouble, or pointing at a read-only replica).
    fn fail(&self, connection: Connection, err: RedisError) -> CacheError {
        let readonly = err.kind() == ErrorKind::Server(ServerErrorKind::ReadOnly);
        if readonly {
            tracing::warn!(
                redis = %self.redacted_url,
                "redis answered READONLY (failover?); dropping the pooled connection"
            );
        }
        if readonly || !is_server_reply(&err) {
            // Taking the connection out of its pool object closes it instead of recycling it,
            // so the next request opens a fresh connection (to the new primary, after failover).
            drop(Object::take(connection));
        }
        map_redis_error(err)
    }

    fn switch_to_lua(&self, err: &RedisError) {
        if self
            .use_lua
            .compare_exchange(false, true, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
        {
            self.lua_fallbacks.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                redis = %self.redacted_url,
                error = %err,
                "redis does not know GETDEL; using the Lua GET+DEL script from now on"
            );
        }
    }

    async fn run_script(
        &self,
        connection: &mut Connection,
        key: &str,
    ) -> redis::RedisResult<Option<Vec<u8>>> {
        self.lua_calls.fetch_add(1, Ordering::Relaxed);
        self.script.key(key).invoke_async(&mut **connection).await
    }

    async fn wait_for_replicas(
        &self,
        connection: &mut Connection,
        wait: ConsumeWait,
    ) -> redis::RedisResult<u64> {
        let timeout_millis = ttl_millis(wait.timeout);
        redis::cmd("WAIT")
            .arg(wait.replicas)
            .arg(timeout_millis)
            .query_async(&mut **connection)
            .await
    }
}

/// True when Redis answered with an error reply (the connection is fine); false for I/O,
/// timeouts, protocol trouble.
fn is_server_reply(err: &RedisError) -> bool {
    matches!(err.kind(), ErrorKind::Server(_) | ErrorKind::Extension)
}

/// "unknown command" from Redis, or "unknown or disabled command" from builds that disable it.
/// Nothing else (NOPERM in particular) justifies switching paths.
fn is_unknown_command(err: &RedisError) -> bool {
    if err.kind() != ErrorKind::Server(ServerErrorKind::ResponseError) {
        return false;
    }
    let detail = err
        .detail()
        .unwrap_or_default()
        .trim_start()
        .to_ascii_lowercase();
    detail.starts_with("unknown command") || detail.starts_with("unknown or disabled command")
}

pub(crate) fn map_redis_error(err: RedisError) -> CacheError {
    match err.kind() {
        ErrorKind::Server(_) | ErrorKind::Extension => CacheError::Server {
            code: err.code().unwrap_or("ERR").to_owned(),
            message: err.detail().unwrap_or_default().to_owned(),
        },
        ErrorKind::Parse | ErrorKind::UnexpectedReturnType | ErrorKind::Client => {
            CacheError::Protocol(err.to_string())
        }
        ErrorKind::InvalidClientConfig => CacheError::Invalid(err.to_string()),
        // I/O (refused, reset, timed out, lost reply), authentication, sentinel lookups: the
        // cache cannot serve now.
        _ => CacheError::Unavailable(err.to_string()),
    }
}

#[async_trait]
impl CacheBackend for RedisBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Redis
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        self.query(redis::cmd("GET").arg(key)).await
    }

    async fn set(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<(), CacheError> {
        validate_ttl(ttl)?;
        self.query::<()>(
            redis::cmd("SET")
                .arg(key)
                .arg(value)
                .arg("PX")
                .arg(ttl_millis(ttl)),
        )
        .await
    }

    async fn delete(&self, key: &str) -> Result<bool, CacheError> {
        let removed: u64 = self.query(redis::cmd("DEL").arg(key)).await?;
        Ok(removed > 0)
    }

    async fn count(&self, key: &str, window: Duration) -> Result<u64, CacheError> {
        validate_ttl(window)?;
        let mut connection = self.connection().await?;
        let counted = self
            .count_script
            .key(key)
            .arg(ttl_millis(window))
            .invoke_async(&mut *connection)
            .await;
        counted.map_err(|err| self.fail(connection, err))
    }

    async fn gcra(
        &self,
        keys: &[String],
        links: &[Link],
        now_us: Option<u64>,
    ) -> Result<Vec<Gcra>, CacheError> {
        if now_us.is_some() {
            // A test's schedule: one decision at its own time, never batched with others.
            let mut decisions = self.decisions.batch(keys, links, now_us, 1).await?;
            return decisions.pop().ok_or_else(|| {
                CacheError::Protocol("rate limit script answered no decision".into())
            });
        }
        let chain: Chain = (keys.to_vec(), links.to_vec());
        let decisions = Arc::clone(&self.decisions);
        let (keys, links) = chain.clone();
        self.coalescer
            .run(chain, move |n| {
                let (decisions, keys, links) =
                    (Arc::clone(&decisions), keys.clone(), links.clone());
                async move {
                    match decisions.batch(&keys, &links, None, n).await {
                        Ok(decisions) => decisions.into_iter().map(Ok).collect(),
                        Err(error) => (0..n).map(|_| Err(error.duplicate())).collect(),
                    }
                }
            })
            .await
            .unwrap_or_else(|| {
                tracing::error!("a rate-limit batch failed before deciding");
                Err(CacheError::Unavailable("the decision was lost".into()))
            })
    }

    async fn get_del(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        let mut connection = self.connection().await?;
        let result = if self.use_lua.load(Ordering::Relaxed) {
            self.run_script(&mut connection, key).await
        } else {
            match redis::cmd("GETDEL")
                .arg(key)
                .query_async(&mut *connection)
                .await
            {
                // The server refused the command outright, so nothing ran: trying the script is
                // not a retry of a command that may have happened.
                Err(err) if self.mode == GetDelMode::Auto && is_unknown_command(&err) => {
                    self.switch_to_lua(&err);
                    self.run_script(&mut connection, key).await
                }
                other => {
                    self.getdel_calls.fetch_add(1, Ordering::Relaxed);
                    other
                }
            }
        };
        let value = match result {
            Ok(value) => value,
            Err(err) => return Err(self.fail(connection, err)),
        };
        if let (Some(_), Some(wait)) = (&value, self.consume_wait) {
            match self.wait_for_replicas(&mut connection, wait).await {
                Ok(acknowledged) if acknowledged >= u64::from(wait.replicas) => {}
                Ok(acknowledged) => {
                    tracing::warn!(
                        acknowledged,
                        required = wait.replicas,
                        "consume not replicated in time; reporting failure"
                    );
                    return Err(CacheError::NotReplicated {
                        acknowledged,
                        required: u64::from(wait.replicas),
                    });
                }
                Err(err) => return Err(self.fail(connection, err)),
            }
        }
        Ok(value)
    }

    async fn ping(&self) -> Result<(), CacheError> {
        let reply: String = self.query(&redis::cmd("PING")).await?;
        if reply == "PONG" {
            Ok(())
        } else {
            Err(CacheError::Protocol(format!("PING answered {reply:?}")))
        }
    }

    async fn stats(&self) -> BackendStats {
        let redis_evicted_keys = match self.query::<String>(redis::cmd("INFO").arg("stats")).await {
            Ok(info) => parse_info_field(&info, "evicted_keys"),
            Err(err) => {
                tracing::debug!(error = %err, "could not read redis INFO stats");
                None
            }
        };
        BackendStats {
            getdel_by_path: vec![
                (
                    GetDelPath::GetDel,
                    self.getdel_calls.load(Ordering::Relaxed),
                ),
                (GetDelPath::Lua, self.lua_calls.load(Ordering::Relaxed)),
            ],
            lua_fallbacks: self.lua_fallbacks.load(Ordering::Relaxed),
            memory_evictions: 0,
            redis_evicted_keys,
        }
    }
}

/// A numeric `field:value` line from an `INFO` reply.
fn parse_info_field(info: &str, field: &str) -> Option<u64> {
    info.lines().find_map(|line| {
        let (name, value) = line.trim_end().split_once(':')?;
        (name == field).then(|| value.parse().ok()).flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn getdel_mode_parses_operator_spellings() {
        assert_eq!(" Auto ".parse::<GetDelMode>().unwrap(), GetDelMode::Auto);
        assert_eq!("getdel".parse::<GetDelMode>().unwrap(), GetDelMode::GetDel);
        assert_eq!("LUA".parse::<GetDelMode>().unwrap(), GetDelMode::Lua);
        assert!(matches!(
            "legacy".parse::<GetDelMode>(),
            Err(CacheError::Invalid(_))
        ));
    }

    #[test]
    fn info_field_is_read_from_its_line() {
        let info = "# Stats\r\nexpired_keys:3\r\nevicted_keys:42\r\nevicted_clients:0\r\n";
        assert_eq!(parse_info_field(info, "evicted_keys"), Some(42));
        assert_eq!(parse_info_field(info, "missing"), None);
    }

    #[test]
    fn url_credentials_are_redacted() {
        assert_eq!(
            redact_url("redis://user:secret@host:6379/0"),
            "redis://[redacted]@host:6379/0"
        );
        assert_eq!(redact_url("redis://host:6379"), "redis://host:6379");
    }

    #[test]
    fn ttl_rounds_up_to_whole_milliseconds() {
        assert_eq!(ttl_millis(Duration::from_millis(1500)), 1500);
        assert_eq!(ttl_millis(Duration::from_micros(1500)), 2);
    }
}
