//! Issue 10 §2 and §3: who gets woken, and in which order senders are
//! served.
//!
//! * A future kept alive but never polled again swallows no wake-up: while
//!   an item (or a free slot) is available, some live waiter makes
//!   progress. Guards against the class of smol-rs/async-channel#45 (a
//!   forgotten blocked sender holds the only wake-up, the live sender sleeps
//!   with room in the channel) and async-rs/async-std#452 (a notified but
//!   idle receiver holds the wake-up, the item stays buffered).
//! * Blocked senders are served in arrival order: a blocked sender is never
//!   overtaken by more than `capacity` items from senders that started
//!   waiting after it (Go's FIFO `sendq`).
//!
//! Each case runs on a paused clock with a watchdog, so a lost wake-up is a
//! failure, not a hang.

use std::future::Future;
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use futures::poll;
use weir_core::chan::{self, Receiver, Sender};

use crate::support;
use support::{poll_with, WakeFlag};

/// Fails instead of hanging (free on the paused clock).
async fn within<F: Future>(what: &str, f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(60), f)
        .await
        .unwrap_or_else(|_| panic!("{what}: a live waiter never made progress"))
}

/// Lets spawned tasks run until they block.
async fn settle() {
    for _ in 0..16 {
        tokio::task::yield_now().await;
    }
}

fn full(cap: usize) -> (Sender<usize>, Receiver<usize>) {
    let (tx, rx) = chan::bounded(cap);
    for i in 0..cap {
        tx.try_send(i).unwrap();
    }
    (tx, rx)
}

// ------------------------------------------------------------ send side

/// async-channel#45: a full channel, a send polled once and then kept but
/// never polled again, a live sender waiting behind it; one receive frees
/// a slot, and the live sender gets it. The forgotten send sent nothing.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_forgotten_send_does_not_keep_a_freed_slot_from_a_live_sender() {
    for cap in [1, 4] {
        for forgotten_count in [1, 16] {
            let (tx, rx) = full(cap);
            let mut forgotten: Vec<_> = (0..forgotten_count)
                .map(|i| Box::pin(tx.send(1000 + i)))
                .collect();
            for f in &mut forgotten {
                assert!(poll!(f.as_mut()).is_pending());
            }
            let live = {
                let tx = tx.clone();
                tokio::spawn(async move { tx.send(2000).await })
            };
            settle().await;
            assert_eq!(rx.recv().await, Some(0));
            within("live sender", live).await.unwrap().unwrap();
            let got: Vec<usize> = rx.try_iter().collect();
            assert_eq!(got, (1..cap).chain([2000]).collect::<Vec<_>>(), "cap {cap}");
            drop(forgotten); // they sent nothing: their items are dropped
            assert!(rx.try_recv().is_err());
        }
    }
}

/// The same on a rendezvous channel: a waiting send's item is taken by the
/// next receive (the oldest first), so a forgotten send cannot block the
/// live one either: the second receive gets the live sender's item.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_forgotten_rendezvous_send_does_not_block_a_live_sender() {
    let (tx, rx) = chan::rendezvous();
    let mut forgotten = Box::pin(tx.send(1));
    assert!(poll!(forgotten.as_mut()).is_pending());
    let live = {
        let tx = tx.clone();
        tokio::spawn(async move { tx.send(2).await })
    };
    settle().await;
    let receiver = tokio::spawn(async move { (rx.recv().await, rx.recv().await) });
    assert_eq!(
        within("receiver", receiver).await.unwrap(),
        (Some(1), Some(2))
    );
    within("live sender", live).await.unwrap().unwrap();
    // The forgotten send's item was returned by a receive: it completed.
    assert_eq!(poll!(forgotten.as_mut()), Poll::Ready(Ok(())));
}

/// Many live senders behind forgotten ones all get through as receives free
/// slots, and the forgotten ones never send.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_senders_behind_many_forgotten_ones_all_get_through() {
    let (tx, rx) = full(4);
    let mut forgotten: Vec<_> = (0..32).map(|i| Box::pin(tx.send(1000 + i))).collect();
    for f in &mut forgotten {
        assert!(poll!(f.as_mut()).is_pending());
    }
    let live: Vec<_> = (0..8)
        .map(|i| {
            let tx = tx.clone();
            tokio::spawn(async move {
                for j in 0..4 {
                    tx.send(2000 + i * 10 + j).await.unwrap();
                }
            })
        })
        .collect();
    let mut got = Vec::new();
    for _ in 0..(4 + 32) {
        got.push(within("receive", rx.recv()).await.unwrap());
    }
    for l in live {
        within("live sender", l).await.unwrap();
    }
    got.sort_unstable();
    let mut want: Vec<usize> = (0..4)
        .chain((0..8).flat_map(|i| (0..4).map(move |j| 2000 + i * 10 + j)))
        .collect();
    want.sort_unstable();
    assert_eq!(got, want, "no forgotten item sent, every live one received");
    drop(forgotten);
}

// --------------------------------------------------------- receive side

/// async-std#452's class: a receive polled once and kept unpolled, a live
/// receiver waiting too, one item sent: the live receiver gets it.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_forgotten_receive_does_not_keep_an_item_from_a_live_receiver() {
    for cap in [1, 4] {
        for forgotten_count in [1, 16] {
            let (tx, rx) = chan::bounded::<usize>(cap);
            let mut forgotten: Vec<_> = (0..forgotten_count).map(|_| Box::pin(rx.recv())).collect();
            for f in &mut forgotten {
                assert!(poll!(f.as_mut()).is_pending());
            }
            let live = {
                let rx = rx.clone();
                tokio::spawn(async move { rx.recv().await })
            };
            settle().await;
            let sender = tokio::spawn(async move { tx.send(7).await });
            assert_eq!(
                within("live receiver", live).await.unwrap(),
                Some(7),
                "cap {cap}"
            );
            within("sender", sender).await.unwrap().unwrap();
            drop(forgotten);
        }
    }
}

/// On a rendezvous channel Go's contract hands the item to a waiting
/// receive, which may be a forgotten future: the send completes at once,
/// and the item is the forgotten future's until it is dropped; then it
/// goes back to the head of the line and the live receiver gets it.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_rendezvous_item_handed_to_a_forgotten_receive_comes_back_when_it_drops() {
    for forgotten_count in [1, 16] {
        let (tx, rx) = chan::rendezvous::<usize>();
        let mut forgotten: Vec<_> = (0..forgotten_count).map(|_| Box::pin(rx.recv())).collect();
        for f in &mut forgotten {
            assert!(poll!(f.as_mut()).is_pending());
        }
        let live = {
            let rx = rx.clone();
            tokio::spawn(async move { rx.recv().await })
        };
        settle().await;
        let sender = {
            let tx = tx.clone();
            tokio::spawn(async move { tx.send(7).await })
        };
        within("sender", sender).await.unwrap().unwrap();
        settle().await;
        assert!(!live.is_finished(), "the forgotten receive holds the item");
        drop(forgotten);
        assert_eq!(within("live receiver", live).await.unwrap(), Some(7));
        drop(tx);
    }
}

/// A forgotten *stream* poll and a forgotten `recv_many` do not keep items
/// from a live receiver either.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn forgotten_stream_and_batch_receives_do_not_keep_items() {
    use futures::StreamExt;
    for cap in [1, 4] {
        let (tx, mut rx) = chan::bounded::<usize>(cap);
        let other = rx.clone();
        let mut buf = Vec::new();
        let mut batch = Box::pin(other.recv_many(&mut buf, 4));
        assert!(poll!(batch.as_mut()).is_pending());
        assert!(poll!(rx.next()).is_pending()); // the stream waits, then is left
        let live = {
            let rx = rx.clone();
            tokio::spawn(async move { (rx.recv().await, rx.recv().await) })
        };
        settle().await;
        tx.send(1).await.unwrap();
        tx.send(2).await.unwrap();
        assert_eq!(within("live", live).await.unwrap(), (Some(1), Some(2)));
        drop(batch);
        assert!(buf.is_empty());
        drop(other);
    }
}

/// A live receiver keeps getting items while forgotten receives stay
/// registered (each forgotten one is woken once, then not counted on).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_receiver_keeps_getting_items_past_many_forgotten_ones() {
    let (tx, rx) = chan::bounded::<usize>(4);
    let mut forgotten: Vec<_> = (0..32).map(|_| Box::pin(rx.recv())).collect();
    for f in &mut forgotten {
        assert!(poll!(f.as_mut()).is_pending());
    }
    let live = {
        let rx = rx.clone();
        tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(v) = rx.recv().await {
                got.push(v);
            }
            got
        })
    };
    for i in 0..200 {
        within("send", tx.send(i)).await.unwrap();
    }
    drop(tx);
    let got = within("live", live).await.unwrap();
    assert_eq!(got, (0..200).collect::<Vec<_>>());
    drop(forgotten);
}

// ------------------------------------------------------------- fairness

/// Go's FIFO `sendq`: senders that block one after another are served in
/// that order when receives free slots.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn blocked_senders_are_served_in_arrival_order() {
    for cap in [1, 4] {
        let (tx, rx) = full(cap);
        let mut senders = Vec::new();
        for i in 0..8 {
            let tx = tx.clone();
            senders.push(tokio::spawn(async move { tx.send(100 + i).await }));
            settle().await; // blocked, in line, before the next one starts
        }
        let mut got = Vec::new();
        for _ in 0..(cap + 8) {
            got.push(within("receive", rx.recv()).await.unwrap());
        }
        let want: Vec<usize> = (0..cap).chain(100..108).collect();
        assert_eq!(got, want, "cap {cap}");
        for s in senders {
            s.await.unwrap().unwrap();
        }
    }
}

/// The bound itself, polled by hand: with `bounded(1)`, a later sender may
/// take a freed slot ahead of an older one in line once (`capacity` items),
/// but not twice while the older one is polled; then the older one goes
/// first.
#[test]
fn a_blocked_sender_is_overtaken_by_at_most_capacity_items() {
    let (tx, rx) = full(1);
    let (old_flag, new_flag) = (
        std::sync::Arc::<WakeFlag>::default(),
        std::sync::Arc::<WakeFlag>::default(),
    );
    let mut old = pin!(tx.send(10));
    assert!(poll_with(old.as_mut(), &old_flag).is_pending()); // first in line
    let mut newer = pin!(tx.send(20));
    assert!(poll_with(newer.as_mut(), &new_flag).is_pending()); // second
    assert_eq!(rx.try_recv(), Ok(0));
    assert!(old_flag.was_woken() && new_flag.was_woken());
    // The newer one is polled first and may overtake by one item (= cap).
    assert_eq!(poll_with(newer.as_mut(), &new_flag), Poll::Ready(Ok(())));
    let old_flag = std::sync::Arc::<WakeFlag>::default();
    assert!(poll_with(old.as_mut(), &old_flag).is_pending()); // full again: waits
    assert_eq!(rx.try_recv(), Ok(20));
    assert!(old_flag.was_woken());
    // A new send may not overtake the old one a second time...
    let third_flag = std::sync::Arc::<WakeFlag>::default();
    let mut third = pin!(tx.send(30));
    assert!(poll_with(third.as_mut(), &third_flag).is_pending());
    assert!(tx.try_send(31).unwrap_err().is_full());
    // ...the old one goes first, then the third.
    assert_eq!(poll_with(old.as_mut(), &old_flag), Poll::Ready(Ok(())));
    assert_eq!(rx.try_recv(), Ok(10));
    assert_eq!(poll_with(third.as_mut(), &third_flag), Poll::Ready(Ok(())));
    assert_eq!(rx.try_recv(), Ok(30));
}

/// Liveness over order: a sender woken for a freed slot and still not
/// polled when the next slot frees (a future nobody polls any more, as far
/// as the channel can tell) no longer holds the others back; polled later,
/// it still goes before anyone younger.
#[test]
fn a_woken_sender_that_is_not_polled_stops_holding_the_line() {
    let (tx, rx) = full(1);
    let old_flag = std::sync::Arc::<WakeFlag>::default();
    let mut old = pin!(tx.send(10));
    assert!(poll_with(old.as_mut(), &old_flag).is_pending());
    for i in 0..5 {
        rx.try_recv().unwrap(); // frees a slot; `old` is woken but not polled
        tx.try_send(100 + i).unwrap(); // a younger send gets in anyway
    }
    assert_eq!(rx.try_recv(), Ok(104));
    // Polled again, the old send is first for the next slot.
    let mut newer = pin!(tx.send(200));
    let new_flag = std::sync::Arc::<WakeFlag>::default();
    assert_eq!(poll_with(old.as_mut(), &old_flag), Poll::Ready(Ok(())));
    assert!(poll_with(newer.as_mut(), &new_flag).is_pending());
    assert_eq!(rx.try_recv(), Ok(10));
    assert_eq!(poll_with(newer.as_mut(), &new_flag), Poll::Ready(Ok(())));
}

/// Reservations wait in the same line as sends.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn reservations_and_sends_share_one_line() {
    let (tx, rx) = full(1);
    let a = {
        let tx = tx.clone();
        tokio::spawn(async move { tx.reserve().await.unwrap().send(1).unwrap() })
    };
    settle().await;
    let b = {
        let tx = tx.clone();
        tokio::spawn(async move { tx.send(2).await })
    };
    settle().await;
    assert_eq!(rx.recv().await, Some(0));
    assert_eq!(
        within("recv", rx.recv()).await,
        Some(1),
        "the reservation was first"
    );
    assert_eq!(within("recv", rx.recv()).await, Some(2));
    a.await.unwrap();
    b.await.unwrap().unwrap();
}
