//! The sending half of a channel.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll, Waker};
use std::time::{Duration, Instant};

use event_listener::EventListener;

use super::blocking::block_on;
use super::coop::Budget;
use super::error::{SendError, SendTimeoutError, TrySendError};
use super::ident::TaskId;
use super::shared::{Chan, PushError, SendPoll};
use crate::loom::Arc;

/// The sending half of a channel: Go's `chan<- T`.
///
/// `Sender` is `Clone`: every clone sends into the same channel (MPMC). The
/// channel closes when the last `Sender` is dropped — Go's `close(ch)`, done
/// by construction — or earlier, by [`close`](Sender::close) from any clone.
/// After close, receivers drain what is buffered and then see the end.
///
/// # Examples
///
/// ```
/// use weir_core::chan;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let (tx, rx) = chan::bounded(8);
/// let tx2 = tx.clone();
/// tx.send(1).await.unwrap();
/// tx2.send(2).await.unwrap();
/// drop((tx, tx2)); // the last sender closes the channel
/// assert_eq!(rx.recv().await, Some(1));
/// assert_eq!(rx.recv().await, Some(2));
/// assert_eq!(rx.recv().await, None);
/// # }
/// ```
pub struct Sender<T> {
    pub(crate) chan: Arc<Chan<T>>,
}

impl<T> Sender<T> {
    /// Sends `item`, waiting while the channel is full: Go's `ch <- item`.
    ///
    /// A send that finds the channel full waits in line: blocked senders are
    /// served in the order they started waiting, as in Go. On a
    /// [rendezvous](super::rendezvous) channel the send completes once a
    /// receive has *taken* the item: handed straight into a waiting
    /// receive, or taken from this waiting send.
    ///
    /// # Cancel safety
    ///
    /// If the future is dropped before it completes, the item was not sent
    /// and is dropped with the future, with one exception, which is Go's
    /// own rule for a blocked send: once the future is waiting in line, a
    /// receive that makes room (or, on a rendezvous channel, takes the
    /// item) completes the send on the waiting future's behalf, even if that
    /// future is not polled again; dropping it afterwards does not undo the
    /// send. In a [`tokio::select!`] where another branch may win, use
    /// [`reserve`](Sender::reserve) instead: a [`Permit`](super::Permit)
    /// sends without waiting, and the item is never out of your hands until
    /// then.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the item when the channel is closed or every
    /// receiver is gone (where Go would panic).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let (tx, rx) = chan::bounded(1);
    /// tx.send("job").await.unwrap();
    /// drop(rx);
    /// assert_eq!(tx.send("late").await.unwrap_err().into_inner(), "late");
    /// # }
    /// ```
    ///
    /// [`tokio::select!`]: https://docs.rs/tokio/latest/tokio/macro.select.html
    pub fn send(&self, item: T) -> Send<'_, T> {
        Send {
            sender: self,
            item: Some(item),
            key: None,
            since: None,
        }
    }

    /// Sends every item of `items` in order, waiting for space as needed.
    ///
    /// This is the batch form of [`send`](Sender::send): it takes the
    /// channel's bookkeeping once per run of items that fit rather than once
    /// per item, so it is the fast way to move many items.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: if the future is dropped part-way, a prefix of the
    /// items has been sent and the rest is dropped.
    ///
    /// # Errors
    ///
    /// When the channel closes before every item is sent, [`SendError`] holds
    /// the items that were not sent, in order.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let (tx, rx) = chan::bounded(8);
    /// tx.send_all(vec![1, 2, 3]).await.unwrap();
    /// let mut got = Vec::new();
    /// rx.recv_many(&mut got, 8).await;
    /// assert_eq!(got, [1, 2, 3]);
    /// # }
    /// ```
    pub fn send_all(&self, items: Vec<T>) -> SendAll<'_, T> {
        SendAll {
            sender: self,
            items: VecDeque::from(items),
            front: None,
            key: None,
            since: None,
        }
    }

    /// Sends `item` without waiting: Go's `select { case ch <- item: default: }`.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] when there is no room, [`TrySendError::Closed`]
    /// when the channel is closed or every receiver is gone. The item comes
    /// back in both. On a [rendezvous](super::rendezvous) channel it
    /// succeeds when a receive of another task is waiting (the item goes
    /// straight into it), as Go's `select` with `default` does.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan::{self, TrySendError};
    ///
    /// let (tx, _rx) = chan::bounded(1);
    /// assert_eq!(tx.try_send(1), Ok(()));
    /// assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
    /// ```
    pub fn try_send(&self, item: T) -> Result<(), TrySendError<T>> {
        self.chan
            .try_push(item, TaskId::known())
            .map_err(|e| match e {
                PushError::Full(t) => TrySendError::Full(t),
                PushError::Closed(t) => TrySendError::Closed(t),
            })
    }

    /// Sends `item`, blocking the current thread while the channel is full.
    ///
    /// For threads outside an async runtime; in async code use
    /// [`send`](Sender::send), which yields instead of blocking a worker.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the item when the channel is closed or every
    /// receiver is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan;
    ///
    /// let (tx, rx) = chan::bounded(0); // rendezvous, like Go's make(chan int)
    /// let producer = std::thread::spawn(move || tx.send_blocking(42));
    /// assert_eq!(rx.recv_blocking(), Some(42));
    /// producer.join().unwrap().unwrap();
    /// ```
    pub fn send_blocking(&self, item: T) -> Result<(), SendError<T>> {
        self.send_until(item, None)
            .map_err(|e| SendError(e.into_inner()))
    }

    /// Sends `item`, blocking the current thread for at most `timeout`.
    ///
    /// # Errors
    ///
    /// [`SendTimeoutError::Timeout`] when the channel stayed full,
    /// [`SendTimeoutError::Closed`] when it closed; the item comes back in
    /// both.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir_core::chan;
    ///
    /// let (tx, rx) = chan::bounded(1);
    /// tx.send_timeout(1, Duration::from_secs(1)).unwrap();
    /// assert!(tx.send_timeout(2, Duration::ZERO).is_err());
    /// assert_eq!(rx.recv_blocking(), Some(1));
    /// ```
    pub fn send_timeout(&self, item: T, timeout: Duration) -> Result<(), SendTimeoutError<T>> {
        // A timeout too large to represent never expires.
        self.send_until(item, Instant::now().checked_add(timeout))
    }

    /// Sends `item`, blocking the current thread until `deadline` at the
    /// latest: crossbeam's `send_deadline`.
    ///
    /// # Errors
    ///
    /// [`SendTimeoutError::Timeout`] when the deadline passed first (the
    /// send did not happen), [`SendTimeoutError::Closed`] when the channel
    /// closed; the item comes back in both.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use weir_core::chan;
    ///
    /// let (tx, rx) = chan::bounded(1);
    /// let soon = Instant::now() + Duration::from_millis(10);
    /// tx.send_deadline('a', soon).unwrap();
    /// assert!(tx.send_deadline('b', soon).unwrap_err().is_timeout()); // full
    /// assert_eq!(rx.recv_blocking(), Some('a'));
    /// ```
    pub fn send_deadline(&self, item: T, deadline: Instant) -> Result<(), SendTimeoutError<T>> {
        self.send_until(item, Some(deadline))
    }

    /// The one blocking send: the async [`Send`] driven on this thread.
    fn send_until(&self, item: T, deadline: Option<Instant>) -> Result<(), SendTimeoutError<T>> {
        match block_on(self.send(item), deadline) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(SendError(t))) => Err(SendTimeoutError::Closed(t)),
            Err(send) => send.cancel().map_err(SendTimeoutError::Timeout),
        }
    }

    /// Closes the channel: Go's `close(ch)`, callable from any clone.
    ///
    /// Receivers still get every buffered item, then see the end. Later sends
    /// fail with the item. Returns `true` if this call closed the channel and
    /// `false` if it was already closed — closing twice is not an error
    /// (Go panics).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan;
    ///
    /// let (tx, rx) = chan::bounded(4);
    /// tx.send_blocking(1).unwrap();
    /// assert!(tx.close());
    /// assert!(!tx.close());
    /// assert!(tx.send_blocking(2).is_err());
    /// assert_eq!(rx.recv_blocking(), Some(1)); // buffered items drain
    /// assert_eq!(rx.recv_blocking(), None);
    /// ```
    pub fn close(&self) -> bool {
        self.chan.close()
    }

    /// Waits until sending can no longer succeed: the channel was closed or
    /// every receiver was dropped.
    ///
    /// A producer `select!`s on this to stop early when nobody listens any
    /// more, instead of computing an item only to get it back.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future has no effect on the channel.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let (tx, rx) = chan::bounded::<u32>(1);
    /// tokio::spawn(async move { drop(rx) });
    /// tx.closed().await;
    /// assert!(tx.is_closed());
    /// # }
    /// ```
    pub fn closed(&self) -> Closed<'_, T> {
        Closed {
            chan: &self.chan,
            listener: None,
            kept: KeptWaker::None,
        }
    }

    /// Whether sending can no longer succeed (closed, or every receiver is
    /// gone).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan;
    ///
    /// let (tx, rx) = chan::bounded::<u8>(1);
    /// assert!(!tx.is_closed());
    /// drop(rx);
    /// assert!(tx.is_closed());
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
    /// let (tx, _rx) = chan::bounded(4);
    /// tx.try_send(1).unwrap();
    /// assert_eq!(tx.len(), 1);
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
    /// let (tx, _rx) = chan::bounded::<u8>(4);
    /// assert!(tx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether a send would have to wait right now: no free slot, or other
    /// senders already waiting in line.
    ///
    /// A rendezvous channel is full unless a receive of another task is
    /// waiting.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan;
    ///
    /// let (tx, _rx) = chan::bounded(1);
    /// tx.try_send(1).unwrap();
    /// assert!(tx.is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        self.chan.is_full()
    }

    /// The capacity: `Some(n)` for [`bounded(n)`](super::bounded) (`Some(0)`
    /// for rendezvous), `None` for [`unbounded`](super::unbounded).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan;
    ///
    /// assert_eq!(chan::bounded::<u8>(3).0.capacity(), Some(3));
    /// assert_eq!(chan::unbounded::<u8>().0.capacity(), None);
    /// ```
    pub fn capacity(&self) -> Option<usize> {
        self.chan.capacity()
    }

    /// The number of live `Sender`s of this channel.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan;
    ///
    /// let (tx, _rx) = chan::bounded::<u8>(1);
    /// let _tx2 = tx.clone();
    /// assert_eq!(tx.sender_count(), 2);
    /// ```
    pub fn sender_count(&self) -> usize {
        self.chan.sender_count()
    }

    /// The number of live [`Receiver`](super::Receiver)s of this channel.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan;
    ///
    /// let (tx, rx) = chan::bounded::<u8>(1);
    /// drop(rx);
    /// assert_eq!(tx.receiver_count(), 0);
    /// ```
    pub fn receiver_count(&self) -> usize {
        self.chan.receiver_count()
    }

    /// Whether `self` and `other` send into the same channel.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan;
    ///
    /// let (a, _ra) = chan::bounded::<u8>(1);
    /// let (b, _rb) = chan::bounded::<u8>(1);
    /// assert!(a.same_channel(&a.clone()));
    /// assert!(!a.same_channel(&b));
    /// ```
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        Arc::ptr_eq(&self.chan, &other.chan)
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.chan.add_sender();
        Sender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.chan.remove_sender();
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// The future of [`Sender::send`].
///
/// # Cancel safety
///
/// Dropping it before completion sends nothing, unless it was already
/// waiting in line and a receive completed the send on its behalf (see
/// [`Sender::send`]).
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Send<'a, T> {
    sender: &'a Sender<T>,
    /// The item, until it is pushed (on a rendezvous channel, until it is
    /// offered in line).
    item: Option<T>,
    /// This send's place in the senders' line, while it waits.
    key: Option<usize>,
    since: Option<Instant>,
}

// The item is never pinned: it is moved in and out by value.
impl<T> Unpin for Send<'_, T> {}

impl<T> Send<'_, T> {
    /// Stops waiting: `Ok` if the item was sent meanwhile, else the item.
    fn cancel(mut self) -> Result<(), T> {
        let offered = match self.key.take() {
            Some(key) => match self.sender.chan.cancel_send(key) {
                Ok(()) => return Ok(()),
                Err(offered) => offered,
            },
            None => None,
        };
        match offered.or_else(|| self.item.take()) {
            Some(item) => Err(item),
            None => Ok(()),
        }
    }
}

impl<T> Future for Send<'_, T> {
    type Output = Result<(), SendError<T>>;

    #[inline(always)]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        // A send's first poll usually finds room: one short critical
        // section, no waiter bookkeeping. tokio's cooperative budget is
        // spent on a sample of operations (see `coop.rs`): the sampled one
        // takes the general path.
        if this.key.is_none() {
            if !super::coop::tick() {
                return this.poll_wait(cx, Budget::Spend);
            }
            if this.sender.chan.push_fast(&mut this.item) {
                return Poll::Ready(Ok(()));
            }
            return this.poll_wait(
                cx,
                Budget::after_fast_path(this.sender.chan.is_rendezvous()),
            );
        }
        this.poll_wait(cx, Budget::later_poll(this.sender.chan.is_rendezvous()))
    }
}

impl<T> Send<'_, T> {
    /// The general path of a poll: join the line, wait, or finish a wait.
    /// `budget`: whether this operation was counted, and sampled, already.
    #[inline(never)]
    fn poll_wait(
        &mut self,
        cx: &mut Context<'_>,
        budget: Budget,
    ) -> Poll<Result<(), SendError<T>>> {
        // Spends tokio's cooperative budget, like tokio's channels (see
        // `Receiver::recv`).
        let coop = ready!(super::coop::poll_budget(budget, cx));
        let chan = &*self.sender.chan;
        match chan.poll_send(&mut self.item, &mut self.key, cx.waker()) {
            SendPoll::Sent => {
                chan.stats.waited(false, self.since.take());
                coop.made_progress();
                Poll::Ready(Ok(()))
            }
            SendPoll::Closed(t) => {
                chan.stats.waited(false, self.since.take());
                Poll::Ready(Err(SendError(t)))
            }
            SendPoll::Waiting => {
                self.since = chan.stats.start();
                Poll::Pending
            }
            SendPoll::Pending => Poll::Pending,
        }
    }
}

impl<T> Drop for Send<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            // An item still in line is dropped here: it was not sent.
            let _ = self.sender.chan.cancel_send(key);
        }
    }
}

impl<T> fmt::Debug for Send<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Send")
            .field("waiting", &self.key.is_some())
            .finish_non_exhaustive()
    }
}

/// The future of [`Sender::send_all`].
///
/// # Cancel safety
///
/// Not cancel safe: dropped part-way, a prefix of the items has been sent.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct SendAll<'a, T> {
    sender: &'a Sender<T>,
    items: VecDeque<T>,
    /// While waiting in line: the item sent next (on a rendezvous channel
    /// the line holds it) and the place in line.
    front: Option<T>,
    key: Option<usize>,
    /// When it started waiting in line (for the statistics).
    since: Option<Instant>,
}

impl<T> Unpin for SendAll<'_, T> {}

impl<T> Future for SendAll<'_, T> {
    type Output = Result<(), SendError<Vec<T>>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let coop = ready!(super::coop::poll_proceed(cx));
        let chan = &*this.sender.chan;
        loop {
            if this.key.is_none() && this.front.is_none() {
                if this.items.is_empty() {
                    coop.made_progress();
                    return Poll::Ready(Ok(()));
                }
                match chan.try_push_many(&mut this.items) {
                    Err(()) => {
                        let rest = std::mem::take(&mut this.items);
                        return Poll::Ready(Err(SendError(Vec::from(rest))));
                    }
                    Ok(n) if n > 0 => continue,
                    Ok(_) => this.front = this.items.pop_front(),
                }
            }
            // No room: the front item waits in line like a single send.
            match chan.poll_send(&mut this.front, &mut this.key, cx.waker()) {
                SendPoll::Sent => chan.stats.waited(false, this.since.take()),
                SendPoll::Closed(t) => {
                    chan.stats.waited(false, this.since.take());
                    this.items.push_front(t);
                    let rest = std::mem::take(&mut this.items);
                    return Poll::Ready(Err(SendError(Vec::from(rest))));
                }
                SendPoll::Waiting => {
                    this.since = chan.stats.start();
                    return Poll::Pending;
                }
                SendPoll::Pending => return Poll::Pending,
            }
        }
    }
}

impl<T> Drop for SendAll<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let _ = self.sender.chan.cancel_send(key);
        }
    }
}

impl<T> fmt::Debug for SendAll<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendAll")
            .field("remaining", &self.items.len())
            .finish_non_exhaustive()
    }
}

/// The future of [`Sender::closed`].
///
/// # Cancel safety
///
/// Cancel safe.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Closed<'a, T> {
    chan: &'a Chan<T>,
    listener: Option<EventListener>,
    /// The waker `listener` was registered with, kept so that polls with
    /// the same waker can skip it (see [`KeptWaker`]).
    kept: KeptWaker,
}

/// What a [`Closed`] knows of the waker its listener holds. The channel's
/// close (or its last receiver's drop) is the only notification close
/// listeners get, and it sets the flag checked first; so a poll with the
/// waker the listener already holds has nothing to do, and skips its poll
/// (which takes the listener list's lock).
///
/// The waker is kept from the second pending poll on, so a wait polled
/// once and dropped pays no clone; keeping stops at the first poll with
/// another waker (a future moved between tasks, or a waker whose
/// `will_wake` is unreliable, as `block_on`'s can be), so it costs at most
/// one clone per listener.
enum KeptWaker {
    /// No listener registered yet.
    None,
    /// Registered by one poll; the waker is not kept.
    Once,
    /// Registered with this waker, and with no other since.
    Kept(Waker),
    /// Registered with another waker since: every poll polls the listener.
    Off,
}

impl<T> Future for Closed<'_, T> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        loop {
            if this.chan.is_closed() {
                return Poll::Ready(());
            }
            match &mut this.listener {
                None => {
                    this.listener = Some(this.chan.close_ops.listen());
                    this.kept = KeptWaker::None;
                }
                Some(l) => {
                    if matches!(&this.kept, KeptWaker::Kept(w) if w.will_wake(cx.waker())) {
                        return Poll::Pending;
                    }
                    if Pin::new(l).poll(cx).is_pending() {
                        this.kept = match this.kept {
                            KeptWaker::None => KeptWaker::Once,
                            KeptWaker::Once => KeptWaker::Kept(cx.waker().clone()),
                            _ => KeptWaker::Off,
                        };
                        return Poll::Pending;
                    }
                    this.listener = None;
                }
            }
        }
    }
}

impl<T> fmt::Debug for Closed<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Closed").finish_non_exhaustive()
    }
}
