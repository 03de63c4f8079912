//! Go's `context` for tokio: cancellation trees, deadlines, timeouts,
//! causes, `AfterFunc` and typed values.
//!
//! A [`Context`] is handed down to the code doing the work. That code stops
//! when the context is *done*: cancelled through a [`CancelHandle`] (its own
//! or an ancestor's), or past its deadline. Contexts form a tree, and the
//! rules are Go's:
//!
//! - cancelling a context cancels every context derived from it, and never
//!   its parent or siblings;
//! - a child's deadline is never later than its parent's;
//! - a derived context that is cancelled (by its handle, its parent or its
//!   deadline) or dropped leaves nothing behind in its parent, so a server's
//!   long-lived root can spawn millions of request contexts.
//!
//! # Go ↔ weir
//!
//! | Go | weir |
//! |---|---|
//! | `context.Background()`, `context.TODO()` | [`Context::background()`] |
//! | passing `ctx` to a callee | `&ctx`, or [`ctx.child()`](Context::child) / `ctx.clone()` |
//! | `ctx, cancel := context.WithCancel(ctx)` | `let (ctx, cancel) = ctx.`[`with_cancel()`](Context::with_cancel) |
//! | `cancel()` | [`cancel.cancel()`](CancelHandle::cancel) |
//! | `defer cancel()` | `let _guard = cancel.`[`drop_guard()`](CancelHandle::drop_guard) |
//! | `context.WithTimeout(ctx, d)` | [`ctx.with_timeout(d)`](Context::with_timeout), [`ctx.with_timeout_cancel(d)`](Context::with_timeout_cancel) |
//! | `context.WithDeadline(ctx, t)` | [`ctx.with_deadline(t)`](Context::with_deadline), [`ctx.with_deadline_cancel(t)`](Context::with_deadline_cancel) |
//! | `context.WithTimeoutCause(ctx, d, err)` | [`ctx.with_timeout_cause(d, err)`](Context::with_timeout_cause) |
//! | `context.WithDeadlineCause(ctx, t, err)` | [`ctx.with_deadline_cause(t, err)`](Context::with_deadline_cause) |
//! | `context.WithCancelCause(ctx)`, `cancel(err)` | [`ctx.with_cancel()`](Context::with_cancel), [`cancel.cancel_with(err)`](CancelHandle::cancel_with) |
//! | `context.Cause(ctx)` | [`ctx.cause()`](Context::cause) → `Option<`[`Cause`]`>` |
//! | `context.AfterFunc(ctx, f)`, `stop()` | [`ctx.after_cancel(f)`](Context::after_cancel), [`AfterCancel::stop`] |
//! | `context.WithoutCancel(ctx)` | [`ctx.without_cancel()`](Context::without_cancel) |
//! | `context.WithValue(ctx, key, v)`, `ctx.Value(key)` | [`ctx.with_value(v)`](Context::with_value), [`ctx.value::<T>()`](Context::value) (the type is the key) |
//! | `<-ctx.Done()` | [`ctx.cancelled().await`](Context::cancelled), [`ctx.cancelled_owned()`](Context::cancelled_owned) |
//! | `ctx.Err()` | [`ctx.err()`](Context::err) → `Option<`[`ContextError`]`>`; [`ctx.is_cancelled()`](Context::is_cancelled) |
//! | `context.Canceled`, `context.DeadlineExceeded` | [`ContextError::Canceled`], [`ContextError::DeadlineExceeded`] |
//! | `ctx.Deadline()` | [`ctx.deadline()`](Context::deadline) |
//! | `select { case r := <-resultCh: … case <-ctx.Done(): return ctx.Err() }` | [`ctx.run(future).await`](Context::run) → `Result<T, ContextError>` |
//!
//! Two differences from Go are deliberate. Dropping a [`CancelHandle`] leaks
//! nothing, so forgetting to cancel is harmless (Go's `vet` warns about it).
//! And `run` drops the losing future instead of leaving a goroutine blocked
//! on a channel send.
//!
//! # Costs
//!
//! Cloning a context, [`child`](Context::child), [`with_timeout`](Context::with_timeout),
//! [`with_deadline`](Context::with_deadline) and [`with_value`](Context::with_value)
//! allocate at most one small node and register nothing. [`with_cancel`](Context::with_cancel)
//! registers one entry in the parent, removed as soon as the child is
//! cancelled (Go's `removeChild`) or dropped.
//! Deadlines spawn no task and no timer: [`err`](Context::err) compares with
//! the clock, and only an awaited [`cancelled`](Context::cancelled) sleeps
//! (its timer is allocated at its first wait on a deadline still ahead, so
//! the future of a context without one stays small).
//! So a child made with [`with_timeout_cancel`](Context::with_timeout_cancel)
//! leaves its parent when its expiry is first seen — by a waiter the
//! deadline wakes, [`err`](Context::err), [`is_cancelled`](Context::is_cancelled)
//! or a late [`cancel`](CancelHandle::cancel) — or when the parent sweeps
//! expired children while registering new ones, rather than at the
//! deadline itself.
//! Waiters are kept in tokio's intrusive `Notify` list, so cancelling a
//! context awaited by 100,000 tasks wakes them in linear time, in one pass
//! once the whole subtree is cancelled. On a multi-thread runtime that pass
//! is made by one worker with no other worker woken in between — the
//! canceller's own worker when it runs in a task, one worker through a
//! relay task when it does not — so that waking n tasks does not cost a
//! chain of n − 1 thread wake-ups (see [`CancelHandle::cancel`]).
//!
//! # Example
//!
//! Go's timeout pattern: `select` on a result and `ctx.Done()`, under a
//! `context.WithTimeout`. In Go:
//!
//! ```go
//! func processWithTimeout(ctx context.Context) (uint64, error) {
//!     ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
//!     defer cancel()
//!     resultCh := make(chan uint64, 1)
//!     go func() { resultCh <- expensiveOperation() }()
//!     select {
//!     case result := <-resultCh:
//!         return result, nil
//!     case <-ctx.Done():
//!         return 0, ctx.Err()
//!     }
//! }
//! ```
//!
//! With weir-cancel:
//!
//! ```
//! use std::time::Duration;
//! use weir_cancel::{Context, ContextError};
//!
//! async fn expensive_operation() -> u64 { 42 }
//!
//! async fn process_with_timeout(ctx: &Context) -> Result<u64, ContextError> {
//!     let (ctx, cancel) = ctx.with_timeout_cancel(Duration::from_secs(5));
//!     let _guard = cancel.drop_guard(); // defer cancel()
//!     ctx.run(expensive_operation()).await // select { result | ctx.Done() }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! assert_eq!(process_with_timeout(&Context::background()).await, Ok(42));
//! # }
//! ```

#![doc(test(attr(deny(warnings))))]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod after;
mod context;
mod error;
mod future;
mod handle;
mod loom;
mod tree;
mod value;
mod value_node;
mod wakeups;

pub use after::AfterCancel;
pub use context::Context;
pub use error::{Cause, ContextError};
pub use future::{Cancelled, CancelledOwned, Run};
pub use handle::{CancelGuard, CancelHandle};
