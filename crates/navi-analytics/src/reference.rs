//! The reference implementation: dashboards computed straight from raw calls, the oracle that
//! every database implementation must match exactly.
//!
//! It deliberately shares nothing with the segment and day-boundary logic of
//! [`DashboardQuery`] or the assembly of [`crate::DashboardBuilder`]: each call's day is its
//! local date as chrono-tz gives it, and totals, days, models, users and the p95 are summed here
//! in maps of its own. What it shares is the vocabulary (the bucket bounds, the rounding of
//! averages, the writing of dollars), pinned by their own tests.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};

use crate::dashboard::{
    average_latency, order_by_cost_then_name, DailyUsage, Dashboard, ModelUsage, Totals, UserUsage,
};
use crate::decimal::CostUsd;
use crate::error::{checked_sum, AnalyticsError};
use crate::latency::{latency_bucket, LATENCY_BUCKET_UPPER_BOUNDS_MS};
use crate::query::DashboardQuery;
use crate::source::UsageSource;

/// One recorded LLM call, as `POST /v1/llm-calls` stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LlmCall {
    /// The org the call was recorded in.
    pub org_id: String,
    /// The user who made it.
    pub user_id: String,
    /// The model it called.
    pub model: String,
    /// Prompt tokens.
    pub prompt_tokens: i64,
    /// Completion tokens.
    pub completion_tokens: i64,
    /// Cost in millionths of a dollar.
    pub cost_micros: i64,
    /// Latency in milliseconds.
    pub latency_ms: i64,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
}

/// One feedback event, as `POST /v1/feedback` stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedbackEvent {
    /// The org it was given in.
    pub org_id: String,
    /// The user who gave it.
    pub user_id: String,
    /// +1 or −1 (a positive rating counts as positive, a negative one as negative, 0 as
    /// neither).
    pub rating: i8,
    /// When it was given.
    pub created_at: DateTime<Utc>,
}

/// Raw calls and feedback, answering dashboards by brute force.
///
/// A call or event counts for the local date of its instant in the query's zone
/// (`instant.with_timezone(&tz).date_naive()`), when that date is within the range. The usage
/// dashboard counts the user's own calls and feedback in the org; the org dashboard counts all
/// of the org's, and adds `by_user`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reference {
    /// Every call, of every org.
    pub calls: Vec<LlmCall>,
    /// Every feedback event, of every org.
    pub feedback: Vec<FeedbackEvent>,
}

/// The sums of some calls, added one call at a time.
#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    requests: i64,
    prompt_tokens: i64,
    completion_tokens: i64,
    total_tokens: i64,
    cost_micros: i64,
    latency_ms: i64,
}

impl Tally {
    fn count(&mut self, call: &LlmCall) -> Result<(), AnalyticsError> {
        let call_tokens = checked_sum(call.prompt_tokens, call.completion_tokens, "total_tokens")?;
        *self = Tally {
            requests: checked_sum(self.requests, 1, "requests")?,
            prompt_tokens: checked_sum(self.prompt_tokens, call.prompt_tokens, "prompt_tokens")?,
            completion_tokens: checked_sum(
                self.completion_tokens,
                call.completion_tokens,
                "completion_tokens",
            )?,
            total_tokens: checked_sum(self.total_tokens, call_tokens, "total_tokens")?,
            cost_micros: checked_sum(self.cost_micros, call.cost_micros, "cost_micros")?,
            latency_ms: checked_sum(self.latency_ms, call.latency_ms, "latency_sum_ms")?,
        };
        Ok(())
    }
}

impl Reference {
    /// An empty reference.
    pub fn new() -> Self {
        Self::default()
    }

    /// The dashboard of `org_id`'s calls (only `user_id`'s when given), with `by_user` when
    /// `include_by_user`.
    pub fn dashboard(
        &self,
        org_id: &str,
        user_id: Option<&str>,
        include_by_user: bool,
        query: &DashboardQuery,
    ) -> Result<Dashboard, AnalyticsError> {
        let (from, to, tz) = (query.from(), query.to(), query.tz());
        let counts = |org: &str, user: &str, instant: &DateTime<Utc>| -> Option<NaiveDate> {
            let date = instant.with_timezone(&tz).date_naive();
            let chosen = org == org_id
                && user_id.is_none_or(|wanted| wanted == user)
                && from <= date
                && date <= to;
            chosen.then_some(date)
        };

        let mut totals = Tally::default();
        let mut daily: BTreeMap<NaiveDate, Tally> = BTreeMap::new();
        let mut by_model: BTreeMap<&str, Tally> = BTreeMap::new();
        let mut by_user: BTreeMap<&str, Tally> = BTreeMap::new();
        let mut buckets: Vec<usize> = Vec::new();
        let mut max_latency_ms: i64 = 0;
        for call in &self.calls {
            let Some(date) = counts(&call.org_id, &call.user_id, &call.occurred_at) else {
                continue;
            };
            totals.count(call)?;
            daily.entry(date).or_default().count(call)?;
            by_model.entry(&call.model).or_default().count(call)?;
            by_user.entry(&call.user_id).or_default().count(call)?;
            buckets.push(latency_bucket(call.latency_ms));
            max_latency_ms = max_latency_ms.max(call.latency_ms);
        }

        let (mut feedback_positive, mut feedback_negative) = (0_i64, 0_i64);
        for event in &self.feedback {
            if counts(&event.org_id, &event.user_id, &event.created_at).is_none() {
                continue;
            }
            if event.rating > 0 {
                feedback_positive = checked_sum(feedback_positive, 1, "feedback_positive")?;
            } else if event.rating < 0 {
                feedback_negative = checked_sum(feedback_negative, 1, "feedback_negative")?;
            }
        }

        let mut days = Vec::new();
        for date in from.iter_days().take_while(|date| *date <= to) {
            let tally = daily.get(&date).copied().unwrap_or_default();
            days.push(DailyUsage {
                date,
                requests: tally.requests,
                total_tokens: tally.total_tokens,
                cost_micros: tally.cost_micros,
                cost_usd: CostUsd::from_micros(tally.cost_micros),
                avg_latency_ms: average_latency(tally.latency_ms, tally.requests),
            });
        }

        let mut models: Vec<ModelUsage> = by_model
            .into_iter()
            .map(|(model, tally)| ModelUsage {
                model: model.to_owned(),
                requests: tally.requests,
                total_tokens: tally.total_tokens,
                cost_micros: tally.cost_micros,
                cost_usd: CostUsd::from_micros(tally.cost_micros),
                avg_latency_ms: average_latency(tally.latency_ms, tally.requests),
            })
            .collect();
        models.sort_by(|a, b| {
            order_by_cost_then_name(a.cost_micros, &a.model, b.cost_micros, &b.model)
        });

        let users = include_by_user.then(|| {
            let mut users: Vec<UserUsage> = by_user
                .into_iter()
                .map(|(user, tally)| UserUsage {
                    user_id: user.to_owned(),
                    requests: tally.requests,
                    total_tokens: tally.total_tokens,
                    cost_micros: tally.cost_micros,
                    cost_usd: CostUsd::from_micros(tally.cost_micros),
                    avg_latency_ms: average_latency(tally.latency_ms, tally.requests),
                })
                .collect();
            users.sort_by(|a, b| {
                order_by_cost_then_name(a.cost_micros, &a.user_id, b.cost_micros, &b.user_id)
            });
            users
        });

        Ok(Dashboard {
            org_id: org_id.to_owned(),
            user_id: user_id.map(str::to_owned),
            from,
            to,
            tz,
            totals: Totals {
                requests: totals.requests,
                prompt_tokens: totals.prompt_tokens,
                completion_tokens: totals.completion_tokens,
                total_tokens: totals.total_tokens,
                cost_micros: totals.cost_micros,
                cost_usd: CostUsd::from_micros(totals.cost_micros),
                avg_latency_ms: average_latency(totals.latency_ms, totals.requests),
                p95_latency_ms: nearest_rank_p95(buckets, max_latency_ms),
                feedback_positive,
                feedback_negative,
            },
            daily: days,
            by_model: models,
            by_user: users,
        })
    }
}

/// The p95 of calls given by their buckets: sort them, take rank `⌈0.95·n⌉`, report its bucket's
/// upper bound capped by the largest latency (or the largest latency, above the last bound).
fn nearest_rank_p95(mut buckets: Vec<usize>, max_latency_ms: i64) -> Option<i64> {
    buckets.sort_unstable();
    let rank = (buckets.len() * 95).div_ceil(100);
    let bucket = *buckets.get(rank.checked_sub(1)?)?;
    Some(match LATENCY_BUCKET_UPPER_BOUNDS_MS.get(bucket) {
        Some(bound) => (*bound).min(max_latency_ms),
        None => max_latency_ms,
    })
}

impl UsageSource for Reference {
    type Error = AnalyticsError;

    fn usage_dashboard(
        &mut self,
        org_id: &str,
        user_id: &str,
        query: &DashboardQuery,
    ) -> Result<Dashboard, Self::Error> {
        self.dashboard(org_id, Some(user_id), false, query)
    }

    fn org_dashboard(
        &mut self,
        org_id: &str,
        query: &DashboardQuery,
    ) -> Result<Dashboard, Self::Error> {
        self.dashboard(org_id, None, true, query)
    }
}
