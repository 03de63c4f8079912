//! Waiting for a context: [`Cancelled`], [`CancelledOwned`] and [`Run`].

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{ready, Context as TaskContext, Poll, Waker};

use pin_project::pin_project;
use tokio::sync::futures::Notified;
use tokio::time::{sleep_until, Instant, Sleep};

use crate::context::Context;
use crate::error::ContextError;
use crate::tree::Node;

impl Context {
    /// Waits until the context is done: Go's `<-ctx.Done()`.
    ///
    /// Completes when the context (or an ancestor) is cancelled or its
    /// deadline passes; at once if it already is done, and never for a
    /// context that cannot end (such as [`Context::background`]). Any number
    /// of tasks may wait on one context: waiters sit in tokio's intrusive
    /// list, and cancelling wakes them all.
    ///
    /// No timer exists until the future is polled; a deadline that has
    /// already passed completes without one.
    ///
    /// In a hot loop, make the future once, pinned, and select on it by
    /// `&mut` (the second example). A future made for each `select!` joins
    /// the context's waiter list at its first poll and leaves it when
    /// dropped; one kept across iterations stays in the list, and a later
    /// poll by the same task is a flag check. Over a channel that is always
    /// ready, that is 336 instead of 740 instructions per iteration in a
    /// spawned task (`docs/profiling.md` §20).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future loses nothing, and a new call waits
    /// for the same event. Use it freely in `tokio::select!`.
    ///
    /// # Panics
    ///
    /// Polling it panics if the context has a deadline that is still ahead
    /// and there is no tokio runtime with the time driver enabled (as
    /// [`tokio::time::sleep`] does).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Context;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let (ctx, handle) = Context::background().with_cancel();
    /// let (tx, mut rx) = tokio::sync::mpsc::channel::<u32>(1);
    /// tx.send(1).await.unwrap();
    /// handle.cancel();
    ///
    /// tokio::select! {
    ///     biased;
    ///     _ = ctx.cancelled() => println!("stopping: {:?}", ctx.err()),
    ///     Some(job) = rx.recv() => println!("job {job}"),
    /// }
    /// # }
    /// ```
    ///
    /// One future for a whole loop:
    ///
    /// ```
    /// use std::pin::pin;
    ///
    /// use weir_cancel::Context;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let (ctx, handle) = Context::background().with_cancel();
    /// let (tx, mut rx) = tokio::sync::mpsc::channel::<u32>(8);
    /// let worker = tokio::spawn(async move {
    ///     let mut done = pin!(ctx.cancelled());
    ///     let mut sum = 0;
    ///     loop {
    ///         tokio::select! {
    ///             biased;
    ///             _ = &mut done => return sum,
    ///             Some(job) = rx.recv() => sum += job,
    ///         }
    ///     }
    /// });
    /// for job in 1..=3 {
    ///     tx.send(job).await.unwrap();
    /// }
    /// while tx.capacity() < tx.max_capacity() {
    ///     tokio::task::yield_now().await;
    /// }
    /// handle.cancel();
    /// assert_eq!(worker.await.unwrap(), 6);
    /// # }
    /// ```
    pub fn cancelled(&self) -> Cancelled<'_> {
        Cancelled {
            notified: self.node().map(|node| node.notify().notified()),
            ctx: self,
            sleep: None,
            waiting: Waiting(None),
            kept: KeptWaker::None,
        }
    }

    /// Like [`cancelled`](Context::cancelled), but the future owns a clone
    /// of the context, so it is `'static` and can be stored in a struct or
    /// moved into a spawned task.
    ///
    /// It boxes the wait once, when created.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, like [`cancelled`](Context::cancelled).
    ///
    /// # Panics
    ///
    /// As [`cancelled`](Context::cancelled).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::{CancelledOwned, Context};
    ///
    /// struct Stage {
    ///     stop: CancelledOwned,
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let (ctx, handle) = Context::background().with_cancel();
    /// let stage = Stage { stop: ctx.cancelled_owned() };
    /// let task = tokio::spawn(stage.stop);
    /// handle.cancel();
    /// task.await.unwrap();
    /// # }
    /// ```
    pub fn cancelled_owned(&self) -> CancelledOwned {
        let ctx = self.clone();
        CancelledOwned {
            inner: Box::pin(async move { ctx.cancelled().await }),
        }
    }

    /// Runs `future` until it finishes or the context is done, whichever
    /// comes first: Go's timeout pattern (`select` on a result and
    /// `ctx.Done()`) in one call.
    ///
    /// Go's
    ///
    /// ```go
    /// select {
    /// case r := <-resultCh: return r, nil
    /// case <-ctx.Done():    return nil, ctx.Err()
    /// }
    /// ```
    ///
    /// is `ctx.run(future).await`. The loser is dropped: when the context
    /// wins, `future` is dropped at its current `.await` point, which cancels
    /// it the Rust way (no goroutine is left running, no channel to leak).
    /// The context is checked first on every poll, so a future is never
    /// started under a context that is already done.
    ///
    /// # Cancel safety
    ///
    /// As cancel safe as `future`: dropping `Run` drops `future`.
    ///
    /// # Errors
    ///
    /// [`ContextError::Canceled`] or [`ContextError::DeadlineExceeded`] (see
    /// [`err`](Context::err)) if the context is done first.
    ///
    /// # Panics
    ///
    /// As [`cancelled`](Context::cancelled); and if `future` panics.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir_cancel::{Context, ContextError};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
    /// let ctx = Context::background().with_timeout(Duration::from_secs(5));
    ///
    /// let quick = ctx.run(async { 42 }).await;
    /// assert_eq!(quick, Ok(42));
    ///
    /// let slow = ctx.run(tokio::time::sleep(Duration::from_secs(60))).await;
    /// assert_eq!(slow, Err(ContextError::DeadlineExceeded));
    /// # }
    /// ```
    pub fn run<F: IntoFuture>(&self, future: F) -> Run<'_, F::IntoFuture> {
        Run {
            future: future.into_future(),
            cancelled: self.cancelled(),
        }
    }
}

/// Future of [`Context::cancelled`]: Go's `<-ctx.Done()`.
///
/// # Cancel safety
///
/// Cancel safe: dropping it loses nothing.
///
/// # Examples
///
/// ```
/// use weir_cancel::{Cancelled, Context};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let (ctx, handle) = Context::background().with_cancel();
/// let done: Cancelled<'_> = ctx.cancelled();
/// handle.cancel();
/// done.await;
/// # }
/// ```
#[pin_project]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Cancelled<'a> {
    ctx: &'a Context,
    /// Registered with the cancel node's `Notify`; `None` for contexts that
    /// cannot be cancelled.
    #[pin]
    notified: Option<Notified<'a>>,
    /// Created on the first poll that finds the deadline still ahead; boxed
    /// because a `Sleep` is about half this future's size otherwise, and
    /// most contexts have no deadline (every task's future holding a
    /// `Cancelled` would carry it, and tokio copies a task's whole future
    /// slot when the task ends).
    sleep: Option<Pin<Box<Sleep>>>,
    /// Counts this future among the node's waiters once `notified` is
    /// registered.
    waiting: Waiting<'a>,
    /// The waker `notified` was registered with, kept so that polls with
    /// the same waker can skip it (see [`KeptWaker`]).
    kept: KeptWaker,
}

/// What a [`Cancelled`] knows of the waker its `notified` holds. Only a
/// cancel notifies `notified`, and a cancel sets the flag checked first;
/// so a poll with the waker `notified` already holds has nothing to do,
/// and skips its poll (which takes the `Notify`'s lock).
///
/// The waker is kept from the second pending poll on: a future made for
/// one `select!` and dropped after its first poll (Go's loop) pays no
/// clone. Keeping stops at the first poll with another waker (a future
/// moved between tasks, or a waker whose `will_wake` is unreliable, as
/// `block_on`'s can be), so it costs at most one clone.
enum KeptWaker {
    /// Not kept (yet): registered by at most one poll.
    None,
    /// Registered with this waker, and with no other since.
    Kept(Waker),
    /// Registered with another waker since: every poll polls `notified`.
    Off,
}

/// Counted among a node's waiters (see `Node::count_waiter`) until dropped
/// or the node is cancelled; with whether it was first polled outside any
/// tokio task.
struct Waiting<'a>(Option<(&'a Node, bool)>);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if let Some((node, foreign)) = self.0 {
            // The counts are read once, by the cancel; after it nothing
            // reads them, so the waiters it ends leave them (and the cache
            // line they share across workers) alone.
            if !node.is_cancelled() {
                node.count_waiter(false, foreign);
            }
        }
    }
}

impl Future for Cancelled<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<()> {
        let this = self.project();
        if let (Some(node), Some(mut notified)) = (this.ctx.node(), this.notified.as_pin_mut()) {
            // `notified` was created before this check, so a cancel after
            // the check completes it.
            if node.is_cancelled() {
                return Poll::Ready(());
            }
            let same = matches!(&*this.kept, KeptWaker::Kept(w) if w.will_wake(cx.waker()));
            if !same {
                if notified.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(());
                }
                if this.waiting.0.is_none() {
                    // The first pending poll: registered, counted, not kept.
                    let foreign = tokio::task::try_id().is_none();
                    node.count_waiter(true, foreign);
                    *this.waiting = Waiting(Some((node, foreign)));
                } else {
                    *this.kept = match this.kept {
                        KeptWaker::None => KeptWaker::Kept(cx.waker().clone()),
                        _ => KeptWaker::Off,
                    };
                }
            }
        }
        if let Some(deadline) = this.ctx.deadline {
            if this.sleep.is_none() {
                if Instant::now() >= deadline {
                    this.ctx.expire();
                    return Poll::Ready(());
                }
                *this.sleep = Some(Box::pin(sleep_until(deadline)));
            }
            if let Some(sleep) = this.sleep.as_mut() {
                ready!(sleep.as_mut().poll(cx));
                // The deadline is the cancellation: unregister the node now.
                this.ctx.expire();
                return Poll::Ready(());
            }
        }
        Poll::Pending
    }
}

impl fmt::Debug for Cancelled<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cancelled").field("ctx", self.ctx).finish()
    }
}

/// Future of [`Context::cancelled_owned`]: a `'static`
/// [`Cancelled`] that owns a clone of its context.
///
/// # Cancel safety
///
/// Cancel safe: dropping it loses nothing.
///
/// # Examples
///
/// ```
/// use weir_cancel::Context;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let (ctx, handle) = Context::background().with_cancel();
/// let waiter = tokio::spawn(ctx.cancelled_owned());
/// drop(ctx);
/// handle.cancel();
/// waiter.await.unwrap();
/// # }
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct CancelledOwned {
    inner: Pin<Box<dyn Future<Output = ()> + Send + Sync + 'static>>,
}

impl Future for CancelledOwned {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<()> {
        self.inner.as_mut().poll(cx)
    }
}

impl fmt::Debug for CancelledOwned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelledOwned").finish_non_exhaustive()
    }
}

/// Future of [`Context::run`]: `future`'s output, or the context's error if
/// the context is done first.
///
/// # Cancel safety
///
/// As cancel safe as the future it runs.
///
/// # Errors
///
/// [`ContextError`] when the context is done before the future.
///
/// # Examples
///
/// ```
/// use weir_cancel::{Context, ContextError, Run};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let (ctx, handle) = Context::background().with_cancel();
/// handle.cancel();
/// let run: Run<'_, _> = ctx.run(async { "never polled" });
/// assert_eq!(run.await, Err(ContextError::Canceled));
/// # }
/// ```
#[pin_project]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Run<'a, F> {
    #[pin]
    future: F,
    #[pin]
    cancelled: Cancelled<'a>,
}

impl<F: Future> Future for Run<'_, F> {
    type Output = Result<F::Output, ContextError>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let ctx = this.cancelled.ctx;
        if this.cancelled.poll(cx).is_ready() {
            return Poll::Ready(Err(ctx.err().unwrap_or(ContextError::Canceled)));
        }
        let output = ready!(this.future.poll(cx));
        Poll::Ready(Ok(output))
    }
}

impl<F> fmt::Debug for Run<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Run")
            .field("ctx", self.cancelled.ctx)
            .finish_non_exhaustive()
    }
}
