//! [`Observer`]: watching a channel without taking part in it.

use std::fmt;

use super::shared::Chan;
use super::{Receiver, Sender};
use crate::loom::Arc;

/// Read-only statistics of one channel, type-erased, that neither keeps the
/// channel open nor counts as a sender or receiver.
///
/// Metrics and diagnostics hold these to report queue lengths (is an edge
/// of a pipeline full, or empty?) without changing when the channel closes.
///
/// # Examples
///
/// ```
/// use weir_core::chan;
///
/// let (tx, rx) = chan::bounded::<u32>(4);
/// let probe = rx.observer();
/// tx.try_send(1).unwrap();
/// assert_eq!((probe.len(), probe.capacity()), (1, Some(4)));
/// drop((tx, rx));
/// assert!(probe.is_closed());
/// ```
#[derive(Clone)]
pub struct Observer {
    // A std `Arc` around the channel's own (loom-swappable) `Arc`, so the
    // probe can be type-erased under loom too.
    chan: std::sync::Arc<dyn Probe>,
}

trait Probe: Send + Sync {
    fn len(&self) -> usize;
    fn capacity(&self) -> Option<usize>;
    fn is_closed(&self) -> bool;
    fn counts(&self) -> (usize, usize);
}

impl<T: Send> Probe for Arc<Chan<T>> {
    fn len(&self) -> usize {
        Chan::len(self)
    }
    fn capacity(&self) -> Option<usize> {
        Chan::capacity(self)
    }
    fn is_closed(&self) -> bool {
        Chan::is_closed(self)
    }
    fn counts(&self) -> (usize, usize) {
        (self.sender_count(), self.receiver_count())
    }
}

impl Observer {
    /// Items buffered now.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan;
    ///
    /// let (tx, _rx) = chan::unbounded::<u8>();
    /// tx.try_send(1).unwrap();
    /// assert_eq!(tx.observer().len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.chan.len()
    }

    /// Whether nothing is buffered.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan;
    ///
    /// assert!(chan::bounded::<u8>(1).1.observer().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The channel's capacity (`None`: unbounded).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan;
    ///
    /// assert_eq!(chan::bounded::<u8>(2).1.observer().capacity(), Some(2));
    /// ```
    pub fn capacity(&self) -> Option<usize> {
        self.chan.capacity()
    }

    /// Whether sends can no longer succeed (closed, or no receiver left).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan;
    ///
    /// let (tx, rx) = chan::bounded::<u8>(1);
    /// let probe = tx.observer();
    /// drop(rx);
    /// assert!(probe.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }

    /// Live senders and receivers, as `(senders, receivers)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan;
    ///
    /// let (tx, _rx) = chan::bounded::<u8>(1);
    /// let _tx2 = tx.clone();
    /// assert_eq!(tx.observer().counts(), (2, 1));
    /// ```
    pub fn counts(&self) -> (usize, usize) {
        self.chan.counts()
    }
}

impl fmt::Debug for Observer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Observer")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl<T: Send + 'static> Sender<T> {
    /// An [`Observer`] of this channel's statistics.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan;
    ///
    /// let (tx, _rx) = chan::bounded::<u8>(3);
    /// assert_eq!(tx.observer().capacity(), Some(3));
    /// ```
    pub fn observer(&self) -> Observer {
        Observer {
            chan: std::sync::Arc::new(self.chan.clone()),
        }
    }
}

impl<T: Send + 'static> Receiver<T> {
    /// An [`Observer`] of this channel's statistics.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan;
    ///
    /// let (_tx, rx) = chan::bounded::<u8>(3);
    /// assert!(rx.observer().is_empty());
    /// ```
    pub fn observer(&self) -> Observer {
        Observer {
            chan: std::sync::Arc::new(self.chan.clone()),
        }
    }
}
