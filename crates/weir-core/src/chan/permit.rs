//! Reserving room before sending: [`Sender::reserve`] and
//! [`Sender::reserve_many`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use super::error::{ReserveError, SendError};
use super::shared::ReserveFail;
use super::Sender;

impl<T> Sender<T> {
    /// Waits for a free slot and holds it: the returned [`Permit`] sends one
    /// item without waiting, and gives the slot back if it is dropped
    /// unused (tokio's `Sender::reserve`).
    ///
    /// This is how to send from a [`tokio::select!`] without losing the
    /// item: the item stays with you until the permit is in hand, so a
    /// losing branch drops nothing. Reservations wait in line with blocked
    /// sends, in arrival order. On an unbounded channel a permit is
    /// granted at once.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future before it completes gives back any
    /// slot it held and takes its place out of the line.
    ///
    /// # Errors
    ///
    /// [`ReserveError::Closed`] when the channel is closed or every
    /// receiver is gone; [`ReserveError::Rendezvous`] on a rendezvous
    /// channel, which has no slot to hold.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir_core::chan;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let (tx, rx) = chan::bounded(1);
    /// tx.send("first").await.unwrap();
    /// let job = "second";
    /// tokio::select! {
    ///     permit = tx.reserve() => permit.unwrap().send(job).unwrap(),
    ///     _ = tokio::time::sleep(Duration::from_millis(10)) => {
    ///         // The channel stayed full: `job` was never moved, keep it.
    ///         assert_eq!(job, "second");
    ///     }
    /// }
    /// assert_eq!(rx.recv().await, Some("first"));
    /// # }
    /// ```
    ///
    /// [`tokio::select!`]: https://docs.rs/tokio/latest/tokio/macro.select.html
    pub fn reserve(&self) -> Reserve<'_, T> {
        Reserve {
            inner: ReserveMany {
                sender: self,
                want: 1,
                key: None,
            },
        }
    }

    /// Waits for `n` free slots at once and holds them: the returned
    /// [`Permits`] hands out `n` [`Permit`]s, each sending one item without
    /// waiting; the ones left unused give their slots back when dropped.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future gives back the slots granted so far.
    ///
    /// # Errors
    ///
    /// As [`reserve`](Sender::reserve), plus [`ReserveError::OverCapacity`]
    /// when `n` exceeds the channel's capacity (it could never be granted).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let (tx, rx) = chan::bounded(4);
    /// let mut permits = tx.reserve_many(3).await.unwrap();
    /// assert_eq!(permits.len(), 3);
    /// permits.next().unwrap().send('a').unwrap();
    /// drop(permits); // the two unused slots go back
    /// assert_eq!(rx.try_recv(), Ok('a'));
    /// assert!(!tx.is_full());
    /// # }
    /// ```
    pub fn reserve_many(&self, n: usize) -> ReserveMany<'_, T> {
        ReserveMany {
            sender: self,
            want: n,
            key: None,
        }
    }
}

/// The future of [`Sender::reserve`].
///
/// # Cancel safety
///
/// Cancel safe: see [`Sender::reserve`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Reserve<'a, T> {
    inner: ReserveMany<'a, T>,
}

impl<'a, T> Future for Reserve<'a, T> {
    type Output = Result<Permit<'a, T>, ReserveError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut permits = ready!(Pin::new(&mut self.inner).poll(cx))?;
        Poll::Ready(Ok(permits.next().expect("one slot was reserved")))
    }
}

impl<T> fmt::Debug for Reserve<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reserve").finish_non_exhaustive()
    }
}

/// The future of [`Sender::reserve_many`].
///
/// # Cancel safety
///
/// Cancel safe: see [`Sender::reserve_many`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct ReserveMany<'a, T> {
    sender: &'a Sender<T>,
    want: usize,
    key: Option<usize>,
}

impl<T> Unpin for ReserveMany<'_, T> {}

impl<'a, T> Future for ReserveMany<'a, T> {
    type Output = Result<Permits<'a, T>, ReserveError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let sender = this.sender;
        let chan = &*sender.chan;
        let granted = |left| Poll::Ready(Ok(Permits { sender, left }));
        match chan.capacity() {
            Some(0) => return Poll::Ready(Err(ReserveError::Rendezvous)),
            Some(capacity) if this.want > capacity => {
                return Poll::Ready(Err(ReserveError::OverCapacity {
                    requested: this.want,
                    capacity,
                }))
            }
            _ if this.want == 0 => return granted(0),
            _ => {}
        }
        let coop = ready!(super::coop::poll_proceed(cx));
        match chan.poll_reserve(this.want, &mut this.key, cx.waker()) {
            Ok(true) => {
                coop.made_progress();
                granted(this.want)
            }
            Ok(false) => Poll::Pending,
            Err(ReserveFail::Closed) => Poll::Ready(Err(ReserveError::Closed)),
            Err(ReserveFail::Full) => Poll::Ready(Err(ReserveError::OverCapacity {
                requested: this.want,
                capacity: chan.capacity().unwrap_or(usize::MAX),
            })),
        }
    }
}

impl<T> Drop for ReserveMany<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.sender.chan.cancel_reserve(key);
        }
    }
}

impl<T> fmt::Debug for ReserveMany<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReserveMany")
            .field("want", &self.want)
            .finish_non_exhaustive()
    }
}

/// One reserved slot: sends one item without waiting.
///
/// Dropped unused, it gives the slot back (to the next sender in line).
///
/// # Examples
///
/// ```
/// use weir_core::chan;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let (tx, rx) = chan::bounded(1);
/// let permit = tx.reserve().await.unwrap();
/// assert!(tx.is_full()); // the slot is held
/// permit.send(7).unwrap();
/// assert_eq!(rx.recv().await, Some(7));
/// # }
/// ```
#[must_use = "a permit holds a slot of the channel until it sends or is dropped"]
pub struct Permit<'a, T> {
    sender: &'a Sender<T>,
}

impl<T> Permit<'_, T> {
    /// Sends `item` into the held slot, without waiting.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the item when the channel was closed, or every
    /// receiver dropped, after the slot was reserved.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let (tx, rx) = chan::bounded(1);
    /// let permit = tx.reserve().await.unwrap();
    /// drop(rx);
    /// assert_eq!(permit.send(1).unwrap_err().into_inner(), 1);
    /// # }
    /// ```
    pub fn send(self, item: T) -> Result<(), SendError<T>> {
        let chan = &self.sender.chan;
        std::mem::forget(self); // the slot is used, not given back
        chan.push_reserved(item).map_err(SendError)
    }
}

impl<T> Drop for Permit<'_, T> {
    fn drop(&mut self) {
        self.sender.chan.release_reserved(1);
    }
}

impl<T> fmt::Debug for Permit<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit").finish_non_exhaustive()
    }
}

/// Several reserved slots, from [`Sender::reserve_many`]: an iterator of
/// [`Permit`]s. The permits not taken give their slots back when this is
/// dropped.
///
/// # Examples
///
/// ```
/// use weir_core::chan;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let (tx, rx) = chan::bounded(2);
/// for (permit, item) in tx.reserve_many(2).await.unwrap().zip(["a", "b"]) {
///     permit.send(item).unwrap();
/// }
/// assert_eq!(rx.try_iter().collect::<Vec<_>>(), ["a", "b"]);
/// # }
/// ```
#[must_use = "permits hold slots of the channel until they send or are dropped"]
pub struct Permits<'a, T> {
    sender: &'a Sender<T>,
    left: usize,
}

impl<'a, T> Iterator for Permits<'a, T> {
    type Item = Permit<'a, T>;

    fn next(&mut self) -> Option<Permit<'a, T>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        Some(Permit {
            sender: self.sender,
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl<T> ExactSizeIterator for Permits<'_, T> {}

impl<T> Drop for Permits<'_, T> {
    fn drop(&mut self) {
        self.sender.chan.release_reserved(self.left);
    }
}

impl<T> fmt::Debug for Permits<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permits")
            .field("left", &self.left)
            .finish_non_exhaustive()
    }
}
