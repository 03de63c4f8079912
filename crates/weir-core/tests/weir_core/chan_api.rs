//! Issue 10 §4: what users of other channels expect — `Receiver::close`
//! (async-channel), `reserve` / `reserve_many` permits (tokio), weak
//! handles, `*_deadline`, `try_iter`, `is_full` on both ends.

use std::time::{Duration, Instant};

use futures::poll;
use weir_core::chan::{self, RecvTimeoutError, ReserveError, SendError, TryRecvError};

/// async-channel's `Receiver::close`: blocked senders get their items back,
/// later sends fail, buffered items still drain, then the end.
#[tokio::test(flavor = "current_thread")]
async fn receiver_close_stops_senders_and_drains() {
    let (tx, rx) = chan::bounded(1);
    tx.send(1).await.unwrap();
    let mut blocked = Box::pin(tx.send(2));
    assert!(poll!(blocked.as_mut()).is_pending());
    assert!(rx.close());
    assert!(!rx.close(), "closing twice is harmless");
    assert_eq!(blocked.await, Err(SendError(2)));
    assert_eq!(tx.send(3).await, Err(SendError(3)));
    assert!(tx.is_closed() && rx.is_closed());
    assert_eq!(rx.recv().await, Some(1));
    assert_eq!(rx.recv().await, None);
}

/// tokio's permit: a held slot makes the channel full for others; dropping
/// it unused hands the slot to the sender waiting in line.
#[tokio::test(flavor = "current_thread")]
async fn a_dropped_permit_gives_its_slot_to_a_waiting_sender() {
    let (tx, rx) = chan::bounded(1);
    let permit = tx.reserve().await.unwrap();
    assert!(tx.is_full() && rx.is_full());
    let mut waiting = Box::pin(tx.send(5));
    assert!(poll!(waiting.as_mut()).is_pending());
    drop(permit);
    assert_eq!(waiting.await, Ok(()));
    assert_eq!(rx.try_recv(), Ok(5));
}

/// A reservation dropped while it waits (it lost a `select!`) holds nothing
/// and leaves the line.
#[tokio::test(flavor = "current_thread")]
async fn a_cancelled_reservation_holds_nothing() {
    let (tx, rx) = chan::bounded(1);
    tx.send(0).await.unwrap();
    {
        let mut r = Box::pin(tx.reserve());
        assert!(poll!(r.as_mut()).is_pending());
    }
    assert_eq!(rx.try_recv(), Ok(0));
    tx.try_send(1).unwrap(); // the slot went to nobody else
    assert_eq!(rx.try_recv(), Ok(1));
}

/// `reserve_many(n)` waits for `n` slots at once; an over-large request and
/// a rendezvous channel are typed errors, never a hang.
#[tokio::test(flavor = "current_thread")]
async fn reserve_many_waits_for_all_its_slots() {
    let (tx, rx) = chan::bounded(3);
    tx.send(0).await.unwrap();
    tx.send(1).await.unwrap();
    let mut two = Box::pin(tx.reserve_many(2));
    assert!(poll!(two.as_mut()).is_pending(), "only one slot free");
    assert_eq!(rx.try_recv(), Ok(0));
    let permits = two.await.unwrap();
    assert_eq!(permits.len(), 2);
    for (p, v) in permits.zip([7, 8]) {
        p.send(v).unwrap();
    }
    assert_eq!(rx.try_iter().collect::<Vec<_>>(), [1, 7, 8]);
    assert_eq!(
        tx.reserve_many(4).await.unwrap_err(),
        ReserveError::OverCapacity {
            requested: 4,
            capacity: 3
        }
    );
    assert_eq!(tx.reserve_many(0).await.unwrap().len(), 0);
    let (rtx, _rrx) = chan::rendezvous::<u8>();
    assert_eq!(rtx.reserve().await.unwrap_err(), ReserveError::Rendezvous);
    let (utx, urx) = chan::unbounded();
    utx.reserve_many(1000)
        .await
        .unwrap()
        .for_each(|p| p.send(1).unwrap());
    assert_eq!(urx.len(), 1000);
}

/// A permit whose channel closed after the reservation gives its item back.
#[tokio::test(flavor = "current_thread")]
async fn a_permit_on_a_closed_channel_returns_the_item() {
    let (tx, rx) = chan::bounded(2);
    let permit = tx.reserve().await.unwrap();
    rx.close();
    assert_eq!(permit.send("late"), Err(SendError("late")));
    assert_eq!(tx.reserve().await.unwrap_err(), ReserveError::Closed);
}

/// Weak handles don't keep the channel open: the receiver sees the end when
/// the last strong sender goes, whatever weak senders remain.
#[tokio::test(flavor = "current_thread")]
async fn weak_handles_do_not_keep_the_channel_open() {
    let (tx, rx) = chan::bounded::<u8>(2);
    let weak_tx = tx.downgrade();
    let weak_rx = rx.downgrade();
    let upgraded = weak_tx.upgrade().unwrap();
    drop(tx);
    upgraded.send(1).await.unwrap();
    drop(upgraded);
    assert!(weak_tx.upgrade().is_none());
    assert_eq!(rx.recv().await, Some(1));
    assert_eq!(rx.recv().await, None);
    drop(rx);
    assert!(weak_rx.upgrade().is_none());
}

/// crossbeam's `*_deadline` on threads.
#[test]
fn deadlines_on_threads() {
    let (tx, rx) = chan::bounded(1);
    let soon = Instant::now() + Duration::from_millis(20);
    assert_eq!(rx.recv_deadline(soon), Err(RecvTimeoutError::Timeout));
    let sender = std::thread::spawn(move || {
        tx.send_deadline(1, Instant::now() + Duration::from_secs(30))
            .unwrap();
        let far = Instant::now() + Duration::from_secs(30);
        tx.send_deadline(2, far).unwrap();
        // Full and nobody receiving: the deadline wins, the item comes back.
        let back = tx
            .send_deadline(3, Instant::now() + Duration::from_millis(20))
            .unwrap_err();
        assert!(back.is_timeout());
        back.into_inner()
    });
    assert_eq!(
        rx.recv_deadline(Instant::now() + Duration::from_secs(30)),
        Ok(1)
    );
    assert_eq!(sender.join().unwrap(), 3);
    assert_eq!(rx.recv_deadline(Instant::now()), Ok(2));
    assert_eq!(
        rx.recv_deadline(Instant::now()),
        Err(RecvTimeoutError::Closed)
    );
}

/// `try_iter` drains what is buffered now and stops at the first empty.
#[test]
fn try_iter_stops_at_empty_without_waiting() {
    let (tx, rx) = chan::bounded(8);
    for i in 0..5 {
        tx.try_send(i).unwrap();
    }
    assert_eq!(rx.try_iter().take(3).collect::<Vec<_>>(), [0, 1, 2]);
    assert_eq!(rx.try_iter().collect::<Vec<_>>(), [3, 4]);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

/// `is_full` on both ends agrees with whether a send would wait.
#[test]
fn is_full_on_both_ends() {
    let (tx, rx) = chan::bounded(1);
    assert!(!tx.is_full() && !rx.is_full());
    tx.try_send(1).unwrap();
    assert!(tx.is_full() && rx.is_full());
    rx.try_recv().unwrap();
    assert!(!tx.is_full());
    let (rtx, rrx) = chan::rendezvous::<u8>();
    assert!(
        rtx.is_full() && rrx.is_full(),
        "a rendezvous send always waits"
    );
    let (utx, _urx) = chan::unbounded::<u8>();
    assert!(!utx.is_full());
}

/// Waits are timed only once the channel has an observer: a channel nobody
/// observes never reads the clock, and a wait that ended before the first
/// observer adds nothing to its totals.
#[tokio::test(flavor = "current_thread")]
async fn waits_are_timed_from_the_first_observer_on() {
    let (tx, rx) = chan::bounded::<u32>(1);
    let mut waiting = Box::pin(rx.recv());
    assert!(poll!(waiting.as_mut()).is_pending());
    tx.send(1).await.unwrap();
    assert_eq!(waiting.await, Some(1));
    let probe = rx.observer();
    assert_eq!(
        probe.recv_waited(),
        Duration::ZERO,
        "no observer: not timed"
    );

    let mut waiting = Box::pin(rx.recv());
    assert!(poll!(waiting.as_mut()).is_pending());
    std::thread::sleep(Duration::from_millis(1));
    tx.send(2).await.unwrap();
    assert_eq!(waiting.await, Some(2));
    assert!(probe.recv_waited() >= Duration::from_millis(1));
}

/// `Observer::sent` counts every item that entered the channel: single,
/// batch and permit sends, and on a rendezvous channel each item a receive
/// took from a waiting sender; receiving does not change it.
#[tokio::test(flavor = "current_thread")]
async fn an_observer_counts_every_item_sent() {
    let (tx, rx) = chan::bounded::<u32>(8);
    let probe = tx.observer();
    tx.send(1).await.unwrap();
    tx.try_send(2).unwrap();
    tx.send_all(vec![3, 4, 5]).await.unwrap();
    tx.reserve().await.unwrap().send(6).unwrap();
    assert_eq!(probe.sent(), 6);
    let mut got = Vec::new();
    rx.recv_many(&mut got, 10).await;
    assert_eq!((probe.sent(), got.len()), (6, 6));

    let (tx, rx) = chan::rendezvous::<u32>();
    let probe = rx.observer();
    let sender = tokio::spawn(async move {
        tx.send(7).await.unwrap();
        tx.send(8).await.unwrap();
    });
    assert_eq!(rx.recv().await, Some(7));
    assert_eq!(rx.recv().await, Some(8));
    sender.await.unwrap();
    assert_eq!(probe.sent(), 2);
}
