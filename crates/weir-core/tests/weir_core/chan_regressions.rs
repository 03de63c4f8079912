//! Regression tests for races that bit similar channels (flume, tokio's
//! `mpsc`/`Notify`, async-channel and its async-std predecessor, and a few
//! of their neighbours). Each test names the upstream issue it is modelled
//! on and says which broken implementation it would catch; none reuses
//! upstream code.
//!
//! Races that need real parallelism run on multi-thread runtimes or plain
//! threads, repeated; a watchdog turns a hang into a failure. Nothing here
//! asserts on timing.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{mpsc as std_mpsc, Arc};
use std::task::{Context, Poll};
use std::thread;
use std::time::Duration;

use futures::executor::block_on;
use futures::poll;
use futures::stream::FusedStream;
use futures::task::noop_waker;
use tokio::sync::{Barrier, Notify, Semaphore};
use weir_core::chan::{self, Receiver, SendError, Sender, TryRecvError, TrySendError};

// ---------------------------------------------------------------- helpers

use crate::support;
use support::{poll_with, WakeFlag};

/// An item that counts its drops.
#[derive(Debug)]
struct Counted(usize, Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.1.fetch_add(1, Ordering::SeqCst);
    }
}

/// `Some(n)`: `bounded(n)`; `None`: `unbounded()`.
fn channel<T>(cap: Option<usize>) -> (Sender<T>, Receiver<T>) {
    match cap {
        Some(n) => chan::bounded(n),
        None => chan::unbounded(),
    }
}

/// Fails the test instead of hanging it.
async fn watchdog<F: Future>(what: &str, f: F) -> F::Output {
    match tokio::time::timeout(Duration::from_secs(60), f).await {
        Ok(out) => out,
        Err(_) => panic!("watchdog: {what} did not finish in 60 s (lost wake-up or deadlock?)"),
    }
}

/// Runs `f` on its own thread and fails the test if it does not return
/// within 60 s (a deadlock), instead of hanging the test binary.
fn on_thread_with_watchdog(what: &str, f: impl FnOnce() + Send + 'static) {
    let (done, finished) = std_mpsc::channel();
    let worker = thread::spawn(move || {
        f();
        let _ = done.send(());
    });
    match finished.recv_timeout(Duration::from_secs(60)) {
        Ok(()) => worker.join().unwrap(),
        // The closure panicked: report its panic.
        Err(std_mpsc::RecvTimeoutError::Disconnected) => {
            if let Err(panic) = worker.join() {
                std::panic::resume_unwind(panic);
            }
        }
        Err(std_mpsc::RecvTimeoutError::Timeout) => panic!("watchdog: {what} deadlocked"),
    }
}

// ------------------------------------------------------- lost wake-ups

/// async-rs/async-std#452 (the channel that became async-channel): two
/// receivers asleep, two sends in a row before either runs; the second send
/// saw "a receiver is already notified" and woke no one, so the second
/// receiver slept with an item in the channel.
///
/// Catches: a send that wakes "at least one" waiter (`notify(1)`) instead of
/// "one more" (`notify_additional(1)`).
#[test]
fn two_sends_in_a_row_wake_two_sleeping_receivers() {
    // (Not rendezvous: there `try_send` never succeeds; see
    // `chan_rendezvous.rs`.)
    for cap in [Some(4), None] {
        let (tx, rx) = channel::<u32>(cap);
        let (a, b) = (Arc::<WakeFlag>::default(), Arc::<WakeFlag>::default());
        let mut first = pin!(rx.recv());
        let mut second = pin!(rx.recv());
        assert!(poll_with(first.as_mut(), &a).is_pending());
        assert!(poll_with(second.as_mut(), &b).is_pending());
        tx.try_send(1).unwrap();
        tx.try_send(2).unwrap();
        assert!(a.was_woken() && b.was_woken(), "cap {cap:?}: both woken");
        assert_eq!(poll_with(first, &a), Poll::Ready(Some(1)), "cap {cap:?}");
        assert_eq!(poll_with(second, &b), Poll::Ready(Some(2)), "cap {cap:?}");
    }
}

/// The same on the sending side (the fix proposed in smol-rs/async-channel#45
/// and #16): two senders blocked on a full channel, two receives in a row
/// before either sender runs — both senders must be woken.
#[test]
fn two_receives_in_a_row_wake_two_blocked_senders() {
    let (tx, rx) = chan::bounded::<u32>(2);
    tx.try_send(0).unwrap();
    tx.try_send(1).unwrap();
    let (a, b) = (Arc::<WakeFlag>::default(), Arc::<WakeFlag>::default());
    let mut first = pin!(tx.send(2));
    let mut second = pin!(tx.send(3));
    assert!(poll_with(first.as_mut(), &a).is_pending());
    assert!(poll_with(second.as_mut(), &b).is_pending());
    assert_eq!(rx.try_recv(), Ok(0));
    assert_eq!(rx.try_recv(), Ok(1));
    assert!(a.was_woken() && b.was_woken(), "both senders woken");
    assert_eq!(poll_with(first, &a), Poll::Ready(Ok(())));
    assert_eq!(poll_with(second, &b), Poll::Ready(Ok(())));
    assert_eq!((rx.try_recv(), rx.try_recv()), (Ok(2), Ok(3)));
}

/// smol-rs/async-channel#45: a blocked sender that loses interest — kept
/// alive but never polled again — took every freed-slot wake-up, so the
/// other blocked senders were never rescheduled and the bounded channel
/// deadlocked for good.
///
/// A forgotten send may hold one wake-up (it was first in line), but no
/// more: the next freed slot must reach the next sender. Catches waking
/// with `notify(1)`, which counts the forgotten sender as "already woken"
/// forever.
#[test]
fn a_forgotten_send_holds_at_most_one_wakeup() {
    let (tx, rx) = chan::bounded::<u32>(2);
    tx.try_send(0).unwrap();
    tx.try_send(1).unwrap();
    let forgotten_flag = Arc::<WakeFlag>::default();
    let mut forgotten = Box::pin(tx.send(100));
    assert!(poll_with(forgotten.as_mut(), &forgotten_flag).is_pending());
    // From here on, `forgotten` is alive but never polled.
    let flag = Arc::<WakeFlag>::default();
    let mut next = pin!(tx.send(2));
    assert!(poll_with(next.as_mut(), &flag).is_pending());

    assert_eq!(rx.try_recv(), Ok(0)); // this wake-up may go to `forgotten`
    assert_eq!(rx.try_recv(), Ok(1)); // this one must reach `next`
    assert!(
        flag.was_woken(),
        "the second freed slot woke the live sender"
    );
    assert_eq!(poll_with(next, &flag), Poll::Ready(Ok(())));
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty), "100 never sent");
    drop(forgotten);
}

/// zesterer/flume#182: a receive future polled again while still pending
/// queued a fresh waiter entry on every poll, so the wait queue grew without
/// bound. Besides the memory, stale entries of one future can soak up the
/// wake-ups meant for other receivers.
///
/// Catches: registering a new waiter per poll without removing the old one
/// (the second receiver would never be woken).
#[test]
fn a_receive_polled_many_times_waits_in_line_once() {
    let (tx, rx) = chan::bounded::<u32>(4);
    let (a, b) = (Arc::<WakeFlag>::default(), Arc::<WakeFlag>::default());
    let mut busy = pin!(rx.recv());
    for _ in 0..1_000 {
        assert!(poll_with(busy.as_mut(), &a).is_pending());
    }
    let mut other = pin!(rx.recv());
    assert!(poll_with(other.as_mut(), &b).is_pending());
    tx.try_send(1).unwrap();
    tx.try_send(2).unwrap();
    assert!(a.was_woken(), "the busy receiver woken");
    assert!(b.was_woken(), "the other receiver woken too");
    assert_eq!(poll_with(busy, &a), Poll::Ready(Some(1)));
    assert_eq!(poll_with(other, &b), Poll::Ready(Some(2)));
}

/// Consumers receive in a `select!` against a "tick" that the producer
/// fires right after each send, so a `recv` is often dropped just after the
/// send woke it. One consumer at a time whose `recv` lost then sleeps
/// elsewhere until one more item has been received, so a wake-up it
/// swallowed is not covered by its own next `recv`: one of the others must
/// get it. The producer sends one item at a time and waits for it to come
/// out while the channel is open (closing wakes everyone and would hide a
/// loss).
async fn receives_cancelled_after_wakeup_lose_nothing(cap: usize, items: usize) {
    const CONSUMERS: usize = 3;
    const DONE: usize = usize::MAX;
    let (tx, rx) = chan::bounded::<usize>(cap);
    let tick = Arc::new(Notify::new());
    // How many items have been received so far.
    let (progress, watching) = tokio::sync::watch::channel(0usize);
    let progress = Arc::new(progress);
    let seen: Arc<Vec<AtomicU8>> = Arc::new((0..items).map(|_| AtomicU8::new(0)).collect());
    let cancelled = Arc::new(AtomicUsize::new(0));
    // At most one consumer sleeps at a time, so two are always receiving.
    let sleeper = Arc::new(Semaphore::new(1));

    let consumers: Vec<_> = (0..CONSUMERS)
        .map(|_| {
            let (rx, tick, progress, mut watching) =
                (rx.clone(), tick.clone(), progress.clone(), watching.clone());
            let (seen, cancelled, sleeper) = (seen.clone(), cancelled.clone(), sleeper.clone());
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        v = rx.recv() => match v {
                            Some(i) => {
                                seen[i].fetch_add(1, Ordering::Relaxed);
                                progress.send_modify(|n| *n += 1);
                            }
                            None => return,
                        },
                        () = tick.notified() => {
                            cancelled.fetch_add(1, Ordering::Relaxed);
                            if let Ok(_slot) = sleeper.try_acquire() {
                                let at = *watching.borrow_and_update();
                                let _ = watching.wait_for(|&n| n > at || n == DONE).await;
                            }
                        }
                    }
                }
            })
        })
        .collect();
    drop(rx);
    let mut watching = watching;
    watchdog(
        &format!("cap {cap}: every item received while open"),
        async {
            for i in 0..items {
                tx.send(i).await.unwrap();
                tick.notify_one();
                watching.wait_for(|&n| n > i).await.unwrap();
            }
        },
    )
    .await;
    drop(tx);
    progress.send_replace(DONE); // release a consumer still sleeping
    for c in consumers {
        c.await.unwrap();
    }
    for (i, n) in seen.iter().enumerate() {
        assert_eq!(n.load(Ordering::Relaxed), 1, "cap {cap}: item {i}");
    }
    // Otherwise the test proved nothing.
    assert!(
        cancelled.load(Ordering::Relaxed) > 0,
        "no receive was cancelled"
    );
}

/// tokio-rs/tokio#4618 (a `Notified` dropped after `notify_one` chose it took
/// the notification with it, and the next waiter slept forever) and
/// zesterer/flume#135 (messages lost when several threads `select!` on one
/// MPMC channel in a loop): a receive woken for an item and then cancelled
/// must pass its wake-up on, under load, across threads.
///
/// Catches: a dropped, already-notified receive that does not hand its
/// notification to the next waiter (an item then sits in the channel while
/// every consumer sleeps).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn buffered_receives_cancelled_after_wakeup_lose_nothing() {
    receives_cancelled_after_wakeup_lose_nothing(4, 3_000).await;
}

/// zesterer/flume#140 (async rendezvous channels deadlocked under load: a
/// send returned as soon as it found a waiting receiver's hook, before that
/// receiver took the item) and flume#145 (items stuck in a `bounded(0)`
/// channel): the same load on a rendezvous channel, where a receive that is
/// cancelled after a sender handed it an item must leave that item for the
/// next receive, and wake it.
///
/// Catches: a cancelled parked receiver that keeps counting as parked, or
/// whose handed-over item is neither received nor announced (the senders
/// then wait for a receiver that never comes: deadlock).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rendezvous_receives_cancelled_after_handover_lose_nothing() {
    receives_cancelled_after_wakeup_lose_nothing(0, 3_000).await;
}

/// tokio-rs/tokio#4618 again, for the batch futures: a `recv_many` woken
/// for an item and then dropped, and a `send_all` woken for a slot and then
/// dropped, each hand the wake-up to the next waiter.
#[tokio::test(flavor = "current_thread")]
async fn batch_futures_woken_then_dropped_pass_the_wakeup_on() {
    async fn settle() {
        for _ in 0..16 {
            tokio::task::yield_now().await;
        }
    }

    // recv_many
    let (tx, rx) = chan::bounded::<u32>(4);
    let mut buf = Vec::new();
    let mut many = Box::pin(rx.recv_many(&mut buf, 8));
    assert!(poll!(&mut many).is_pending()); // first in line
    let next = {
        let rx = rx.clone();
        tokio::spawn(async move { rx.recv().await })
    };
    settle().await; // the second receiver is waiting
    tx.send(1).await.unwrap(); // wakes `many`
    drop(many);
    settle().await;
    assert!(next.is_finished(), "lost wake-up: recv_many kept it");
    assert_eq!(next.await.unwrap(), Some(1));
    assert!(buf.is_empty());

    // send_all
    let (tx, rx) = chan::bounded::<u32>(1);
    tx.try_send(0).unwrap();
    let mut all = Box::pin(tx.send_all(vec![1, 2]));
    assert!(poll!(&mut all).is_pending()); // first in line
    let next = {
        let tx = tx.clone();
        tokio::spawn(async move { tx.send(3).await })
    };
    settle().await;
    assert_eq!(rx.recv().await, Some(0)); // frees a slot, wakes `all`
    drop(all);
    settle().await;
    assert!(next.is_finished(), "lost wake-up: send_all kept it");
    next.await.unwrap().unwrap();
    assert_eq!(rx.try_recv(), Ok(3));
}

// ------------------------------------------- lost messages around close

/// zesterer/flume#120: the async receive checked for an item, then saw the
/// sender gone and returned "disconnected" — but the sender had sent its
/// item and dropped in between, so the last item was lost.
///
/// Catches: deciding "closed" from the sender count (or the flag) without
/// looking at the queue once more afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_item_sent_just_before_the_last_sender_drops_is_received() {
    watchdog("send-then-drop races", async {
        for cap in [Some(0), Some(1), None] {
            for i in 0..300u32 {
                let (tx, rx) = channel(cap);
                let receiver = tokio::spawn(async move { (rx.recv().await, rx.recv().await) });
                let sender = tokio::spawn(async move { tx.send(i).await });
                sender.await.unwrap().unwrap();
                assert_eq!(receiver.await.unwrap(), (Some(i), None), "cap {cap:?}");
            }
        }
    })
    .await;
}

/// The same race between threads with blocking calls (flume#120's sync
/// counterpart; crossbeam-style blocking receivers must re-check too).
#[test]
fn the_item_sent_just_before_the_last_sender_drops_is_received_blocking() {
    on_thread_with_watchdog("blocking send-then-drop races", || {
        for cap in [Some(0), Some(1), None] {
            for i in 0..200u32 {
                let (tx, rx) = channel(cap);
                let sender = thread::spawn(move || tx.send_blocking(i));
                assert_eq!(rx.recv_blocking(), Some(i), "cap {cap:?}");
                assert_eq!(rx.recv_blocking(), None, "cap {cap:?}");
                sender.join().unwrap().unwrap();
            }
        }
    });
}

/// tokio-rs/tokio#8074 (`try_recv` reported "disconnected" while a send that
/// had already been let in could still complete) and zesterer/flume#159
/// (`try_recv` may say "disconnected" only once the queue is empty): two
/// threads keep sending while a third closes the channel (or drops the last
/// sender) right after a send of its own; a consumer spinning on `try_recv`
/// must get every item whose send returned `Ok` before it sees `Closed`.
///
/// Catches: `try_recv` answering `Closed` from the close flag (or sender
/// count) while a push is still in flight, or without a final look at the
/// queue after seeing the flag.
#[test]
fn try_recv_says_closed_only_after_every_sent_item() {
    on_thread_with_watchdog("try_recv drain races", || {
        for round in 0..1_000usize {
            let (tx, rx) = chan::bounded::<usize>(64);
            let stop = Arc::new(AtomicBool::new(false));
            let busy: Vec<_> = (0..2)
                .map(|s| {
                    let (tx, stop) = (tx.clone(), stop.clone());
                    thread::spawn(move || {
                        let mut sent = 0;
                        while !stop.load(Ordering::Relaxed) {
                            match tx.try_send(s) {
                                Ok(()) => sent += 1,
                                Err(TrySendError::Full(_)) => thread::yield_now(),
                                Err(TrySendError::Closed(_)) => break,
                            }
                        }
                        sent
                    })
                })
                .collect();
            let last = {
                let stop = stop.clone();
                thread::spawn(move || {
                    let sent = usize::from(tx.try_send(9).is_ok());
                    if round % 2 == 0 {
                        tx.close();
                    }
                    stop.store(true, Ordering::Relaxed);
                    drop(tx); // the busy senders may still hold clones
                    sent
                })
            };
            let mut got = 0;
            loop {
                match rx.try_recv() {
                    Ok(_) => got += 1,
                    Err(TryRecvError::Empty) => std::hint::spin_loop(),
                    Err(TryRecvError::Closed) => break,
                }
            }
            let sent =
                last.join().unwrap() + busy.into_iter().map(|s| s.join().unwrap()).sum::<usize>();
            assert_eq!(got, sent, "round {round}: an item sent with Ok was lost");
            assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
        }
    });
}

/// tokio-rs/tokio#2854 (a receiver waiting on a closed channel was not
/// notified when the last outstanding send finished without sending, so
/// shutdown hung until every sender handle dropped): `close` races a
/// `try_send` that may still be in flight — one that then backs out
/// because it saw the channel closed — while a receiver waits.
///
/// Catches: the last in-flight send after close not waking the receivers
/// that saw "closed, but a send is in flight" and went to sleep.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn close_racing_an_in_flight_send_still_ends_the_waiting_receiver() {
    watchdog("close vs in-flight send", async {
        for round in 0..500u32 {
            let (tx, rx) = chan::bounded::<u32>(4);
            let closer = tx.clone();
            let go = Arc::new(Barrier::new(3));
            let receiver = {
                let go = go.clone();
                tokio::spawn(async move {
                    let mut recv = pin!(rx.recv());
                    assert!(poll!(&mut recv).is_pending());
                    go.wait().await;
                    let mut got = Vec::new();
                    if let Some(v) = recv.await {
                        got.push(v);
                        while let Some(v) = rx.recv().await {
                            got.push(v);
                        }
                    }
                    got
                })
            };
            let sender = {
                let go = go.clone();
                tokio::spawn(async move {
                    go.wait().await;
                    let sent = tx.try_send(round).is_ok();
                    // Keep `tx` until after the close may have happened, so
                    // the close is the explicit one, not the last drop.
                    (sent, tx)
                })
            };
            let closing = tokio::spawn(async move {
                go.wait().await;
                closer.close();
            });
            closing.await.unwrap();
            let (sent, tx) = sender.await.unwrap();
            let got = receiver.await.unwrap();
            drop(tx);
            let expected = if sent { vec![round] } else { vec![] };
            assert_eq!(got, expected, "round {round}");
        }
    })
    .await;
}

/// Kotlin/kotlinx.coroutines#359 (a send racing `close` could be lost:
/// closing was not atomic with respect to waiting senders): close from a
/// sender's clone while many senders are blocked on a full channel. Every
/// blocked sender must be released by the close itself (the receiver reads
/// nothing more until they all returned); then every sender's items must
/// arrive as an unbroken prefix of what it sent, and the first item that
/// did not arrive must be the one handed back — no item lost, none
/// duplicated, none delivered after a failed one.
///
/// Catches: a close that does not wake blocked senders (hang), and a close
/// that lets a racing send store its item after the senders were told
/// "closed" (broken prefix).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn close_while_senders_are_blocked_loses_and_duplicates_nothing() {
    const SENDERS: usize = 8;
    const PER_SENDER: usize = 200;
    watchdog("close vs blocked senders", async {
        for round in 0..20 {
            let (tx, rx) = chan::bounded::<(usize, usize)>(2);
            let closer = tx.clone();
            let senders: Vec<_> = (0..SENDERS)
                .map(|s| {
                    let tx = tx.clone();
                    tokio::spawn(async move {
                        for k in 0..PER_SENDER {
                            if let Err(SendError(item)) = tx.send((s, k)).await {
                                assert_eq!(item, (s, k), "a send hands back its own item");
                                return k;
                            }
                        }
                        PER_SENDER
                    })
                })
                .collect();
            drop(tx);
            let mut got = vec![Vec::new(); SENDERS];
            for _ in 0..100 + round * 37 {
                let (s, k) = rx.recv().await.unwrap();
                got[s].push(k);
            }
            closer.close(); // senders are blocked right now
            let mut failed_at = Vec::new();
            for sender in senders {
                failed_at.push(sender.await.unwrap());
            }
            while let Some((s, k)) = rx.recv().await {
                got[s].push(k);
            }
            for s in 0..SENDERS {
                assert!(
                    got[s].iter().copied().eq(0..failed_at[s]),
                    "round {round} sender {s}: received {:?}, handed back {}",
                    got[s],
                    failed_at[s]
                );
            }
        }
    })
    .await;
}

// ------------------------------------------------- receivers going away

/// tokio-rs/tokio#601 and rust-lang/futures-rs#909: a send racing the
/// receiver's drop returned `Ok` but its item stayed in the queue, neither
/// received nor released, until the last *sender* went away. Here a thread
/// keeps pushing batches with `send_all` (and single items with
/// `try_send`) while the last receiver drops on another thread: once both
/// are done — the sender still alive — every item has been released exactly
/// once, handed back or drained.
///
/// Catches: draining only at the receiver's drop, missing a push that was
/// already under way (or releasing an item twice).
#[test]
fn sends_racing_the_last_receivers_drop_release_every_item() {
    on_thread_with_watchdog("send_all vs receiver drop", || {
        for round in 0..300 {
            let drops = Arc::new(AtomicUsize::new(0));
            let made = Arc::new(AtomicUsize::new(0));
            let (tx, rx) = chan::bounded::<Counted>(256);
            let sender = {
                let (drops, made) = (drops.clone(), made.clone());
                thread::spawn(move || {
                    let mut next = 0;
                    loop {
                        let batch: Vec<_> = (next..next + 8)
                            .map(|i| Counted(i, drops.clone()))
                            .collect();
                        next += 8;
                        made.fetch_add(8, Ordering::SeqCst);
                        if block_on(tx.send_all(batch)).is_err() {
                            break;
                        }
                        made.fetch_add(1, Ordering::SeqCst);
                        if tx.try_send(Counted(next, drops.clone())).is_err() {
                            break;
                        }
                        next += 1;
                    }
                    tx
                })
            };
            let receiver = thread::spawn(move || {
                for _ in 0..round % 16 {
                    let _ = rx.try_recv();
                }
                drop(rx);
            });
            receiver.join().unwrap();
            let tx = sender.join().unwrap();
            assert_eq!(
                drops.load(Ordering::SeqCst),
                made.load(Ordering::SeqCst),
                "round {round}: items stuck in a channel nobody can read"
            );
            assert!(tx.is_empty());
        }
    });
}

/// An item whose `Drop` uses the channel it is buffered in.
struct Echo {
    tx: Option<Sender<Echo>>,
    dropped: Arc<AtomicUsize>,
}

impl Drop for Echo {
    fn drop(&mut self) {
        let Some(tx) = self.tx.take() else { return };
        // Each of these takes the channel's lock.
        let _ = (tx.len(), tx.is_full(), tx.is_closed());
        let echo = Echo {
            tx: None,
            dropped: self.dropped.clone(),
        };
        match tx.try_send(echo) {
            Err(TrySendError::Closed(_)) => {}
            _ => panic!("a send after the last receiver went must fail"),
        }
        self.dropped.fetch_add(1, Ordering::SeqCst);
        // Dropping `tx` here may drop the channel's last sender, which
        // closes it and wakes its waiters — from inside the drain.
    }
}

/// tokio-rs/tokio#1886 (dropping an `mpsc::Receiver` deadlocked: releasing
/// the buffered messages re-entered a lock the drop still held): the last
/// receiver drops while the buffer holds items whose `Drop` reads the
/// channel, sends on it, and drops its last senders.
///
/// Catches: releasing buffered items while holding the queue lock.
#[test]
fn dropping_the_last_receiver_releases_items_outside_the_lock() {
    on_thread_with_watchdog("receiver drop with re-entrant items", || {
        let dropped = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = chan::bounded::<Echo>(8);
        for _ in 0..8 {
            let echo = Echo {
                tx: Some(tx.clone()),
                dropped: dropped.clone(),
            };
            tx.try_send(echo).unwrap();
        }
        drop(tx); // the buffered items now hold the only senders
        assert_eq!(rx.sender_count(), 8);
        drop(rx);
        assert_eq!(dropped.load(Ordering::SeqCst), 8);
    });
}

/// zesterer/flume#89 (and the quickwit fix it led to): a worker died with
/// commands still queued, each carrying the sender of a reply channel;
/// flume kept the queued commands until every *sender* of the queue was
/// gone too, so requesters waited forever for replies that could never
/// come. When the last receiver goes, the queue's items — and the reply
/// senders inside them — must be released at once, even though the queue's
/// senders are still alive.
#[tokio::test(flavor = "current_thread")]
async fn a_dead_workers_queued_reply_senders_are_released() {
    struct Command {
        reply: Sender<u32>,
    }
    let (jobs, queue) = chan::bounded::<Command>(8);
    let worker = tokio::spawn(async move {
        let first = queue.recv().await.unwrap();
        first.reply.send(1).await.unwrap();
        // The worker dies here, dropping `queue` with commands buffered.
    });
    let mut answers = Vec::new();
    for _ in 0..3 {
        let (reply, answer) = chan::bounded(1);
        jobs.send(Command { reply }).await.unwrap();
        answers.push(answer);
    }
    worker.await.unwrap();
    assert!(jobs.is_closed(), "no receiver left");
    // Each answer is ready now: the reply, or the end of a reply channel
    // whose sender was released with the dead worker's queue.
    let replies: Vec<_> = answers
        .iter()
        .map(
            |answer| match poll_with(pin!(answer.recv()), &Arc::default()) {
                Poll::Ready(reply) => reply,
                Poll::Pending => panic!("a requester would wait forever for its reply"),
            },
        )
        .collect();
    assert_eq!(replies, [Some(1), None, None]);
}

/// tokio-rs/tokio#2800 (a producer learns that every receiver is gone only
/// on its next send; `closed()` was added so it can stop while waiting for
/// other work) — here racing the last receiver's drop on another task, many
/// times: `closed()` must register before it re-checks, or it sleeps
/// through the drop.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sender_closed_sees_the_last_receiver_drop_on_another_thread() {
    watchdog("Sender::closed vs receiver drop", async {
        for round in 0..500 {
            let (tx, rx) = chan::bounded::<u8>(1);
            let rx2 = rx.clone();
            let waiter = tokio::spawn(async move {
                tx.closed().await;
                tx.is_closed()
            });
            let dropper = tokio::spawn(async move {
                drop(rx2);
                drop(rx);
            });
            dropper.await.unwrap();
            assert!(waiter.await.unwrap(), "round {round}");
        }
    })
    .await;
}

// ------------------------------------------- dropped and forgotten sends

/// zesterer/flume#104 (is a cancelled `send_async` maybe still sent?) and
/// tokio-rs/tokio#5947 (data lost when a `send` is cancelled): a send that
/// was polled and then dropped, and one that was polled and then abandoned
/// (alive, never polled again), leave no trace: their items are never
/// received, no slot stays reserved for them, nothing is duplicated, and
/// the channel still closes and drains as if they had never existed.
#[tokio::test(flavor = "current_thread")]
async fn cancelled_and_abandoned_sends_leave_nothing_behind() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = chan::bounded::<Counted>(1);
    tx.try_send(Counted(0, drops.clone())).unwrap();
    {
        let mut cancelled = pin!(tx.send(Counted(1, drops.clone())));
        assert!(poll!(&mut cancelled).is_pending());
    }
    assert_eq!(
        drops.load(Ordering::SeqCst),
        1,
        "the cancelled item is dropped"
    );
    let mut abandoned = Box::pin(tx.send(Counted(2, drops.clone())));
    assert!(poll!(&mut abandoned).is_pending());

    assert_eq!(rx.recv().await.map(|c| c.0), Some(0));
    assert!(matches!(rx.try_recv(), Err(TryRecvError::Empty)));
    // The freed slot is not reserved for the abandoned send.
    tx.try_send(Counted(3, drops.clone())).unwrap();
    assert_eq!(rx.try_recv().map(|c| c.0).ok(), Some(3));
    // No phantom in-flight send keeps a closed channel from ending.
    assert!(tx.close());
    assert!(rx.recv().await.is_none());
    assert!(rx.is_terminated());
    // The abandoned send, polled at last, gets its own item back.
    match abandoned.as_mut().await {
        Err(SendError(item)) => assert_eq!(item.0, 2),
        Ok(()) => panic!("sent on a closed channel"),
    }
    drop(abandoned);
    assert_eq!(drops.load(Ordering::SeqCst), 4, "every item dropped once");
}

/// tokio-rs/tokio#6010 (`recv_many` with `limit == 0` must return 0 at once,
/// never sleep): on a rendezvous channel it must not even count as a
/// waiting receiver — otherwise a sender could hand an item to a receive
/// that will never take it.
#[tokio::test(flavor = "current_thread")]
async fn recv_many_with_limit_zero_neither_waits_nor_parks() {
    let (tx, mut rx) = chan::rendezvous::<u32>();
    let mut buf = Vec::new();
    assert_eq!(poll!(pin!(rx.recv_many(&mut buf, 0))), Poll::Ready(0));
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    assert_eq!(rx.poll_recv_many(&mut cx, &mut buf, 0), Poll::Ready(0));
    assert_eq!(tx.try_send(1), Err(TrySendError::Full(1)), "nobody waits");
    assert!(tx.is_full());

    // On a buffered channel with items: takes nothing.
    let (tx, rx) = chan::bounded::<u32>(4);
    tx.try_send(7).unwrap();
    assert_eq!(rx.recv_many(&mut buf, 0).await, 0);
    assert!(buf.is_empty());
    assert_eq!(rx.try_recv(), Ok(7));
}
