//! The item storage behind a channel.
//!
//! In a normal build the items live in a [`flume`] channel used purely as a
//! bounded (or unbounded) MPMC queue through its non-blocking
//! `try_send`/`try_recv`: every wait in weir happens on our own
//! [`event_listener::Event`]s, never on flume's waiter list (whose removal is a
//! linear scan, so thousands of waiters made shutdown quadratic). Under
//! `--cfg loom` the same interface is backed by a model-checkable
//! `Mutex<VecDeque<T>>`.

/// A FIFO queue with an optional capacity; `push` never waits.
pub(crate) struct Queue<T> {
    #[cfg(not(loom))]
    tx: flume::Sender<T>,
    #[cfg(not(loom))]
    rx: flume::Receiver<T>,
    #[cfg(loom)]
    items: crate::loom::Mutex<std::collections::VecDeque<T>>,
    cap: Option<usize>,
}

impl<T> Queue<T> {
    /// A queue holding at most `cap` items, or any number with `None`.
    pub(crate) fn new(cap: Option<usize>) -> Self {
        #[cfg(not(loom))]
        {
            let (tx, rx) = match cap {
                Some(n) => flume::bounded(n),
                None => flume::unbounded(),
            };
            Queue { tx, rx, cap }
        }
        #[cfg(loom)]
        {
            Queue {
                items: crate::loom::Mutex::new(std::collections::VecDeque::new()),
                cap,
            }
        }
    }

    /// Appends `item`, or hands it back when the queue is full.
    #[inline]
    pub(crate) fn push(&self, item: T) -> Result<(), T> {
        #[cfg(not(loom))]
        {
            // We own both flume ends for the queue's whole life, so the only
            // possible failure is `Full`.
            self.tx.try_send(item).map_err(flume::TrySendError::into_inner)
        }
        #[cfg(loom)]
        {
            let mut items = self.items.lock().unwrap();
            if self.cap.is_some_and(|c| items.len() >= c) {
                return Err(item);
            }
            items.push_back(item);
            Ok(())
        }
    }

    /// Takes the oldest item.
    #[inline]
    pub(crate) fn pop(&self) -> Option<T> {
        #[cfg(not(loom))]
        {
            self.rx.try_recv().ok()
        }
        #[cfg(loom)]
        {
            self.items.lock().unwrap().pop_front()
        }
    }

    /// Items currently stored.
    pub(crate) fn len(&self) -> usize {
        #[cfg(not(loom))]
        {
            self.rx.len()
        }
        #[cfg(loom)]
        {
            self.items.lock().unwrap().len()
        }
    }

    /// The capacity the queue was made with.
    pub(crate) fn capacity(&self) -> Option<usize> {
        self.cap
    }
}
