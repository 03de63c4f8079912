//! The item storage behind a channel: a FIFO and the channel's two end flags
//! (`closed`, `rx_gone`) behind one lock, with batch operations that move
//! many items per lock acquisition.
//!
//! Waiting never happens here: every wait in weir is on our own
//! [`event_listener::Event`]s, whose listener removal is O(1). This queue
//! only stores, and decides (under its lock) whether a push or pop may
//! happen. Under `--cfg loom` the lock is loom's, so the close protocol in
//! `shared.rs` can be model-checked through it.
//!
//! Why not flume's queue: flume 0.12 offers items one at a time (no batch
//! push), so a batch of 512 items cost 512 lock round-trips, which two
//! threads then fight over: measured here at 107–135 ns per item for a
//! batched hop between two tasks, against ~2–5 ns with batch operations
//! under one lock (see `docs/architecture.md`).

use std::collections::VecDeque;

use crate::loom::{Mutex, MutexGuard};

/// What the lock protects.
pub(crate) struct Slots<T> {
    pub(crate) items: VecDeque<T>,
    /// No new push may succeed (`Sender::close`, or the last sender dropped).
    pub(crate) closed: bool,
    /// Every receiver is gone: pushes fail and nothing is stored any more.
    pub(crate) rx_gone: bool,
}

/// Why a push did not happen; the item (if any) stays with the caller.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Refused {
    Full,
    Closed,
}

/// A FIFO queue with an optional capacity; nothing here ever waits.
pub(crate) struct Queue<T> {
    slots: Mutex<Slots<T>>,
    cap: Option<usize>,
}

impl<T> Queue<T> {
    /// A queue holding at most `cap` items, or any number with `None`.
    pub(crate) fn new(cap: Option<usize>) -> Self {
        Queue {
            slots: Mutex::new(Slots {
                items: VecDeque::new(),
                closed: false,
                rx_gone: false,
            }),
            cap,
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Slots<T>> {
        // A panic while holding the lock can only come from an allocation
        // failure inside VecDeque; the queue itself is still consistent.
        self.slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Appends `item` if the channel is open, there is room, and `allow(len)`
    /// says the queue may grow past its current `len`; otherwise hands it
    /// back with the reason.
    #[inline]
    pub(crate) fn push(&self, item: T, allow: impl Fn(usize) -> bool) -> Result<(), (T, Refused)> {
        let mut s = self.lock();
        if s.closed || s.rx_gone {
            return Err((item, Refused::Closed));
        }
        let len = s.items.len();
        if self.cap.is_some_and(|c| len >= c) || !allow(len) {
            return Err((item, Refused::Full));
        }
        s.items.push_back(item);
        Ok(())
    }

    /// Moves items from the front of `from` while the channel is open, there
    /// is room, and `allow(len)` says the queue may grow past `len`; returns
    /// how many, or `Err` (nothing moved) if the channel is closed.
    pub(crate) fn push_many(
        &self,
        from: &mut VecDeque<T>,
        allow: impl Fn(usize) -> bool,
    ) -> Result<usize, Refused> {
        let mut s = self.lock();
        if s.closed || s.rx_gone {
            return Err(Refused::Closed);
        }
        let items = &mut s.items;
        let mut moved = 0;
        while !from.is_empty() && allow(items.len()) && self.cap.is_none_or(|c| items.len() < c) {
            let room = self
                .cap
                .map_or(from.len(), |c| c - items.len())
                .min(from.len());
            // Fast paths: no per-item gate, move a whole run at once.
            if room == from.len() && allow(items.len() + room - 1) {
                // Everything fits: `append` moves the items with memcpy.
                items.append(from);
                moved += room;
            } else if room > 1 && allow(items.len() + room - 1) {
                items.extend(from.drain(..room));
                moved += room;
            } else if let Some(item) = from.pop_front() {
                items.push_back(item);
                moved += 1;
            }
        }
        Ok(moved)
    }

    /// Takes the oldest item; `Err(closed)` when there is none.
    #[inline]
    pub(crate) fn pop(&self) -> Result<T, bool> {
        let mut s = self.lock();
        match s.items.pop_front() {
            Some(item) => Ok(item),
            None => Err(s.closed),
        }
    }

    /// Moves up to `limit` of the oldest items into `buf`; `Ok(n)` with how
    /// many, or `Err(closed)` when there was none (and `limit > 0`).
    pub(crate) fn pop_many(&self, buf: &mut Vec<T>, limit: usize) -> Result<usize, bool> {
        let mut s = self.lock();
        let len = s.items.len();
        let n = len.min(limit);
        if n == 0 {
            return if limit > 0 { Err(s.closed) } else { Ok(0) };
        }
        if n == len && buf.is_empty() {
            // Taking everything into an empty buffer: swap the storage
            // instead of moving item by item. The queue keeps `buf`'s
            // (empty) allocation; `Vec::from` is O(1), or one in-place
            // rotation when the ring has wrapped.
            let spare = VecDeque::from(std::mem::take(buf));
            let taken = std::mem::replace(&mut s.items, spare);
            drop(s);
            *buf = Vec::from(taken);
            return Ok(n);
        }
        // `Vec::extend(drain(..n))` costs ~30 instructions per item (the
        // ring's `Drain` has no bulk path); a reserved `pop_front` loop is
        // a fraction of that.
        buf.reserve(n);
        for _ in 0..n {
            if let Some(item) = s.items.pop_front() {
                buf.push(item);
            }
        }
        Ok(n)
    }

    /// Items currently stored.
    pub(crate) fn len(&self) -> usize {
        self.lock().items.len()
    }

    /// The capacity the queue was made with.
    pub(crate) fn capacity(&self) -> Option<usize> {
        self.cap
    }
}
