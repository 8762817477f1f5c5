//! The dashboard body of the API, and its assembly from partial sums.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::decimal::{CostUsd, Hundredths};
use crate::error::{checked_sum, AnalyticsError};
use crate::latency::LatencyHistogram;
use crate::query::DashboardQuery;
use crate::sums::{Sums, WideSums};

/// The body of `GET /v1/analytics/usage` and `GET /v1/analytics/org`.
///
/// Fields serialize in the contract's order. Deserializing refuses unknown fields, so a test
/// that reads a response this way also checks its shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dashboard {
    /// The org whose usage this is.
    pub org_id: String,
    /// The user whose usage this is, or `None` for the whole org.
    pub user_id: Option<String>,
    /// The first day of the range, `YYYY-MM-DD`.
    pub from: NaiveDate,
    /// The last day of the range (included).
    pub to: NaiveDate,
    /// The IANA zone whose calendar days the range counts.
    pub tz: Tz,
    /// The whole range.
    pub totals: Totals,
    /// One entry per day of the range, in order, days without calls included.
    pub daily: Vec<DailyUsage>,
    /// One entry per model with calls, by cost (highest first), then model name.
    pub by_model: Vec<ModelUsage>,
    /// For the org dashboard only: one entry per user with calls, by cost (highest first), then
    /// user id. Absent from the usage dashboard's JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by_user: Option<Vec<UserUsage>>,
}

/// The totals of a dashboard's range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Totals {
    /// The number of calls.
    pub requests: i64,
    /// Their prompt tokens.
    pub prompt_tokens: i64,
    /// Their completion tokens.
    pub completion_tokens: i64,
    /// Prompt plus completion tokens.
    pub total_tokens: i64,
    /// Their cost in millionths of a dollar.
    pub cost_micros: i64,
    /// The same cost in dollars, `"12.345678"`.
    pub cost_usd: CostUsd,
    /// The mean latency in milliseconds, two decimals; `None` (null) without calls.
    pub avg_latency_ms: Option<Hundredths>,
    /// The 95th percentile latency in milliseconds at the histogram's resolution (see
    /// [`LatencyHistogram::p95_ms`]); `None` (null) without calls.
    pub p95_latency_ms: Option<i64>,
    /// Feedback events rated +1.
    pub feedback_positive: i64,
    /// Feedback events rated −1.
    pub feedback_negative: i64,
}

/// One day of a dashboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DailyUsage {
    /// The calendar day in the dashboard's zone.
    pub date: NaiveDate,
    /// The number of calls.
    pub requests: i64,
    /// Prompt plus completion tokens.
    pub total_tokens: i64,
    /// The cost in millionths of a dollar.
    pub cost_micros: i64,
    /// The same cost in dollars.
    pub cost_usd: CostUsd,
    /// The mean latency in milliseconds, two decimals; `None` (null) without calls.
    pub avg_latency_ms: Option<Hundredths>,
}

/// One model's usage over a dashboard's range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelUsage {
    /// The model name as the calls gave it.
    pub model: String,
    /// The number of calls.
    pub requests: i64,
    /// Prompt plus completion tokens.
    pub total_tokens: i64,
    /// The cost in millionths of a dollar.
    pub cost_micros: i64,
    /// The same cost in dollars.
    pub cost_usd: CostUsd,
    /// The mean latency in milliseconds, two decimals; `None` (null) without calls.
    pub avg_latency_ms: Option<Hundredths>,
}

/// One user's usage over an org dashboard's range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserUsage {
    /// The user who made the calls.
    pub user_id: String,
    /// The number of calls.
    pub requests: i64,
    /// Prompt plus completion tokens.
    pub total_tokens: i64,
    /// The cost in millionths of a dollar.
    pub cost_micros: i64,
    /// The same cost in dollars.
    pub cost_usd: CostUsd,
    /// The mean latency in milliseconds, two decimals; `None` (null) without calls.
    pub avg_latency_ms: Option<Hundredths>,
}

/// The figures every row of a dashboard shows, derived from sums.
struct Figures {
    requests: i64,
    total_tokens: i64,
    cost_micros: i64,
    cost_usd: CostUsd,
    avg_latency_ms: Option<Hundredths>,
}

impl Figures {
    fn of(sums: &Sums) -> Result<Self, AnalyticsError> {
        Ok(Self {
            requests: sums.requests,
            total_tokens: sums.total_tokens()?,
            cost_micros: sums.cost_micros,
            cost_usd: CostUsd::from_micros(sums.cost_micros),
            avg_latency_ms: average_latency(sums.latency_sum_ms, sums.requests),
        })
    }
}

/// The mean latency of `requests` calls whose latencies add up to `latency_sum_ms`; `None`
/// without calls.
pub(crate) fn average_latency(latency_sum_ms: i64, requests: i64) -> Option<Hundredths> {
    if requests > 0 {
        Hundredths::from_ratio(latency_sum_ms, requests)
    } else {
        None
    }
}

/// Orders rows as the API lists them: by cost, highest first, then by name (as Rust compares
/// strings: byte by byte, whatever a database's collation would say).
pub(crate) fn order_by_cost_then_name(
    cost_a: i64,
    name_a: &str,
    cost_b: i64,
    name_b: &str,
) -> std::cmp::Ordering {
    cost_b.cmp(&cost_a).then_with(|| name_a.cmp(name_b))
}

/// Assembles a [`Dashboard`] from partial sums: per (day, model) for the totals, the days and
/// the models; per user for `by_user`; latency histograms for the p95; feedback counts.
///
/// A database computes the partial sums over a query's [`crate::OffsetSegment`]s, grouped by
/// anything that keeps each group within one local day and one model (per call, per rollup
/// bucket, per day and model), and feeds them in
/// any order: with the API's non-negative figures the result is the same.
/// Every `add_*` checks its input and leaves the builder unchanged when it fails. Sums are
/// added in 128-bit integers, so however long the range only a figure that does not fit the
/// answer's 64 bits fails, and only in [`DashboardBuilder::finish`].
#[derive(Debug, Clone)]
pub struct DashboardBuilder {
    org_id: String,
    user_id: Option<String>,
    from: NaiveDate,
    to: NaiveDate,
    tz: Tz,
    include_by_user: bool,
    totals: WideSums,
    /// Each day of the range, in order, with its sums.
    daily: Vec<(NaiveDate, WideSums)>,
    by_model: BTreeMap<String, WideSums>,
    /// Hashed, not ordered: `finish` sorts the users by cost anyway.
    by_user: HashMap<String, WideSums>,
    latency: LatencyHistogram,
    feedback_positive: i64,
    feedback_negative: i64,
}

impl DashboardBuilder {
    /// An empty dashboard of `org_id` (and of `user_id`, for a user's usage dashboard) over
    /// `query`; `include_by_user` adds `by_user` (the org dashboard).
    pub fn new(
        query: &DashboardQuery,
        org_id: String,
        user_id: Option<String>,
        include_by_user: bool,
    ) -> Self {
        Self {
            org_id,
            user_id,
            from: query.from(),
            to: query.to(),
            tz: query.tz(),
            include_by_user,
            totals: WideSums::default(),
            daily: query
                .days()
                .iter()
                .map(|day| (day.date, WideSums::default()))
                .collect(),
            by_model: BTreeMap::new(),
            by_user: HashMap::new(),
            latency: LatencyHistogram::new(),
            feedback_positive: 0,
            feedback_negative: 0,
        }
    }

    /// Adds the calls of one model on one local day: to the totals, to that day and to that
    /// model. A day outside the query's range is refused ([`AnalyticsError::DateOutsideRange`]):
    /// it means the caller grouped by the wrong day, and a silent drop would hide that.
    pub fn add_day_model(
        &mut self,
        date: NaiveDate,
        model: &str,
        sums: &Sums,
    ) -> Result<(), AnalyticsError> {
        let index = self.day_index(date)?;
        self.totals.add(sums);
        self.daily[index].1.add(sums);
        match self.by_model.get_mut(model) {
            Some(existing) => existing.add(sums),
            None => {
                let mut model_sums = WideSums::default();
                model_sums.add(sums);
                self.by_model.insert(model.to_owned(), model_sums);
            }
        }
        Ok(())
    }

    /// Adds the calls of one user over the range, for `by_user` only (the totals come from
    /// [`Self::add_day_model`]). Kept but not shown when the dashboard has no `by_user`.
    pub fn add_user(
        &mut self,
        user_id: impl AsRef<str> + Into<String>,
        sums: &Sums,
    ) -> Result<(), AnalyticsError> {
        match self.by_user.get_mut(user_id.as_ref()) {
            Some(existing) => existing.add(sums),
            None => {
                let mut user_sums = WideSums::default();
                user_sums.add(sums);
                self.by_user.insert(user_id.into(), user_sums);
            }
        }
        Ok(())
    }

    /// Makes room for `additional` more users in `by_user`, for a source that knows how many it
    /// will add.
    pub fn reserve_users(&mut self, additional: usize) {
        self.by_user.reserve(additional);
    }

    /// Adds latencies to the histogram of the totals' p95.
    pub fn add_latency(&mut self, histogram: &LatencyHistogram) -> Result<(), AnalyticsError> {
        self.latency.merge(histogram)
    }

    /// Adds feedback counts: events rated +1 and events rated −1, counted like calls over the
    /// query's segments (an event counts for the local date of its `created_at`).
    pub fn add_feedback(&mut self, positive: i64, negative: i64) -> Result<(), AnalyticsError> {
        let positive = checked_sum(self.feedback_positive, positive, "feedback_positive")?;
        let negative = checked_sum(self.feedback_negative, negative, "feedback_negative")?;
        self.feedback_positive = positive;
        self.feedback_negative = negative;
        Ok(())
    }

    /// The dashboard. Fails ([`AnalyticsError::Overflow`]) only when a figure it states (a
    /// total, a day's, a model's or a user's sums, or their prompt plus completion tokens) does
    /// not fit in an `i64`.
    pub fn finish(self) -> Result<Dashboard, AnalyticsError> {
        let total_sums = self.totals.narrow()?;
        let totals = Figures::of(&total_sums)?;
        let daily = self
            .daily
            .iter()
            .map(|(date, sums)| {
                let figures = Figures::of(&sums.narrow()?)?;
                Ok(DailyUsage {
                    date: *date,
                    requests: figures.requests,
                    total_tokens: figures.total_tokens,
                    cost_micros: figures.cost_micros,
                    cost_usd: figures.cost_usd,
                    avg_latency_ms: figures.avg_latency_ms,
                })
            })
            .collect::<Result<Vec<_>, AnalyticsError>>()?;
        let mut by_model = Vec::new();
        for (model, sums) in self.by_model {
            if sums.has_requests() {
                let figures = Figures::of(&sums.narrow()?)?;
                by_model.push(ModelUsage {
                    model,
                    requests: figures.requests,
                    total_tokens: figures.total_tokens,
                    cost_micros: figures.cost_micros,
                    cost_usd: figures.cost_usd,
                    avg_latency_ms: figures.avg_latency_ms,
                });
            }
        }
        by_model.sort_by(|a, b| {
            order_by_cost_then_name(a.cost_micros, &a.model, b.cost_micros, &b.model)
        });
        let by_user = if self.include_by_user {
            let mut by_user = Vec::new();
            for (user_id, sums) in self.by_user {
                if sums.has_requests() {
                    let figures = Figures::of(&sums.narrow()?)?;
                    by_user.push(UserUsage {
                        user_id,
                        requests: figures.requests,
                        total_tokens: figures.total_tokens,
                        cost_micros: figures.cost_micros,
                        cost_usd: figures.cost_usd,
                        avg_latency_ms: figures.avg_latency_ms,
                    });
                }
            }
            // The ids are distinct: no two compare equal, so an unstable sort is as good.
            by_user.sort_unstable_by(|a, b| {
                order_by_cost_then_name(a.cost_micros, &a.user_id, b.cost_micros, &b.user_id)
            });
            Some(by_user)
        } else {
            None
        };
        Ok(Dashboard {
            org_id: self.org_id,
            user_id: self.user_id,
            from: self.from,
            to: self.to,
            tz: self.tz,
            totals: Totals {
                requests: totals.requests,
                prompt_tokens: total_sums.prompt_tokens,
                completion_tokens: total_sums.completion_tokens,
                total_tokens: totals.total_tokens,
                cost_micros: totals.cost_micros,
                cost_usd: totals.cost_usd,
                avg_latency_ms: totals.avg_latency_ms,
                p95_latency_ms: self.latency.p95_ms(),
                feedback_positive: self.feedback_positive,
                feedback_negative: self.feedback_negative,
            },
            daily,
            by_model,
            by_user,
        })
    }

    fn day_index(&self, date: NaiveDate) -> Result<usize, AnalyticsError> {
        let outside = AnalyticsError::DateOutsideRange {
            date,
            from: self.from,
            to: self.to,
        };
        if date < self.from || date > self.to {
            return Err(outside);
        }
        usize::try_from((date - self.from).num_days())
            .ok()
            .filter(|index| *index < self.daily.len())
            .ok_or(outside)
    }
}
