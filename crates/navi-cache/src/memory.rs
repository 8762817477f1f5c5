//! The in-process backend: sharded, bounded, with TTLs.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::backend::{validate_ttl, BackendKind, BackendStats, CacheBackend, GetDelPath};
use crate::error::CacheError;

/// How many entries the eviction scan looks at when a shard is full. Like Redis's approximated
/// eviction: cheap and good enough, never a scan of the whole shard under its lock.
const EVICTION_SAMPLE: usize = 16;

/// Settings for [`MemoryBackend`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryConfig {
    /// The most entries the backend holds; when full, inserting a new key first drops expired
    /// entries and then evicts the entry closest to expiry among a sample (counted in
    /// [`BackendStats::memory_evictions`]). The bound is enforced per shard:
    /// `capacity.div_ceil(shards)` entries each.
    pub capacity: usize,
    /// Number of independently locked shards, so concurrent callers on several cores rarely wait
    /// for each other. Clamped to `1..=capacity`.
    pub shards: usize,
}

impl Default for MemoryConfig {
    fn default() -> Self {
        Self {
            capacity: 100_000,
            shards: 16,
        }
    }
}

/// The in-memory [`CacheBackend`]: `shards` independent `Mutex<HashMap>`s, picked by a hash of the
/// key. Get-and-delete is one `HashMap::remove` under the shard's lock, so it is atomic against
/// every other operation on that key.
///
/// State lives in this process only: two server instances with memory backends do not share
/// tokens, so a token could be consumed once per instance. Use it for tests, development and
/// single-instance deployments.
#[derive(Debug)]
pub struct MemoryBackend {
    shards: Box<[PaddedShard]>,
    shard_capacity: usize,
    shard_hasher: RandomState,
}

/// A shard on cache lines of its own: neighbouring locks sharing a line would make two cores
/// fight over it even when they touch different shards.
#[derive(Debug, Default)]
#[repr(align(128))]
struct PaddedShard(Mutex<Shard>);

#[derive(Debug, Default)]
struct Shard {
    entries: HashMap<String, Entry>,
    // Counted under the shard's lock rather than in shared atomics: two cores bumping one counter
    // would fight over its cache line on every call.
    evictions: u64,
    getdels: u64,
}

#[derive(Debug)]
struct Entry {
    value: Vec<u8>,
    expires_at: Instant,
}

impl MemoryBackend {
    /// A backend with the given capacity and sharding. A zero capacity is refused.
    pub fn new(config: MemoryConfig) -> Result<Self, CacheError> {
        if config.capacity == 0 {
            return Err(CacheError::invalid(
                "memory cache capacity must be positive",
            ));
        }
        let shard_count = config.shards.clamp(1, config.capacity);
        let shards = (0..shard_count)
            .map(|_| PaddedShard::default())
            .collect::<Vec<_>>()
            .into_boxed_slice();
        Ok(Self {
            shards,
            shard_capacity: config.capacity.div_ceil(shard_count),
            shard_hasher: RandomState::new(),
        })
    }

    /// Entries held right now, including expired ones not yet dropped.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| lock(shard).entries.len())
            .sum()
    }

    /// True when no entries are held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn shard(&self, key: &str) -> MutexGuard<'_, Shard> {
        lock(&self.shards[self.shard_index(key)])
    }

    fn shard_index(&self, key: &str) -> usize {
        // The modulo keeps the index below shards.len(), which fits in usize, so the cast back
        // cannot truncate.
        (self.shard_hasher.hash_one(key) % self.shards.len() as u64) as usize
    }

    fn get_del_now(&self, key: &str) -> Option<Vec<u8>> {
        let now = Instant::now();
        let mut shard = self.shard(key);
        shard.getdels += 1;
        let entry = shard.entries.remove(key)?;
        (entry.expires_at > now).then_some(entry.value)
    }
}

/// A counter's value, stored as decimal text as Redis stores it.
fn counted(value: &[u8]) -> Result<u64, CacheError> {
    std::str::from_utf8(value)
        .ok()
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| CacheError::invalid("the value at this key is not a counter"))
}

/// A rate limit's stored TAT, `micros:remainder`.
fn stored_tat(value: &[u8]) -> Result<crate::rate::Stored, CacheError> {
    let text = std::str::from_utf8(value).unwrap_or_default();
    let mut parts = text.splitn(3, ':').map(str::parse::<u64>);
    match (parts.next(), parts.next(), parts.next()) {
        (Some(Ok(micros)), Some(Ok(remainder)), Some(Ok(quota))) => Ok(crate::rate::Stored {
            tat: crate::rate::Tat { micros, remainder },
            quota,
        }),
        _ => Err(CacheError::invalid(
            "the value at this key is not a rate limit",
        )),
    }
}

/// The data under a shard's lock stays consistent even if a holder panicked (every critical
/// section is a single map operation), so a poisoned lock is used as is.
fn lock(shard: &PaddedShard) -> MutexGuard<'_, Shard> {
    shard.0.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shard {
    /// Make room for one new key: drop expired entries in a sample, else evict the sampled entry
    /// closest to expiry.
    fn make_room(&mut self, now: Instant) {
        let mut expired = Vec::new();
        let mut soonest: Option<(&String, Instant)> = None;
        for (key, entry) in self.entries.iter().take(EVICTION_SAMPLE) {
            if entry.expires_at <= now {
                expired.push(key.clone());
            } else if soonest.is_none_or(|(_, at)| entry.expires_at < at) {
                soonest = Some((key, entry.expires_at));
            }
        }
        if expired.is_empty() {
            if let Some((key, _)) = soonest {
                let key = key.clone();
                self.entries.remove(&key);
                self.evictions += 1;
            }
        } else {
            for key in expired {
                self.entries.remove(&key);
            }
        }
    }
}

#[async_trait]
impl CacheBackend for MemoryBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Memory
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        let now = Instant::now();
        let mut shard = self.shard(key);
        match shard.entries.get(key) {
            Some(entry) if entry.expires_at > now => Ok(Some(entry.value.clone())),
            Some(_) => {
                shard.entries.remove(key);
                Ok(None)
            }
            None => Ok(None),
        }
    }

    async fn set(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<(), CacheError> {
        validate_ttl(ttl)?;
        let now = Instant::now();
        let expires_at = now
            .checked_add(ttl)
            .ok_or_else(|| CacheError::invalid(format!("TTL {ttl:?} overflows the clock")))?;
        let mut shard = self.shard(key);
        if !shard.entries.contains_key(key) && shard.entries.len() >= self.shard_capacity {
            shard.make_room(now);
        }
        shard
            .entries
            .insert(key.to_owned(), Entry { value, expires_at });
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<bool, CacheError> {
        let now = Instant::now();
        let removed = self.shard(key).entries.remove(key);
        Ok(removed.is_some_and(|entry| entry.expires_at > now))
    }

    async fn get_del(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        Ok(self.get_del_now(key))
    }

    async fn count(&self, key: &str, window: Duration) -> Result<u64, CacheError> {
        validate_ttl(window)?;
        let now = Instant::now();
        let mut shard = self.shard(key);
        let current = match shard.entries.get(key) {
            Some(entry) if entry.expires_at > now => {
                Some((counted(&entry.value)?, entry.expires_at))
            }
            _ => None,
        };
        let (count, expires_at) = match current {
            Some((count, expires_at)) => (count.saturating_add(1), expires_at),
            None => {
                let expires_at = now.checked_add(window).ok_or_else(|| {
                    CacheError::invalid(format!("window {window:?} overflows the clock"))
                })?;
                if !shard.entries.contains_key(key) && shard.entries.len() >= self.shard_capacity {
                    shard.make_room(now);
                }
                (1, expires_at)
            }
        };
        let value = count.to_string().into_bytes();
        shard
            .entries
            .insert(key.to_owned(), Entry { value, expires_at });
        Ok(count)
    }

    async fn gcra(
        &self,
        keys: &[String],
        links: &[crate::rate::Link],
        now_us: Option<u64>,
    ) -> Result<Vec<crate::rate::Gcra>, CacheError> {
        let now_us = now_us.unwrap_or_else(|| {
            let since = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default();
            u64::try_from(since.as_micros()).unwrap_or(u64::MAX)
        });
        let now = Instant::now();
        // Every shard the buckets live in, locked in index order (so two decisions never wait
        // on each other's second lock).
        let mut indices: Vec<usize> = keys.iter().map(|key| self.shard_index(key)).collect();
        indices.sort_unstable();
        indices.dedup();
        let mut shards: Vec<(usize, MutexGuard<'_, Shard>)> = indices
            .into_iter()
            .map(|index| (index, lock(&self.shards[index])))
            .collect();
        // Each bucket's place among the locked shards.
        let positions: Vec<usize> = keys
            .iter()
            .map(|key| {
                let index = self.shard_index(key);
                shards
                    .iter()
                    .position(|(locked, _)| *locked == index)
                    .expect("every bucket's shard is locked")
            })
            .collect();
        let mut stored = Vec::with_capacity(keys.len());
        for ((key, link), position) in keys.iter().zip(links).zip(&positions) {
            let shard = &shards[*position].1;
            stored.push(match shard.entries.get(key.as_str()) {
                Some(entry) if entry.expires_at > now => {
                    Some(stored_tat(&entry.value)?.in_units_of(&link.rate))
                }
                _ => None,
            });
        }
        let steps = crate::rate::step_all(&stored, links, now_us);
        if steps.iter().all(|gcra| gcra.allowed) {
            // Room first, for every new bucket, then the writes: making room while writing could
            // evict a bucket this decision just wrote, counting it in some buckets only.
            for (key, position) in keys.iter().zip(&positions) {
                let shard = &mut shards[*position].1;
                if !shard.entries.contains_key(key.as_str())
                    && shard.entries.len() >= self.shard_capacity
                {
                    shard.make_room(now);
                }
            }
            for (((key, link), position), gcra) in
                keys.iter().zip(links).zip(&positions).zip(&steps)
            {
                let ahead = Duration::from_micros(gcra.tat.micros.saturating_sub(now_us))
                    + Duration::from_millis(1);
                let value = format!(
                    "{}:{}:{}",
                    gcra.tat.micros,
                    gcra.tat.remainder,
                    link.rate.quota()
                )
                .into_bytes();
                shards[*position].1.entries.insert(
                    key.clone(),
                    Entry {
                        value,
                        expires_at: now + ahead,
                    },
                );
            }
        }
        Ok(steps)
    }

    async fn ping(&self) -> Result<(), CacheError> {
        Ok(())
    }

    async fn stats(&self) -> BackendStats {
        let (mut getdels, mut evictions) = (0, 0);
        for shard in self.shards.iter() {
            let shard = lock(shard);
            getdels += shard.getdels;
            evictions += shard.evictions;
        }
        BackendStats {
            getdel_by_path: vec![(GetDelPath::Memory, getdels)],
            lua_fallbacks: 0,
            memory_evictions: evictions,
            redis_evicted_keys: None,
        }
    }
}
