//! [`map_blocking`]: CPU work or blocking I/O on tokio's blocking pool.

use std::sync::Arc;

use futures::stream::FuturesOrdered;
use weir_core::chan::Receiver;

use crate::error::ConfigError;
use crate::limit::Limit;
use crate::map_concurrent::{measured, spawn_window};
use crate::scope::{Scope, StageCx};

/// Runs the blocking `f` on every item on tokio's blocking thread pool
/// ([`tokio::task::spawn_blocking`]), at most `n` at once, and sends the
/// results in input order: for CPU-heavy work (parsing, compression,
/// hashing) or blocking I/O (a synchronous database driver, `std::fs`)
/// that must not stall the async worker threads.
///
/// It is [`map_concurrent`](crate::map_concurrent)'s window (the same
/// code: up to `n` jobs in flight, results reordered to input order) over
/// `spawn_blocking` jobs. `f` is shared by the jobs, so it is `Fn + Sync`;
/// keep per-job state inside the call. The blocking pool has its own limit
/// (512 threads by default), shared by everything in the runtime; `n` is
/// this stage's share of it.
///
/// Order: output order is input order.
///
/// # Cancel safety
///
/// When the scope is cancelled or the output's receivers are dropped, the
/// stage stops at once and the queued items are dropped, but a call of `f`
/// that is already running on a blocking thread cannot be interrupted: it
/// runs to its end and its result is dropped. Keep each call short, or
/// check a flag inside it.
///
/// # Errors
///
/// [`ConfigError::Zero`] naming the stage when `n` is 0.
///
/// # Panics
///
/// Outside a tokio runtime, like [`tokio::spawn`]. A panic in `f` does not
/// hang the stage: it becomes [`Error::Panicked`](crate::Error::Panicked)
/// naming this stage, with `f`'s panic message.
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
/// let blobs = stage::generate(&scope, [vec![1u8; 1000], vec![2; 10]]);
/// // stands for a CPU-bound hash or a blocking read
/// let sums = stage::map_blocking(&scope, blobs, 4, |b: Vec<u8>| b.iter().map(|&x| u64::from(x)).sum::<u64>())
///     .unwrap();
/// let all = stage::collect::<_, Vec<_>>(&scope, sums);
/// assert_eq!(all.await.unwrap(), [1000, 20]);
/// # }
/// ```
pub fn map_blocking<T, U, F>(
    scope: &Scope,
    input: Receiver<T>,
    n: impl Into<Limit>,
    f: F,
) -> Result<Receiver<U>, ConfigError>
where
    T: Send + 'static,
    U: Send + 'static,
    F: Fn(T) -> U + Send + Sync + 'static,
{
    let f = Arc::new(f);
    let make = |cx: &StageCx| {
        measured(cx, move |item: T| {
            let f = f.clone();
            let job = tokio::task::spawn_blocking(move || f(item));
            async move {
                match job.await {
                    Ok(value) => value,
                    // `f` panicked on its thread: panic here with its
                    // payload, which the stage reports naming itself.
                    Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                    // Only a runtime shutting down cancels a blocking job.
                    Err(_) => panic!("the runtime shut down under a blocking job"),
                }
            }
        })
    };
    spawn_window::<FuturesOrdered<_>, _, _, _, _, _, _>(
        scope,
        "map_blocking",
        input,
        n.into(),
        make,
    )
}
