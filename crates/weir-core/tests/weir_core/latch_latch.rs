//! `Latch`: a one-shot countdown (Java's `CountDownLatch`, C++'s
//! `std::latch`). No test sleeps to wait for something.

use std::future::Future;
use std::task::Poll;

use futures::FutureExt;
use weir_core::{Latch, WaitGroup};

/// Polls `fut` once, with a no-op waker.
fn poll_once<F: Future + Unpin>(fut: &mut F) -> Poll<F::Output> {
    fut.poll_unpin(&mut std::task::Context::from_waker(
        futures::task::noop_waker_ref(),
    ))
}

#[test]
fn counts_down_to_zero_and_stays_there() {
    let latch = Latch::new(3);
    assert_eq!(latch.count(), 3);
    assert!(!latch.count_down());
    assert!(!latch.count_down());
    assert_eq!(latch.count(), 1);
    assert!(!latch.try_wait());
    assert!(latch.count_down(), "the call that opens it says so");
    assert_eq!(latch.count(), 0);
    assert!(latch.try_wait());
    assert!(!latch.count_down(), "an open latch stays open");
    assert_eq!(latch.count(), 0);
}

#[test]
fn clone_shares_the_latch() {
    let latch = Latch::new(1);
    let other = latch.clone();
    assert!(other.count_down());
    assert!(latch.try_wait());
}

#[tokio::test]
async fn new_zero_is_already_open() {
    let latch = Latch::new(0);
    assert!(latch.try_wait());
    assert!(!latch.count_down());
    assert_eq!(poll_once(&mut latch.wait()), Poll::Ready(()));
    latch.wait().await;
    latch.wait_blocking();
}

#[tokio::test]
async fn wait_is_pending_until_open() {
    let latch = Latch::new(2);
    let mut wait = latch.wait();
    assert!(poll_once(&mut wait).is_pending());
    latch.count_down();
    assert!(poll_once(&mut wait).is_pending());
    latch.count_down();
    assert_eq!(poll_once(&mut wait), Poll::Ready(()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_wakes_when_counted_down_from_other_tasks() {
    let latch = Latch::new(4);
    let mut wait = latch.wait();
    assert!(poll_once(&mut wait).is_pending());
    for _ in 0..4 {
        let latch = latch.clone();
        tokio::spawn(async move { latch.count_down() });
    }
    wait.await;
    assert_eq!(latch.count(), 0);
}

#[test]
fn exactly_one_racing_count_down_opens_it() {
    let latch = Latch::new(8);
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let latch = latch.clone();
            std::thread::spawn(move || latch.count_down())
        })
        .collect();
    let opened = threads
        .into_iter()
        .map(|t| t.join().unwrap())
        .filter(|&opened| opened)
        .count();
    assert_eq!(opened, 1);
    assert!(latch.try_wait());
}

#[test]
fn wait_blocking_from_std_threads() {
    let latch = Latch::new(3);
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            let latch = latch.clone();
            std::thread::spawn(move || latch.wait_blocking())
        })
        .collect();
    for _ in 0..3 {
        let latch = latch.clone();
        std::thread::spawn(move || latch.count_down());
    }
    for w in waiters {
        w.join().unwrap();
    }
    assert_eq!(latch.count(), 0);
}

#[tokio::test]
async fn select_on_wait_then_drop_it() {
    let latch = Latch::new(1);
    let mut wait = latch.wait();
    tokio::select! {
        biased;
        _ = &mut wait => panic!("the latch is closed"),
        _ = std::future::ready(()) => {}
    }
    drop(wait); // cancelled mid-wait: no effect on the count
    assert_eq!(latch.count(), 1);
    let mut first = latch.wait();
    let mut second = latch.wait();
    assert!(poll_once(&mut first).is_pending());
    assert!(poll_once(&mut second).is_pending());
    drop(first);
    latch.count_down();
    second.await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_hundred_thousand_waiters_are_all_woken() {
    const WAITERS: usize = 100_000;
    let latch = Latch::new(1);
    let registered = WaitGroup::new();
    let woken = WaitGroup::new();
    for _ in 0..WAITERS {
        let latch = latch.clone();
        let registered = registered.guard();
        let woken = woken.guard();
        tokio::spawn(async move {
            let mut wait = latch.wait();
            assert!(futures::poll!(&mut wait).is_pending());
            drop(registered);
            wait.await;
            drop(woken);
        });
    }
    registered.wait().await.unwrap();
    assert_eq!(woken.count(), WAITERS);
    assert!(latch.count_down());
    woken.wait().await.unwrap();
}

#[test]
fn debug_output() {
    let latch = Latch::new(2);
    assert_eq!(format!("{latch:?}"), "Latch { count: 2 }");
    assert!(format!("{:?}", latch.wait()).starts_with("LatchWait {"));
}

#[test]
fn latch_is_send_sync_and_wait_is_unpin() {
    fn send_sync<T: Send + Sync>() {}
    fn unpin<T: Unpin>() {}
    send_sync::<Latch>();
    send_sync::<weir_core::latch::LatchWait<'_>>();
    unpin::<weir_core::latch::LatchWait<'_>>();
}
