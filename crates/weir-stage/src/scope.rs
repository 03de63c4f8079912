//! [`Scope`]: Go's errgroup, WaitGroup and context in one.

use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context as TaskContext, Poll};

use futures::FutureExt;
use tokio::task::JoinSet;
use weir_cancel::{CancelHandle, Context, ContextError};

use crate::scope_handle::ScopeHandle;
use weir_core::chan::{self, Receiver, Sender};

use crate::driver::SinkOutput;
use crate::engine::{run_into, run_sink, Fused, RecvSource, SinkStep, Stage, StageId, Step};
use crate::error::{panic_message, BoxError, Error};
use crate::stats::{Cell, ScopeStats};

/// The channel capacity stages get unless told otherwise.
pub const DEFAULT_CAPACITY: usize = 256;

/// Where a scope's stages run: Go's `errgroup.WithContext`, a `WaitGroup`
/// and a `context.Context` in one value.
///
/// Every stage function (`stage::map(&scope, …)`, …) spawns its task
/// into a scope. The scope owns a child of the [`Context`] it was made from:
///
/// * the first error or panic in a stage cancels that context, so every
///   other stage stops (unless the scope [collects errors](ScopeBuilder::collect_errors));
/// * [`wait`](Scope::wait) joins every task and returns the first error,
///   naming the stage;
/// * [`cancel`](Scope::cancel) stops everything now; [`shutdown`](Scope::shutdown)
///   stops only the sources and lets in-flight items drain through every
///   stage (what a service does on SIGTERM);
/// * dropping the scope without waiting cancels it and aborts its tasks, so
///   nothing is left running.
///
/// [`named`](Scope::named) and [`with_capacity`](Scope::with_capacity) give
/// a *view* of the same scope that configures the stages built through it.
///
/// # Examples
///
/// ```
/// use weir_cancel::Context;
/// use weir_stage::{self as stage, Scope};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let scope = Scope::new(&Context::background());
/// let nums = stage::generate(&scope, 1..=4u64);
/// let squares = stage::square(&scope, nums);
/// let total = stage::fold(&scope, squares, 0, |acc, n| acc + n);
/// assert_eq!(total.await, Ok(30));
/// scope.wait().await.unwrap();
/// # }
/// ```
pub struct Scope {
    shared: Arc<Shared>,
    tasks: Arc<Mutex<JoinSet<()>>>,
    name: Option<Arc<str>>,
    capacity: Option<usize>,
    /// The stage a view configures: every task spawned through it is
    /// counted under this id.
    id: Option<StageId>,
    /// Only the scope made by `new`/`build` cancels on drop; the scope
    /// inside a [`ScopeView`] doesn't (and can't be waited on).
    owner: bool,
}

/// Options for the stages built through it — a name, a channel capacity,
/// one [`StageId`] — over a [`Scope`]: from [`Scope::named`],
/// [`Scope::with_capacity`] or [`Scope::stage`].
///
/// It derefs to the `Scope` for building stages (`stage::map(&view, …)`),
/// but it is not the scope: dropping it does nothing, and it can't
/// [`wait`](Scope::wait) or [`shutdown`](Scope::shutdown) — only the
/// scope's owner joins it.
///
/// Every stage built through one view is one stage for
/// [`stats`](Scope::stats): give each stage its own view.
///
/// # Examples
///
/// ```
/// use weir_cancel::Context;
/// use weir_stage::{self as stage, Scope};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let scope = Scope::new(&Context::background());
/// let view = scope.named("numbers").with_capacity(4);
/// let nums = stage::generate(&view, 0..3);
/// assert_eq!(nums.capacity(), Some(4));
/// let all = stage::collect::<_, Vec<_>>(&scope, nums);
/// scope.wait().await.unwrap(); // `view.wait()` does not compile
/// assert_eq!(all.await.unwrap(), [0, 1, 2]);
/// # }
/// ```
pub struct ScopeView {
    scope: Scope,
}

impl ScopeView {
    /// The id every stage built through this view is counted under.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Context;
    /// use weir_stage::Scope;
    ///
    /// let scope = Scope::new(&Context::background());
    /// assert_ne!(scope.named("a").id(), scope.named("a").id());
    /// ```
    pub fn id(&self) -> StageId {
        self.scope.id.expect("a view always has an id")
    }
}

impl std::ops::Deref for ScopeView {
    type Target = Scope;

    fn deref(&self) -> &Scope {
        &self.scope
    }
}

impl fmt::Debug for ScopeView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScopeView")
            .field("id", &self.scope.id)
            .field("name", &self.scope.name)
            .field("capacity", &self.scope.capacity)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Scope`] with non-default settings.
///
/// # Examples
///
/// ```
/// use weir_cancel::Context;
/// use weir_stage::Scope;
///
/// let scope = Scope::builder(&Context::background())
///     .capacity(1024)
///     .collect_errors()
///     .build();
/// # drop(scope);
/// ```
#[derive(Debug)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct ScopeBuilder {
    ctx: Context,
    capacity: usize,
    collect: bool,
}

impl ScopeBuilder {
    /// The capacity of every channel between stages (default
    /// [`DEFAULT_CAPACITY`]). `0` makes them rendezvous channels.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Context;
    /// use weir_stage::Scope;
    ///
    /// let scope = Scope::builder(&Context::background()).capacity(8).build();
    /// # drop(scope);
    /// ```
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }

    /// Keep going after a stage error: record every error and report them
    /// all from [`Scope::wait`] (as [`Error::Multiple`] when there are
    /// several), instead of cancelling everything at the first one.
    ///
    /// A stage whose own loop ended in an error still stops; what keeps
    /// going is the rest of the scope, and stages like
    /// [`try_map`](crate::try_map) that report per-item errors.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Context;
    /// use weir_stage::{self as stage, Error, Scope};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let scope = Scope::builder(&Context::background()).collect_errors().build();
    /// let nums = stage::generate(&scope, 1..=4);
    /// let odd = stage::try_map(&scope, nums, |n: u32| if n % 2 == 0 { Err("even") } else { Ok(n) });
    /// let kept = stage::collect::<_, Vec<_>>(&scope, odd);
    /// assert_eq!(kept.await.unwrap(), [1, 3]);
    /// assert!(matches!(scope.wait().await, Err(Error::Multiple(errors)) if errors.len() == 2));
    /// # }
    /// ```
    pub fn collect_errors(mut self) -> Self {
        self.collect = true;
        self
    }

    /// Makes the scope.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Context;
    /// use weir_stage::Scope;
    ///
    /// let scope = Scope::builder(&Context::background()).build();
    /// assert!(!scope.context().is_cancelled());
    /// ```
    pub fn build(self) -> Scope {
        let (ctx, cancel) = self.ctx.with_cancel();
        let (stop_ctx, stop) = ctx.with_cancel();
        Scope {
            shared: Arc::new(Shared {
                ctx,
                cancel,
                stop_ctx,
                stop,
                errors: Mutex::new(Vec::new()),
                consequences: Mutex::new(Vec::new()),
                stats: ScopeStats::default(),
                interrupted: AtomicBool::new(false),
                collect: self.collect,
                capacity: self.capacity,
                counter: AtomicUsize::new(0),
            }),
            tasks: Arc::new(Mutex::new(JoinSet::new())),
            name: None,
            capacity: None,
            id: None,
            owner: true,
        }
    }
}

pub(crate) struct Shared {
    ctx: Context,
    cancel: CancelHandle,
    /// Sources watch this; [`Scope::shutdown`] cancels it.
    stop_ctx: Context,
    stop: CancelHandle,
    errors: Mutex<Vec<Error>>,
    /// Errors that may only be the consequence of another stage's failure
    /// (a branch's receiver gone because its task failed): they are the
    /// outcome only when no stage reports a failure of its own, whatever
    /// the order in which the two were reported.
    consequences: Mutex<Vec<Error>>,
    /// Per-stage tasks, busy time and errors.
    stats: ScopeStats,
    /// A stage was stopped by cancellation before it finished.
    interrupted: AtomicBool,
    collect: bool,
    capacity: usize,
    counter: AtomicUsize,
}

impl Shared {
    /// A stage's failure: the first one cancels the scope with itself as
    /// the cause (what every stage then sees in its context's
    /// [`cause`](weir_cancel::Context::cause)).
    fn record(&self, id: Option<StageId>, error: Error) {
        if !self.collect && !matches!(error, Error::Cancelled(_)) {
            self.cancel
                .cancel_with(weir_cancel::Cause::new(error.replicate()));
        }
        self.push(&self.errors, id, error);
    }

    fn record_consequence(&self, id: StageId, error: Error) {
        self.push(&self.consequences, Some(id), error);
    }

    fn push(&self, list: &Mutex<Vec<Error>>, id: Option<StageId>, error: Error) {
        if let Some(id) = id {
            self.count_error(id, &error);
        }
        list.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(error);
        if !self.collect {
            self.cancel.cancel();
        }
    }

    /// Counts an error against the stage whose task reported it.
    fn count_error(&self, id: StageId, error: &Error) {
        match error {
            Error::Failed { .. } | Error::Panicked { .. } => self.stats.error(id),
            Error::Multiple(errors) => errors.iter().for_each(|e| self.count_error(id, e)),
            Error::Cancelled(_) | Error::Config(_) => {}
        }
    }

    fn outcome(&self) -> Result<(), Error> {
        let take = |list: &Mutex<Vec<Error>>| {
            std::mem::take(&mut *list.lock().unwrap_or_else(PoisonError::into_inner))
        };
        let mut errors = take(&self.errors);
        let consequences = take(&self.consequences);
        if errors.is_empty() || self.collect {
            errors.extend(consequences);
        }
        match errors.len() {
            0 if self.interrupted.load(Ordering::Acquire) => Err(Error::Cancelled(
                self.ctx.err().unwrap_or(ContextError::Canceled),
            )),
            0 => Ok(()),
            1 => Err(errors.remove(0)),
            _ if self.collect => Err(Error::Multiple(errors)),
            _ => Err(errors.remove(0)),
        }
    }
}

/// What a running stage knows about itself: its name, and where to report
/// an error that should not stop it.
#[derive(Clone)]
pub(crate) struct StageCx {
    pub(crate) name: Arc<str>,
    id: StageId,
    shared: Arc<Shared>,
    /// The stage's statistics.
    cell: Arc<Cell>,
}

/// How a task body failed: with any error (named after the task), or with
/// an error that already names its stage.
pub(crate) enum Failure {
    Unnamed(BoxError),
    Named(Error),
}

impl StageCx {
    /// Reports an error under the scope's policy: fail fast cancels the
    /// scope, collect-errors records it and the stage keeps going.
    pub(crate) fn report(&self, source: BoxError) {
        self.shared.record(
            Some(self.id),
            Error::Failed {
                stage: self.name.clone(),
                source,
            },
        );
    }

    /// Reports an error that may only be the consequence of another
    /// stage's failure — a branch whose receiver is gone, say, because the
    /// branch's task failed or panicked (which drops the receiver before
    /// the failure is recorded). It is the scope's outcome only if no stage
    /// reports a failure of its own.
    pub(crate) fn report_consequence(&self, source: BoxError) {
        self.shared.record_consequence(
            self.id,
            Error::Failed {
                stage: self.name.clone(),
                source,
            },
        );
    }

    /// The engine's view of this stage (its counters), for a stage the
    /// engine runs.
    fn engine_stage(&self, kind: &'static str) -> Arc<Stage> {
        Stage::with_id(self.id, kind, self.name.clone())
    }

    /// The scope's context.
    pub(crate) fn context(&self) -> &Context {
        &self.shared.ctx
    }

    /// The stage's statistics, for the counts only it knows (retries,
    /// skipped and dead-lettered jobs).
    pub(crate) fn stats(&self) -> &Cell {
        &self.cell
    }
}

/// Whether a stage is a source (stopped by [`Scope::shutdown`]) or not.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Source,
    Stage,
}

impl Scope {
    /// A scope under `ctx`, with default settings: fail fast, channels of
    /// [`DEFAULT_CAPACITY`].
    ///
    /// Cancelling `ctx` (or its deadline passing) stops every stage.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir_cancel::Context;
    /// use weir_stage::Scope;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let ctx = Context::background().with_timeout(Duration::from_secs(5));
    /// let scope = Scope::new(&ctx);
    /// assert_eq!(scope.context().deadline(), ctx.deadline());
    /// # }
    /// ```
    pub fn new(ctx: &Context) -> Scope {
        Scope::builder(ctx).build()
    }

    /// A [`ScopeBuilder`] to set the capacity or the error policy.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Context;
    /// use weir_stage::Scope;
    ///
    /// let scope = Scope::builder(&Context::background()).capacity(16).build();
    /// # drop(scope);
    /// ```
    pub fn builder(ctx: &Context) -> ScopeBuilder {
        ScopeBuilder {
            ctx: ctx.clone(),
            capacity: DEFAULT_CAPACITY,
            collect: false,
        }
    }

    /// A view of this scope whose stages are called `name` (in errors and
    /// diagnostics) instead of a default such as `map#3`.
    ///
    /// Dropping a view does nothing; waiting on it waits for (and, if the wait
    /// is dropped part-way, cancels) the whole scope.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Context;
    /// use weir_stage::{self as stage, Scope};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let scope = Scope::new(&Context::background());
    /// let nums = stage::generate(&scope.named("numbers"), 0..3);
    /// let out = stage::map(&scope.named("explode"), nums, |n: i32| {
    ///     assert!(n < 2, "too big");
    ///     n
    /// });
    /// let _sink = stage::for_each(&scope, out, |_| {});
    /// let err = scope.wait().await.unwrap_err();
    /// assert_eq!(err.stage(), Some("explode"));
    /// assert!(err.to_string().contains("too big"));
    /// # }
    /// ```
    pub fn named(&self, name: impl Into<Arc<str>>) -> ScopeView {
        let mut view = self.view();
        view.scope.name = Some(name.into());
        view.scope.id = Some(StageId::next());
        view
    }

    /// A view building `stage`: its tasks are named after it and counted
    /// under its id (what the `weir` builder uses for its graph's nodes).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Context;
    /// use weir_stage::engine::Stage;
    /// use weir_stage::{self as stage, Scope};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let scope = Scope::new(&Context::background());
    /// let pool = Stage::new("worker_pool", "fetch");
    /// let jobs = stage::generate(&scope, 0..4);
    /// let done = stage::worker_pool(&scope.stage(&pool), jobs, 2, |n| async move {
    ///     Ok::<_, std::io::Error>(n)
    /// });
    /// let _sink = stage::for_each(&scope, done.unwrap(), |_| {});
    /// let stats = scope.stats();
    /// scope.wait().await.unwrap();
    /// assert_eq!(stats.by_id(pool.id()).unwrap().name, "fetch");
    /// # }
    /// ```
    pub fn stage(&self, stage: &Stage) -> ScopeView {
        let mut view = self.view();
        view.scope.name = Some(stage.name());
        view.scope.id = Some(stage.id());
        view
    }

    /// A view of this scope whose stages get output channels of
    /// `capacity` items.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Context;
    /// use weir_stage::{self as stage, Scope};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let scope = Scope::new(&Context::background());
    /// let nums = stage::generate(&scope.with_capacity(4), 0..100);
    /// assert_eq!(nums.capacity(), Some(4));
    /// # }
    /// ```
    pub fn with_capacity(&self, capacity: usize) -> ScopeView {
        let mut view = self.view();
        view.scope.capacity = Some(capacity);
        view
    }

    /// A view named `name` building the same stage as this one (same id;
    /// a fresh one if this is the scope itself).
    pub(crate) fn renamed(&self, name: Arc<str>) -> ScopeView {
        let mut view = self.view();
        view.scope.name = Some(name);
        view
    }

    /// A view with this scope's options, and the same stage id (a fresh
    /// one if this is the scope itself).
    fn view(&self) -> ScopeView {
        ScopeView {
            scope: Scope {
                shared: self.shared.clone(),
                tasks: self.tasks.clone(),
                name: self.name.clone(),
                capacity: self.capacity,
                id: Some(self.id.unwrap_or_else(StageId::next)),
                owner: false,
            },
        }
    }

    /// The scope's context: cancelled when the scope is (by an error,
    /// [`cancel`](Scope::cancel), a drop, or the parent context).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Context;
    /// use weir_stage::Scope;
    ///
    /// let scope = Scope::new(&Context::background());
    /// let ctx = scope.context().clone();
    /// scope.cancel();
    /// assert!(ctx.is_cancelled());
    /// ```
    pub fn context(&self) -> &Context {
        &self.shared.ctx
    }

    /// A handle that cancels or shuts down this scope from anywhere,
    /// without owning it (the scope itself may be inside a task, waited
    /// on).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Context;
    /// use weir_stage::Scope;
    ///
    /// let scope = Scope::new(&Context::background());
    /// let handle = scope.handle();
    /// handle.shutdown();
    /// assert!(scope.shutdown_signal().is_cancelled());
    /// assert!(!scope.context().is_cancelled());
    /// ```
    pub fn handle(&self) -> ScopeHandle {
        ScopeHandle::new(self.shared.cancel.clone(), self.shared.stop.clone())
    }

    /// Per-stage statistics — tasks, tasks still running, time busy,
    /// errors — as a live view that outlives the scope (take it before
    /// [`wait`](Scope::wait) consumes the scope). Pair it with the channels'
    /// [`Observer`](weir_core::chan::Observer)s for time blocked on
    /// send and receive.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Context;
    /// use weir_stage::{self as stage, Scope};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let scope = Scope::new(&Context::background());
    /// let stats = scope.stats();
    /// let nums = stage::generate(&scope, 0..1000u64);
    /// let _sum = stage::fold(&scope, nums, 0, |a, n| a + n);
    /// scope.wait().await.unwrap();
    /// for stage in stats.stages() {
    ///     assert_eq!(stage.running, 0);
    ///     println!("{}: busy {:?}", stage.name, stage.busy);
    /// }
    /// # }
    /// ```
    pub fn stats(&self) -> ScopeStats {
        self.shared.stats.clone()
    }

    /// The signal sources watch: cancelled when [`shutdown`](Scope::shutdown)
    /// begins, or when the scope is cancelled. A hand-written source checks
    /// it between items to stop producing gracefully.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Context;
    /// use weir_stage::Scope;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let scope = Scope::new(&Context::background());
    /// let stopping = scope.shutdown_signal().clone();
    /// assert!(!stopping.is_cancelled());
    /// scope.shutdown().await.unwrap();
    /// assert!(stopping.is_cancelled());
    /// # }
    /// ```
    pub fn shutdown_signal(&self) -> &Context {
        &self.shared.stop_ctx
    }

    /// Stops every stage now: in-flight items are dropped, [`wait`](Scope::wait)
    /// then reports [`Error::Cancelled`] if any stage was still running.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Context;
    /// use weir_stage::{self as stage, Error, Scope};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let scope = Scope::new(&Context::background());
    /// let endless = stage::generate(&scope, 0u64..);
    /// let _sink = stage::for_each(&scope, endless, |_| {});
    /// scope.cancel();
    /// assert!(matches!(scope.wait().await, Err(Error::Cancelled(_))));
    /// # }
    /// ```
    pub fn cancel(&self) {
        self.shared.cancel.cancel();
    }

    /// Graceful stop: the sources stop producing, every item already
    /// produced drains through the remaining stages (partial batches are
    /// flushed), then the scope is joined like [`wait`](Scope::wait).
    ///
    /// # Cancel safety
    ///
    /// Dropping the returned future drops the scope: everything is
    /// cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Context;
    /// use weir_stage::{self as stage, Scope};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let scope = Scope::new(&Context::background());
    /// let endless = stage::generate(&scope, 0u64..);
    /// let seen = stage::fold(&scope, endless, 0u64, |n, _| n + 1);
    /// tokio::task::yield_now().await;
    /// scope.shutdown().await.unwrap(); // no error: nothing was cut off mid-way
    /// assert!(seen.await.is_ok());
    /// # }
    /// ```
    pub fn shutdown(self) -> Wait {
        self.shared.stop.cancel();
        self.wait()
    }

    /// Waits for every task in the scope, then returns the first error (or
    /// every error, with [`collect_errors`](ScopeBuilder::collect_errors)).
    ///
    /// # Cancel safety
    ///
    /// Dropping the returned future drops the scope: everything is
    /// cancelled and no task is left running.
    ///
    /// # Errors
    ///
    /// [`Error::Failed`] / [`Error::Panicked`] naming the stage that failed
    /// first; [`Error::Cancelled`] if the scope was cancelled (or its
    /// context ran out) while stages were running; [`Error::Multiple`] with
    /// `collect_errors`.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Context;
    /// use weir_stage::{self as stage, Scope};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let scope = Scope::new(&Context::background());
    /// let words = stage::generate(&scope, ["a", "b"]);
    /// let upper = stage::map(&scope, words, str::to_uppercase);
    /// let all = stage::collect::<_, Vec<_>>(&scope, upper);
    /// scope.wait().await.unwrap();
    /// assert_eq!(all.await.unwrap(), ["A", "B"]);
    /// # }
    /// ```
    pub fn wait(self) -> Wait {
        Wait {
            inner: Box::pin(async move {
                // Only the owner can wait (a view can't be moved out of
                // its `ScopeView`): if this future is dropped part-way, the
                // scope is cancelled and its tasks aborted.
                let scope = self;
                loop {
                    let mut set = std::mem::take(&mut *scope.lock_tasks());
                    if set.is_empty() {
                        break;
                    }
                    while let Some(joined) = set.join_next().await {
                        if let Err(e) = joined {
                            if e.is_panic() {
                                // Our task wrapper catches user panics; this is
                                // a bug of ours, but still must not be lost.
                                scope.shared.record(
                                    None,
                                    Error::Panicked {
                                        stage: "<scope>".into(),
                                        message: panic_message(&*e.into_panic()),
                                    },
                                );
                            }
                        }
                    }
                }
                scope.shared.outcome()
            }),
        }
    }

    /// Spawns a plain task into the scope (errgroup's `Go`): its error or
    /// panic is reported like a stage's, and it is cancelled with the scope.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime, like [`tokio::spawn`].
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Context;
    /// use weir_stage::Scope;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let scope = Scope::new(&Context::background());
    /// scope.named("fetch").spawn(async { Err::<(), _>("connection refused") });
    /// let err = scope.wait().await.unwrap_err();
    /// assert_eq!(err.to_string(), "stage `fetch` failed");
    /// assert_eq!(std::error::Error::source(&err).unwrap().to_string(), "connection refused");
    /// # }
    /// ```
    #[track_caller]
    pub fn spawn<F, E>(&self, future: F)
    where
        F: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<BoxError>,
    {
        self.spawn_stage("task", Role::Stage, |_| async move {
            future.await.map_err(Into::into)
        });
    }

    /// Spawns a task whose errors already say which stage failed (a
    /// [`weir_stage::Error`](Error) rather than any error): it is reported
    /// as it is, not wrapped. This is how a task running several fused
    /// stages, or stages of its own, reports which one failed. A panic is
    /// reported naming the task (the view's name, or `task#N`).
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime, like [`tokio::spawn`].
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Context;
    /// use weir_stage::{Error, Scope};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let scope = Scope::new(&Context::background());
    /// scope.named("segment").spawn_task(async {
    ///     Err(Error::Failed { stage: "parse".into(), source: "bad digit".into() })
    /// });
    /// let err = scope.wait().await.unwrap_err();
    /// assert_eq!(err.stage(), Some("parse"));
    /// # }
    /// ```
    #[track_caller]
    pub fn spawn_task<F>(&self, future: F)
    where
        F: Future<Output = Result<(), Error>> + Send + 'static,
    {
        self.spawn_raw("task", Role::Stage, |_| async move {
            future.await.map_err(Failure::Named)
        });
    }

    /// Spawns a producing task into the scope: like [`spawn`](Scope::spawn),
    /// but [`shutdown`](Scope::shutdown) stops it (as a success) so that what
    /// it already produced drains downstream.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime, like [`tokio::spawn`].
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Context;
    /// use weir_core::chan;
    /// use weir_stage::Scope;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let scope = Scope::new(&Context::background());
    /// let (tx, rx) = chan::bounded(8);
    /// scope.named("ticker").spawn_source(async move {
    ///     for i in 0u64.. {
    ///         tx.send(i).await?;
    ///     }
    ///     Ok::<_, chan::SendError<u64>>(())
    /// });
    /// assert_eq!(rx.recv().await, Some(0));
    /// scope.shutdown().await.unwrap();
    /// # }
    /// ```
    #[track_caller]
    pub fn spawn_source<F, E>(&self, future: F)
    where
        F: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<BoxError>,
    {
        self.spawn_stage("source", Role::Source, |_| async move {
            future.await.map_err(Into::into)
        });
    }

    fn lock_tasks(&self) -> std::sync::MutexGuard<'_, JoinSet<()>> {
        self.tasks.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A channel for a stage's output, with this view's capacity.
    pub(crate) fn channel<T>(&self) -> (Sender<T>, Receiver<T>) {
        chan::bounded(self.capacity.unwrap_or(self.shared.capacity))
    }

    /// The name the next stage of `kind` gets.
    pub(crate) fn stage_name(&self, kind: &str) -> Arc<str> {
        match &self.name {
            Some(name) => name.clone(),
            None => {
                let n = self.shared.counter.fetch_add(1, Ordering::Relaxed);
                format!("{kind}#{n}").into()
            }
        }
    }

    /// The stage name a [`ConfigError`](crate::ConfigError) reports for a
    /// stage of `kind` that was never built: this view's name, or `kind`
    /// itself (no number is used up).
    pub(crate) fn config_name(&self, kind: &str) -> Arc<str> {
        self.name.clone().unwrap_or_else(|| kind.into())
    }

    /// Spawns a stage task. `body` gets the stage's [`StageCx`]; its error
    /// or panic is recorded under the stage's name; cancellation of the
    /// scope drops it wherever it waits. A [`Role::Source`] also stops, as a
    /// success, on [`Scope::shutdown`].
    #[track_caller]
    pub(crate) fn spawn_stage<B, F>(&self, kind: &'static str, role: Role, body: B) -> Arc<str>
    where
        B: FnOnce(StageCx) -> F,
        F: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        self.spawn_raw(kind, role, |cx| {
            let body = body(cx);
            async move { body.await.map_err(Failure::Unnamed) }
        })
    }

    /// Runs a fusible step over `input` in a task of its own: the door
    /// behind `stage::map` and the other step stages.
    #[track_caller]
    pub(crate) fn spawn_step<T, S>(&self, input: Receiver<T>, step: S) -> Receiver<S::Out>
    where
        T: Send + 'static,
        S: Step<T>,
    {
        let (tx, rx) = self.channel();
        self.spawn_raw(S::KIND, Role::Stage, move |cx| {
            let stage = cx.engine_stage(S::KIND);
            let fused = Fused::new(Box::new(RecvSource::new(input)), step, stage.clone());
            let fused = if cx.shared.collect {
                let cx = cx.clone();
                fused.keep_going(Arc::new(move |e| cx.report(e)))
            } else {
                fused
            };
            async move {
                run_into(Box::new(fused), tx, &stage)
                    .await
                    .map_err(Failure::Named)
            }
        });
        rx
    }

    /// Runs a sink step over `input` in a task of its own: the door behind
    /// `stage::fold` and the other sink stages.
    #[track_caller]
    pub(crate) fn spawn_sink<T, K>(&self, input: Receiver<T>, sink: K) -> SinkOutput<K::Output>
    where
        T: Send + 'static,
        K: SinkStep<T>,
    {
        let (done, output) = SinkOutput::channel();
        self.spawn_raw(K::KIND, Role::Stage, move |cx| async move {
            let result = run_sink(
                Box::new(RecvSource::new(input)),
                sink,
                &cx.engine_stage(K::KIND),
            )
            .await
            .map_err(Failure::Named)?;
            let _ = done.send(result);
            Ok(())
        });
        output
    }

    /// Runs an engine body (one that names its own errors) over the
    /// stage's [`Stage`] in a task of its own: the door behind stage
    /// functions whose loop the builder runs too.
    #[track_caller]
    pub(crate) fn spawn_engine<B, F>(&self, kind: &'static str, body: B)
    where
        B: FnOnce(Arc<Stage>) -> F,
        F: Future<Output = Result<(), Error>> + Send + 'static,
    {
        self.spawn_raw(kind, Role::Stage, move |cx| {
            let run = body(cx.engine_stage(kind));
            async move { run.await.map_err(Failure::Named) }
        });
    }

    #[track_caller]
    fn spawn_raw<B, F>(&self, kind: &'static str, role: Role, body: B) -> Arc<str>
    where
        B: FnOnce(StageCx) -> F,
        F: Future<Output = Result<(), Failure>> + Send + 'static,
    {
        let id = self.id.unwrap_or_else(StageId::next);
        let name = self.stage_name(kind);
        let cell = self.shared.stats.cell(id, &name);
        let cx = StageCx {
            name: name.clone(),
            id,
            shared: self.shared.clone(),
            cell: cell.clone(),
        };
        let name = cx.name.clone();
        let shared = self.shared.clone();
        let body = AssertUnwindSafe(body(cx.clone())).catch_unwind();
        let stop = (role == Role::Source).then(|| shared.stop_ctx.clone());
        let task = async move {
            let stopped = async {
                match &stop {
                    Some(stop) => stop.cancelled().await,
                    None => std::future::pending().await,
                }
            };
            let outcome = tokio::select! {
                biased;
                _ = shared.ctx.cancelled() => None,
                _ = stopped => Some(Ok(Ok(()))),
                done = body => Some(done),
            };
            match outcome {
                None => shared.interrupted.store(true, Ordering::Release),
                Some(Ok(Ok(()))) => {}
                // A task that already names its stage (a fused segment of
                // several stages, say) is reported as it says.
                Some(Ok(Err(Failure::Named(error)))) => shared.record(Some(cx.id), error),
                Some(Ok(Err(Failure::Unnamed(source)))) => shared.record(
                    Some(cx.id),
                    Error::Failed {
                        stage: cx.name,
                        source,
                    },
                ),
                Some(Err(payload)) => shared.record(
                    Some(cx.id),
                    Error::Panicked {
                        stage: cx.name,
                        message: panic_message(&*payload),
                    },
                ),
            }
        };
        let task = cell.track(task);
        #[cfg(feature = "tracing")]
        let task =
            tracing::Instrument::instrument(task, tracing::info_span!("stage", name = %name));
        // With tokio's unstable task names (what tokio-console shows), the
        // task is named after the stage.
        #[cfg(all(tokio_unstable, feature = "tracing"))]
        if let Err(e) = self.lock_tasks().build_task().name(&name).spawn(task) {
            panic!("spawning stage `{name}`: {e}");
        }
        #[cfg(not(all(tokio_unstable, feature = "tracing")))]
        self.lock_tasks().spawn(task);
        name
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        if self.owner {
            self.shared.cancel.cancel();
            self.lock_tasks().abort_all();
        }
    }
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scope")
            .field("name", &self.name)
            .field("capacity", &self.capacity.unwrap_or(self.shared.capacity))
            .field("cancelled", &self.shared.ctx.is_cancelled())
            .finish_non_exhaustive()
    }
}

/// The future of [`Scope::wait`] and [`Scope::shutdown`].
///
/// # Cancel safety
///
/// It owns the scope: dropping it cancels every stage.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Wait {
    inner: Pin<Box<dyn Future<Output = Result<(), Error>> + Send>>,
}

impl Future for Wait {
    type Output = Result<(), Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
}

impl fmt::Debug for Wait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wait").finish_non_exhaustive()
    }
}
