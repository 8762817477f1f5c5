//! `navi-analytics`: LLM usage dashboards (tokens, exact cost, latency per local day, model and
//! user), the same to the last digit whichever backend computes them.
//!
//! This crate is the part of analytics that needs no database. So far it holds:
//!
//! - the figures a dashboard is made of: partial [`Sums`] of calls, which add up exactly or fail
//!   with [`AnalyticsError::Overflow`]; the [`LatencyHistogram`] behind the p95; exact decimals
//!   ([`CostUsd`] writes dollars from micros, [`Hundredths`] rounds averages half away from
//!   zero, both with integer arithmetic only);
//! - the time logic: a validated [`DashboardQuery`] (`from`, `to`, `tz`), the range's calendar
//!   days in the caller's zone ([`DashboardQuery::days`]) and the UTC range cut into
//!   [`OffsetSegment`]s of constant UTC offset, within which an instant's local day is one
//!   integer expression a database can group by.
//!
//! # Example
//!
//! ```
//! use chrono::{NaiveDate, TimeZone, Utc};
//! use navi_analytics::{epoch_day_to_date, DashboardQuery};
//!
//! let now = Utc.with_ymd_and_hms(2026, 11, 4, 0, 0, 0).unwrap();
//! let query = DashboardQuery::parse(Some("2026-11-01"), Some("2026-11-03"), Some("America/New_York"), now)?;
//! // Daylight saving time ends on 1 November: two segments, 2 November starts at 05:00 UTC.
//! let segments = query.offset_segments();
//! assert_eq!(segments.len(), 2);
//! let at = Utc.with_ymd_and_hms(2026, 11, 2, 4, 59, 59).unwrap().timestamp();
//! let day = segments[1].local_epoch_day(at);
//! assert_eq!(epoch_day_to_date(day), NaiveDate::from_ymd_opt(2026, 11, 1));
//! # Ok::<(), navi_analytics::InvalidQuery>(())
//! ```
//!
//! # Rules
//!
//! - **Days.** A call counts for the calendar date of its instant in the query's zone. The
//!   query's [`OffsetSegment`]s hold exactly the instants of the range's days; within a segment
//!   the local day is `(epoch_seconds + offset_seconds).div_euclid(86400)` days after
//!   1970-01-01 ([`epoch_day_to_date`] reads it), with epoch seconds rounded down.
//! - **Money.** Sums of `cost_micros` are exact integers; `cost_usd` is written from them by
//!   integer arithmetic: whole dollars, a dot, exactly six digits ([`CostUsd`]).
//! - **Averages.** `avg_latency_ms` is `latency_sum / requests` rounded half away from zero to
//!   two decimals with 128-bit integer arithmetic ([`Hundredths::from_ratio`]).
//! - **p95.** Latencies are counted in 29 fixed buckets ([`LATENCY_BUCKET_UPPER_BOUNDS_MS`]);
//!   see [`LatencyHistogram::p95_ms`] for the resolution.
//!
//! # What it does not do
//!
//! There is no SQL here, no connection and no tenant scope, and no HTTP.
#![warn(missing_docs)]

mod decimal;
mod error;
mod latency;
mod query;
mod sums;

pub use decimal::{CostUsd, Hundredths};
pub use error::{AnalyticsError, InvalidQuery};
pub use latency::{
    latency_bucket, LatencyHistogram, LATENCY_BUCKET_COUNT, LATENCY_BUCKET_UPPER_BOUNDS_MS,
    LATENCY_OVERFLOW_BUCKET,
};
pub use query::{
    date_to_epoch_day, epoch_day_to_date, DashboardQuery, LocalDay, OffsetSegment,
    DEFAULT_RANGE_DAYS, EARLIEST_DATE, LATEST_DATE, MAX_RANGE_DAYS, ROLLUP_GRAINS_SECONDS,
};
pub use sums::Sums;
