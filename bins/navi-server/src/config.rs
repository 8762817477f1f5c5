//! Configuration from environment variables, validated at start with one line per problem.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use navi_cache::{CacheFallback, GetDelMode};
pub use navi_tenancy::DEFAULT_DATABASE_URL;
use navi_tenancy::{Backend, DatabaseUrl};

/// The default listening address.
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
/// The default log filter.
pub const DEFAULT_LOG: &str = "info";

/// The server's configuration. Its `Debug` hides the secrets: see [`REDACTED`].
#[derive(Clone)]
pub struct Config {
    /// `NAVI_DATABASE_URL`.
    pub database_url: DatabaseUrl,
    /// `NAVI_REDIS_URL`: none means the in-process memory cache.
    pub redis_url: Option<String>,
    /// `NAVI_BIND`.
    pub bind: SocketAddr,
    /// `NAVI_LOG`: a `tracing` filter such as `info` or `navi_server=debug,info`.
    pub log: String,
    /// `NAVI_LOG_FORMAT`.
    pub log_format: LogFormat,
    /// `NAVI_DB_POOL_SIZE`.
    pub db_pool_size: u32,
    /// `NAVI_DB_STATEMENT_TIMEOUT_MS` (PostgreSQL).
    pub statement_timeout: Duration,
    /// `NAVI_API_KEY_PEPPER`: base64 of 32 bytes. Required on PostgreSQL; on SQLite, when unset,
    /// generated once into a file next to the database.
    pub api_key_pepper: Option<String>,
    /// `NAVI_ENCRYPTION_KEYS` (`id:base64,...`, first primary) or `NAVI_ENCRYPTION_KEY_FILE`.
    /// Required on PostgreSQL; on SQLite, when neither is set, a key file is generated once next to
    /// the database.
    pub encryption_keys: Option<KeySource>,
    /// `NAVI_CACHE_KEY_PREFIX`: prepended to every cache key (default `navi:`), so deployments
    /// (or tests) can share one Redis without sharing sessions, tokens or counters.
    pub cache_key_prefix: String,
    /// `NAVI_CACHE_FALLBACK`: `memory` lets a single instance degrade to the in-process cache when
    /// Redis is configured but unreachable at start; `none` (the default) fails closed.
    pub cache_fallback: CacheFallback,
    /// `NAVI_CACHE_GETDEL_MODE`: `auto` (GETDEL, Lua where the server lacks it), `getdel` or `lua`.
    pub cache_getdel_mode: GetDelMode,
    /// `NAVI_CACHE_WAIT_REPLICAS` / `NAVI_CACHE_WAIT_TIMEOUT_MS`: after each consume, `WAIT` for
    /// this many replicas to acknowledge the delete (see docs/runbooks/redis-failover.md).
    pub cache_consume_wait: Option<navi_cache::ConsumeWait>,
    /// `NAVI_AUTH_CACHE_TTL_MS`: how long this instance keeps verified key records and org
    /// contexts (0 turns the cache off). Changes made through another instance show here within it.
    pub auth_cache_ttl: Duration,
    /// `NAVI_METRICS_TOKEN`: when set, every `/metrics` request needs it as a bearer token,
    /// loopback or not; when unset, only loopback clients that are not relaying for another
    /// (no `Forwarded` / `X-Forwarded-For`) may read `/metrics`. Required with
    /// `NAVI_TRUSTED_PROXIES`: a proxy is then known to exist, and behind a proxy on the same host
    /// every client is loopback.
    pub metrics_token: Option<String>,
    /// `NAVI_METRICS_BIND`: when set, `/metrics` is served on this address only (same token
    /// rule), and the main listener answers it 404.
    pub metrics_bind: Option<SocketAddr>,
    /// `NAVI_TRUSTED_PROXIES`: the peers (CIDR blocks or addresses, comma-separated) whose
    /// `X-Forwarded-For` names the client; from any other peer the header is ignored.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// `NAVI_AUDIT_CHAIN_KEYS` (`id:base64,...`, first primary): the HMAC keys that sign the
    /// audit chain. Optional: a key derived from the API key pepper (id `pepper-` and its
    /// fingerprint) is always in the ring, and signs when none is configured.
    pub audit_chain_keys: Option<String>,
    /// `NAVI_PUBLIC_URL`: the origin browsers reach Navi at (links in mail, the `Origin` that
    /// unsafe requests under a session cookie must carry, the SSO redirect URI). https unless the
    /// host is loopback; default `http://localhost:` and `NAVI_BIND`'s port.
    pub public_url: url::Url,
    /// `NAVI_SMTP_URL` (`smtp://`, `smtp://…?tls=required` for STARTTLS, `smtps://`, with
    /// optional `user:password@`): where mail goes. Without it, the embedded default writes mail
    /// to `outbox/` next to the database, and PostgreSQL sends none.
    pub smtp_url: Option<String>,
    /// `NAVI_MAIL_FROM`: the sender of Navi's mail; default `navi@` and the public host.
    pub mail_from: lettre::message::Mailbox,
    /// `NAVI_OIDC_ISSUER`, `NAVI_OIDC_CLIENT_ID`, `NAVI_OIDC_CLIENT_SECRET`: the platform's
    /// OpenID Connect provider, trusted for every email domain; none when unset.
    pub platform_oidc: Option<PlatformOidc>,
    /// `NAVI_RATE_LIMITS`, `NAVI_RATE_LIMIT_<POLICY>`, `NAVI_RATE_LIMIT_ON_CACHE_ERROR`: see
    /// [`crate::rate_limits`].
    pub rate_limits: crate::rate_limits::RateLimitConfig,
}

/// The platform's OpenID Connect provider. `Debug` hides the client secret.
#[derive(Clone, PartialEq, Eq)]
pub struct PlatformOidc {
    /// The issuer URL.
    pub issuer: String,
    /// Navi's client id there.
    pub client_id: String,
    /// Navi's client secret there (`None`: a public client).
    pub client_secret: Option<String>,
}

impl fmt::Debug for PlatformOidc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlatformOidc")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| Redacted),
            )
            .finish()
    }
}

/// Where the encryption keys come from. `Debug` hides inline keys.
#[derive(Clone, PartialEq, Eq)]
pub enum KeySource {
    /// `NAVI_ENCRYPTION_KEYS`, already checked to parse.
    Inline(String),
    /// `NAVI_ENCRYPTION_KEY_FILE`.
    File(std::path::PathBuf),
}

impl fmt::Debug for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySource::Inline(_) => f.debug_tuple("Inline").field(&Redacted).finish(),
            KeySource::File(path) => f.debug_tuple("File").field(path).finish(),
        }
    }
}

/// What `Debug` prints in place of a secret (the pepper, keys, tokens, URL passwords).
pub const REDACTED: &str = "<redacted>";

/// Prints [`REDACTED`] without quotes.
struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Debug for Config {
    /// Every field, with the pepper, keys and tokens replaced by [`REDACTED`] (`None` stays
    /// `None`, so whether a secret is set still shows) and URL passwords masked.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Destructured so that a new field cannot be left out (or printed unredacted) unnoticed.
        let Config {
            database_url,
            redis_url,
            bind,
            log,
            log_format,
            db_pool_size,
            statement_timeout,
            api_key_pepper,
            encryption_keys,
            cache_key_prefix,
            cache_fallback,
            cache_getdel_mode,
            cache_consume_wait,
            auth_cache_ttl,
            metrics_token,
            metrics_bind,
            trusted_proxies,
            audit_chain_keys,
            public_url,
            smtp_url,
            mail_from,
            platform_oidc,
            rate_limits,
        } = self;
        let secret = |value: &Option<String>| value.as_ref().map(|_| Redacted);
        f.debug_struct("Config")
            .field("database_url", database_url)
            .field(
                "redis_url",
                &redis_url.as_deref().map(navi_tenancy::redact_url_password),
            )
            .field("bind", bind)
            .field("log", log)
            .field("log_format", log_format)
            .field("db_pool_size", db_pool_size)
            .field("statement_timeout", statement_timeout)
            .field("api_key_pepper", &secret(api_key_pepper))
            .field("encryption_keys", encryption_keys)
            .field("cache_key_prefix", cache_key_prefix)
            .field("cache_fallback", cache_fallback)
            .field("cache_getdel_mode", cache_getdel_mode)
            .field("cache_consume_wait", cache_consume_wait)
            .field("auth_cache_ttl", auth_cache_ttl)
            .field("metrics_token", &secret(metrics_token))
            .field("metrics_bind", metrics_bind)
            .field("trusted_proxies", trusted_proxies)
            .field("audit_chain_keys", &secret(audit_chain_keys))
            .field("public_url", &public_url.as_str())
            .field(
                "smtp_url",
                &smtp_url.as_deref().map(navi_tenancy::redact_url_password),
            )
            .field("mail_from", &mail_from.to_string())
            .field("platform_oidc", platform_oidc)
            .field("rate_limits", rate_limits)
            .finish()
    }
}

/// How log lines are written to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines with `key=value` fields.
    Text,
    /// One JSON object per line.
    Json,
}

/// Every problem found in the configuration, one per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<String>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join("\n"))
    }
}

impl std::error::Error for ConfigErrors {}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Config, ConfigErrors> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup` (the environment, or a map in tests). Empty values
    /// count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigErrors> {
        let get = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let mut problems = Vec::new();

        let database_url = get("NAVI_DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.into());
        let database_url = DatabaseUrl::parse(&database_url)
            .map_err(|e| problems.push(format!("NAVI_DATABASE_URL: {e}")))
            .ok();

        let redis_url = get("NAVI_REDIS_URL");
        if let Some(url) = &redis_url {
            let scheme = url.split_once("://").map(|(scheme, _)| scheme);
            if !matches!(scheme, Some("redis" | "rediss" | "redis+unix" | "unix")) {
                problems.push(
                    "NAVI_REDIS_URL: expected redis://HOST:PORT[/DB] or rediss://… (TLS)".into(),
                );
            }
        }

        let bind = get("NAVI_BIND").unwrap_or_else(|| DEFAULT_BIND.into());
        let bind = bind
            .parse::<SocketAddr>()
            .map_err(|_| {
                problems.push(format!(
                    "NAVI_BIND: `{bind}` is not an IP:PORT address such as {DEFAULT_BIND}"
                ))
            })
            .ok();

        let log = get("NAVI_LOG").unwrap_or_else(|| DEFAULT_LOG.into());
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&log) {
            problems.push(format!("NAVI_LOG: `{log}` is not a log filter ({e})"));
        }

        let log_format = match get("NAVI_LOG_FORMAT").as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                problems.push(format!(
                    "NAVI_LOG_FORMAT: `{other}` is not one of text, json"
                ));
                LogFormat::Text
            }
        };

        let db_pool_size = number(&get, "NAVI_DB_POOL_SIZE", 10, 1..=1000, &mut problems);
        let statement_timeout_ms = number(
            &get,
            "NAVI_DB_STATEMENT_TIMEOUT_MS",
            30_000,
            1..=3_600_000,
            &mut problems,
        );

        let api_key_pepper = get("NAVI_API_KEY_PEPPER");
        match &api_key_pepper {
            Some(pepper) => {
                if let Err(e) = navi_tenancy::api_keys::Pepper::from_base64(pepper) {
                    problems.push(format!("NAVI_API_KEY_PEPPER: {e}"));
                }
            }
            None if database_url.as_ref().map(DatabaseUrl::backend) == Some(Backend::Postgres) => {
                problems.push(
                    "NAVI_API_KEY_PEPPER: required with PostgreSQL (standard base64 of 32 random \
                     bytes, e.g. `openssl rand -base64 32`)"
                        .into(),
                );
            }
            None => {}
        }

        let encryption_keys = match (get("NAVI_ENCRYPTION_KEYS"), get("NAVI_ENCRYPTION_KEY_FILE")) {
            (Some(_), Some(_)) => {
                problems.push(
                    "NAVI_ENCRYPTION_KEYS / NAVI_ENCRYPTION_KEY_FILE: set one of them, not both"
                        .into(),
                );
                None
            }
            (Some(keys), None) => match navi_crypto::Keyring::parse(&keys) {
                Ok(_) => Some(KeySource::Inline(keys)),
                Err(e) => {
                    problems.push(format!("NAVI_ENCRYPTION_KEYS: {e}"));
                    None
                }
            },
            (None, Some(file)) => Some(KeySource::File(file.into())),
            (None, None) => {
                if database_url.as_ref().map(DatabaseUrl::backend) == Some(Backend::Postgres) {
                    problems.push(
                        "NAVI_ENCRYPTION_KEYS: required with PostgreSQL (`cargo xtask gen-key` prints \
                         one), or NAVI_ENCRYPTION_KEY_FILE"
                            .into(),
                    );
                }
                None
            }
        };

        let cache_key_prefix = get("NAVI_CACHE_KEY_PREFIX").unwrap_or_else(|| "navi:".into());
        if cache_key_prefix.len() > 64
            || cache_key_prefix.chars().any(|c| c.is_control() || c == ' ')
        {
            problems.push(
                "NAVI_CACHE_KEY_PREFIX: at most 64 characters, without spaces or control characters"
                    .into(),
            );
        }
        let cache_fallback = get("NAVI_CACHE_FALLBACK")
            .map(|value| value.parse::<CacheFallback>())
            .transpose()
            .unwrap_or_else(|_| {
                problems.push("NAVI_CACHE_FALLBACK: one of memory, none".into());
                None
            })
            .unwrap_or(CacheFallback::Disabled);
        let cache_getdel_mode = get("NAVI_CACHE_GETDEL_MODE")
            .map(|value| value.parse::<GetDelMode>())
            .transpose()
            .unwrap_or_else(|_| {
                problems.push("NAVI_CACHE_GETDEL_MODE: one of auto, getdel, lua".into());
                None
            })
            .unwrap_or(GetDelMode::Auto);
        let metrics_token = get("NAVI_METRICS_TOKEN");
        let auth_cache_ttl_ms = number(
            &get,
            "NAVI_AUTH_CACHE_TTL_MS",
            5_000,
            0..=60_000,
            &mut problems,
        );
        let cache_consume_wait = get("NAVI_CACHE_WAIT_REPLICAS").map(|_| {
            let replicas = number(&get, "NAVI_CACHE_WAIT_REPLICAS", 1, 1..=16, &mut problems);
            let timeout_ms = number(
                &get,
                "NAVI_CACHE_WAIT_TIMEOUT_MS",
                100,
                1..=1_500,
                &mut problems,
            );
            navi_cache::ConsumeWait {
                replicas,
                timeout: Duration::from_millis(timeout_ms.into()),
            }
        });

        let trusted_proxies = get("NAVI_TRUSTED_PROXIES")
            .map(|list| parse_trusted_proxies(&list))
            .transpose()
            .unwrap_or_else(|problem| {
                problems.push(format!("NAVI_TRUSTED_PROXIES: {problem}"));
                None
            })
            .unwrap_or_default();
        if !trusted_proxies.is_empty() && metrics_token.is_none() {
            problems.push(
                "NAVI_METRICS_TOKEN: required when NAVI_TRUSTED_PROXIES is set: through a proxy \
                 on this host every client is loopback, so /metrics cannot be left to loopback \
                 clients"
                    .into(),
            );
        }
        let metrics_bind =
            get("NAVI_METRICS_BIND").and_then(|value| match value.parse::<SocketAddr>() {
                Ok(addr) if Some(addr) == bind && addr.port() != 0 => {
                    problems.push(format!(
                        "NAVI_METRICS_BIND: `{value}` is NAVI_BIND's address; give metrics their \
                         own port, or leave NAVI_METRICS_BIND unset to serve them on NAVI_BIND"
                    ));
                    None
                }
                Ok(addr) => Some(addr),
                Err(_) => {
                    problems.push(format!(
                        "NAVI_METRICS_BIND: `{value}` is not an IP:PORT address such as \
                         127.0.0.1:9090"
                    ));
                    None
                }
            });
        let audit_chain_keys = get("NAVI_AUDIT_CHAIN_KEYS");
        if let Some(keys) = &audit_chain_keys {
            match navi_crypto::MacKeyring::parse(keys) {
                Ok(ring)
                    if ring
                        .key_ids()
                        .any(|id| id.as_str().starts_with(PEPPER_CHAIN_KEY_PREFIX)) =>
                {
                    problems.push(format!(
                        "NAVI_AUDIT_CHAIN_KEYS: ids starting with `{PEPPER_CHAIN_KEY_PREFIX}` are \
                         reserved for the key derived from the API key pepper"
                    ))
                }
                Ok(_) => {}
                Err(e) => problems.push(format!("NAVI_AUDIT_CHAIN_KEYS: {e}")),
            }
        }

        let public_url = parse_public_url(get("NAVI_PUBLIC_URL"), bind)
            .map_err(|problem| problems.push(format!("NAVI_PUBLIC_URL: {problem}")))
            .ok();
        let smtp_url = get("NAVI_SMTP_URL");
        if let Some(url) = &smtp_url {
            if let Err(e) = lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(url) {
                problems.push(format!(
                    "NAVI_SMTP_URL: {e} (expected smtp://HOST:PORT, smtp://HOST?tls=required for \
                     STARTTLS, or smtps://HOST, with optional USER:PASSWORD@)"
                ));
            }
        }
        let mail_from = match (get("NAVI_MAIL_FROM"), &public_url) {
            (Some(from), _) => from
                .parse::<lettre::message::Mailbox>()
                .map_err(|e| problems.push(format!("NAVI_MAIL_FROM: `{from}` is not an address ({e})")))
                .ok(),
            (None, Some(public_url)) => format!("navi@{}", public_url.host_str().unwrap_or("localhost"))
                .parse::<lettre::message::Mailbox>()
                .map_err(|e| problems.push(format!("NAVI_MAIL_FROM: required, since navi@ and the public host is not an address ({e})")))
                .ok(),
            (None, None) => None,
        };

        let platform_oidc = match (get("NAVI_OIDC_ISSUER"), get("NAVI_OIDC_CLIENT_ID")) {
            (Some(issuer), Some(client_id)) => {
                if let Err(e) = navi_tenancy::sso::validate_issuer(&issuer) {
                    problems.push(format!("NAVI_OIDC_ISSUER: {e}"));
                }
                Some(PlatformOidc {
                    issuer,
                    client_id,
                    client_secret: get("NAVI_OIDC_CLIENT_SECRET"),
                })
            }
            (None, None) if get("NAVI_OIDC_CLIENT_SECRET").is_none() => None,
            _ => {
                problems.push(
                    "NAVI_OIDC_ISSUER / NAVI_OIDC_CLIENT_ID: set both (and NAVI_OIDC_CLIENT_SECRET \
                     for a confidential client), or none"
                        .into(),
                );
                None
            }
        };

        let rate_limits = crate::rate_limits::RateLimitConfig::parse(&get, &mut problems);

        match (database_url, bind, public_url, mail_from) {
            (Some(database_url), Some(bind), Some(public_url), Some(mail_from))
                if problems.is_empty() =>
            {
                Ok(Config {
                    database_url,
                    redis_url,
                    bind,
                    log,
                    log_format,
                    db_pool_size,
                    statement_timeout: Duration::from_millis(statement_timeout_ms.into()),
                    api_key_pepper,
                    encryption_keys,
                    cache_key_prefix,
                    cache_fallback,
                    cache_getdel_mode,
                    cache_consume_wait,
                    auth_cache_ttl: Duration::from_millis(auth_cache_ttl_ms.into()),
                    metrics_token,
                    metrics_bind,
                    trusted_proxies,
                    audit_chain_keys,
                    public_url,
                    smtp_url,
                    mail_from,
                    platform_oidc,
                    rate_limits,
                })
            }
            _ => Err(ConfigErrors(problems)),
        }
    }

    /// The database backend in use.
    pub fn backend(&self) -> Backend {
        self.database_url.backend()
    }
}

/// The id prefix of the audit chain key derived from the API key pepper.
pub const PEPPER_CHAIN_KEY_PREFIX: &str = "pepper-";

/// Whether `url`'s host is `localhost` or a loopback address.
pub fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// The public origin: `https://HOST[:PORT]` (`http://` only for a loopback host), without path,
/// query or credentials, since it is compared with the `Origin` browsers send.
fn parse_public_url(value: Option<String>, bind: Option<SocketAddr>) -> Result<url::Url, String> {
    let text = value
        .unwrap_or_else(|| format!("http://localhost:{}", bind.map_or(8080, |bind| bind.port())));
    let url = url::Url::parse(&text).map_err(|e| format!("`{text}` is not a URL ({e})"))?;
    let loopback = is_loopback(&url);
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(format!(
                "`{text}` must be https (http only on a loopback host)"
            ))
        }
        _ => return Err(format!("`{text}` must be an https:// URL")),
    }
    if url.host().is_none()
        || !url.username().is_empty()
        || url.password().is_some()
        || url.path() != "/"
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return Err(format!(
            "`{text}` must be an origin only, such as https://navi.example.com"
        ));
    }
    Ok(url)
}

/// `10.0.0.0/8, 192.168.1.7, ::1`: CIDR blocks, or single addresses (a /32 or /128).
fn parse_trusted_proxies(list: &str) -> Result<Vec<ipnet::IpNet>, String> {
    list.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            entry
                .parse::<ipnet::IpNet>()
                .or_else(|_| entry.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| format!("`{entry}` is not a CIDR block (10.0.0.0/8) or an IP address"))
        })
        .collect()
}

fn number(
    get: &impl Fn(&str) -> Option<String>,
    name: &str,
    default: u32,
    range: std::ops::RangeInclusive<u32>,
    problems: &mut Vec<String>,
) -> u32 {
    let Some(value) = get(name) else {
        return default;
    };
    match value.trim().parse::<u32>() {
        Ok(number) if range.contains(&number) => number,
        _ => {
            problems.push(format!(
                "{name}: `{value}` is not a whole number from {} to {}",
                range.start(),
                range.end()
            ));
            default
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigErrors> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn no_configuration_means_the_embedded_default() {
        let config = config(&[]).unwrap();
        assert_eq!(config.database_url.to_string(), DEFAULT_DATABASE_URL);
        assert_eq!(config.backend(), Backend::Sqlite);
        assert_eq!(config.bind.to_string(), DEFAULT_BIND);
        assert_eq!(config.redis_url, None);
        assert_eq!(config.log_format, LogFormat::Text);
    }

    #[test]
    fn every_problem_is_reported_on_its_own_line() {
        let errors = config(&[
            ("NAVI_DATABASE_URL", "mysql://root:pw@localhost/navi"),
            ("NAVI_REDIS_URL", "localhost:6379"),
            ("NAVI_BIND", "localhost"),
            ("NAVI_LOG", "info,=="),
            ("NAVI_LOG_FORMAT", "xml"),
            ("NAVI_DB_POOL_SIZE", "0"),
        ])
        .unwrap_err();
        let names: Vec<&str> = errors
            .0
            .iter()
            .map(|line| line.split(':').next().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "NAVI_DATABASE_URL",
                "NAVI_REDIS_URL",
                "NAVI_BIND",
                "NAVI_LOG",
                "NAVI_LOG_FORMAT",
                "NAVI_DB_POOL_SIZE"
            ]
        );
        assert!(!errors.to_string().contains("pw@"), "{errors}");
    }

    #[test]
    fn cache_settings_are_parsed_and_checked() {
        let parsed = config(&[
            ("NAVI_CACHE_FALLBACK", "memory"),
            ("NAVI_CACHE_GETDEL_MODE", "lua"),
            ("NAVI_CACHE_WAIT_REPLICAS", "1"),
        ])
        .unwrap();
        assert_eq!(parsed.cache_fallback, CacheFallback::Memory);
        assert_eq!(parsed.cache_getdel_mode, GetDelMode::Lua);
        let wait = parsed.cache_consume_wait.expect("WAIT configured");
        assert_eq!(
            (wait.replicas, wait.timeout),
            (1, Duration::from_millis(100))
        );
        let errors = config(&[
            ("NAVI_CACHE_FALLBACK", "disk"),
            ("NAVI_CACHE_GETDEL_MODE", "fast"),
            ("NAVI_CACHE_WAIT_REPLICAS", "1"),
            ("NAVI_CACHE_WAIT_TIMEOUT_MS", "5000"),
        ])
        .unwrap_err();
        assert_eq!(errors.0.len(), 3, "{errors}");
    }

    #[test]
    fn postgres_requires_a_valid_pepper_and_encryption_keys() {
        let missing = config(&[("NAVI_DATABASE_URL", "postgres://h/db")]).unwrap_err();
        assert_eq!(missing.0.len(), 2, "{missing}");
        assert!(
            missing.0[0].starts_with("NAVI_API_KEY_PEPPER: required"),
            "{missing}"
        );
        assert!(
            missing.0[1].starts_with("NAVI_ENCRYPTION_KEYS: required"),
            "{missing}"
        );
        let bad = config(&[("NAVI_ENCRYPTION_KEYS", "k1:c2hvcnQ=")]).unwrap_err();
        assert!(bad.0[0].starts_with("NAVI_ENCRYPTION_KEYS"), "{bad}");
        assert!(
            !bad.to_string().contains("c2hvcnQ="),
            "no key echoed: {bad}"
        );
        let short = config(&[("NAVI_API_KEY_PEPPER", "c2hvcnQ=")]).unwrap_err();
        assert!(short.0[0].starts_with("NAVI_API_KEY_PEPPER"), "{short}");
        assert!(
            !short.to_string().contains("c2hvcnQ="),
            "no secret echoed: {short}"
        );
    }

    #[test]
    fn trusted_proxies_without_a_metrics_token_are_refused_in_one_line() {
        let errors = config(&[("NAVI_TRUSTED_PROXIES", "127.0.0.1")]).unwrap_err();
        assert_eq!(errors.0.len(), 1, "{errors}");
        assert!(
            errors.0[0].starts_with("NAVI_METRICS_TOKEN: required when NAVI_TRUSTED_PROXIES"),
            "{errors}"
        );
        assert!(!errors.to_string().contains('\n'), "{errors}");

        let with_token = config(&[
            ("NAVI_TRUSTED_PROXIES", "127.0.0.1"),
            ("NAVI_METRICS_TOKEN", "t"),
        ])
        .unwrap();
        assert_eq!(with_token.trusted_proxies.len(), 1);
        let no_proxy = config(&[]).unwrap();
        assert_eq!(
            no_proxy.metrics_token, None,
            "loopback-only stays the default"
        );
    }

    #[test]
    fn metrics_bind_is_parsed_and_must_differ_from_bind() {
        let parsed = config(&[("NAVI_METRICS_BIND", "127.0.0.1:9090")]).unwrap();
        assert_eq!(parsed.metrics_bind, Some("127.0.0.1:9090".parse().unwrap()));
        assert_eq!(config(&[]).unwrap().metrics_bind, None);
        for (value, expected) in [("metrics", "not an IP:PORT"), (DEFAULT_BIND, "NAVI_BIND's")] {
            let errors = config(&[("NAVI_METRICS_BIND", value)]).unwrap_err();
            assert_eq!(errors.0.len(), 1, "{errors}");
            assert!(errors.0[0].starts_with("NAVI_METRICS_BIND: "), "{errors}");
            assert!(errors.0[0].contains(expected), "{errors}");
        }
    }

    #[test]
    fn debug_shows_the_settings_but_none_of_the_secrets() {
        let secrets = [
            "db-pass-123",
            "redis-pass-456",
            "cGVwcGVyc2VjcmV0cGVwcGVyc2VjcmV0cGVwcGVyISE=",
            "a2V5c2VjcmV0a2V5c2VjcmV0a2V5c2VjcmV0a2V5ISE=",
            "Y2hhaW5zZWNyZXRjaGFpbnNlY3JldGNoYWluc2VjcmU=",
            "metrics-token-789",
            "smtp-pass-321",
            "oidc-secret-654",
        ];
        let parsed = config(&[
            (
                "NAVI_DATABASE_URL",
                "postgres://navi:db-pass-123@db:5432/navi",
            ),
            (
                "NAVI_REDIS_URL",
                "redis://default:redis-pass-456@cache:6379/0",
            ),
            ("NAVI_API_KEY_PEPPER", secrets[2]),
            ("NAVI_ENCRYPTION_KEYS", &format!("k1:{}", secrets[3])),
            ("NAVI_AUDIT_CHAIN_KEYS", &format!("c1:{}", secrets[4])),
            ("NAVI_METRICS_TOKEN", secrets[5]),
            ("NAVI_BIND", "0.0.0.0:9000"),
            ("NAVI_TRUSTED_PROXIES", "10.0.0.0/8"),
            (
                "NAVI_SMTP_URL",
                "smtp://mailer:smtp-pass-321@mail.example:587",
            ),
            ("NAVI_OIDC_ISSUER", "https://accounts.example"),
            ("NAVI_OIDC_CLIENT_ID", "navi"),
            ("NAVI_OIDC_CLIENT_SECRET", secrets[7]),
            ("NAVI_PUBLIC_URL", "https://navi.example"),
        ])
        .unwrap();
        let debug = format!("{parsed:?}");
        let pretty = format!("{parsed:#?}");
        for secret in secrets {
            assert!(!debug.contains(secret), "{secret} in {debug}");
            assert!(!pretty.contains(secret), "{secret} in {pretty}");
        }
        for shown in [
            "postgres://navi:***@db:5432/navi",
            "redis://default:***@cache:6379/0",
            "bind: 0.0.0.0:9000",
            "api_key_pepper: Some(<redacted>)",
            "encryption_keys: Some(Inline(<redacted>))",
            "audit_chain_keys: Some(<redacted>)",
            "metrics_token: Some(<redacted>)",
            "trusted_proxies: [10.0.0.0/8]",
            "db_pool_size: 10",
            "smtp://mailer:***@mail.example:587",
            "client_secret: Some(<redacted>)",
            "public_url: \"https://navi.example/\"",
        ] {
            assert!(debug.contains(shown), "{shown} missing from {debug}");
        }
        let defaults = format!("{:?}", config(&[]).unwrap());
        assert!(defaults.contains("api_key_pepper: None"), "{defaults}");
        assert!(defaults.contains("redis_url: None"), "{defaults}");
    }

    #[test]
    fn the_public_url_is_an_https_origin_unless_loopback() {
        for good in [
            "https://navi.example",
            "http://localhost:8080",
            "http://127.0.0.1:9000",
        ] {
            assert!(config(&[("NAVI_PUBLIC_URL", good)]).is_ok(), "{good}");
        }
        for bad in [
            "http://navi.example",
            "https://navi.example/app",
            "https://user:pw@navi.example",
            "ftp://navi.example",
            "navi.example",
        ] {
            let errors = config(&[("NAVI_PUBLIC_URL", bad)]).unwrap_err();
            assert!(
                errors.0[0].starts_with("NAVI_PUBLIC_URL:"),
                "{bad}: {errors}"
            );
        }
        let half = config(&[("NAVI_OIDC_ISSUER", "https://accounts.example")]).unwrap_err();
        assert!(half.0[0].starts_with("NAVI_OIDC_ISSUER"), "{half}");
        let http = config(&[
            ("NAVI_OIDC_ISSUER", "http://accounts.example"),
            ("NAVI_OIDC_CLIENT_ID", "navi"),
        ])
        .unwrap_err();
        assert!(http.0[0].starts_with("NAVI_OIDC_ISSUER"), "{http}");
        let smtp = config(&[("NAVI_SMTP_URL", "mail.example")]).unwrap_err();
        assert!(smtp.0[0].starts_with("NAVI_SMTP_URL"), "{smtp}");
    }

    #[test]
    fn postgres_and_redis_are_taken_as_given() {
        let config = config(&[
            (
                "NAVI_DATABASE_URL",
                "postgres://postgres@127.0.0.1:5432/navi",
            ),
            (
                "NAVI_API_KEY_PEPPER",
                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            ),
            (
                "NAVI_ENCRYPTION_KEYS",
                "k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            ),
            ("NAVI_REDIS_URL", "redis://127.0.0.1:6379/0"),
            ("NAVI_BIND", "0.0.0.0:9000"),
            ("NAVI_DB_STATEMENT_TIMEOUT_MS", "1500"),
        ])
        .unwrap();
        assert_eq!(config.backend(), Backend::Postgres);
        assert_eq!(
            config.redis_url.as_deref(),
            Some("redis://127.0.0.1:6379/0")
        );
        assert_eq!(config.bind.port(), 9000);
        assert_eq!(config.statement_timeout, Duration::from_millis(1500));
    }
}
