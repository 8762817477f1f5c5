//! Coalescing of concurrent decisions on one bucket.
//!
//! While decisions on a bucket are in flight to Redis, later decisions on the same bucket from
//! this process queue up; a driver task (one per bucket, while it has callers) takes the whole
//! queue as one call of `n` decisions, made in Redis one after another in arrival order, and
//! sends each caller its own. At load this turns many round trips (and many script runs, which
//! cost Redis most of its time) into few, and it changes no outcome: every decision is still made
//! in Redis, atomically, on Redis's clock, as if the batch had arrived back to back.
//!
//! The driver is a task of its own, so a caller that goes away (a client that disconnects) takes
//! nothing with it: the batch it was in is decided once and answered, and the queue behind it is
//! still driven. A driver that dies (a panic) forgets its bucket and drops its callers' senders,
//! so they see their decision lost instead of waiting forever.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::oneshot;

type Queue<T> = Vec<oneshot::Sender<T>>;

/// The callers waiting on each bucket `K` for decisions `T`.
pub(crate) struct Coalescer<K, T> {
    /// A bucket is present while its driver runs, with the callers queued for its next batch.
    waiting: Mutex<HashMap<K, Queue<T>>>,
}

impl<K, T> Coalescer<K, T>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    T: Send + 'static,
{
    pub(crate) fn new() -> Self {
        Coalescer {
            waiting: Mutex::new(HashMap::new()),
        }
    }

    fn waiting(&self) -> MutexGuard<'_, HashMap<K, Queue<T>>> {
        // Nothing panics while holding it, and a map of senders is whole at every step.
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// This caller's decision on `bucket`, made in a batch by `decide(n)`, which returns `n`
    /// decisions in the order of its callers; `None` if the driver died before deciding it.
    /// `decide` is used only when this caller starts the bucket's driver.
    pub(crate) async fn run<F, Fut>(self: &Arc<Self>, bucket: K, decide: F) -> Option<T>
    where
        F: Fn(usize) -> Fut + Send + 'static,
        Fut: Future<Output = Vec<T>> + Send + 'static,
    {
        let (sender, receiver) = oneshot::channel();
        let start = {
            let mut waiting = self.waiting();
            match waiting.get_mut(&bucket) {
                Some(queue) => {
                    queue.push(sender);
                    None
                }
                None => {
                    waiting.insert(bucket.clone(), Vec::new());
                    Some(sender)
                }
            }
        };
        if let Some(first) = start {
            let driver = Driver {
                coalescer: Arc::clone(self),
                bucket,
                finished: false,
            };
            tokio::spawn(driver.drive(first, decide));
        }
        receiver.await.ok()
    }
}

/// The task that decides a bucket's batches until no caller waits on it.
struct Driver<K: Hash + Eq + Clone, T> {
    coalescer: Arc<Coalescer<K, T>>,
    bucket: K,
    /// Set when it forgot its bucket itself, under the lock that saw the queue empty (a newer
    /// driver may own the bucket by the time this one drops).
    finished: bool,
}

impl<K, T> Driver<K, T>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    T: Send + 'static,
{
    async fn drive<F, Fut>(mut self, first: oneshot::Sender<T>, decide: F)
    where
        F: Fn(usize) -> Fut,
        Fut: Future<Output = Vec<T>>,
    {
        let mut batch = vec![first];
        loop {
            let decisions = decide(batch.len()).await;
            for (caller, decision) in batch.drain(..).zip(decisions) {
                // A caller that went away no longer needs its answer.
                let _ = caller.send(decision);
            }
            let mut waiting = self.coalescer.waiting();
            match waiting.get_mut(&self.bucket) {
                Some(queue) if !queue.is_empty() => batch = std::mem::take(queue),
                _ => {
                    // Nobody waits: forget the bucket under the same lock, so a caller that
                    // comes next starts a driver of its own.
                    waiting.remove(&self.bucket);
                    drop(waiting);
                    self.finished = true;
                    return;
                }
            }
        }
    }
}

impl<K: Hash + Eq + Clone, T> Drop for Driver<K, T> {
    /// A driver that dies (a panic) forgets its bucket: its queued callers see their senders
    /// dropped, and the next caller starts a new driver.
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        self.coalescer
            .waiting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.bucket);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    /// A "server" that numbers decisions in the order it makes them, and counts its calls.
    #[derive(Default)]
    struct Counter {
        next: AtomicUsize,
        calls: AtomicUsize,
    }

    impl Counter {
        async fn decide(self: Arc<Self>, n: usize) -> Vec<usize> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(5)).await;
            (0..n)
                .map(|_| self.next.fetch_add(1, Ordering::SeqCst))
                .collect()
        }
    }

    fn caller(
        coalescer: &Arc<Coalescer<&'static str, usize>>,
        counter: &Arc<Counter>,
    ) -> tokio::task::JoinHandle<Option<usize>> {
        let (coalescer, counter) = (Arc::clone(coalescer), Arc::clone(counter));
        tokio::spawn(async move {
            coalescer
                .run("bucket", move |n| Arc::clone(&counter).decide(n))
                .await
        })
    }

    #[tokio::test]
    async fn concurrent_callers_each_get_one_decision_in_fewer_calls() {
        let coalescer = Arc::new(Coalescer::new());
        let counter = Arc::new(Counter::default());
        let callers: Vec<_> = (0..100).map(|_| caller(&coalescer, &counter)).collect();
        let mut decisions: Vec<usize> = futures_util::future::join_all(callers)
            .await
            .into_iter()
            .map(|joined| joined.unwrap().expect("decided"))
            .collect();
        decisions.sort_unstable();
        assert_eq!(
            decisions,
            (0..100).collect::<Vec<_>>(),
            "each decision once"
        );
        assert!(counter.calls.load(Ordering::SeqCst) < 100);
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(coalescer.waiting().is_empty(), "no bucket left behind");
    }

    #[tokio::test]
    async fn callers_that_go_away_cost_no_one_else_a_decision() {
        let coalescer = Arc::new(Coalescer::new());
        let counter = Arc::new(Counter::default());
        let first = caller(&coalescer, &counter);
        tokio::time::sleep(Duration::from_millis(1)).await;
        let queued: Vec<_> = (0..10).map(|_| caller(&coalescer, &counter)).collect();
        tokio::time::sleep(Duration::from_millis(1)).await;
        // The first caller and half the queue go away mid-flight.
        first.abort();
        for gone in &queued[..5] {
            gone.abort();
        }
        for stayed in queued.into_iter().skip(5) {
            tokio::time::timeout(Duration::from_secs(5), stayed)
                .await
                .expect("every remaining caller is answered")
                .unwrap()
                .expect("decided");
        }
        // One decision each, made once: 1 for the first batch, 10 for the queue.
        assert_eq!(counter.next.load(Ordering::SeqCst), 11);
        let late = caller(&coalescer, &counter).await.unwrap();
        assert_eq!(late, Some(11), "the bucket still works");
    }

    #[tokio::test]
    async fn a_driver_that_dies_answers_none_and_forgets_its_bucket() {
        let coalescer: Arc<Coalescer<&'static str, usize>> = Arc::new(Coalescer::new());
        let decision = tokio::spawn({
            let coalescer = Arc::clone(&coalescer);
            async move {
                coalescer
                    .run("bucket", |_| async {
                        panic!("the backend's code panicked")
                    })
                    .await
            }
        })
        .await
        .unwrap();
        assert_eq!(decision, None);
        assert!(coalescer.waiting().is_empty());
    }
}
