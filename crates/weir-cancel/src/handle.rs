//! [`CancelHandle`] and [`CancelGuard`]: Go's `cancel` function.

use std::fmt;

use crate::error::Cause;
use crate::loom::Arc;
use crate::tree::Owner;

/// Cancels the context it came from and every context derived from it: Go's
/// `CancelFunc` / `CancelCauseFunc`.
///
/// Returned by [`Context::with_cancel`](crate::Context::with_cancel) and the
/// `*_cancel` constructors. Cloning gives another handle to the same context.
/// Dropping a handle does **not** cancel (and leaks nothing: the context
/// unregisters from its parent once it and its handles are gone); turn it
/// into a [`CancelGuard`] with [`drop_guard`](CancelHandle::drop_guard) for
/// Go's `defer cancel()`.
///
/// # Examples
///
/// ```
/// use weir_cancel::Context;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let (ctx, handle) = Context::background().with_cancel();
/// let worker = tokio::spawn({
///     let ctx = ctx.clone();
///     async move { ctx.cancelled().await }
/// });
/// handle.cancel();
/// worker.await.unwrap();
/// # }
/// ```
#[derive(Clone)]
pub struct CancelHandle {
    owner: Arc<Owner>,
}

impl CancelHandle {
    pub(crate) fn new(owner: Arc<Owner>) -> Self {
        CancelHandle { owner }
    }

    /// Cancels the context and its descendants with
    /// [`ContextError::Canceled`](crate::ContextError::Canceled) as cause.
    ///
    /// Returns `true` if this call cancelled it, `false` if it already was
    /// (by this handle, another one, an ancestor, or its deadline). Before
    /// it returns, the context and every descendant report the cancellation
    /// (a [`cancelled`](crate::Context::cancelled) future polled from then
    /// on completes), [`after_cancel`](crate::Context::after_cancel)
    /// functions are started, the context leaves its parent's tree, and
    /// waiters are woken (or their wake-ups handed on, see *Wake-ups*
    /// below). A context whose deadline has already passed keeps reporting
    /// [`DeadlineExceeded`](crate::ContextError::DeadlineExceeded).
    ///
    /// # Wake-ups
    ///
    /// Every waiting [`cancelled`](crate::Context::cancelled) future is
    /// woken; with two or more of them on a multi-thread runtime, *when*
    /// depends on where `cancel` is called, so that waking n tasks does not
    /// wake a worker thread n − 1 times (a chain of `futex`/`eventfd`
    /// wake-ups of 5–10 µs each, `docs/profiling.md` §18, §19):
    ///
    /// * **In a task**, the wake-ups are handed to the worker running it,
    ///   the way [`tokio::task::yield_now`] hands over its own task, and
    ///   made when that worker next looks for work: as soon as the
    ///   cancelling task waits (an `.await` that is not ready at once: the
    ///   join of what it cancelled, say) or ends, or, with other tasks
    ///   queued on that worker, at its next maintenance tick. They are
    ///   then made back to back with no worker woken in between, and at
    ///   most one idle worker is woken to share them. A task that calls
    ///   `cancel` and then keeps its thread busy without awaiting delays
    ///   them until it does — as it delays every task its worker holds;
    ///   one that blocks until a waiting *task* answers waits for ever
    ///   (don't block in async code). That one wake-up of an idle worker
    ///   is tokio's, and on a VM it is most of a small cancel's time when
    ///   that worker's thread last ran on another vCPU (10–15 µs of ten
    ///   stages' 22–35 µs, `docs/profiling.md` §22); a runtime with one
    ///   worker makes none (the guide's latency chapter).
    /// * **On a thread in the runtime's context that is not running one of
    ///   its tasks** (an `async main`'s `block_on`, a thread after
    ///   `Runtime::enter`), they are handed to one task spawned on that
    ///   runtime, which hands them to its worker in turn.
    /// * **Anywhere else** (off any runtime, on a current-thread runtime,
    ///   with one waiter) the canceller wakes them itself.
    ///
    /// Wake-ups are handed over only when every waiter was first polled in
    /// a tokio task. A `cancelled` future waited on by a plain thread or
    /// another executor makes the whole cancel wake at once (the relay
    /// still makes them from a worker), so a canceller that blocks its
    /// thread until such a waiter answers is answered.
    ///
    /// A hand-over is never lost: wake-ups that a runtime shutting down
    /// drops instead of making are made when it drops them.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Context;
    ///
    /// let (ctx, handle) = Context::background().with_cancel();
    /// assert!(handle.cancel());
    /// assert!(!handle.cancel(), "the second call is a no-op");
    /// assert!(ctx.is_cancelled());
    /// ```
    pub fn cancel(&self) -> bool {
        self.owner.node().cancel(None)
    }

    /// Cancels the context and its descendants, recording `cause`: Go's
    /// `CancelCauseFunc` from `context.WithCancelCause`.
    ///
    /// [`Context::cause`](crate::Context::cause) then returns `cause` here
    /// and in every descendant; [`Context::err`](crate::Context::err) still
    /// says [`Canceled`](crate::ContextError::Canceled). Returns `false`
    /// (and drops `cause`) if the context was already cancelled: the first
    /// cause wins. Waiters are woken as [`cancel`](Self::cancel) says
    /// under *Wake-ups*.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::{Cause, Context};
    ///
    /// let (ctx, handle) = Context::background().with_cancel();
    /// assert!(handle.cancel_with(Cause::msg("upstream failed")));
    /// assert!(!handle.cancel_with(Cause::msg("ignored")));
    /// assert_eq!(ctx.cause().unwrap().to_string(), "upstream failed");
    /// ```
    pub fn cancel_with(&self, cause: impl Into<Cause>) -> bool {
        self.owner.node().cancel(Some(cause.into()))
    }

    /// Wraps the handle in a guard that cancels when dropped: Go's
    /// `defer cancel()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Context;
    ///
    /// let (ctx, handle) = Context::background().with_cancel();
    /// {
    ///     let _guard = handle.drop_guard();
    ///     assert!(!ctx.is_cancelled());
    /// }
    /// assert!(ctx.is_cancelled());
    /// ```
    pub fn drop_guard(self) -> CancelGuard {
        CancelGuard { handle: Some(self) }
    }
}

impl fmt::Debug for CancelHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelHandle")
            .field("cancelled", &self.owner.node().is_cancelled())
            .finish()
    }
}

/// Cancels its context when dropped: Go's `defer cancel()`.
///
/// Made by [`CancelHandle::drop_guard`]; [`disarm`](CancelGuard::disarm)
/// takes the handle back without cancelling.
///
/// # Examples
///
/// ```
/// use weir_cancel::Context;
///
/// fn work(ctx: &Context) -> Context {
///     let (ctx, handle) = ctx.with_cancel();
///     let _guard = handle.drop_guard();
///     // ... early returns and panics all cancel `ctx` ...
///     ctx
/// }
///
/// let ctx = work(&Context::background());
/// assert!(ctx.is_cancelled());
/// ```
#[must_use = "a guard cancels its context as soon as it is dropped"]
pub struct CancelGuard {
    handle: Option<CancelHandle>,
}

impl CancelGuard {
    /// Returns the handle without cancelling.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Context;
    ///
    /// let (ctx, handle) = Context::background().with_cancel();
    /// let guard = handle.drop_guard();
    /// let handle = guard.disarm();
    /// assert!(!ctx.is_cancelled());
    /// handle.cancel();
    /// assert!(ctx.is_cancelled());
    /// ```
    pub fn disarm(mut self) -> CancelHandle {
        match self.handle.take() {
            Some(handle) => handle,
            // `handle` is only taken here and in `drop`, both consuming.
            None => unreachable!("a CancelGuard always holds its handle until consumed"),
        }
    }
}

impl Drop for CancelGuard {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            handle.cancel();
        }
    }
}

impl fmt::Debug for CancelGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelGuard")
            .field("handle", &self.handle)
            .finish()
    }
}
