//! Request counters and the snapshot the server exports on `/metrics`.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::backend::{BackendKind, BackendStats, GetDelPath};

/// A [`crate::Cache`] operation, the `op` label of `navi_cache_requests_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Get,
    Set,
    Delete,
    GetDel,
    Count,
    Admit,
}

/// The outcome of an operation, the `result` label of `navi_cache_requests_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Hit,
    Miss,
    Ok,
    Error,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::Set => "set",
            Self::Delete => "delete",
            Self::GetDel => "getdel",
            Self::Count => "count",
            Self::Admit => "admit",
        }
    }

    /// The outcomes this operation can have, so the snapshot lists each series even at zero.
    fn outcomes(self) -> &'static [Outcome] {
        match self {
            Self::Get | Self::Delete | Self::GetDel => {
                &[Outcome::Hit, Outcome::Miss, Outcome::Error]
            }
            Self::Set | Self::Count | Self::Admit => &[Outcome::Ok, Outcome::Error],
        }
    }
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Self::Hit => "hit",
            Self::Miss => "miss",
            Self::Ok => "ok",
            Self::Error => "error",
        }
    }
}

const OPS: [Op; 6] = [
    Op::Get,
    Op::Set,
    Op::Delete,
    Op::GetDel,
    Op::Count,
    Op::Admit,
];

/// Counters indexed by operation and outcome.
#[derive(Debug, Default)]
pub(crate) struct RequestCounters {
    counts: [[AtomicU64; 4]; OPS.len()],
}

impl RequestCounters {
    pub(crate) fn record(&self, op: Op, outcome: Outcome) {
        self.counts[op as usize][outcome as usize].fetch_add(1, Ordering::Relaxed);
    }

    fn snapshot(&self) -> Vec<(&'static str, &'static str, u64)> {
        OPS.iter()
            .flat_map(|&op| {
                op.outcomes().iter().map(move |&outcome| {
                    (
                        op.as_str(),
                        outcome.as_str(),
                        self.counts[op as usize][outcome as usize].load(Ordering::Relaxed),
                    )
                })
            })
            .collect()
    }
}

/// A point-in-time copy of a [`crate::Cache`]'s counters, free of any metrics framework.
///
/// The server renders it as `navi_cache_requests_total{op,result}`,
/// `navi_cache_getdel_total{path}` and `navi_cache_evictions_total`
/// (see [`CacheMetricsSnapshot::write_prometheus`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheMetricsSnapshot {
    /// The backend serving the cache.
    pub backend: BackendKind,
    /// `(op, result, count)`: op is `get|set|delete|getdel|count|admit`, result is
    /// `hit|miss|error` (`ok|error` for `set`, `count` and `admit`). Every possible pair is listed, zeros included.
    pub requests: Vec<(&'static str, &'static str, u64)>,
    /// `(path, count)` for `getdel|lua|memory`, zeros included.
    pub getdel_by_path: Vec<(&'static str, u64)>,
    /// Times the Redis backend switched from `GETDEL` to Lua (0 or 1 per pool).
    pub lua_fallbacks: u64,
    /// Entries the memory backend evicted for capacity.
    pub memory_evictions: u64,
    /// Redis `evicted_keys` from `INFO stats`; `None` on memory or when Redis did not answer.
    pub redis_evicted_keys: Option<u64>,
}

impl CacheMetricsSnapshot {
    pub(crate) fn new(
        backend: BackendKind,
        requests: &RequestCounters,
        stats: BackendStats,
    ) -> Self {
        let getdel_by_path = GetDelPath::ALL
            .iter()
            .map(|&path| {
                let count = stats
                    .getdel_by_path
                    .iter()
                    .filter(|(counted, _)| *counted == path)
                    .map(|(_, count)| count)
                    .sum();
                (path.as_str(), count)
            })
            .collect();
        Self {
            backend,
            requests: requests.snapshot(),
            getdel_by_path,
            lua_fallbacks: stats.lua_fallbacks,
            memory_evictions: stats.memory_evictions,
            redis_evicted_keys: stats.redis_evicted_keys,
        }
    }

    /// The count for one `(op, result)` pair; 0 if the pair does not exist.
    pub fn requests_for(&self, op: &str, result: &str) -> u64 {
        self.requests
            .iter()
            .find(|(o, r, _)| *o == op && *r == result)
            .map_or(0, |(_, _, count)| *count)
    }

    /// The count for one get-and-delete path (`getdel`, `lua`, `memory`); 0 if unknown.
    pub fn getdel_for(&self, path: &str) -> u64 {
        self.getdel_by_path
            .iter()
            .find(|(p, _)| *p == path)
            .map_or(0, |(_, count)| *count)
    }

    /// `navi_cache_evictions_total`: memory evictions plus Redis `evicted_keys`.
    pub fn evictions_total(&self) -> u64 {
        self.memory_evictions + self.redis_evicted_keys.unwrap_or(0)
    }

    /// Append the three cache metric families in Prometheus text exposition format.
    pub fn write_prometheus(&self, out: &mut String) {
        // Writing to a String cannot fail; the fmt::Result is always Ok.
        let _ = self.write_families(out);
    }

    fn write_families(&self, out: &mut String) -> std::fmt::Result {
        writeln!(
            out,
            "# HELP navi_cache_requests_total Cache operations by operation and result."
        )?;
        writeln!(out, "# TYPE navi_cache_requests_total counter")?;
        for (op, result, count) in &self.requests {
            writeln!(
                out,
                "navi_cache_requests_total{{op=\"{op}\",result=\"{result}\"}} {count}"
            )?;
        }
        writeln!(
            out,
            "# HELP navi_cache_getdel_total Get-and-delete calls by execution path."
        )?;
        writeln!(out, "# TYPE navi_cache_getdel_total counter")?;
        for (path, count) in &self.getdel_by_path {
            writeln!(out, "navi_cache_getdel_total{{path=\"{path}\"}} {count}")?;
        }
        writeln!(out, "# HELP navi_cache_evictions_total Entries evicted for capacity (memory backend plus Redis evicted_keys).")?;
        writeln!(out, "# TYPE navi_cache_evictions_total counter")?;
        writeln!(out, "navi_cache_evictions_total {}", self.evictions_total())
    }
}
