//! `/metrics`: Prometheus text exposition of the server's own metrics and the cache's.

use actix_web::http::header::{AUTHORIZATION, FORWARDED, X_FORWARDED_FOR};
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use prometheus::{
    Encoder, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};
use ring::hmac;

use crate::app::{resource, AppState};
use crate::error::ApiError;

/// The server's own metrics.
#[derive(Debug, Clone)]
pub struct HttpMetrics {
    registry: Registry,
    requests: IntCounterVec,
    duration: Histogram,
    llm_latency: Histogram,
    llm_cost: IntCounter,
    feedback: IntCounterVec,
    audit_export_rows: IntCounter,
    audit_exports_active: IntGauge,
    rate_limited: IntCounterVec,
    rate_limit_unavailable: IntCounterVec,
    rate_limit_decision: Histogram,
}

impl HttpMetrics {
    /// Registers the metric families (names as in shared/API.md).
    pub fn new() -> HttpMetrics {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "navi_http_requests_total",
                "HTTP requests by route and status.",
            ),
            &["route", "status"],
        )
        .expect("static metric definition is valid");
        let duration = Histogram::with_opts(HistogramOpts::new(
            "navi_http_request_duration_seconds",
            "HTTP request duration in seconds.",
        ))
        .expect("static metric definition is valid");
        let llm_latency = Histogram::with_opts(
            HistogramOpts::new(
                "navi_llm_latency_seconds",
                "Latency of recorded LLM calls, in seconds.",
            )
            .buckets(vec![0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0]),
        )
        .expect("static metric definition is valid");
        let llm_cost = IntCounter::new(
            "navi_llm_cost_micros_total",
            "Cost of recorded LLM calls, in millionths of a US dollar.",
        )
        .expect("static metric definition is valid");
        let feedback = IntCounterVec::new(
            Opts::new("navi_feedback_total", "Feedback recorded, by rating."),
            &["rating"],
        )
        .expect("static metric definition is valid");
        let audit_export_rows = IntCounter::new(
            "navi_audit_export_rows_total",
            "Audit rows read by CSV exports.",
        )
        .expect("static metric definition is valid");
        let audit_exports_active = IntGauge::new(
            "navi_audit_exports_active",
            "CSV exports whose rows are still being read.",
        )
        .expect("static metric definition is valid");
        let rate_limited = IntCounterVec::new(
            Opts::new(
                "navi_rate_limited_total",
                "Requests refused by a rate limit, by policy.",
            ),
            &["policy"],
        )
        .expect("static metric definition is valid");
        let rate_limit_unavailable = IntCounterVec::new(
            Opts::new(
                "navi_rate_limit_unavailable_total",
                "Rate-limit decisions the cache could not make, by policy and what was done \
                 (allow or deny).",
            ),
            &["policy", "action"],
        )
        .expect("static metric definition is valid");
        let rate_limit_decision = Histogram::with_opts(
            HistogramOpts::new(
                "navi_rate_limit_decision_seconds",
                "Time one rate-limit decision took in the cache, in seconds.",
            )
            .buckets(vec![
                0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.1,
            ]),
        )
        .expect("static metric definition is valid");
        for metric in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(duration.clone()),
            Box::new(llm_latency.clone()),
            Box::new(llm_cost.clone()),
            Box::new(feedback.clone()),
            Box::new(audit_export_rows.clone()),
            Box::new(audit_exports_active.clone()),
            Box::new(rate_limited.clone()),
            Box::new(rate_limit_unavailable.clone()),
            Box::new(rate_limit_decision.clone()),
        ] {
            registry.register(metric).expect("registered once");
        }
        HttpMetrics {
            registry,
            requests,
            duration,
            llm_latency,
            llm_cost,
            feedback,
            audit_export_rows,
            audit_exports_active,
            rate_limited,
            rate_limit_unavailable,
            rate_limit_decision,
        }
    }

    /// Counts a request refused by `policy`.
    pub fn count_rate_limited(&self, policy: &str) {
        self.rate_limited.with_label_values(&[policy]).inc();
    }

    /// Counts a decision of `policy` the cache could not make, and what was done (`allow`,
    /// `deny`).
    pub fn count_rate_limit_unavailable(&self, policy: &str, action: &str) {
        self.rate_limit_unavailable
            .with_label_values(&[policy, action])
            .inc();
    }

    /// Notes how long one rate-limit decision took.
    pub fn observe_rate_limit_decision(&self, seconds: f64) {
        self.rate_limit_decision.observe(seconds);
    }

    /// Counts audit rows an export read.
    pub fn observe_audit_export_rows(&self, rows: usize) {
        self.audit_export_rows.inc_by(rows as u64);
    }

    /// Audit rows read by exports so far.
    pub fn audit_export_rows(&self) -> u64 {
        self.audit_export_rows.get()
    }

    /// Marks an export as reading until the guard drops.
    pub fn audit_export_started(&self) -> impl Drop + Send + 'static {
        struct Active(IntGauge);
        impl Drop for Active {
            fn drop(&mut self) {
                self.0.dec();
            }
        }
        self.audit_exports_active.inc();
        Active(self.audit_exports_active.clone())
    }

    /// Exports still reading.
    pub fn audit_exports_active(&self) -> i64 {
        self.audit_exports_active.get()
    }

    /// Counts one request. `route` is the matched pattern (never the raw path, so ids do not
    /// become label values).
    pub fn observe(&self, route: &str, status: u16, seconds: f64) {
        self.requests
            .with_label_values(&[route, &status.to_string()])
            .inc();
        self.duration.observe(seconds);
    }

    /// Counts recorded LLM calls (latency in ms, cost in micros).
    pub fn observe_llm_calls(&self, calls: impl IntoIterator<Item = (i64, i64)>) {
        for (latency_ms, cost_micros) in calls {
            self.llm_latency.observe(latency_ms as f64 / 1000.0);
            self.llm_cost
                .inc_by(u64::try_from(cost_micros).unwrap_or(0));
        }
    }

    /// Counts one feedback (`rating` 1 or -1).
    pub fn observe_feedback(&self, rating: i16) {
        self.feedback
            .with_label_values(&[&rating.to_string()])
            .inc();
    }

    fn encode(&self) -> String {
        let mut buffer = Vec::new();
        if let Err(error) = TextEncoder::new().encode(&self.registry.gather(), &mut buffer) {
            tracing::error!(%error, "cannot encode metrics");
        }
        String::from_utf8(buffer).unwrap_or_default()
    }
}

impl Default for HttpMetrics {
    fn default() -> Self {
        HttpMetrics::new()
    }
}

/// Mounts `/metrics`: on the main app unless `NAVI_METRICS_BIND` gives it a listener of its own
/// ([`crate::app::build_metrics_app`]).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/metrics").get(metrics));
}

async fn metrics(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if !may_read_metrics(&req, state.config.metrics_token.as_deref()) {
        return ApiError::forbidden(
            "Metrics are available with the metrics token, or without one to loopback clients \
             not relaying for another.",
        )
        .error_response();
    }
    let mut text = state.http_metrics.encode();
    state.cache.metrics().await.write_prometheus(&mut text);
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text)
}

/// With a token configured, every request must present it (compared in constant time), from
/// loopback too: a reverse proxy on the same host makes every client loopback. Without one, only
/// loopback peers may read, and not when they say they relay for another client: a proxy that
/// adds `Forwarded` or `X-Forwarded-For` is refused even though its peer address is loopback.
/// (A proxy that adds neither cannot be told apart, hence the token whenever
/// `NAVI_TRUSTED_PROXIES` says a proxy exists.)
fn may_read_metrics(req: &HttpRequest, token: Option<&str>) -> bool {
    match token {
        Some(token) => {
            let presented = req
                .headers()
                .get(AUTHORIZATION)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.strip_prefix("Bearer "))
                .unwrap_or_default();
            // HMAC both under a throwaway key: hmac::verify compares in constant time.
            let key = hmac::Key::new(hmac::HMAC_SHA256, b"navi metrics token comparison");
            let expected = hmac::sign(&key, token.as_bytes());
            hmac::verify(&key, presented.as_bytes(), expected.as_ref()).is_ok()
        }
        None => {
            let relayed = req.headers().contains_key(FORWARDED)
                || req.headers().contains_key(X_FORWARDED_FOR);
            !relayed && req.peer_addr().is_some_and(|peer| peer.ip().is_loopback())
        }
    }
}
