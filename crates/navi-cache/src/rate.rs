//! Rate limiting by the generic cell rate algorithm (GCRA), weighted and exact.
//!
//! A [`Rate`] admits `quota` cells per `window`, a whole quota at once at most. Its state is one
//! instant per key, the theoretical arrival time (TAT): each admitted decision of `n` cells moves
//! it `n × window / quota` later; a decision is admitted when the new TAT is at most `window`
//! ahead of now.
//!
//! Exact with any quota up to [`MAX_QUOTA`] and any cost up to the quota: a cell's time
//! `window / quota` need not be a whole microsecond, so a TAT is kept as whole microseconds plus a
//! remainder in `1/quota` of a microsecond ([`Tat`]). Every number a backend stores or compares
//! stays below 2^53 (Redis runs its script with Lua's doubles); the one product that would not,
//! `n × window`, is taken apart here, once, for both backends ([`Cost`]).

use std::time::Duration;

use crate::error::CacheError;

/// The largest quota: 10^12 cells (tokens, micro-dollars) per window.
pub const MAX_QUOTA: u64 = 1_000_000_000_000;
/// The longest window: a day.
pub const MAX_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// At most `quota` cells per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rate {
    quota: u64,
    window_us: u64,
}

impl Rate {
    /// A rate of `quota` (1 to [`MAX_QUOTA`]) cells per `window` (1 ms to [`MAX_WINDOW`], whole
    /// microseconds).
    pub fn new(quota: u64, window: Duration) -> Result<Rate, CacheError> {
        if !(1..=MAX_QUOTA).contains(&quota) {
            return Err(CacheError::invalid(format!(
                "a rate's quota is 1 to {MAX_QUOTA} cells"
            )));
        }
        if window < Duration::from_millis(1)
            || window > MAX_WINDOW
            || !window.subsec_nanos().is_multiple_of(1000)
        {
            return Err(CacheError::invalid(
                "a rate's window is 1 ms to a day, in whole microseconds",
            ));
        }
        Ok(Rate {
            quota,
            // At most a day: fits easily.
            window_us: window.as_micros() as u64,
        })
    }

    /// Cells per window.
    pub fn quota(&self) -> u64 {
        self.quota
    }

    /// The window.
    pub fn window(&self) -> Duration {
        Duration::from_micros(self.window_us)
    }

    pub(crate) fn window_us(&self) -> u64 {
        self.window_us
    }

    /// What `cells` cost in time: `cells × window / quota` as whole microseconds and a remainder
    /// in `1/quota` µs. More cells than the quota can never be admitted: `Invalid`.
    pub(crate) fn cost(&self, cells: u64) -> Result<Cost, CacheError> {
        if cells > self.quota {
            return Err(CacheError::invalid(format!(
                "a decision of {cells} cells can never fit a quota of {}",
                self.quota
            )));
        }
        let product = u128::from(cells) * u128::from(self.window_us);
        let quota = u128::from(self.quota);
        // Both parts are at most window_us and quota: each below 2^53.
        Ok(Cost {
            micros: (product / quota) as u64,
            remainder: (product % quota) as u64,
        })
    }
}

/// The time `n` cells take: `micros + remainder / quota` microseconds (made by the cache).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cost {
    pub(crate) micros: u64,
    pub(crate) remainder: u64,
}

/// A TAT as a backend stores it, with the quota its remainder counts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stored {
    pub(crate) tat: Tat,
    pub(crate) quota: u64,
}

impl Stored {
    /// The TAT in `rate`'s units. A bucket is one per policy and subject whatever its rate, so an
    /// org that changes a quota keeps its callers' buckets (no fresh burst); a remainder counted
    /// in another quota's units is rounded up to the next whole microsecond (at most 1 µs
    /// stricter), and the Redis script does the same.
    pub(crate) fn in_units_of(self, rate: &Rate) -> Tat {
        if self.quota == rate.quota || self.tat.remainder == 0 {
            self.tat
        } else {
            Tat {
                micros: self.tat.micros + 1,
                remainder: 0,
            }
        }
    }
}

/// A theoretical arrival time: `micros + remainder / quota` microseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Tat {
    pub(crate) micros: u64,
    pub(crate) remainder: u64,
}

/// What a backend answers to one decision: whether it was admitted, the key's TAT after it, the
/// TAT it would have needed, and the backend's now (all in microseconds since the epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gcra {
    pub(crate) allowed: bool,
    pub(crate) tat: Tat,
    pub(crate) wanted: Tat,
    pub(crate) now_us: u64,
}

/// The one step of the algorithm, which the Redis script repeats in Lua: from the stored TAT (if
/// any), the cost and now, the decision and the TAT to store when admitted.
pub(crate) fn step(stored: Option<Tat>, cost: Cost, rate: &Rate, now_us: u64) -> Gcra {
    let start = Tat {
        micros: now_us,
        remainder: 0,
    };
    let tat = stored.filter(|tat| *tat > start).unwrap_or(start);
    let mut wanted = Tat {
        micros: tat.micros + cost.micros,
        remainder: tat.remainder + cost.remainder,
    };
    if wanted.remainder >= rate.quota {
        wanted.micros += 1;
        wanted.remainder -= rate.quota;
    }
    let limit = Tat {
        micros: now_us + rate.window_us,
        remainder: 0,
    };
    let allowed = wanted <= limit;
    Gcra {
        allowed,
        tat: if allowed { wanted } else { tat },
        wanted,
        now_us,
    }
}

/// A decision, as callers (and the `RateLimit` headers) need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Whether the cells were admitted (and counted).
    pub allowed: bool,
    /// Cells that could be admitted now, after this decision.
    pub remaining: u64,
    /// Until the whole quota is available again.
    pub reset_after: Duration,
    /// When refused: how long until the same decision would be admitted; zero when admitted.
    pub retry_after: Duration,
}

impl Gcra {
    /// The decision, with `remaining` and the durations worked out exactly (rounded up to whole
    /// microseconds, so a client waiting as told is admitted).
    pub(crate) fn decision(&self, rate: &Rate) -> Decision {
        let quota = u128::from(rate.quota);
        let window = u128::from(rate.window_us);
        let now = u128::from(self.now_us);
        // Time ahead of now, in 1/quota µs.
        let ahead = |tat: Tat| {
            (u128::from(tat.micros) * quota + u128::from(tat.remainder)).saturating_sub(now * quota)
        };
        let ceil_us = |scaled: u128| Duration::from_micros(scaled.div_ceil(quota) as u64);
        let used = ahead(self.tat);
        let free = (window * quota).saturating_sub(used);
        let retry = ahead(self.wanted).saturating_sub(window * quota);
        Decision {
            allowed: self.allowed,
            // free / (window / quota) cells, in whole cells.
            remaining: (free / window) as u64,
            reset_after: ceil_us(used),
            retry_after: if self.allowed {
                Duration::ZERO
            } else {
                ceil_us(retry)
            },
        }
    }
}

/// One bucket of a decision: the rate it is decided under and what the decision costs there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Link {
    pub(crate) rate: Rate,
    pub(crate) cost: Cost,
}

impl Link {
    /// `cells` under `rate`; more cells than the quota can never be admitted: `Invalid`.
    pub(crate) fn new(rate: Rate, cells: u64) -> Result<Link, CacheError> {
        Ok(Link {
            cost: rate.cost(cells)?,
            rate,
        })
    }
}

/// One decision over several buckets, all or nothing ([`step`] in each): admitted when every
/// bucket admits it, and then counted in every one; else counted in none. Each bucket's own
/// [`Gcra`] says whether that bucket would have admitted it; its TAT moved only if all did.
pub(crate) fn step_all(stored: &[Option<Tat>], links: &[Link], now_us: u64) -> Vec<Gcra> {
    let mut steps: Vec<Gcra> = stored
        .iter()
        .zip(links)
        .map(|(stored, link)| step(*stored, link.cost, &link.rate, now_us))
        .collect();
    if !steps.iter().all(|gcra| gcra.allowed) {
        let nothing = Cost {
            micros: 0,
            remainder: 0,
        };
        for ((gcra, stored), link) in steps.iter_mut().zip(stored).zip(links) {
            // Where the bucket stood: a step of no cost leaves it there.
            gcra.tat = step(*stored, nothing, &link.rate, now_us).tat;
        }
    }
    steps
}

/// Replays `n` decisions over `links` made one after another at `now_us` from the TATs `start`
/// (already at least now): what a backend that made them as a batch answers each of them, per
/// bucket.
pub(crate) fn replay(start: &[Tat], links: &[Link], now_us: u64, n: usize) -> Vec<Vec<Gcra>> {
    let mut tats: Vec<Option<Tat>> = start.iter().copied().map(Some).collect();
    (0..n)
        .map(|_| {
            let steps = step_all(&tats, links, now_us);
            for (tat, gcra) in tats.iter_mut().zip(&steps) {
                *tat = Some(gcra.tat);
            }
            steps
        })
        .collect()
}

/// The Redis script of `n` decisions over `k` buckets, each all or nothing ([`step_all`]), made
/// one after another (a batch of concurrent callers, see `coalesce.rs`). `KEYS`: the buckets
/// (each a hash of `a`, the TAT's microseconds, `r`, its remainder, and `q`, the quota `r`
/// counts in). `ARGV`: for each bucket the cost's microseconds and remainder, the quota and the
/// window in µs; then now in µs or `""` for the server's `TIME`; then `n`. Once one decision is
/// refused the rest are too (same TATs, same costs). Returns `{admitted, a1, r1, ..., ak, rk,
/// now}` with the TATs the batch started from, from which [`replay`] gives each decision. A
/// bucket stored under another quota is read as [`Stored::in_units_of`] says. Numbers stay below
/// 2^53, and are written with `%.0f` so Lua does not round them to 14 digits.
pub(crate) const GCRA_SCRIPT: &str = r"
local k = #KEYS
local now
if ARGV[4 * k + 1] ~= '' then
  now = tonumber(ARGV[4 * k + 1])
else
  local time = redis.call('TIME')
  now = tonumber(time[1]) * 1000000 + tonumber(time[2])
end
local n = tonumber(ARGV[4 * k + 2])
local q, s, quota, window, a, r = {}, {}, {}, {}, {}, {}
local reply = {'0'}
for i = 1, k do
  q[i], s[i] = tonumber(ARGV[4 * i - 3]), tonumber(ARGV[4 * i - 2])
  quota[i], window[i] = tonumber(ARGV[4 * i - 1]), tonumber(ARGV[4 * i])
  a[i], r[i] = now, 0
  local stored = redis.call('HMGET', KEYS[i], 'a', 'r', 'q')
  if stored[1] then
    local sa, sr = tonumber(stored[1]), tonumber(stored[2])
    if tonumber(stored[3]) ~= quota[i] and sr > 0 then
      sa, sr = sa + 1, 0
    end
    if sa > now or (sa == now and sr > 0) then
      a[i], r[i] = sa, sr
    end
  end
  reply[2 * i], reply[2 * i + 1] = string.format('%.0f', a[i]), string.format('%.0f', r[i])
end
local admitted = 0
while admitted < n do
  local wa, wr, fits = {}, {}, true
  for i = 1, k do
    wa[i], wr[i] = a[i] + q[i], r[i] + s[i]
    if wr[i] >= quota[i] then
      wa[i], wr[i] = wa[i] + 1, wr[i] - quota[i]
    end
    if not (wa[i] < now + window[i] or (wa[i] == now + window[i] and wr[i] == 0)) then
      fits = false
    end
  end
  if not fits then
    break
  end
  for i = 1, k do
    a[i], r[i] = wa[i], wr[i]
  end
  admitted = admitted + 1
end
if admitted > 0 then
  for i = 1, k do
    redis.call('HSET', KEYS[i], 'a', string.format('%.0f', a[i]), 'r', string.format('%.0f', r[i]),
      'q', string.format('%.0f', quota[i]))
    redis.call('PEXPIRE', KEYS[i], math.floor((a[i] - now) / 1000) + 1)
  end
end
reply[1] = tostring(admitted)
reply[2 * k + 2] = string.format('%.0f', now)
return reply
";

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(quota: u64, seconds: u64) -> Rate {
        Rate::new(quota, Duration::from_secs(seconds)).unwrap()
    }

    #[test]
    fn a_quota_that_does_not_divide_the_window_is_still_exact() {
        // 7 per minute: a cell is 8,571,428 4/7 µs. Seven at once fit; the eighth waits one cell.
        let rate = rate(7, 60);
        let mut tat = None;
        for n in 0..7 {
            let gcra = step(tat, rate.cost(1).unwrap(), &rate, 1_000_000);
            assert!(gcra.allowed, "cell {n}");
            assert_eq!(gcra.decision(&rate).remaining, 6 - n);
            tat = Some(gcra.tat);
        }
        let eighth = step(tat, rate.cost(1).unwrap(), &rate, 1_000_000);
        assert!(!eighth.allowed);
        assert_eq!(
            eighth.decision(&rate).retry_after,
            Duration::from_micros(8_571_429)
        );
        // Waiting as told is enough.
        let later = step(tat, rate.cost(1).unwrap(), &rate, 1_000_000 + 8_571_429);
        assert!(later.allowed);
    }

    #[test]
    fn weights_up_to_the_largest_quota_are_exact() {
        let rate = Rate::new(MAX_QUOTA, MAX_WINDOW).unwrap();
        let cost = rate.cost(MAX_QUOTA / 3).unwrap();
        let mut tat = None;
        for _ in 0..3 {
            let gcra = step(tat, cost, &rate, 5);
            assert!(gcra.allowed);
            tat = Some(gcra.tat);
        }
        // A third of 10^12 three times leaves one cell.
        let last = step(tat, rate.cost(1).unwrap(), &rate, 5);
        assert!(last.allowed);
        assert_eq!(last.decision(&rate).remaining, 0);
        assert!(!step(Some(last.tat), rate.cost(1).unwrap(), &rate, 5).allowed);
        assert!(rate.cost(MAX_QUOTA + 1).is_err());
    }

    #[test]
    fn rates_are_bounded() {
        assert!(Rate::new(0, Duration::from_secs(1)).is_err());
        assert!(Rate::new(MAX_QUOTA + 1, Duration::from_secs(1)).is_err());
        assert!(Rate::new(1, Duration::ZERO).is_err());
        assert!(Rate::new(1, MAX_WINDOW + Duration::from_secs(1)).is_err());
        assert!(Rate::new(1, Duration::from_nanos(1_000_500)).is_err());
    }
}
