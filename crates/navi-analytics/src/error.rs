//! The crate's errors: a query a caller sent wrong, and aggregation that cannot be completed.

use chrono::NaiveDate;

/// A dashboard query parameter that cannot be accepted.
///
/// The server answers it with 400 `invalid_request`; `message` is one human sentence that names
/// `field`, written for the API's error body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InvalidQuery {
    /// The query parameter at fault: `"from"`, `"to"` or `"tz"`.
    pub field: &'static str,
    /// One human sentence naming the field, ending with a full stop.
    pub message: String,
}

impl InvalidQuery {
    pub(crate) fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

/// Why a dashboard could not be assembled from the aggregates it was given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnalyticsError {
    /// A total does not fit in an `i64`. Counters never wrap or saturate: a dashboard that cannot
    /// be stated exactly is not stated at all.
    ///
    /// With the API's non-negative inputs this happens exactly when the true total exceeds
    /// `i64::MAX`, whatever the order in which partial sums were added.
    #[error("the {quantity} total does not fit in a signed 64-bit integer")]
    Overflow {
        /// Which total overflowed (`"requests"`, `"cost_micros"`, `"total_tokens"`, ...).
        quantity: &'static str,
    },
    /// An aggregate was attributed to a calendar day outside the dashboard's range: the caller
    /// grouped by the wrong day or forgot to restrict its rows to the query's segments.
    #[error("{date} is outside the dashboard's range {from} to {to}")]
    DateOutsideRange {
        /// The day the aggregate was attributed to.
        date: NaiveDate,
        /// The first day of the range.
        from: NaiveDate,
        /// The last day of the range.
        to: NaiveDate,
    },
}

/// `a + b`, or [`AnalyticsError::Overflow`] naming `quantity`.
pub(crate) fn checked_sum(a: i64, b: i64, quantity: &'static str) -> Result<i64, AnalyticsError> {
    a.checked_add(b)
        .ok_or(AnalyticsError::Overflow { quantity })
}

/// A call of a batch that cannot be recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InvalidCall {
    /// The call's position in the batch (`None`: the batch itself).
    pub index: Option<usize>,
    /// The field at fault.
    pub field: &'static str,
    /// One sentence naming index and field, e.g.
    /// `calls[3].prompt_tokens: a whole number from 0 to 100000000`.
    pub message: String,
}
