//! Start-up: the migration policy, binding, serving until a signal, and logging.

use std::net::SocketAddr;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::{web, HttpServer};
use anyhow::{bail, Context};
use navi_tenancy::{build_pool, migrations, Backend, ConnectionOptions, DbPool, PoolOptions};

use crate::app::{build_app, build_metrics_app, AppState};
use crate::config::{Config, LogFormat};

/// How long in-flight requests get to finish after SIGTERM or Ctrl-C.
const SHUTDOWN_GRACE_SECONDS: u64 = 30;

/// Opens the database and applies the migration policy of shared/API.md: SQLite applies pending
/// migrations at start; PostgreSQL refuses to start while any are pending unless `migrate` is set.
pub fn open_database(config: &Config, migrate: bool) -> anyhow::Result<DbPool> {
    let pool = build_pool(
        &config.database_url,
        &PoolOptions {
            max_size: config.db_pool_size,
            connection: ConnectionOptions {
                statement_timeout: config.statement_timeout,
                ..Default::default()
            },
            ..Default::default()
        },
    );
    let mut conn = navi_tenancy::checkout(&pool)
        .with_context(|| format!("cannot open the database {}", config.database_url))?;
    let pending = migrations::pending(&mut conn).context("cannot list pending migrations")?;
    if pending.is_empty() {
        tracing::info!(database = %config.database_url, "database schema is up to date");
    } else if config.backend() == Backend::Sqlite || migrate {
        migrations::run_pending(&mut conn, |name| {
            tracing::info!(migration = name, "applied migration")
        })
        .context("cannot apply migrations")?;
    } else {
        bail!(
            "the database {} has {} pending migration(s): {}. Apply them with \
             `cargo xtask migrate --database-url <url>` or start with `navi-server --migrate`",
            config.database_url,
            pending.len(),
            pending.join(", ")
        );
    }
    drop(conn);
    Ok(pool)
}

/// Connects the cache: memory without `NAVI_REDIS_URL`; Redis otherwise, failing closed while it
/// is down unless `NAVI_CACHE_FALLBACK=memory`.
pub async fn connect_cache(config: &Config) -> anyhow::Result<navi_cache::Cache> {
    let redis = config.redis_url.as_ref().map(|url| {
        let mut redis = navi_cache::RedisConfig::new(url.clone());
        redis.getdel_mode = config.cache_getdel_mode;
        redis.consume_wait = config.cache_consume_wait;
        redis
    });
    let cache = navi_cache::Cache::connect(navi_cache::CacheConfig {
        redis,
        fallback: config.cache_fallback,
        key_prefix: config.cache_key_prefix.clone(),
        ..Default::default()
    })
    .await
    .context("cannot set up the cache")?;
    tracing::info!(backend = ?cache.backend_kind(), "cache ready");
    Ok(cache)
}

/// Binds the server without running it, so a caller (a test) can read the bound address.
pub fn bind(state: AppState, addr: SocketAddr) -> anyhow::Result<(Server, SocketAddr)> {
    let server = HttpServer::new(move || build_app(state.clone()))
        .disable_signals()
        .shutdown_timeout(SHUTDOWN_GRACE_SECONDS)
        .bind(addr)
        .with_context(|| format!("cannot listen on {addr}"))?;
    run_bound(server.addrs(), server.run())
}

/// Binds the `NAVI_METRICS_BIND` listener, which serves `/metrics` only, without running it.
pub fn bind_metrics(state: AppState, addr: SocketAddr) -> anyhow::Result<(Server, SocketAddr)> {
    let server = HttpServer::new(move || build_metrics_app(state.clone()))
        .disable_signals()
        .shutdown_timeout(SHUTDOWN_GRACE_SECONDS)
        .workers(1)
        .bind(addr)
        .with_context(|| format!("cannot listen on {addr} (NAVI_METRICS_BIND)"))?;
    run_bound(server.addrs(), server.run())
}

fn run_bound(addrs: Vec<SocketAddr>, server: Server) -> anyhow::Result<(Server, SocketAddr)> {
    let bound = addrs
        .first()
        .copied()
        .context("the server bound no address")?;
    Ok((server, bound))
}

/// Opens the database, serves until SIGTERM or Ctrl-C, then finishes in-flight requests.
pub async fn serve(config: Config, migrate: bool) -> anyhow::Result<()> {
    let config = Arc::new(config);
    let pool = {
        let config = Arc::clone(&config);
        web::block(move || open_database(&config, migrate)).await??
    };
    let cache = connect_cache(&config).await?;
    let state = AppState::new(pool, Arc::clone(&config), cache)?;
    crate::file_modes::warn_about_loose_modes(&config);
    // Bound before the main listener and logged first, so that once the main "listening" line is
    // out, everything is.
    let metrics = match config.metrics_bind {
        Some(addr) => {
            let (server, addr) = bind_metrics(state.clone(), addr)?;
            tracing::info!(%addr, "metrics served on http://{addr}/metrics only");
            Some(server)
        }
        None => None,
    };
    let (server, addr) = bind(state, config.bind)?;
    tracing::info!(%addr, backend = %config.backend(), "navi-server listening on http://{addr}");
    let handles: Vec<_> = std::iter::once(&server)
        .chain(&metrics)
        .map(Server::handle)
        .collect();
    actix_web::rt::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down: finishing in-flight requests");
        futures_util::future::join_all(handles.iter().map(|handle| handle.stop(true))).await;
    });
    match metrics {
        Some(metrics) => futures_util::future::try_join(server, metrics)
            .await
            .map(|_| ()),
        None => server.await,
    }
    .context("server failed")
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = terminate.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; Ctrl-C still stops the server");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Structured logs on stderr (stdout stays free for command output such as `bootstrap`).
pub fn init_tracing(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(crate::config::DEFAULT_LOG));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    // A second initialisation (tests) keeps the first subscriber.
    let _ = match config.log_format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
