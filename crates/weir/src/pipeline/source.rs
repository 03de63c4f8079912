//! The builder's own batch sources (an iterator, a channel made when the
//! pipeline starts); everything else a segment pulls through is the
//! engine's ([`weir_stage::engine`]).

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Instant;

use futures_core::Stream;
use weir_cancel::{CancelledOwned, Context as Ctx};
use weir_core::chan::Receiver;
use weir_stage::engine::{BatchSource, BoxSource, Ended, Stage, BATCH};
use weir_stage::Error;

use super::graph::EdgeCell;

/// An iterator source gives other tasks a turn after this many batches,
/// so a long CPU-bound source neither starves its worker thread nor delays
/// cancellation.
const YIELD_EVERY: u32 = 16;

/// A synchronous iterator, which stops early on graceful shutdown.
pub(crate) struct IterSource<I> {
    pub(crate) iter: I,
    pub(crate) stage: Arc<Stage>,
    pub(crate) stop: Ctx,
    /// The pipeline's context: tells a graceful stop from a cancel or a
    /// deadline when `stop` fires.
    pub(crate) ctx: Ctx,
    pub(crate) streak: u32,
    /// Set when a graceful stop ends this source before its input ended.
    pub(crate) cut_short: Arc<AtomicBool>,
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
            .map_err(|payload| Error::from_panic(self.stage.name(), &*payload))?;
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

/// Where a channel made when the pipeline starts is handed to the stage
/// that reads it (stages are built before anything is spawned).
pub(crate) type Slot<T> = Arc<Mutex<Option<Receiver<T>>>>;

/// A channel fed from outside the pipeline (`from_receiver`, a NATS
/// consumer's deliveries), given now or through a [`Slot`] once the
/// pipeline starts: the source stage `upstream` counts what it reads.
pub(crate) struct RecvSource<T> {
    pub(crate) rx: Option<Receiver<T>>,
    pub(crate) slot: Option<Slot<T>>,
    /// The source stage reading it: counts what it reads.
    pub(crate) upstream: Arc<Stage>,
    /// Stops reading on graceful shutdown (a source fed from outside, whose
    /// producer may never close its end).
    pub(crate) stop: Option<Stop>,
}

/// A graceful stop, as a source fed from outside watches it.
pub(crate) struct Stop {
    pub(crate) signal: CancelledOwned,
    /// Set when the stop ends the source before its input ended.
    pub(crate) cut_short: Arc<AtomicBool>,
}

impl Stop {
    /// `true` once the stop has come (and marks the run cut short).
    fn poll_stopped(&mut self, cx: &mut Context<'_>) -> bool {
        let stopped = std::pin::Pin::new(&mut self.signal).poll(cx).is_ready();
        if stopped {
            self.cut_short.store(true, Ordering::Release);
        }
        stopped
    }
}

impl<T: Send + 'static> BatchSource<T> for RecvSource<T> {
    fn poll_batch(&mut self, cx: &mut Context<'_>, out: &mut Vec<T>) -> Poll<Result<bool, Error>> {
        if self.rx.is_none() {
            self.rx = self
                .slot
                .take()
                .and_then(|slot| slot.lock().unwrap_or_else(PoisonError::into_inner).take());
        }
        // No channel: its producer never started (the run was refused).
        let Some(rx) = &mut self.rx else {
            return Poll::Ready(Ok(false));
        };
        if let Some(stop) = &mut self.stop {
            if stop.poll_stopped(cx) {
                // Stop reading: what is still queued stays in the channel
                // (for any other receiver), and the producer's next send
                // fails once no receiver is left.
                (self.rx, self.slot, self.stop) = (None, None, None);
                return Poll::Ready(Ok(false));
            }
        }
        // What is queued before taking: the channel's fill, seen from here
        // (a stage with tasks of its own does not sample its output).
        let queued = rx.len();
        rx.poll_recv_many(cx, out, BATCH).map(|n| {
            let counters = self.upstream.counters();
            counters.produced(n, std::time::Duration::ZERO);
            counters.queued(queued.max(n)); // what it took was queued
            Ok(n > 0)
        })
    }

    fn into_receiver(self: Box<Self>) -> Result<Receiver<T>, BoxSource<T>> {
        if self.stop.is_some() {
            return Err(self); // it must watch for shutdown itself
        }
        let RecvSource { rx, slot, .. } = *self;
        rx.or_else(|| slot.and_then(|s| s.lock().unwrap_or_else(PoisonError::into_inner).take()))
            .ok_or_else(|| Box::new(Ended) as BoxSource<T>)
    }
}

/// A channel made inside the pipeline (a stage's output), read by the
/// flow after it: given now or through a [`Slot`] once the pipeline
/// starts. It counts nothing (what crossed is read off the channel) but
/// samples how full the channel is, for its edge's peak.
pub(crate) struct ChannelSource<T> {
    pub(crate) rx: Option<Receiver<T>>,
    pub(crate) slot: Option<Slot<T>>,
    pub(crate) edge: Arc<EdgeCell>,
    /// The channel is shared with other readers (a `fan_out` branch): a
    /// stage with tasks of its own gets it through a relay, so that each
    /// reader is an edge of its own.
    pub(crate) shared: bool,
}

impl<T: Send + 'static> BatchSource<T> for ChannelSource<T> {
    fn poll_batch(&mut self, cx: &mut Context<'_>, out: &mut Vec<T>) -> Poll<Result<bool, Error>> {
        if self.rx.is_none() {
            self.rx = self
                .slot
                .take()
                .and_then(|slot| slot.lock().unwrap_or_else(PoisonError::into_inner).take());
        }
        // No channel: its producer never started (the run was refused).
        let Some(rx) = &mut self.rx else {
            return Poll::Ready(Ok(false));
        };
        let queued = rx.len();
        rx.poll_recv_many(cx, out, BATCH).map(|n| {
            self.edge.queued(queued.max(n)); // what it took was queued
            Ok(n > 0)
        })
    }

    fn into_receiver(self: Box<Self>) -> Result<Receiver<T>, BoxSource<T>> {
        if self.shared {
            return Err(self);
        }
        let ChannelSource { rx, slot, .. } = *self;
        rx.or_else(|| slot.and_then(|s| s.lock().unwrap_or_else(PoisonError::into_inner).take()))
            .ok_or_else(|| Box::new(Ended) as BoxSource<T>)
    }
}

/// A [`Stream`] fed from outside the pipeline, read a batch of ready items
/// at a time, which stops on graceful shutdown.
pub(crate) struct StreamSource<S> {
    pub(crate) stream: Option<std::pin::Pin<Box<S>>>,
    pub(crate) stage: Arc<Stage>,
    pub(crate) stop: Stop,
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
        polled.map_err(|payload| Error::from_panic(self.stage.name(), &*payload))?;
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
