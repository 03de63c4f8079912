//! Rendezvous channels (`rendezvous()` / `bounded(0)`, Go's unbuffered
//! `make(chan T)`): a send completes only once a receive has *returned* its
//! item; a receive that did not return took nothing; a `select!` never
//! receives its own send; nothing is ever left behind in the channel.

use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;
use std::thread;

use futures::{poll, StreamExt};
use weir_core::chan::{self, SendError, TryRecvError, TrySendError};

use crate::support;
use support::{poll_with, WakeFlag};

#[test]
fn capacity_zero_and_nothing_buffered() {
    let (tx, rx) = chan::rendezvous::<u8>();
    assert_eq!((tx.capacity(), rx.capacity()), (Some(0), Some(0)));
    assert_eq!((tx.len(), rx.len()), (0, 0));
    assert!(tx.is_empty() && rx.is_empty());
    let (tx0, _rx0) = chan::bounded::<u8>(0);
    assert_eq!(tx0.capacity(), Some(0));
    // Same behaviour: no receiver, no send.
    assert_eq!(tx0.try_send(1), Err(TrySendError::Full(1)));
}

/// `try_send` cannot wait for a receive to return its item, so on a
/// rendezvous channel it never succeeds, even with receivers waiting: an
/// item it "handed" to a waiting receive future could be stranded if that
/// future were dropped (the old behaviour this guards against).
#[tokio::test(flavor = "current_thread")]
async fn try_send_never_strands_an_item_with_a_waiting_receiver() {
    let (tx, rx) = chan::rendezvous();
    let mut first = pin!(rx.recv());
    assert!(poll!(&mut first).is_pending());
    assert_eq!(tx.try_send(1), Err(TrySendError::Full(1)));
    assert!(tx.is_full() && rx.is_full());
    assert!(poll!(&mut first).is_pending(), "nothing was handed over");
}

/// Go's receive from a blocked sender: `try_recv` takes the oldest waiting
/// sender's item, and that send completes.
#[tokio::test(flavor = "current_thread")]
async fn try_recv_takes_from_a_waiting_sender() {
    let (tx, rx) = chan::rendezvous();
    let mut first = pin!(tx.send(1));
    let mut second = pin!(tx.send(2));
    assert!(poll!(&mut first).is_pending());
    assert!(poll!(&mut second).is_pending());
    assert_eq!(rx.try_recv(), Ok(1), "oldest sender first");
    assert_eq!(poll!(&mut first), Poll::Ready(Ok(())));
    assert!(poll!(&mut second).is_pending());
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(second.await, Ok(()));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

/// Issue 10 §1: a send completes only once a receive has *returned* the
/// item. A receive waiting first and losing a `select!` after the send
/// arrived took nothing: the send keeps waiting, another receive gets it.
#[tokio::test(flavor = "current_thread")]
async fn a_receive_that_loses_a_select_takes_nothing() {
    let (tx, rx) = chan::rendezvous();
    let mut recv = Box::pin(rx.recv());
    assert!(poll!(&mut recv).is_pending()); // waiting first
    let mut send = pin!(tx.send(5));
    assert!(
        poll!(&mut send).is_pending(),
        "a send waits for the receive"
    );
    drop(recv); // lost a select before it was polled again
    assert!(
        poll!(&mut send).is_pending(),
        "still waiting: nothing taken"
    );
    // Another task's receive gets it (a task never receives its own send).
    let other = tokio::spawn(async move { rx.recv().await });
    assert_eq!(send.await, Ok(()));
    assert_eq!(other.await.unwrap(), Some(5));
}

/// Issue 10 §1: an item whose send returned `Ok` has been received; when the
/// last receiver goes, a waiting send gets its item back.
#[tokio::test(flavor = "current_thread")]
async fn the_last_receiver_dropping_hands_a_waiting_send_its_item() {
    let (tx, rx) = chan::rendezvous();
    let mut recv = Box::pin(rx.recv());
    assert!(poll!(&mut recv).is_pending());
    let mut send = pin!(tx.send(String::from("job")));
    assert!(poll!(&mut send).is_pending());
    drop(recv);
    drop(rx);
    assert_eq!(send.await, Err(SendError(String::from("job"))));
    assert!(tx.is_empty());
}

/// Go's `TestSelfSelect`: one task `select!`s both a send and a receive on
/// the same unbuffered channel; it never receives its own value. Two tasks
/// doing so pair with each other. (A task is a goroutine here: a receive
/// never takes a send pending in its own task.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_select_never_receives_its_own_send() {
    let (tx, rx) = chan::rendezvous::<u32>();
    // A task that is done closes `stop`, so the other one never waits for a
    // partner that has left.
    let (stop_tx, stop_rx) = chan::rendezvous::<()>();
    let tasks: Vec<_> = (0..2u32)
        .map(|me| {
            let (tx, rx) = (tx.clone(), rx.clone());
            let (stop_tx, stop_rx) = (stop_tx.clone(), stop_rx.clone());
            tokio::spawn(async move {
                for _ in 0..1000 {
                    tokio::select! {
                        r = tx.send(me) => r.unwrap(),
                        v = rx.recv() => assert_ne!(v, Some(me), "received its own send"),
                        _ = stop_rx.recv() => break,
                    }
                }
                stop_tx.close();
            })
        })
        .collect();
    drop((stop_tx, stop_rx));
    // A single-task select with nobody else around must not complete.
    let (tx1, rx1) = chan::rendezvous::<u32>();
    let mut lonely = Box::pin(async move {
        tokio::select! {
            _ = tx1.send(1) => "sent",
            _ = rx1.recv() => "received",
        }
    });
    assert!(poll!(&mut lonely).is_pending());
    assert!(poll!(&mut lonely).is_pending());
    for t in tasks {
        t.await.unwrap();
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_send_completes_only_when_a_receiver_takes_part() {
    let (tx, rx) = chan::rendezvous();
    let receiver = tokio::spawn(async move {
        let mut got = Vec::new();
        while let Some(v) = rx.recv().await {
            got.push(v);
        }
        got
    });
    for i in 0..100 {
        tx.send(i).await.unwrap();
        // Nothing is ever left buffered beyond the waiting receiver's share.
        assert!(tx.len() <= 1);
    }
    drop(tx);
    assert_eq!(receiver.await.unwrap(), (0..100).collect::<Vec<_>>());
}

#[tokio::test(flavor = "current_thread")]
async fn close_releases_waiting_senders_and_receivers() {
    let (tx, rx) = chan::rendezvous::<u8>();
    let mut send = pin!(tx.send(1));
    assert!(poll!(&mut send).is_pending());
    tx.close();
    assert_eq!(send.await, Err(SendError(1)));

    let (tx, rx2) = chan::rendezvous::<u8>();
    let mut recv = pin!(rx2.recv());
    assert!(poll!(&mut recv).is_pending());
    drop(tx);
    assert_eq!(recv.await, None);
    drop(rx);
}

/// A send waiting when the channel closes gets its item back: nothing is
/// left behind for a receive after the close.
#[tokio::test(flavor = "current_thread")]
async fn close_hands_waiting_sends_their_items_and_leaves_nothing() {
    let (tx, rx) = chan::rendezvous();
    let mut recv = pin!(rx.recv());
    assert!(poll!(&mut recv).is_pending());
    let mut send = pin!(tx.send(9));
    assert!(poll!(&mut send).is_pending());
    tx.close();
    assert_eq!(send.await, Err(SendError(9)));
    assert_eq!(recv.await, None);
    assert_eq!(rx.recv().await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_senders_and_receivers_exchange_every_item_once() {
    const SENDERS: usize = 4;
    const PER_SENDER: usize = 1_000;
    let (tx, rx) = chan::rendezvous();
    for s in 0..SENDERS {
        let tx = tx.clone();
        tokio::spawn(async move {
            for i in 0..PER_SENDER {
                tx.send(s * PER_SENDER + i).await.unwrap();
            }
        });
    }
    drop(tx);
    let receivers: Vec<_> = (0..4)
        .map(|_| {
            let rx = rx.clone();
            tokio::spawn(async move {
                let mut got = Vec::new();
                while let Some(v) = rx.recv().await {
                    got.push(v);
                }
                got
            })
        })
        .collect();
    drop(rx);
    let mut all = Vec::new();
    for r in receivers {
        all.extend(r.await.unwrap());
    }
    all.sort_unstable();
    assert_eq!(all, (0..SENDERS * PER_SENDER).collect::<Vec<_>>());
}

#[test]
fn threads_hand_over_with_blocking_calls() {
    let (tx, rx) = chan::rendezvous();
    let producers: Vec<_> = (0..3)
        .map(|p| {
            let tx = tx.clone();
            thread::spawn(move || {
                for i in 0..300 {
                    tx.send_blocking(p * 1_000 + i).unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    let mut got: Vec<u32> = rx.iter().collect();
    producers.into_iter().for_each(|p| p.join().unwrap());
    got.sort_unstable();
    let expected: Vec<u32> = (0..3)
        .flat_map(|p| (0..300).map(move |i| p * 1_000 + i))
        .collect();
    assert_eq!(got, expected);
}

/// A receive that gives up by timing out is not lost to a sender that was
/// woken by it: the item is kept for the next receive.
#[test]
fn zero_timeout_receives_racing_a_blocked_sender_lose_nothing() {
    for _ in 0..20 {
        let (tx, rx) = chan::rendezvous();
        let producer = thread::spawn(move || tx.send_blocking(5));
        let got = loop {
            match rx.recv_timeout(std::time::Duration::ZERO) {
                Ok(v) => break v,
                Err(chan::RecvTimeoutError::Timeout) => thread::yield_now(),
                Err(chan::RecvTimeoutError::Closed) => panic!("closed before the item"),
            }
        };
        assert_eq!(got, 5);
        assert_eq!(producer.join().unwrap(), Ok(()));
        assert_eq!(rx.recv_blocking(), None);
    }
}

/// A receiver waits; a sender offers; a `try_recv` elsewhere takes the
/// offer first. The waiting receiver finds nothing and waits on; a second
/// sender's offer then reaches it.
#[tokio::test(flavor = "current_thread")]
async fn an_offer_taken_by_try_recv_still_lets_the_next_sender_in() {
    let (tx, rx) = chan::rendezvous();
    let mut recv = pin!(rx.recv());
    assert!(poll!(&mut recv).is_pending());
    let mut a = pin!(tx.send('a'));
    assert!(poll!(&mut a).is_pending());
    assert_eq!(rx.try_recv(), Ok('a')); // taken elsewhere
    assert_eq!(poll!(&mut a), Poll::Ready(Ok(())));
    assert!(poll!(&mut recv).is_pending()); // found nothing, waits on
    let woken = Arc::new(WakeFlag::default());
    let mut b = pin!(tx.send('b'));
    assert!(poll_with(b.as_mut(), &woken).is_pending());
    assert_eq!(recv.await, Some('b'));
    assert!(woken.was_woken(), "the sender learns its item was taken");
    assert_eq!(b.await, Ok(()));
}

/// `recv_many` on a rendezvous channel takes several waiting senders' items
/// at once, oldest first, completing each of their sends.
#[tokio::test(flavor = "current_thread")]
async fn recv_many_takes_the_offers_of_several_waiting_senders() {
    let (tx, rx) = chan::rendezvous();
    let mut one = pin!(tx.send(1));
    let mut two = pin!(tx.send(2));
    let mut three = pin!(tx.send(3));
    for s in [one.as_mut(), two.as_mut(), three.as_mut()] {
        assert!(poll!(s).is_pending());
    }
    // Another task receives (a task never receives its own send).
    let rx2 = rx.clone();
    let batch = tokio::spawn(async move {
        let mut buf = Vec::new();
        rx2.recv_many(&mut buf, 2).await;
        buf
    });
    assert_eq!(batch.await.unwrap(), [1, 2]);
    assert_eq!(poll!(&mut one), Poll::Ready(Ok(())));
    assert_eq!(poll!(&mut two), Poll::Ready(Ok(())));
    assert!(poll!(&mut three).is_pending());
    let last = tokio::spawn(async move { rx.recv().await });
    assert_eq!(three.await, Ok(()));
    assert_eq!(last.await.unwrap(), Some(3));
}

/// A `Receiver` polled as a `Stream` in a losing `select!` branch and then
/// left alone holds nothing: a send still waits for a receive to return its
/// item, and the next receive (by any receiver) gets it.
#[tokio::test(flavor = "current_thread")]
async fn an_abandoned_stream_poll_holds_nothing() {
    let (tx, mut rx) = chan::rendezvous();
    tokio::select! {
        biased;
        _ = rx.next() => unreachable!("nobody sends"),
        _ = std::future::ready(()) => {}
    }
    assert_eq!(tx.try_send(1), Err(TrySendError::Full(1)));
    {
        let mut send = pin!(tx.send(1));
        assert!(poll!(&mut send).is_pending());
        assert_eq!(rx.clone().try_recv(), Ok(1));
        assert_eq!(send.await, Ok(()));
    }
    // The stream still works afterwards.
    let sender = tokio::spawn(async move { tx.send(2).await });
    assert_eq!(rx.next().await, Some(2));
    assert_eq!(sender.await.unwrap(), Ok(()));
}
