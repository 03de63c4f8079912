//! [`try_map_concurrent`]: [`map_concurrent`](crate::map_concurrent) for
//! fallible jobs, under a [`Recovery`].

use std::future::Future;

use futures::stream::{FuturesOrdered, FuturesUnordered};
use weir_core::chan::Receiver;

use crate::error::{BoxError, ConfigError};
use crate::limit::Limit;
use crate::map_concurrent::spawn_window;
use crate::recovery::{self, Attempts, Recovery};
use crate::scope::{Scope, StageCx};

/// Runs the fallible async `f` on up to `n` items at once, keeps the input
/// order, and handles a failed job as `recovery` says: retry it (with
/// backoff and jitter, for the errors it calls transient), then fail the
/// stage, skip the job, or send it to a dead-letter channel.
///
/// This is [`map_concurrent`](crate::map_concurrent)'s reorder window with
/// each job run through the [`Recovery`] every async stage shares. A job
/// keeps its slot in the window while it waits to retry, so a job that
/// retries holds back the results behind it (and, with `n` retrying jobs,
/// the stage waits for them). Skipped and dead-lettered jobs leave no gap
/// in the output: the others keep their relative order. `f` is called
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
/// use std::time::Duration;
/// use weir_cancel::Context;
/// use weir_core::chan;
/// use weir_stage::{self as stage, Backoff, Policy, Recovery, Scope};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let scope = Scope::new(&Context::background());
/// let (dead_tx, dead_rx) = chan::unbounded();
/// let recovery = Recovery::new()
///     .retry(2, Backoff::fixed(Duration::from_millis(10)))
///     .on_error(Policy::dead_letter(dead_tx));
/// let ids = stage::generate(&scope, 1..=6u64);
/// let fetched = stage::try_map_concurrent(&scope, ids, 3, recovery, |id| async move {
///     tokio::time::sleep(Duration::from_millis(60 / id)).await;
///     if id == 4 { Err("not found") } else { Ok(id * 100) }
/// })
/// .unwrap();
/// let all = stage::collect::<_, Vec<_>>(&scope, fetched);
/// assert_eq!(all.await.unwrap(), [100, 200, 300, 500, 600]); // in order, 4 missing
/// assert_eq!(dead_rx.recv().await.unwrap().0, 4);
/// # }
/// ```
pub fn try_map_concurrent<T, U, E, F, Fut>(
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
    spawn_try_window(scope, true, input, n.into(), recovery, f)
}

/// Spawns `try_map_concurrent` (`ordered`) or
/// [`try_map_unordered`](crate::try_map_unordered): a window stage (see
/// [`spawn_window`]) whose jobs run under `recovery`.
pub(crate) fn spawn_try_window<T, U, E, F, Fut>(
    scope: &Scope,
    ordered: bool,
    input: Receiver<T>,
    n: Limit,
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
    let kind = if ordered {
        "map_concurrent"
    } else {
        "map_unordered"
    };
    recovery::check(&recovery, scope, kind)?;
    let make = move |cx: &StageCx| {
        let attempts = Attempts::new(recovery, f, cx.clone());
        move |job| attempts.clone().call(job)
    };
    if ordered {
        spawn_window::<FuturesOrdered<_>, _, _, _, _, _, _>(scope, kind, input, n, make)
    } else {
        spawn_window::<FuturesUnordered<_>, _, _, _, _, _, _>(scope, kind, input, n, make)
    }
}
