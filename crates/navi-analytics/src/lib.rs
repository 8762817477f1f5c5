//! `navi-analytics`: LLM usage dashboards (tokens, exact cost, latency per local day, model and
//! user), the same to the last digit whichever backend computes them.
//!
//! It owns usage. Its build without default features needs no database (no navi-tenancy, no
//! diesel):
//!
//! - the vocabulary: a validated [`DashboardQuery`] (`from`, `to`, `tz`), partial [`Sums`], the
//!   [`LatencyHistogram`] behind the p95, and the wire body [`Dashboard`];
//! - the time logic: the range's calendar days in the caller's zone ([`DashboardQuery::days`])
//!   and the UTC range cut into [`OffsetSegment`]s of constant UTC offset, within which an
//!   instant's local day is one integer expression a database can group by, and [`grains`],
//!   which cuts a range into the pieces the rollups answer exactly;
//! - the assembly of a dashboard from partial sums in any grouping ([`DashboardBuilder`]);
//! - the oracle: [`Reference`], which computes dashboards straight from raw calls, and the
//!   [`UsageSource`] trait that it and the database implementation both answer;
//! - ingest validation: [`validate_calls`] turns a client's calls into [`NewCall`]s, with errors
//!   that name the call's index and field.
//!
//! The `store` feature (on by default) adds [`store`]: recording calls and feedback with their
//! rollups in one transaction, and the dashboard reads ([`Store`]), over PostgreSQL and SQLite
//! through navi-tenancy's connection, every function taking a `TenantScope` first.
//!
//! # Example
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use navi_analytics::{DashboardQuery, LlmCall, Reference, UsageSource};
//!
//! let call = |user: &str, cost_micros, latency_ms, (day, hour)| LlmCall {
//!     org_id: "org_1".into(),
//!     user_id: user.into(),
//!     model: "gpt-4o".into(),
//!     prompt_tokens: 100,
//!     completion_tokens: 20,
//!     cost_micros,
//!     latency_ms,
//!     occurred_at: Utc.with_ymd_and_hms(2026, 11, day, hour, 0, 0).unwrap(),
//! };
//! let mut reference = Reference {
//!     calls: vec![
//!         call("usr_a", 1_250_000, 300, (2, 12)),
//!         // 02:00 UTC on the 3rd is still the 2nd in New York.
//!         call("usr_b", 5, 301, (3, 2)),
//!         call("usr_a", 7, 90, (3, 12)),
//!     ],
//!     feedback: vec![],
//! };
//! let now = Utc.with_ymd_and_hms(2026, 11, 4, 0, 0, 0).unwrap();
//! let query = DashboardQuery::parse(Some("2026-11-02"), Some("2026-11-03"), Some("America/New_York"), now)?;
//!
//! let org = reference.org_dashboard("org_1", &query)?;
//! assert_eq!(org.totals.requests, 3);
//! assert_eq!(org.totals.cost_usd.to_string(), "1.250012");
//! assert_eq!(org.daily[0].requests, 2);
//! assert_eq!(org.daily[0].avg_latency_ms.unwrap().to_string(), "300.50");
//! assert_eq!(org.totals.p95_latency_ms, Some(301)); // the bucket 300–500 ms, capped by the max
//! assert_eq!(org.by_user.as_ref().unwrap()[0].user_id, "usr_a");
//!
//! let mine = reference.usage_dashboard("org_1", "usr_b", &query)?;
//! assert_eq!(mine.totals.requests, 1);
//! assert!(mine.by_user.is_none());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Rules every implementation follows
//!
//! - **Days.** A call counts for the calendar date of its instant in the query's zone. The
//!   query's [`OffsetSegment`]s hold exactly the instants of the range's days; within a segment
//!   the local day is `(epoch_seconds + offset).div_euclid(86400)` days after
//!   1970-01-01 ([`epoch_day_to_date`] reads it), with epoch seconds rounded down.
//! - **Money.** Sums of `cost_micros` are exact integers; `cost_usd` is written from them by
//!   integer arithmetic: whole dollars, a dot, exactly six digits ([`CostUsd`]).
//! - **Averages.** `avg_latency_ms` is `latency_sum / requests` rounded half away from zero to
//!   two decimals with 128-bit integer arithmetic ([`Hundredths::from_ratio`]), a JSON number
//!   with at most two decimals, `null` without requests.
//! - **p95.** Latencies are counted in 29 fixed buckets ([`LATENCY_BUCKET_UPPER_BOUNDS_MS`], a
//!   1–1.5–2–3–5–7.5 progression from 10 ms to 300,000 ms, and an overflow bucket). The p95 is
//!   the nearest rank `⌈0.95·n⌉`, reported as the upper bound of its bucket, capped by the
//!   largest latency (the overflow bucket reports the largest latency). So it is never below
//!   the true p95, at most 10 ms above it in the first bucket and within a factor 5/3 above it
//!   elsewhere, and exact when the p95 is the maximum.
//! - **Overflow.** The figures a dashboard states are `i64`, summed in 128-bit integers. A
//!   figure that does not fit is an [`AnalyticsError::Overflow`], never a wrapped or saturated
//!   number; [`Store`] answers it as [`DashboardError::RangeTooLarge`], naming the range.
//! - **Order.** `daily` has every day of the range in order, zeros included; `by_model` and
//!   `by_user` list only entries with calls, by `cost_micros` (highest first), then by name
//!   compared byte by byte.
//!
//! # What it does not do
//!
//! Outside [`store`] there is no SQL, no connection and no tenant scope. The database
//! implementation of [`UsageSource`] ([`Store`]) computes partial sums over the query's segments
//! from rollups of UTC days, hours and 15-minute buckets, feeds them to a [`DashboardBuilder`],
//! and is tested against [`Reference`] for equality. The store creates and alters no table: the
//! schema and every migration are navi-tenancy's. Nor does this crate know HTTP: the server turns
//! query strings into a [`DashboardQuery`] and an [`InvalidQuery`] into a 400.
#![warn(missing_docs)]

mod dashboard;
mod decimal;
mod error;
pub mod grains;
mod ingest;
mod latency;
mod query;
mod reference;
mod source;
#[cfg(feature = "store")]
pub mod store;
mod sums;
pub mod windows;

pub use dashboard::{DailyUsage, Dashboard, DashboardBuilder, ModelUsage, Totals, UserUsage};
pub use decimal::{CostUsd, Hundredths};
pub use error::{AnalyticsError, InvalidCall, InvalidQuery};
pub use ingest::{
    validate_calls, CallInput, NewCall, MAX_BATCH, MAX_COST_MICROS_PER_CALL,
    MAX_LATENCY_MS_PER_CALL, MAX_TOKENS_PER_CALL,
};
pub use latency::{
    latency_bucket, LatencyHistogram, LATENCY_BUCKET_COUNT, LATENCY_BUCKET_UPPER_BOUNDS_MS,
    LATENCY_OVERFLOW_BUCKET,
};
pub use query::{
    date_to_epoch_day, epoch_day_to_date, DashboardQuery, LocalDay, OffsetSegment,
    DEFAULT_RANGE_DAYS, EARLIEST_DATE, LATEST_DATE, MAX_RANGE_DAYS,
};
pub use reference::{FeedbackEvent, LlmCall, Reference};
pub use source::UsageSource;
#[cfg(feature = "store")]
pub use store::{DashboardError, Store};
pub use sums::Sums;
