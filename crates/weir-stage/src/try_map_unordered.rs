//! [`try_map_unordered`]: [`map_unordered`](crate::map_unordered) for
//! fallible jobs, under a [`Recovery`].

use std::future::Future;

use weir_core::chan::Receiver;

use crate::error::{BoxError, ConfigError};
use crate::limit::Limit;
use crate::recovery::Recovery;
use crate::scope::Scope;
use crate::try_map_concurrent::spawn_try_window;

/// Runs the fallible async `f` on up to `n` items at once, sends each
/// result as soon as it is ready, and handles a failed job as `recovery`
/// says: retry it (with backoff and jitter, for the errors it calls
/// transient), then fail the stage, skip the job, or send it to a
/// dead-letter channel.
///
/// This is [`map_unordered`](crate::map_unordered)'s window with each job
/// run through the [`Recovery`] every async stage shares. A job keeps its
/// slot while it waits to retry; the other slots go on. `f` is called
/// again for a retry, so it is `Fn` and the job `Clone` (see
/// [`Recovery::retry`]). Retries, skipped and dead-lettered jobs are
/// counted in the stage's [`StageStats`](crate::StageStats).
///
/// # Cancel safety
///
/// When the scope is cancelled, the jobs in flight (and their backoff
/// waits) are dropped where they wait.
///
/// # Errors
///
/// [`ConfigError::Zero`] when `n` is 0 or `recovery` allows 0 attempts.
/// At run time, under [`Policy::fail`](crate::Policy::fail), a job that
/// failed for good is an [`Error::Failed`](crate::Error::Failed) naming the
/// stage (or [`Error::Panicked`](crate::Error::Panicked) if it panicked).
///
/// # Panics
///
/// Outside a tokio runtime, like [`tokio::spawn`].
///
/// # Examples
///
/// ```
/// use weir_cancel::Context;
/// use weir_stage::{self as stage, Error, Recovery, Scope};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let scope = Scope::new(&Context::background());
/// let lines = stage::generate(&scope, ["1", "2", "x"]);
/// let nums = stage::try_map_unordered(&scope.named("parse"), lines, 2, Recovery::new(), |s| async move {
///     s.parse::<u32>()
/// })
/// .unwrap();
/// let _sink = stage::for_each(&scope, nums, drop);
/// let err = scope.wait().await.unwrap_err(); // Policy::fail, the default
/// assert!(matches!(&err, Error::Failed { stage, .. } if &**stage == "parse"));
/// # }
/// ```
pub fn try_map_unordered<T, U, E, F, Fut>(
    scope: &Scope,
    input: Receiver<T>,
    n: impl Into<Limit>,
    recovery: Recovery<T>,
    f: F,
) -> Result<Receiver<U>, ConfigError>
where
    T: Send + 'static,
    U: Send + 'static,
    E: Into<BoxError>,
    F: Fn(T) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<U, E>> + Send + 'static,
{
    spawn_try_window(scope, false, input, n.into(), recovery, f)
}
