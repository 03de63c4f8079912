//! [`Policy`]: what an async stage does with an item that failed for good.

use std::fmt;

use weir_core::chan::Sender;

use crate::error::BoxError;

/// What an async stage — a [`WorkerPool`](crate::WorkerPool), or
/// [`try_then`](crate::try_then), [`try_map_concurrent`](crate::try_map_concurrent),
/// [`try_map_unordered`](crate::try_map_unordered) — does with a job that
/// failed for good: its future returned an error or panicked, on every
/// attempt its [`Recovery`](crate::Recovery) allows.
///
/// * [`fail`](Policy::fail) (the default): the failure is a stage error
///   naming the stage, handled by the scope's policy like
///   [`try_map`](crate::try_map)'s: it cancels the scope, or, under
///   [`collect_errors`](crate::ScopeBuilder::collect_errors), is recorded
///   while the stage goes on.
/// * [`skip`](Policy::skip): the job is dropped and only counted
///   ([`StageStats::skipped`](crate::StageStats::skipped)).
/// * [`dead_letter`](Policy::dead_letter): the job goes, with its error, to
///   a channel of your own, so nothing is lost
///   ([`StageStats::dead_lettered`](crate::StageStats::dead_lettered) counts it).
///
/// # Examples
///
/// ```
/// use weir_cancel::Context;
/// use weir_stage::{self as stage, Policy, Scope, WorkerPool};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let scope = Scope::new(&Context::background());
/// let jobs = stage::generate(&scope, 1..=6u32);
/// let (results, pool) = WorkerPool::new(2)
///     .on_error(Policy::skip())
///     .spawn(&scope, jobs, |n| async move {
///         if n % 3 == 0 { Err("multiple of three") } else { Ok(n) }
///     })
///     .unwrap();
/// let mut got = stage::collect::<_, Vec<_>>(&scope, results).await.unwrap();
/// got.sort();
/// assert_eq!(got, [1, 2, 4, 5]);
/// assert_eq!(pool.failed(), 2);
/// scope.wait().await.unwrap();
/// # }
/// ```
pub struct Policy<T> {
    pub(crate) kind: Kind<T>,
}

pub(crate) enum Kind<T> {
    Fail,
    Skip,
    DeadLetter(Sender<(T, BoxError)>, fn(&T) -> T),
}

impl<T> Policy<T> {
    /// A failed job is a stage error naming the pool (the default).
    ///
    /// A job that panicked is reported as
    /// [`Error::Panicked`](crate::Error::Panicked), one that returned an
    /// error as [`Error::Failed`](crate::Error::Failed).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Context;
    /// use weir_stage::{self as stage, Error, Policy, Scope, WorkerPool};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let scope = Scope::new(&Context::background());
    /// let jobs = stage::generate(&scope, ["1", "x"]);
    /// let (parsed, _pool) = WorkerPool::new(1)
    ///     .on_error(Policy::fail())
    ///     .spawn(&scope.named("parse"), jobs, |s| async move { s.parse::<u8>() })
    ///     .unwrap();
    /// let _sink = stage::for_each(&scope, parsed, drop);
    /// let err = scope.wait().await.unwrap_err();
    /// assert!(matches!(&err, Error::Failed { stage, .. } if &**stage == "parse"));
    /// # }
    /// ```
    pub fn fail() -> Policy<T> {
        Policy { kind: Kind::Fail }
    }

    /// A failed job is dropped; the stage's
    /// [`skipped`](crate::StageStats::skipped) statistic (and a pool's
    /// [`PoolHandle::failed`](crate::PoolHandle::failed)) counts it.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::Policy;
    ///
    /// let policy = Policy::<u32>::skip();
    /// assert_eq!(format!("{policy:?}"), "Policy::Skip");
    /// ```
    pub fn skip() -> Policy<T> {
        Policy { kind: Kind::Skip }
    }
}

impl<T: Clone> Policy<T> {
    /// A failed job is sent, with its error, to `dead_letters` — the job is
    /// handed back, never lost. A job that panicked comes with an error
    /// whose message is `job panicked: <panic message>`.
    ///
    /// The stage clones each job before it runs it (the job function takes
    /// it by value), hence `T: Clone`. Sending waits while the dead-letter
    /// channel is full. When every receiver of `dead_letters` is gone, a
    /// failed job falls back to [`fail`](Policy::fail).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Context;
    /// use weir_core::chan;
    /// use weir_stage::{self as stage, Policy, Scope, WorkerPool};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let scope = Scope::new(&Context::background());
    /// let scope_stats = scope.stats();
    /// let (dead_tx, dead_rx) = chan::unbounded();
    /// let jobs = stage::generate(&scope, ["1", "x", "3"]);
    /// let (parsed, _pool) = WorkerPool::new(2)
    ///     .on_error(Policy::dead_letter(dead_tx))
    ///     .spawn(&scope, jobs, |s: &str| async move { s.parse::<u8>() })
    ///     .unwrap();
    /// let ok = stage::collect::<_, Vec<_>>(&scope, parsed);
    /// scope.wait().await.unwrap();
    /// assert_eq!(ok.await.unwrap().len(), 2);
    /// let (job, err) = dead_rx.recv().await.unwrap();
    /// assert_eq!(job, "x");
    /// assert_eq!(err.to_string(), "invalid digit found in string");
    /// assert!(dead_rx.recv().await.is_none()); // closed when the pool ended
    /// let stats = scope_stats.stage("worker_pool#1").unwrap();
    /// assert_eq!(stats.dead_lettered, 1);
    /// # }
    /// ```
    pub fn dead_letter(dead_letters: Sender<(T, BoxError)>) -> Policy<T> {
        Policy {
            kind: Kind::DeadLetter(dead_letters, T::clone),
        }
    }
}

impl<T> Default for Policy<T> {
    /// [`Policy::fail`].
    fn default() -> Policy<T> {
        Policy::fail()
    }
}

impl<T> fmt::Debug for Policy<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Fail => f.write_str("Policy::Fail"),
            Kind::Skip => f.write_str("Policy::Skip"),
            Kind::DeadLetter(tx, _) => f.debug_tuple("Policy::DeadLetter").field(tx).finish(),
        }
    }
}
