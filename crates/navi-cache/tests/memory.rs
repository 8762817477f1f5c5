//! The memory backend: the conformance suite, plus its capacity bound.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{unique_prefix, Fixture};
use navi_cache::{Cache, CacheBackend, MemoryBackend, MemoryConfig};

async fn memory_fixture(test: &str) -> Fixture {
    let backend = MemoryBackend::new(MemoryConfig::default()).unwrap();
    Fixture {
        cache: Cache::new(Arc::new(backend), unique_prefix(test)),
        server: None,
    }
}

conformance_suite!(memory_fixture);

#[tokio::test]
async fn getdel_is_counted_on_the_memory_path() {
    let fixture = memory_fixture("path").await;
    let cache = fixture.cache;
    cache
        .set_json("a", &1u32, Duration::from_secs(60))
        .await
        .unwrap();
    cache.getdel_json::<u32>("a").await.unwrap();
    cache.getdel_json::<u32>("a").await.unwrap();
    let metrics = cache.metrics().await;
    assert_eq!(metrics.getdel_for("memory"), 2);
    assert_eq!(metrics.getdel_for("getdel"), 0);
    assert_eq!(metrics.getdel_for("lua"), 0);
    assert_eq!(metrics.redis_evicted_keys, None);
}

#[tokio::test]
async fn full_memory_backend_evicts_and_counts() {
    let backend = Arc::new(
        MemoryBackend::new(MemoryConfig {
            capacity: 10,
            shards: 1,
        })
        .unwrap(),
    );
    let cache = Cache::new(backend.clone(), "");
    for index in 0..15u32 {
        cache
            .set_json(&format!("k{index}"), &index, Duration::from_secs(60))
            .await
            .unwrap();
    }
    assert_eq!(backend.len(), 10);
    let metrics = cache.metrics().await;
    assert_eq!(metrics.memory_evictions, 5);
    assert_eq!(metrics.evictions_total(), 5);
    // Overwriting an existing key needs no room.
    cache
        .set_json("k14", &0u32, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(cache.metrics().await.memory_evictions, 5);
}

#[tokio::test]
async fn full_memory_backend_drops_expired_entries_before_evicting_live_ones() {
    let backend = Arc::new(
        MemoryBackend::new(MemoryConfig {
            capacity: 4,
            shards: 1,
        })
        .unwrap(),
    );
    for index in 0..4 {
        backend
            .set(
                &format!("old{index}"),
                b"1".to_vec(),
                Duration::from_millis(200),
            )
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    backend
        .set("new", b"1".to_vec(), Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(backend.stats().await.memory_evictions, 0);
    assert_eq!(backend.get("new").await.unwrap(), Some(b"1".to_vec()));
    assert!(backend.len() <= 4);
}

#[tokio::test]
async fn sharded_capacity_bounds_the_total() {
    let backend = MemoryBackend::new(MemoryConfig {
        capacity: 64,
        shards: 8,
    })
    .unwrap();
    for index in 0..1000 {
        backend
            .set(&format!("k{index}"), b"1".to_vec(), Duration::from_secs(60))
            .await
            .unwrap();
    }
    assert!(backend.len() <= 64, "held {} entries", backend.len());
    assert_eq!(
        backend.stats().await.memory_evictions,
        1000 - backend.len() as u64
    );
}

#[test]
fn zero_capacity_is_refused() {
    let err = MemoryBackend::new(MemoryConfig {
        capacity: 0,
        shards: 4,
    })
    .unwrap_err();
    assert!(matches!(err, navi_cache::CacheError::Invalid(_)));
}

/// Two OS threads hammering the same few keys through the memory path's locks: every value set
/// is taken out exactly once.
#[test]
fn concurrent_getdel_on_threads_takes_each_value_once() {
    let backend = Arc::new(MemoryBackend::new(MemoryConfig::default()).unwrap());
    let rounds = 20_000u32;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let taken = std::thread::scope(|scope| {
        let writer = scope.spawn(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            for round in 0..rounds {
                runtime
                    .block_on(backend.set(
                        &format!("k{}", round % 8),
                        round.to_le_bytes().to_vec(),
                        Duration::from_secs(60),
                    ))
                    .unwrap();
            }
        });
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let backend = backend.clone();
                scope.spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .build()
                        .unwrap();
                    let mut taken = Vec::new();
                    for round in 0..rounds {
                        if let Some(value) = runtime
                            .block_on(backend.get_del(&format!("k{}", round % 8)))
                            .unwrap()
                        {
                            taken.push(u32::from_le_bytes(value.try_into().unwrap()));
                        }
                    }
                    taken
                })
            })
            .collect();
        writer.join().unwrap();
        readers
            .into_iter()
            .flat_map(|r| r.join().unwrap())
            .collect::<Vec<_>>()
    });
    // Whatever is left after the race is still there to be taken once.
    let mut all = taken;
    for key in 0..8 {
        if let Some(value) = runtime
            .block_on(backend.get_del(&format!("k{key}")))
            .unwrap()
        {
            all.push(u32::from_le_bytes(value.try_into().unwrap()));
        }
    }
    let unique: std::collections::HashSet<_> = all.iter().collect();
    assert_eq!(unique.len(), all.len(), "a value was taken twice");
}
