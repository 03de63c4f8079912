//! Go's timer channels: [`after`], [`tick`] and [`never`].
//!
//! Each is an ordinary [`Receiver`], so it mixes with other channels in
//! `tokio::select!` and drains like any other. A small task owns the
//! [`Sender`](super::Sender) and ends as soon as every receiver is gone
//! ([`Sender::closed`](super::Sender::closed)), so a dropped timer channel
//! leaves nothing running. Time is tokio's, so a paused test clock drives
//! them too.

use std::future::{poll_fn, Future};
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use tokio::time::{interval_at, sleep_until, Instant, MissedTickBehavior};

use super::{bounded, rendezvous, Receiver, Sender, TrySendError};

/// Runs `future` until it completes, or until `tx` can no longer send
/// (every receiver dropped, or the channel closed): then `None`.
async fn unless_closed<T, F: Future>(tx: &Sender<T>, future: F) -> Option<F::Output> {
    let mut future = pin!(future);
    let mut closed = pin!(tx.closed());
    poll_fn(|cx| {
        if closed.as_mut().poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        future.as_mut().poll(cx).map(Some)
    })
    .await
}

/// Why [`tick`] refused to make a channel.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use weir_core::chan::{self, TickError};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let err = chan::tick(Duration::ZERO).unwrap_err();
/// assert_eq!(err, TickError::ZeroPeriod);
/// assert_eq!(err.to_string(), "tick period is zero");
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum TickError {
    /// The period was [`Duration::ZERO`]: a ticker that fires continuously
    /// would only spin. Go's `time.Tick` returns `nil` and `time.NewTicker`
    /// panics here.
    #[error("tick period is zero")]
    ZeroPeriod,
}

/// A channel that receives the time once, `delay` from now, and then
/// closes: Go's `time.After(d)`.
///
/// The value is [`tokio::time::Instant::now`] when the timer fired. It is
/// buffered (capacity 1), so it waits for a late reader; after it the
/// channel is closed and [`recv`](Receiver::recv) returns `None`.
/// `Duration::ZERO` fires at once; a delay too large to represent (such as
/// `Duration::MAX`) never fires and never panics.
///
/// The timer task ends when it has sent, or as soon as every receiver is
/// dropped: an abandoned timeout costs nothing until its delay.
///
/// # Panics
///
/// Panics if called outside a tokio runtime with the time driver enabled
/// (the timer task is spawned here, like [`tokio::spawn`]).
///
/// # Examples
///
/// A receive with a timeout, Go's `select { case v := <-ch: … case <-time.After(d): … }`:
///
/// ```
/// use std::time::Duration;
/// use weir_core::chan;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// let (_tx, jobs) = chan::bounded::<u32>(4);
/// let timeout = chan::after(Duration::from_secs(1));
/// let got = tokio::select! {
///     job = jobs.recv() => job,
///     _ = timeout.recv() => None, // nothing within a second
/// };
/// assert_eq!(got, None);
/// assert_eq!(timeout.recv().await, None, "fired once, then closed");
/// # }
/// ```
#[track_caller]
pub fn after(delay: Duration) -> Receiver<Instant> {
    let (tx, rx) = bounded(1);
    // Made here, so a runtime without timers panics in the caller. (tokio's
    // own `sleep` would turn an unrepresentable delay into ~30 years.)
    let timer = Instant::now().checked_add(delay).map(sleep_until);
    tokio::spawn(async move {
        let Some(timer) = timer else {
            tx.closed().await;
            return;
        };
        if unless_closed(&tx, timer).await.is_some() {
            // Capacity 1 and nobody else sends: only `Closed` can fail, and
            // then nobody is listening.
            let _ = tx.try_send(Instant::now());
        }
        // Dropping `tx` closes the channel behind the value.
    });
    rx
}

/// A channel that receives the time every `period`: Go's `time.Tick(d)`.
///
/// The first value comes `period` from now. Like Go's ticker channel it
/// buffers one value: a reader slower than `period` finds the tick that was
/// waiting (which may be up to `period` old) and the ticks it missed are
/// dropped, not queued, so a slow reader is never flooded. The schedule
/// stays on the original grid (`start + k·period`); a tick that finds the
/// buffer full is skipped.
///
/// The ticker task runs until every receiver is dropped (or the channel is
/// closed), then ends: unlike Go's `time.Tick` before Go 1.23, a ticker
/// nobody reads no longer costs anything. A period too large to represent
/// (such as `Duration::MAX`) never ticks and never panics.
///
/// # Errors
///
/// [`TickError::ZeroPeriod`] if `period` is [`Duration::ZERO`]; no task is
/// spawned then.
///
/// # Panics
///
/// Panics if called outside a tokio runtime with the time driver enabled
/// (the ticker task is spawned here, like [`tokio::spawn`]).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tokio::time::Instant;
/// use weir_core::chan;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// let start = Instant::now();
/// let ticks = chan::tick(Duration::from_secs(1)).unwrap();
/// for k in 1..=3 {
///     let at = ticks.recv().await.unwrap();
///     assert_eq!(at, start + Duration::from_secs(k));
/// }
/// drop(ticks); // the ticker task ends
/// # }
/// ```
#[track_caller]
pub fn tick(period: Duration) -> Result<Receiver<Instant>, TickError> {
    if period.is_zero() {
        return Err(TickError::ZeroPeriod);
    }
    let (tx, rx) = bounded(1);
    // The schedule must stay representable (`interval` adds `period` to the
    // current tick); a period that large would never tick anyway.
    let now = Instant::now();
    let start = period
        .checked_mul(2)
        .and_then(|twice| now.checked_add(twice))
        .map(|_| now + period);
    // Made here, so a runtime without timers panics in the caller.
    let ticks = start.map(|start| {
        let mut ticks = interval_at(start, period);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
        ticks
    });
    tokio::spawn(async move {
        let Some(mut ticks) = ticks else {
            tx.closed().await;
            return;
        };
        while unless_closed(&tx, ticks.tick()).await.is_some() {
            match tx.try_send(Instant::now()) {
                // A full buffer: the reader is behind, drop this tick.
                Ok(()) | Err(TrySendError::Full(_)) => {}
                Err(TrySendError::Closed(_)) => return,
            }
        }
    });
    Ok(rx)
}

/// A channel that never receives anything and never closes: Go's `nil`
/// channel in a `select`.
///
/// [`recv`](Receiver::recv) on it waits for ever; use it to switch off a
/// `select!` branch, for instance an optional timeout. Its sender is held by
/// a task that does nothing but wait until every receiver is dropped (or the
/// channel is closed from the receiving side), then ends.
///
/// # Panics
///
/// Panics if called outside a tokio runtime (the task holding the sender is
/// spawned here, like [`tokio::spawn`]).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use weir_core::chan::{self, Receiver};
/// use tokio::time::Instant;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// fn deadline(limit: Option<Duration>) -> Receiver<Instant> {
///     match limit {
///         Some(limit) => chan::after(limit),
///         None => chan::never(),
///     }
/// }
///
/// let (tx, rx) = chan::bounded(1);
/// tx.send("job").await.unwrap();
/// let timeout = deadline(None);
/// tokio::select! {
///     job = rx.recv() => assert_eq!(job, Some("job")),
///     _ = timeout.recv() => unreachable!("never fires"),
/// }
/// # }
/// ```
#[track_caller]
pub fn never<T: Send + 'static>() -> Receiver<T> {
    let (tx, rx) = rendezvous::<T>();
    tokio::spawn(async move { tx.closed().await });
    rx
}
