//! [`try_then`]: [`then`](crate::then) for fallible jobs, under a
//! [`Recovery`].

use std::future::Future;

use weir_core::chan::Receiver;

use crate::error::{BoxError, ConfigError};
use crate::recovery::{self, Attempts, Recovery};
use crate::scope::Scope;
use crate::then::spawn_then;

/// Awaits the fallible async `f` on every item, one at a time, in order,
/// and handles a failed job as `recovery` says: retry it (with backoff and
/// jitter, for the errors it calls transient), then fail the stage, skip
/// the job, or send it to a dead-letter channel. What came out keeps the
/// input order; skipped and dead-lettered jobs leave no gap-filler.
///
/// This is [`then`](crate::then)'s loop, with each job run through the
/// [`Recovery`] every async stage shares ([`WorkerPool`](crate::WorkerPool)
/// included). `f` is called again for a retry, so it is `Fn` and the job
/// `Clone` (see [`Recovery::retry`]). Retries, skipped and dead-lettered
/// jobs are counted in the stage's [`StageStats`](crate::StageStats).
///
/// # Cancel safety
///
/// When the scope is cancelled, the job in flight (or its backoff wait)
/// is dropped where it waits. [`OwnedScope::shutdown`](crate::OwnedScope::shutdown)
/// lets it finish, retries included.
///
/// # Errors
///
/// [`ConfigError::Zero`] when `recovery` allows 0 attempts. At run time,
/// under [`Policy::fail`](crate::Policy::fail), a job that failed for good
/// is an [`Error::Failed`](crate::Error::Failed) naming the stage (or
/// [`Error::Panicked`](crate::Error::Panicked) if it panicked).
///
/// # Panics
///
/// Outside a tokio runtime, like [`tokio::spawn`].
///
/// # Examples
///
/// ```
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use std::time::Duration;
/// use weir_cancel::Context;
/// use weir_stage::{self as stage, Backoff, Policy, Recovery, Scope};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// static CALLS: AtomicU32 = AtomicU32::new(0);
/// let scope = Scope::new(&Context::background());
/// let recovery = Recovery::new()
///     .retry(3, Backoff::fixed(Duration::from_secs(1)))
///     .on_error(Policy::skip());
/// let ids = stage::generate(&scope, [1u32, 2, 3]);
/// let fetched = stage::try_then(&scope, ids, recovery, |id| async move {
///     // id 2 fails twice, then works; id 3 never works
///     let flaky = id == 2 && CALLS.fetch_add(1, Ordering::SeqCst) < 2;
///     if flaky || id == 3 { Err("unavailable") } else { Ok(format!("user-{id}")) }
/// })
/// .unwrap();
/// let all = stage::collect::<_, Vec<_>>(&scope, fetched);
/// assert_eq!(all.await.unwrap(), ["user-1", "user-2"]); // 3 was skipped
/// # }
/// ```
pub fn try_then<T, U, E, F, Fut>(
    scope: &Scope,
    input: Receiver<T>,
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
    recovery::check(&recovery, scope, "then")?;
    Ok(spawn_then(scope, input, move |cx| {
        let attempts = Attempts::new(recovery, f, cx.clone());
        move |job| attempts.clone().call(job)
    }))
}
