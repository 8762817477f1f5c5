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

    /// Prompt plus completion tokens.
    pub fn total_tokens(&self) -> Result<i64, AnalyticsError> {
        checked_sum(self.prompt_tokens, self.completion_tokens, "total_tokens")
    }
}
