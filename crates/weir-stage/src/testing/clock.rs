//! Helpers for deterministic async tests: a watchdog, single polls, and
//! runtimes for synchronous test harnesses (proptest).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

/// Awaits `fut` for at most `limit`, so that a hang fails the test instead
/// of stalling it.
///
/// On a paused clock (`#[tokio::test(start_paused = true)]`) a hang is
/// detected as soon as every task is idle: the clock jumps to the limit at
/// once, so the limit can be generous at no cost.
///
/// # Cancel safety
///
/// Dropping it drops `fut`.
///
/// # Errors
///
/// [`Hung`] if `fut` did not finish in time; `fut` is dropped.
///
/// # Panics
///
/// Outside a tokio runtime with the time driver enabled.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use weir_core::chan;
/// use weir_stage::testing::within;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let (tx, rx) = chan::bounded::<u8>(1);
/// // Nobody sends: the receive hangs, and the watchdog says so.
/// let err = within(Duration::from_secs(60), rx.recv()).await.unwrap_err();
/// assert_eq!(err.to_string(), "did not finish within 60s");
/// # drop(tx);
/// # }
/// ```
pub async fn within<F: Future>(limit: Duration, fut: F) -> Result<F::Output, Hung> {
    tokio::time::timeout(limit, fut)
        .await
        .map_err(|_| Hung { limit })
}

/// A future that did not finish within its limit: the error of [`within`].
///
/// # Examples
///
/// See [`within`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hung {
    limit: Duration,
}

impl Hung {
    /// The limit that was exceeded.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir_stage::testing::within;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let err = within(Duration::from_secs(1), std::future::pending::<()>()).await;
    /// assert_eq!(err.unwrap_err().limit(), Duration::from_secs(1));
    /// # }
    /// ```
    pub fn limit(&self) -> Duration {
        self.limit
    }
}

impl fmt::Display for Hung {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "did not finish within {:?}", self.limit)
    }
}

impl std::error::Error for Hung {}

/// Polls `fut` exactly once, with a waker that belongs to the calling task.
///
/// Use it to check that an operation is blocked (`Poll::Pending`) at a given
/// point, then carry on driving the same future. Pin the future first
/// (`std::pin::pin!`).
///
/// # Cancel safety
///
/// Cancel safe: `fut` stays with the caller.
///
/// # Examples
///
/// ```
/// use std::pin::pin;
/// use std::task::Poll;
/// use weir_core::chan;
/// use weir_stage::testing::poll_once;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let (tx, rx) = chan::bounded(1);
/// tx.send(1).await.unwrap();
/// let mut second = pin!(tx.send(2));
/// assert!(poll_once(&mut second).await.is_pending()); // full
/// assert_eq!(rx.recv().await, Some(1));
/// assert_eq!(poll_once(&mut second).await, Poll::Ready(Ok(())));
/// # }
/// ```
pub async fn poll_once<F: Future + ?Sized>(fut: &mut Pin<&mut F>) -> Poll<F::Output> {
    std::future::poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx))).await
}

/// Yields to the runtime until `cond` holds: for waiting on something
/// another task does (a stage reaching a state, a count going down)
/// without sleeping.
///
/// Gives up after ten seconds of real time (a paused clock does not
/// shorten it, and it does not advance one).
///
/// # Cancel safety
///
/// Cancel safe.
///
/// # Panics
///
/// With the message "never happened: {what}" if `cond` still does not
/// hold after ten seconds.
///
/// # Examples
///
/// ```
/// use weir_core::chan;
/// use weir_stage::testing::eventually;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let (tx, rx) = chan::bounded(4);
/// tokio::spawn(async move {
///     for n in 0..4 {
///         tx.send(n).await.unwrap();
///     }
/// });
/// eventually("the producer filled the channel", || rx.len() == 4).await;
/// # }
/// ```
#[track_caller]
pub fn eventually<'a>(
    what: &'a str,
    mut cond: impl FnMut() -> bool + 'a,
) -> impl Future<Output = ()> + 'a {
    let caller = std::panic::Location::caller();
    async move {
        let started = std::time::Instant::now();
        while !cond() {
            if started.elapsed() >= Duration::from_secs(10) {
                panic!("never happened: {what} (waited at {caller})");
            }
            tokio::task::yield_now().await;
        }
    }
}

/// Yields to the runtime `times` times: on a current-thread runtime, lets
/// every task that can make progress run until it waits.
///
/// Prefer waiting for a condition (a latch, a channel, [`within`]); this is
/// for checking that something did *not* happen once everything else has
/// had its turn.
///
/// # Cancel safety
///
/// Cancel safe.
///
/// # Examples
///
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::sync::Arc;
/// use weir_stage::testing::settle;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let ran = Arc::new(AtomicBool::new(false));
/// let flag = Arc::clone(&ran);
/// tokio::spawn(async move { flag.store(true, Ordering::SeqCst) });
/// settle(10).await;
/// assert!(ran.load(Ordering::SeqCst));
/// # }
/// ```
pub async fn settle(times: usize) {
    for _ in 0..times {
        tokio::task::yield_now().await;
    }
}

/// Runs `fut` to completion on a fresh current-thread runtime whose clock
/// starts paused: for synchronous harnesses such as proptest, where every
/// case needs its own runtime and time must not be real.
///
/// # Panics
///
/// If `fut` panics, or if called from inside a runtime.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use weir_stage::testing::block_on_paused;
///
/// let slept = block_on_paused(async {
///     let start = tokio::time::Instant::now();
///     tokio::time::sleep(Duration::from_secs(3600)).await; // instant
///     start.elapsed()
/// });
/// assert_eq!(slept, Duration::from_secs(3600));
/// ```
pub fn block_on_paused<F: Future>(fut: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime")
        .block_on(fut)
}

/// Runs `fut` to completion on a fresh multi-thread runtime with `workers`
/// threads (at least one): real parallelism, for races.
///
/// # Panics
///
/// If `fut` panics, if the runtime can't be built, or if called from inside
/// a runtime.
///
/// # Examples
///
/// ```
/// use weir_stage::testing::block_on_threads;
///
/// let answer = block_on_threads(2, async {
///     tokio::spawn(async { 6 * 7 }).await.unwrap()
/// });
/// assert_eq!(answer, 42);
/// ```
pub fn block_on_threads<F: Future>(workers: usize, fut: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers.max(1))
        .enable_all()
        .build()
        .expect("a multi-thread runtime")
        .block_on(fut)
}
