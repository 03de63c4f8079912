//! Sources written once, for both layers: a channel ([`RecvSource`]), an
//! iterator ([`IterSource`]), a stream ([`StreamSource`]), and the
//! graceful [`Stop`] they watch.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::Stream;
use weir_cancel::{CancelledOwned, Context as Ctx};
use weir_core::chan::Receiver;

use super::source::{BatchSource, BoxSource, Ended};
use super::{Stage, BATCH};
use crate::error::Error;

/// Where a channel made later is handed to the source that reads it: the
/// `weir` builder builds its stages before it spawns anything, and fills
/// each slot with its channel as the pipeline starts.
pub type Slot<T> = Arc<Mutex<Option<Receiver<T>>>>;

/// A channel as a source, a batch of what is queued at a time: the one
/// channel source of both layers. The stage functions read their input
/// with it; the `weir` builder reads a channel fed from outside
/// (`from_receiver`, a NATS consumer) and each channel between its tasks
/// with it.
///
/// The channel is given now ([`new`](RecvSource::new)) or, for a channel
/// made when a pipeline starts, through a [`Slot`]
/// ([`later`](RecvSource::later)); a slot never filled reads as ended (its
/// producer never started). Options: count what arrives as a stage's
/// output ([`counted`](RecvSource::counted)), stop on a graceful
/// [`Stop`] ([`stop_on`](RecvSource::stop_on)), and keep it a source for
/// readers that share the channel ([`shared`](RecvSource::shared)). How
/// full the channel gets is the channel's own count
/// ([`Observer::peak`](weir_core::chan::Observer)), not the reader's.
///
/// # Examples
///
/// ```
/// use weir_core::chan;
/// use weir_stage::engine::{BatchSource, RecvSource, Slot, Stage};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let slot: Slot<u32> = Slot::default();
/// let stage = Stage::new("receiver", "in");
/// let mut src = RecvSource::later(slot.clone()).counted(stage.clone());
/// let (tx, rx) = chan::bounded(4);
/// *slot.lock().unwrap() = Some(rx); // the pipeline starts
/// tx.send_all(vec![1, 2]).await.unwrap();
/// drop(tx);
/// let mut out = Vec::new();
/// while std::future::poll_fn(|cx| src.poll_batch(cx, &mut out)).await.unwrap() {}
/// assert_eq!(out, [1, 2]);
/// assert_eq!(stage.counters().snapshot().items_out, 2);
/// # }
/// ```
pub struct RecvSource<T> {
    rx: Option<Receiver<T>>,
    /// Where the channel comes from, the first time it is read.
    later: Option<Slot<T>>,
    /// Counts what arrives as the output of the stage that feeds it.
    upstream: Option<Arc<Stage>>,
    stop: Option<Stop>,
    /// Other readers share the channel: it is never handed out bare.
    shared: bool,
}

impl<T> RecvSource<T> {
    /// Reads `rx`.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan;
    /// use weir_stage::engine::{BatchSource, RecvSource};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let (tx, rx) = chan::bounded(4);
    /// tx.send_all(vec![1, 2]).await.unwrap();
    /// drop(tx);
    /// let mut src = RecvSource::new(rx);
    /// let mut out = Vec::new();
    /// let more = std::future::poll_fn(|cx| src.poll_batch(cx, &mut out)).await;
    /// assert_eq!((more.unwrap(), out), (true, vec![1, 2]));
    /// # }
    /// ```
    pub fn new(rx: Receiver<T>) -> RecvSource<T> {
        RecvSource::with(Some(rx), None)
    }

    /// Reads the channel `slot` holds when it is first read (ended if it
    /// holds none).
    ///
    /// # Examples
    ///
    /// See [`RecvSource`].
    pub fn later(slot: Slot<T>) -> RecvSource<T> {
        RecvSource::with(None, Some(slot))
    }

    fn with(rx: Option<Receiver<T>>, later: Option<Slot<T>>) -> RecvSource<T> {
        RecvSource {
            rx,
            later,
            upstream: None,
            stop: None,
            shared: false,
        }
    }

    /// Counts what arrives as `upstream`'s output (for a stage whose own
    /// tasks don't count it: a channel fed from outside).
    ///
    /// # Examples
    ///
    /// See [`RecvSource`].
    #[must_use]
    pub fn counted(mut self, upstream: Arc<Stage>) -> Self {
        self.upstream = Some(upstream);
        self
    }

    /// Stops reading once `stop` comes (a channel fed from outside, whose
    /// producer may never close it): what is still queued stays in the
    /// channel, for any other receiver.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use weir_cancel::Context;
    /// use weir_core::chan;
    /// use weir_stage::engine::{BatchSource, RecvSource, Stop};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let (ctx, handle) = Context::background().with_cancel();
    /// let (_tx, rx) = chan::bounded::<u8>(4); // never closed
    /// let mut src = RecvSource::new(rx).stop_on(Stop::new(&ctx, Arc::default()));
    /// handle.cancel();
    /// let mut out = Vec::new();
    /// let more = std::future::poll_fn(|cx| src.poll_batch(cx, &mut out)).await;
    /// assert!(!more.unwrap());
    /// # }
    /// ```
    #[must_use]
    pub fn stop_on(mut self, stop: Stop) -> Self {
        self.stop = Some(stop);
        self
    }

    /// Other readers share the channel (a `fan_out` branch): it stays a
    /// source, so that a stage with tasks of its own reads it through a
    /// relay and each reader is counted on its own.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan;
    /// use weir_stage::engine::{BatchSource, RecvSource};
    ///
    /// let (_tx, rx) = chan::bounded::<u8>(1);
    /// assert!(Box::new(RecvSource::new(rx.clone())).into_receiver().is_ok());
    /// assert!(Box::new(RecvSource::new(rx).shared()).into_receiver().is_err());
    /// ```
    #[must_use]
    pub fn shared(mut self) -> Self {
        self.shared = true;
        self
    }

    /// The channel: `rx`, or, the first time, what the slot was filled
    /// with (taken out of it); `None` if it never was.
    /// Ends the source on a stop: the producer's next send fails once no
    /// receiver is left.
    fn stopped(&mut self) -> Poll<Result<bool, Error>> {
        (self.rx, self.stop) = (None, None);
        Poll::Ready(Ok(false))
    }

    fn channel(&mut self) -> Option<&mut Receiver<T>> {
        if self.rx.is_none() {
            self.rx = self
                .later
                .take()
                .and_then(|slot| slot.lock().unwrap_or_else(PoisonError::into_inner).take());
        }
        self.rx.as_mut()
    }
}

impl<T: Send + 'static> BatchSource<T> for RecvSource<T> {
    fn poll_batch(&mut self, cx: &mut Context<'_>, out: &mut Vec<T>) -> Poll<Result<bool, Error>> {
        // No channel: its producer never started (the run was refused).
        if self.channel().is_none() {
            return Poll::Ready(Ok(false));
        }
        // A stop ends the source before what its channel still holds. The
        // check is a load; the stop's waker is registered only when the
        // channel has nothing, right before this source waits.
        if self.stop.as_ref().is_some_and(Stop::is_stopped) {
            return self.stopped();
        }
        let Some(rx) = self.rx.as_mut() else {
            return Poll::Ready(Ok(false));
        };
        match rx.poll_recv_many(cx, out, BATCH) {
            Poll::Ready(n) => {
                if let Some(up) = &self.upstream {
                    up.counters().produced(n, Duration::ZERO);
                }
                Poll::Ready(Ok(n > 0))
            }
            Poll::Pending => {
                if self.stop.as_mut().is_some_and(|stop| stop.poll_stopped(cx)) {
                    return self.stopped();
                }
                Poll::Pending
            }
        }
    }

    fn into_receiver(mut self: Box<Self>) -> Result<Receiver<T>, BoxSource<T>> {
        if self.stop.is_some() || self.shared {
            return Err(self); // it must watch for shutdown, or be counted alone
        }
        self.channel();
        self.rx
            .take()
            .ok_or_else(|| Box::new(Ended) as BoxSource<T>)
    }
}

impl<T> std::fmt::Debug for RecvSource<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecvSource")
            .field("upstream", &self.upstream)
            .field("stopping", &self.stop.is_some())
            .field("shared", &self.shared)
            .finish_non_exhaustive()
    }
}

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
    /// The same signal, read without registering a waker.
    ctx: Ctx,
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
            ctx: signal.clone(),
            cut_short,
        }
    }

    /// `true` once the stop has come (and marks the run cut short), like
    /// [`poll_stopped`](Stop::poll_stopped) but without registering a
    /// waker: an atomic load, for a source about to return items anyway.
    pub(crate) fn is_stopped(&self) -> bool {
        let stopped = self.ctx.is_cancelled();
        if stopped {
            self.cut_short.store(true, Ordering::Release);
        }
        stopped
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
