//! [`Observer`]: watching a channel without taking part in it.

use std::fmt;
use std::time::Duration;

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
    fn waited(&self) -> (Duration, Duration);
    fn sent(&self) -> u64;
    fn traffic(&self) -> Traffic;
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
    fn waited(&self) -> (Duration, Duration) {
        (self.recv_waited(), self.send_waited())
    }
    fn sent(&self) -> u64 {
        Chan::sent(self)
    }
    fn traffic(&self) -> Traffic {
        let (sent, received, len, peak) = Chan::traffic(self);
        Traffic {
            sent,
            received,
            len,
            peak,
        }
    }
}

/// What crossed a channel, read at one instant (under the channel's lock):
/// from [`Observer::traffic`]. `sent == received + len` holds in every
/// reading.
///
/// # Examples
///
/// ```
/// use weir_core::chan;
///
/// let (tx, rx) = chan::bounded::<u32>(4);
/// let probe = rx.observer();
/// tx.try_send(1).unwrap();
/// tx.try_send(2).unwrap();
/// assert_eq!(rx.try_recv(), Ok(1));
/// let t = probe.traffic();
/// assert_eq!((t.sent, t.received, t.len, t.peak), (2, 1, 1, Some(2)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Traffic {
    /// Items sent (see [`Observer::sent`]).
    pub sent: u64,
    /// Items received (see [`Observer::received`]).
    pub received: u64,
    /// Items buffered now.
    pub len: usize,
    /// The most items buffered at once since the channel was first
    /// observed (see [`Observer::peak`]).
    pub peak: Option<usize>,
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

    /// How many items have been sent on the channel since it was made:
    /// every send (or `try_send`, batch send, permit) that put an item in
    /// the buffer, and every item a receive took from a waiting sender on
    /// a rendezvous channel. Items still buffered count, and so do items
    /// later dropped because every receiver went away. Pipelines use it
    /// for what a stage took in when its input is one branch of a split.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan;
    ///
    /// let (tx, rx) = chan::bounded::<u32>(4);
    /// let probe = rx.observer();
    /// tx.try_send(1).unwrap();
    /// tx.try_send(2).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// assert_eq!((probe.sent(), probe.len()), (2, 1));
    /// ```
    pub fn sent(&self) -> u64 {
        self.chan.sent()
    }

    /// How many items receives have taken off the channel: every item
    /// sent, less those still buffered and those dropped unreceived
    /// because every receiver went away. Kept by the channel at no cost to
    /// its sends and receives: it is worked out, under the channel's lock,
    /// from the count of items sent, the buffer's length and the count of
    /// items dropped (which only the last receiver's drop adds to).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan;
    ///
    /// let (tx, rx) = chan::bounded::<u32>(4);
    /// let probe = tx.observer();
    /// tx.try_send(1).unwrap();
    /// tx.try_send(2).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// assert_eq!(probe.received(), 1);
    /// drop(rx); // item 2 is dropped, never received
    /// assert_eq!((probe.sent(), probe.received(), probe.len()), (2, 1, 0));
    /// ```
    pub fn received(&self) -> u64 {
        self.chan.traffic().received
    }

    /// The most items the channel has held at once since it was first
    /// observed: measured by every send (the first `observer()` call starts
    /// it from the fill at that moment; a channel nobody observes keeps no
    /// peak and pays only a comparison per send). `None` never happens for
    /// an `Observer`'s channel; the `Option` is for
    /// [`Traffic::peak`].
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan;
    ///
    /// let (tx, rx) = chan::bounded::<u32>(8);
    /// let probe = rx.observer();
    /// for i in 0..5 {
    ///     tx.try_send(i).unwrap();
    /// }
    /// while rx.try_recv().is_ok() {}
    /// assert_eq!((probe.len(), probe.peak()), (0, Some(5)));
    /// ```
    pub fn peak(&self) -> Option<usize> {
        self.chan.traffic().peak
    }

    /// Sent, received, buffered and peak, read at one instant, so that
    /// `sent == received + len` holds in every reading (separate calls to
    /// [`sent`](Observer::sent) and [`len`](Observer::len) may straddle a
    /// send).
    ///
    /// # Examples
    ///
    /// See [`Traffic`].
    pub fn traffic(&self) -> Traffic {
        self.chan.traffic()
    }

    /// Total time the channel's receivers have spent waiting for an item
    /// (or for the close), summed over receivers: with `n` receivers
    /// waiting for one second, two seconds.
    ///
    /// Counted per wait, from when a receive found nothing and registered
    /// until it was woken or gave up; a receive that finds an item at once
    /// adds nothing (and pays nothing for the clock). A receiver polled as
    /// a `Stream` counts as waiting from an empty poll to its next item.
    /// Waits are timed once the channel has an observer: the first call to
    /// `observer()` turns the clock on, so a channel nobody observes never
    /// reads it, and waits that started before that call are not counted.
    /// Pipelines use it for a stage's "time blocked on receive".
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir_core::chan;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let (tx, rx) = chan::bounded(1);
    /// let probe = rx.observer();
    /// let consumer = tokio::spawn(async move { rx.recv().await });
    /// tokio::task::yield_now().await; // the consumer is now waiting
    /// tx.send(1).await.unwrap();
    /// assert_eq!(consumer.await.unwrap(), Some(1));
    /// assert!(probe.recv_waited() > Duration::ZERO);
    /// assert_eq!(probe.send_waited(), Duration::ZERO);
    /// # }
    /// ```
    pub fn recv_waited(&self) -> Duration {
        self.chan.waited().0
    }

    /// Total time the channel's senders have spent waiting for room (on a
    /// rendezvous channel, for a receiver), summed over senders; counted
    /// as for [`recv_waited`](Observer::recv_waited). Pipelines use it for
    /// a stage's "time blocked on send": a large value means the consumer
    /// is the bottleneck.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir_core::chan;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let (tx, rx) = chan::bounded(1);
    /// let probe = tx.observer();
    /// tx.send(1).await.unwrap();
    /// let producer = tokio::spawn(async move { tx.send(2).await }); // full: waits
    /// tokio::task::yield_now().await;
    /// assert_eq!(rx.recv().await, Some(1));
    /// producer.await.unwrap().unwrap();
    /// assert!(probe.send_waited() > Duration::ZERO);
    /// # }
    /// ```
    pub fn send_waited(&self) -> Duration {
        self.chan.waited().1
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
        self.chan.stats.time_waits();
        self.chan.keep_peak();
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
        self.chan.stats.time_waits();
        self.chan.keep_peak();
        Observer {
            chan: std::sync::Arc::new(self.chan.clone()),
        }
    }
}
