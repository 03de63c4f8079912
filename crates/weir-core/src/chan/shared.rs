//! The state one channel's senders and receivers share, the race-free close
//! protocol, and how waiters are woken.
//!
//! # Close protocol
//!
//! The two end flags, `closed` (set by [`Sender::close`] or the last
//! sender's drop) and `rx_gone` (every receiver dropped), live under the
//! queue's lock, next to the items. A push checks them and stores its item
//! in one critical section; a pop that finds the queue empty reads `closed`
//! in the same critical section. So an item whose send returned `Ok` was
//! stored before the channel closed and is always received, and "closed and
//! drained" is decided atomically. `rx_gone` clears the queue under the lock
//! (the items are dropped outside it), after which no push can succeed.
//! `flags` mirrors both flags for lock-free reads (`is_closed`); it is only
//! written under the lock.
//!
//! # Wake-ups
//!
//! Each of the three hot events (`recv_ops`, `stream_ops`, `send_ops`) has a
//! count of registered waiters. `event_listener`'s `notify` always takes a
//! full fence and its list lock, so a push or pop notifies only when the
//! matching count is non-zero. That is race-free because a waiter counts
//! itself *before* registering its listener and then re-checks the channel
//! under the queue lock, while a push or pop reads the count *after* its own
//! critical section: whichever of the two critical sections comes second
//! sees the other's effect (the item, or the count), through the lock alone.
//!
//! `tests/loom_chan.rs` model-checks this with loom.
//!
//! [`Sender::close`]: super::Sender::close

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use event_listener::{Event, EventListener, Listener};

use super::queue::{Queue, Refused};
use crate::loom::{AtomicUsize, Ordering};

const CLOSED: usize = 0b01;
const RX_GONE: usize = 0b10;

/// Why a non-blocking push did not happen.
pub(crate) enum PushError<T> {
    Full(T),
    Closed(T),
}

/// Why a non-blocking pop found nothing.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum PopError {
    Empty,
    Closed,
}

fn pop_error(closed: bool) -> PopError {
    if closed {
        PopError::Closed
    } else {
        PopError::Empty
    }
}

/// Which counted event a [`Wait`] listens on.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Ops {
    /// Receive futures and blocking receives (`recv_ops`).
    Recv,
    /// Waits whose state outlives a poll (`stream_ops`).
    Stream,
    /// Sends waiting for room (`send_ops`).
    Send,
}

pub(crate) struct Chan<T> {
    queue: Queue<T>,
    /// `CLOSED | RX_GONE`, written only under the queue lock.
    flags: AtomicUsize,
    senders: AtomicUsize,
    receivers: AtomicUsize,
    /// Rendezvous only: receivers currently parked waiting for an item. A
    /// push is allowed only while the queue holds fewer items than this
    /// (checked under the queue's lock), so the channel never holds more
    /// than it has waiting receivers.
    parked: AtomicUsize,
    rendezvous: bool,
    /// Receive futures wait here for items or close; each item wakes one.
    recv_ops: Event,
    /// Waits whose state outlives a poll (the `Stream` impl and
    /// `poll_recv_many`) wait here, and every push wakes them all: such a
    /// listener may be notified and then never polled again (an idle
    /// stream), and must not swallow a wake-up meant for a `recv`.
    stream_ops: Event,
    /// Senders wait here for space (or, on a rendezvous channel, a receiver).
    send_ops: Event,
    /// [`Sender::closed`](super::Sender::closed) waits here.
    pub(crate) close_ops: Event,
    /// Registered listeners of `recv_ops`, `stream_ops`, `send_ops` (see
    /// "Wake-ups" above): an upper bound, never below the true number.
    recv_waiting: AtomicUsize,
    stream_waiting: AtomicUsize,
    send_waiting: AtomicUsize,
    /// Statistics, not synchronisation (hence std atomics even under loom):
    /// nanoseconds receivers and senders have spent armed, waiting. Only
    /// waits pay for the clock reads; an operation that completes at once
    /// never arms.
    recv_wait_ns: StatCounter,
    send_wait_ns: StatCounter,
}

type StatCounter = std::sync::atomic::AtomicU64;

impl<T> Chan<T> {
    /// `cap`: `Some(0)` is a rendezvous channel, `None` unbounded.
    pub(crate) fn new(cap: Option<usize>) -> Self {
        let rendezvous = cap == Some(0);
        Chan {
            // A rendezvous channel stores at most one item per parked
            // receiver; the push gate enforces that bound.
            queue: Queue::new(if rendezvous { None } else { cap }),
            flags: AtomicUsize::new(0),
            senders: AtomicUsize::new(1),
            receivers: AtomicUsize::new(1),
            parked: AtomicUsize::new(0),
            rendezvous,
            recv_ops: Event::new(),
            stream_ops: Event::new(),
            send_ops: Event::new(),
            close_ops: Event::new(),
            recv_waiting: AtomicUsize::new(0),
            stream_waiting: AtomicUsize::new(0),
            send_waiting: AtomicUsize::new(0),
            recv_wait_ns: StatCounter::new(0),
            send_wait_ns: StatCounter::new(0),
        }
    }

    pub(crate) fn is_rendezvous(&self) -> bool {
        self.rendezvous
    }

    /// Whether the queue may grow past `len` items: always, except on a
    /// rendezvous channel, where only while receivers wait for them.
    fn gate(&self) -> impl Fn(usize) -> bool + '_ {
        move |len| !self.rendezvous || len < self.parked.load(Ordering::Acquire)
    }

    /// The capacity as the user asked for it (`Some(0)` for rendezvous).
    pub(crate) fn capacity(&self) -> Option<usize> {
        if self.is_rendezvous() {
            Some(0)
        } else {
            self.queue.capacity()
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }

    pub(crate) fn sender_count(&self) -> usize {
        self.senders.load(Ordering::Relaxed)
    }

    pub(crate) fn receiver_count(&self) -> usize {
        self.receivers.load(Ordering::Relaxed)
    }

    /// Sends can no longer succeed: closed, or every receiver is gone.
    pub(crate) fn is_closed(&self) -> bool {
        self.flags.load(Ordering::Acquire) & (CLOSED | RX_GONE) != 0
    }

    /// Closed and nothing buffered: no item can ever be received again.
    pub(crate) fn is_drained(&self) -> bool {
        let s = self.queue.lock();
        s.closed && s.items.is_empty()
    }

    /// Total time receivers have spent waiting for items (or the close).
    pub(crate) fn recv_waited(&self) -> Duration {
        Duration::from_nanos(self.recv_wait_ns.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// Total time senders have spent waiting for room (or a receiver).
    pub(crate) fn send_waited(&self) -> Duration {
        Duration::from_nanos(self.send_wait_ns.load(std::sync::atomic::Ordering::Relaxed))
    }

    fn waited(&self, ops: Ops, since: Instant) {
        let counter = match ops {
            Ops::Recv | Ops::Stream => &self.recv_wait_ns,
            Ops::Send => &self.send_wait_ns,
        };
        let ns = u64::try_from(since.elapsed().as_nanos()).unwrap_or(u64::MAX);
        counter.fetch_add(ns, std::sync::atomic::Ordering::Relaxed);
    }

    fn event(&self, ops: Ops) -> (&Event, &AtomicUsize) {
        match ops {
            Ops::Recv => (&self.recv_ops, &self.recv_waiting),
            Ops::Stream => (&self.stream_ops, &self.stream_waiting),
            Ops::Send => (&self.send_ops, &self.send_waiting),
        }
    }

    /// `n` items were pushed: wake as many receive waiters, and every
    /// persistent one, if any is registered.
    fn pushed(&self, n: usize) {
        if self.recv_waiting.load(Ordering::Relaxed) != 0 {
            self.recv_ops.notify_additional(n);
        }
        if self.stream_waiting.load(Ordering::Relaxed) != 0 {
            self.stream_ops.notify(usize::MAX);
        }
    }

    /// Tries to push without waiting. Wakes one receiver on success.
    pub(crate) fn try_push(&self, item: T) -> Result<(), PushError<T>> {
        match self.queue.push(item, self.gate()) {
            Ok(()) => {
                self.pushed(1);
                Ok(())
            }
            Err((item, Refused::Full)) => Err(PushError::Full(item)),
            Err((item, Refused::Closed)) => Err(PushError::Closed(item)),
        }
    }

    /// Pushes from the front of `items` until the channel is full or `items`
    /// is empty, under one lock acquisition; wakes as many receivers as
    /// items were pushed. `Err(())` if the channel is closed (nothing pushed).
    pub(crate) fn try_push_many(&self, items: &mut VecDeque<T>) -> Result<usize, ()> {
        match self.queue.push_many(items, self.gate()) {
            Ok(pushed) => {
                if pushed > 0 {
                    self.pushed(pushed);
                }
                Ok(pushed)
            }
            Err(_) => Err(()),
        }
    }

    /// Pops without waiting. Frees one slot for a waiting sender on success.
    pub(crate) fn try_pop(&self) -> Result<T, PopError> {
        match self.queue.pop() {
            Ok(item) => {
                self.freed(1);
                Ok(item)
            }
            Err(closed) => Err(pop_error(closed)),
        }
    }

    /// Pops up to `limit` items into `buf` without waiting.
    pub(crate) fn try_pop_many(&self, buf: &mut Vec<T>, limit: usize) -> Result<usize, PopError> {
        match self.queue.pop_many(buf, limit) {
            Ok(popped) => {
                if popped > 0 {
                    self.freed(popped);
                }
                Ok(popped)
            }
            Err(closed) => Err(pop_error(closed)),
        }
    }

    /// `n` items left the queue: room for `n` waiting senders (on a
    /// rendezvous channel, the gate `len < parked` may have opened too).
    fn freed(&self, n: usize) {
        if (self.queue.capacity().is_some() || self.rendezvous)
            && self.send_waiting.load(Ordering::Relaxed) != 0
        {
            self.send_ops.notify_additional(n);
        }
    }

    /// Whether a send would have to wait now.
    pub(crate) fn is_full(&self) -> bool {
        let len = self.queue.len();
        match self.capacity() {
            Some(0) => len >= self.parked.load(Ordering::Acquire),
            Some(cap) => len >= cap,
            None => false,
        }
    }

    /// Rendezvous: a receiver is about to wait; let one sender hand over.
    pub(crate) fn park(&self) {
        self.parked.fetch_add(1, Ordering::AcqRel);
        // Not gated on `send_waiting`: `parked` is not under the queue
        // lock, so the count could be read too early.
        self.send_ops.notify_additional(1);
    }

    /// Rendezvous: a receiver stopped waiting (it got an item, or gave up).
    pub(crate) fn unpark(&self) {
        self.parked.fetch_sub(1, Ordering::AcqRel);
    }

    /// Closes the channel to new sends. Returns whether this call closed it.
    pub(crate) fn close(&self) -> bool {
        {
            let mut s = self.queue.lock();
            if s.closed {
                return false;
            }
            s.closed = true;
            self.flags.fetch_or(CLOSED, Ordering::Release);
        }
        self.recv_ops.notify(usize::MAX);
        self.stream_ops.notify(usize::MAX);
        self.send_ops.notify(usize::MAX);
        self.close_ops.notify(usize::MAX);
        true
    }

    pub(crate) fn add_sender(&self) {
        self.senders.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn remove_sender(&self) {
        if self.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.close();
        }
    }

    pub(crate) fn add_receiver(&self) {
        self.receivers.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn remove_receiver(&self) {
        if self.receivers.fetch_sub(1, Ordering::AcqRel) != 1 {
            return;
        }
        // No receiver can ever take the buffered items: drop them (outside
        // the lock), and fail every later push.
        let items = {
            let mut s = self.queue.lock();
            s.rx_gone = true;
            self.flags.fetch_or(RX_GONE, Ordering::Release);
            std::mem::take(&mut s.items)
        };
        drop(items);
        self.send_ops.notify(usize::MAX);
        self.close_ops.notify(usize::MAX);
    }
}

/// One registration on a counted event (`recv_ops`, `stream_ops` or
/// `send_ops`): the listener and its place in the event's waiter count.
///
/// Protocol: [`arm`](Wait::arm), then re-check the channel (a push or pop),
/// and only then sleep on it. Every path that stops waiting must
/// [`disarm`](Wait::disarm) (owners do it in `Drop` too); a missed disarm
/// only costs spurious notifications, never a lost wake-up.
pub(crate) struct Wait {
    listener: Option<EventListener>,
    ops: Ops,
    /// When it was armed: the wait's length goes to the channel's
    /// statistics when it is disarmed.
    since: Option<Instant>,
}

impl Wait {
    pub(crate) fn new(ops: Ops) -> Wait {
        Wait {
            listener: None,
            ops,
            since: None,
        }
    }

    fn account<T>(&mut self, chan: &Chan<T>) {
        if let Some(since) = self.since.take() {
            chan.waited(self.ops, since);
        }
    }

    pub(crate) fn is_armed(&self) -> bool {
        self.listener.is_some()
    }

    /// Counts this waiter, then registers its listener.
    pub(crate) fn arm<T>(&mut self, chan: &Chan<T>) {
        debug_assert!(self.listener.is_none(), "armed twice");
        let (event, waiting) = chan.event(self.ops);
        waiting.fetch_add(1, Ordering::Relaxed);
        self.listener = Some(event.listen());
        self.since = Some(Instant::now());
    }

    /// Drops the listener (a notification it got passes on) and uncounts it.
    #[inline]
    pub(crate) fn disarm<T>(&mut self, chan: &Chan<T>) {
        if self.listener.take().is_some() {
            chan.event(self.ops).1.fetch_sub(1, Ordering::Relaxed);
            self.account(chan);
        }
    }

    /// Waits for the armed listener's notification, then disarms.
    pub(crate) fn poll<T>(&mut self, chan: &Chan<T>, cx: &mut Context<'_>) -> Poll<()> {
        if let Some(l) = &mut self.listener {
            if Pin::new(l).poll(cx).is_pending() {
                return Poll::Pending;
            }
        }
        self.disarm(chan);
        Poll::Ready(())
    }

    /// One step of an async wait, for a loop that tries the channel first:
    /// when armed, waits for the notification (then disarms); otherwise
    /// counts and registers and returns `Ready` at once, so that the caller
    /// looks at the channel again before it sleeps.
    pub(crate) fn poll_or_arm<T>(&mut self, chan: &Chan<T>, cx: &mut Context<'_>) -> Poll<()> {
        if self.is_armed() {
            self.poll(chan, cx)
        } else {
            self.arm(chan);
            Poll::Ready(())
        }
    }

    /// Blocks the thread on the armed listener until notified or until
    /// `deadline`, then disarms. Returns `false` on timeout.
    pub(crate) fn wait<T>(&mut self, chan: &Chan<T>, deadline: Option<Instant>) -> bool {
        let Some(l) = self.listener.take() else {
            return true;
        };
        let notified = match deadline {
            None => {
                l.wait();
                true
            }
            Some(d) => l.wait_deadline(d).is_some(),
        };
        // The listener is gone (consumed or dropped): uncount it.
        chan.event(self.ops).1.fetch_sub(1, Ordering::Relaxed);
        self.account(chan);
        notified
    }
}
