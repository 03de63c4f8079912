//! [`Buffered`]: an overflow buffer fused into a chain — it passes items
//! straight through while the task's consumer keeps up, and queues (under
//! its [`Overflow`] policy) only while that consumer waits.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use weir_core::chan::Receiver;

use super::source::{BatchSource, BoxSource, Ended};
use super::{Stage, BATCH};
use crate::error::Error;
use crate::overflow::{Overflow, Overflowed};

/// At most this many batches are pulled in one [`BatchSource::poll_fill`]
/// before the task yields (an always-ready source under a dropping policy
/// would otherwise keep the thread).
const FILL_BATCHES: usize = 16;

/// What a [`Buffered`] source does when a stage with tasks of its own
/// wants to read it as a channel ([`BatchSource::into_receiver`]): turns
/// its input into a channel of `capacity` items filled under the policy
/// (the split form), or gives the input back.
pub type Split<T> = Box<dyn FnOnce(BoxSource<T>) -> Result<Receiver<T>, BoxSource<T>> + Send>;

/// How full a [`Buffered`] queue is, read while it runs: what the graph
/// shows on the buffer's output edge (its length, capacity and peak),
/// like a channel's.
///
/// # Examples
///
/// ```
/// use weir_core::chan;
/// use weir_stage::engine::{Buffered, RecvSource, Stage};
/// use weir_stage::Overflow;
///
/// let (_tx, rx) = chan::bounded::<u8>(1);
/// let buf = Buffered::new(Box::new(RecvSource::new(rx)), Stage::new("buffer", "b"), 4, Overflow::Fail);
/// let depth = buf.depth();
/// assert_eq!((depth.len(), depth.peak(), depth.capacity()), (0, 0, 4));
/// ```
#[derive(Debug)]
pub struct Depth {
    len: AtomicUsize,
    peak: AtomicUsize,
    capacity: usize,
}

impl Depth {
    /// Items queued now.
    ///
    /// # Examples
    ///
    /// See [`Depth`].
    pub fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    /// Whether nothing is queued.
    ///
    /// # Examples
    ///
    /// See [`Depth`].
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The most items queued at once so far.
    ///
    /// # Examples
    ///
    /// See [`Depth`].
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }

    /// The buffer's capacity.
    ///
    /// # Examples
    ///
    /// See [`Depth`].
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    fn set(&self, len: usize) {
        self.len.store(len, Ordering::Relaxed);
        self.peak.fetch_max(len, Ordering::Relaxed);
    }
}

/// An overflow buffer of `capacity` items fused into a chain: "fused until
/// it would overflow", as a buffer inside an Akka fused island.
///
/// While the task's consumer takes each batch without waiting (fused
/// steps, a sink step, a channel send with room), a batch pulled from
/// `inner` goes straight on: no queue, no lock, no wake. When that
/// consumer waits (its channel is full, its sink is not ready), it calls
/// [`poll_fill`](BatchSource::poll_fill) while it waits, and this source
/// keeps pulling `inner` into a ring of `capacity` items that the task
/// owns, under `overflow`:
///
/// - [`Backpressure`](Overflow::Backpressure): pulling stops while the
///   ring is full (it may hold up to one batch more);
/// - [`DropNewest`](Overflow::DropNewest) / [`DropOldest`](Overflow::DropOldest):
///   pulling never stops; what does not fit is dropped and counted as the
///   stage's `dropped`;
/// - [`Fail`](Overflow::Fail): an item that finds the ring full is an
///   [`Error::Failed`] naming the stage, with an [`Overflowed`] source.
///
/// The next batches handed on come from the ring, in order, until it is
/// empty. When `inner` ends, what the ring holds is still handed on (a
/// graceful shutdown ends the sources, so it flushes the ring); when the
/// task is dropped (cancelled) the ring is dropped with it.
///
/// The upstream and the downstream of the buffer share the task: a
/// CPU-heavy step after the buffer runs between two pulls of the
/// upstream, as any fused stage does; a consumer that never waits (a
/// sink step) is never left behind, so such a buffer never fills.
///
/// Counting: items taken in and handed on are counted on `stage`, items
/// dropped as its `dropped`.
///
/// # Examples
///
/// ```
/// use weir_core::chan;
/// use weir_stage::engine::{BatchSource, Buffered, RecvSource, Stage};
/// use weir_stage::Overflow;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let (tx, rx) = chan::bounded(8);
/// tx.send_all((1..=6).collect()).await.unwrap();
/// drop(tx);
/// let stage = Stage::new("buffer", "latest");
/// let mut buf = Buffered::new(Box::new(RecvSource::new(rx)), stage.clone(), 2, Overflow::DropOldest);
/// // The consumer waits: the buffer pulls its input and keeps the newest 2.
/// std::future::poll_fn(|cx| std::task::Poll::Ready(buf.poll_fill(cx))).await.unwrap();
/// let mut out = Vec::new();
/// while std::future::poll_fn(|cx| buf.poll_batch(cx, &mut out)).await.unwrap() {}
/// assert_eq!(out, [5, 6]);
/// assert_eq!(stage.counters().snapshot().dropped, 4);
/// # }
/// ```
pub struct Buffered<T> {
    inner: BoxSource<T>,
    ring: VecDeque<T>,
    /// One pulled batch, before the policy admits it to the ring.
    scratch: Vec<T>,
    capacity: usize,
    overflow: Overflow,
    stage: Arc<Stage>,
    /// `inner` ended while filling: hand on the ring, then end.
    ended: bool,
    split: Option<Split<T>>,
    depth: Arc<Depth>,
    /// Pulled by a consumer (so marked running, until dropped).
    ran: bool,
}

impl<T> Buffered<T> {
    /// A buffer of `capacity` items (at least 1) under `overflow` over
    /// `inner`, counted on `stage`.
    ///
    /// # Examples
    ///
    /// See [`Buffered`].
    pub fn new(
        inner: BoxSource<T>,
        stage: Arc<Stage>,
        capacity: usize,
        overflow: Overflow,
    ) -> Self {
        let capacity = capacity.max(1);
        Buffered {
            depth: Arc::new(Depth {
                len: AtomicUsize::new(0),
                peak: AtomicUsize::new(0),
                capacity,
            }),
            inner,
            ring: VecDeque::new(), // grows to what the consumer's waits need
            scratch: Vec::new(),
            capacity,
            overflow,
            stage,
            ended: false,
            split: None,
            ran: false,
        }
    }

    /// Where a stage with tasks of its own reads this buffer as a channel
    /// ([`BatchSource::into_receiver`]), `split` makes that channel from
    /// the buffer's input (the buffer then *is* that channel, filled by a
    /// task of its own: [`buffer_source`](crate::buffer_source)); without
    /// it, such a stage reads the fused buffer through a relay.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan;
    /// use weir_stage::engine::{BatchSource, Buffered, RecvSource, Stage};
    /// use weir_stage::Overflow;
    ///
    /// let (_tx, rx) = chan::bounded::<u8>(1);
    /// let buf = Buffered::new(Box::new(RecvSource::new(rx)), Stage::new("buffer", "b"), 4, Overflow::Fail)
    ///     .split_with(Box::new(|src| Err(src))); // no channel after all
    /// assert!(Box::new(buf).into_receiver().is_err());
    /// ```
    #[must_use]
    pub fn split_with(mut self, split: Split<T>) -> Self {
        self.split = Some(split);
        self
    }

    /// How full the queue is, to read while the buffer runs.
    ///
    /// # Examples
    ///
    /// See [`Depth`].
    pub fn depth(&self) -> Arc<Depth> {
        self.depth.clone()
    }
}

impl<T: Send + 'static> Buffered<T> {
    /// Admits the batch in `scratch` to the ring under the policy: `Err`
    /// when [`Overflow::Fail`] finds no room.
    fn admit(&mut self) -> Result<(), Error> {
        let n = self.scratch.len();
        let counters = self.stage.counters();
        counters.batch(n, 0, Duration::ZERO);
        let room = self.capacity.saturating_sub(self.ring.len());
        let dropped = match self.overflow {
            Overflow::Backpressure => {
                self.ring.extend(self.scratch.drain(..));
                0
            }
            Overflow::Fail if n > room => {
                counters.error();
                self.scratch.clear();
                return Err(Error::Failed {
                    stage: self.stage.name(),
                    source: Box::new(Overflowed {
                        stage: self.stage.name(),
                        capacity: self.capacity,
                    }),
                });
            }
            Overflow::DropNewest | Overflow::Fail => {
                let kept = n.min(room);
                self.ring.extend(self.scratch.drain(..kept));
                self.scratch.clear();
                n - kept
            }
            Overflow::DropOldest => {
                self.ring.extend(self.scratch.drain(..));
                let excess = self.ring.len().saturating_sub(self.capacity);
                self.ring.drain(..excess);
                excess
            }
        };
        if dropped > 0 {
            counters.dropped(dropped as u64);
        }
        self.depth.set(self.ring.len());
        Ok(())
    }
}

impl<T: Send + 'static> BatchSource<T> for Buffered<T> {
    fn poll_batch(&mut self, cx: &mut Context<'_>, out: &mut Vec<T>) -> Poll<Result<bool, Error>> {
        let counters = self.stage.counters();
        counters.set_running(true);
        self.ran = true;
        if !self.ring.is_empty() {
            // What queued while the consumer waited goes first, in order.
            let k = self.ring.len().min(BATCH);
            out.extend(self.ring.drain(..k));
            counters.batch(0, k, Duration::ZERO);
            self.depth.set(self.ring.len());
            return Poll::Ready(Ok(true));
        }
        if self.ended {
            return Poll::Ready(Ok(false));
        }
        // The consumer keeps up: straight through.
        let before = out.len();
        let polled = self.inner.poll_batch(cx, out);
        let n = out.len() - before;
        if n > 0 {
            counters.batch(n, n, Duration::ZERO);
        }
        polled
    }

    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Result<(), Error> {
        for _ in 0..FILL_BATCHES {
            if self.ended {
                return Ok(());
            }
            if self.overflow == Overflow::Backpressure && self.ring.len() >= self.capacity {
                // Full: the upstream waits (a buffer further up keeps
                // filling).
                return self.inner.poll_fill(cx);
            }
            self.scratch.clear();
            match self.inner.poll_batch(cx, &mut self.scratch) {
                Poll::Pending => return Ok(()),
                Poll::Ready(Ok(false)) => {
                    self.ended = true;
                    return Ok(());
                }
                Poll::Ready(Err(e)) => return Err(e),
                Poll::Ready(Ok(true)) => self.admit()?,
            }
        }
        // Still more ready: let the task's other work run, and come back.
        cx.waker().wake_by_ref();
        Ok(())
    }

    fn into_receiver(mut self: Box<Self>) -> Result<Receiver<T>, BoxSource<T>> {
        // A buffer that took nothing in yet can become a channel.
        match self.split.take() {
            Some(split) if self.ring.is_empty() && !self.ended && !self.ran => {
                let inner = std::mem::replace(&mut self.inner, Box::new(Ended));
                match split(inner) {
                    Ok(rx) => Ok(rx),
                    Err(inner) => {
                        self.inner = inner;
                        Err(self)
                    }
                }
            }
            _ => Err(self),
        }
    }
}

/// A fused buffer runs as long as the task holding it.
impl<T> Drop for Buffered<T> {
    fn drop(&mut self) {
        // A buffer that became a channel is run by its own task.
        if self.ran {
            self.stage.counters().set_running(false);
        }
    }
}

impl<T> std::fmt::Debug for Buffered<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Buffered")
            .field("stage", &self.stage)
            .field("capacity", &self.capacity)
            .field("overflow", &self.overflow)
            .field("queued", &self.ring.len())
            .finish_non_exhaustive()
    }
}
