//! Sources written once, for both layers: an iterator ([`IterSource`]),
//! a stream ([`StreamSource`]), and the graceful [`Stop`] they watch.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use futures::Stream;
use weir_cancel::{CancelledOwned, Context as Ctx};
use weir_core::chan::Receiver;

use super::source::{BatchSource, BoxSource};
use super::{Stage, BATCH};
use crate::error::Error;

/// An iterator source gives other tasks a turn after this many batches,
/// so a long CPU-bound source neither starves its worker thread nor delays
/// cancellation.
const YIELD_EVERY: u32 = 16;

/// A synchronous iterator as a source: a batch of up to [`BATCH`] items
/// at a time, giving other tasks a turn now and then; it ends early, as a
/// graceful stop, once `stop` is cancelled (and says so in `cut_short`),
/// or with [`Error::Cancelled`] if `ctx` ended. A panic in the iterator
/// is an [`Error::Panicked`] naming the stage. `generate` and a
/// pipeline's `source` both run it.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use weir_cancel::Context;
/// use weir_core::chan;
/// use weir_stage::engine::{self, IterSource, Stage};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let ctx = Context::background();
/// let stage = Stage::new("source", "numbers");
/// let src = IterSource::new(1..=3, stage.clone(), &ctx, &ctx, Arc::default());
/// let (tx, rx) = chan::bounded(8);
/// engine::run_into(Box::new(src), tx, &stage).await.unwrap();
/// assert_eq!(rx.recv().await, Some(1));
/// assert_eq!(stage.counters().snapshot().items_out, 3);
/// # }
/// ```
pub struct IterSource<I> {
    iter: I,
    stage: Arc<Stage>,
    stop: Ctx,
    /// The pipeline's context: tells a graceful stop from a cancel or a
    /// deadline when `stop` fires.
    ctx: Ctx,
    streak: u32,
    /// Set when a graceful stop ends this source before its input ended.
    cut_short: Arc<AtomicBool>,
}

impl<I: Iterator> IterSource<I> {
    /// `items`, for `stage`, ending gracefully when `stop` is cancelled
    /// (setting `cut_short`) unless `ctx` ended too.
    ///
    /// # Examples
    ///
    /// See [`IterSource`].
    pub fn new<T>(
        items: T,
        stage: Arc<Stage>,
        stop: &Ctx,
        ctx: &Ctx,
        cut_short: Arc<AtomicBool>,
    ) -> IterSource<I>
    where
        T: IntoIterator<IntoIter = I>,
    {
        IterSource {
            iter: items.into_iter(),
            stage,
            stop: stop.clone(),
            ctx: ctx.clone(),
            streak: 0,
            cut_short,
        }
    }
}

impl<I> BatchSource<I::Item> for IterSource<I>
where
    I: Iterator + Send + 'static,
    I::Item: Send + 'static,
{
    fn poll_batch(
        &mut self,
        cx: &mut Context<'_>,
        out: &mut Vec<I::Item>,
    ) -> Poll<Result<bool, Error>> {
        if self.streak >= YIELD_EVERY {
            self.streak = 0;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        self.streak += 1;
        let counters = self.stage.counters();
        counters.set_running(true);
        if self.stop.is_cancelled() {
            // A deadline can pass before the timer that cancels the scope
            // fires: report it as what it is, not as a graceful end.
            return Poll::Ready(match self.ctx.err() {
                Some(e) => Err(Error::Cancelled(e)),
                None => {
                    self.cut_short.store(true, Ordering::Release);
                    Ok(false)
                }
            });
        }
        let start = Instant::now();
        let before = out.len();
        let iter = &mut self.iter;
        std::panic::catch_unwind(AssertUnwindSafe(|| out.extend(iter.by_ref().take(BATCH))))
            .map_err(|payload| {
                counters.error();
                Error::from_panic(self.stage.name(), &*payload)
            })?;
        let n = out.len() - before;
        counters.produced(n, start.elapsed());
        Poll::Ready(Ok(n > 0))
    }

    fn into_receiver(self: Box<Self>) -> Result<Receiver<I::Item>, BoxSource<I::Item>> {
        Err(self)
    }
}

/// An iterator source runs as long as the task holding it.
impl<I> Drop for IterSource<I> {
    fn drop(&mut self) {
        self.stage.counters().set_running(false);
    }
}

/// A graceful stop, as a source fed from outside watches it: the signal,
/// and a flag set when the stop ended the source before its input did.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use weir_cancel::Context;
/// use weir_stage::engine::Stop;
///
/// let (ctx, handle) = Context::background().with_cancel();
/// let mut stop = Stop::new(&ctx, Arc::default());
/// handle.cancel();
/// let waker = futures::task::noop_waker();
/// assert!(stop.poll_stopped(&mut std::task::Context::from_waker(&waker)));
/// ```
pub struct Stop {
    signal: CancelledOwned,
    /// Set when the stop ends the source before its input ended.
    cut_short: Arc<AtomicBool>,
}

impl Stop {
    /// Watches `signal`; `cut_short` is set when it ends a source early.
    ///
    /// # Examples
    ///
    /// See [`Stop`].
    pub fn new(signal: &Ctx, cut_short: Arc<AtomicBool>) -> Stop {
        Stop {
            signal: signal.cancelled_owned(),
            cut_short,
        }
    }

    /// `true` once the stop has come (and marks the run cut short);
    /// otherwise `cx` is woken when it comes.
    ///
    /// # Examples
    ///
    /// See [`Stop`].
    pub fn poll_stopped(&mut self, cx: &mut Context<'_>) -> bool {
        let stopped = std::pin::Pin::new(&mut self.signal).poll(cx).is_ready();
        if stopped {
            self.cut_short.store(true, Ordering::Release);
        }
        stopped
    }
}

/// A [`Stream`] as a source, read a batch of the items it has ready at a
/// time; it stops on a graceful [`Stop`] (the stream is dropped, which is
/// how a stream is told to stop). A panic in the stream is an
/// [`Error::Panicked`] naming the stage. `from_stream` and a pipeline's
/// `from_stream` both run it.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use weir_cancel::Context;
/// use weir_core::chan;
/// use weir_stage::engine::{self, Stage, Stop, StreamSource};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let stage = Stage::new("stream", "words");
/// let stop = Stop::new(&Context::background(), Arc::default());
/// let src = StreamSource::new(futures::stream::iter(["a", "b"]), stage.clone(), stop);
/// let (tx, rx) = chan::bounded(8);
/// engine::run_into(Box::new(src), tx, &stage).await.unwrap();
/// assert_eq!((rx.recv().await, rx.recv().await), (Some("a"), Some("b")));
/// # }
/// ```
pub struct StreamSource<S> {
    stream: Option<std::pin::Pin<Box<S>>>,
    stage: Arc<Stage>,
    stop: Stop,
}

impl<S> StreamSource<S> {
    /// Reads `stream` for `stage`, until it ends or `stop` comes.
    ///
    /// # Examples
    ///
    /// See [`StreamSource`].
    pub fn new(stream: S, stage: Arc<Stage>, stop: Stop) -> StreamSource<S> {
        StreamSource {
            stream: Some(Box::pin(stream)),
            stage,
            stop,
        }
    }
}

impl<S> BatchSource<S::Item> for StreamSource<S>
where
    S: Stream + Send + 'static,
    S::Item: Send + 'static,
{
    fn poll_batch(
        &mut self,
        cx: &mut Context<'_>,
        out: &mut Vec<S::Item>,
    ) -> Poll<Result<bool, Error>> {
        let Some(stream) = &mut self.stream else {
            return Poll::Ready(Ok(false));
        };
        if self.stop.poll_stopped(cx) {
            self.stream = None; // dropping the stream is how it is stopped
            return Poll::Ready(Ok(false));
        }
        let start = Instant::now();
        let before = out.len();
        let mut ended = false;
        let polled = std::panic::catch_unwind(AssertUnwindSafe(|| {
            while out.len() - before < BATCH {
                match stream.as_mut().poll_next(cx) {
                    Poll::Ready(Some(item)) => out.push(item),
                    Poll::Ready(None) => {
                        ended = true;
                        break;
                    }
                    Poll::Pending => break,
                }
            }
        }));
        polled.map_err(|payload| {
            self.stage.counters().error();
            Error::from_panic(self.stage.name(), &*payload)
        })?;
        let n = out.len() - before;
        self.stage.counters().produced(n, start.elapsed());
        if ended {
            self.stream = None;
        }
        match (n, ended) {
            (0, false) => Poll::Pending,
            (0, true) => Poll::Ready(Ok(false)),
            _ => Poll::Ready(Ok(true)),
        }
    }

    fn into_receiver(self: Box<Self>) -> Result<Receiver<S::Item>, BoxSource<S::Item>> {
        Err(self)
    }
}

impl<I> std::fmt::Debug for IterSource<I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IterSource")
            .field("stage", &self.stage)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stop")
            .field("cut_short", &self.cut_short.load(Ordering::Acquire))
            .finish_non_exhaustive()
    }
}

impl<S> std::fmt::Debug for StreamSource<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamSource")
            .field("stage", &self.stage)
            .field("ended", &self.stream.is_none())
            .finish_non_exhaustive()
    }
}
