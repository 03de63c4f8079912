//! The builder's channel sources: a channel fed from outside, and a
//! channel made when the pipeline starts. The iterator and stream sources
//! are the engine's ([`weir_stage::engine::IterSource`],
//! [`weir_stage::engine::StreamSource`]), as `weir_stage`'s `generate`
//! and `from_stream` run them.

use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use weir_core::chan::Receiver;
use weir_stage::engine::{BatchSource, BoxSource, Ended, Stage, BATCH};
pub(crate) use weir_stage::engine::{IterSource, Stop, StreamSource};
use weir_stage::Error;

/// Where a channel made when the pipeline starts is handed to the stage
/// that reads it (stages are built before anything is spawned).
pub(crate) type Slot<T> = Arc<Mutex<Option<Receiver<T>>>>;

/// The channel a source reads: `rx`, or, the first time, what `slot`
/// was filled with (taken out of it); `None` if it never was.
fn channel<'a, T>(
    rx: &'a mut Option<Receiver<T>>,
    slot: &mut Option<Slot<T>>,
) -> Option<&'a mut Receiver<T>> {
    if rx.is_none() {
        *rx = slot
            .take()
            .and_then(|slot| slot.lock().unwrap_or_else(PoisonError::into_inner).take());
    }
    rx.as_mut()
}

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

impl<T: Send + 'static> BatchSource<T> for RecvSource<T> {
    fn poll_batch(&mut self, cx: &mut Context<'_>, out: &mut Vec<T>) -> Poll<Result<bool, Error>> {
        // No channel: its producer never started (the run was refused).
        let Some(rx) = channel(&mut self.rx, &mut self.slot) else {
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
        rx.poll_recv_many(cx, out, BATCH).map(|n| {
            let counters = self.upstream.counters();
            counters.produced(n, std::time::Duration::ZERO);
            Ok(n > 0)
        })
    }

    fn into_receiver(self: Box<Self>) -> Result<Receiver<T>, BoxSource<T>> {
        if self.stop.is_some() {
            return Err(self); // it must watch for shutdown itself
        }
        let RecvSource { rx, slot, .. } = *self;
        let (mut rx, mut slot) = (rx, slot);
        channel(&mut rx, &mut slot);
        rx.ok_or_else(|| Box::new(Ended) as BoxSource<T>)
    }
}

/// A channel made inside the pipeline (a stage's output), read by the
/// flow after it: given now or through a [`Slot`] once the pipeline
/// starts. It counts nothing: the channel counts what crosses it (sent,
/// received, peak) for its edge.
pub(crate) struct ChannelSource<T> {
    pub(crate) rx: Option<Receiver<T>>,
    pub(crate) slot: Option<Slot<T>>,
    /// The channel is shared with other readers (a `fan_out` branch): a
    /// stage with tasks of its own gets it through a relay, so that each
    /// reader is an edge of its own.
    pub(crate) shared: bool,
}

impl<T: Send + 'static> BatchSource<T> for ChannelSource<T> {
    fn poll_batch(&mut self, cx: &mut Context<'_>, out: &mut Vec<T>) -> Poll<Result<bool, Error>> {
        // No channel: its producer never started (the run was refused).
        let Some(rx) = channel(&mut self.rx, &mut self.slot) else {
            return Poll::Ready(Ok(false));
        };
        rx.poll_recv_many(cx, out, BATCH).map(|n| Ok(n > 0))
    }

    fn into_receiver(self: Box<Self>) -> Result<Receiver<T>, BoxSource<T>> {
        if self.shared {
            return Err(self);
        }
        let ChannelSource { rx, slot, .. } = *self;
        let (mut rx, mut slot) = (rx, slot);
        channel(&mut rx, &mut slot);
        rx.ok_or_else(|| Box::new(Ended) as BoxSource<T>)
    }
}
