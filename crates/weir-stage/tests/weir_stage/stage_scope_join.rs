//! How a scope's join is woken: once, by the last of its tasks to end,
//! however many end while the joiner waits (issue 24: joining without a
//! wake chain). Counts of waker calls, never times.

use std::convert::Infallible;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context as TaskCx, Poll, Wake, Waker};

use weir_cancel::Context;
use weir_core::chan;
use weir_stage::{Error, Scope};

const TASKS: usize = 10;

/// A waker that counts its calls.
struct CountWakes(AtomicUsize);

impl Wake for CountWakes {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// Counts the task as ended when its future is dropped, however it ends.
struct Ended(Arc<AtomicUsize>);

impl Drop for Ended {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// Lets the current-thread runtime run its tasks until `n` have ended.
async fn until_ended(ended: &AtomicUsize, n: usize) {
    while ended.load(Ordering::Relaxed) < n {
        tokio::task::yield_now().await;
    }
    // The ended task's output is stored in the same poll that dropped it.
    tokio::task::yield_now().await;
}

/// Ten tasks end one at a time, the joiner polled after each: it is woken
/// once, when the last has ended. (A `JoinSet` join wakes it at each of
/// the ten: this test fails on the join before this change with 10.)
#[tokio::test(flavor = "current_thread")]
async fn the_joiner_is_woken_once_when_tasks_end_one_by_one() {
    let scope = Scope::new(&Context::background());
    let ended = Arc::new(AtomicUsize::new(0));
    let mut releases = Vec::new();
    for _ in 0..TASKS {
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        releases.push(release);
        let ended = Ended(ended.clone());
        scope.spawn(async move {
            let _ended = ended;
            let _ = released.await;
            Ok::<(), Infallible>(())
        });
    }
    tokio::task::yield_now().await; // every task is now waiting
    let wakes = Arc::new(CountWakes(AtomicUsize::new(0)));
    let waker = Waker::from(wakes.clone());
    let mut cx = TaskCx::from_waker(&waker);
    let mut wait = Box::pin(scope.wait());
    assert!(wait.as_mut().poll(&mut cx).is_pending());
    for (i, release) in releases.into_iter().enumerate() {
        release.send(()).expect("the task waits");
        until_ended(&ended, i + 1).await;
        if i + 1 < TASKS {
            assert!(wait.as_mut().poll(&mut cx).is_pending(), "{i}");
            assert_eq!(wakes.0.load(Ordering::Relaxed), 0, "woken at task {i}");
        }
    }
    assert_eq!(
        wakes.0.load(Ordering::Relaxed),
        1,
        "one wake-up, from the last task"
    );
    assert!(matches!(wait.as_mut().poll(&mut cx), Poll::Ready(Ok(()))));
}

/// A cancel ends ten tasks blocked in full channels: the joiner, waiting
/// before they run, is woken (once) and reports the cancellation.
#[tokio::test(flavor = "current_thread")]
async fn a_cancelled_scope_wakes_its_joiner_once() {
    let scope = Scope::new(&Context::background());
    let ended = Arc::new(AtomicUsize::new(0));
    let mut receivers = Vec::new();
    for _ in 0..TASKS {
        let (tx, rx) = chan::bounded::<u64>(1);
        receivers.push(rx);
        let ended = Ended(ended.clone());
        scope.spawn(async move {
            let _ended = ended;
            tx.send(0).await?;
            tx.send(1).await?; // full: waits for the cancel
            Ok::<_, chan::SendError<u64>>(())
        });
    }
    while receivers.iter().any(|rx| rx.is_empty()) {
        tokio::task::yield_now().await;
    }
    scope.cancel();
    let wakes = Arc::new(CountWakes(AtomicUsize::new(0)));
    let waker = Waker::from(wakes.clone());
    let mut cx = TaskCx::from_waker(&waker);
    let mut wait = Box::pin(scope.wait());
    assert!(wait.as_mut().poll(&mut cx).is_pending());
    until_ended(&ended, TASKS).await;
    assert_eq!(wakes.0.load(Ordering::Relaxed), 1);
    assert!(matches!(
        wait.as_mut().poll(&mut cx),
        Poll::Ready(Err(Error::Cancelled(_)))
    ));
    assert_eq!(
        receivers.iter().map(chan::Receiver::len).sum::<usize>(),
        TASKS
    );
}

/// A task spawned through a view while the joiner waits is joined too:
/// the wait ends only after it, though every task spawned before the wait
/// began has ended.
#[tokio::test(flavor = "current_thread")]
async fn a_task_spawned_during_the_wait_is_joined() {
    let scope = Scope::new(&Context::background());
    let view = scope.named("late");
    let ended = Arc::new(AtomicUsize::new(0));
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    let first = Ended(ended.clone());
    scope.spawn(async move {
        let _ended = first;
        let _ = released.await;
        Ok::<(), Infallible>(())
    });
    tokio::task::yield_now().await;
    let wakes = Arc::new(CountWakes(AtomicUsize::new(0)));
    let waker = Waker::from(wakes.clone());
    let mut cx = TaskCx::from_waker(&waker);
    let mut wait = Box::pin(scope.wait());
    assert!(wait.as_mut().poll(&mut cx).is_pending());
    let (release_late, released_late) = tokio::sync::oneshot::channel::<()>();
    let late = Ended(ended.clone());
    view.spawn(async move {
        let _ended = late;
        let _ = released_late.await;
        Ok::<(), Infallible>(())
    });
    release.send(()).expect("the first task waits");
    until_ended(&ended, 1).await;
    assert!(
        wait.as_mut().poll(&mut cx).is_pending(),
        "the late task runs on"
    );
    release_late.send(()).expect("the late task waits");
    until_ended(&ended, 2).await;
    assert!(matches!(wait.as_mut().poll(&mut cx), Poll::Ready(Ok(()))));
}
