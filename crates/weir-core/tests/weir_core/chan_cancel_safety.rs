//! Cancel safety: a channel future dropped before it completes — a losing
//! `tokio::select!` branch, a timeout, an aborted task — leaves the channel as
//! if it had never been polled, and passes on any wake-up it was given.

use std::future::ready;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use futures::{poll, StreamExt};
use weir_core::chan::{self, TryRecvError, TrySendError};

/// An item that counts its drops.
#[derive(Debug)]
struct Counted(#[allow(dead_code)] u32, Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.1.fetch_add(1, Ordering::SeqCst);
    }
}

/// Runs every runnable task: on a current-thread runtime a task that has been
/// woken runs before this returns, so a task still unfinished afterwards was
/// never woken. (A lost wake-up fails the test instead of hanging it.)
async fn settle() {
    for _ in 0..16 {
        tokio::task::yield_now().await;
    }
}

async fn must_finish<T>(what: &str, task: tokio::task::JoinHandle<T>) -> T {
    settle().await;
    assert!(task.is_finished(), "lost wake-up: {what} was never woken");
    task.await.unwrap()
}

#[tokio::test(flavor = "current_thread")]
async fn a_recv_losing_a_select_takes_no_item() {
    let (tx, rx) = chan::bounded(4);
    // Polled, then dropped as the losing branch.
    tokio::select! {
        biased;
        _ = rx.recv() => unreachable!("the channel is empty"),
        _ = ready(()) => {}
    }
    // Polled, woken by the send, but dropped before it could take the item.
    {
        let mut recv = pin!(rx.recv());
        assert!(poll!(&mut recv).is_pending());
        tx.send(1).await.unwrap();
    }
    tx.send(2).await.unwrap();
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

/// A single consumer receiving in a `select!` that its `recv` often loses:
/// it still sees every item exactly once and in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn recvs_losing_selects_lose_nothing_under_load() {
    const N: u32 = 5_000;
    for cap in [0, 1, 16] {
        let (tx, rx) = chan::bounded(cap);
        tokio::spawn(async move {
            for i in 0..N {
                tx.send(i).await.unwrap();
            }
        });
        let mut got = Vec::with_capacity(N as usize);
        let mut losses = 0;
        loop {
            tokio::select! {
                v = rx.recv() => match v {
                    Some(v) => got.push(v),
                    None => break,
                },
                _ = tokio::task::yield_now() => losses += 1,
            }
        }
        assert_eq!(
            got,
            (0..N).collect::<Vec<_>>(),
            "cap {cap} ({losses} losses)"
        );
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_send_losing_a_select_sends_nothing() {
    let drops = Arc::new(AtomicUsize::new(0));
    // Full bounded channel.
    let (tx, rx) = chan::bounded(1);
    tx.try_send(Counted(0, drops.clone())).unwrap();
    tokio::select! {
        biased;
        _ = tx.send(Counted(1, drops.clone())) => unreachable!("the channel is full"),
        _ = ready(()) => {}
    }
    // The item went down with the future; the channel holds only item 0.
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    assert_eq!(rx.len(), 1);
    assert_eq!(rx.try_recv().unwrap().0, 0);
    assert!(matches!(rx.try_recv(), Err(TryRecvError::Empty)));

    // Rendezvous: a cancelled send leaves nothing for a later receiver.
    let (tx, rx) = chan::rendezvous();
    tokio::select! {
        biased;
        _ = tx.send(Counted(2, drops.clone())) => unreachable!("no receiver waits"),
        _ = ready(()) => {}
    }
    assert_eq!(drops.load(Ordering::SeqCst), 3);
    let mut recv = pin!(rx.recv());
    assert!(poll!(&mut recv).is_pending());
    assert!(matches!(rx.try_recv(), Err(TryRecvError::Empty)));
}

/// A producer sending in a `select!` that its `send` often loses, re-sending
/// the same value after a loss: the consumer sees each value exactly once,
/// in order — a losing send never sent its value. (Buffered channels only:
/// on a rendezvous channel a receive may return the item of a send waiting
/// in line, which commits it; see `chan_rendezvous.rs`.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sends_losing_selects_send_nothing_under_load() {
    const N: u32 = 5_000;
    for cap in [1, 16] {
        let (tx, rx) = chan::bounded(cap);
        let producer = tokio::spawn(async move {
            let mut i = 0;
            let mut losses = 0;
            while i < N {
                tokio::select! {
                    r = tx.send(i) => {
                        r.unwrap();
                        i += 1;
                    }
                    _ = tokio::task::yield_now() => losses += 1,
                }
            }
            losses
        });
        let mut got = Vec::with_capacity(N as usize);
        while let Some(v) = rx.recv().await {
            got.push(v);
        }
        let losses = producer.await.unwrap();
        assert_eq!(
            got,
            (0..N).collect::<Vec<_>>(),
            "cap {cap} ({losses} losses)"
        );
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_dropped_recv_many_takes_nothing() {
    let (tx, rx) = chan::bounded(8);
    let mut buf = Vec::new();
    {
        let mut many = pin!(rx.recv_many(&mut buf, 8));
        assert!(poll!(&mut many).is_pending());
        tx.send_all(vec![1, 2, 3]).await.unwrap();
    }
    assert!(buf.is_empty());
    tokio::select! {
        biased;
        _ = rx.recv_many(&mut buf, 0) => {} // limit 0: ready at once, takes nothing
        _ = ready(()) => unreachable!(),
    }
    assert!(buf.is_empty());
    assert_eq!(rx.len(), 3);
    assert_eq!(rx.recv_many(&mut buf, 8).await, 3);
    assert_eq!(buf, [1, 2, 3]);
}

#[tokio::test(flavor = "current_thread")]
async fn a_cancelled_rendezvous_receive_stops_waiting() {
    let (tx, rx) = chan::rendezvous::<u8>();
    {
        let mut recv = pin!(rx.recv());
        assert!(poll!(&mut recv).is_pending());
    }
    // The receiver no longer counts as waiting.
    assert_eq!(tx.try_send(1), Err(TrySendError::Full(1)));
    let mut buf = Vec::new();
    {
        let mut many = pin!(rx.recv_many(&mut buf, 4));
        assert!(poll!(&mut many).is_pending());
    }
    assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
}

/// A receive that was woken for an item and then dropped hands its wake-up
/// to the next waiting receiver.
#[tokio::test(flavor = "current_thread")]
async fn a_woken_then_dropped_recv_passes_the_wakeup_on() {
    let (tx, rx) = chan::bounded(4);
    let mut first = Box::pin(rx.recv());
    assert!(poll!(&mut first).is_pending()); // first in line
    let second = {
        let rx = rx.clone();
        tokio::spawn(async move { rx.recv().await })
    };
    tokio::task::yield_now().await; // the second receiver is waiting
    tx.send(1).await.unwrap(); // wakes the first in line
    drop(first);
    assert_eq!(must_finish("the second receiver", second).await, Some(1));
}

/// The same for senders: a send woken for a free slot and then dropped
/// hands its wake-up to the next waiting sender.
#[tokio::test(flavor = "current_thread")]
async fn a_woken_then_dropped_send_passes_the_wakeup_on() {
    let (tx, rx) = chan::bounded(1);
    tx.send(0).await.unwrap();
    let mut first = Box::pin(tx.send(1));
    assert!(poll!(&mut first).is_pending());
    let second = {
        let tx = tx.clone();
        tokio::spawn(async move { tx.send(2).await })
    };
    tokio::task::yield_now().await;
    assert_eq!(rx.recv().await, Some(0)); // frees a slot, wakes the first
    drop(first);
    must_finish("the second sender", second).await.unwrap();
    assert_eq!(rx.try_recv(), Ok(2));
}

#[tokio::test(flavor = "current_thread")]
async fn a_dropped_closed_future_has_no_effect() {
    let (tx, rx) = chan::bounded(1);
    {
        let mut closed = pin!(tx.closed());
        assert!(poll!(&mut closed).is_pending());
    }
    tx.send(1).await.unwrap();
    assert_eq!(rx.recv().await, Some(1));
    assert!(!tx.is_closed());
}

/// `send_all` is documented as not cancel safe: dropped part-way, the prefix
/// that fit has been sent and the rest is dropped with the future.
#[tokio::test(flavor = "current_thread")]
async fn a_dropped_send_all_has_sent_a_prefix() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = chan::bounded(2);
    {
        let items = (0..5).map(|i| Counted(i, drops.clone())).collect();
        let mut all = pin!(tx.send_all(items));
        assert!(poll!(&mut all).is_pending());
    }
    assert_eq!(drops.load(Ordering::SeqCst), 3);
    assert_eq!(rx.try_recv().unwrap().0, 0);
    assert_eq!(rx.try_recv().unwrap().0, 1);
    assert!(matches!(rx.try_recv(), Err(TryRecvError::Empty)));
}

/// A `Receiver` polled as a `Stream` in a `select!` branch that loses — then
/// left alone, as a task does when it moves on to other work — must not keep
/// a wake-up meant for a receiver that is still waiting.
///
/// (Regression: the `Stream` impl once registered on the same event as
/// `recv()`, so a send's single wake-up could go to the idle stream and the
/// waiting `recv()` slept with an item in the channel. async-channel keeps
/// stream waiters on a separate, notify-all event for this reason.)
#[tokio::test(flavor = "current_thread")]
async fn an_idle_stream_poll_does_not_swallow_a_wakeup() {
    let (tx, rx) = chan::bounded(4);
    let mut idle = rx.clone();
    tokio::select! {
        biased;
        _ = idle.next() => unreachable!("the channel is empty"),
        _ = ready(()) => {}
    }
    let waiter = tokio::spawn(async move { rx.recv().await });
    tokio::task::yield_now().await; // the receiver is waiting
    tx.send(1).await.unwrap();
    assert_eq!(
        must_finish("a receiver waiting behind an idle stream", waiter).await,
        Some(1)
    );
    drop(idle);
}
