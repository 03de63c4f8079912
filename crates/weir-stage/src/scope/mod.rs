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
use weir_cancel::{CancelGuard, CancelHandle, Context, ContextError};

use crate::scope_handle::ScopeHandle;
use weir_core::chan::{self, Receiver, Sender};
use weir_core::WaitGroup;

use crate::driver::SinkOutput;
use crate::engine::{run_into, run_sink, Fused, RecvSource, SinkStep, Stage, StageId, Step};
use crate::error::{panic_message, BoxError, Error};
use crate::stats::ScopeStats;

mod builder;
mod helpers;
mod owned;
mod shared;
mod spawn;
mod view;

pub use builder::ScopeBuilder;
pub use owned::OwnedScope;
pub(crate) use shared::{Failure, Role, Shared, StageCx};
pub(crate) use spawn::Timing;
pub use view::ScopeView;

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
/// * [`wait`](OwnedScope::wait) joins every task and returns the first error,
///   naming the stage;
/// * [`cancel`](Scope::cancel) stops everything now; [`shutdown`](OwnedScope::shutdown)
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
    /// The record of that stage, when the view was made for a [`Stage`]
    /// that exists already ([`Scope::stage`]): the registry adopts it.
    record: Option<Arc<Stage>>,
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
    // The owner is its own type (so a view can't cancel on drop), but
    // `Scope::new` is where users look for it.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(ctx: &Context) -> OwnedScope {
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
    /// errors — read from the scope's registry of stage records (one
    /// [`Stage`] per [`StageId`]), as a live view that outlives the scope (take it before
    /// [`wait`](OwnedScope::wait) consumes the scope). Pair it with the channels'
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

    /// The signal sources watch: cancelled when [`shutdown`](OwnedScope::shutdown)
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

    /// Stops every stage now: in-flight items are dropped, [`wait`](OwnedScope::wait)
    /// then reports [`Error::Cancelled`] if any stage was still running.
    ///
    /// The scope's context is cancelled before this returns; its waiting
    /// tasks are woken as [`CancelHandle::cancel`](weir_cancel::CancelHandle::cancel)
    /// says under "Wake-ups": called from a task, as soon as that task
    /// awaits (its [`wait`](OwnedScope::wait), say), back to back on its
    /// worker.
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

/// The future of [`OwnedScope::wait`] and [`OwnedScope::shutdown`].
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
