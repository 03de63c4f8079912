//! When every `Receiver` is dropped: sends fail at once with their item,
//! `Sender::closed` resolves, and buffered items are released right then —
//! not later, when the last sender goes.

use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use futures::poll;
use weir_core::chan::{self, SendError, SendTimeoutError, TrySendError};

/// An item that counts its drops.
#[derive(Debug)]
struct Counted {
    id: usize,
    drops: Arc<AtomicUsize>,
}

impl Counted {
    fn new(id: usize, drops: &Arc<AtomicUsize>) -> Self {
        Counted {
            id,
            drops: drops.clone(),
        }
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "current_thread")]
async fn every_send_fails_fast_with_its_item() {
    for cap in [Some(0), Some(1), Some(4), None] {
        let (tx, rx) = match cap {
            Some(n) => chan::bounded(n),
            None => chan::unbounded(),
        };
        drop(rx);
        assert!(tx.is_closed());
        assert_eq!(tx.receiver_count(), 0);
        assert_eq!(tx.try_send(1), Err(TrySendError::Closed(1)));
        assert_eq!(tx.send(2).await, Err(SendError(2)));
        assert_eq!(tx.send_blocking(3), Err(SendError(3)));
        assert_eq!(
            tx.send_timeout(4, Duration::MAX),
            Err(SendTimeoutError::Closed(4))
        );
        assert_eq!(tx.send_all(vec![5, 6]).await, Err(SendError(vec![5, 6])));
    }
}

#[tokio::test(flavor = "current_thread")]
async fn only_the_last_receiver_counts() {
    let (tx, rx) = chan::bounded(4);
    let rx2 = rx.clone();
    let mut closed = pin!(tx.closed());
    assert!(poll!(&mut closed).is_pending());
    drop(rx);
    assert!(poll!(&mut closed).is_pending());
    assert!(!tx.is_closed());
    tx.send(1).await.unwrap();
    assert_eq!(rx2.recv().await, Some(1));
    drop(rx2);
    closed.await;
    assert!(tx.is_closed());
    assert_eq!(tx.send(2).await, Err(SendError(2)));
}

#[tokio::test(flavor = "current_thread")]
async fn sender_closed_resolves_when_receivers_go() {
    let (tx, rx) = chan::bounded::<u8>(1);
    let watcher = tokio::spawn(async move {
        tx.closed().await;
        tx
    });
    tokio::task::yield_now().await;
    assert!(!watcher.is_finished());
    drop(rx);
    let tx = watcher.await.unwrap();
    assert!(tx.is_closed());
}

/// The buffered items are dropped the moment the last receiver goes, while
/// the senders are still alive.
#[test]
fn buffered_items_are_released_when_the_last_receiver_drops() {
    let drops = Arc::new(AtomicUsize::new(0));
    for cap in [Some(8), None] {
        drops.store(0, Ordering::SeqCst);
        let (tx, rx) = match cap {
            Some(n) => chan::bounded(n),
            None => chan::unbounded(),
        };
        for id in 0..5 {
            tx.try_send(Counted::new(id, &drops)).unwrap();
        }
        let rx2 = rx.clone();
        drop(rx);
        assert_eq!(drops.load(Ordering::SeqCst), 0, "a receiver is left");
        assert_eq!(tx.len(), 5);
        drop(rx2);
        assert_eq!(
            drops.load(Ordering::SeqCst),
            5,
            "released with the last receiver"
        );
        assert_eq!(tx.len(), 0);
        // A later send hands its item back instead of keeping it.
        let back = tx
            .try_send(Counted::new(9, &drops))
            .unwrap_err()
            .into_inner();
        assert_eq!(back.id, 9);
        drop(back);
        assert_eq!(drops.load(Ordering::SeqCst), 6);
        drop(tx);
        assert_eq!(drops.load(Ordering::SeqCst), 6, "nothing dropped twice");
    }
}

/// A rendezvous send whose receive went away before returning the item
/// keeps its item; when the last receiver drops, the send fails with it.
/// (Before issue 10 the send returned `Ok` and the item was dropped with the
/// receiver.)
#[tokio::test(flavor = "current_thread")]
async fn a_rendezvous_send_gets_its_item_back_when_the_receivers_go() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = chan::rendezvous();
    let mut send = pin!(tx.send(Counted::new(1, &drops)));
    {
        let mut recv = pin!(rx.recv());
        assert!(poll!(&mut recv).is_pending()); // waiting first
        assert!(poll!(&mut send).is_pending()); // the send offers and waits
    } // the receive is dropped before it was polled again: it took nothing
    assert!(poll!(&mut send).is_pending(), "nobody returned the item");
    drop(rx);
    let back = send.await.unwrap_err().into_inner();
    assert_eq!(drops.load(Ordering::SeqCst), 0, "the item came back whole");
    drop(back);
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn blocked_senders_wake_with_their_items() {
    for cap in [0, 2] {
        let (tx, rx) = chan::bounded::<usize>(cap);
        for i in 0..cap {
            tx.try_send(i).unwrap();
        }
        let ready = Arc::new(tokio::sync::Barrier::new(21));
        let senders: Vec<_> = (0..20)
            .map(|i| {
                let (tx, ready) = (tx.clone(), ready.clone());
                tokio::spawn(async move {
                    let mut send = pin!(tx.send(100 + i));
                    assert!(poll!(&mut send).is_pending());
                    ready.wait().await;
                    send.await
                })
            })
            .collect();
        ready.wait().await;
        drop(rx);
        for (i, s) in senders.into_iter().enumerate() {
            assert_eq!(s.await.unwrap(), Err(SendError(100 + i)), "cap {cap}");
        }
    }
}

#[test]
fn blocked_threads_wake_with_their_items() {
    let (tx, rx) = chan::bounded::<u32>(1);
    tx.try_send(0).unwrap();
    let blocking = {
        let tx = tx.clone();
        thread::spawn(move || tx.send_blocking(1))
    };
    let timed = {
        let tx = tx.clone();
        thread::spawn(move || tx.send_timeout(2, Duration::MAX))
    };
    drop(rx);
    assert_eq!(blocking.join().unwrap(), Err(SendError(1)));
    assert_eq!(timed.join().unwrap(), Err(SendTimeoutError::Closed(2)));
}

/// Sends racing the last receiver's drop on other threads: every item is
/// dropped exactly once — handed back in the error, or released from the
/// buffer — and nothing is left in the channel once the receivers are gone.
#[test]
fn sends_racing_the_last_receiver_drop_lose_nothing_and_leak_nothing() {
    const THREADS: usize = 3;
    const PER_THREAD: usize = 500;
    for round in 0..30 {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = if round % 3 == 0 {
            chan::unbounded()
        } else {
            chan::bounded(round % 5)
        };
        let start = Arc::new(std::sync::Barrier::new(THREADS + 1));
        let senders: Vec<_> = (0..THREADS)
            .map(|t| {
                let (tx, drops, start) = (tx.clone(), drops.clone(), start.clone());
                thread::spawn(move || {
                    start.wait();
                    let mut returned = 0;
                    for i in 0..PER_THREAD {
                        let item = Counted::new(t * PER_THREAD + i, &drops);
                        match tx.try_send(item) {
                            Ok(()) => {}
                            Err(TrySendError::Full(back)) => drop(back),
                            Err(TrySendError::Closed(back)) => {
                                assert_eq!(back.id, t * PER_THREAD + i);
                                returned += 1;
                            }
                        }
                    }
                    returned
                })
            })
            .collect();
        start.wait();
        let taken = rx.try_recv().ok();
        drop(taken);
        drop(rx);
        let returned: usize = senders.into_iter().map(|s| s.join().unwrap()).sum();
        // In-flight sends finished: whichever came last released the buffer.
        assert_eq!(tx.len(), 0);
        // Every item was dropped exactly once, while `tx` is still alive.
        assert_eq!(drops.load(Ordering::SeqCst), THREADS * PER_THREAD);
        assert!(returned <= THREADS * PER_THREAD);
        drop(tx);
        assert_eq!(drops.load(Ordering::SeqCst), THREADS * PER_THREAD);
    }
}
