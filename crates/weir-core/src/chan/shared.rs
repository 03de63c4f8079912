//! The state one channel's senders and receivers share, and the race-free
//! close protocol.
//!
//! # Close protocol
//!
//! `state` packs two flags and a count of sends *in flight* (between deciding
//! that the channel is open and finishing the push):
//!
//! * `CLOSED`: no new send may start. Set by [`Sender::close`] or by the last
//!   sender's drop.
//! * `RX_GONE`: every receiver has been dropped.
//! * `inflight << 2`.
//!
//! A send first increments `inflight` and reads the flags in the same atomic
//! operation; if either flag is set it backs out and returns the item. The
//! push happens while it is counted, and the decrement (release) publishes it.
//! A receiver concludes "closed and drained" only after it saw `CLOSED` with
//! `inflight == 0` (acquire) *and then* found the queue empty, so an item
//! whose send returned `Ok` is always seen. The last in-flight send after
//! `CLOSED` wakes every receiver, so none sleeps through that moment.
//! `RX_GONE` works the same way for releasing buffered items: whichever of
//! "last receiver dropped" and "last in-flight send finished" comes second
//! drains the queue.
//!
//! `tests/loom_chan.rs` model-checks this with loom.
//!
//! [`Sender::close`]: super::Sender::close

use std::collections::VecDeque;

use event_listener::Event;

use super::queue::Queue;
use crate::loom::{AtomicUsize, Ordering};

const CLOSED: usize = 0b01;
const RX_GONE: usize = 0b10;
const INFLIGHT: usize = 0b100;

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

pub(crate) struct Chan<T> {
    queue: Queue<T>,
    state: AtomicUsize,
    senders: AtomicUsize,
    receivers: AtomicUsize,
    /// Rendezvous only: receivers currently parked waiting for an item. A
    /// push is allowed only while the queue holds fewer items than this
    /// (checked under the queue's lock), so the channel never holds more
    /// than it has waiting receivers.
    parked: AtomicUsize,
    rendezvous: bool,
    /// Receive futures wait here for items or close; each item wakes one.
    pub(crate) recv_ops: Event,
    /// Waits whose state outlives a poll (the `Stream` impl and
    /// `poll_recv_many`) wait here, and every push wakes them all: such a
    /// listener may be notified and then never polled again (an idle
    /// stream), and must not swallow a wake-up meant for a `recv`.
    pub(crate) stream_ops: Event,
    /// Senders wait here for space (or, on a rendezvous channel, a receiver).
    pub(crate) send_ops: Event,
    /// [`Sender::closed`](super::Sender::closed) waits here.
    pub(crate) close_ops: Event,
}

impl<T> Chan<T> {
    /// `cap`: `Some(0)` is a rendezvous channel, `None` unbounded.
    pub(crate) fn new(cap: Option<usize>) -> Self {
        let rendezvous = cap == Some(0);
        Chan {
            // A rendezvous channel stores at most one item per parked
            // receiver; the push gate enforces that bound.
            queue: Queue::new(if rendezvous { None } else { cap }),
            state: AtomicUsize::new(0),
            senders: AtomicUsize::new(1),
            receivers: AtomicUsize::new(1),
            parked: AtomicUsize::new(0),
            rendezvous,
            recv_ops: Event::new(),
            stream_ops: Event::new(),
            send_ops: Event::new(),
            close_ops: Event::new(),
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
        self.state.load(Ordering::Acquire) & (CLOSED | RX_GONE) != 0
    }

    /// Closed, no send in flight, and nothing buffered: no item can ever be
    /// received again.
    pub(crate) fn is_drained(&self) -> bool {
        let state = self.state.load(Ordering::Acquire);
        state & CLOSED != 0 && state >> 2 == 0 && self.queue.len() == 0
    }

    /// Tries to push without waiting. Wakes one receiver on success.
    pub(crate) fn try_push(&self, item: T) -> Result<(), PushError<T>> {
        let prev = self.state.fetch_add(INFLIGHT, Ordering::AcqRel);
        if prev & (CLOSED | RX_GONE) != 0 {
            self.end_inflight();
            return Err(PushError::Closed(item));
        }
        let pushed = self.queue.push(item, self.gate());
        self.end_inflight();
        match pushed {
            Ok(()) => {
                self.recv_ops.notify_additional(1);
                self.stream_ops.notify(usize::MAX);
                Ok(())
            }
            Err(item) => Err(PushError::Full(item)),
        }
    }

    /// Pushes from the front of `items` until the channel is full or `items`
    /// is empty, under one in-flight registration; wakes as many receivers as
    /// items were pushed. `Err(())` if the channel is closed (nothing pushed).
    pub(crate) fn try_push_many(&self, items: &mut VecDeque<T>) -> Result<usize, ()> {
        let prev = self.state.fetch_add(INFLIGHT, Ordering::AcqRel);
        if prev & (CLOSED | RX_GONE) != 0 {
            self.end_inflight();
            return Err(());
        }
        let pushed = self.queue.push_many(items, self.gate());
        self.end_inflight();
        if pushed > 0 {
            self.recv_ops.notify_additional(pushed);
            self.stream_ops.notify(usize::MAX);
        }
        Ok(pushed)
    }

    fn end_inflight(&self) {
        let prev = self.state.fetch_sub(INFLIGHT, Ordering::AcqRel);
        if prev >> 2 == 1 {
            if prev & RX_GONE != 0 {
                self.drain();
            }
            if prev & CLOSED != 0 {
                // A receiver may be waiting for the last in-flight send to
                // finish before it can call the channel drained.
                self.recv_ops.notify(usize::MAX);
                self.stream_ops.notify(usize::MAX);
            }
        }
    }

    /// Pops without waiting. Frees one slot for a waiting sender on success.
    pub(crate) fn try_pop(&self) -> Result<T, PopError> {
        if let Some(item) = self.queue.pop() {
            self.freed(1);
            return Ok(item);
        }
        let state = self.state.load(Ordering::Acquire);
        if state & CLOSED != 0 && state >> 2 == 0 {
            // Every send that will ever succeed has finished its push, and
            // the acquire load above made those pushes visible: look once more.
            return match self.queue.pop() {
                Some(item) => Ok(item),
                None => Err(PopError::Closed),
            };
        }
        Err(PopError::Empty)
    }

    /// Pops up to `limit` items into `buf` without waiting.
    pub(crate) fn try_pop_many(&self, buf: &mut Vec<T>, limit: usize) -> Result<usize, PopError> {
        let popped = self.queue.pop_many(buf, limit);
        if popped > 0 {
            self.freed(popped);
            return Ok(popped);
        }
        if limit == 0 {
            return Ok(0);
        }
        self.try_pop().map(|item| {
            buf.push(item);
            1
        })
    }

    /// `n` items left the queue: room for `n` waiting senders (on a
    /// rendezvous channel, the gate `len < parked` may have opened too).
    fn freed(&self, n: usize) {
        if self.queue.capacity().is_some() || self.rendezvous {
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
        self.send_ops.notify_additional(1);
    }

    /// Rendezvous: a receiver stopped waiting (it got an item, or gave up).
    pub(crate) fn unpark(&self) {
        self.parked.fetch_sub(1, Ordering::AcqRel);
    }

    /// Closes the channel to new sends. Returns whether this call closed it.
    pub(crate) fn close(&self) -> bool {
        let prev = self.state.fetch_or(CLOSED, Ordering::AcqRel);
        if prev & CLOSED != 0 {
            return false;
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
        let prev = self.state.fetch_or(RX_GONE, Ordering::AcqRel);
        if prev >> 2 == 0 {
            self.drain();
        }
        self.send_ops.notify(usize::MAX);
        self.close_ops.notify(usize::MAX);
    }

    /// Drops every buffered item (no receiver can ever take them).
    fn drain(&self) {
        self.queue.clear();
    }
}
