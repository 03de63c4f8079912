//! [`for_each_concurrent`]: a sink that runs an async closure on up to n
//! items at once.

use std::future::Future;

use futures::stream::FuturesUnordered;
use weir_core::chan::Receiver;

use crate::driver::SinkOutput;
use crate::error::ConfigError;
use crate::limit::Limit;
use crate::map_concurrent::{check, drive, measured};
use crate::scope::{Role, Scope};

/// Runs the async `f` on every item, up to `n` at once, as the last stage.
/// The returned [`SinkOutput`] resolves when the input is closed and every
/// future has finished.
///
/// Whenever one of the `n` futures finishes, the next item starts, so the
/// futures finish in no particular order. They run concurrently on the
/// stage's one task, not in parallel across cores — right for I/O-bound
/// work (writes, requests); for CPU-bound work use
/// [`worker_pool`](crate::worker_pool) then a sink. `f` is called in the
/// stage's task as items arrive, so it should only build the future.
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
/// stage, and the [`SinkOutput`] then resolves to an
/// [`Incomplete`](crate::Incomplete) error.
///
/// # Examples
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use std::sync::Arc;
/// use weir_cancel::Context;
/// use weir_stage::{self as stage, Scope};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let scope = Scope::new(&Context::background());
/// let total = Arc::new(AtomicU64::new(0));
/// let sum = total.clone();
/// let done = stage::for_each_concurrent(&scope, stage::generate(&scope, 1..=10u64), 4, move |n| {
///     let sum = sum.clone();
///     async move {
///         tokio::task::yield_now().await; // say, a write to a socket
///         sum.fetch_add(n, Ordering::Relaxed);
///     }
/// })
/// .unwrap();
/// done.await.unwrap();
/// assert_eq!(total.load(Ordering::Relaxed), 55);
/// # }
/// ```
pub fn for_each_concurrent<T, F, Fut>(
    scope: &Scope,
    input: Receiver<T>,
    n: impl Into<Limit>,
    f: F,
) -> Result<SinkOutput<()>, ConfigError>
where
    T: Send + 'static,
    F: FnMut(T) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let limit = check(scope, "for_each_concurrent", &n.into())?;
    let (done, output) = SinkOutput::channel();
    scope.spawn_stage("for_each_concurrent", Role::Stage, move |cx| {
        cx.set_limit(limit.clone());
        let f = measured(&cx, f);
        async move {
            drive(
                FuturesUnordered::new(),
                input,
                None::<weir_core::chan::Sender<()>>,
                limit,
                f,
            )
            .await?;
            let _ = done.send(());
            Ok(())
        }
    });
    Ok(output)
}
