//! Handles that do not keep a channel open: [`WeakSender`] and
//! [`WeakReceiver`].

use std::fmt;

use super::shared::Chan;
use super::{Receiver, Sender};
use crate::loom::Arc;

/// A sender that does not keep the channel open (tokio's `WeakSender`).
///
/// The channel still closes when the last [`Sender`] is dropped, whatever
/// weak senders remain; [`upgrade`](WeakSender::upgrade) gives a real
/// `Sender` back only while one is still alive. Useful for a component
/// that may send but must not be what keeps a pipeline running.
///
/// # Examples
///
/// ```
/// use weir_core::chan;
///
/// let (tx, rx) = chan::bounded::<u8>(1);
/// let weak = tx.downgrade();
/// assert!(weak.upgrade().is_some());
/// drop(tx);
/// assert!(weak.upgrade().is_none());
/// assert_eq!(rx.recv_blocking(), None); // closed: no sender left
/// ```
pub struct WeakSender<T> {
    chan: Arc<Chan<T>>,
}

/// A receiver that does not keep the channel open for senders.
///
/// When every [`Receiver`] is dropped, sends fail at once even while weak
/// receivers remain, and [`upgrade`](WeakReceiver::upgrade) returns `None`.
///
/// # Examples
///
/// ```
/// use weir_core::chan;
///
/// let (tx, rx) = chan::bounded::<u8>(1);
/// let weak = rx.downgrade();
/// let rx2 = weak.upgrade().unwrap();
/// drop((rx, rx2));
/// assert!(weak.upgrade().is_none());
/// assert!(tx.try_send(1).unwrap_err().is_closed());
/// ```
pub struct WeakReceiver<T> {
    chan: Arc<Chan<T>>,
}

impl<T> Sender<T> {
    /// A [`WeakSender`] of this channel, which does not keep it open.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan;
    ///
    /// let (tx, _rx) = chan::bounded::<u8>(1);
    /// let weak = tx.downgrade();
    /// assert_eq!(tx.sender_count(), 1); // weak senders are not counted
    /// # drop(weak);
    /// ```
    pub fn downgrade(&self) -> WeakSender<T> {
        WeakSender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> WeakSender<T> {
    /// A [`Sender`], if any sender is still alive (so the channel has not
    /// closed by losing its last sender).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan;
    ///
    /// let (tx, rx) = chan::bounded(1);
    /// let weak = tx.downgrade();
    /// weak.upgrade().unwrap().try_send(5).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(5));
    /// # drop(tx);
    /// ```
    pub fn upgrade(&self) -> Option<Sender<T>> {
        self.chan.upgrade_sender().then(|| Sender {
            chan: self.chan.clone(),
        })
    }
}

impl<T> Receiver<T> {
    /// A [`WeakReceiver`] of this channel, which does not keep it open.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan;
    ///
    /// let (_tx, rx) = chan::bounded::<u8>(1);
    /// let weak = rx.downgrade();
    /// assert_eq!(rx.receiver_count(), 1);
    /// # drop(weak);
    /// ```
    pub fn downgrade(&self) -> WeakReceiver<T> {
        WeakReceiver {
            chan: self.chan.clone(),
        }
    }
}

impl<T> WeakReceiver<T> {
    /// A [`Receiver`], if any receiver is still alive.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan;
    ///
    /// let (tx, rx) = chan::bounded(1);
    /// let weak = rx.downgrade();
    /// tx.try_send(1).unwrap();
    /// assert_eq!(weak.upgrade().unwrap().try_recv(), Ok(1));
    /// # drop(rx);
    /// ```
    pub fn upgrade(&self) -> Option<Receiver<T>> {
        self.chan
            .upgrade_receiver()
            .then(|| Receiver::new(self.chan.clone()))
    }
}

impl<T> Clone for WeakSender<T> {
    fn clone(&self) -> Self {
        WeakSender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Clone for WeakReceiver<T> {
    fn clone(&self) -> Self {
        WeakReceiver {
            chan: self.chan.clone(),
        }
    }
}

impl<T> fmt::Debug for WeakSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakSender")
            .field("senders", &self.chan.sender_count())
            .finish()
    }
}

impl<T> fmt::Debug for WeakReceiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakReceiver")
            .field("receivers", &self.chan.receiver_count())
            .finish()
    }
}
