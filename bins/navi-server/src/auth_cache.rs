//! The per-instance authentication cache: key records by prefix, and org contexts (scope and org
//! row) by user, org and whether the caller's key is pinned, each kept for
//! `NAVI_AUTH_CACHE_TTL_MS` (default 5 s; 0 turns it off).
//!
//! It never weakens a check: the secret, revocation flag and expiry of a cached key are verified
//! on every request, and failures are never cached. Changes made through this instance (revoking
//! or rotating a key, changing or removing a member) start a new generation at once, so they take
//! effect immediately here; other instances see them within the TTL.
//!
//! Generations, not the cache's own invalidation, decide what is current: a reader notes the
//! generation before it reads the database, and an entry stored under an older generation than the
//! current one is never returned, so a read that raced a revocation cannot bring the old record
//! back.

use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use moka::sync::Cache;
use navi_tenancy::api_keys::KeyRecord;
use navi_tenancy::orgs::OrgRow;
use navi_tenancy::TenantScope;

const CAPACITY: u64 = 100_000;

/// A cache whose entries are valid only in the generation they were read in (also the org quota
/// cache's, `rate_limits::OrgQuotas`).
pub(crate) struct Generational<K, V> {
    entries: Option<Cache<K, (u64, V)>>,
    generation: AtomicU64,
}

impl<K, V> Generational<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    pub(crate) fn new(ttl: Duration) -> Self {
        Generational {
            entries: (!ttl.is_zero()).then(|| {
                Cache::builder()
                    .max_capacity(CAPACITY)
                    .time_to_live(ttl)
                    .build()
            }),
            generation: AtomicU64::new(0),
        }
    }

    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    pub(crate) fn get(&self, key: &K) -> Option<V> {
        let (generation, value) = self.entries.as_ref()?.get(key)?;
        (generation == self.generation()).then_some(value)
    }

    /// Stores `value`, read from the database in `generation`.
    pub(crate) fn put(&self, key: K, generation: u64, value: V) {
        if let Some(entries) = &self.entries {
            if generation == self.generation() {
                entries.insert(key, (generation, value));
            }
        }
    }

    pub(crate) fn forget_all(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        if let Some(entries) = &self.entries {
            entries.invalidate_all();
        }
    }
}

/// A caller's resolved org context: their scope and the org's row.
pub type OrgContext = Arc<(TenantScope, OrgRow)>;

/// See the module docs.
#[derive(Clone)]
pub struct AuthCache {
    keys: Arc<Generational<String, Arc<KeyRecord>>>,
    contexts: Arc<Generational<(String, String, bool), OrgContext>>,
}

impl std::fmt::Debug for AuthCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthCache")
            .field("enabled", &self.keys.entries.is_some())
            .finish_non_exhaustive()
    }
}

impl AuthCache {
    /// A cache whose entries live `ttl`; a zero `ttl` caches nothing.
    pub fn new(ttl: Duration) -> AuthCache {
        AuthCache {
            keys: Arc::new(Generational::new(ttl)),
            contexts: Arc::new(Generational::new(ttl)),
        }
    }

    /// The generation of key records: note it before reading a record from the database.
    pub fn key_generation(&self) -> u64 {
        self.keys.generation()
    }

    /// The cached record of the key with `prefix`.
    pub fn key(&self, prefix: &str) -> Option<Arc<KeyRecord>> {
        self.keys.get(&prefix.to_owned())
    }

    /// Remembers a key record read in `generation`.
    pub fn put_key(&self, prefix: &str, generation: u64, record: Arc<KeyRecord>) {
        self.keys.put(prefix.to_owned(), generation, record);
    }

    /// The generation of contexts: note it before resolving one from the database.
    pub fn context_generation(&self) -> u64 {
        self.contexts.generation()
    }

    /// The cached context of `user_id` in `org_id`, through a pinned key or a user key.
    pub fn context(&self, user_id: &str, org_id: &str, pinned: bool) -> Option<OrgContext> {
        self.contexts
            .get(&(user_id.to_owned(), org_id.to_owned(), pinned))
    }

    /// Remembers a context resolved in `generation`.
    pub fn put_context(&self, generation: u64, context: OrgContext) {
        let key = (
            context.0.user_id().to_owned(),
            context.0.org_id().to_owned(),
            context.0.pinned(),
        );
        self.contexts.put(key, generation, context);
    }

    /// Forgets every key record: after a revocation or rotation on this instance.
    pub fn forget_keys(&self) {
        self.keys.forget_all();
    }

    /// Forgets every context: after a role change or removal on this instance.
    pub fn forget_contexts(&self) {
        self.contexts.forget_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_read_before_a_forget_is_never_served_after_it() {
        let cache: Generational<String, u32> = Generational::new(Duration::from_secs(60));
        let before = cache.generation();
        cache.put("k".into(), before, 1);
        assert_eq!(cache.get(&"k".into()), Some(1));
        cache.forget_all();
        assert_eq!(cache.get(&"k".into()), None);
        // A reader that started before the forget finishes after it: its value is not stored.
        cache.put("k".into(), before, 1);
        assert_eq!(cache.get(&"k".into()), None);
        cache.put("k".into(), cache.generation(), 2);
        assert_eq!(cache.get(&"k".into()), Some(2));
    }

    #[test]
    fn a_zero_ttl_caches_nothing() {
        let cache: Generational<String, u32> = Generational::new(Duration::ZERO);
        cache.put("k".into(), cache.generation(), 1);
        assert_eq!(cache.get(&"k".into()), None);
    }
}
