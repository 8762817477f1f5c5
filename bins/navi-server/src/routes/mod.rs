//! One module per resource. Each exposes `configure`, mounted by [`crate::app::build_app`].
//! Wire types live here, never in the library crates: rows are not responses.

pub mod api_keys;
pub mod audit;
pub mod health;
pub mod invites;
pub mod mcp_servers;
pub mod orgs;
pub mod usage;

use chrono::{NaiveDateTime, SecondsFormat};

/// A stored naive-UTC timestamp as the API writes it: RFC 3339 with `Z`, whole seconds.
pub(crate) fn timestamp(at: NaiveDateTime) -> String {
    at.and_utc().to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub(crate) fn optional_timestamp(at: Option<NaiveDateTime>) -> Option<String> {
    at.map(timestamp)
}
