//! Sinks beyond [`fold`](Flow::fold), [`collect`](Flow::collect) and
//! [`for_each`](Flow::for_each): async ([`for_each_async`](Flow::for_each_async),
//! [`for_each_concurrent`](Flow::for_each_concurrent)), fallible
//! ([`try_for_each`](Flow::try_for_each)) and into any `futures::Sink`
//! ([`forward_sink`](Flow::forward_sink)). Each runs the `weir_stage`
//! function or engine step of the same name; nothing is written twice.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::oneshot;
use weir_core::chan::Receiver;
use weir_stage::steps::{self, TryForEach};
use weir_stage::{BoxError, ConfigError, Limit, Scope, SinkOutput};

use super::boundary::check_limit;
use super::flow::Flow;
use super::run::Sink;

/// # Sinks: async, fallible, and into any `futures::Sink`
///
/// [`for_each_async`](Flow::for_each_async) and
/// [`for_each_concurrent`](Flow::for_each_concurrent) await a future per
/// item; [`try_for_each`](Flow::try_for_each) stops at the first error;
/// [`forward_sink`](Flow::forward_sink) writes into any `futures::Sink`.
impl<T: Send + 'static> Flow<T> {
    /// Ends the flow in a sink stage with tasks of its own, made by `make`
    /// when the pipeline starts, reading this flow through a channel: what
    /// it took in is read off that channel (its edge).
    fn sink_through<A, M>(self, kind: &'static str, make: M) -> Sink<A>
    where
        A: Send + 'static,
        M: FnOnce(&Scope, Receiver<T>) -> Result<SinkOutput<A>, ConfigError> + Send + 'static,
    {
        let (shared, segment) = self.into_segment();
        let node = shared.add_stage(kind, std::slice::from_ref(&segment.edge), false);
        shared.graph().set_tasks(node);
        let (tx, rx) = oneshot::channel();
        let spawned = Arc::new(AtomicBool::new(false));
        let mark = spawned.clone();
        shared.defer(move |shared, scope| {
            mark.store(true, Ordering::Release);
            let input = segment.spawn(shared, scope);
            let stage = shared.stage(node);
            let view = scope.stage(&stage);
            match make(&view, input) {
                Ok(output) => {
                    view.spawn_engine_task(async move {
                        stage.counters().set_running(true);
                        let result = output.await;
                        stage.counters().set_running(false);
                        if let Ok(result) = result {
                            let _ = tx.send(result);
                        }
                        Ok(())
                    });
                }
                Err(e) => shared.fault(e.into()),
            }
        });
        Sink {
            shared: Some(shared),
            result: rx,
            node,
            spawned,
        }
    }

    /// Awaits `f(item)` for every item, one at a time, in order: the async
    /// twin of [`for_each`](Flow::for_each) (writes to a database, a
    /// socket, a file). For several at once, see
    /// [`for_each_concurrent`](Flow::for_each_concurrent).
    ///
    /// # Errors
    ///
    /// A panic in `f` or its future fails the pipeline with
    /// [`Error::Panicked`](weir_stage::Error::Panicked) naming this stage.
    /// For a fallible async sink, return the error from an async stage
    /// before it ([`then`](Flow::then) into [`try_map`](Flow::try_map)),
    /// or collect errors with [`route`](Flow::route).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let stored = Arc::new(Mutex::new(Vec::new()));
    /// let db = stored.clone();
    /// Pipeline::new(&Context::background())
    ///     .source(1..=3)
    ///     .for_each_async(move |n| {
    ///         let db = db.clone();
    ///         async move {
    ///             tokio::task::yield_now().await; // an async write
    ///             db.lock().unwrap().push(n);
    ///         }
    ///     })
    ///     .await
    ///     .unwrap();
    /// assert_eq!(*stored.lock().unwrap(), [1, 2, 3]);
    /// # }
    /// ```
    pub fn for_each_async<F, Fut>(self, f: F) -> Sink<()>
    where
        F: FnMut(T) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.sink_through("for_each_async", move |scope, input| {
            weir_stage::for_each_concurrent(scope, input, 1, f)
        })
    }

    /// Awaits `f(item)` on up to `n` items at once, as the last stage; the
    /// futures finish in no particular order. They run concurrently in one
    /// task: right for I/O; for CPU work use a
    /// [`worker_pool`](Flow::worker_pool) before a sink. See
    /// [`weir_stage::for_each_concurrent`].
    ///
    /// # Errors
    ///
    /// `n == 0` is a [`ConfigError`](weir_stage::ConfigError) naming the
    /// stage, returned by the sink before anything runs. A panic in `f` or
    /// its future fails the pipeline naming this stage.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use std::sync::Arc;
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let total = Arc::new(AtomicU64::new(0));
    /// let t = total.clone();
    /// Pipeline::new(&Context::background())
    ///     .source(1..=100u64)
    ///     .for_each_concurrent(8, move |n| {
    ///         let t = t.clone();
    ///         async move {
    ///             t.fetch_add(n, Ordering::Relaxed);
    ///         }
    ///     })
    ///     .await
    ///     .unwrap();
    /// assert_eq!(total.load(Ordering::Relaxed), 5_050);
    /// # }
    /// ```
    pub fn for_each_concurrent<F, Fut>(self, n: impl Into<Limit>, f: F) -> Sink<()>
    where
        F: FnMut(T) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let (shared, n) = (self.shared.clone(), n.into());
        let limit = n.clone();
        let sink = self.sink_through("for_each_concurrent", move |scope, input| {
            weir_stage::for_each_concurrent(scope, input, limit, f)
        });
        check_limit(&shared, sink.node, &n, "concurrency");
        sink
    }

    /// Runs the fallible `f` on every item, in order; the first `Err` ends
    /// the pipeline. Fused with the stages before it.
    ///
    /// # Errors
    ///
    /// The first `Err` of `f`: [`Error::Failed`](weir_stage::Error::Failed)
    /// naming this stage, with that error as its source (the rest of the
    /// pipeline is cancelled).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let mut out = String::new();
    /// let err = Pipeline::new(&Context::background())
    ///     .source(["a", "b", "", "c"])
    ///     .try_for_each(move |s: &str| {
    ///         if s.is_empty() {
    ///             return Err("empty line");
    ///         }
    ///         out.push_str(s);
    ///         Ok(())
    ///     })
    ///     .named("write")
    ///     .await
    ///     .unwrap_err();
    /// assert_eq!(err.to_string(), "stage `write` failed");
    /// assert_eq!(std::error::Error::source(&err).unwrap().to_string(), "empty line");
    /// # }
    /// ```
    pub fn try_for_each<E, F>(self, f: F) -> Sink<()>
    where
        E: Into<BoxError>,
        F: FnMut(T) -> Result<(), E> + Send + 'static,
    {
        self.sink_step(TryForEach::new(f))
    }

    /// Ends the flow by sending every item, in order, into `sink`: any
    /// [`futures::Sink`](futures_sink::Sink) (a flume sender's
    /// `into_sink()`, a framed socket, …), flushed after each batch and
    /// closed at the end. For one of weir's own channels,
    /// [`forward`](Flow::forward) is cheaper. See
    /// [`weir_stage::forward_sink`].
    ///
    /// # Errors
    ///
    /// An error of `sink` (on send, flush or close):
    /// [`Error::Failed`](weir_stage::Error::Failed) naming this stage, with
    /// the sink's error as its source.
    ///
    /// # Examples
    ///
    /// A flume channel in and another out: [`Pipeline::from_stream`] reads
    /// the receiver as a stream, `forward_sink` writes to the sender.
    ///
    /// ```
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let (in_tx, in_rx) = flume::bounded(16);
    /// let (out_tx, out_rx) = flume::bounded(16);
    /// tokio::spawn(async move {
    ///     for line in ["3", "x", "4"] {
    ///         in_tx.send_async(line.to_string()).await.unwrap();
    ///     }
    /// }); // in_tx dropped: the stream ends
    ///
    /// let done = Pipeline::new(&Context::background())
    ///     .from_stream(in_rx.into_stream())
    ///     .filter_map(|line| line.parse::<u32>().ok())
    ///     .map(|n| n * n)
    ///     .forward_sink(out_tx.into_sink());
    /// done.await.unwrap();
    /// assert_eq!(out_rx.drain().collect::<Vec<_>>(), [9, 16]);
    /// # }
    /// ```
    ///
    /// [`Pipeline::from_stream`]: super::Pipeline::from_stream
    pub fn forward_sink<S>(self, sink: S) -> Sink<()>
    where
        S: futures_sink::Sink<T> + Send + 'static,
        S::Error: Into<BoxError>,
    {
        self.sink_task("forward_sink", move |src, stage| async move {
            steps::run_into_sink(src, sink, &stage).await
        })
    }
}
