//! [`Sender`] as a [`futures_sink::Sink`].

use std::fmt;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_sink::Sink;

use super::error::SendError;
use super::shared::SendPoll;
use super::Sender;

/// A [`Sender`] that implements [`Sink`], from [`Sender::into_sink`].
///
/// It holds at most one item of its own: `start_send` parks the item, and
/// `poll_ready` / `poll_flush` push it into the channel, waiting for room.
/// `poll_close` flushes and then drops this sender's share of the channel
/// (the channel closes when the last sender is gone).
///
/// # Cancel safety
///
/// As with any `Sink`, an item given to `start_send` is owned by the sink
/// until a flush pushes it: if a `SinkExt::send` future is dropped after
/// that, the item stays parked in the sink and is sent by the next
/// `poll_ready`/`poll_flush`/`poll_close`, or dropped with the sink.
///
/// # Examples
///
/// ```
/// use futures::{stream, SinkExt, StreamExt};
/// use weir_core::chan;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let (tx, rx) = chan::bounded(2);
/// let mut sink = tx.into_sink();
/// tokio::spawn(async move {
///     let mut items = stream::iter(1..=5).map(Ok);
///     sink.send_all(&mut items).await.unwrap();
/// });
/// assert_eq!(rx.collect::<Vec<_>>().await, [1, 2, 3, 4, 5]);
/// # }
/// ```
pub struct SendSink<T> {
    sender: Option<Sender<T>>,
    pending: Option<T>,
    /// While the pending item waits in the senders' line.
    key: Option<usize>,
}

impl<T> Sender<T> {
    /// Turns this sender into a [`Sink`] of items.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::SinkExt;
    /// use weir_core::chan;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let (tx, rx) = chan::bounded(1);
    /// let mut sink = tx.into_sink();
    /// sink.send(3).await.unwrap();
    /// assert_eq!(rx.recv().await, Some(3));
    /// # }
    /// ```
    pub fn into_sink(self) -> SendSink<T> {
        SendSink {
            sender: Some(self),
            pending: None,
            key: None,
        }
    }
}

impl<T> SendSink<T> {
    /// The sender inside, or `None` after the sink was closed.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan;
    ///
    /// let (tx, _rx) = chan::bounded::<u8>(1);
    /// let sink = tx.into_sink();
    /// assert!(sink.sender().is_some());
    /// ```
    pub fn sender(&self) -> Option<&Sender<T>> {
        self.sender.as_ref()
    }

    fn poll_push(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), SendError<T>>> {
        if self.pending.is_none() && self.key.is_none() {
            return Poll::Ready(Ok(()));
        }
        let Some(sender) = &self.sender else {
            return match self.pending.take() {
                Some(item) => Poll::Ready(Err(SendError(item))),
                None => Poll::Ready(Ok(())),
            };
        };
        match sender
            .chan
            .poll_send(&mut self.pending, &mut self.key, cx.waker())
        {
            SendPoll::Sent => Poll::Ready(Ok(())),
            SendPoll::Closed(t) => Poll::Ready(Err(SendError(t))),
            SendPoll::Waiting | SendPoll::Pending => Poll::Pending,
        }
    }

    fn leave(&mut self) {
        if let (Some(sender), Some(key)) = (&self.sender, self.key.take()) {
            // An item still in line is dropped with the sink.
            let _ = sender.chan.cancel_send(key);
        }
    }
}

impl<T> Unpin for SendSink<T> {}

impl<T> Sink<T> for SendSink<T> {
    type Error = SendError<T>;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.get_mut().poll_push(cx)
    }

    fn start_send(self: Pin<&mut Self>, item: T) -> Result<(), Self::Error> {
        let this = self.get_mut();
        match &this.sender {
            Some(_) => {
                // `poll_ready` returned `Ready(Ok)`, so the slot is free.
                this.pending = Some(item);
                Ok(())
            }
            None => Err(SendError(item)),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.get_mut().poll_push(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        let this = self.get_mut();
        let flushed = ready!(this.poll_push(cx));
        this.leave();
        this.sender = None;
        Poll::Ready(flushed)
    }
}

impl<T> Drop for SendSink<T> {
    fn drop(&mut self) {
        self.leave();
    }
}

impl<T> fmt::Debug for SendSink<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendSink")
            .field("pending", &(self.pending.is_some() || self.key.is_some()))
            .field("closed", &self.sender.is_none())
            .finish()
    }
}
