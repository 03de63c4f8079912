//! Channel errors. Every error of a send hands the item back.

use std::fmt;

/// The channel is closed, so the item could not be sent; here it is back.
///
/// Returned by [`Sender::send`](super::Sender::send) and
/// [`Sender::send_blocking`](super::Sender::send_blocking) when the channel
/// was closed or every [`Receiver`](super::Receiver) was dropped. Go panics
/// here; weir returns the item so nothing is ever lost silently.
///
/// # Examples
///
/// ```
/// use weir_core::chan;
///
/// let (tx, rx) = chan::bounded::<String>(1);
/// drop(rx);
/// let err = tx.send_blocking("hello".to_string()).unwrap_err();
/// assert_eq!(err.to_string(), "sending on a closed channel");
/// assert_eq!(err.into_inner(), "hello");
/// ```
#[derive(PartialEq, Eq, Clone, Copy, thiserror::Error)]
#[error("sending on a closed channel")]
pub struct SendError<T>(pub T);

impl<T> SendError<T> {
    /// The item that was not sent.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan::SendError;
    ///
    /// assert_eq!(SendError(7).into_inner(), 7);
    /// ```
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

/// Why [`Sender::try_send`](super::Sender::try_send) did not send; the item is
/// handed back either way.
///
/// # Examples
///
/// ```
/// use weir_core::chan::{self, TrySendError};
///
/// let (tx, rx) = chan::bounded(1);
/// tx.try_send(1).unwrap();
/// assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
/// drop(rx);
/// assert_eq!(tx.try_send(3), Err(TrySendError::Closed(3)));
/// ```
#[derive(PartialEq, Eq, Clone, Copy, thiserror::Error)]
pub enum TrySendError<T> {
    /// The channel is full (on a rendezvous channel: no receiver is waiting).
    #[error("sending on a full channel")]
    Full(T),
    /// The channel is closed, or every receiver is gone.
    #[error("sending on a closed channel")]
    Closed(T),
}

impl<T> TrySendError<T> {
    /// The item that was not sent.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan::TrySendError;
    ///
    /// assert_eq!(TrySendError::Full(1).into_inner(), 1);
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            TrySendError::Full(t) | TrySendError::Closed(t) => t,
        }
    }

    /// Whether the send failed because the channel was full.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan::TrySendError;
    ///
    /// assert!(TrySendError::Full(()).is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        matches!(self, TrySendError::Full(_))
    }

    /// Whether the send failed because the channel was closed.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan::TrySendError;
    ///
    /// assert!(TrySendError::Closed(()).is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        matches!(self, TrySendError::Closed(_))
    }
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("Full(..)"),
            TrySendError::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl<T> From<SendError<T>> for TrySendError<T> {
    fn from(SendError(t): SendError<T>) -> Self {
        TrySendError::Closed(t)
    }
}

/// Why [`Sender::send_timeout`](super::Sender::send_timeout) did not send; the
/// item is handed back either way.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use weir_core::chan::{self, SendTimeoutError};
///
/// let (tx, _rx) = chan::bounded(1);
/// tx.send_blocking(1).unwrap();
/// let err = tx.send_timeout(2, Duration::from_millis(1)).unwrap_err();
/// assert_eq!(err, SendTimeoutError::Timeout(2));
/// ```
#[derive(PartialEq, Eq, Clone, Copy, thiserror::Error)]
pub enum SendTimeoutError<T> {
    /// The channel stayed full until the deadline.
    #[error("timed out sending on a full channel")]
    Timeout(T),
    /// The channel is closed, or every receiver is gone.
    #[error("sending on a closed channel")]
    Closed(T),
}

impl<T> SendTimeoutError<T> {
    /// The item that was not sent.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan::SendTimeoutError;
    ///
    /// assert_eq!(SendTimeoutError::Timeout(4).into_inner(), 4);
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            SendTimeoutError::Timeout(t) | SendTimeoutError::Closed(t) => t,
        }
    }

    /// Whether the deadline passed before there was room.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan::SendTimeoutError;
    ///
    /// assert!(SendTimeoutError::Timeout(1).is_timeout());
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(self, SendTimeoutError::Timeout(_))
    }

    /// Whether the channel was closed.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan::SendTimeoutError;
    ///
    /// assert!(SendTimeoutError::Closed(1).is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        matches!(self, SendTimeoutError::Closed(_))
    }
}

impl<T> fmt::Debug for SendTimeoutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendTimeoutError::Timeout(_) => f.write_str("Timeout(..)"),
            SendTimeoutError::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

/// Why [`Receiver::try_recv`](super::Receiver::try_recv) returned no item.
///
/// # Examples
///
/// ```
/// use weir_core::chan::{self, TryRecvError};
///
/// let (tx, rx) = chan::bounded::<u8>(1);
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
/// drop(tx);
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
/// ```
#[derive(PartialEq, Eq, Clone, Copy, Debug, thiserror::Error)]
pub enum TryRecvError {
    /// Nothing is buffered right now, but more may come.
    #[error("receiving on an empty channel")]
    Empty,
    /// The channel is closed and every buffered item has been received.
    #[error("receiving on an empty and closed channel")]
    Closed,
}

/// Why [`Receiver::recv_timeout`](super::Receiver::recv_timeout) returned no
/// item.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use weir_core::chan::{self, RecvTimeoutError};
///
/// let (_tx, rx) = chan::bounded::<u8>(1);
/// assert_eq!(rx.recv_timeout(Duration::from_millis(1)), Err(RecvTimeoutError::Timeout));
/// ```
#[derive(PartialEq, Eq, Clone, Copy, Debug, thiserror::Error)]
pub enum RecvTimeoutError {
    /// No item arrived before the deadline.
    #[error("timed out receiving on an empty channel")]
    Timeout,
    /// The channel is closed and every buffered item has been received.
    #[error("receiving on an empty and closed channel")]
    Closed,
}

/// Why [`Sender::reserve`](super::Sender::reserve) or
/// [`Sender::reserve_many`](super::Sender::reserve_many) returned no permit.
///
/// # Examples
///
/// ```
/// use weir_core::chan::{self, ReserveError};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let (tx, rx) = chan::bounded::<u8>(2);
/// assert_eq!(
///     tx.reserve_many(3).await.unwrap_err(),
///     ReserveError::OverCapacity { requested: 3, capacity: 2 },
/// );
/// drop(rx);
/// assert_eq!(tx.reserve().await.unwrap_err(), ReserveError::Closed);
/// # }
/// ```
#[derive(PartialEq, Eq, Clone, Copy, Debug, thiserror::Error)]
pub enum ReserveError {
    /// The channel is closed, or every receiver is gone.
    #[error("reserving on a closed channel")]
    Closed,
    /// A rendezvous channel has no slot to hold: a send there completes
    /// only when a receive returns the item, which a permit cannot promise.
    #[error("a rendezvous channel has no slot to reserve")]
    Rendezvous,
    /// More slots were asked for than the channel will ever have.
    #[error("reserving {requested} slots on a channel of capacity {capacity}")]
    OverCapacity {
        /// Slots asked for.
        requested: usize,
        /// The channel's capacity.
        capacity: usize,
    },
}
