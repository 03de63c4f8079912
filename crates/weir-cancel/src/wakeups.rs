//! How one `cancel` wakes the waiters of the nodes it has just cancelled.
//!
//! Every waiter is woken, always; what this file chooses is *from where and
//! when*, because on tokio's multi-thread scheduler that decides how many
//! worker threads have to be woken up (`docs/profiling.md` §13, §18, §19):
//!
//! * **In a task on a multi-thread runtime** (the usual canceller), waking
//!   n waiters one by one puts the first in the worker's LIFO slot and
//!   pushes each later one to its run queue, and every push checks for a
//!   parked worker to unpark. That system call takes 5–10 µs on a VM; in
//!   that time the unparked worker steals the one task there is, runs it
//!   and parks again, so the next push unparks it again: a chain of up to
//!   n − 1 unparks, each on the canceller's thread. So with two or more
//!   waiters the wake-ups are *deferred*: handed to the worker the way
//!   `tokio::task::yield_now` hands it its own task, and made when that
//!   worker next runs out of tasks (or at its next maintenance tick, every
//!   61 polls by default). tokio makes deferred wake-ups with the worker's
//!   parker taken out, so none of them unparks anyone; it then unparks at
//!   most one idle worker, which steals half. The cancelled flag is set
//!   before `cancel` returns; only the wake-ups wait, and a canceller that
//!   awaits anything (the join of the tasks it cancelled, say) lets them
//!   run at once.
//! * **On a thread that is not a worker but is in a multi-thread runtime's
//!   context** (`#[tokio::main]`'s body in `block_on`, or after
//!   `Runtime::enter`), each wake-up would go through the injection queue
//!   and unpark a worker, with the same chain. The wake-ups are handed to
//!   one task spawned on that runtime (a relay), which makes them from a
//!   worker.
//! * **Anywhere else** (off any runtime, on a current-thread runtime, or
//!   with fewer than two waiters) the canceller wakes them itself.
//!
//! Wake-ups are deferred only when every waiter was first polled inside a
//! tokio task: a waiter on a plain thread or another executor is woken at
//! once (by the canceller, or by the relay), so that a canceller that
//! blocks its thread until such a waiter answers does not wait for ever.
//!
//! Whatever happens to a deferred or relayed batch, it is not lost: the
//! wake-ups are made when the last reference to the batch goes, run or not
//! (a relay task dropped by a runtime that shuts down, a deferred waker
//! dropped without being woken).

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Wake, Waker};

use tokio::sync::Notify;

/// The waiters of the nodes one `cancel` has cancelled, woken together
/// once the whole subtree is cancelled (see the module docs for how).
#[derive(Default)]
pub(crate) struct Wakeups {
    notifies: Vec<Arc<Notify>>,
    waiting: usize,
    foreign: usize,
}

impl Wakeups {
    /// Adds a cancelled node's `notify`, with the number of waiters
    /// registered in it and how many of those were first polled outside any
    /// tokio task (hints: they pick how the waiters are woken, never
    /// whether).
    pub(crate) fn add(&mut self, waiting: usize, foreign: usize, notify: &Arc<Notify>) {
        self.waiting += waiting;
        self.foreign += foreign;
        self.notifies.push(notify.clone());
    }

    /// Wakes every waiter (now, deferred, or through a relay task).
    pub(crate) fn wake(self) {
        let batch = Batch(self.notifies);
        // A waiter outside the runtime's tasks (a plain thread, another
        // executor) is never kept waiting on the canceller's worker: a
        // canceller that blocks its thread until such a waiter answers
        // would wait for ever.
        let deferrable = self.foreign == 0;
        if self.waiting >= 2 {
            match place() {
                Place::Worker if deferrable => return defer(batch),
                Place::Outside(runtime) => {
                    // The relay defers them in turn, so that they are made
                    // together once it has ended.
                    drop(runtime.spawn(async move {
                        if deferrable {
                            defer(batch);
                        }
                    }));
                    return;
                }
                _ => {}
            }
        }
        drop(batch);
    }
}

/// Where the canceller runs, as far as waking goes.
#[cfg_attr(loom, allow(dead_code))]
enum Place {
    /// In a task on a multi-thread runtime's worker.
    Worker,
    /// In a multi-thread runtime's context, not in one of its tasks.
    Outside(tokio::runtime::Handle),
    /// Off any runtime, on a current-thread runtime, or under loom.
    Elsewhere,
}

#[cfg(not(loom))]
fn place() -> Place {
    use tokio::runtime::{Handle, RuntimeFlavor};
    let Ok(runtime) = Handle::try_current() else {
        return Place::Elsewhere;
    };
    if runtime.runtime_flavor() != RuntimeFlavor::MultiThread {
        return Place::Elsewhere;
    }
    if tokio::task::try_id().is_some() {
        Place::Worker
    } else {
        Place::Outside(runtime)
    }
}

#[cfg(loom)]
fn place() -> Place {
    Place::Elsewhere
}

/// Hands `batch` to the current worker's deferred wake-ups: `yield_now`,
/// polled with a waker that owns the batch, gives the worker a clone of
/// that waker, and the batch is woken when the worker wakes (or drops) it.
/// Off a runtime's scheduler (in `block_in_place`, say) tokio wakes the
/// waker at once, and the batch goes when the local one is dropped here.
fn defer(batch: Batch) {
    let waker = Waker::from(Arc::new(Deferred(batch)));
    let yielded = pin!(tokio::task::yield_now());
    // A first poll is always pending: the worker (or nobody) holds a clone.
    let _ = yielded.poll(&mut TaskContext::from_waker(&waker));
}

/// A waker that owns a [`Batch`]: waking it (or dropping it) lets the batch
/// go once no clone is left.
struct Deferred(#[allow(dead_code)] Batch);

impl Wake for Deferred {
    fn wake(self: Arc<Self>) {
        // Dropping `self` drops the batch if this was the last clone.
    }
}

/// Wakes every waiter of its nodes when dropped.
struct Batch(Vec<Arc<Notify>>);

impl Drop for Batch {
    fn drop(&mut self) {
        for notify in &self.0 {
            notify.notify_waiters();
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// A waker that counts its wake-ups.
    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// `n` waiters registered in one `Notify`, each with the counting waker.
    fn waiters<'a>(notify: &'a Notify, n: usize, count: &Arc<Count>) -> Vec<impl Future + 'a> {
        let waker = Waker::from(count.clone());
        (0..n)
            .map(|_| {
                let mut waiter = Box::pin(notify.notified());
                let pending = waiter
                    .as_mut()
                    .poll(&mut TaskContext::from_waker(&waker))
                    .is_pending();
                assert!(pending);
                waiter
            })
            .collect()
    }

    fn woken(notify: Arc<Notify>, waiting: usize) -> Wakeups {
        woken_with(notify, waiting, 0)
    }

    fn woken_with(notify: Arc<Notify>, waiting: usize, foreign: usize) -> Wakeups {
        let mut wakeups = Wakeups::default();
        wakeups.add(waiting, foreign, &notify);
        wakeups
    }

    /// Registers `waiting` waiters (`foreign` of them counted as outside
    /// any task), wakes them from here, and returns how many wake-ups were
    /// made before `wake` returned.
    fn made_at_once(waiting: usize, foreign: usize) -> usize {
        let notify = Arc::new(Notify::new());
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let _waiters = waiters(&notify, waiting, &count);
        woken_with(notify.clone(), waiting, foreign).wake();
        count.0.load(Ordering::SeqCst)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn in_a_task_two_or_more_waiters_are_woken_when_the_worker_next_looks_for_work() {
        // The test's body runs in `block_on`, not in a task: spawn one.
        tokio::spawn(async {
            let notify = Arc::new(Notify::new());
            let count = Arc::new(Count(AtomicUsize::new(0)));
            let _waiters = waiters(&notify, 3, &count);
            woken(notify.clone(), 3).wake();
            assert_eq!(count.0.load(Ordering::SeqCst), 0, "deferred, not yet made");
            tokio::task::yield_now().await;
            assert_eq!(
                count.0.load(Ordering::SeqCst),
                3,
                "all made once it yielded"
            );
        })
        .await
        .expect("the canceller task");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn in_a_task_waiters_with_one_outside_any_task_are_woken_at_once() {
        tokio::spawn(async { assert_eq!(made_at_once(3, 1), 3, "none deferred") })
            .await
            .expect("the canceller task");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn in_a_task_one_waiter_is_woken_at_once() {
        tokio::spawn(async { assert_eq!(made_at_once(1, 0), 1) })
            .await
            .expect("the canceller task");
    }

    #[test]
    fn off_any_runtime_every_waiter_is_woken_at_once() {
        assert_eq!(made_at_once(4, 0), 4);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn on_a_current_thread_runtime_every_waiter_is_woken_at_once() {
        assert_eq!(made_at_once(4, 0), 4);
    }

    #[test]
    fn a_deferred_batch_dropped_without_being_woken_still_wakes_everyone() {
        let notify = Arc::new(Notify::new());
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let _waiters = waiters(&notify, 2, &count);
        let waker = Waker::from(Arc::new(Deferred(Batch(vec![notify.clone()]))));
        let clone = waker.clone();
        drop(waker);
        assert_eq!(count.0.load(Ordering::SeqCst), 0, "a clone is still held");
        drop(clone);
        assert_eq!(count.0.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_deferred_batch_woken_by_reference_waits_for_its_last_clone() {
        let notify = Arc::new(Notify::new());
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let _waiters = waiters(&notify, 2, &count);
        let waker = Waker::from(Arc::new(Deferred(Batch(vec![notify.clone()]))));
        waker.wake_by_ref();
        assert_eq!(count.0.load(Ordering::SeqCst), 0);
        waker.wake();
        assert_eq!(count.0.load(Ordering::SeqCst), 2, "woken exactly once");
    }

    #[test]
    fn in_a_multi_thread_runtimes_context_outside_its_tasks_a_relay_task_wakes_them() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .expect("runtime");
        let notify = Arc::new(Notify::new());
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let _waiters = waiters(&notify, 2, &count);
        let _enter = rt.enter();
        woken(notify.clone(), 2).wake();
        rt.block_on(async {
            while count.0.load(Ordering::SeqCst) < 2 {
                tokio::task::yield_now().await;
            }
        });
        assert_eq!(count.0.load(Ordering::SeqCst), 2);
    }
}
