//! The latency histogram behind `p95_latency_ms`: fixed buckets, so that counts kept per day
//! and model in a database merge into an exact histogram of any range.

use crate::error::{checked_sum, AnalyticsError};

/// The upper bounds (included) of the latency buckets, in milliseconds: a 1–1.5–2–3–5–7.5
/// progression from 10 ms to 5 minutes. Bucket `i` holds latencies `≤ bound[i]` and
/// `> bound[i − 1]`; bucket 0 holds everything up to 10 ms (0 and, should one slip through,
/// negative values), and one more bucket, [`LATENCY_OVERFLOW_BUCKET`], holds everything above
/// 300,000 ms.
pub const LATENCY_BUCKET_UPPER_BOUNDS_MS: [i64; 28] = [
    10, 15, 20, 30, 50, 75, //
    100, 150, 200, 300, 500, 750, //
    1_000, 1_500, 2_000, 3_000, 5_000, 7_500, //
    10_000, 15_000, 20_000, 30_000, 50_000, 75_000, //
    100_000, 150_000, 200_000, 300_000,
];

/// How many buckets a histogram has: one per bound and the overflow bucket.
pub const LATENCY_BUCKET_COUNT: usize = LATENCY_BUCKET_UPPER_BOUNDS_MS.len() + 1;

/// The index of the bucket for latencies above the last bound.
pub const LATENCY_OVERFLOW_BUCKET: usize = LATENCY_BUCKET_UPPER_BOUNDS_MS.len();

/// The bucket that holds `latency_ms`: the first whose upper bound is `≥ latency_ms`, or
/// [`LATENCY_OVERFLOW_BUCKET`].
///
/// In SQL, the same as `CASE WHEN latency_ms <= 10 THEN 0 WHEN latency_ms <= 15 THEN 1 ... ELSE
/// 28 END`.
pub fn latency_bucket(latency_ms: i64) -> usize {
    LATENCY_BUCKET_UPPER_BOUNDS_MS.partition_point(|bound| *bound < latency_ms)
}

/// Counts of calls per latency bucket, and the largest latency counted.
///
/// Histograms merge exactly, so a database can keep one per day and model and the dashboard
/// merges those of its range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatencyHistogram {
    /// Calls per bucket, indexed as [`latency_bucket`] returns.
    pub counts: [i64; LATENCY_BUCKET_COUNT],
    /// The largest latency counted, in milliseconds; 0 when nothing was counted (latencies are
    /// never negative in the API).
    pub max_ms: i64,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self::new()
    }
}

impl LatencyHistogram {
    /// An empty histogram.
    pub fn new() -> Self {
        Self {
            counts: [0; LATENCY_BUCKET_COUNT],
            max_ms: 0,
        }
    }

    /// Counts one call of `latency_ms`.
    pub fn record(&mut self, latency_ms: i64) -> Result<(), AnalyticsError> {
        self.add_to_bucket(latency_bucket(latency_ms), 1, latency_ms)
    }

    /// Counts `count` calls in `bucket` (as [`latency_bucket`] numbers them) whose largest
    /// latency is `max_ms`: what a `GROUP BY bucket` returns. A bucket beyond the overflow
    /// bucket counts as the overflow bucket.
    pub fn add_to_bucket(
        &mut self,
        bucket: usize,
        count: i64,
        max_ms: i64,
    ) -> Result<(), AnalyticsError> {
        let bucket = bucket.min(LATENCY_OVERFLOW_BUCKET);
        self.counts[bucket] = checked_sum(self.counts[bucket], count, "latency_histogram")?;
        self.max_ms = self.max_ms.max(max_ms);
        Ok(())
    }

    /// Adds the counts of `other`; on overflow `self` is left as it was.
    pub fn merge(&mut self, other: &LatencyHistogram) -> Result<(), AnalyticsError> {
        let mut counts = self.counts;
        for (count, other_count) in counts.iter_mut().zip(other.counts) {
            *count = checked_sum(*count, other_count, "latency_histogram")?;
        }
        self.counts = counts;
        self.max_ms = self.max_ms.max(other.max_ms);
        Ok(())
    }

    /// How many calls were counted (as an `i128`, which cannot overflow).
    pub fn total(&self) -> i128 {
        self.counts.iter().map(|count| i128::from(*count)).sum()
    }

    /// The 95th percentile latency, nearest rank, at the histogram's resolution; `None` when
    /// nothing was counted.
    ///
    /// With `n` calls the p95 is the latency of rank `⌈0.95·n⌉` in increasing order. We report
    /// the upper bound of the bucket holding that rank, or `max_ms` when that is smaller; the
    /// overflow bucket reports `max_ms`. The result is never below the true p95, and at most
    /// 10 ms above it in the first bucket and at most 5/3 of it elsewhere (the widest step of
    /// the progression, 30 to 50 ms).
    pub fn p95_ms(&self) -> Option<i64> {
        let total = self.total();
        if total <= 0 {
            return None;
        }
        let rank = (total * 95 + 99) / 100;
        let mut seen: i128 = 0;
        for (bucket, count) in self.counts.iter().enumerate() {
            seen += i128::from(*count);
            if seen >= rank {
                return Some(match LATENCY_BUCKET_UPPER_BOUNDS_MS.get(bucket) {
                    Some(bound) => (*bound).min(self.max_ms),
                    None => self.max_ms,
                });
            }
        }
        // Only negative counts (never produced by counting) get here.
        Some(self.max_ms)
    }
}
