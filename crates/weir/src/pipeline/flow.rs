//! [`Pipeline`] and [`Flow`]: building the graph, and the fused stages.

use std::fmt;
use std::ops::Deref;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use weir_cancel::Context;
use weir_core::chan::{self, Receiver};
use weir_stage::engine::{self, BoxSource, Fused, Stage, Step};
use weir_stage::steps::{FilterMap, Inspect, Map, Square, TryMap};
use weir_stage::{BoxError, ConfigError, Error, Scope};

use super::graph::{EdgeCell, NodeId};
pub(crate) use super::shared::Shared;
use super::source::{channel_source, IterSource, RecvSource, Slot, StreamSource};
use super::view::GraphView;

/// A typed pipeline graph under a [`Context`]: Go's pipeline pattern with
/// the goroutines, channels, `WaitGroup` and `errgroup` handled for you.
///
/// See the [module docs](crate::pipeline) for how stages are fused.
///
/// # Examples
///
/// ```
/// use weir::cancel::Context;
/// use weir::pipeline::Pipeline;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let words = Pipeline::new(&Context::background())
///     .source(["a", "bb", "ccc"])
///     .map(str::len)
///     .collect::<Vec<_>>()
///     .await
///     .unwrap();
/// assert_eq!(words, [1, 2, 3]);
/// # }
/// ```
#[derive(Clone)]
pub struct Pipeline {
    pub(crate) shared: Arc<Shared>,
    /// The same graph, read: [`metrics`](GraphView::metrics) and the
    /// drawings, reached through `Deref`.
    view: GraphView,
}

impl Deref for Pipeline {
    type Target = GraphView;

    fn deref(&self) -> &GraphView {
        &self.view
    }
}

impl Pipeline {
    /// A new, empty pipeline whose stages stop when `ctx` is cancelled or
    /// its deadline passes. Channels between tasks hold
    /// [`DEFAULT_CAPACITY`](weir_stage::DEFAULT_CAPACITY) items; see
    /// [`with_capacity`](Pipeline::with_capacity).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let ctx = Context::background().with_timeout(Duration::from_secs(5));
    /// let n = Pipeline::new(&ctx).source(0..10).fold(0, |n, _| n + 1).await;
    /// assert_eq!(n.unwrap(), 10);
    /// # }
    /// ```
    pub fn new(ctx: &Context) -> Pipeline {
        Pipeline::with_capacity(ctx, weir_stage::DEFAULT_CAPACITY)
    }

    /// Like [`new`](Pipeline::new), with `capacity` items per channel
    /// between tasks (`0`: rendezvous channels, as Go's unbuffered ones).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let p = Pipeline::with_capacity(&Context::background(), 16);
    /// let n = p.source(0..100).worker_pool(2, |n| async move { Ok::<_, std::io::Error>(n) })
    ///     .fold(0, |n, _| n + 1).await;
    /// assert_eq!(n.unwrap(), 100);
    /// # }
    /// ```
    pub fn with_capacity(ctx: &Context, capacity: usize) -> Pipeline {
        let scope = Scope::builder(ctx).capacity(capacity).build();
        let shared = Arc::new(Shared::new(scope, capacity));
        Pipeline {
            view: GraphView::new(shared.clone()),
            shared,
        }
    }

    /// A source stage that yields every item of `items`: Go's generator
    /// (a `gen` function whose goroutine sends each item on a channel, then
    /// closes it). It stops early on cancel or graceful shutdown.
    ///
    /// The iterator runs inside the task of the stages fused after it, so
    /// it should not block.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let v = Pipeline::new(&Context::background()).source(vec![1, 2]).collect::<Vec<_>>().await;
    /// assert_eq!(v.unwrap(), [1, 2]);
    /// # }
    /// ```
    pub fn source<I>(&self, items: I) -> Flow<I::Item>
    where
        I: IntoIterator,
        I::IntoIter: Send + 'static,
        I::Item: Send + 'static,
    {
        let node = self.shared.add_stage("source", &[], false);
        Flow::new(
            self.shared.clone(),
            Box::new(IterSource::new(
                items,
                self.shared.stage(node),
                &self.shared.stop,
                &self.shared.ctx,
                self.shared.cut_short.clone(),
            )),
            node,
        )
    }

    /// A source stage reading an existing channel (fed by code outside the
    /// pipeline).
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
    /// let (tx, rx) = chan::bounded(4);
    /// tokio::spawn(async move { tx.send_all(vec![1, 2, 3]).await });
    /// let sum = Pipeline::new(&Context::background()).from_receiver(rx).fold(0, |a, n| a + n).await;
    /// assert_eq!(sum.unwrap(), 6);
    /// # }
    /// ```
    pub fn from_receiver<T: Send + 'static>(&self, rx: Receiver<T>) -> Flow<T> {
        let node = self.shared.add_stage("receiver", &[], false);
        let probe = rx.observer();
        let src = RecvSource::new(rx)
            .counted(self.shared.stage(node))
            .stop_on(self.shared.stop_signal());
        let flow = Flow::with_segment(self.shared.clone(), Box::new(src), node, true);
        flow.edge().attach(probe);
        flow
    }

    /// A source stage reading a [`Stream`] (fed by code outside the
    /// pipeline): a batch of the items it has ready at a time.
    ///
    /// [`shutdown`](Pipeline::shutdown) stops it even if the stream never
    /// ends: the stream is dropped, which is how a stream is told to stop.
    ///
    /// Any async channel comes in this way (flume's `Receiver::into_stream`,
    /// tokio's through `tokio-stream`); [`Flow::forward_sink`] shows a
    /// flume channel in and another out.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let words = futures::stream::iter(["go", "rust"]);
    /// let lens = Pipeline::new(&Context::background())
    ///     .from_stream(words)
    ///     .map(str::len)
    ///     .collect::<Vec<_>>()
    ///     .await;
    /// assert_eq!(lens.unwrap(), [2, 4]);
    /// # }
    /// ```
    ///
    /// [`Stream`]: futures_core::Stream
    pub fn from_stream<S>(&self, stream: S) -> Flow<S::Item>
    where
        S: futures_core::Stream + Send + 'static,
        S::Item: Send + 'static,
    {
        let node = self.shared.add_stage("stream", &[], false);
        let src = StreamSource::new(stream, self.shared.stage(node), self.shared.stop_signal());
        Flow::new(self.shared.clone(), Box::new(src), node)
    }

    /// Drain mode: when `ctx` ends (cancelled, or its deadline passes), the
    /// pipeline stops *gracefully* — as with [`shutdown`](Pipeline::shutdown),
    /// the sources stop and what is in flight drains through every stage,
    /// so a [`fold`](Flow::fold) or [`collect`](Flow::collect) returns what
    /// it has instead of an error, and [`cut_short`](Pipeline::cut_short)
    /// says the result is partial.
    ///
    /// The context the pipeline was made with keeps its meaning: when it
    /// ends, every stage stops at once (hard cancel). Give the deadline to
    /// `drain_on`, not to [`Pipeline::new`], to keep partial work.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let ticks = futures::stream::unfold(0u64, |n| async move {
    ///     tokio::time::sleep(Duration::from_millis(10)).await;
    ///     Some((n, n + 1))
    /// });
    /// let deadline = Context::background().with_timeout(Duration::from_millis(105));
    /// let p = Pipeline::new(&Context::background()).drain_on(&deadline);
    /// let seen = p.from_stream(ticks).fold(0, |n, _| n + 1).await.unwrap();
    /// assert_eq!(seen, 10); // what arrived before the deadline
    /// assert!(p.cut_short());
    /// # }
    /// ```
    #[must_use = "it returns the pipeline to build on"]
    pub fn drain_on(self, ctx: &Context) -> Pipeline {
        self.shared.drain_on(ctx);
        self
    }

    /// Drain mode with a timeout: `timeout` from now, the sources stop and
    /// what is in flight drains (see [`drain_on`](Pipeline::drain_on)).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir::cancel::Context;
    /// use weir::chan;
    /// use weir::pipeline::Pipeline;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let (tx, rx) = chan::bounded(8);
    /// tokio::spawn(async move {
    ///     for n in 0u64.. {
    ///         tokio::time::sleep(Duration::from_millis(10)).await;
    ///         if tx.send(n).await.is_err() {
    ///             break;
    ///         }
    ///     }
    /// });
    /// let p = Pipeline::new(&Context::background()).shutdown_after(Duration::from_millis(55));
    /// let got = p.from_receiver(rx).collect::<Vec<_>>().await.unwrap();
    /// assert_eq!(got, [0, 1, 2, 3, 4]);
    /// assert!(p.cut_short());
    /// # }
    /// ```
    #[must_use = "it returns the pipeline to build on"]
    pub fn shutdown_after(self, timeout: std::time::Duration) -> Pipeline {
        let deadline = Context::background().with_timeout(timeout);
        self.drain_on(&deadline)
    }

    /// `true` when a graceful stop ([`shutdown`](Pipeline::shutdown),
    /// [`drain_on`](Pipeline::drain_on), [`shutdown_after`](Pipeline::shutdown_after))
    /// ended a source before its input ended: the sinks' results are
    /// partial. `false` while running, and after a run that read all of
    /// its input.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let p = Pipeline::new(&Context::background());
    /// p.source(0..10).for_each(drop).await.unwrap();
    /// assert!(!p.cut_short());
    /// # }
    /// ```
    pub fn cut_short(&self) -> bool {
        self.shared.cut_short.load(Ordering::Acquire)
    }

    /// Graceful stop: the sources stop producing, and every item already
    /// produced flows through the remaining stages to the sinks, which
    /// then finish with what they got. Awaiting a sink returns its result
    /// as usual (not an error), and [`cut_short`](Pipeline::cut_short)
    /// says it is partial.
    ///
    /// Every kind of source stops: an iterator, a channel fed from outside
    /// ([`from_receiver`](Pipeline::from_receiver): reading stops even if
    /// its producer never closes; what is still queued stays in the
    /// channel) and a stream ([`from_stream`](Pipeline::from_stream): it is
    /// dropped).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let p = Pipeline::new(&Context::background());
    /// let seen = p.source(0u64..).fold(0u64, |n, _| n + 1).run();
    /// tokio::task::yield_now().await;
    /// p.shutdown();
    /// let n = seen.join().await.unwrap(); // a partial count, not an error
    /// assert!(n < u64::MAX);
    /// # }
    /// ```
    pub fn shutdown(&self) {
        self.shared.handle.shutdown();
    }

    /// Cancels the pipeline: every stage stops now.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let p = Pipeline::new(&Context::background());
    /// let endless = p.source(0u64..).for_each(|_| {});
    /// p.cancel();
    /// assert!(endless.await.is_err());
    /// # }
    /// ```
    pub fn cancel(&self) {
        self.shared.handle.cancel();
    }
}

impl fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pipeline")
            .field("capacity", &self.shared.capacity)
            .field("cancelled", &self.shared.ctx.is_cancelled())
            .finish_non_exhaustive()
    }
}

/// A typed stream of items under construction: the output of the last
/// stage added. Methods add a stage and return the next `Flow`; a sink
/// method ends it.
///
/// A `Flow` that is dropped without reaching a sink is an unconnected
/// output: joining the pipeline reports it as an error naming the stage.
///
/// # Examples
///
/// ```
/// use weir::cancel::Context;
/// use weir::pipeline::{Flow, Pipeline};
///
/// fn evens(flow: Flow<u32>) -> Flow<u32> {
///     flow.filter(|n| n % 2 == 0)
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let p = Pipeline::new(&Context::background());
/// let v = evens(p.source(1..=6)).collect::<Vec<_>>().await.unwrap();
/// assert_eq!(v, [2, 4, 6]);
/// # }
/// ```
#[must_use = "a Flow does nothing until it reaches a sink that is awaited or run"]
pub struct Flow<T> {
    pub(crate) shared: Arc<Shared>,
    /// `None` once consumed.
    src: Option<Segment<T>>,
}

/// A chain of fused stages: its source and the stage at its end.
pub(crate) struct Segment<T> {
    pub(crate) src: BoxSource<T>,
    pub(crate) tail: NodeId,
    /// The segment is still just the output channel of `tail` (no stage
    /// fused on it yet), so the next stage is fed through that channel.
    pub(crate) at_channel: bool,
    /// The record of the edge out of `tail` into whatever consumes the
    /// segment.
    pub(crate) edge: Arc<EdgeCell>,
}

impl<T: Send + 'static> Segment<T> {
    /// Spawns the segment as one task feeding a new channel, which it
    /// returns: where a fused chain meets a stage with tasks of its own.
    pub(crate) fn spawn(self, shared: &Arc<Shared>, scope: &Scope) -> Receiver<T> {
        let src = match self.src.into_receiver() {
            Ok(rx) => {
                // A bare channel: no relay task needed.
                self.edge.attach(rx.observer());
                return rx;
            }
            Err(src) => src,
        };
        // A channel fed from outside is relayed through one as large.
        let capacity = self.edge.capacity().unwrap_or(shared.capacity);
        let (tx, rx) = chan::bounded(capacity);
        self.edge.attach(rx.observer());
        Segment { src, ..self }.spawn_into(shared, scope, tx);
        rx
    }

    /// Spawns the segment as one task sending into `tx`, which other
    /// segments share (an MPMC fan-in with no merge task): its edge has no
    /// queue of its own.
    ///
    /// A segment that is still a stage's output channel keeps that
    /// channel as its edge (a relay task moves it into `tx`).
    pub(crate) fn spawn_shared(self, shared: &Arc<Shared>, scope: &Scope, tx: chan::Sender<T>) {
        if !self.at_channel {
            self.edge.share();
        }
        self.spawn_into(shared, scope, tx);
    }

    /// Spawns the segment as one task sending into `tx`.
    fn spawn_into(self, shared: &Arc<Shared>, scope: &Scope, tx: chan::Sender<T>) {
        let stage = shared.stage(self.tail);
        let src = self.src;
        scope
            .stage(&stage)
            .spawn_engine_task(async move { engine::run_into(src, tx, &stage).await });
    }
}

/// # Transforms (fused)
///
/// One item in, at most one out, in order: these stages run in the task of
/// the stage before them, a batch at a time, with no channel in between
/// (see [fusion](crate::pipeline#fusion-where-the-tasks-are)). Each keeps its
/// own name, counters and panics; [`named`](Flow::named) names the last
/// stage added. The sources that start a flow are on [`Pipeline`]
/// ([`source`](Pipeline::source), [`from_receiver`](Pipeline::from_receiver),
/// [`from_stream`](Pipeline::from_stream)).
impl<T: Send + 'static> Flow<T> {
    pub(crate) fn new(shared: Arc<Shared>, src: BoxSource<T>, tail: NodeId) -> Flow<T> {
        Flow::with_segment(shared, src, tail, false)
    }

    pub(crate) fn with_segment(
        shared: Arc<Shared>,
        src: BoxSource<T>,
        tail: NodeId,
        at_channel: bool,
    ) -> Flow<T> {
        Flow::with_edge(shared, src, tail, at_channel, EdgeCell::new(tail, None))
    }

    /// A flow whose output edge is recorded in `edge`.
    fn with_edge(
        shared: Arc<Shared>,
        src: BoxSource<T>,
        tail: NodeId,
        at_channel: bool,
        edge: Arc<EdgeCell>,
    ) -> Flow<T> {
        shared.graph().open(&edge);
        Flow {
            shared,
            src: Some(Segment {
                src,
                tail,
                at_channel,
                edge,
            }),
        }
    }

    /// A flow reading the output channel of stage `node` (its output
    /// `branch` for a split), filled into `slot` once the pipeline starts.
    pub(crate) fn from_channel(
        shared: Arc<Shared>,
        node: NodeId,
        slot: Slot<T>,
        branch: Option<usize>,
    ) -> Flow<T> {
        let edge = EdgeCell::new(node, branch);
        let key = slot_key(&slot);
        shared.graph().register_slot(key, edge.clone());
        let src = channel_source(slot, false);
        Flow::with_edge(shared, Box::new(src), node, true, edge)
    }

    /// A reader of a channel of stage `node` shared with its other
    /// outputs (a `balance` branch, its `branch`; a `fan_out` branch,
    /// which reads the stage's input as if fused on it, `at_channel`
    /// false): an edge of its own with no queue of its own.
    pub(crate) fn from_shared_channel(
        shared: Arc<Shared>,
        node: NodeId,
        slot: Slot<T>,
        branch: Option<usize>,
        at_channel: bool,
    ) -> Flow<T> {
        let edge = EdgeCell::reader(node, branch);
        let src = channel_source(slot, true);
        Flow::with_edge(shared, Box::new(src), node, at_channel, edge)
    }

    /// Takes the segment out: the flow counts as connected from now on.
    pub(crate) fn into_segment(mut self) -> (Arc<Shared>, Segment<T>) {
        let segment = self.src.take().expect("a Flow is consumed once");
        self.shared.graph().close(&segment.edge);
        (self.shared.clone(), segment)
    }

    /// The record of this flow's output edge.
    pub(crate) fn edge(&self) -> &Arc<EdgeCell> {
        &self.src.as_ref().expect("a Flow is consumed once").edge
    }

    /// The stage at the end of this flow.
    pub(crate) fn tail(&self) -> NodeId {
        self.src.as_ref().map_or(0, |s| s.tail)
    }

    /// Adds the engine's fusible `step` as a stage fused into this flow's
    /// task (the same step `weir_stage`'s stage functions run in a task of
    /// their own).
    pub(crate) fn fuse<S: Step<T>>(self, step: S) -> Flow<S::Out> {
        let (shared, segment) = self.into_segment();
        let node = shared.add_stage(S::KIND, &[segment.edge], !segment.at_channel);
        let src: BoxSource<S::Out> = Box::new(Fused::new(segment.src, step, shared.stage(node)));
        Flow::new(shared, src, node)
    }

    /// Names the last stage added (in errors, metrics and the graph
    /// export); on a branch of a split, straight after the split, names
    /// the branch (its edge) instead, leaving the split's name alone.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let err = Pipeline::new(&Context::background())
    ///     .source(0..3)
    ///     .map(|n: i32| 10 / (n - 1)).named("divide")
    ///     .for_each(|_| {})
    ///     .await
    ///     .unwrap_err();
    /// assert!(err.to_string().starts_with("stage `divide` panicked"));
    /// # }
    /// ```
    pub fn named(self, name: impl Into<Arc<str>>) -> Flow<T> {
        let name = name.into();
        match &self.src {
            Some(s) if s.at_channel && s.edge.branch().is_some() => s.edge.rename(name),
            _ => self.shared.graph().rename(self.tail(), name),
        }
        self
    }

    /// Applies `f` to every item, in order. Fused with its neighbours.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let v = Pipeline::new(&Context::background()).source(1..=3).map(|n| n * 10)
    ///     .collect::<Vec<_>>().await.unwrap();
    /// assert_eq!(v, [10, 20, 30]);
    /// # }
    /// ```
    pub fn map<U, F>(self, f: F) -> Flow<U>
    where
        U: Send + 'static,
        F: FnMut(T) -> U + Send + 'static,
    {
        self.fuse(Map::new(f))
    }

    /// Keeps the items for which `pred` is true, in order. Fused.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let v = Pipeline::new(&Context::background()).source(1..=6).filter(|n| n % 3 == 0)
    ///     .collect::<Vec<_>>().await.unwrap();
    /// assert_eq!(v, [3, 6]);
    /// # }
    /// ```
    pub fn filter<F>(self, pred: F) -> Flow<T>
    where
        F: FnMut(&T) -> bool + Send + 'static,
    {
        self.fuse(weir_stage::steps::Filter::new(pred))
    }

    /// Applies `f` and keeps the `Some` values, in order. Fused.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let v = Pipeline::new(&Context::background()).source(["1", "x", "3"])
    ///     .filter_map(|s| s.parse::<u8>().ok())
    ///     .collect::<Vec<_>>().await.unwrap();
    /// assert_eq!(v, [1, 3]);
    /// # }
    /// ```
    pub fn filter_map<U, F>(self, f: F) -> Flow<U>
    where
        U: Send + 'static,
        F: FnMut(T) -> Option<U> + Send + 'static,
    {
        self.fuse(FilterMap::new(f))
    }

    /// Calls `f` on every item as it passes, in order. Fused.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let v = Pipeline::new(&Context::background()).source(1..=2)
    ///     .inspect(|n| println!("saw {n}"))
    ///     .collect::<Vec<_>>().await.unwrap();
    /// assert_eq!(v, [1, 2]);
    /// # }
    /// ```
    pub fn inspect<F>(self, f: F) -> Flow<T>
    where
        F: FnMut(&T) + Send + 'static,
    {
        self.fuse(Inspect::new(f))
    }

    /// Applies the fallible `f`; the first `Err` fails the pipeline with
    /// [`Error::Failed`] naming this stage. Order kept. Fused.
    ///
    /// # Errors
    ///
    /// The pipeline's join returns the first error, naming this stage.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let err = Pipeline::new(&Context::background()).source(["1", "x"])
    ///     .try_map(str::parse::<u8>).named("parse")
    ///     .collect::<Vec<_>>().await.unwrap_err();
    /// assert_eq!(err.to_string(), "stage `parse` failed");
    /// let cause = std::error::Error::source(&err).unwrap();
    /// assert_eq!(cause.to_string(), "invalid digit found in string");
    /// # }
    /// ```
    pub fn try_map<U, E, F>(self, f: F) -> Flow<U>
    where
        U: Send + 'static,
        E: Into<BoxError>,
        F: FnMut(T) -> Result<U, E> + Send + 'static,
    {
        self.fuse(TryMap::new(f))
    }
}

/// # Transforms (fused), continued
///
/// A fused stage with state of its own: [`scan`](Flow::scan).
impl<T: Send + 'static> Flow<T> {
    /// Applies `f` to a running state and every item, in order, sending
    /// on what it returns (running totals, deltas, numbering). Fused.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let v = Pipeline::new(&Context::background())
    ///     .source([3, 1, 2])
    ///     .scan(0, |sum, n| {
    ///         *sum += n;
    ///         *sum
    ///     })
    ///     .collect::<Vec<_>>()
    ///     .await
    ///     .unwrap();
    /// assert_eq!(v, [3, 4, 6]);
    /// # }
    /// ```
    pub fn scan<S, U, F>(self, init: S, f: F) -> Flow<U>
    where
        S: Send + 'static,
        U: Send + 'static,
        F: FnMut(&mut S, T) -> U + Send + 'static,
    {
        self.fuse(weir_stage::steps::Scan::new(init, f))
    }
}

/// # Transforms (fused), for numbers
///
/// [`square`](Flow::square), the `sq` stage of Go's pipeline pattern.
impl<T> Flow<T>
where
    T: std::ops::Mul<Output = T> + Copy + Send + 'static,
{
    /// Squares every item: the `sq` stage of Go's pipeline pattern
    /// (`gen → sq → sum`). Order kept. Fused.
    ///
    /// Overflow behaves as `n * n` in your build (a panic in debug builds,
    /// reported naming this stage; wrapping in release).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let v = Pipeline::new(&Context::background()).source(1..=3).square()
    ///     .collect::<Vec<i64>>().await.unwrap();
    /// assert_eq!(v, [1, 4, 9]);
    /// # }
    /// ```
    pub fn square(self) -> Flow<T> {
        self.fuse(Square)
    }
}

impl<T> Drop for Flow<T> {
    fn drop(&mut self) {
        if let Some(segment) = &self.src {
            self.shared.graph().close(&segment.edge);
            let (stage, edge) = (self.shared.stage(segment.tail), segment.edge.clone());
            self.shared.fault_with(move || unconnected(&stage, &edge));
        }
    }
}

/// The error for the output `edge` of `stage` reaching no sink: names the
/// stage, and the branch for a split's.
pub(crate) fn unconnected(stage: &Stage, edge: &EdgeCell) -> Error {
    let what = match (edge.branch(), edge.name()) {
        (Some(i), Some(name)) => format!("output {i} (`{name}`) is not connected to a sink"),
        (Some(i), None) => format!("output {i} is not connected to a sink"),
        (None, _) => "output is not connected to a sink".to_string(),
    };
    Error::Config(ConfigError::Invalid {
        stage: stage.name(),
        what,
    })
}

/// The key a slot's edge is registered under: its address.
pub(crate) fn slot_key<T>(slot: &Slot<T>) -> usize {
    Arc::as_ptr(slot).cast::<()>() as usize
}

impl<T> fmt::Debug for Flow<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stage = self
            .src
            .as_ref()
            .map(|s| self.shared.graph().node(s.tail).stage.name());
        f.debug_struct("Flow")
            .field("stage", &stage)
            .finish_non_exhaustive()
    }
}
