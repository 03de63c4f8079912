//! Closing a channel: `Sender::close`, the last sender's drop, and what
//! senders and receivers see afterwards.

use std::pin::pin;
use std::sync::Arc;
use std::thread;

use futures::poll;
use weir_core::chan::{self, SendError, SendTimeoutError, TryRecvError, TrySendError};

use crate::support::{poll_with, WakeFlag};

#[test]
fn close_returns_true_once_and_is_seen_by_both_ends() {
    let (tx, rx) = chan::bounded::<u8>(2);
    assert!(!tx.is_closed() && !rx.is_closed());
    assert!(tx.close());
    assert!(tx.is_closed() && rx.is_closed());
    assert!(!tx.close());
}

#[test]
fn close_from_one_clone_closes_the_channel_for_all() {
    let (tx, rx) = chan::bounded(4);
    let tx2 = tx.clone();
    tx.try_send(1).unwrap();
    assert!(tx2.close());
    assert!(tx.is_closed());
    assert_eq!(tx.try_send(2), Err(TrySendError::Closed(2)));
    // A clone made after close is closed as well.
    let tx3 = tx.clone();
    assert_eq!(tx3.try_send(3), Err(TrySendError::Closed(3)));
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn dropping_the_last_sender_closes_but_dropping_a_clone_does_not() {
    let (tx, rx) = chan::bounded(4);
    let tx2 = tx.clone();
    assert_eq!(rx.sender_count(), 2);
    drop(tx);
    assert_eq!(rx.sender_count(), 1);
    assert!(!rx.is_closed());
    tx2.try_send(1).unwrap();
    drop(tx2);
    assert_eq!(rx.sender_count(), 0);
    assert!(rx.is_closed());
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[tokio::test(flavor = "current_thread")]
async fn buffered_items_survive_close_for_every_kind_of_receive() {
    for cap in [Some(8), None] {
        let (tx, rx) = match cap {
            Some(n) => chan::bounded(n),
            None => chan::unbounded(),
        };
        for i in 0..6 {
            tx.try_send(i).unwrap();
        }
        tx.close();
        // Closed, but not drained: receivers still get everything.
        assert!(rx.is_closed());
        assert_eq!(rx.len(), 6);
        assert_eq!(rx.try_recv(), Ok(0));
        assert_eq!(rx.recv().await, Some(1));
        assert_eq!(rx.recv_blocking(), Some(2));
        assert_eq!(rx.recv_timeout(std::time::Duration::ZERO), Ok(3));
        let mut buf = Vec::new();
        assert_eq!(rx.recv_many(&mut buf, 10).await, 2);
        assert_eq!(buf, [4, 5]);
        // Drained: every kind of receive sees the end, repeatedly.
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
        assert_eq!(rx.recv().await, None);
        assert_eq!(rx.recv_blocking(), None);
        assert_eq!(
            rx.recv_timeout(std::time::Duration::MAX),
            Err(chan::RecvTimeoutError::Closed)
        );
        assert_eq!(rx.recv_many(&mut buf, 10).await, 0);
        assert_eq!(buf.len(), 2);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn close_wakes_every_blocked_receiver() {
    let (tx, rx) = chan::bounded::<u32>(4);
    let ready = Arc::new(tokio::sync::Barrier::new(101));
    let mut receivers = Vec::new();
    for _ in 0..100 {
        let (rx, ready) = (rx.clone(), ready.clone());
        receivers.push(tokio::spawn(async move {
            let mut recv = pin!(rx.recv());
            assert!(poll!(&mut recv).is_pending());
            ready.wait().await; // registered as a waiter
            recv.await
        }));
    }
    ready.wait().await;
    assert!(tx.close());
    for r in receivers {
        assert_eq!(r.await.unwrap(), None);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn close_releases_every_blocked_sender_with_its_item() {
    for cap in [0, 1, 3] {
        let (tx, _rx) = chan::bounded::<usize>(cap);
        for i in 0..cap {
            tx.try_send(i).unwrap();
        }
        let ready = Arc::new(tokio::sync::Barrier::new(51));
        let mut senders = Vec::new();
        for i in 0..50 {
            let (tx, ready) = (tx.clone(), ready.clone());
            senders.push(tokio::spawn(async move {
                let mut send = pin!(tx.send(1000 + i));
                assert!(poll!(&mut send).is_pending());
                ready.wait().await;
                send.await
            }));
        }
        ready.wait().await;
        tx.close();
        for (i, s) in senders.into_iter().enumerate() {
            assert_eq!(s.await.unwrap(), Err(SendError(1000 + i)), "cap {cap}");
        }
    }
}

#[test]
fn close_releases_blocked_threads() {
    // A receiver blocked in `recv_blocking`, and a sender blocked in
    // `send_blocking` on a full channel, on their own threads.
    let (tx, rx) = chan::bounded::<u8>(1);
    let (tx2, rx2) = chan::bounded::<u8>(1);
    tx2.try_send(0).unwrap();
    let receiver = thread::spawn(move || rx.recv_blocking());
    let sender = {
        let tx2 = tx2.clone();
        thread::spawn(move || tx2.send_blocking(1))
    };
    let timed_sender = {
        let tx2 = tx2.clone();
        thread::spawn(move || tx2.send_timeout(2, std::time::Duration::MAX))
    };
    tx.close();
    tx2.close();
    assert_eq!(receiver.join().unwrap(), None);
    assert_eq!(sender.join().unwrap(), Err(SendError(1)));
    assert_eq!(
        timed_sender.join().unwrap(),
        Err(SendTimeoutError::Closed(2))
    );
    assert_eq!(rx2.try_recv(), Ok(0));
}

#[tokio::test(flavor = "current_thread")]
async fn sender_closed_resolves_on_close() {
    let (tx, _rx) = chan::bounded::<u8>(1);
    let tx2 = tx.clone();
    let mut closed = pin!(tx.closed());
    assert!(poll!(&mut closed).is_pending());
    tx2.close();
    closed.await;
    // Already closed: resolves at once.
    assert!(poll!(pin!(tx.closed())).is_ready());
}

/// A `closed` wait polled with `wakers[polls[i]]` at its `i`-th poll,
/// then the channel closed by `close`: which wakers were woken, and
/// whether the wait is ready after.
fn woken_after_polls(
    wakers: usize,
    polls: &[usize],
    close: impl FnOnce(chan::Sender<u8>, chan::Receiver<u8>),
) -> (Vec<bool>, bool) {
    let (tx, rx) = chan::bounded::<u8>(1);
    let watcher = tx.clone();
    let mut closed = pin!(watcher.closed());
    let flags: Vec<_> = (0..wakers).map(|_| Arc::new(WakeFlag::default())).collect();
    for &i in polls {
        assert!(poll_with(closed.as_mut(), &flags[i]).is_pending());
    }
    close(tx, rx);
    let last = *polls.last().expect("at least one poll");
    let woken = flags.iter().map(|f| f.was_woken()).collect();
    (woken, poll_with(closed.as_mut(), &flags[last]).is_ready())
}

/// Polled again and again with the same waker (its later polls skip the
/// listener), a `closed` wait is still woken by a close and by the last
/// receiver's drop.
#[test]
fn sender_closed_polled_again_with_its_waker_is_still_woken() {
    let by_close = |tx: chan::Sender<u8>, _rx| assert!(tx.close());
    let by_drop = |_tx, rx: chan::Receiver<u8>| drop(rx);
    assert_eq!(
        woken_after_polls(1, &[0, 0, 0], by_close),
        (vec![true], true)
    );
    assert_eq!(
        woken_after_polls(1, &[0, 0, 0], by_drop),
        (vec![true], true)
    );
}

/// Polled with a new waker, at any poll, it registers that one: the close
/// wakes the latest waker, and not the ones it replaced.
#[test]
fn sender_closed_wakes_the_waker_of_its_latest_poll() {
    for polls in [
        &[0, 1][..],
        &[0, 0, 1],
        &[0, 0, 0, 1, 1],
        &[0, 0, 0, 1, 1, 0],
    ] {
        let latest = *polls.last().unwrap();
        let want: Vec<bool> = (0..2).map(|i| i == latest).collect();
        let close = |tx: chan::Sender<u8>, _rx| assert!(tx.close());
        assert_eq!(
            woken_after_polls(2, polls, close),
            (want, true),
            "{polls:?}"
        );
    }
}

#[tokio::test(flavor = "current_thread")]
async fn sender_closed_stays_pending_while_the_channel_is_open() {
    let (tx, rx) = chan::bounded::<u8>(1);
    let tx2 = tx.clone();
    let watcher = tokio::spawn(async move { tx2.closed().await });
    tokio::task::yield_now().await;
    // Sending, receiving, and dropping a sender clone do not close it.
    tx.send(1).await.unwrap();
    assert_eq!(rx.recv().await, Some(1));
    drop(tx.clone());
    tokio::task::yield_now().await;
    assert!(!watcher.is_finished());
    tx.close();
    watcher.await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn send_all_on_a_closed_channel_returns_every_item_in_order() {
    let (tx, rx) = chan::bounded(8);
    tx.close();
    assert_eq!(
        tx.send_all(vec![1, 2, 3]).await,
        Err(SendError(vec![1, 2, 3]))
    );
    assert_eq!(rx.recv().await, None);
}

#[test]
fn closing_is_idempotent_across_explicit_close_and_drop() {
    let (tx, rx) = chan::bounded::<u8>(1);
    let tx2 = tx.clone();
    assert!(tx.close());
    drop(tx); // no double close, no panic
    assert!(!tx2.close());
    drop(tx2);
    assert!(rx.is_closed());
}

/// Sends racing a close on other threads: every send that returned `Ok` is
/// received exactly once, every failed send got its own item back, and the
/// receiver always reaches the end.
#[test]
fn sends_racing_close_are_received_or_returned() {
    const THREADS: usize = 4;
    const PER_THREAD: usize = 2_000;
    for round in 0..20 {
        let (tx, rx) = if round % 2 == 0 {
            chan::bounded(4)
        } else {
            chan::unbounded()
        };
        let senders: Vec<_> = (0..THREADS)
            .map(|t| {
                let tx = tx.clone();
                thread::spawn(move || {
                    let mut ok = Vec::new();
                    for i in 0..PER_THREAD {
                        let item = t * PER_THREAD + i;
                        match tx.send_blocking(item) {
                            Ok(()) => ok.push(item),
                            Err(SendError(back)) => {
                                assert_eq!(back, item);
                                break;
                            }
                        }
                        if i == PER_THREAD / 4 && t == 0 {
                            tx.close();
                        }
                    }
                    ok
                })
            })
            .collect();
        drop(tx);
        let mut received: Vec<usize> = rx.iter().collect();
        let mut sent: Vec<usize> = senders
            .into_iter()
            .flat_map(|s| s.join().unwrap())
            .collect();
        received.sort_unstable();
        sent.sort_unstable();
        assert_eq!(received, sent);
    }
}
