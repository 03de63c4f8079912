//! Sinks, and running a pipeline: [`Sink`], [`RunHandle`], [`Diagnosis`].

use std::fmt;
use std::future::{Future, IntoFuture};
use std::ops::Deref;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError};
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use weir_stage::engine::{self, BoxSource, SinkStep, Stage};
use weir_stage::steps::{Collect, Fold, ForEach};
use weir_stage::Error as StageError;

use super::flow::{unconnected, Flow};
use super::shared::Shared;
use super::view::GraphView;
use crate::error::Error;
use crate::observe::Diagnosis;

/// # Sinks
///
/// The end of a flow: a [`Sink`] to `.await` (or [`run`](Sink::run)), which
/// starts the whole pipeline. [`fold`](Flow::fold),
/// [`collect`](Flow::collect), [`count`](Flow::count) and
/// [`for_each`](Flow::for_each) are fused into the task before them.
impl<T: Send + 'static> Flow<T> {
    /// Ends the flow in the engine's sink step `sink` (the same step
    /// `weir_stage`'s sink functions run), fused into this flow's task; its
    /// result goes to the returned [`Sink`].
    pub(crate) fn sink_step<K: SinkStep<T>>(self, sink: K) -> Sink<K::Output> {
        self.sink_task(K::KIND, move |src, stage| async move {
            engine::run_sink(src, sink, &stage).await
        })
    }

    /// Ends the flow in a sink stage of `kind` whose task runs `body` over
    /// the flow's source; its result goes to the returned [`Sink`].
    pub(crate) fn sink_task<A, B, F>(self, kind: &'static str, body: B) -> Sink<A>
    where
        A: Send + 'static,
        B: FnOnce(BoxSource<T>, Arc<Stage>) -> F + Send + 'static,
        F: Future<Output = Result<A, StageError>> + Send + 'static,
    {
        let (shared, segment) = self.into_segment();
        let node = shared.add_stage(
            kind,
            std::slice::from_ref(&segment.edge),
            !segment.at_channel,
        );
        let (tx, rx) = oneshot::channel();
        let spawned = Arc::new(AtomicBool::new(false));
        let mark = spawned.clone();
        shared.defer(move |shared, scope| {
            mark.store(true, Ordering::Release);
            let stage = shared.stage(node);
            let run = body(segment.src, stage.clone());
            scope.stage(&stage).spawn_engine_task(async move {
                let _ = tx.send(run.await?);
                Ok(())
            });
        });
        Sink {
            shared: Some(shared),
            result: rx,
            node,
            spawned,
        }
    }

    /// Folds every item into an accumulator, in order: the pipeline's sink.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let sum = Pipeline::new(&Context::background()).source(1..=10u32).fold(0, |a, n| a + n).await;
    /// assert_eq!(sum.unwrap(), 55);
    /// # }
    /// ```
    pub fn fold<A, F>(self, init: A, f: F) -> Sink<A>
    where
        A: Send + 'static,
        F: FnMut(A, T) -> A + Send + 'static,
    {
        self.sink_step(Fold::new(init, f))
    }

    /// Gathers every item, in order, into a collection.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let v = Pipeline::new(&Context::background()).source("abc".chars()).collect::<String>().await;
    /// assert_eq!(v.unwrap(), "abc");
    /// # }
    /// ```
    pub fn collect<C>(self) -> Sink<C>
    where
        C: Default + Extend<T> + Send + 'static,
    {
        self.sink_step(Collect::<C>::default())
    }

    /// Counts the items: a sink (the engine's [`Count`](weir_stage::steps::Count),
    /// as [`weir_stage::count`] runs it).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let n = Pipeline::new(&Context::background()).source(0..10).filter(|n| n % 3 == 0).count().await;
    /// assert_eq!(n.unwrap(), 4);
    /// # }
    /// ```
    pub fn count(self) -> Sink<u64> {
        self.sink_step(weir_stage::steps::Count::default())
    }

    /// Runs `f` on every item, in order.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// Pipeline::new(&Context::background()).source(1..=3).for_each(|n| println!("{n}")).await.unwrap();
    /// # }
    /// ```
    pub fn for_each<F>(self, f: F) -> Sink<()>
    where
        F: FnMut(T) + Send + 'static,
    {
        self.sink_step(ForEach::new(f))
    }
}

/// The end of a flow. `.await` it to run the whole pipeline and get this
/// sink's result, or [`run`](Sink::run) it for a [`RunHandle`].
///
/// Nothing runs until then: stages are spawned when the first sink of a
/// pipeline is awaited or run. With several sinks (after a split), awaiting
/// any one runs and joins the whole pipeline; the others then resolve with
/// their own results.
///
/// # Cancel safety
///
/// Dropping the future of the sink that started the pipeline cancels the
/// pipeline and leaves no task behind. The future of another sink of the
/// same pipeline only waits for its result: dropping it leaves the
/// pipeline running (cancel it with [`Pipeline::cancel`](super::Pipeline::cancel)).
///
/// # Errors
///
/// The first error of any stage, naming it ([`weir_stage::Error`]);
/// [`Error::Stage`] with `Error::Config` for a setting that is invalid or an
/// output that reaches no sink (reported before anything runs);
/// `Error::Cancelled` when the pipeline's context ended first.
///
/// # Examples
///
/// ```
/// use weir::cancel::Context;
/// use weir::pipeline::Pipeline;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let sink = Pipeline::new(&Context::background()).source(0..4).collect::<Vec<_>>();
/// assert_eq!(sink.await.unwrap(), [0, 1, 2, 3]);
/// # }
/// ```
#[must_use = "a Sink does nothing until it is `.await`ed or `run`"]
pub struct Sink<A> {
    pub(crate) shared: Option<Arc<Shared>>,
    pub(crate) result: oneshot::Receiver<A>,
    pub(crate) node: super::graph::NodeId,
    /// Set when this sink's stage is spawned (when the pipeline starts).
    pub(crate) spawned: Arc<AtomicBool>,
}

impl<A: Send + 'static> Sink<A> {
    /// Names the sink stage (in errors, metrics and the graph export).
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
    /// let total = p.source(1..=3).fold(0, |a, n| a + n).named("total").await.unwrap();
    /// assert_eq!(total, 6);
    /// assert!(p.metrics().stages.iter().any(|s| s.name == "total"));
    /// # }
    /// ```
    pub fn named(self, name: impl Into<Arc<str>>) -> Sink<A> {
        if let Some(shared) = &self.shared {
            shared.graph().rename(self.node, name.into());
        }
        self
    }

    /// Starts the pipeline in the background and returns a handle to join,
    /// cancel or observe it.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime, like [`tokio::spawn`].
    ///
    /// # Examples
    ///
    /// ```
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let run = Pipeline::new(&Context::background()).source(0u64..).for_each(|_| {}).run();
    /// run.cancel();
    /// assert!(run.join().await.is_err());
    /// # }
    /// ```
    #[track_caller]
    pub fn run(mut self) -> RunHandle<A> {
        let shared = self.shared.take().expect("a sink runs once");
        let started = start(&shared);
        let drive = drive(shared.clone(), started, self.result, self.spawned.clone());
        let task = tokio::spawn(drive);
        RunHandle {
            sink: shared.stage(self.node),
            view: GraphView::new(shared.clone()),
            shared,
            task: Some(task),
        }
    }
}

/// What [`start`] did.
enum Start {
    /// This call started the pipeline: here is its scope to wait on, and
    /// the drain-mode watches to remove when it ends.
    Run(weir_stage::OwnedScope, Vec<weir_cancel::AfterCancel>),
    /// Someone else started (or refused) it.
    Joined,
    /// This call refused it, for this reason.
    Refused(Error),
}

/// Runs a started pipeline to the end for one sink, and returns that
/// sink's result.
async fn drive<A>(
    shared: Arc<Shared>,
    started: Start,
    result: oneshot::Receiver<A>,
    spawned: Arc<AtomicBool>,
) -> Result<A, Error> {
    let ctx = shared.ctx.clone();
    match started {
        Start::Refused(e) => return Err(e),
        Start::Run(scope, drains) => {
            // If this future is dropped first, the others hear "cancelled".
            let _told = Told(&shared);
            let waited = scope.wait().await;
            drains.iter().for_each(|d| {
                d.stop();
            });
            // Every other sink reports the same outcome.
            shared.finish(waited.as_ref().err());
            waited?;
        }
        Start::Joined => {
            if !spawned.load(Ordering::Acquire) {
                // The pipeline started without this sink (it was added
                // later), or was refused before anything ran.
                return Err(shared.refusal().unwrap_or_else(already_started));
            }
        }
    }
    match result.await {
        Ok(result) => Ok(result),
        // No result: the pipeline failed or was cancelled; its first
        // error, when the sink that ran it has it, is this sink's too.
        Err(_) => Err(match shared.outcome().await {
            Some(e) => e.into(),
            None => StageError::Cancelled(cancelled(&ctx)).into(),
        }),
    }
}

/// Tells the other sinks the run ended (cancelled) if the sink running it
/// goes away without saying how it ended.
struct Told<'a>(&'a Shared);

impl Drop for Told<'_> {
    fn drop(&mut self) {
        self.0.ended.send_if_modified(|ended| {
            let unset = ended.is_none();
            if unset {
                *ended = Some(None);
            }
            unset
        });
    }
}

fn already_started() -> Error {
    StageError::Config(weir_stage::ConfigError::Invalid {
        stage: "pipeline".into(),
        what: "already started".to_string(),
    })
    .into()
}

/// Starts a pipeline: refuses it if it has faults, otherwise spawns every
/// deferred stage in build order and hands back the scope to wait on. The
/// scope's lock is held throughout, so a sink polled at the same time
/// finds either nothing started or everything spawned.
fn start(shared: &Arc<Shared>) -> Start {
    let mut slot = shared.scope.lock().unwrap_or_else(PoisonError::into_inner);
    let Some(scope) = slot.take() else {
        return Start::Joined;
    };
    let open = shared.graph().open_outputs();
    if let Some(edge) = open.first() {
        let stage = shared.stage(edge.from());
        shared.fault(unconnected(&stage, edge));
    }
    if let Some(fault) = shared.first_fault() {
        return refuse(shared, scope, fault);
    }
    for spawn in shared.take_deferred() {
        spawn(shared, &scope);
    }
    // A stage's settings may only be checked once it is made.
    if let Some(fault) = shared.first_fault() {
        return refuse(shared, scope, fault);
    }
    // Drain mode: the end of each of these contexts stops the sources.
    let drains = shared
        .take_drains()
        .iter()
        .map(|ctx| {
            let stop = shared.handle.clone();
            ctx.after_cancel(move || stop.shutdown())
        })
        .collect();
    Start::Run(scope, drains)
}

/// Refuses to run: nothing more is spawned, every other sink gets the
/// same error.
fn refuse(shared: &Shared, scope: weir_stage::OwnedScope, fault: StageError) -> Start {
    drop(shared.take_deferred());
    if let StageError::Config(config) = &fault {
        shared.refuse(config.clone());
    }
    scope.cancel();
    Start::Refused(fault.into())
}

fn cancelled(ctx: &weir_cancel::Context) -> weir_cancel::ContextError {
    ctx.err().unwrap_or(weir_cancel::ContextError::Canceled)
}

impl<A: Send + 'static> IntoFuture for Sink<A> {
    type Output = Result<A, Error>;
    type IntoFuture = SinkFuture<A>;

    fn into_future(mut self) -> SinkFuture<A> {
        let shared = self.shared.take().expect("a sink runs once");
        let (result, spawned) = (self.result, self.spawned.clone());
        SinkFuture {
            // Started on first poll, so that sinks awaited together (say,
            // with `join!`) decide who starts when they run, not when made.
            inner: Box::pin(async move {
                let started = start(&shared);
                drive(shared, started, result, spawned).await
            }),
        }
    }
}

impl<A> fmt::Debug for Sink<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sink").finish_non_exhaustive()
    }
}

/// The future of an awaited [`Sink`].
///
/// # Cancel safety
///
/// Dropping it cancels the pipeline if this sink started it (no task is
/// left behind); see [`Sink`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct SinkFuture<A> {
    inner: Pin<Box<dyn Future<Output = Result<A, Error>> + Send>>,
}

impl<A> Future for SinkFuture<A> {
    type Output = Result<A, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
}

impl<A> fmt::Debug for SinkFuture<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SinkFuture").finish_non_exhaustive()
    }
}

/// A running pipeline, from [`Sink::run`]: join it, cancel it, watch it.
///
/// Dropping the handle cancels the pipeline; no task is left behind.
///
/// # Examples
///
/// ```
/// use weir::cancel::Context;
/// use weir::pipeline::Pipeline;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let run = Pipeline::new(&Context::background()).source(1..=3).map(|n| n * 2).collect::<Vec<_>>().run();
/// println!("{}", run.to_mermaid());
/// assert_eq!(run.join().await.unwrap(), [2, 4, 6]);
/// # }
/// ```
#[must_use = "dropping a RunHandle cancels the pipeline"]
pub struct RunHandle<A> {
    shared: Arc<Shared>,
    /// The graph, read: [`metrics`](GraphView::metrics) and the drawings,
    /// reached through `Deref`.
    view: GraphView,
    /// The sink that runs the pipeline: its task's failure is reported
    /// under this stage's name.
    sink: Arc<Stage>,
    task: Option<JoinHandle<Result<A, Error>>>,
}

impl<A: Send + 'static> RunHandle<A> {
    /// Waits for the pipeline to finish and returns the sink's result.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future drops the handle: the pipeline is cancelled.
    ///
    /// # Errors
    ///
    /// As awaiting the [`Sink`].
    ///
    /// # Examples
    ///
    /// ```
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let run = Pipeline::new(&Context::background()).source(0..3).fold(0, |a, n| a + n).run();
    /// assert_eq!(run.join().await.unwrap(), 3);
    /// # }
    /// ```
    pub fn join(self) -> Join<A> {
        Join {
            inner: Box::pin(self.join_inner()),
        }
    }

    async fn join_inner(mut self) -> Result<A, Error> {
        // Awaited in place: if this future is dropped, `self` is dropped
        // with the task still inside, and `Drop` cancels the pipeline.
        let joined = self.task.as_mut().expect("joined once").await;
        self.task = None;
        match joined {
            Ok(result) => result,
            Err(e) => Err(task_failed(&self.sink, e)),
        }
    }

    /// Like [`join`](RunHandle::join), but gives up after `timeout` and
    /// reports what is stuck: which stages are still running and how full
    /// each channel is. Use it after [`cancel`](RunHandle::cancel) to
    /// diagnose a stage that does not stop (one in a CPU loop that never
    /// yields, say) instead of hanging.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future drops the handle: the pipeline is cancelled.
    ///
    /// # Errors
    ///
    /// [`Error::Stuck`] with a [`Diagnosis`] on timeout; otherwise as
    /// [`join`](RunHandle::join).
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
    /// let run = Pipeline::new(&Context::background()).source(0u64..).for_each(|_| {}).run();
    /// run.cancel();
    /// let outcome = run.join_timeout(Duration::from_secs(5)).await;
    /// assert!(outcome.is_err()); // cancelled, not stuck
    /// # }
    /// ```
    pub fn join_timeout(self, timeout: Duration) -> Join<A> {
        Join {
            inner: Box::pin(self.join_timeout_inner(timeout)),
        }
    }

    async fn join_timeout_inner(mut self, timeout: Duration) -> Result<A, Error> {
        let task = self.task.as_mut().expect("joined once");
        let joined = tokio::time::timeout(timeout, task).await;
        if joined.is_ok() {
            self.task = None;
        }
        match joined {
            Ok(Ok(result)) => result,
            Ok(Err(e)) => Err(task_failed(&self.sink, e)),
            Err(_) => {
                let diagnosis = Diagnosis::of(&self.shared.graph().metrics());
                // Dropping `self` cancels the pipeline and aborts the task.
                Err(Error::Stuck { timeout, diagnosis })
            }
        }
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
    /// let run = Pipeline::new(&Context::background()).source(0u64..).for_each(|_| {}).run();
    /// run.cancel();
    /// assert!(run.join().await.is_err());
    /// # }
    /// ```
    pub fn cancel(&self) {
        cancel(&self.shared);
    }

    /// Graceful stop (as [`Pipeline::shutdown`](super::Pipeline::shutdown),
    /// which says what each kind of source does): the sources stop, what they produced drains through
    /// every stage, and [`join`](RunHandle::join) returns the sink's
    /// result for what got through. What a service does on SIGTERM.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let run = Pipeline::new(&Context::background()).source(0u64..).square().fold(0u64, |n, _| n + 1).run();
    /// tokio::task::yield_now().await;
    /// run.shutdown();
    /// assert!(run.join().await.is_ok());
    /// # }
    /// ```
    pub fn shutdown(&self) {
        self.shared.handle.shutdown();
    }
}

impl<A> Deref for RunHandle<A> {
    type Target = GraphView;

    fn deref(&self) -> &GraphView {
        &self.view
    }
}

/// The error for the run's own task ending without a result: a panic is
/// reported naming the sink stage that ran it (with the panic's message);
/// an aborted task as cancelled.
fn task_failed(sink: &Stage, e: tokio::task::JoinError) -> Error {
    if e.is_panic() {
        StageError::from_panic(sink.name(), &*e.into_panic()).into()
    } else {
        StageError::Cancelled(weir_cancel::ContextError::Canceled).into()
    }
}

fn cancel(shared: &Shared) {
    // The scope is inside the running task now; its context is ours too.
    shared.handle.cancel();
}

impl<A> Drop for RunHandle<A> {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            cancel(&self.shared);
            task.abort();
        }
    }
}

impl<A> fmt::Debug for RunHandle<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunHandle")
            .field(
                "finished",
                &self.task.as_ref().is_none_or(JoinHandle::is_finished),
            )
            .finish_non_exhaustive()
    }
}

/// The future of [`RunHandle::join`] and [`RunHandle::join_timeout`].
///
/// # Cancel safety
///
/// It owns the run handle: dropping it cancels the pipeline, and no task is
/// left behind.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Join<A> {
    inner: Pin<Box<dyn Future<Output = Result<A, Error>> + Send>>,
}

impl<A> Future for Join<A> {
    type Output = Result<A, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
}

impl<A> fmt::Debug for Join<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Join").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_failed_run_task_names_its_sink_stage() {
        let sink = Stage::new("fold", "total");
        let panicked = tokio::spawn(async { panic!("lost the sum") })
            .await
            .unwrap_err();
        let err = task_failed(&sink, panicked);
        assert_eq!(err.stage(), Some("total"));
        assert_eq!(err.to_string(), "stage `total` panicked: lost the sum");
        let never = tokio::spawn(std::future::pending::<()>());
        never.abort();
        let aborted = task_failed(&sink, never.await.unwrap_err());
        assert!(aborted.cancelled().is_some(), "{aborted}");
    }
}
