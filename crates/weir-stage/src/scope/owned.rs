//! [`OwnedScope`]: the scope as its owner holds it — the one handle that
//! joins the scope, and that cancels it when dropped.

#[allow(clippy::wildcard_imports)]
use super::*;

/// The [`Scope`] as made by [`Scope::new`] or [`ScopeBuilder::build`]: it
/// dereferences to the `Scope` that stage functions take
/// (`stage::map(&scope, …)`), and adds what only the owner may do —
/// [`wait`](OwnedScope::wait) for every task, [`shutdown`](OwnedScope::shutdown)
/// gracefully, and cancel everything by being dropped.
///
/// A [`ScopeView`] is a `Scope` too, but never an `OwnedScope`: dropping a
/// view does nothing, and it has no `wait`. Which one cancels on drop is
/// settled by the type, not checked at run time.
///
/// # Examples
///
/// ```
/// use weir_cancel::Context;
/// use weir_stage::{self as stage, OwnedScope, Scope};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let scope: OwnedScope = Scope::new(&Context::background());
/// let nums = stage::generate(&scope, 0..3);
/// let total = stage::fold(&scope.named("sum"), nums, 0, |a, n| a + n);
/// scope.wait().await.unwrap();
/// assert_eq!(total.await, Ok(3));
/// # }
/// ```
pub struct OwnedScope {
    pub(super) scope: Scope,
}

impl OwnedScope {
    /// Graceful stop: the sources stop producing, every item already
    /// produced drains through the remaining stages (partial batches are
    /// flushed), then the scope is joined like [`wait`](OwnedScope::wait).
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
    /// Once every stage has ended it stops the stages' helper tasks still
    /// running ([`spawn_helper`](Scope::spawn_helper)), and returns only
    /// when they, and any [finisher](Scope::spawn_finisher), have ended.
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
                // The future owns the scope: if it is dropped part-way, the
                // scope is cancelled and its tasks aborted.
                let scope = self;
                loop {
                    let mut set = std::mem::take(&mut *scope.lock_tasks());
                    if set.is_empty() {
                        break;
                    }
                    // One wake-up, from the last task to end (a task spawned
                    // meanwhile is counted before it is in any set). Each
                    // task records its own outcome, panics included, before
                    // its count goes: the handles have nothing left to say,
                    // so they are let go rather than joined one by one.
                    let _ = scope.shared.live.wait().await; // guards record no panics
                    set.detach_all();
                }
                // Every stage has ended: so do the helpers still running.
                scope.shared.helpers_end.cancel();
                let _ = scope.shared.helpers.wait().await; // their panics are recorded
                scope.shared.outcome()
            }),
        }
    }
}

impl std::ops::Deref for OwnedScope {
    type Target = Scope;

    fn deref(&self) -> &Scope {
        &self.scope
    }
}

impl Drop for OwnedScope {
    fn drop(&mut self) {
        self.scope.shared.cancel.cancel();
        self.scope.lock_tasks().abort_all();
    }
}

impl fmt::Debug for OwnedScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.scope, f)
    }
}
