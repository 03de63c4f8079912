//! In and out of other code: [`Flow::forward`] into a channel,
//! [`Flow::into_stream`] as a [`Stream`](futures_core::Stream).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use weir_core::chan::{self, Receiver, Sender};
use weir_stage::engine;

use super::flow::Flow;
use super::run::{Join, Sink};
use crate::Error;

impl<T: Send + 'static> Flow<T> {
    /// Ends the flow by sending every item, in order, into `tx` (a channel
    /// read by code outside the pipeline). The sink resolves once
    /// everything is sent; it stops early, without error, if every receiver
    /// of `tx` is dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir::cancel::Context;
    /// use weir::chan;
    /// use weir::pipeline::Pipeline;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let (tx, rx) = chan::bounded(16);
    /// Pipeline::new(&Context::background()).source(1..=3).map(|n| n * 2).forward(tx).await.unwrap();
    /// assert_eq!(rx.recv().await, Some(2));
    /// # }
    /// ```
    pub fn forward(self, tx: Sender<T>) -> Sink<()> {
        self.sink_task("forward", move |src, stage| async move {
            engine::run_into(src, tx, &stage).await
        })
    }

    /// The flow's items as a [`Stream`](futures_core::Stream), for code
    /// that is not a pipeline: `Ok(item)` for each item, in order, then
    /// `Err(error)` once if the pipeline failed.
    ///
    /// The pipeline starts when the stream is first polled. Dropping the
    /// stream cancels the pipeline and leaves no task behind.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::StreamExt;
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let mut squares = Pipeline::new(&Context::background()).source(1..=3).square().into_stream();
    /// let mut got = Vec::new();
    /// while let Some(n) = squares.next().await {
    ///     got.push(n.unwrap());
    /// }
    /// assert_eq!(got, [1, 4, 9]);
    /// # }
    /// ```
    pub fn into_stream(self) -> FlowStream<T> {
        let (tx, rx) = chan::bounded(self.shared.capacity);
        FlowStream {
            rx,
            sink: Some(self.forward(tx)),
            join: None,
            done: false,
        }
    }
}

/// A flow's items as a [`Stream`](futures_core::Stream), from
/// [`Flow::into_stream`].
///
/// # Cancel safety
///
/// Dropping it cancels the pipeline; no task is left behind.
///
/// # Examples
///
/// ```
/// use futures::TryStreamExt;
/// use weir::cancel::Context;
/// use weir::pipeline::Pipeline;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let stream = Pipeline::new(&Context::background()).source(["1", "x"]).try_map(str::parse::<u8>).into_stream();
/// let err = stream.try_collect::<Vec<_>>().await.unwrap_err();
/// assert_eq!(err.stage(), Some("try_map#1"));
/// # }
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct FlowStream<T> {
    rx: Receiver<T>,
    /// The sink feeding `rx`, until the first poll runs it.
    sink: Option<Sink<()>>,
    join: Option<Join<()>>,
    done: bool,
}

impl<T: Send + 'static> futures_core::Stream for FlowStream<T> {
    type Item = Result<T, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if let Some(sink) = this.sink.take() {
            this.join = Some(sink.run().join());
        }
        if this.done {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.rx).poll_next(cx) {
            Poll::Ready(Some(item)) => return Poll::Ready(Some(Ok(item))),
            Poll::Ready(None) => {}
            Poll::Pending => return Poll::Pending,
        }
        // Every item is out: end with the pipeline's outcome.
        let Some(join) = this.join.as_mut() else {
            this.done = true;
            return Poll::Ready(None);
        };
        let outcome = std::task::ready!(Pin::new(join).poll(cx));
        this.done = true;
        this.join = None;
        Poll::Ready(outcome.err().map(Err))
    }
}

impl<T> std::fmt::Debug for FlowStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlowStream")
            .field("started", &self.sink.is_none())
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}
