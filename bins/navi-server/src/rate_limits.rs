//! Rate limits: named policies, each a GCRA rate (`navi_cache::Rate`) over the shared cache, so
//! every instance on one Redis counts into the same buckets on Redis's clock.
//!
//! | policy | counts | per |
//! |---|---|---|
//! | `sign_in` | SSO start and callback, email sign-in start and confirm | client address |
//! | `auth_failures` | a credential presented and refused (a bad key, a dead session) | client address |
//! | `requests` | every authenticated request | key or session |
//! | `org_requests` | every request acting in the org | org |
//! | `llm_calls` | `POST /v1/llm-calls` | key or session |
//! | `llm_tokens` | tokens an LLM call asks to use (weighted) | key or session |
//! | `llm_cost_micros` | cost an LLM call asks to spend (weighted) | key or session |
//! | `probes` | `GET /healthz`, `GET /readyz` | client address |
//!
//! A client address is the one the audit log records (`NAVI_TRUSTED_PROXIES`), an IPv6 client
//! counted per /64. The platform's rates come from configuration; an org's owner may lower, for
//! the org, the quotas of the five counted per key, session or org (`/v1/org/limits`). Every
//! decision of a request is kept in its extensions, and [`headers`] answers with the one closest
//! to its limit in `RateLimit-Policy` and `RateLimit` (draft-ietf-httpapi-ratelimit-headers-11),
//! plus `Retry-After` when refused.
//!
//! When the cache cannot decide, `NAVI_RATE_LIMIT_ON_CACHE_ERROR` says what happens: by default
//! the sign-in policies refuse with 503, and the rest let the request through (probes always do);
//! either way it is counted in `navi_rate_limit_unavailable_total`.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use futures_util::future::LocalBoxFuture;
use navi_cache::{Decision, Rate};
use navi_tenancy::{Credential, Principal, TenantScope};

use crate::app::AppState;
use crate::audit_trail::request_client_ip;
use crate::auth_cache::Generational;
use crate::error::ApiError;

/// A named rate-limit policy (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Policy {
    /// Sign-in steps per client address.
    SignIn,
    /// Refused credentials per client address.
    AuthFailures,
    /// Authenticated requests per key or session.
    Requests,
    /// Requests per org, whoever makes them.
    OrgRequests,
    /// `POST /v1/llm-calls` per key or session.
    LlmCalls,
    /// LLM tokens per key or session (weighted).
    LlmTokens,
    /// LLM cost in micro-dollars per key or session (weighted).
    LlmCostMicros,
    /// Health probes per client address.
    Probes,
}

impl Policy {
    /// Every policy.
    pub const ALL: [Policy; 8] = [
        Policy::SignIn,
        Policy::AuthFailures,
        Policy::Requests,
        Policy::OrgRequests,
        Policy::LlmCalls,
        Policy::LlmTokens,
        Policy::LlmCostMicros,
        Policy::Probes,
    ];

    /// The name in headers, metrics, configuration and `/v1/org/limits`.
    pub fn name(self) -> &'static str {
        match self {
            Policy::SignIn => "sign_in",
            Policy::AuthFailures => "auth_failures",
            Policy::Requests => "requests",
            Policy::OrgRequests => "org_requests",
            Policy::LlmCalls => "llm_calls",
            Policy::LlmTokens => "llm_tokens",
            Policy::LlmCostMicros => "llm_cost_micros",
            Policy::Probes => "probes",
        }
    }

    /// The policy of this name.
    pub fn parse(name: &str) -> Option<Policy> {
        Policy::ALL.into_iter().find(|policy| policy.name() == name)
    }

    /// Whether an org may lower the quota for itself (the others count client addresses, which
    /// belong to no org).
    pub fn per_org(self) -> bool {
        !matches!(self, Policy::SignIn | Policy::AuthFailures | Policy::Probes)
    }

    /// The environment variable of its platform rate: `NAVI_RATE_LIMIT_REQUESTS`.
    pub fn variable(self) -> String {
        format!("NAVI_RATE_LIMIT_{}", self.name().to_ascii_uppercase())
    }

    /// The platform default: quota per window in seconds.
    pub fn default_rate(self) -> (u64, u64) {
        match self {
            Policy::SignIn => (20, 60),
            Policy::AuthFailures => (20, 60),
            Policy::Requests => (600, 60),
            Policy::OrgRequests => (3_000, 60),
            Policy::LlmCalls => (300, 60),
            Policy::LlmTokens => (2_000_000, 60),
            Policy::LlmCostMicros => (100_000_000, 3_600),
            Policy::Probes => (120, 60),
        }
    }
}

/// What a decision the cache cannot make turns into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnCacheError {
    /// Let the request through.
    Allow,
    /// Refuse it with 503.
    Deny,
}

impl OnCacheError {
    fn as_str(self) -> &'static str {
        match self {
            OnCacheError::Allow => "allow",
            OnCacheError::Deny => "deny",
        }
    }
}

/// The platform's rate limits, from configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimitConfig {
    /// `NAVI_RATE_LIMITS=on|off` (default on): off answers every request without a decision and
    /// without the headers (for a benchmark's baseline, or limits kept by something in front).
    pub enabled: bool,
    /// `NAVI_RATE_LIMIT_<POLICY>=QUOTA/SECONDS`: each policy's platform rate (the ceiling of an
    /// org's own quota).
    pub rates: BTreeMap<Policy, Rate>,
    /// `NAVI_RATE_LIMIT_ON_CACHE_ERROR=allow|deny`; unset: deny for `sign_in` and
    /// `auth_failures`, allow for the rest. `probes` always allow.
    pub on_cache_error: Option<OnCacheError>,
}

impl RateLimitConfig {
    /// Reads the settings through `get`, adding a line to `problems` for each bad one.
    pub fn parse(get: &impl Fn(&str) -> Option<String>, problems: &mut Vec<String>) -> Self {
        let enabled = match get("NAVI_RATE_LIMITS").as_deref().map(str::trim) {
            None | Some("on") => true,
            Some("off") => false,
            Some(other) => {
                problems.push(format!("NAVI_RATE_LIMITS: `{other}` is not on or off"));
                true
            }
        };
        let on_cache_error = match get("NAVI_RATE_LIMIT_ON_CACHE_ERROR")
            .as_deref()
            .map(str::trim)
        {
            None => None,
            Some("allow") => Some(OnCacheError::Allow),
            Some("deny") => Some(OnCacheError::Deny),
            Some(other) => {
                problems.push(format!(
                    "NAVI_RATE_LIMIT_ON_CACHE_ERROR: `{other}` is not allow or deny"
                ));
                None
            }
        };
        let mut rates = BTreeMap::new();
        for policy in Policy::ALL {
            let (quota, seconds) = policy.default_rate();
            let default = Rate::new(quota, Duration::from_secs(seconds))
                .expect("the default rates are within a Rate's bounds");
            let rate = match get(&policy.variable()) {
                None => default,
                Some(value) => parse_rate(&value).unwrap_or_else(|problem| {
                    problems.push(format!("{}: `{value}`: {problem}", policy.variable()));
                    default
                }),
            };
            rates.insert(policy, rate);
        }
        RateLimitConfig {
            enabled,
            rates,
            on_cache_error,
        }
    }

    /// The platform rate of `policy`.
    pub fn rate(&self, policy: Policy) -> Rate {
        self.rates[&policy]
    }

    /// The sign-in policies fail closed unless told otherwise, the rest open; probes always
    /// open (a liveness probe that failed with Redis would have healthy servers restarted).
    fn on_cache_error(&self, policy: Policy) -> OnCacheError {
        match policy {
            Policy::Probes => OnCacheError::Allow,
            Policy::SignIn | Policy::AuthFailures => {
                self.on_cache_error.unwrap_or(OnCacheError::Deny)
            }
            _ => self.on_cache_error.unwrap_or(OnCacheError::Allow),
        }
    }
}

/// `QUOTA/SECONDS`: a quota of 1 to 10^12 over a window of 1 to 86,400 whole seconds.
fn parse_rate(value: &str) -> Result<Rate, String> {
    let (quota, seconds) = value
        .trim()
        .split_once('/')
        .ok_or("expected QUOTA/SECONDS, such as 600/60")?;
    let quota = quota
        .trim()
        .parse::<u64>()
        .map_err(|_| "the quota is not a whole number")?;
    let seconds = seconds
        .trim()
        .parse::<u64>()
        .map_err(|_| "the window is not a whole number of seconds")?;
    Rate::new(quota, Duration::from_secs(seconds)).map_err(|error| error.to_string())
}

/// What a client address counts as: an IPv4 address, or an IPv6 /64 (one subscriber's network).
/// An IPv4 address written as IPv6 (`::ffff:a.b.c.d`, as a dual-stack listener sees IPv4
/// clients) is the IPv4 address: every such address lies in one /64, which would otherwise be one
/// bucket for all of them.
pub fn client_group(ip: Option<IpAddr>) -> String {
    match ip {
        Some(IpAddr::V6(ip)) => match ip.to_ipv4_mapped().or_else(|| nat64(ip)) {
            Some(ipv4) => ipv4.to_string(),
            None => {
                let net = ipnet::Ipv6Net::new(ip, 64).map(|net| net.trunc());
                net.map_or_else(|_| ip.to_string(), |net| net.to_string())
            }
        },
        Some(ip) => ip.to_string(),
        None => "unknown".to_owned(),
    }
}

/// The IPv4 address a NAT64 gateway's well-known prefix (`64:ff9b::/96`) carries: each such
/// client is an IPv4 client, all in one /64 otherwise.
fn nat64(ip: std::net::Ipv6Addr) -> Option<std::net::Ipv4Addr> {
    let [.., a, b, c, d] = ip.octets();
    (ip.segments()[..6] == [0x64, 0xff9b, 0, 0, 0, 0]).then(|| std::net::Ipv4Addr::new(a, b, c, d))
}

/// Whom a principal's requests count against: its key, or its session.
pub fn principal_subject(principal: &Principal, session_token: Option<&str>) -> String {
    match (principal.credential(), session_token) {
        (Credential::Key(id), _) => format!("key:{id}"),
        (_, Some(token)) => format!("session:{}", crate::sessions::digest_of(&[token])),
        _ => format!("user:{}", principal.user_id()),
    }
}

/// One decision a request met, as its headers report it.
#[derive(Debug, Clone, Copy)]
pub struct Applied {
    /// The policy.
    pub policy: Policy,
    /// The quota it was decided under (the org's, when lower than the platform's).
    pub quota: u64,
    /// Its window.
    pub window: Duration,
    /// What the cache decided.
    pub decision: Decision,
}

impl Applied {
    /// Whether this decision is nearer its limit than `other`: a refusal first (of two, the one
    /// to wait longer for, so that waiting as told is enough for both), then the smaller share
    /// of the quota remaining.
    fn closer_than(&self, other: &Applied) -> bool {
        if self.decision.allowed != other.decision.allowed {
            return !self.decision.allowed;
        }
        if !self.decision.allowed {
            return self.decision.retry_after > other.decision.retry_after;
        }
        u128::from(self.decision.remaining) * u128::from(other.quota)
            < u128::from(other.decision.remaining) * u128::from(self.quota)
    }
}

/// The decisions made for one request (kept in its extensions for [`headers`]).
#[derive(Debug, Default, Clone)]
struct Decisions(Vec<Applied>);

/// Each org's own quotas, kept by this instance for `NAVI_AUTH_CACHE_TTL_MS` (read on every
/// request when that is 0); a change through this instance is seen here at once, under the auth
/// cache's rule (a read that raced the change is never kept as current).
#[derive(Clone)]
pub struct OrgQuotas {
    entries: Arc<Generational<String, Arc<BTreeMap<String, u64>>>>,
}

impl fmt::Debug for OrgQuotas {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OrgQuotas").finish_non_exhaustive()
    }
}

impl OrgQuotas {
    /// Kept for `ttl` (none kept when zero).
    pub fn new(ttl: Duration) -> OrgQuotas {
        OrgQuotas {
            entries: Arc::new(Generational::new(ttl)),
        }
    }

    /// The scope's org's quotas.
    pub async fn get(
        &self,
        state: &AppState,
        scope: &TenantScope,
    ) -> Result<Arc<BTreeMap<String, u64>>, ApiError> {
        let org_id = scope.org_id().to_owned();
        if let Some(quotas) = self.entries.get(&org_id) {
            return Ok(quotas);
        }
        let generation = self.entries.generation();
        let owned = scope.clone();
        let quotas = Arc::new(
            state
                .db(move |conn| navi_tenancy::rate_limits::org_quotas(&owned, conn))
                .await?,
        );
        self.entries.put(org_id, generation, Arc::clone(&quotas));
        Ok(quotas)
    }

    /// Forgets what this instance read before a change of quotas.
    pub fn forget(&self) {
        self.entries.forget_all();
    }
}

/// The rate of `policy` for an org with these quotas: the org's quota when it set one below the
/// platform's, over the platform's window.
pub fn org_rate(config: &RateLimitConfig, quotas: &BTreeMap<String, u64>, policy: Policy) -> Rate {
    let platform = config.rate(policy);
    match quotas.get(policy.name()) {
        Some(&quota) if quota < platform.quota() => {
            Rate::new(quota, platform.window()).unwrap_or(platform)
        }
        _ => platform,
    }
}

/// What the limits of a caller acting in an org need: whom its requests count against, and the
/// org's own quotas.
#[derive(Debug, Clone)]
pub struct CallerLimits {
    subject: String,
    quotas: Arc<BTreeMap<String, u64>>,
}

impl CallerLimits {
    /// A caller's limits in an org with these quotas.
    pub fn new(subject: String, quotas: Arc<BTreeMap<String, u64>>) -> CallerLimits {
        CallerLimits { subject, quotas }
    }

    /// Admits `cells` of a per-caller `policy` (`requests`, `llm_calls`, or the weighted
    /// `llm_tokens` and `llm_cost_micros`) at the org's rate, as [`admit`].
    pub async fn admit(
        &self,
        state: &AppState,
        req: &HttpRequest,
        policy: Policy,
        cells: u64,
    ) -> Result<(), ApiError> {
        let rate = org_rate(&state.config.rate_limits, &self.quotas, policy);
        admit(state, req, policy, &self.subject, rate, cells).await
    }

    /// Admits one request of the caller acting in the org of `org_id`: under `requests` for the
    /// caller and `org_requests` for the org, as one decision (counted in both or neither, so a
    /// caller its own quota refuses does not spend the org's ceiling, and the other way round).
    pub async fn admit_request(
        &self,
        state: &AppState,
        req: &HttpRequest,
        org_id: &str,
    ) -> Result<(), ApiError> {
        let config = &state.config.rate_limits;
        let org_subject = format!("org:{org_id}");
        admit_all(
            state,
            req,
            &[
                Ask {
                    policy: Policy::Requests,
                    subject: &self.subject,
                    rate: org_rate(config, &self.quotas, Policy::Requests),
                    cells: 1,
                },
                Ask {
                    policy: Policy::OrgRequests,
                    subject: &org_subject,
                    rate: org_rate(config, &self.quotas, Policy::OrgRequests),
                    cells: 1,
                },
            ],
        )
        .await
    }
}

/// One policy's part of a decision.
#[derive(Debug, Clone, Copy)]
pub struct Ask<'a> {
    /// The policy.
    pub policy: Policy,
    /// Whom it counts against (its bucket).
    pub subject: &'a str,
    /// The rate it is decided under.
    pub rate: Rate,
    /// What the decision costs there.
    pub cells: u64,
}

/// Admits `cells` of `policy` for `subject` under `rate`, as [`admit_all`].
pub async fn admit(
    state: &AppState,
    req: &HttpRequest,
    policy: Policy,
    subject: &str,
    rate: Rate,
    cells: u64,
) -> Result<(), ApiError> {
    let ask = Ask {
        policy,
        subject,
        rate,
        cells,
    };
    admit_all(state, req, &[ask]).await
}

/// Admits one decision over the policies of `asks` (all decided by the same cache), counted in
/// every policy's bucket or in none, noting each policy's decision in `req`'s extensions for the
/// headers: `Ok` when admitted (or when the cache failed and the policies let requests through
/// then), 429 `rate_limited` naming a policy that refused, 503 when the cache failed and a policy
/// refuses then, 400 when a weighted ask can never fit its quota.
pub async fn admit_all(
    state: &AppState,
    req: &HttpRequest,
    asks: &[Ask<'_>],
) -> Result<(), ApiError> {
    let Some(first) = asks.first() else {
        return Ok(());
    };
    if !state.config.rate_limits.enabled {
        return Ok(());
    }
    for ask in asks {
        if ask.cells > ask.rate.quota() {
            return Err(ApiError::invalid_request(format!(
                "{} is more than the `{}` rate limit admits in a window ({} per {} s).",
                ask.cells,
                ask.policy.name(),
                ask.rate.quota(),
                ask.rate.window().as_secs()
            )));
        }
    }
    let keys: Vec<String> = asks
        .iter()
        .map(|ask| bucket(ask.policy, ask.subject))
        .collect();
    let buckets: Vec<(&str, &Rate, u64)> = asks
        .iter()
        .zip(&keys)
        .map(|(ask, key)| (key.as_str(), &ask.rate, ask.cells))
        .collect();
    let started = Instant::now();
    let result = cache_of(state, first.policy).admit_all(&buckets).await;
    state
        .http_metrics
        .observe_rate_limit_decision(started.elapsed().as_secs_f64());
    let decisions = match result {
        Ok(decisions) => decisions,
        // Only a bug of ours makes a decision invalid; every other failure is the cache's
        // (down, failing over, out of memory, loading) and follows the configured rule.
        Err(error @ navi_cache::CacheError::Invalid(_)) => {
            tracing::error!(%error, policy = first.policy.name(), "a rate-limit decision failed");
            return Err(ApiError::internal());
        }
        Err(error) => {
            // The strictest rule among the policies holds for the whole decision.
            let action = if asks.iter().any(|ask| {
                state.config.rate_limits.on_cache_error(ask.policy) == OnCacheError::Deny
            }) {
                OnCacheError::Deny
            } else {
                OnCacheError::Allow
            };
            for ask in asks {
                state
                    .http_metrics
                    .count_rate_limit_unavailable(ask.policy.name(), action.as_str());
            }
            tracing::warn!(%error, policy = first.policy.name(), action = action.as_str(),
                "the cache cannot decide a rate limit");
            return match action {
                OnCacheError::Allow => Ok(()),
                OnCacheError::Deny => Err(ApiError::unavailable(
                    "Rate limits cannot be checked right now; try again shortly.",
                )),
            };
        }
    };
    let applied: Vec<Applied> = asks
        .iter()
        .zip(decisions)
        .map(|(ask, decision)| Applied {
            policy: ask.policy,
            quota: ask.rate.quota(),
            window: ask.rate.window(),
            decision,
        })
        .collect();
    req.extensions_mut()
        .get_or_insert_with(Decisions::default)
        .0
        .extend(applied.iter().copied());
    // Of several refusals, the one to wait longer for: waiting as told is then enough for all.
    let Some(refusal) = applied
        .iter()
        .filter(|applied| !applied.decision.allowed)
        .max_by_key(|applied| applied.decision.retry_after)
    else {
        return Ok(());
    };
    state.http_metrics.count_rate_limited(refusal.policy.name());
    Err(ApiError::rate_limited(format!(
        "Over the `{}` rate limit ({} per {} s); retry after {} s.",
        refusal.policy.name(),
        refusal.quota,
        refusal.window.as_secs(),
        seconds_up(refusal.decision.retry_after)
    )))
}

/// A bucket: one per policy and subject, whatever rate it is decided under (an org that changes
/// a quota keeps its callers' buckets, and a key acting in several orgs has one).
fn bucket(policy: Policy, subject: &str) -> String {
    format!("rl:{}:{subject}", policy.name())
}

/// Where `policy` is decided: the shared cache, except `probes`, which guard this instance's own
/// connections and are counted by it alone (a load balancer probing every instance from one
/// address must not spend one shared quota).
fn cache_of(state: &AppState, policy: Policy) -> &navi_cache::Cache {
    match policy {
        Policy::Probes => &state.instance_limits,
        _ => &state.cache,
    }
}

/// Refuses (429) a client already past `auth_failures` before its credential is looked up, so
/// guesses past the limit cost no lookup. Only a look at the bucket (nothing is counted); when
/// the cache cannot say, the lookup goes on (a failure found then is counted as usual).
pub async fn check_failures(state: &AppState, req: &HttpRequest) -> Result<(), ApiError> {
    if !state.config.rate_limits.enabled {
        return Ok(());
    }
    let rate = state.config.rate_limits.rate(Policy::AuthFailures);
    let look = state
        .cache
        .admit(&bucket(Policy::AuthFailures, &client(state, req)), &rate, 0)
        .await;
    match look {
        // Nothing left: the one-cell decision is refused, with its headers and Retry-After
        // (admitted only if a cell came back meanwhile, and then counted as the failure a
        // lookup from a client past its limit most likely is).
        Ok(decision) if decision.remaining == 0 => {
            admit_client(state, req, Policy::AuthFailures).await
        }
        _ => Ok(()),
    }
}

/// Whom `req` counts against under a client-address policy: its [`client_group`].
fn client(state: &AppState, req: &HttpRequest) -> String {
    client_group(request_client_ip(req, &state.config.trusted_proxies))
}

/// Admits one request of a client-address policy for `req`'s client.
pub async fn admit_client(
    state: &AppState,
    req: &HttpRequest,
    policy: Policy,
) -> Result<(), ApiError> {
    let rate = state.config.rate_limits.rate(policy);
    admit(state, req, policy, &client(state, req), rate, 1).await
}

/// Counts a failed authentication against the client's address under `auth_failures`: when
/// `result` is an error whose code is one of `codes` (`unauthenticated` for a credential
/// presented and refused, `forbidden` for an org or a CSRF check refused, `invalid_token` for a
/// sign-in link, `invalid_state` for an SSO callback), it stays that error while the client is
/// within the policy, and becomes the 429 (or the 503 of a cache that cannot decide) past it.
pub async fn count_failure<T>(
    state: &AppState,
    req: &HttpRequest,
    codes: &[&str],
    result: Result<T, ApiError>,
) -> Result<T, ApiError> {
    match result {
        Err(refusal) if codes.contains(&refusal.code()) => {
            admit_client(state, req, Policy::AuthFailures).await?;
            Err(refusal)
        }
        other => other,
    }
}

/// Admits `req` under the client-address `policy`, before anything else of it is read.
fn admit_request(
    req: &HttpRequest,
    policy: Policy,
) -> LocalBoxFuture<'static, Result<(), actix_web::Error>> {
    let req = req.clone();
    Box::pin(async move {
        let state = req
            .app_data::<web::Data<AppState>>()
            .cloned()
            .ok_or_else(ApiError::internal)?;
        admit_client(&state, &req, policy).await?;
        Ok(())
    })
}

/// The extractor of the sign-in steps: admits the request under `sign_in` for its client
/// address.
#[derive(Debug)]
pub struct SignInAttempt;

impl FromRequest for SignInAttempt {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let admitted = admit_request(req, Policy::SignIn);
        Box::pin(async move { admitted.await.map(|()| SignInAttempt) })
    }
}

/// The extractor of the health probes: admits the request under `probes` for its client
/// address.
#[derive(Debug)]
pub struct Probe;

impl FromRequest for Probe {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let admitted = admit_request(req, Policy::Probes);
        Box::pin(async move { admitted.await.map(|()| Probe) })
    }
}

fn seconds_up(duration: Duration) -> u64 {
    duration.as_micros().div_ceil(1_000_000) as u64
}

/// Adds `RateLimit-Policy` and `RateLimit` for the decision closest to its limit, and
/// `Retry-After` when it refused, to every response whose request met a decision.
pub async fn headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let mut response = next.call(req).await?;
    let closest = response
        .request()
        .extensions()
        .get::<Decisions>()
        .and_then(|decisions| {
            decisions.0.iter().copied().reduce(|closest, next| {
                if next.closer_than(&closest) {
                    next
                } else {
                    closest
                }
            })
        });
    if let Some(applied) = closest {
        let name = applied.policy.name();
        let headers = response.headers_mut();
        let mut set = |header: &'static str, value: String| {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(HeaderName::from_static(header), value);
            }
        };
        set(
            "ratelimit-policy",
            format!(
                "\"{name}\";q={};w={}",
                applied.quota,
                applied.window.as_secs()
            ),
        );
        // With Retry-After, the reset names the same instant (the draft's "SHOULD").
        let reset = if applied.decision.allowed {
            applied.decision.reset_after
        } else {
            applied.decision.retry_after
        };
        set(
            "ratelimit",
            format!(
                "\"{name}\";r={};t={}",
                applied.decision.remaining,
                seconds_up(reset)
            ),
        );
        if !applied.decision.allowed {
            set(
                "retry-after",
                seconds_up(applied.decision.retry_after).to_string(),
            );
        }
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_are_grouped_by_ipv4_address_and_ipv6_network() {
        let group = |ip: &str| client_group(Some(ip.parse().unwrap()));
        assert_eq!(group("198.51.100.7"), "198.51.100.7");
        assert_eq!(group("::ffff:198.51.100.7"), "198.51.100.7");
        assert_eq!(group("64:ff9b::198.51.100.7"), "198.51.100.7");
        assert_ne!(group("::ffff:198.51.100.7"), group("::ffff:198.51.100.8"));
        assert_eq!(group("2001:db8::1"), group("2001:db8::ffff:2"));
        assert_ne!(group("2001:db8::1"), group("2001:db8:0:1::1"));
        assert_eq!(client_group(None), "unknown");
    }
}
