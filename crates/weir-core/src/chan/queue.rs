//! The item storage behind a channel: a FIFO behind one lock, with batch
//! operations that move many items per lock acquisition.
//!
//! Waiting never happens here: every wait in weir is on our own
//! [`event_listener::Event`]s, whose listener removal is O(1). This queue
//! only stores. Under `--cfg loom` the lock is loom's, so the close
//! protocol in `shared.rs` can be model-checked through it.
//!
//! Why not flume's queue: flume 0.12 offers items one at a time (no batch
//! push), so a batch of 512 items cost 512 lock round-trips, which two
//! threads then fight over: measured here at 107–135 ns per item for a
//! batched hop between two tasks, against ~2–5 ns with batch operations
//! under one lock (see `docs/architecture.md`).

use std::collections::VecDeque;

use crate::loom::Mutex;

/// A FIFO queue with an optional capacity; nothing here ever waits.
pub(crate) struct Queue<T> {
    items: Mutex<VecDeque<T>>,
    cap: Option<usize>,
}

impl<T> Queue<T> {
    /// A queue holding at most `cap` items, or any number with `None`.
    pub(crate) fn new(cap: Option<usize>) -> Self {
        Queue {
            items: Mutex::new(VecDeque::new()),
            cap,
        }
    }

    fn lock(&self) -> crate::loom::MutexGuard<'_, VecDeque<T>> {
        // A panic while holding the lock can only come from an allocation
        // failure inside VecDeque; the queue itself is still consistent.
        self.items
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Appends `item` if there is room and `allow(len)` says the queue may
    /// grow past its current `len`; otherwise hands it back.
    #[inline]
    pub(crate) fn push(&self, item: T, allow: impl Fn(usize) -> bool) -> Result<(), T> {
        let mut items = self.lock();
        if self.cap.is_some_and(|c| items.len() >= c) || !allow(items.len()) {
            return Err(item);
        }
        items.push_back(item);
        Ok(())
    }

    /// Moves items from the front of `from` while there is room, and while
    /// `allow(len)` says the queue may grow past `len`; returns how many.
    pub(crate) fn push_many(&self, from: &mut VecDeque<T>, allow: impl Fn(usize) -> bool) -> usize {
        let mut items = self.lock();
        let mut moved = 0;
        while !from.is_empty() && allow(items.len()) && self.cap.is_none_or(|c| items.len() < c) {
            let room = self
                .cap
                .map_or(from.len(), |c| c - items.len())
                .min(from.len());
            // Fast path: no per-item gate, move a whole run at once.
            if room > 1 && allow(items.len() + room - 1) {
                items.extend(from.drain(..room));
                moved += room;
            } else if let Some(item) = from.pop_front() {
                items.push_back(item);
                moved += 1;
            }
        }
        moved
    }

    /// Takes the oldest item.
    #[inline]
    pub(crate) fn pop(&self) -> Option<T> {
        self.lock().pop_front()
    }

    /// Moves up to `limit` of the oldest items into `buf`; returns how many.
    pub(crate) fn pop_many(&self, buf: &mut Vec<T>, limit: usize) -> usize {
        let mut items = self.lock();
        let n = items.len().min(limit);
        buf.extend(items.drain(..n));
        n
    }

    /// Drops every stored item, outside the lock.
    pub(crate) fn clear(&self) {
        let items = std::mem::take(&mut *self.lock());
        drop(items);
    }

    /// Items currently stored.
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    /// The capacity the queue was made with.
    pub(crate) fn capacity(&self) -> Option<usize> {
        self.cap
    }
}
