//! The usage store over PostgreSQL and SQLite: recording calls and feedback with their rollups in
//! one transaction ([`record_calls`], [`record_feedback`]), the sums a dashboard shows read in one
//! snapshot ([`usage_sums`]), and [`Store`], which assembles those sums with the same
//! [`DashboardBuilder`] rules the tests check against the [`Reference`](crate::Reference).
//!
//! Every function takes the caller's [`TenantScope`] first and reaches only that scope's org
//! (and, for its own usage, its user). The tables belong to `navi-tenancy`'s migrations; this
//! module reads and writes them in raw SQL, the only place outside `navi-tenancy` allowed to
//! (a tidy test checks).

use chrono::NaiveDate;
use navi_tenancy::{DbConnection, StoreError, TenantScope};

mod dialect;
mod sql;
mod usage;

pub use usage::{
    record_calls, record_feedback, usage_sums, Audience, DayModelSums, LatencyCounts, Recorded,
    UsageSums, UserSums,
};

use crate::{
    epoch_day_to_date, AnalyticsError, Dashboard, DashboardBuilder, DashboardQuery,
    LatencyHistogram, UsageSource,
};

/// Why a dashboard could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    /// The store refused or failed (forbidden, unavailable, ...).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The sums could not be stated exactly.
    #[error(transparent)]
    Analytics(#[from] AnalyticsError),
    /// A figure of the range (a total, a day's, a model's or a user's sums) does not fit the
    /// answer's 64-bit integers: the caller asked for too long a range. The message names it.
    #[error(
        "The sums from {from} to {to} do not fit in 64-bit integers: ask for a shorter range."
    )]
    RangeTooLarge {
        /// The first day of the range.
        from: NaiveDate,
        /// The last day of the range.
        to: NaiveDate,
    },
}

/// The dashboards of one tenant scope, over its database connection.
#[allow(missing_debug_implementations)] // The connection has no useful Debug.
pub struct Store<'a> {
    scope: &'a TenantScope,
    conn: &'a mut DbConnection,
}

impl<'a> Store<'a> {
    /// Dashboards as `scope` may see them.
    pub fn new(scope: &'a TenantScope, conn: &'a mut DbConnection) -> Self {
        Store { scope, conn }
    }

    /// The scope's own usage in its org (any member).
    pub fn own_usage(&mut self, query: &DashboardQuery) -> Result<Dashboard, DashboardError> {
        self.read(Audience::OwnUsage, query)
    }

    /// The whole org, with `by_user` (admin+).
    pub fn whole_org(&mut self, query: &DashboardQuery) -> Result<Dashboard, DashboardError> {
        self.read(Audience::WholeOrg, query)
    }

    fn read(
        &mut self,
        audience: Audience,
        query: &DashboardQuery,
    ) -> Result<Dashboard, DashboardError> {
        self.read_sums(audience, query)
            .map_err(|error| match error {
                DashboardError::Store(StoreError::TooLarge(_))
                | DashboardError::Analytics(AnalyticsError::Overflow { .. }) => {
                    DashboardError::RangeTooLarge {
                        from: query.from(),
                        to: query.to(),
                    }
                }
                other => other,
            })
    }

    fn read_sums(
        &mut self,
        audience: Audience,
        query: &DashboardQuery,
    ) -> Result<Dashboard, DashboardError> {
        let segments = query.offset_segments();
        let whole_org = audience == Audience::WholeOrg;
        let scope = self.scope;
        let mut builder = DashboardBuilder::new(
            query,
            scope.org_id().to_owned(),
            (!whole_org).then(|| scope.user_id().to_owned()),
            whole_org,
        );
        let read = usage_sums(scope, self.conn, audience, segments)?;
        for row in &read.day_models {
            let date = epoch_day_to_date(row.day).ok_or_else(|| {
                StoreError::Internal(format!("the sums of day {} have no date", row.day))
            })?;
            builder.add_day_model(date, &row.model, &row.sums)?;
        }
        if let Some(max_ms) = read.latency.max_ms {
            let mut histogram = LatencyHistogram::new();
            for (bucket, count) in read.latency.counts.iter().enumerate() {
                if *count > 0 {
                    histogram.add_to_bucket(bucket, *count, max_ms)?;
                }
            }
            builder.add_latency(&histogram)?;
        }
        builder.reserve_users(read.users.len());
        for row in read.users {
            let user_sums = row.sums;
            builder.add_user(row.user_id, &user_sums)?;
        }
        builder.add_feedback(read.feedback_positive, read.feedback_negative)?;
        Ok(builder.finish()?)
    }
}

impl UsageSource for Store<'_> {
    type Error = DashboardError;

    /// The scope's own usage; `org_id`/`user_id` must be the scope's (else `Forbidden`).
    fn usage_dashboard(
        &mut self,
        org_id: &str,
        user_id: &str,
        query: &DashboardQuery,
    ) -> Result<Dashboard, DashboardError> {
        if org_id != self.scope.org_id() || user_id != self.scope.user_id() {
            return Err(StoreError::Forbidden.into());
        }
        self.own_usage(query)
    }

    /// The scope's org; `org_id` must be the scope's (else `Forbidden`).
    fn org_dashboard(
        &mut self,
        org_id: &str,
        query: &DashboardQuery,
    ) -> Result<Dashboard, DashboardError> {
        if org_id != self.scope.org_id() {
            return Err(StoreError::Forbidden.into());
        }
        self.whole_org(query)
    }
}
