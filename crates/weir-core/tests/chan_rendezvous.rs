//! Rendezvous channels (`rendezvous()` / `bounded(0)`, Go's unbuffered
//! `make(chan T)`): a send completes only by handing its item to a waiting
//! receiver, so the channel never holds more items than it has waiting
//! receivers.

use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;
use std::thread;

use futures::{poll, StreamExt};
use weir_core::chan::{self, SendError, TryRecvError, TrySendError};

mod support;
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

#[tokio::test(flavor = "current_thread")]
async fn try_send_succeeds_once_per_waiting_receiver() {
    let (tx, rx) = chan::rendezvous();
    assert_eq!(tx.try_send(0), Err(TrySendError::Full(0)));
    let mut first = pin!(rx.recv());
    let mut second = pin!(rx.recv());
    assert!(poll!(&mut first).is_pending());
    assert!(poll!(&mut second).is_pending());
    assert_eq!(tx.try_send(1), Ok(()));
    assert_eq!(tx.try_send(2), Ok(()));
    assert_eq!(tx.try_send(3), Err(TrySendError::Full(3)));
    assert_eq!(first.await, Some(1));
    assert_eq!(second.await, Some(2));
    // Both receivers are done: no more hand-overs.
    assert_eq!(tx.try_send(4), Err(TrySendError::Full(4)));
}

#[tokio::test(flavor = "current_thread")]
async fn try_recv_does_not_pull_from_a_waiting_sender() {
    let (tx, rx) = chan::rendezvous();
    let mut send = pin!(tx.send(1));
    assert!(poll!(&mut send).is_pending());
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    assert!(poll!(&mut send).is_pending());
    // A receive that waits lets the sender hand over.
    let (sent, got) = tokio::join!(send, rx.recv());
    assert_eq!((sent, got), (Ok(()), Some(1)));
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

/// `Sender::is_full` is documented as: "A rendezvous channel counts as full
/// unless a receiver is waiting." With a receiver waiting, `try_send`
/// succeeds — so `is_full` must say `false`.
#[tokio::test(flavor = "current_thread")]
async fn is_full_is_false_while_a_receiver_waits() {
    let (tx, rx) = chan::rendezvous();
    assert!(tx.is_full(), "nobody waits");
    let mut recv = pin!(rx.recv());
    assert!(poll!(&mut recv).is_pending());
    assert!(
        !tx.is_full(),
        "a receiver is waiting, so a send would not wait"
    );
    assert_eq!(tx.try_send(1), Ok(()));
    assert_eq!(recv.await, Some(1));
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

/// An item handed over just before close still reaches the receiver it was
/// handed to.
#[tokio::test(flavor = "current_thread")]
async fn an_item_handed_over_before_close_is_received() {
    let (tx, rx) = chan::rendezvous();
    let mut recv = pin!(rx.recv());
    assert!(poll!(&mut recv).is_pending());
    tx.try_send(9).unwrap();
    tx.close();
    assert_eq!(recv.await, Some(9));
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

/// A receiver waits, a sender hands it an item, but a `try_recv` elsewhere
/// takes that item first. The receiver is still waiting (nothing to take),
/// and a second sender is waiting to hand over: the two must be brought
/// together — the sender must be woken — or both wait forever.
///
/// (Found by `chan_props`: rendezvous with a `try_recv` consumer next to a
/// waiting one hung.)
#[tokio::test(flavor = "current_thread")]
async fn a_handover_taken_by_try_recv_still_lets_the_next_sender_in() {
    let (tx, rx) = chan::rendezvous();
    let mut recv = pin!(rx.recv());
    assert!(poll!(&mut recv).is_pending()); // waiting: one hand-over allowed
    tx.try_send('a').unwrap(); // handed over for `recv`...
    let woken = Arc::new(WakeFlag::default());
    let mut send = pin!(tx.send('b'));
    assert!(poll_with(send.as_mut(), &woken).is_pending()); // only one receiver waits
    assert_eq!(rx.try_recv(), Ok('a')); // ...but taken by someone else
    assert!(poll!(&mut recv).is_pending()); // `recv` wakes, finds nothing, waits on
    assert!(
        woken.was_woken(),
        "a receiver and a sender both wait on a rendezvous channel, and nobody \
         wakes the sender: deadlock"
    );
    assert_eq!(send.await, Ok(()));
    assert_eq!(recv.await, Some('b'));
}

/// The same with `recv_many`: it waits as one receiver but may take several
/// handed-over items, including one meant for another waiting receiver.
#[tokio::test(flavor = "current_thread")]
async fn a_handover_taken_by_recv_many_still_lets_the_next_sender_in() {
    let (tx, rx) = chan::rendezvous();
    let mut recv = pin!(rx.recv());
    assert!(poll!(&mut recv).is_pending());
    let mut buf = Vec::new();
    {
        let mut many = pin!(rx.recv_many(&mut buf, 2));
        assert!(poll!(&mut many).is_pending());
        tx.try_send(1).unwrap(); // one hand-over per waiting receiver
        tx.try_send(2).unwrap();
        let woken = Arc::new(WakeFlag::default());
        let mut send = pin!(tx.send(3));
        assert!(poll_with(send.as_mut(), &woken).is_pending());
        assert_eq!(poll!(&mut many), Poll::Ready(2)); // takes both
        assert!(poll!(&mut recv).is_pending()); // still waiting, for nothing
        assert!(
            woken.was_woken(),
            "a receiver and a sender both wait on a rendezvous channel, and \
             nobody wakes the sender: deadlock"
        );
        assert_eq!(send.await, Ok(()));
    }
    assert_eq!(buf, [1, 2]);
    assert_eq!(recv.await, Some(3));
}

/// A `Receiver` polled as a `Stream` in a losing `select!` branch, then left
/// alone, is documented to still count as a waiting receiver until it yields
/// an item or is dropped — so a sender may hand it an item. That item must
/// not be lost: the next receive, by any receiver, gets it.
#[tokio::test(flavor = "current_thread")]
async fn an_item_handed_to_an_abandoned_stream_poll_is_not_lost() {
    let (tx, mut rx) = chan::rendezvous();
    tokio::select! {
        biased;
        _ = rx.next() => unreachable!("nobody sends"),
        _ = std::future::ready(()) => {}
    }
    match tx.try_send(1) {
        // Handed over to the idle stream: kept for the next receive.
        Ok(()) => {
            let other = rx.clone();
            assert_eq!(other.recv().await, Some(1));
        }
        // Or not counted as waiting at all (Go's behaviour): also fine.
        Err(TrySendError::Full(1)) => {}
        Err(e) => panic!("unexpected {e:?}"),
    }
    // Either way the stream still works afterwards.
    let mut recv_side = pin!(rx.next());
    assert!(poll!(&mut recv_side).is_pending());
    tx.try_send(2).unwrap();
    assert_eq!(recv_side.await, Some(2));
}
