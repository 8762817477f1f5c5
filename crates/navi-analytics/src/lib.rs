//! `navi-analytics`: LLM usage dashboards (tokens, exact cost, latency per local day, model and
//! user), the same to the last digit whichever backend computes them.
//!
//! This crate is the part of analytics that needs no database. So far it holds the figures a
//! dashboard is made of:
//!
//! - partial [`Sums`] of calls, which add up exactly or fail with
//!   [`AnalyticsError::Overflow`], never wrapping or saturating;
//! - the [`LatencyHistogram`] behind the p95: fixed buckets that merge exactly;
//! - exact decimals: [`CostUsd`] writes dollars from micros, [`Hundredths`] rounds averages half
//!   away from zero, both with integer arithmetic only.
//!
//! # Example
//!
//! ```
//! use navi_analytics::{CostUsd, Hundredths, LatencyHistogram, Sums};
//!
//! let mut sums = Sums::of_call(100, 20, 1_250_000, 300);
//! sums.add(&Sums::of_call(50, 10, 5, 301))?;
//! assert_eq!(CostUsd::from_micros(sums.cost_micros).to_string(), "1.250005");
//! let average = Hundredths::from_ratio(sums.latency_sum_ms, sums.requests).unwrap();
//! assert_eq!(average.to_string(), "300.50");
//!
//! let mut latencies = LatencyHistogram::new();
//! latencies.record(300)?;
//! latencies.record(301)?;
//! assert_eq!(latencies.p95_ms(), Some(301)); // the bucket 300–500 ms, capped by the max
//! # Ok::<(), navi_analytics::AnalyticsError>(())
//! ```
//!
//! # What it does not do
//!
//! There is no SQL here, no connection and no tenant scope, and no HTTP.
#![warn(missing_docs)]

mod decimal;
mod error;
mod latency;
mod sums;

pub use decimal::{CostUsd, Hundredths};
pub use error::AnalyticsError;
pub use latency::{
    latency_bucket, LatencyHistogram, LATENCY_BUCKET_COUNT, LATENCY_BUCKET_UPPER_BOUNDS_MS,
    LATENCY_OVERFLOW_BUCKET,
};
pub use sums::Sums;
