//! `WaitGroup`: Go-parity (`sync.WaitGroup`) and weir's extras (guards,
//! `go`, panic reporting). No test sleeps to wait for something.

use std::future::Future;
use std::task::Poll;

use futures::FutureExt;
use weir_core::latch::{WaitError, WaitGroupError};
use weir_core::{Latch, WaitGroup};

/// Polls `fut` once, with a no-op waker.
fn poll_once<F: Future + Unpin>(fut: &mut F) -> Poll<F::Output> {
    fut.poll_unpin(&mut std::task::Context::from_waker(
        futures::task::noop_waker_ref(),
    ))
}

// Go: Add(n) raises the counter, Done lowers it.
#[test]
fn add_and_done_count() {
    let wg = WaitGroup::new();
    assert_eq!(wg.count(), 0);
    wg.add(3);
    assert_eq!(wg.count(), 3);
    wg.add(0);
    assert_eq!(wg.count(), 3);
    wg.done().unwrap();
    assert_eq!(wg.count(), 2);
    wg.done().unwrap();
    wg.done().unwrap();
    assert_eq!(wg.count(), 0);
}

#[test]
fn clone_shares_the_counter_without_adding() {
    let wg = WaitGroup::new();
    let other = wg.clone();
    assert_eq!(wg.count(), 0);
    other.add(2);
    assert_eq!(wg.count(), 2);
    wg.done().unwrap();
    assert_eq!(other.count(), 1);
    assert_eq!(WaitGroup::default().count(), 0);
}

// Go: "sync: negative WaitGroup counter" panics; weir returns an error and
// leaves the counter alone.
#[test]
fn too_many_done_is_an_error_and_leaves_count_unchanged() {
    let wg = WaitGroup::new();
    assert_eq!(wg.done(), Err(WaitGroupError::Negative));
    assert_eq!(wg.count(), 0);
    wg.add(1);
    wg.done().unwrap();
    assert_eq!(wg.done(), Err(WaitGroupError::Negative));
    assert_eq!(wg.count(), 0);
    // The group still works afterwards.
    wg.add(1);
    assert_eq!(wg.count(), 1);
    assert_eq!(
        WaitGroupError::Negative.to_string(),
        "negative wait group counter: `done` called more times than `add`"
    );
}

#[test]
fn add_overflow_panics_and_leaves_count_unchanged() {
    let wg = WaitGroup::new();
    wg.add(usize::MAX);
    let result = std::panic::catch_unwind(|| wg.add(1));
    assert!(result.is_err());
    assert_eq!(wg.count(), usize::MAX);
}

#[test]
fn guard_adds_one_and_its_drop_is_done() {
    let wg = WaitGroup::new();
    let a = wg.guard();
    let b = wg.guard();
    assert_eq!(wg.count(), 2);
    drop(a);
    assert_eq!(wg.count(), 1);
    drop(b);
    assert_eq!(wg.count(), 0);
}

#[test]
fn guard_dropped_by_panic_unwinding_counts_down() {
    let wg = WaitGroup::new();
    let guard = wg.guard();
    let worker = std::thread::spawn(move || {
        let _guard = guard;
        panic!("worker failed");
    });
    assert!(worker.join().is_err());
    assert_eq!(wg.count(), 0);
    wg.wait_blocking().unwrap();
}

#[test]
fn guard_after_extra_done_does_not_underflow() {
    let wg = WaitGroup::new();
    let guard = wg.guard();
    wg.done().unwrap(); // steals the guard's unit
    drop(guard); // nothing left to count down: a no-op
    assert_eq!(wg.count(), 0);
}

// Go: Wait returns at once when the counter is zero.
#[tokio::test]
async fn wait_resolves_immediately_at_zero() {
    let wg = WaitGroup::new();
    assert_eq!(poll_once(&mut wg.wait()), Poll::Ready(Ok(())));
    wg.wait().await.unwrap();
    wg.wait_owned().await.unwrap();
    wg.wait_blocking().unwrap();
}

#[tokio::test]
async fn wait_is_pending_while_count_is_positive() {
    let wg = WaitGroup::new();
    let guard = wg.guard();
    let mut wait = wg.wait();
    assert!(poll_once(&mut wait).is_pending());
    assert!(poll_once(&mut wait).is_pending());
    drop(guard);
    assert_eq!(poll_once(&mut wait), Poll::Ready(Ok(())));
}

// Go: the last Done releases Wait, here from another task.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_wakes_when_last_done_from_another_task() {
    let wg = WaitGroup::new();
    let release = Latch::new(1);
    for _ in 0..8 {
        let guard = wg.guard();
        let release = release.clone();
        tokio::spawn(async move {
            release.wait().await;
            drop(guard);
        });
    }
    let mut wait = wg.wait();
    assert!(poll_once(&mut wait).is_pending());
    release.count_down();
    wait.await.unwrap();
    assert_eq!(wg.count(), 0);
}

#[tokio::test]
async fn wait_wakes_when_last_done_from_a_thread() {
    let wg = WaitGroup::new();
    wg.add(1);
    let mut wait = wg.wait();
    assert!(poll_once(&mut wait).is_pending());
    let other = wg.clone();
    let thread = std::thread::spawn(move || other.done().unwrap());
    wait.await.unwrap();
    thread.join().unwrap();
}

#[test]
fn wait_blocking_from_std_threads() {
    let wg = WaitGroup::new();
    let start = Latch::new(1);
    let mut finished = Vec::new();
    let (tx, rx) = std::sync::mpsc::channel();
    for i in 0..4 {
        let guard = wg.guard();
        let start = start.clone();
        let tx = tx.clone();
        finished.push(std::thread::spawn(move || {
            start.wait_blocking();
            tx.send(i).unwrap();
            drop(guard);
        }));
    }
    let waiter = {
        let wg = wg.clone();
        std::thread::spawn(move || wg.wait_blocking())
    };
    start.count_down();
    waiter.join().unwrap().unwrap();
    // Everything done before `done` is visible after the wait.
    let mut seen: Vec<i32> = rx.try_iter().collect();
    seen.sort_unstable();
    assert_eq!(seen, [0, 1, 2, 3]);
    for t in finished {
        t.join().unwrap();
    }
}

// Go 1.25: wg.Go(f) runs f and counts it.
#[tokio::test]
async fn go_tracks_the_task_and_returns_its_output() {
    let wg = WaitGroup::new();
    let gate = Latch::new(1);
    let handle = {
        let gate = gate.clone();
        wg.go(async move {
            gate.wait().await;
            7
        })
    };
    assert_eq!(wg.count(), 1);
    let mut wait = wg.wait();
    assert!(poll_once(&mut wait).is_pending());
    gate.count_down();
    wait.await.unwrap();
    assert_eq!(wg.count(), 0);
    assert_eq!(handle.await.unwrap(), 7);
}

#[tokio::test]
async fn go_panic_is_reported_by_wait_and_by_the_join_handle() {
    let wg = WaitGroup::new();
    let ok = wg.go(async { 1 });
    let bad = wg.go(async {
        tokio::task::yield_now().await;
        panic!("task {} exploded", 2);
    });
    let bad2 = wg.go(async { std::panic::panic_any(5_u8) });
    let result = wg.wait().await;
    assert_eq!(wg.count(), 0);
    let err = result.unwrap_err();
    let WaitError::Panicked { count, message } = &err else {
        panic!("unexpected error {err:?}");
    };
    assert_eq!(*count, 2);
    assert!(
        message == "task 2 exploded" || message == "non-string panic payload",
        "{message}"
    );
    assert!(err.to_string().contains("panicked"));

    assert_eq!(ok.await.unwrap(), 1);
    let join_err = bad.await.unwrap_err();
    assert!(join_err.is_panic());
    let payload = join_err.into_panic();
    let text = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str));
    assert_eq!(text, Some("task 2 exploded"));
    assert!(bad2.await.unwrap_err().is_panic());
}

#[tokio::test]
async fn go_panic_message_is_the_first_panic() {
    let wg = WaitGroup::new();
    let _ = wg.go(async { panic!("static str") }).await;
    assert_eq!(
        wg.wait().await,
        Err(WaitError::Panicked {
            count: 1,
            message: "static str".into()
        })
    );
    assert_eq!(
        wg.wait_blocking().unwrap_err().to_string(),
        "task spawned by `WaitGroup::go` panicked: static str (1 panicked in total)"
    );
}

#[tokio::test]
async fn panic_records_are_sticky_until_taken() {
    let wg = WaitGroup::new();
    let _ = wg.go(async { panic!("once") }).await;
    assert!(wg.wait().await.is_err());
    assert!(wg.wait().await.is_err(), "a second waiter sees it too");
    assert!(wg.wait_owned().await.is_err());
    assert!(format!("{wg:?}").contains("panicked: 1"));
    assert_eq!(
        wg.take_panics(),
        Some(WaitError::Panicked {
            count: 1,
            message: "once".into()
        })
    );
    assert_eq!(wg.take_panics(), None);
    wg.wait().await.unwrap();
    wg.go(async {}).await.unwrap();
    wg.wait().await.unwrap();
}

#[tokio::test]
async fn go_abort_counts_down() {
    let wg = WaitGroup::new();
    let handle = wg.go(std::future::pending::<()>());
    assert_eq!(wg.count(), 1);
    // Let it start, so the abort drops a running task.
    tokio::task::yield_now().await;
    handle.abort();
    let err = handle.await.unwrap_err();
    assert!(err.is_cancelled());
    assert_eq!(wg.count(), 0);
    wg.wait().await.unwrap(); // an abort is not a panic
}

#[test]
fn go_outside_a_runtime_panics_and_leaves_count_unchanged() {
    let wg = WaitGroup::new();
    let result = std::panic::catch_unwind(|| wg.go(async {}));
    assert!(result.is_err());
    assert_eq!(wg.count(), 0);
}

#[tokio::test]
async fn select_on_wait_then_drop_it() {
    let wg = WaitGroup::new();
    let guard = wg.guard();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<u8>(1);
    tx.send(9).await.unwrap();
    let mut wait = wg.wait();
    tokio::select! {
        biased;
        _ = &mut wait => panic!("the guard is alive"),
        v = rx.recv() => assert_eq!(v, Some(9)),
    }
    drop(wait); // cancelled mid-wait: no effect on the counter
    assert_eq!(wg.count(), 1);
    // Dropping a registered waiter doesn't steal the wake-up from another.
    let mut first = wg.wait();
    let mut second = wg.wait_owned();
    assert!(poll_once(&mut first).is_pending());
    assert!(poll_once(&mut second).is_pending());
    drop(first);
    drop(guard);
    second.await.unwrap();
}

// Go: a WaitGroup may be reused once Wait has returned.
#[tokio::test]
async fn reuse_after_zero() {
    let wg = WaitGroup::new();
    for round in 0..3 {
        let gate = Latch::new(1);
        for _ in 0..4 {
            let gate = gate.clone();
            wg.go(async move { gate.wait().await });
        }
        let mut wait = wg.wait();
        assert!(poll_once(&mut wait).is_pending(), "round {round}");
        gate.count_down();
        wait.await.unwrap();
        assert_eq!(wg.count(), 0);
    }
}

// weir, not Go: a wait pending when the counter hits zero is released even
// if the group was re-armed before the waiter ran.
#[test]
fn pending_wait_is_released_by_a_zero_it_did_not_observe() {
    let wg = WaitGroup::new();
    wg.add(1);
    let mut wait = wg.wait();
    assert!(poll_once(&mut wait).is_pending());
    wg.done().unwrap();
    wg.add(1); // re-armed before the waiter is polled
    assert_eq!(poll_once(&mut wait), Poll::Ready(Ok(())));
    // A wait created after the re-arm waits for the next zero.
    let mut next = wg.wait();
    assert!(poll_once(&mut next).is_pending());
    wg.done().unwrap();
    assert_eq!(poll_once(&mut next), Poll::Ready(Ok(())));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_hundred_thousand_waiters_are_all_woken() {
    const WAITERS: usize = 100_000;
    let wg = WaitGroup::new();
    let work = wg.guard();
    let registered = WaitGroup::new();
    let woken = WaitGroup::new();
    for _ in 0..WAITERS {
        let mut wait = wg.wait_owned();
        let registered = registered.guard();
        let woken = woken.guard();
        tokio::spawn(async move {
            // Poll once so the listener is registered before the release.
            assert!(futures::poll!(&mut wait).is_pending());
            drop(registered);
            wait.await.unwrap();
            drop(woken);
        });
    }
    registered.wait().await.unwrap();
    assert_eq!(woken.count(), WAITERS);
    drop(work);
    woken.wait().await.unwrap();
}

#[test]
fn debug_output() {
    let wg = WaitGroup::new();
    let guard = wg.guard();
    assert_eq!(format!("{wg:?}"), "WaitGroup { count: 1, panicked: 0 }");
    assert!(format!("{guard:?}").starts_with("WaitGroupGuard"));
    assert!(format!("{:?}", wg.wait()).starts_with("Wait {"));
    assert!(format!("{:?}", wg.wait_owned()).starts_with("WaitOwned {"));
}

#[test]
fn handles_are_send_sync_and_wait_owned_is_static() {
    fn send_sync<T: Send + Sync>() {}
    fn send_static<T: Send + 'static>() {}
    send_sync::<WaitGroup>();
    send_sync::<weir_core::latch::WaitGroupGuard>();
    send_sync::<weir_core::latch::Wait<'_>>();
    send_static::<weir_core::latch::WaitOwned>();
    fn unpin<T: Unpin>() {}
    unpin::<weir_core::latch::Wait<'_>>();
    unpin::<weir_core::latch::WaitOwned>();
}
