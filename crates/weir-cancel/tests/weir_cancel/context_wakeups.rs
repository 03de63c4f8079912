//! Who wakes the waiters of a cancel: every `cancelled` future is woken
//! exactly once, whichever thread cancels — a runtime's task (the wake-ups
//! are deferred to its worker there), a thread in a multi-thread runtime's
//! context (relayed through one task), or a runtime that has already shut
//! down.

use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context as TaskContext, Poll, Wake, Waker};
use std::time::Duration;

use weir_cancel::Context;

/// A waker that counts its wake-ups and reports each on a channel, with
/// the thread that made it.
struct Counting {
    wakes: AtomicUsize,
    tx: Mutex<mpsc::Sender<std::thread::ThreadId>>,
}

impl Wake for Counting {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
        let _ = self.tx.lock().unwrap().send(std::thread::current().id());
    }
}

/// A multi-thread runtime of `workers` workers (no drivers).
fn multi_thread(workers: usize) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .build()
        .unwrap()
}

/// Polls `n` `cancelled` futures of `ctx` once each (all pending), calls
/// `cancel`, and returns how many wake-ups each waker got once `n` have
/// arrived (a missing one fails after 10 s rather than hanging).
fn wakes_per_waiter(ctx: &Context, n: usize, cancel: impl FnOnce()) -> Vec<usize> {
    wakes_per_waiter_of(&[ctx], n, cancel)
}

/// [`wakes_per_waiter`] with the futures spread over `contexts` in turn.
fn wakes_per_waiter_of(contexts: &[&Context], n: usize, cancel: impl FnOnce()) -> Vec<usize> {
    wakes_and_wakers(contexts, n, cancel).0
}

/// [`wakes_per_waiter_of`], and the threads the wake-ups were made on.
fn wakes_and_wakers(
    contexts: &[&Context],
    n: usize,
    cancel: impl FnOnce(),
) -> (Vec<usize>, Vec<std::thread::ThreadId>) {
    let (tx, rx) = mpsc::channel();
    let wakers: Vec<Arc<Counting>> = (0..n)
        .map(|_| {
            Arc::new(Counting {
                wakes: AtomicUsize::new(0),
                tx: Mutex::new(tx.clone()),
            })
        })
        .collect();
    let mut futures: Vec<_> = (0..n)
        .map(|i| Box::pin(contexts[i % contexts.len()].cancelled()))
        .collect();
    for (fut, counting) in futures.iter_mut().zip(&wakers) {
        let waker = Waker::from(counting.clone());
        assert!(fut
            .as_mut()
            .poll(&mut TaskContext::from_waker(&waker))
            .is_pending());
    }
    cancel();
    let threads: Vec<_> = (0..n)
        .map(|_| {
            rx.recv_timeout(Duration::from_secs(10))
                .expect("every waiter is woken")
        })
        .collect();
    for (fut, counting) in futures.iter_mut().zip(&wakers) {
        let waker = Waker::from(counting.clone());
        assert!(fut
            .as_mut()
            .poll(&mut TaskContext::from_waker(&waker))
            .is_ready());
    }
    let wakes = wakers
        .iter()
        .map(|w| w.wakes.load(Ordering::SeqCst))
        .collect();
    (wakes, threads)
}

/// A cancel from a thread in a multi-thread runtime's context (not one of
/// its tasks): the relayed wake-ups reach every waiter, once.
#[test]
fn cancel_in_a_runtime_context_wakes_every_waiter_once() {
    let rt = multi_thread(2);
    let _enter = rt.enter();
    let (ctx, handle) = Context::background().with_cancel();
    let wakes = wakes_per_waiter(&ctx, 100, || assert!(handle.cancel()));
    assert_eq!(wakes, vec![1; 100]);
}

/// There, the wake-ups are made on one of the runtime's workers, not by
/// the canceller (on main before this change, the canceller made them all,
/// each one unparking a worker); a single waiter is woken by the canceller.
#[test]
fn cancel_in_a_runtime_context_wakes_from_a_worker() {
    let rt = multi_thread(2);
    let _enter = rt.enter();
    let me = std::thread::current().id();
    let (ctx, handle) = Context::background().with_cancel();
    let (wakes, threads) = wakes_and_wakers(&[&ctx], 10, || assert!(handle.cancel()));
    assert_eq!(wakes, vec![1; 10]);
    assert!(threads.iter().all(|&t| t != me), "woken by the canceller");
    let first = threads[0];
    assert!(
        threads.iter().all(|&t| t == first),
        "all in one pass, on one worker"
    );

    let (ctx, handle) = Context::background().with_cancel();
    let (wakes, threads) = wakes_and_wakers(&[&ctx], 1, || assert!(handle.cancel()));
    assert_eq!((wakes, threads), (vec![1], vec![me]));
}

/// The waiters of a whole subtree (a parent's and its children's) are
/// woken by the one cancel of the parent.
#[test]
fn cancel_in_a_runtime_context_wakes_the_whole_subtree() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    let _enter = rt.enter();
    let (parent, handle) = Context::background().with_cancel();
    let child = parent.child();
    let grandchild = child.with_timeout(Duration::from_secs(3600));
    let wakes = wakes_per_waiter_of(&[&parent, &child, &grandchild], 30, || {
        assert!(handle.cancel())
    });
    assert_eq!(wakes, vec![1; 30]);
}

/// A cancel made in the context of a runtime that has shut down: the relay
/// task is dropped without running, and its drop still wakes everyone.
#[test]
fn cancel_in_a_shut_down_runtime_context_still_wakes() {
    let rt = multi_thread(1);
    let runtime = rt.handle().clone();
    rt.shutdown_background();
    let _enter = runtime.enter();
    let (ctx, handle) = Context::background().with_cancel();
    let wakes = wakes_per_waiter(&ctx, 8, || assert!(handle.cancel()));
    assert_eq!(wakes, vec![1; 8]);
}

/// Off any runtime the canceller wakes them itself; inside a task its
/// worker makes them once the task has ended.
#[test]
fn cancel_off_a_runtime_or_in_a_task_wakes_every_waiter_once() {
    let (ctx, handle) = Context::background().with_cancel();
    assert_eq!(
        wakes_per_waiter(&ctx, 8, || assert!(handle.cancel())),
        vec![1; 8]
    );

    let rt = multi_thread(2);
    let (ctx, handle) = Context::background().with_cancel();
    let wakes = wakes_per_waiter(&ctx, 8, || {
        rt.block_on(rt.spawn(async move { assert!(handle.cancel()) }))
            .unwrap();
    });
    assert_eq!(wakes, vec![1; 8]);
}

/// A `cancelled` future polled with waker `polls[i]` at its `i`-th poll,
/// then cancelled: how many times each waker was woken (a missing wake-up
/// fails after 10 s rather than hanging), and whether it is ready after.
fn wakes_after_polls(wakers: usize, polls: &[usize]) -> (Vec<usize>, bool) {
    let (ctx, handle) = Context::background().with_cancel();
    let mut cancelled = pin!(ctx.cancelled());
    let (tx, rx) = mpsc::channel();
    let counting: Vec<_> = (0..wakers)
        .map(|_| {
            Arc::new(Counting {
                wakes: AtomicUsize::new(0),
                tx: Mutex::new(tx.clone()),
            })
        })
        .collect();
    let poll_with = |cancelled: Pin<&mut _>, i: usize| {
        let waker = Waker::from(counting[i].clone());
        Future::poll(cancelled, &mut TaskContext::from_waker(&waker))
    };
    for &i in polls {
        assert!(poll_with(cancelled.as_mut(), i).is_pending());
    }
    assert!(handle.cancel());
    rx.recv_timeout(Duration::from_secs(10))
        .expect("the latest waker is woken");
    let last = *polls.last().expect("at least one poll");
    let ready = poll_with(cancelled.as_mut(), last).is_ready();
    let wakes = counting.iter().map(|c| c.wakes.load(Ordering::SeqCst));
    (wakes.collect(), ready)
}

/// Polled again and again with the same waker (its later polls skip the
/// `Notify`), a `cancelled` future is still woken once by the cancel.
#[test]
fn cancel_wakes_a_future_polled_again_with_the_same_waker() {
    assert_eq!(wakes_after_polls(1, &[0, 0, 0, 0]), (vec![1], true));
}

/// Polled with a new waker, at any poll, it registers that one: the
/// cancel wakes the latest waker once, and not the ones it replaced.
#[test]
fn cancel_wakes_the_waker_of_the_latest_poll() {
    for polls in [
        &[0, 1][..],
        &[0, 0, 1],
        &[0, 0, 0, 1, 1],
        &[0, 0, 0, 1, 1, 0],
    ] {
        let latest = *polls.last().unwrap();
        let want: Vec<usize> = (0..2).map(|i| usize::from(i == latest)).collect();
        assert_eq!(wakes_after_polls(2, polls), (want, true), "{polls:?}");
    }
}

/// Many tasks of the runtime waiting, cancelled from its `block_on` (an
/// `async main`): every task ends.
#[test]
fn cancel_from_block_on_ends_every_waiting_task() {
    let rt = multi_thread(2);
    let ended = rt.block_on(cancel_and_join_waiting_tasks(1000));
    assert_eq!(ended, 1000);
}

/// A cancel from a task with several waiters that are tasks too: the
/// wake-ups are made by the canceller's own worker thread, all of them,
/// once the canceller waits — not by the other worker (the unit tests in
/// `wakeups.rs` show that none is made before it waits).
#[test]
fn cancel_in_a_task_wakes_waiting_tasks_on_the_cancellers_worker() {
    let rt = multi_thread(2);
    let (woken_tx, woken) = mpsc::channel();
    let (canceller, ended) = rt.block_on(async move {
        let (ctx, handle) = Context::background().with_cancel();
        let started = Arc::new(tokio::sync::Barrier::new(11));
        // Waiters pending in their last wait. The cancel comes after all
        // ten: a waiter polled after the cancel but before the deferred
        // wake-ups sees the flag and ends unwoken (correctly), and would
        // leave nothing to note.
        let waiting = Arc::new(AtomicUsize::new(0));
        let waiters: Vec<_> = (0..10)
            .map(|_| {
                let (ctx, started, woken_tx) = (ctx.clone(), started.clone(), woken_tx.clone());
                let waiting = waiting.clone();
                tokio::spawn(async move {
                    let mut done = pin!(ctx.cancelled());
                    std::future::poll_fn(|cx| {
                        let first = poll_noted(done.as_mut(), cx, &woken_tx);
                        assert!(first.is_pending(), "cancelled too early");
                        Poll::Ready(())
                    })
                    .await;
                    started.wait().await;
                    let mut counted = false;
                    std::future::poll_fn(|cx| {
                        let polled = poll_noted(done.as_mut(), cx, &woken_tx);
                        if polled.is_pending() && !std::mem::replace(&mut counted, true) {
                            waiting.fetch_add(1, Ordering::SeqCst);
                        }
                        polled
                    })
                    .await;
                })
            })
            .collect();
        started.wait().await;
        while waiting.load(Ordering::SeqCst) < 10 {
            tokio::task::yield_now().await;
        }
        let canceller = tokio::spawn(async move {
            assert!(handle.cancel());
            let me = std::thread::current().id();
            for waiter in waiters {
                waiter.await.unwrap();
            }
            me
        })
        .await
        .unwrap();
        (canceller, 10)
    });
    let threads: Vec<_> = woken.try_iter().collect();
    assert_eq!((threads.len(), ended), (10, 10), "each waiter woken once");
    assert!(
        threads.iter().all(|&t| t == canceller),
        "made by the canceller's worker: {threads:?} vs {canceller:?}"
    );
}

/// Polls `done` with a waker that notes the thread that calls it, then
/// wakes the task polling.
fn poll_noted(
    done: std::pin::Pin<&mut weir_cancel::Cancelled<'_>>,
    cx: &mut TaskContext<'_>,
    tx: &mpsc::Sender<std::thread::ThreadId>,
) -> Poll<()> {
    let waker = Waker::from(Arc::new(Noting {
        task: cx.waker().clone(),
        tx: Mutex::new(tx.clone()),
    }));
    done.poll(&mut TaskContext::from_waker(&waker))
}

/// A waker that notes the thread that calls it, then wakes a task.
struct Noting {
    task: Waker,
    tx: Mutex<mpsc::Sender<std::thread::ThreadId>>,
}

impl Wake for Noting {
    fn wake(self: Arc<Self>) {
        let _ = self.tx.lock().unwrap().send(std::thread::current().id());
        self.task.wake_by_ref();
    }
}

/// Many tasks of the runtime waiting, cancelled from another task that then
/// joins them (Go's `cancel(); wg.Wait()` in a goroutine): every task ends.
#[test]
fn cancel_from_a_task_ends_every_waiting_task() {
    let rt = multi_thread(2);
    let ended = rt
        .block_on(rt.spawn(cancel_and_join_waiting_tasks(1000)))
        .unwrap();
    assert_eq!(ended, 1000);
}

/// A task that cancels and then blocks its thread until two waiters on
/// plain threads (off any runtime) answer: those wake-ups are made at once,
/// never deferred to the blocked worker, so it does not wait for ever.
#[test]
fn a_canceller_blocking_on_waiters_outside_the_runtime_gets_its_answer() {
    let rt = multi_thread(1);
    let (ctx, handle) = Context::background().with_cancel();
    let (registered_tx, registered) = mpsc::channel();
    let (answer_tx, answers) = mpsc::channel();
    let (ctx2, ctx3) = (ctx.clone(), ctx.clone());
    let waiters: Vec<_> = [ctx2, ctx3]
        .into_iter()
        .map(|ctx| {
            let (registered_tx, answer_tx) = (registered_tx.clone(), answer_tx.clone());
            std::thread::spawn(move || {
                let mut done = pin!(ctx.cancelled());
                let unpark = Arc::new(Unpark {
                    thread: std::thread::current(),
                    woken: AtomicUsize::new(0),
                });
                let waker = Waker::from(unpark.clone());
                let mut cx = TaskContext::from_waker(&waker);
                assert!(done.as_mut().poll(&mut cx).is_pending());
                registered_tx.send(()).unwrap();
                // Polling again only once woken: a lost wake-up fails here
                // instead of being papered over by the cancelled flag.
                let deadline = std::time::Instant::now() + Duration::from_secs(10);
                while unpark.woken.load(Ordering::SeqCst) == 0 {
                    let left = deadline.saturating_duration_since(std::time::Instant::now());
                    assert!(!left.is_zero(), "the waiter was never woken");
                    std::thread::park_timeout(left);
                }
                assert!(done.as_mut().poll(&mut cx).is_ready());
                answer_tx.send(()).unwrap();
            })
        })
        .collect();
    registered.recv().unwrap();
    registered.recv().unwrap();
    rt.block_on(rt.spawn(async move {
        assert!(handle.cancel());
        // Blocking a worker is wrong in real code; here it is the point.
        for _ in 0..2 {
            answers
                .recv_timeout(Duration::from_secs(10))
                .expect("a waiter outside the runtime is woken at once");
        }
    }))
    .unwrap();
    for waiter in waiters {
        waiter.join().expect("the waiter thread ends");
    }
    drop(ctx);
}

/// A waker that counts its wake-ups and unparks a thread.
struct Unpark {
    thread: std::thread::Thread,
    woken: AtomicUsize,
}

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.woken.fetch_add(1, Ordering::SeqCst);
        self.thread.unpark();
    }
}

/// Spawns `n` tasks waiting on one context (each registered before the
/// cancel), cancels it from where this runs, and joins them: how many
/// ended.
async fn cancel_and_join_waiting_tasks(n: usize) -> usize {
    let (ctx, handle) = Context::background().with_cancel();
    let started = Arc::new(tokio::sync::Barrier::new(n + 1));
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let (ctx, started) = (ctx.clone(), started.clone());
            tokio::spawn(async move {
                let mut done = pin!(ctx.cancelled());
                // Registered (pending once) before the barrier.
                std::future::poll_fn(|cx| match done.as_mut().poll(cx) {
                    Poll::Pending => Poll::Ready(()),
                    Poll::Ready(()) => panic!("cancelled too early"),
                })
                .await;
                started.wait().await;
                done.await;
            })
        })
        .collect();
    started.wait().await;
    assert!(handle.cancel());
    let mut ended = 0;
    for task in tasks {
        task.await.unwrap();
        ended += 1;
    }
    ended
}

/// Two waiting tasks on runtime `waiters`; returns their joins.
fn two_waiting_tasks(
    waiters: &tokio::runtime::Runtime,
    ctx: &Context,
) -> Vec<tokio::task::JoinHandle<()>> {
    let (registered_tx, registered) = mpsc::channel();
    let tasks = (0..2)
        .map(|_| {
            let (ctx, registered_tx) = (ctx.clone(), registered_tx.clone());
            waiters.spawn(async move {
                let mut done = pin!(ctx.cancelled());
                std::future::poll_fn(|cx| {
                    assert!(done.as_mut().poll(cx).is_pending(), "cancelled too early");
                    Poll::Ready(())
                })
                .await;
                registered_tx.send(()).unwrap();
                done.await;
            })
        })
        .collect();
    for _ in 0..2 {
        registered.recv().unwrap();
    }
    tasks
}

/// Joins `tasks` on `rt`, failing after 10 s instead of hanging.
fn join_within_10s(rt: &tokio::runtime::Runtime, tasks: Vec<tokio::task::JoinHandle<()>>) {
    rt.block_on(async {
        for task in tasks {
            tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .expect("every waiting task is woken")
                .unwrap();
        }
    });
}

/// A cancel made in `block_in_place` (the worker has handed its core on):
/// the wake-ups cannot wait for that worker, and are made at once.
#[test]
fn cancel_in_block_in_place_wakes_every_waiting_task() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    let (ctx, handle) = Context::background().with_cancel();
    let tasks = two_waiting_tasks(&rt, &ctx);
    rt.block_on(rt.spawn(async move {
        tokio::task::block_in_place(|| assert!(handle.cancel()));
    }))
    .unwrap();
    join_within_10s(&rt, tasks);
}

/// A task cancels, then its runtime is shut down while it still holds its
/// worker (so the worker may never look for work again): the waiting tasks,
/// on another runtime, are woken all the same.
#[test]
fn cancel_in_a_task_whose_runtime_shuts_down_still_wakes_the_waiters() {
    let waiters = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_time()
        .build()
        .unwrap();
    let canceller = multi_thread(1);
    let (ctx, handle) = Context::background().with_cancel();
    let tasks = two_waiting_tasks(&waiters, &ctx);
    let (cancelled_tx, cancelled) = mpsc::channel();
    let (go_on_tx, go_on) = mpsc::channel::<()>();
    canceller.spawn(async move {
        assert!(handle.cancel());
        cancelled_tx.send(()).unwrap();
        // Holds the worker (wrong in real code, the point here) until the
        // runtime is shutting down.
        let _ = go_on.recv_timeout(Duration::from_secs(10));
    });
    cancelled.recv().unwrap();
    canceller.shutdown_background();
    drop(go_on_tx);
    join_within_10s(&waiters, tasks);
}
