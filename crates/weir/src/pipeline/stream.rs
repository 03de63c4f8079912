//! In and out of other code: [`Flow::forward`] into a channel,
//! [`Flow::into_stream`] as a [`Stream`](futures_core::Stream).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use tokio::sync::Notify;
use weir_core::chan::{self, Receiver, Sender};
use weir_stage::engine::{self, door, BatchSource, BoxSource, Stage};
use weir_stage::Error as StageError;

use super::flow::{Flow, Shared};
use super::graph::NodeId;
use super::run::{Join, Sink};
use crate::error::Error;

/// How long a stream's stage waits for the stream's first read once its
/// buffer is full, before it fails with [`StreamNotRead`].
pub const UNREAD_GRACE: Duration = Duration::from_secs(1);

/// A [`FlowStream`] was never read while the rest of its pipeline ran, and
/// its buffer filled: its stage failed instead of holding the pipeline up
/// for ever (see [`Flow::into_stream`]).
///
/// # Examples
///
/// ```
/// use weir::cancel::Context;
/// use weir::pipeline::{Pipeline, StreamNotRead};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let p = Pipeline::with_capacity(&Context::background(), 4);
/// let [a, b] = p.source(0..100u32).broadcast();
/// let (total, _unread) = (a.count(), b.into_stream().named("later"));
/// let err = total.await.unwrap_err(); // the stream was not read meanwhile
/// assert_eq!(err.stage(), Some("later"));
/// let why = std::error::Error::source(&err).unwrap();
/// assert_eq!(why.downcast_ref::<StreamNotRead>().unwrap().capacity, 4);
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "the stream was never read and its buffer of {capacity} items is full: \
     read it alongside the pipeline's other sinks (join them), or poll it first"
)]
#[non_exhaustive]
pub struct StreamNotRead {
    /// The stream's buffer, in items.
    pub capacity: usize,
}

/// # Sinks: out to other code
///
/// [`forward`](Flow::forward) sends into a channel;
/// [`into_stream`](Flow::into_stream) hands the items out as a `Stream`.
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
            let counted = Counted {
                inner: src,
                stage: stage.clone(),
            };
            engine::run_into(Box::new(counted), tx, &stage).await
        })
    }

    /// The flow's items as a [`Stream`](futures_core::Stream), for code
    /// that is not a pipeline: `Ok(item)` for each item, in order, then
    /// `Err(error)` once if the pipeline failed.
    ///
    /// The pipeline starts when the stream is first polled (or when
    /// another sink of it is awaited). Dropping the stream cancels the
    /// pipeline and leaves no task behind. The stage is an `into_stream`
    /// stage in the metrics; name it with [`FlowStream::named`].
    ///
    /// # Reading it with other sinks
    ///
    /// The stream holds up to the pipeline's capacity of items. When
    /// another sink of the same pipeline is awaited first and this stream
    /// is not read meanwhile, its buffer fills and would hold the rest of
    /// the pipeline up for ever. Instead, once the buffer is full and the
    /// stream was never read, its stage waits [`UNREAD_GRACE`] for the
    /// first read and then fails with [`StreamNotRead`], naming it: every
    /// sink reports that error. Read the stream alongside the other sinks
    /// (`tokio::join!`, or spawn one of them), or poll it first.
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
        let capacity = self.shared.capacity;
        let (tx, rx) = chan::bounded(capacity);
        let read = Arc::new(Read::default());
        let reader = read.clone();
        let sink = self.sink_task("into_stream", move |src, stage| async move {
            pump(src, tx, &stage, &reader, capacity).await
        });
        FlowStream {
            rx,
            shared: sink.shared.clone().expect("a new sink"),
            node: sink.node,
            sink: Some(sink),
            join: None,
            done: false,
            read,
        }
    }
}

/// Whether a stream was read yet, and a wake-up for its first read.
#[derive(Default)]
struct Read {
    started: AtomicBool,
    first: Notify,
}

impl Read {
    fn start(&self) {
        if !self.started.swap(true, Ordering::AcqRel) {
            self.first.notify_one();
        }
    }

    fn started(&self) -> bool {
        self.started.load(Ordering::Acquire)
    }
}

/// The stream's stage: moves every batch of `src` into `tx`, counting
/// them; fails with [`StreamNotRead`] when `tx` has no room for a batch,
/// the stream was never read, and it still is not after [`UNREAD_GRACE`].
async fn pump<T: Send + 'static>(
    mut src: BoxSource<T>,
    tx: Sender<T>,
    stage: &Stage,
    read: &Read,
    capacity: usize,
) -> Result<(), StageError> {
    let counted = stage.counters();
    let _running = Running::new(stage);
    let mut buf = Vec::new();
    loop {
        let pull = std::future::poll_fn(|cx| src.poll_batch(cx, &mut buf));
        let Some(more) = door::unless_closed(&tx, pull).await else {
            return Ok(());
        };
        let more = more?;
        if !more {
            return Ok(());
        }
        let n = buf.len();
        counted.batch(n, n, Duration::ZERO);
        let room = capacity.saturating_sub(tx.len());
        if room < n && !read.started() {
            let first = read.first.notified();
            if !read.started() && tokio::time::timeout(UNREAD_GRACE, first).await.is_err() {
                counted.error();
                return Err(StageError::Failed {
                    stage: stage.name(),
                    source: Box::new(StreamNotRead { capacity }),
                });
            }
        }
        // While the stream's reader is behind, a buffer fused into `src`
        // keeps pulling its upstream.
        let batch = std::mem::take(&mut buf);
        if engine::while_filling(&mut src, tx.send_all(batch))
            .await?
            .is_err()
        {
            return Ok(()); // the stream is gone
        }
    }
}

/// Marks a stage running for as long as it lives (its task may be
/// dropped mid-way).
struct Running<'a>(&'a Stage);

impl<'a> Running<'a> {
    fn new(stage: &'a Stage) -> Self {
        stage.counters().set_running(true);
        Running(stage)
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.counters().set_running(false);
    }
}

/// A source whose batches its sink stage counts, in and out (a sink that
/// hands its items on: `forward`).
struct Counted<T> {
    inner: BoxSource<T>,
    stage: Arc<Stage>,
}

impl<T: Send + 'static> BatchSource<T> for Counted<T> {
    fn poll_batch(
        &mut self,
        cx: &mut TaskContext<'_>,
        out: &mut Vec<T>,
    ) -> Poll<Result<bool, StageError>> {
        let before = out.len();
        let polled = self.inner.poll_batch(cx, out);
        let n = out.len() - before;
        if n > 0 {
            // A pull that moved nothing (its pending poll, once per wait)
            // adds nothing: no atomic adds of zero.
            self.stage.counters().batch(n, n, Duration::ZERO);
        }
        polled
    }

    fn poll_fill(&mut self, cx: &mut TaskContext<'_>) -> Result<(), StageError> {
        self.inner.poll_fill(cx)
    }

    fn into_receiver(self: Box<Self>) -> Result<Receiver<T>, BoxSource<T>> {
        Err(self)
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
    shared: Arc<Shared>,
    /// The stream's stage.
    node: NodeId,
    /// The sink feeding `rx`, until the first poll runs it.
    sink: Option<Sink<()>>,
    join: Option<Join<()>>,
    done: bool,
    read: Arc<Read>,
}

impl<T> FlowStream<T> {
    /// Names the stream's stage (in errors, metrics and the graph export).
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
    /// let p = Pipeline::new(&Context::background());
    /// let out = p.source(1..=3).into_stream().named("out");
    /// assert_eq!(out.count().await, 3);
    /// let m = p.metrics();
    /// let stage = m.stages.iter().find(|s| s.name == "out").unwrap();
    /// assert_eq!((stage.kind, stage.items_in), ("into_stream", 3));
    /// # }
    /// ```
    #[must_use = "it returns the stream to read"]
    pub fn named(self, name: impl Into<Arc<str>>) -> FlowStream<T> {
        self.shared.graph().rename(self.node, name.into());
        self
    }
}

impl<T: Send + 'static> futures_core::Stream for FlowStream<T> {
    type Item = Result<T, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        this.read.start();
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
