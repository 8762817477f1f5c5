//! Coalescing of concurrent decisions on one bucket.
//!
//! A decision on a bucket nobody is deciding on goes to Redis at once. While it is in flight,
//! later decisions on the same bucket from this process queue up; then a driver task (one per
//! bucket, while it has callers) takes the whole queue as one call of `n` decisions, made in Redis one after another in arrival order, and
//! sends each caller its own. At load this turns many round trips (and many script runs, which
//! cost Redis most of its time) into few, and it changes no outcome: every decision is still made
//! in Redis, atomically, on Redis's clock, as if the batch had arrived back to back.
//!
//! The driver is a task of its own, so a caller that goes away (a client that disconnects) takes
//! nothing with it: the batch it was in is decided once and answered, and the queue behind it is
//! still driven; a first caller that goes away mid-flight hands its queue to a driver as it
//! drops. A driver that dies (a panic) forgets its bucket and drops its callers' senders,
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

    /// This caller's decision on `bucket`, made by `decide(n)`, which returns `n` decisions in
    /// the order of its callers; `None` if it was lost (a driver that died).
    ///
    /// A caller that finds no decision in flight on its bucket makes its own at once, alone (no
    /// task, no hand-off: the uncontended path costs what a plain call does); callers that come
    /// meanwhile queue, and when it is done (or cancelled) a driver task takes them.
    pub(crate) async fn run<F, Fut>(self: &Arc<Self>, bucket: K, decide: F) -> Option<T>
    where
        F: Fn(usize) -> Fut + Clone + Send + 'static,
        Fut: Future<Output = Vec<T>> + Send + 'static,
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
        if let Some(receiver) = queued {
            return receiver.await.ok();
        }
        let mut first = First {
            coalescer: Arc::clone(self),
            bucket: Some(bucket),
            decide,
        };
        // The future owns what it needs: `first` can hand the closure on if this is cancelled.
        let own = (first.decide)(1).await.pop();
        first.hand_on();
        own
    }

    /// After a decision on `bucket` made outside a driver: a driver takes the callers queued
    /// meanwhile, or, with none, the bucket is forgotten (under the lock that saw it empty).
    fn hand_on<F, Fut>(self: &Arc<Self>, bucket: K, decide: F)
    where
        F: Fn(usize) -> Fut + Send + 'static,
        Fut: Future<Output = Vec<T>> + Send + 'static,
    {
        let mut waiting = self.waiting();
        let queue = match waiting.get_mut(&bucket) {
            Some(queue) if !queue.is_empty() => std::mem::take(queue),
            _ => {
                waiting.remove(&bucket);
                return;
            }
        };
        drop(waiting);
        let driver = Driver {
            coalescer: Arc::clone(self),
            bucket,
            finished: false,
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(driver.drive(queue, decide));
            }
            // Outside a runtime (shutting down): the dropped driver forgets the bucket, and the
            // queued callers see their decision lost rather than wait.
            Err(_) => drop((driver, queue)),
        }
    }
}

/// The first caller on an idle bucket, deciding for itself: hands the bucket on when done, and
/// also when cancelled mid-flight (its drop), so the callers queued behind it are never left
/// waiting and never decided twice.
struct First<K, T, F, Fut>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    T: Send + 'static,
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Vec<T>> + Send + 'static,
{
    coalescer: Arc<Coalescer<K, T>>,
    /// `None` once handed on.
    bucket: Option<K>,
    decide: F,
}

impl<K, T, F, Fut> First<K, T, F, Fut>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    T: Send + 'static,
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Vec<T>> + Send + 'static,
{
    fn hand_on(&mut self) {
        if let Some(bucket) = self.bucket.take() {
            self.coalescer.hand_on(bucket, self.decide.clone());
        }
    }
}

impl<K, T, F, Fut> Drop for First<K, T, F, Fut>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    T: Send + 'static,
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Vec<T>> + Send + 'static,
{
    fn drop(&mut self) {
        self.hand_on();
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
    async fn drive<F, Fut>(mut self, mut batch: Queue<T>, decide: F)
    where
        F: Fn(usize) -> Fut,
        Fut: Future<Output = Vec<T>>,
    {
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
        let mut answers = Vec::new();
        for stayed in queued.into_iter().skip(5) {
            let answer = tokio::time::timeout(Duration::from_secs(5), stayed)
                .await
                .expect("every remaining caller is answered")
                .unwrap()
                .expect("decided");
            answers.push(answer);
        }
        answers.sort_unstable();
        answers.dedup();
        assert_eq!(answers.len(), 5, "each its own decision");
        // At most one decision per queued caller (some that went away may have gone before
        // queueing); the first caller's, cancelled before this "server" made it, is made for
        // no one.
        let made = counter.next.load(Ordering::SeqCst);
        assert!((5..=10).contains(&made), "{made} decisions");
        let late = caller(&coalescer, &counter).await.unwrap();
        assert_eq!(late, Some(made), "the bucket still works");
    }

    #[tokio::test]
    async fn a_driver_that_dies_answers_none_and_forgets_its_bucket() {
        let coalescer: Arc<Coalescer<&'static str, usize>> = Arc::new(Coalescer::new());
        // The first caller's decision is made; the batch after it panics.
        let decide = |n: usize| async move {
            assert_eq!(n, 1, "the backend's code panicked");
            tokio::time::sleep(Duration::from_millis(5)).await;
            vec![0]
        };
        let spawn = || {
            let coalescer = Arc::clone(&coalescer);
            tokio::spawn(async move { coalescer.run("bucket", decide).await })
        };
        let first = spawn();
        tokio::time::sleep(Duration::from_millis(1)).await;
        let queued = [spawn(), spawn()];
        assert_eq!(first.await.unwrap(), Some(0));
        for caller in queued {
            assert_eq!(caller.await.unwrap(), None, "told, not left waiting");
        }
        assert!(coalescer.waiting().is_empty());
    }
}
