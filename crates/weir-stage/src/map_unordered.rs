//! [`map_unordered`]: an async transform with up to n futures in flight,
//! sending results as they finish.

use std::future::Future;

use futures::stream::FuturesUnordered;
use weir_core::chan::Receiver;

use crate::error::ConfigError;
use crate::limit::Limit;
use crate::map_concurrent::{measured, spawn_window};
use crate::scope::Scope;

/// Runs the async `f` on up to `n` items at once and sends each result as
/// soon as it is ready.
///
/// A slow item never holds up the others: whenever one of the `n` futures
/// finishes, the next item starts. The futures run concurrently on the
/// stage's one task, not in parallel across cores — right for I/O-bound
/// work; for CPU-bound work use [`worker_pool`](crate::worker_pool). See
/// [`map_concurrent`](crate::map_concurrent#choosing-ordered-unordered-or-a-worker-pool)
/// for how to choose. `f` is called in the stage's task as items arrive,
/// so it should only build the future. While the stage waits for room in a
/// full output channel, its futures are not polled.
///
/// Order: none — results come in the order their futures finish. Every
/// item's result comes out exactly once. When every receiver of the output
/// is dropped, the stage ends at once — even while a future is pending —
/// dropping the futures in flight and its input, which stops upstream in
/// turn.
///
/// For fallible jobs — retries with backoff, skipping or dead-lettering
/// the ones that fail — use [`try_map_unordered`](crate::try_map_unordered).
///
/// `n` is a number or a [`Limit`](crate::Limit): under
/// [`Limit::adaptive`](crate::Limit::adaptive) the stage moves `n` itself,
/// from each item's latency (and, under a [`Recovery`](crate::Recovery),
/// its overload errors), and starts a new item only while fewer than the
/// current `n` are in flight.
///
/// # Errors
///
/// [`ConfigError::Zero`] when `n` is 0, and the errors of
/// [`Limit::check`](crate::Limit::check) for an adaptive limit that does
/// not hold. A panic in `f` or in one of its
/// futures becomes [`Error::Panicked`](crate::Error::Panicked) naming this
/// stage.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use weir_cancel::Context;
/// use weir_stage::{self as stage, Scope};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let scope = Scope::new(&Context::background());
/// let delays = stage::generate(&scope, [30u64, 10, 20]);
/// let done = stage::map_unordered(&scope, delays, 3, |ms| async move {
///     tokio::time::sleep(Duration::from_millis(ms)).await;
///     ms
/// })
/// .unwrap();
/// let all = stage::collect::<_, Vec<_>>(&scope, done);
/// assert_eq!(all.await.unwrap(), [10, 20, 30]); // quickest first
/// # }
/// ```
pub fn map_unordered<T, U, F, Fut>(
    scope: &Scope,
    input: Receiver<T>,
    n: impl Into<Limit>,
    f: F,
) -> Result<Receiver<U>, ConfigError>
where
    T: Send + 'static,
    U: Send + 'static,
    F: FnMut(T) -> Fut + Send + 'static,
    Fut: Future<Output = U> + Send + 'static,
{
    spawn_window::<FuturesUnordered<_>, _, _, _, _, _, _>(
        scope,
        "map_unordered",
        input,
        n.into(),
        |cx| measured(cx, f),
    )
}
