//! The seam between the API and whatever computes dashboards.

use crate::dashboard::Dashboard;
use crate::query::DashboardQuery;

/// Anything that answers dashboards: the [`crate::Reference`] over raw calls, and the database
/// implementation over rollups (`store::Store`, with the `store` feature). Every implementation must return the same
/// dashboard for the same data, field for field.
pub trait UsageSource {
    /// Why a dashboard could not be computed.
    type Error;

    /// One user's usage in one org: their calls and feedback, without `by_user`.
    fn usage_dashboard(
        &mut self,
        org_id: &str,
        user_id: &str,
        query: &DashboardQuery,
    ) -> Result<Dashboard, Self::Error>;

    /// The whole org's usage, with `by_user`.
    fn org_dashboard(
        &mut self,
        org_id: &str,
        query: &DashboardQuery,
    ) -> Result<Dashboard, Self::Error>;
}
