//! Partial sums of LLM calls, as a database returns them per (day, model) or per user.

use crate::error::{checked_sum, AnalyticsError};

/// The sums of a set of LLM calls: how many, their tokens, their cost and their latencies.
///
/// Each field is an `i64`, as PostgreSQL's `bigint` and SQLite's `INTEGER`. Adding never wraps
/// or saturates: [`Sums::add`] fails with [`AnalyticsError::Overflow`] instead, leaving `self`
/// unchanged. With the API's limits (non-negative integers) a total overflows only beyond
/// 9.2 × 10¹⁸: over nine trillion dollars in micros, or nine quintillion tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Sums {
    /// The number of calls.
    pub requests: i64,
    /// Their prompt tokens.
    pub prompt_tokens: i64,
    /// Their completion tokens.
    pub completion_tokens: i64,
    /// Their cost, in millionths of a US dollar.
    pub cost_micros: i64,
    /// The sum of their latencies, in milliseconds (the numerator of the average).
    pub latency_sum_ms: i64,
}

impl Sums {
    /// The sums of one call.
    pub fn of_call(
        prompt_tokens: i64,
        completion_tokens: i64,
        cost_micros: i64,
        latency_ms: i64,
    ) -> Self {
        Self {
            requests: 1,
            prompt_tokens,
            completion_tokens,
            cost_micros,
            latency_sum_ms: latency_ms,
        }
    }

    /// `self + other`, field by field, or the first field that overflows.
    pub fn checked_add(&self, other: &Sums) -> Result<Sums, AnalyticsError> {
        Ok(Sums {
            requests: checked_sum(self.requests, other.requests, "requests")?,
            prompt_tokens: checked_sum(self.prompt_tokens, other.prompt_tokens, "prompt_tokens")?,
            completion_tokens: checked_sum(
                self.completion_tokens,
                other.completion_tokens,
                "completion_tokens",
            )?,
            cost_micros: checked_sum(self.cost_micros, other.cost_micros, "cost_micros")?,
            latency_sum_ms: checked_sum(
                self.latency_sum_ms,
                other.latency_sum_ms,
                "latency_sum_ms",
            )?,
        })
    }

    /// Adds `other` to `self`; on overflow `self` is left as it was.
    pub fn add(&mut self, other: &Sums) -> Result<(), AnalyticsError> {
        *self = self.checked_add(other)?;
        Ok(())
    }

    /// The five sums in the order of the rollups' columns: requests, prompt tokens, completion
    /// tokens, cost, latency.
    pub fn values(&self) -> [i64; 5] {
        [
            self.requests,
            self.prompt_tokens,
            self.completion_tokens,
            self.cost_micros,
            self.latency_sum_ms,
        ]
    }

    /// The sums from [`Sums::values`]' order.
    pub fn from_values(values: [i64; 5]) -> Self {
        let [requests, prompt_tokens, completion_tokens, cost_micros, latency_sum_ms] = values;
        Self {
            requests,
            prompt_tokens,
            completion_tokens,
            cost_micros,
            latency_sum_ms,
        }
    }

    /// Prompt plus completion tokens.
    pub fn total_tokens(&self) -> Result<i64, AnalyticsError> {
        checked_sum(self.prompt_tokens, self.completion_tokens, "total_tokens")
    }
}

/// Sums kept in 128-bit integers while a dashboard adds up its rows: a range's totals cannot
/// overflow while they are added (it would take 2⁶⁴ rows), only when they are stated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct WideSums {
    requests: i128,
    prompt_tokens: i128,
    completion_tokens: i128,
    cost_micros: i128,
    latency_sum_ms: i128,
}

impl WideSums {
    /// Adds `sums`, which cannot overflow.
    pub(crate) fn add(&mut self, sums: &Sums) {
        self.add_times(sums, 1);
    }

    /// Adds `sums` `times` times (−1 subtracts them): the store adds and subtracts the pieces
    /// of a cover, each at most a few times, so this cannot overflow either.
    pub(crate) fn add_times(&mut self, sums: &Sums, times: i64) {
        let times = i128::from(times);
        self.requests += times * i128::from(sums.requests);
        self.prompt_tokens += times * i128::from(sums.prompt_tokens);
        self.completion_tokens += times * i128::from(sums.completion_tokens);
        self.cost_micros += times * i128::from(sums.cost_micros);
        self.latency_sum_ms += times * i128::from(sums.latency_sum_ms);
    }

    /// Whether a sum is below zero, which the sums of a set of calls never are (the store's
    /// check of the pieces it added and subtracted).
    #[cfg(feature = "store")]
    pub(crate) fn is_negative(&self) -> bool {
        [
            self.requests,
            self.prompt_tokens,
            self.completion_tokens,
            self.cost_micros,
            self.latency_sum_ms,
        ]
        .iter()
        .any(|value| *value < 0)
    }

    /// The calls made, which a total of no calls cannot have.
    pub(crate) fn has_requests(&self) -> bool {
        self.requests > 0
    }

    /// The sums as the dashboard states them, or the first that does not fit an `i64`.
    pub(crate) fn narrow(&self) -> Result<Sums, AnalyticsError> {
        let narrow = |value: i128, quantity: &'static str| {
            i64::try_from(value).map_err(|_| AnalyticsError::Overflow { quantity })
        };
        Ok(Sums {
            requests: narrow(self.requests, "requests")?,
            prompt_tokens: narrow(self.prompt_tokens, "prompt_tokens")?,
            completion_tokens: narrow(self.completion_tokens, "completion_tokens")?,
            cost_micros: narrow(self.cost_micros, "cost_micros")?,
            latency_sum_ms: narrow(self.latency_sum_ms, "latency_sum_ms")?,
        })
    }
}
