//! [`Context`]: deriving contexts and asking whether they are done.

use std::fmt;
use std::time::Duration;

use tokio::time::Instant;

use crate::error::{Cause, ContextError};
use crate::handle::CancelHandle;
use crate::loom::Arc;
use crate::tree::{Node, Owner, Record};
use crate::value_node::ValueNode;

/// A cancellation signal with an optional deadline and typed values: Go's
/// `context.Context` for tokio.
///
/// A `Context` is passed down to the code doing the work, which watches it
/// ([`cancelled`](Context::cancelled), [`run`](Context::run),
/// [`is_cancelled`](Context::is_cancelled), [`err`](Context::err)) and stops
/// when it is done. Contexts form a tree: each `with_*` method derives a
/// child, and a child is done when its parent is, when its own
/// [`CancelHandle`] is used, or when its deadline passes — whichever comes
/// first. Nothing flows upwards: cancelling a child never touches its parent
/// or siblings.
///
/// `Context` is cheap to clone (a few reference counts) and `Send + Sync`;
/// clones are the same context. Cancelling a derived context, or dropping it
/// (and its handle), unregisters it from its parent, so a long-lived parent
/// can have any number of short-lived children over time without growing.
///
/// Deadlines cost no task and no timer until someone waits: [`is_cancelled`]
/// and [`err`] compare the deadline with [`Instant::now`], and
/// [`cancelled`] sleeps until it. Time is tokio's, so a paused test clock
/// drives deadlines too.
///
/// [`is_cancelled`]: Context::is_cancelled
/// [`err`]: Context::err
/// [`cancelled`]: Context::cancelled
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use weir_cancel::{Context, ContextError};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let (ctx, handle) = Context::background().with_cancel();
/// let request = ctx.with_timeout(Duration::from_secs(5));
///
/// handle.cancel();
/// request.cancelled().await;
/// assert_eq!(request.err(), Some(ContextError::Canceled));
/// # }
/// ```
#[derive(Clone, Default)]
pub struct Context {
    /// The cancel node this context watches; `None`: never cancelled.
    pub(crate) cancel: Option<Arc<Owner>>,
    /// The effective deadline: the earliest along the chain.
    pub(crate) deadline: Option<Instant>,
    /// The cause given with that deadline (`with_*_cause`), if any.
    pub(crate) deadline_cause: Option<Cause>,
    /// The innermost typed value; the chain holds the rest.
    pub(crate) values: Option<std::sync::Arc<ValueNode>>,
}

impl Context {
    /// The root context: never cancelled, no deadline, no values. Go's
    /// `context.Background()` (and `context.TODO()`).
    ///
    /// Same as `Context::default()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Context;
    ///
    /// let ctx = Context::background();
    /// assert!(!ctx.is_cancelled());
    /// assert_eq!(ctx.err(), None);
    /// assert_eq!(ctx.deadline(), None);
    /// ```
    pub fn background() -> Context {
        Context::default()
    }

    /// A child that is done exactly when this context is: what Go does by
    /// passing `ctx` down to a callee.
    ///
    /// It has no handle of its own, so it is the same signal as `self` (a
    /// clone): it costs no registration in the tree. Derive with
    /// [`with_cancel`](Context::with_cancel) to get a child that can also be
    /// cancelled on its own.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Context;
    ///
    /// let (parent, handle) = Context::background().with_cancel();
    /// let child = parent.child();
    /// handle.cancel();
    /// assert!(child.is_cancelled());
    /// ```
    pub fn child(&self) -> Context {
        self.clone()
    }

    /// A child with its own [`CancelHandle`]: Go's `context.WithCancel` and
    /// `context.WithCancelCause`.
    ///
    /// The child is done when the handle cancels it or when this context is
    /// done, whichever comes first. Dropping the handle does **not** cancel;
    /// use [`CancelHandle::drop_guard`] for Go's `defer cancel()`.
    /// Cancelling the child unregisters it from this context at once (Go's
    /// `removeChild`), and so does dropping the child and its handle; a
    /// child whose deadline has passed leaves when that is first noticed
    /// (see [`registered_children`](Context::registered_children)).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Context;
    ///
    /// let (parent, parent_handle) = Context::background().with_cancel();
    /// let (child, child_handle) = parent.with_cancel();
    ///
    /// child_handle.cancel();
    /// assert!(child.is_cancelled());
    /// assert!(!parent.is_cancelled(), "cancelling a child never reaches up");
    ///
    /// let (other, _other_handle) = parent.with_cancel();
    /// assert_eq!(parent.registered_children(), 1, "the cancelled child left");
    /// parent_handle.cancel();
    /// assert!(other.is_cancelled(), "cancelling a parent reaches every child");
    /// ```
    pub fn with_cancel(&self) -> (Context, CancelHandle) {
        let node = match self.node() {
            Some(parent) => Node::child(parent, self.deadline),
            None => Node::root(self.deadline),
        };
        let owner = Owner::new(node);
        let ctx = Context {
            cancel: Some(owner.clone()),
            deadline: self.deadline,
            deadline_cause: self.deadline_cause.clone(),
            values: self.values.clone(),
        };
        (ctx, CancelHandle::new(owner))
    }

    /// A child that is done `timeout` from now at the latest: Go's
    /// `context.WithTimeout` (without the cancel function; see
    /// [`with_timeout_cancel`](Context::with_timeout_cancel)).
    ///
    /// `Duration::ZERO` gives a context that is already done. A timeout too
    /// large to represent (such as `Duration::MAX`) means no deadline at all;
    /// it never fires and never panics. The child's deadline is never later
    /// than this context's (see [`deadline`](Context::deadline)).
    ///
    /// No task or timer is created: the deadline is checked when asked and
    /// slept on only while someone awaits [`cancelled`](Context::cancelled).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir_cancel::{Context, ContextError};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
    /// let ctx = Context::background().with_timeout(Duration::from_secs(5));
    /// assert_eq!(ctx.err(), None);
    ///
    /// ctx.cancelled().await; // the paused clock jumps 5 s ahead
    /// assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
    ///
    /// let never = Context::background().with_timeout(Duration::MAX);
    /// assert_eq!(never.deadline(), None);
    /// # }
    /// ```
    pub fn with_timeout(&self, timeout: Duration) -> Context {
        match Instant::now().checked_add(timeout) {
            Some(deadline) => self.with_deadline(deadline),
            None => self.clone(),
        }
    }

    /// A child that is done at `deadline` at the latest: Go's
    /// `context.WithDeadline` (without the cancel function; see
    /// [`with_deadline_cancel`](Context::with_deadline_cancel)).
    ///
    /// A deadline in the past gives a context that is already done. If this
    /// context's deadline is earlier, the child keeps that one.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use tokio::time::Instant;
    /// use weir_cancel::{Context, ContextError};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
    /// let soon = Instant::now() + Duration::from_secs(1);
    /// let parent = Context::background().with_deadline(soon);
    /// let child = parent.with_deadline(soon + Duration::from_secs(60));
    /// assert_eq!(child.deadline(), Some(soon), "never later than the parent's");
    ///
    /// let past = Context::background().with_deadline(Instant::now());
    /// assert_eq!(past.err(), Some(ContextError::DeadlineExceeded));
    /// # }
    /// ```
    pub fn with_deadline(&self, deadline: Instant) -> Context {
        self.with_deadline_and(deadline, None)
    }

    /// A child that is done `timeout` from now at the latest, and then
    /// reports `cause`: Go's `context.WithTimeoutCause`.
    ///
    /// [`with_timeout`](Context::with_timeout), except that when this
    /// deadline is what ends the context, [`cause`](Context::cause) returns
    /// `cause` (here and in every context derived from this one) while
    /// [`err`](Context::err) still says
    /// [`DeadlineExceeded`](ContextError::DeadlineExceeded). If the context
    /// ends another way first — cancelled, or an earlier deadline of this
    /// context's — that other cause wins, and `cause` is never reported.
    /// A timeout too large to represent means no deadline, as in
    /// [`with_timeout`](Context::with_timeout).
    ///
    /// For a [`CancelHandle`] as well (Go's returned `cancel`), derive with
    /// [`with_cancel`](Context::with_cancel) after this:
    /// `ctx.with_timeout_cause(d, cause).with_cancel()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir_cancel::{Cause, Context, ContextError};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
    /// let ctx = Context::background()
    ///     .with_timeout_cause(Duration::from_secs(5), Cause::msg("backend too slow"));
    ///
    /// ctx.cancelled().await; // the paused clock jumps 5 s ahead
    /// assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
    /// assert_eq!(ctx.cause().unwrap().to_string(), "backend too slow");
    ///
    /// // Cancelled before the deadline: the cancel's cause wins.
    /// let (ctx, handle) = Context::background()
    ///     .with_timeout_cause(Duration::from_secs(5), Cause::msg("backend too slow"))
    ///     .with_cancel();
    /// handle.cancel_with(Cause::msg("client went away"));
    /// tokio::time::sleep(Duration::from_secs(10)).await;
    /// assert_eq!(ctx.err(), Some(ContextError::Canceled));
    /// assert_eq!(ctx.cause().unwrap().to_string(), "client went away");
    /// # }
    /// ```
    pub fn with_timeout_cause(&self, timeout: Duration, cause: impl Into<Cause>) -> Context {
        match Instant::now().checked_add(timeout) {
            Some(deadline) => self.with_deadline_and(deadline, Some(cause.into())),
            None => self.clone(),
        }
    }

    /// A child that is done at `deadline` at the latest, and then reports
    /// `cause`: Go's `context.WithDeadlineCause`.
    ///
    /// [`with_deadline`](Context::with_deadline), except that when this
    /// deadline is what ends the context, [`cause`](Context::cause) returns
    /// `cause` while [`err`](Context::err) says
    /// [`DeadlineExceeded`](ContextError::DeadlineExceeded). If this
    /// context's deadline is earlier than (or equal to) `deadline`, the
    /// child keeps it, with its cause, and `cause` is dropped; a
    /// cancellation before the deadline reports the cancel's cause.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use tokio::time::Instant;
    /// use weir_cancel::{Cause, Context, ContextError};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
    /// let at = Instant::now() + Duration::from_secs(1);
    /// let parent = Context::background().with_deadline_cause(at, Cause::msg("batch window closed"));
    /// // A later deadline does not replace the parent's, nor its cause.
    /// let child = parent.with_deadline_cause(at + Duration::from_secs(9), Cause::msg("unused"));
    ///
    /// child.cancelled().await;
    /// assert_eq!(child.err(), Some(ContextError::DeadlineExceeded));
    /// assert_eq!(child.cause().unwrap().to_string(), "batch window closed");
    /// # }
    /// ```
    pub fn with_deadline_cause(&self, deadline: Instant, cause: impl Into<Cause>) -> Context {
        self.with_deadline_and(deadline, Some(cause.into()))
    }

    /// `deadline` (with `cause`) if it is earlier than this context's.
    fn with_deadline_and(&self, deadline: Instant, cause: Option<Cause>) -> Context {
        let (deadline, deadline_cause) = match self.deadline {
            // On a tie the parent's deadline (and cause) stays.
            Some(current) if current <= deadline => (current, self.deadline_cause.clone()),
            _ => (deadline, cause),
        };
        Context {
            cancel: self.cancel.clone(),
            deadline: Some(deadline),
            deadline_cause,
            values: self.values.clone(),
        }
    }

    /// [`with_timeout`](Context::with_timeout) plus a [`CancelHandle`] to end
    /// it early: Go's `ctx, cancel := context.WithTimeout(ctx, d)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir_cancel::{Context, ContextError};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let (ctx, cancel) = Context::background().with_timeout_cancel(Duration::from_secs(5));
    /// let _guard = cancel.clone().drop_guard(); // Go's `defer cancel()`
    ///
    /// cancel.cancel();
    /// assert_eq!(ctx.err(), Some(ContextError::Canceled));
    /// # }
    /// ```
    pub fn with_timeout_cancel(&self, timeout: Duration) -> (Context, CancelHandle) {
        self.with_timeout(timeout).with_cancel()
    }

    /// [`with_deadline`](Context::with_deadline) plus a [`CancelHandle`] to
    /// end it early: Go's `ctx, cancel := context.WithDeadline(ctx, t)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use tokio::time::Instant;
    /// use weir_cancel::Context;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let deadline = Instant::now() + Duration::from_secs(5);
    /// let (ctx, cancel) = Context::background().with_deadline_cancel(deadline);
    /// assert_eq!(ctx.deadline(), Some(deadline));
    /// cancel.cancel();
    /// assert!(ctx.is_cancelled());
    /// # }
    /// ```
    pub fn with_deadline_cancel(&self, deadline: Instant) -> (Context, CancelHandle) {
        self.with_deadline(deadline).with_cancel()
    }

    /// A context that keeps this one's values but is never cancelled and has
    /// no deadline: Go's `context.WithoutCancel`.
    ///
    /// Use it for work that must outlive the request that started it (an
    /// audit log write, a cache fill) while keeping request-scoped values.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Context;
    ///
    /// let (ctx, handle) = Context::background().with_value("request-42").with_cancel();
    /// let detached = ctx.without_cancel();
    /// handle.cancel();
    /// assert!(ctx.is_cancelled());
    /// assert!(!detached.is_cancelled());
    /// assert_eq!(detached.value::<&str>(), Some(&"request-42"));
    /// ```
    pub fn without_cancel(&self) -> Context {
        Context {
            cancel: None,
            deadline: None,
            deadline_cause: None,
            values: self.values.clone(),
        }
    }

    /// Whether the context is done (cancelled, or past its deadline): Go's
    /// `ctx.Err() != nil`, without building the error.
    ///
    /// Cheap: one atomic load, plus a clock read when there is a deadline.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Context;
    ///
    /// let (ctx, handle) = Context::background().with_cancel();
    /// assert!(!ctx.is_cancelled());
    /// handle.cancel();
    /// assert!(ctx.is_cancelled());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        if self.node().is_some_and(|node| node.is_cancelled()) {
            return true;
        }
        let expired = self
            .deadline
            .is_some_and(|deadline| Instant::now() >= deadline);
        if expired {
            self.expire();
        }
        expired
    }

    /// Why the context is done, or `None` while it is not: Go's `ctx.Err()`.
    ///
    /// [`ContextError::DeadlineExceeded`] if the deadline passed before any
    /// cancellation reached this context, [`ContextError::Canceled`]
    /// otherwise. Once `Some`, the answer never changes.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir_cancel::{Context, ContextError};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
    /// let (ctx, handle) = Context::background().with_timeout_cancel(Duration::from_secs(1));
    /// assert_eq!(ctx.err(), None);
    ///
    /// tokio::time::sleep(Duration::from_secs(2)).await;
    /// handle.cancel(); // too late: the deadline came first
    /// assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
    /// # }
    /// ```
    pub fn err(&self) -> Option<ContextError> {
        self.done().map(|(error, _)| error)
    }

    /// Why the context is done, in detail, or `None` while it is not: Go's
    /// `context.Cause(ctx)`.
    ///
    /// The cause given to [`CancelHandle::cancel_with`] on this context or
    /// the ancestor whose cancellation reached it;
    /// [`ContextError::Canceled`] for a plain [`CancelHandle::cancel`];
    /// when the deadline came first, the cause given with it
    /// ([`with_timeout_cause`](Context::with_timeout_cause),
    /// [`with_deadline_cause`](Context::with_deadline_cause)), else
    /// [`ContextError::DeadlineExceeded`].
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::{Cause, Context, ContextError};
    ///
    /// let (parent, handle) = Context::background().with_cancel();
    /// let (child, _child_handle) = parent.with_cancel();
    ///
    /// handle.cancel_with(Cause::msg("server shutting down"));
    /// assert_eq!(child.cause().unwrap().to_string(), "server shutting down");
    /// assert_eq!(child.err(), Some(ContextError::Canceled));
    /// ```
    pub fn cause(&self) -> Option<Cause> {
        match self.done()? {
            (
                ContextError::Canceled,
                Some(Record {
                    cause: Some(cause), ..
                }),
            ) => Some(cause),
            (ContextError::DeadlineExceeded, _) => Some(
                self.deadline_cause
                    .clone()
                    .unwrap_or_else(|| Cause::new(ContextError::DeadlineExceeded)),
            ),
            (error, _) => Some(Cause::new(error)),
        }
    }

    /// The deadline, if there is one: the earliest set on this context or
    /// any ancestor. Go's `ctx.Deadline()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir_cancel::Context;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let outer = Context::background().with_timeout(Duration::from_secs(1));
    /// let inner = outer.with_timeout(Duration::from_secs(10));
    /// assert_eq!(inner.deadline(), outer.deadline());
    /// assert_eq!(Context::background().deadline(), None);
    /// # }
    /// ```
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// How many derived contexts are registered in this context's cancel
    /// node. Exposed for leak tests; not part of the stable API.
    ///
    /// A child leaves when it is cancelled (its handle, this context's
    /// cancellation) or dropped with its handle. One past its deadline leaves
    /// when the expiry is first seen: a [`cancelled`](Context::cancelled)
    /// waiter woken by it, [`err`](Context::err), [`cause`](Context::cause),
    /// [`is_cancelled`](Context::is_cancelled), a late
    /// [`CancelHandle::cancel`], or a new child derived from it — or, at
    /// the latest, a sweep when this context registers new children (each
    /// time its table has doubled), so the table never holds more than
    /// twice its live children.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Context;
    ///
    /// let (parent, _handle) = Context::background().with_cancel();
    /// let child = parent.with_cancel();
    /// assert_eq!(parent.registered_children(), 1);
    /// drop(child);
    /// assert_eq!(parent.registered_children(), 0);
    ///
    /// let (_child, handle) = parent.with_cancel();
    /// handle.cancel(); // Go's TestCancelRemoves: gone at once
    /// assert_eq!(parent.registered_children(), 0);
    /// ```
    #[doc(hidden)]
    pub fn registered_children(&self) -> usize {
        self.node().map_or(0, |node| node.child_count())
    }

    pub(crate) fn node(&self) -> Option<&Arc<Node>> {
        self.cancel.as_deref().map(Owner::node)
    }

    /// Records an expired deadline in the cancel node, which unregisters it
    /// from its parent, if the node shares the deadline (see `Node::expires`).
    pub(crate) fn expire(&self) {
        if let (Some(node), Some(_)) = (self.node(), self.deadline) {
            node.expire_if_due();
        }
    }

    /// The error and the cancellation record, if done.
    fn done(&self) -> Option<(ContextError, Option<Record>)> {
        self.expire();
        let record = self.node().and_then(|node| node.record());
        if let Some(deadline) = self.deadline {
            // The clock is read after the record (see `Node::record`), so a
            // later cancellation can never claim to predate this reading.
            let expired = match &record {
                Some(record) => record.at >= deadline,
                None => Instant::now() >= deadline,
            };
            if expired {
                return Some((ContextError::DeadlineExceeded, record));
            }
        }
        record.map(|record| (ContextError::Canceled, Some(record)))
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("err", &self.err())
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}
