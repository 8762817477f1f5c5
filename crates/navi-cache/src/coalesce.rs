//! Coalescing of concurrent decisions on one bucket.
//!
//! While a decision on a bucket is in flight to Redis, later decisions on the same bucket from
//! this process queue up; when it returns, the first of them leads the queue to Redis as one call
//! of `n` decisions, made there one after another in arrival order, and hands each its own. At
//! load this turns many round trips (and many script runs, which cost Redis most of its time) into
//! few, and it changes no outcome: every decision is still made in Redis, atomically, on Redis's
//! clock, as if the batch had arrived back to back. A caller that is alone waits for nothing.
//!
//! Every queued caller is answered or made leader, even when a leader is cancelled mid-flight
//! (its drop hands the lead on); two leaders for one bucket can exist only after such a hand-off
//! raced a newcomer, which is still correct, since each of their calls is atomic in Redis.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard, PoisonError};

use tokio::sync::oneshot;

enum Turn<T> {
    /// The decision made for this caller.
    Decided(T),
    /// This caller leads: it decides for itself and these followers.
    Lead(Vec<oneshot::Sender<Turn<T>>>),
}

type Queue<T> = Vec<oneshot::Sender<Turn<T>>>;

/// The callers waiting on each bucket `K` for decisions `T`.
pub(crate) struct Coalescer<K, T> {
    /// A bucket is present while a leader is in flight for it, with the callers queued behind.
    waiting: Mutex<HashMap<K, Queue<T>>>,
}

impl<K: Hash + Eq + Clone, T> Coalescer<K, T> {
    pub(crate) fn new() -> Self {
        Coalescer {
            waiting: Mutex::new(HashMap::new()),
        }
    }

    fn waiting(&self) -> MutexGuard<'_, HashMap<K, Queue<T>>> {
        // Nothing panics while holding it, and a map of senders is whole at every step.
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// This caller's decision on `bucket`: made by `decide(n)`, which must return `n` decisions
    /// in order (the caller's first), when this caller leads; else by the leader it queued behind.
    pub(crate) async fn run<F, Fut>(&self, bucket: K, decide: F) -> T
    where
        F: FnOnce(usize) -> Fut,
        Fut: Future<Output = Vec<T>>,
    {
        let queued = {
            let mut waiting = self.waiting();
            match waiting.get_mut(&bucket) {
                Some(queue) => {
                    let (sender, receiver) = oneshot::channel();
                    queue.push(sender);
                    Some(receiver)
                }
                None => {
                    waiting.insert(bucket.clone(), Vec::new());
                    None
                }
            }
        };
        let followers = match queued {
            None => Vec::new(),
            Some(receiver) => match receiver.await {
                Ok(Turn::Decided(decision)) => return decision,
                Ok(Turn::Lead(followers)) => followers,
                // Every sender is answered or handed on before it drops; were one lost anyway,
                // leading alone is still correct (see the module docs).
                Err(_) => Vec::new(),
            },
        };
        let mut leader = Leader {
            coalescer: self,
            bucket,
            followers,
        };
        let decisions = decide(1 + leader.followers.len()).await;
        leader.answer(decisions)
    }

    /// Hands the lead of `bucket` to the first live caller queued on it, or forgets the bucket
    /// when none is.
    fn hand_on(&self, bucket: &K) {
        loop {
            let mut queue = {
                let mut waiting = self.waiting();
                match waiting.get_mut(bucket) {
                    Some(queue) if !queue.is_empty() => std::mem::take(queue),
                    _ => {
                        waiting.remove(bucket);
                        return;
                    }
                }
            };
            while !queue.is_empty() {
                let next = queue.remove(0);
                match next.send(Turn::Lead(queue)) {
                    Ok(()) => return,
                    // That caller is gone: the queue comes back, for the one after it.
                    Err(Turn::Lead(rest)) => queue = rest,
                    Err(Turn::Decided(_)) => return,
                }
            }
        }
    }
}

/// A leader in flight: answers its followers and hands the lead on, also when dropped unfinished
/// (cancelled), in which case its followers go back to the front of the queue.
struct Leader<'a, K: Hash + Eq + Clone, T> {
    coalescer: &'a Coalescer<K, T>,
    bucket: K,
    followers: Queue<T>,
}

impl<K: Hash + Eq + Clone, T> Leader<'_, K, T> {
    fn answer(&mut self, decisions: Vec<T>) -> T {
        let mut decisions = decisions.into_iter();
        let own = decisions
            .next()
            .expect("a batch of n decisions holds the leader's");
        for (follower, decision) in std::mem::take(&mut self.followers)
            .into_iter()
            .zip(decisions)
        {
            // A follower that is gone no longer needs its answer.
            let _ = follower.send(Turn::Decided(decision));
        }
        own
    }
}

impl<K: Hash + Eq + Clone, T> Drop for Leader<'_, K, T> {
    fn drop(&mut self) {
        let unanswered = std::mem::take(&mut self.followers);
        if !unanswered.is_empty() {
            let mut waiting = self.coalescer.waiting();
            let queue = waiting.entry(self.bucket.clone()).or_default();
            let behind = std::mem::replace(queue, unanswered);
            queue.extend(behind);
        }
        self.coalescer.hand_on(&self.bucket);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    /// A "server" that numbers decisions in the order it makes them, and counts its calls.
    #[derive(Default)]
    struct Counter {
        next: AtomicUsize,
        calls: AtomicUsize,
    }

    impl Counter {
        async fn decide(&self, n: usize) -> Vec<usize> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(5)).await;
            (0..n)
                .map(|_| self.next.fetch_add(1, Ordering::SeqCst))
                .collect()
        }
    }

    #[tokio::test]
    async fn concurrent_callers_each_get_one_decision_in_fewer_calls() {
        let coalescer = Arc::new(Coalescer::<&str, usize>::new());
        let counter = Arc::new(Counter::default());
        let callers = (0..100).map(|_| {
            let (coalescer, counter) = (Arc::clone(&coalescer), Arc::clone(&counter));
            tokio::spawn(async move { coalescer.run("bucket", |n| counter.decide(n)).await })
        });
        let mut decisions: Vec<usize> = futures_util::future::join_all(callers)
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        decisions.sort_unstable();
        assert_eq!(
            decisions,
            (0..100).collect::<Vec<_>>(),
            "each decision once"
        );
        assert!(counter.calls.load(Ordering::SeqCst) < 100);
        assert!(coalescer.waiting().is_empty(), "no bucket left behind");
    }

    #[tokio::test]
    async fn a_cancelled_leader_hands_its_followers_on() {
        let coalescer = Arc::new(Coalescer::<&str, usize>::new());
        let counter = Arc::new(Counter::default());
        // The first caller leads and is cancelled while its call is in flight.
        let leader = {
            let (coalescer, counter) = (Arc::clone(&coalescer), Arc::clone(&counter));
            tokio::spawn(async move { coalescer.run("bucket", |n| counter.decide(n)).await })
        };
        tokio::time::sleep(Duration::from_millis(1)).await;
        let followers: Vec<_> = (0..10)
            .map(|_| {
                let (coalescer, counter) = (Arc::clone(&coalescer), Arc::clone(&counter));
                tokio::spawn(async move { coalescer.run("bucket", |n| counter.decide(n)).await })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(1)).await;
        leader.abort();
        for follower in followers {
            tokio::time::timeout(Duration::from_secs(5), follower)
                .await
                .expect("every follower is answered")
                .unwrap();
        }
        assert!(coalescer.waiting().is_empty());
    }
}
