//! Batch sources: what a fused segment pulls from.
//!
//! A segment is a chain of stages fused into one task. Its head is a
//! [`BatchSource`] (an iterator, or a channel from an upstream segment), and
//! each fused stage wraps the one before it. Items move a batch at a time:
//! one virtual call per stage per batch, then a tight loop over the batch.

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Instant;

use weir_cancel::Context as Ctx;
use weir_core::chan::Receiver;
use weir_stage::Error;

use super::graph::Label;
use super::metrics::Counters;

/// Items a segment moves per batch.
pub(crate) const BATCH: usize = 512;

/// An iterator source gives other tasks a turn after this many batches,
/// so a long CPU-bound source neither starves its worker thread nor delays
/// cancellation.
const YIELD_EVERY: u32 = 16;

/// A pull-based source of item batches.
pub(crate) trait BatchSource<T>: Send + 'static {
    /// Appends at least one item to `out` and returns `Ready(Ok(true))`, or
    /// returns `Ready(Ok(false))` at the end (leaving `out` alone).
    fn poll_batch(&mut self, cx: &mut Context<'_>, out: &mut Vec<T>) -> Poll<Result<bool, Error>>;

    /// The channel itself, when this source is nothing but a channel (no
    /// fused stage on it): then a stage with its own tasks can read it
    /// directly instead of through a relay task.
    fn into_receiver(self: Box<Self>) -> Result<Receiver<T>, BoxSource<T>>;
}

pub(crate) type BoxSource<T> = Box<dyn BatchSource<T>>;

/// A synchronous iterator, which stops early on graceful shutdown.
pub(crate) struct IterSource<I> {
    pub(crate) iter: I,
    pub(crate) label: Arc<Label>,
    pub(crate) counters: Arc<Counters>,
    pub(crate) stop: Ctx,
    /// The pipeline's context: tells a graceful stop from a cancel or a
    /// deadline when `stop` fires.
    pub(crate) ctx: Ctx,
    pub(crate) streak: u32,
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
        self.counters.set_running(true);
        if self.stop.is_cancelled() {
            // A deadline can pass before the timer that cancels the scope
            // fires: report it as what it is, not as a graceful end.
            return Poll::Ready(match self.ctx.err() {
                Some(e) => Err(Error::Cancelled(e)),
                None => Ok(false),
            });
        }
        let start = Instant::now();
        let before = out.len();
        let iter = &mut self.iter;
        std::panic::catch_unwind(AssertUnwindSafe(|| out.extend(iter.by_ref().take(BATCH))))
            .map_err(|payload| panicked(&self.label, &*payload))?;
        let n = out.len() - before;
        self.counters.produced(n, start.elapsed());
        Poll::Ready(Ok(n > 0))
    }

    fn into_receiver(self: Box<Self>) -> Result<Receiver<I::Item>, BoxSource<I::Item>> {
        Err(self)
    }
}

/// Where a channel made when the pipeline starts is handed to the stage
/// that reads it (stages are built before anything is spawned).
pub(crate) type Slot<T> = Arc<Mutex<Option<Receiver<T>>>>;

/// A channel fed by an upstream segment or stage.
pub(crate) struct RecvSource<T> {
    pub(crate) rx: Option<Receiver<T>>,
    pub(crate) slot: Option<Slot<T>>,
    /// Counts what arrives as the upstream stage's output.
    pub(crate) counters: Arc<Counters>,
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
        rx.poll_recv_many(cx, out, BATCH).map(|n| {
            self.counters.produced(n, std::time::Duration::ZERO);
            Ok(n > 0)
        })
    }

    fn into_receiver(self: Box<Self>) -> Result<Receiver<T>, BoxSource<T>> {
        let RecvSource { rx, slot, .. } = *self;
        rx.or_else(|| slot.and_then(|s| s.lock().unwrap_or_else(PoisonError::into_inner).take()))
            .ok_or_else(|| Box::new(Empty) as BoxSource<T>)
    }
}

/// A source with nothing in it (a channel whose producer never started).
pub(crate) struct Empty;

impl<T: Send + 'static> BatchSource<T> for Empty {
    fn poll_batch(&mut self, _: &mut Context<'_>, _: &mut Vec<T>) -> Poll<Result<bool, Error>> {
        Poll::Ready(Ok(false))
    }

    fn into_receiver(self: Box<Self>) -> Result<Receiver<T>, BoxSource<T>> {
        Err(self)
    }
}

/// One or more fused stages applied, a batch at a time, to `inner`.
pub(crate) struct Fused<T, F> {
    pub(crate) inner: BoxSource<T>,
    pub(crate) step: F,
    pub(crate) buf: Vec<T>,
    pub(crate) label: Arc<Label>,
    pub(crate) counters: Arc<Counters>,
}

impl<T, U, F> BatchSource<U> for Fused<T, F>
where
    T: Send + 'static,
    U: Send + 'static,
    F: FnMut(std::vec::Drain<'_, T>, &mut Vec<U>) -> Result<(), Error> + Send + 'static,
{
    fn poll_batch(&mut self, cx: &mut Context<'_>, out: &mut Vec<U>) -> Poll<Result<bool, Error>> {
        self.counters.set_running(true);
        loop {
            self.buf.clear();
            match self.inner.poll_batch(cx, &mut self.buf) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Ready(Ok(false)) => return Poll::Ready(Ok(false)),
                Poll::Ready(Ok(true)) => {}
            }
            let start = Instant::now();
            let (n_in, before) = (self.buf.len(), out.len());
            let (step, buf) = (&mut self.step, &mut self.buf);
            let stepped = std::panic::catch_unwind(AssertUnwindSafe(|| step(buf.drain(..), out)))
                .map_err(|payload| panicked(&self.label, &*payload))
                .and_then(|r| r);
            self.counters
                .batch(n_in, out.len() - before, start.elapsed());
            if let Err(e) = stepped {
                self.counters.error();
                return Poll::Ready(Err(e));
            }
            if out.len() > before {
                return Poll::Ready(Ok(true));
            }
            // Everything was filtered out: pull the next batch (the iterator
            // source yields now and then, so this loop can't hog the thread).
        }
    }

    fn into_receiver(self: Box<Self>) -> Result<Receiver<U>, BoxSource<U>> {
        Err(self)
    }
}

/// A fused stage runs as long as the task holding it: it is marked running
/// from its first poll until it is dropped.
impl<I> Drop for IterSource<I> {
    fn drop(&mut self) {
        self.counters.set_running(false);
    }
}

impl<T, F> Drop for Fused<T, F> {
    fn drop(&mut self) {
        self.counters.set_running(false);
    }
}

pub(crate) fn panicked(stage: &Label, payload: &(dyn std::any::Any + Send)) -> Error {
    Error::from_panic(stage.get(), payload)
}
