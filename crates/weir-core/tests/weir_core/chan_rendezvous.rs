//! Rendezvous channels (`rendezvous()` / `bounded(0)`, Go's unbuffered
//! `make(chan T)`), on Go's contract: a send completes once a receive has
//! *taken* its item (handed straight into a waiting receive, or taken from
//! the waiting send); a receive dropped after an item was handed to it puts
//! it back at the head of the line; a task never pairs with itself;
//! `try_send` / `try_recv` succeed against a waiting counterpart.

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

/// Go's `select { case ch <- v: default: }` with a receiver waiting: the
/// item goes straight into the waiting receive, which returns it.
/// (Before Go's contract, `try_send` on a rendezvous channel was always
/// `Full`.)
#[tokio::test(flavor = "current_thread")]
async fn try_send_hands_the_item_to_a_waiting_receiver() {
    let (tx, rx) = chan::rendezvous();
    assert_eq!(tx.try_send(0), Err(TrySendError::Full(0)), "nobody waits");
    let woken = Arc::new(WakeFlag::default());
    let mut first = pin!(rx.recv());
    assert!(poll_with(first.as_mut(), &woken).is_pending());
    assert!(!tx.is_full(), "a receive is waiting");
    assert_eq!(tx.try_send(1), Ok(()));
    assert!(woken.was_woken(), "one wake-up: the receiver's");
    assert!(tx.is_full(), "nobody waits any more");
    assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
    assert_eq!(first.await, Some(1));
}

/// A task never hands an item to its own receive: `try_send` in the task
/// whose receive is waiting finds nobody (Go's `TestSelfSelect`).
#[tokio::test(flavor = "current_thread")]
async fn try_send_skips_a_receive_of_its_own_task() {
    let (tx, rx) = chan::rendezvous::<u8>();
    let task = tokio::spawn(async move {
        let mut recv = pin!(rx.recv());
        assert!(poll!(&mut recv).is_pending());
        let own = tx.try_send(1);
        (own, tx)
    });
    let (own, tx) = task.await.unwrap();
    assert_eq!(own, Err(TrySendError::Full(1)));
    drop(tx);
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

/// Issue 18 §2: a send into a waiting receive completes at once (the
/// receive has taken the item); if that receive then loses a `select!` and
/// is dropped before it returned, the item goes back to the head of the
/// line, ahead of any later sender's item, and the next receive gets it.
#[tokio::test(flavor = "current_thread")]
async fn a_receive_that_loses_a_select_gives_the_item_back_at_the_head() {
    let (tx, rx) = chan::rendezvous();
    let sender = tokio::spawn({
        let tx = tx.clone();
        async move {
            tx.send(5).await.unwrap();
            tx.send(6).await.unwrap();
        }
    });
    // Pending on its first poll, ready on the next: the branch that wins
    // once the sender task has handed 5 to the waiting receive (and woken
    // this task).
    let mut first = true;
    let wins_second_time = std::future::poll_fn(move |_| {
        if std::mem::take(&mut first) {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    });
    let lost = tokio::select! {
        biased;
        () = wins_second_time => None,
        v = rx.recv() => Some(v),
    };
    assert_eq!(lost, None, "the receive lost the select");
    // The send of 5 completed when it was handed over; 6 waits behind it.
    assert_eq!(rx.recv().await, Some(5), "the given-back item comes first");
    assert_eq!(rx.recv().await, Some(6));
    sender.await.unwrap();
    drop(tx);
    assert_eq!(rx.recv().await, None);
}

/// The same with a `futures::select!` under `futures::executor::block_on`
/// on a thread of its own, the sender on another thread: nothing lost,
/// nothing duplicated, order kept.
#[test]
fn a_give_back_under_block_on_keeps_order_and_loses_nothing() {
    use futures::FutureExt;
    let (tx, rx) = chan::rendezvous::<u32>();
    let sender = thread::spawn(move || {
        for i in 0..200 {
            tx.send_blocking(i).unwrap();
        }
    });
    let got = futures::executor::block_on(async {
        let mut got = Vec::new();
        let mut turn = 0u32;
        loop {
            turn += 1;
            // Every other turn the receive races a ready future and may be
            // dropped holding an item.
            let v = if turn % 2 == 0 {
                futures::select_biased! {
                    () = futures::future::ready(()).fuse() => continue,
                    v = rx.recv().fuse() => v,
                }
            } else {
                rx.recv().await
            };
            match v {
                Some(v) => got.push(v),
                None => break got,
            }
        }
    });
    sender.join().unwrap();
    assert_eq!(got, (0..200).collect::<Vec<_>>());
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

/// A task never pairs with itself: `join!(tx.send(v), rx.recv())` in one
/// task waits for another task, as one goroutine would; another task's
/// receive then takes the send and another task's send feeds the receive.
/// (Go's `TestSelfSelect` itself, on `chan::select!`, is in
/// `select_golang.rs`.)
#[tokio::test(flavor = "current_thread")]
async fn a_task_never_pairs_its_own_send_and_receive() {
    let (tx, rx) = chan::rendezvous::<u32>();
    let mut both = Box::pin(async { tokio::join!(tx.send(1), rx.recv()) });
    for _ in 0..3 {
        assert!(poll!(&mut both).is_pending(), "paired with itself");
        tokio::task::yield_now().await;
    }
    let (tx2, rx2) = (tx.clone(), rx.clone());
    let other = tokio::spawn(async move {
        let got = rx2.recv().await;
        tx2.send(2).await.unwrap();
        got
    });
    let (sent, got) = both.await;
    assert_eq!(sent, Ok(()));
    assert_eq!(got, Some(2));
    assert_eq!(other.await.unwrap(), Some(1));
}

/// The same with blocking calls: a thread is one task; under
/// `futures::executor::block_on`, a thread's future is recognised by its
/// waker. Two threads pair, each with the other.
#[test]
fn threads_under_block_on_pair_with_each_other_not_themselves() {
    let (tx, rx) = chan::rendezvous::<u32>();
    let threads: Vec<_> = (0..2u32)
        .map(|me| {
            let (tx, rx) = (tx.clone(), rx.clone());
            thread::spawn(move || {
                futures::executor::block_on(async {
                    let (sent, got) = futures::join!(tx.send(me), rx.recv());
                    sent.unwrap();
                    assert_eq!(got, Some(1 - me), "received its own send");
                })
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
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
    // Handed straight into the waiting receive: done at once, no wake-up.
    assert_eq!(poll_with(b.as_mut(), &woken), Poll::Ready(Ok(())));
    assert!(!woken.was_woken());
    assert_eq!(recv.await, Some('b'));
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
/// left alone is never handed an item (its wait lives as long as the
/// receiver and may never be polled again): a send waits with its offer,
/// and the next receive (by any receiver) takes it.
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
