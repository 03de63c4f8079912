//! What a [`WorkerPool`](super::WorkerPool) does with a job that failed:
//! [`Policy`], and the [`Backoff`] between retries.

use std::fmt;
use std::time::Duration;

use weir_core::chan::Sender;

use crate::error::BoxError;

/// What a [`WorkerPool`](crate::WorkerPool) does with a job that failed for
/// good — its future returned an error or panicked, on every attempt the
/// pool's [`retry`](crate::WorkerPool::retry) setting allows.
///
/// * [`fail`](Policy::fail) (the default): the failure is a stage error
///   naming the pool, handled by the scope's policy like
///   [`try_map`](crate::try_map)'s: it cancels the scope, or, under
///   [`collect_errors`](crate::ScopeBuilder::collect_errors), is recorded
///   while the pool goes on.
/// * [`skip`](Policy::skip): the job is dropped and only counted
///   ([`PoolHandle::failed`](crate::PoolHandle::failed)).
/// * [`dead_letter`](Policy::dead_letter): the job goes, with its error, to
///   a channel of your own, so nothing is lost.
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
    pub(super) kind: Kind<T>,
}

pub(super) enum Kind<T> {
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

    /// A failed job is dropped silently; [`PoolHandle::failed`](crate::PoolHandle::failed)
    /// counts it.
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
    /// The pool clones each job before it runs it (the job function takes
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

/// How long a [`WorkerPool`](crate::WorkerPool) waits before retrying a
/// failed job: a fixed delay, or one that grows exponentially up to a cap.
///
/// The delays are exact (no jitter) and measured with `tokio::time`, so
/// tests can drive them with a paused clock.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use weir_stage::Backoff;
///
/// let ms = Duration::from_millis;
/// let backoff = Backoff::exponential(ms(10)).max(ms(50));
/// assert_eq!(backoff.delay(1), ms(10)); // before the first retry
/// assert_eq!(backoff.delay(2), ms(20));
/// assert_eq!(backoff.delay(3), ms(40));
/// assert_eq!(backoff.delay(4), ms(50)); // capped
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Backoff {
    initial: Duration,
    factor: u32,
    max: Duration,
}

impl Backoff {
    /// The same `delay` before every retry.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir_stage::Backoff;
    ///
    /// let backoff = Backoff::fixed(Duration::from_secs(1));
    /// assert_eq!(backoff.delay(5), Duration::from_secs(1));
    /// ```
    pub const fn fixed(delay: Duration) -> Backoff {
        Backoff {
            initial: delay,
            factor: 1,
            max: delay,
        }
    }

    /// `initial` before the first retry, then twice as long before each
    /// next one, without a cap unless [`max`](Backoff::max) sets one.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir_stage::Backoff;
    ///
    /// let backoff = Backoff::exponential(Duration::from_millis(100));
    /// assert_eq!(backoff.delay(4), Duration::from_millis(800));
    /// ```
    pub const fn exponential(initial: Duration) -> Backoff {
        Backoff {
            initial,
            factor: 2,
            max: Duration::MAX,
        }
    }

    /// No delay between retries.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir_stage::Backoff;
    ///
    /// assert_eq!(Backoff::none().delay(3), Duration::ZERO);
    /// ```
    pub const fn none() -> Backoff {
        Backoff::fixed(Duration::ZERO)
    }

    /// Caps every delay at `max`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir_stage::Backoff;
    ///
    /// let backoff = Backoff::exponential(Duration::from_secs(1)).max(Duration::from_secs(5));
    /// assert_eq!(backoff.delay(10), Duration::from_secs(5));
    /// ```
    pub const fn max(mut self, max: Duration) -> Backoff {
        self.max = max;
        self
    }

    /// The delay before retry number `retry` (`1` is the first retry,
    /// after the first failed attempt).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir_stage::Backoff;
    ///
    /// let backoff = Backoff::exponential(Duration::from_millis(1));
    /// assert_eq!(backoff.delay(1), Duration::from_millis(1));
    /// assert_eq!(backoff.delay(11), Duration::from_millis(1024));
    /// ```
    pub fn delay(&self, retry: u32) -> Duration {
        let grown = self
            .factor
            .checked_pow(retry.saturating_sub(1))
            .and_then(|factor| self.initial.checked_mul(factor))
            .unwrap_or(self.max);
        grown.min(self.max)
    }
}
