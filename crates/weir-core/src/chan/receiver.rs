//! The receiving half of a channel.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_core::{FusedStream, Stream};

use super::blocking::block_on;
use super::coop::Budget;
use super::error::{RecvTimeoutError, TryRecvError};
use super::ident::TaskId;
use super::shared::{Chan, PopError, RecvPoll};
use crate::loom::Arc;

/// The receiving half of a channel: Go's `<-chan T`.
///
/// `Receiver` is `Clone`: clones compete for items (each item goes to
/// exactly one receiver), which is how Go's worker pools share a jobs
/// channel. It is also a [`Stream`], so `for v := range ch` becomes
/// `while let Some(v) = rx.recv().await` or any `StreamExt` combinator.
///
/// When every `Receiver` is dropped, sends fail at once with their item and
/// whatever was buffered is released.
///
/// # Examples
///
/// ```
/// use futures::StreamExt;
/// use weir_core::chan;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let (tx, rx) = chan::bounded(4);
/// tokio::spawn(async move {
///     for i in 1..=3 {
///         tx.send(i).await.unwrap();
///     }
/// });
/// let all: Vec<i32> = rx.collect().await; // Go's `for v := range ch`
/// assert_eq!(all, [1, 2, 3]);
/// # }
/// ```
pub struct Receiver<T> {
    pub(crate) chan: Arc<Chan<T>>,
    /// Wait state of the `Stream` implementation and `poll_recv_many`.
    stream: Waiter,
}

impl<T> Receiver<T> {
    pub(crate) fn new(chan: Arc<Chan<T>>) -> Self {
        Receiver {
            chan,
            stream: Waiter::unhandable(),
        }
    }

    /// Receives the next item, waiting while the channel is empty: Go's
    /// `v, ok := <-ch`. Returns `None` once the channel is closed and every
    /// buffered item has been received.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: if the future is dropped before it completes (say, it
    /// lost a [`tokio::select!`]), no item is lost. On a buffered channel
    /// it took nothing. On a [rendezvous](super::rendezvous) channel a send
    /// may have handed its item straight to the waiting receive (the send
    /// completed then, as in Go); dropped before returning it, the receive
    /// puts the item back at the head of the line, and the next receive
    /// returns it before the items of later senders.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let (tx, rx) = chan::bounded(1);
    /// tokio::spawn(async move { tx.send("hi").await.unwrap() });
    /// assert_eq!(rx.recv().await, Some("hi"));
    /// assert_eq!(rx.recv().await, None); // closed: the sender was dropped
    /// # }
    /// ```
    ///
    /// [`tokio::select!`]: https://docs.rs/tokio/latest/tokio/macro.select.html
    pub fn recv(&self) -> Recv<'_, T> {
        Recv {
            chan: &self.chan,
            waiter: Waiter::new(),
        }
    }

    /// Waits for at least one item, then moves up to `limit` available items
    /// into `buf` (appending) and returns how many it moved.
    ///
    /// Returns `0` only when the channel is closed and drained, or when
    /// `limit` is `0`. This is the batch form of [`recv`](Receiver::recv):
    /// it takes the channel's bookkeeping once per batch.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: if the future is dropped before it completes, no item
    /// was taken.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let (tx, rx) = chan::bounded(8);
    /// tx.send_all(vec![1, 2, 3, 4, 5]).await.unwrap();
    /// drop(tx);
    /// let mut buf = Vec::new();
    /// assert_eq!(rx.recv_many(&mut buf, 3).await, 3);
    /// assert_eq!(rx.recv_many(&mut buf, 3).await, 2);
    /// assert_eq!(rx.recv_many(&mut buf, 3).await, 0);
    /// assert_eq!(buf, [1, 2, 3, 4, 5]);
    /// # }
    /// ```
    pub fn recv_many<'a>(&'a self, buf: &'a mut Vec<T>, limit: usize) -> RecvMany<'a, T> {
        RecvMany {
            chan: &self.chan,
            buf,
            limit,
            waiter: Waiter::new(),
        }
    }

    /// Polls for a batch: the poll form of [`recv_many`](Receiver::recv_many),
    /// for hand-written futures and streams.
    ///
    /// Returns `Ready(n)` after moving `n ≥ 1` available items (at most
    /// `limit`) into `buf`, `Ready(0)` when the channel is closed and
    /// drained (or `limit` is `0`), and `Pending` after arranging for `cx`'s
    /// waker to be woken when items arrive. The wait state lives in the
    /// receiver (shared with its [`Stream`] implementation), which is why
    /// this takes `&mut self`.
    ///
    /// # Cancel safety
    ///
    /// Items are moved only in a `Ready` return: after a `Pending`, nothing
    /// was taken, whatever happens next.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::poll_fn;
    /// use weir_core::chan;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let (tx, mut rx) = chan::bounded(4);
    /// tx.send_all(vec![1, 2, 3]).await.unwrap();
    /// let mut buf = Vec::new();
    /// let n = poll_fn(|cx| rx.poll_recv_many(cx, &mut buf, 2)).await;
    /// assert_eq!((n, buf), (2, vec![1, 2]));
    /// # }
    /// ```
    pub fn poll_recv_many(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut Vec<T>,
        limit: usize,
    ) -> Poll<usize> {
        self.stream.poll_many(&self.chan, cx, buf, limit)
    }

    /// Receives an item if one is buffered, without waiting: Go's
    /// `select { case v := <-ch: default: }`.
    ///
    /// On a rendezvous channel this takes the item of the oldest waiting
    /// sender of another task, whose send then completes (Go's receive
    /// from a blocked sender).
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] if nothing is buffered,
    /// [`TryRecvError::Closed`] if the channel is closed and drained.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan::{self, TryRecvError};
    ///
    /// let (tx, rx) = chan::bounded(1);
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.try_send(5).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(5));
    /// ```
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        self.chan.try_pop(TaskId::known()).map_err(pop_to_try)
    }

    /// Receives the next item, blocking the current thread while the channel
    /// is empty. Returns `None` once the channel is closed and drained.
    ///
    /// For threads outside an async runtime; in async code use
    /// [`recv`](Receiver::recv).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan;
    ///
    /// let (tx, rx) = chan::bounded(1);
    /// std::thread::spawn(move || tx.send_blocking(9).unwrap());
    /// assert_eq!(rx.recv_blocking(), Some(9));
    /// assert_eq!(rx.recv_blocking(), None);
    /// ```
    pub fn recv_blocking(&self) -> Option<T> {
        self.recv_until(None).ok()
    }

    /// Receives the next item, blocking the current thread for at most
    /// `timeout`.
    ///
    /// # Errors
    ///
    /// [`RecvTimeoutError::Timeout`] if nothing arrived in time,
    /// [`RecvTimeoutError::Closed`] if the channel is closed and drained.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir_core::chan::{self, RecvTimeoutError};
    ///
    /// let (tx, rx) = chan::bounded::<u8>(1);
    /// assert_eq!(rx.recv_timeout(Duration::ZERO), Err(RecvTimeoutError::Timeout));
    /// drop(tx);
    /// assert_eq!(rx.recv_timeout(Duration::MAX), Err(RecvTimeoutError::Closed));
    /// ```
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        // A timeout too large to represent never expires.
        self.recv_until(Instant::now().checked_add(timeout))
    }

    /// Receives the next item, blocking the current thread until
    /// `deadline` at the latest: crossbeam's `recv_deadline`.
    ///
    /// # Errors
    ///
    /// [`RecvTimeoutError::Timeout`] if nothing arrived in time,
    /// [`RecvTimeoutError::Closed`] if the channel is closed and drained.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use weir_core::chan::{self, RecvTimeoutError};
    ///
    /// let (tx, rx) = chan::bounded(1);
    /// let soon = Instant::now() + Duration::from_millis(10);
    /// assert_eq!(rx.recv_deadline(soon), Err(RecvTimeoutError::Timeout));
    /// tx.try_send(3).unwrap();
    /// assert_eq!(rx.recv_deadline(soon), Ok(3));
    /// ```
    pub fn recv_deadline(&self, deadline: Instant) -> Result<T, RecvTimeoutError> {
        self.recv_until(Some(deadline))
    }

    /// The one blocking receive: the async [`Recv`] driven on this thread.
    fn recv_until(&self, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        match block_on(self.recv(), deadline) {
            Ok(Some(item)) => Ok(item),
            Ok(None) => Err(RecvTimeoutError::Closed),
            // Dropping the pending receive loses nothing: an item a send
            // handed it meanwhile goes back to the head of the line.
            Err(_) => Err(RecvTimeoutError::Timeout),
        }
    }

    /// An iterator over the items buffered now, without waiting: it ends at
    /// the first [`try_recv`](Receiver::try_recv) that finds nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan;
    ///
    /// let (tx, rx) = chan::bounded(4);
    /// tx.try_send(1).unwrap();
    /// tx.try_send(2).unwrap();
    /// assert_eq!(rx.try_iter().collect::<Vec<_>>(), [1, 2]);
    /// assert_eq!(rx.try_iter().next(), None); // empty, but still open
    /// ```
    pub fn try_iter(&self) -> TryIter<'_, T> {
        TryIter { rx: self }
    }

    /// Closes the channel from the receiving side (async-channel's
    /// `Receiver::close`): later sends fail with their item and blocked
    /// senders get theirs back, while items already buffered can still be
    /// received. Returns `true` if this call closed the channel.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan;
    ///
    /// let (tx, rx) = chan::bounded(4);
    /// tx.try_send(1).unwrap();
    /// assert!(rx.close());
    /// assert!(tx.try_send(2).unwrap_err().is_closed());
    /// assert_eq!(rx.try_recv(), Ok(1)); // buffered items still drain
    /// assert!(rx.try_recv().is_err());
    /// ```
    pub fn close(&self) -> bool {
        self.chan.close()
    }

    /// Whether a send would have to wait right now (see
    /// [`Sender::is_full`](super::Sender::is_full)).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan;
    ///
    /// let (tx, rx) = chan::bounded(1);
    /// assert!(!rx.is_full());
    /// tx.try_send(1).unwrap();
    /// assert!(rx.is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        self.chan.is_full()
    }

    /// A blocking iterator over received items, ending when the channel is
    /// closed and drained: `for v := range ch` on a thread.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan;
    ///
    /// let (tx, rx) = chan::bounded(4);
    /// std::thread::spawn(move || (1..=3).for_each(|i| tx.send_blocking(i).unwrap()));
    /// assert_eq!(rx.iter().sum::<i32>(), 6);
    /// ```
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { rx: self }
    }

    /// Whether the channel is closed to new sends. Buffered items may still
    /// be waiting to be received.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan;
    ///
    /// let (tx, rx) = chan::bounded::<u8>(1);
    /// drop(tx);
    /// assert!(rx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }

    /// The number of items buffered in the channel.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan;
    ///
    /// let (tx, rx) = chan::bounded(4);
    /// tx.try_send(1).unwrap();
    /// assert_eq!(rx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.chan.len()
    }

    /// Whether no item is buffered.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan;
    ///
    /// let (_tx, rx) = chan::bounded::<u8>(4);
    /// assert!(rx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The capacity: `Some(n)` for [`bounded(n)`](super::bounded), `None` for
    /// [`unbounded`](super::unbounded).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan;
    ///
    /// assert_eq!(chan::bounded::<u8>(0).1.capacity(), Some(0));
    /// ```
    pub fn capacity(&self) -> Option<usize> {
        self.chan.capacity()
    }

    /// The number of live [`Sender`](super::Sender)s of this channel.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan;
    ///
    /// let (tx, rx) = chan::bounded::<u8>(1);
    /// drop(tx);
    /// assert_eq!(rx.sender_count(), 0);
    /// ```
    pub fn sender_count(&self) -> usize {
        self.chan.sender_count()
    }

    /// The number of live `Receiver`s of this channel.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan;
    ///
    /// let (_tx, rx) = chan::bounded::<u8>(1);
    /// let _rx2 = rx.clone();
    /// assert_eq!(rx.receiver_count(), 2);
    /// ```
    pub fn receiver_count(&self) -> usize {
        self.chan.receiver_count()
    }

    /// Whether `self` and `other` receive from the same channel.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan;
    ///
    /// let (_tx, rx) = chan::bounded::<u8>(1);
    /// assert!(rx.same_channel(&rx.clone()));
    /// ```
    pub fn same_channel(&self, other: &Receiver<T>) -> bool {
        Arc::ptr_eq(&self.chan, &other.chan)
    }
}

fn pop_to_try(e: PopError) -> TryRecvError {
    match e {
        PopError::Empty => TryRecvError::Empty,
        PopError::Closed => TryRecvError::Closed,
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        self.chan.add_receiver();
        Receiver::new(self.chan.clone())
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.stream.leave(&self.chan);
        self.chan.remove_receiver();
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// A `Receiver` is a stream of its channel's items, ending when the channel
/// is closed and drained: Go's `for v := range ch`.
///
/// The wait state of the stream lives in the receiver, so that polling can
/// resume where it left off. A stream polled, left pending and never polled
/// again (say, in a losing `select!` branch) holds no item and swallows no
/// wake-up: like every waiting receive, it is woken once and then no longer
/// counts as waiting.
///
/// # Cancel safety
///
/// `poll_next` takes an item only when it returns it: a stream dropped or
/// abandoned while pending has taken nothing.
///
/// # Examples
///
/// ```
/// use futures::StreamExt;
/// use weir_core::chan;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let (tx, rx) = chan::bounded(4);
/// tx.send_all(vec![1, 2, 3]).await.unwrap();
/// drop(tx);
/// let doubled: Vec<i32> = rx.map(|n| n * 2).collect().await;
/// assert_eq!(doubled, [2, 4, 6]);
/// # }
/// ```
impl<T> Stream for Receiver<T> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = &mut *self;
        this.stream.poll_one(&this.chan, cx)
    }
}

impl<T> FusedStream for Receiver<T> {
    fn is_terminated(&self) -> bool {
        self.chan.is_drained()
    }
}

/// How one receive operation waits: its place among the sleeping
/// receivers, and when it started waiting (for the statistics).
struct Waiter {
    key: Option<usize>,
    since: Option<Instant>,
    /// Whether a send may hand an item straight to this wait (see
    /// `RecvSlot` in `shared.rs`): not for the receiver's own wait.
    handable: bool,
}

impl Waiter {
    fn new() -> Waiter {
        Waiter {
            key: None,
            since: None,
            handable: true,
        }
    }

    /// The wait a `Receiver` keeps for its `Stream` implementation.
    fn unhandable() -> Waiter {
        Waiter {
            handable: false,
            ..Waiter::new()
        }
    }

    /// One poll: `Ready(Some(item))`, `Ready(None)` at the end, or pending.
    #[inline(always)]
    fn poll_one<T>(&mut self, chan: &Chan<T>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        // Not waiting yet and an item buffered: one short critical section.
        // tokio's cooperative budget is spent on a sample of operations
        // (see `coop.rs`): the sampled one takes the general path.
        if self.key.is_none() {
            if !super::coop::tick() {
                return self.poll_wait(chan, cx, Budget::Spend);
            }
            if let Some(item) = chan.pop_fast() {
                return Poll::Ready(Some(item));
            }
            return self.poll_wait(chan, cx, Budget::after_fast_path(chan.is_rendezvous()));
        }
        self.poll_wait(chan, cx, Budget::later_poll(chan.is_rendezvous()))
    }

    /// The general path of [`Waiter::poll_one`]: wait, or finish a wait.
    /// `budget`: whether this operation was counted, and sampled, already.
    #[inline(never)]
    fn poll_wait<T>(
        &mut self,
        chan: &Chan<T>,
        cx: &mut Context<'_>,
        budget: Budget,
    ) -> Poll<Option<T>> {
        // Inside tokio, receives spend the task's cooperative budget: a
        // consumer that always finds items still yields now and then, so
        // it can be cancelled and others can run.
        let coop = std::task::ready!(super::coop::poll_budget(budget, cx));
        match chan.poll_recv(&mut self.key, cx.waker(), self.handable) {
            RecvPoll::Item(item) => {
                chan.stats.waited(true, self.since.take());
                coop.made_progress();
                Poll::Ready(item)
            }
            RecvPoll::Closed => {
                chan.stats.waited(true, self.since.take());
                Poll::Ready(None)
            }
            RecvPoll::Pending => {
                if self.since.is_none() {
                    self.since = chan.stats.start();
                }
                Poll::Pending
            }
        }
    }

    /// One poll of a batch receive: how many items it moved into `buf`.
    fn poll_many<T>(
        &mut self,
        chan: &Chan<T>,
        cx: &mut Context<'_>,
        buf: &mut Vec<T>,
        limit: usize,
    ) -> Poll<usize> {
        let coop = std::task::ready!(super::coop::poll_proceed(cx));
        let before = buf.len();
        match chan.poll_recv_many(&mut self.key, cx.waker(), buf, limit, self.handable) {
            RecvPoll::Item(_) => {
                chan.stats.waited(true, self.since.take());
                coop.made_progress();
                Poll::Ready(buf.len() - before)
            }
            RecvPoll::Closed => {
                chan.stats.waited(true, self.since.take());
                Poll::Ready(0)
            }
            RecvPoll::Pending => {
                if self.since.is_none() {
                    self.since = chan.stats.start();
                }
                Poll::Pending
            }
        }
    }

    /// Stops waiting.
    #[inline]
    fn leave<T>(&mut self, chan: &Chan<T>) {
        if let Some(key) = self.key.take() {
            chan.leave_recv(key);
        }
    }
}

/// The future of [`Receiver::recv`].
///
/// # Cancel safety
///
/// Dropping it before completion loses no item: see [`Receiver::recv`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Recv<'a, T> {
    chan: &'a Chan<T>,
    waiter: Waiter,
}

impl<T> Future for Recv<'_, T> {
    type Output = Option<T>;

    #[inline(always)]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = &mut *self;
        this.waiter.poll_one(this.chan, cx)
    }
}

impl<T> Drop for Recv<'_, T> {
    fn drop(&mut self) {
        self.waiter.leave(self.chan);
    }
}

impl<T> fmt::Debug for Recv<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recv").finish_non_exhaustive()
    }
}

/// The future of [`Receiver::recv_many`].
///
/// # Cancel safety
///
/// Dropping it before completion takes no item.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct RecvMany<'a, T> {
    chan: &'a Chan<T>,
    buf: &'a mut Vec<T>,
    limit: usize,
    waiter: Waiter,
}

impl<T> Future for RecvMany<'_, T> {
    type Output = usize;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        let this = &mut *self;
        this.waiter.poll_many(this.chan, cx, this.buf, this.limit)
    }
}

impl<T> Drop for RecvMany<'_, T> {
    fn drop(&mut self) {
        self.waiter.leave(self.chan);
    }
}

impl<T> fmt::Debug for RecvMany<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvMany")
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

/// A non-blocking iterator over the items buffered now, from
/// [`Receiver::try_iter`].
pub struct TryIter<'a, T> {
    rx: &'a Receiver<T>,
}

impl<T> Iterator for TryIter<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.rx.try_recv().ok()
    }
}

impl<T> fmt::Debug for TryIter<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TryIter").finish_non_exhaustive()
    }
}

/// A blocking iterator over a [`Receiver`], from [`Receiver::iter`].
pub struct Iter<'a, T> {
    rx: &'a Receiver<T>,
}

impl<T> Iterator for Iter<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.rx.recv_blocking()
    }
}

impl<T> fmt::Debug for Iter<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Iter").finish_non_exhaustive()
    }
}
