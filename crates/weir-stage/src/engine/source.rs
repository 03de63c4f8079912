//! Batch sources: what the engine pulls from. A chain of fused steps is a
//! [`Fused`] wrapped around a [`RecvSource`](super::RecvSource) (or any
//! other source).

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use weir_core::chan::Receiver;

use super::step::{Faults, Step};
use super::Stage;
use crate::error::{BoxError, Error};

/// A pull-based source of item batches.
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
pub trait BatchSource<T>: Send + 'static {
    /// Appends at least one item to `out` and returns `Ready(Ok(true))`, or
    /// returns `Ready(Ok(false))` at the end (leaving `out` alone).
    ///
    /// # Errors
    ///
    /// A stage of the chain failed or panicked; the error names it.
    fn poll_batch(&mut self, cx: &mut Context<'_>, out: &mut Vec<T>) -> Poll<Result<bool, Error>>;

    /// Called by the task's consumer while it waits for something other
    /// than this source (its output channel is full, its sink is not
    /// ready): a [`Buffered`](super::Buffered) in the chain pulls what its
    /// upstream has ready into its ring under its overflow policy,
    /// registering `cx` where that upstream waits. Chains hand the call on
    /// to their input; every other source does nothing (the default).
    ///
    /// # Errors
    ///
    /// A stage upstream failed while pulled, or a buffer under
    /// [`Overflow::Fail`](crate::Overflow::Fail) overflowed; the error
    /// names it, and ends the pipeline.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan;
    /// use weir_stage::engine::{BatchSource, RecvSource};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let (_tx, rx) = chan::bounded::<u8>(4);
    /// let mut src = RecvSource::new(rx);
    /// // Nothing to fill in a bare channel.
    /// std::future::poll_fn(|cx| std::task::Poll::Ready(src.poll_fill(cx))).await.unwrap();
    /// # }
    /// ```
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Result<(), Error> {
        let _ = cx;
        Ok(())
    }

    /// The channel itself, when this source is nothing but a channel (no
    /// fused step on it): then a stage with its own tasks can read it
    /// directly instead of through a relay task.
    ///
    /// # Errors
    ///
    /// The source itself, given back, when it is more than a channel.
    fn into_receiver(self: Box<Self>) -> Result<Receiver<T>, BoxSource<T>>;
}

/// A boxed [`BatchSource`]: one virtual call per batch.
pub type BoxSource<T> = Box<dyn BatchSource<T>>;

/// Reports an error of a stage that goes on after errors.
pub type Report = Arc<dyn Fn(BoxError) + Send + Sync>;

/// A [`Step`] applied, a batch at a time, to `inner`: one fused stage.
///
/// # Examples
///
/// ```
/// use weir_core::chan;
/// use weir_stage::engine::{BatchSource, Fused, RecvSource, Stage};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let (tx, rx) = chan::bounded(4);
/// tx.send_all(vec![1, 2, 3]).await.unwrap();
/// drop(tx);
/// let step = weir_stage::steps::Map::new(|n: i32| n * 10);
/// let mut src = Fused::new(Box::new(RecvSource::new(rx)), step, Stage::new("map", "x10"));
/// let mut out = Vec::new();
/// std::future::poll_fn(|cx| src.poll_batch(cx, &mut out)).await.unwrap();
/// assert_eq!(out, [10, 20, 30]);
/// # }
/// ```
pub struct Fused<T, S> {
    inner: BoxSource<T>,
    step: S,
    buf: Vec<T>,
    stage: Arc<Stage>,
    faults: Faults,
    report: Option<Report>,
    /// An error found after some outputs of its batch: reported once they
    /// are handed on (the items before an error are delivered).
    failed: Option<Error>,
    /// The input ended and the step was [finished](Step::finish).
    finished: bool,
}

impl<T, S> Fused<T, S> {
    /// `step` over `inner`, failing at its first error.
    ///
    /// # Examples
    ///
    /// See [`Fused`].
    pub fn new(inner: BoxSource<T>, step: S, stage: Arc<Stage>) -> Fused<T, S> {
        Fused {
            inner,
            step,
            buf: Vec::new(), // grows to what batches need, then is reused
            stage,
            faults: Faults::fail_fast(),
            report: None,
            failed: None,
            finished: false,
        }
    }

    /// Goes on after per-item errors, handing each to `report`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use weir_core::chan;
    /// # use weir_stage::engine::{Fused, RecvSource, Stage};
    /// # use weir_stage::steps::Map;
    /// let (_tx, rx) = chan::bounded::<u8>(1);
    /// let fused = Fused::new(Box::new(RecvSource::new(rx)), Map::new(|n: u8| n), Stage::new("map", "m"))
    ///     .keep_going(std::sync::Arc::new(|e| eprintln!("{e}")));
    /// # drop(fused);
    /// ```
    #[must_use]
    pub fn keep_going(mut self, report: Report) -> Self {
        self.faults = Faults::keep_going();
        self.report = Some(report);
        self
    }
}

impl<T: Send + 'static, S: Step<T>> Fused<T, S> {
    /// The input ended: the step hands on what it still holds, once
    /// ([`Step::finish`]); whether it handed on anything. The input is
    /// dropped (upstream is done).
    fn finish(&mut self, out: &mut Vec<S::Out>) -> bool {
        if std::mem::replace(&mut self.finished, true) {
            return false;
        }
        self.inner = Box::new(Ended);
        let (start, before) = (Instant::now(), out.len());
        let step = &mut self.step;
        let finished = std::panic::catch_unwind(AssertUnwindSafe(|| step.finish(out)));
        let counters = self.stage.counters();
        counters.batch(0, out.len() - before, start.elapsed());
        if let Err(payload) = finished {
            counters.error();
            out.truncate(before);
            self.failed = Some(Error::from_panic(self.stage.name(), &*payload));
            return true;
        }
        out.len() > before
    }
}

impl<T, S> BatchSource<S::Out> for Fused<T, S>
where
    T: Send + 'static,
    S: Step<T>,
{
    fn poll_batch(
        &mut self,
        cx: &mut Context<'_>,
        out: &mut Vec<S::Out>,
    ) -> Poll<Result<bool, Error>> {
        if let Some(e) = self.failed.take() {
            return Poll::Ready(Err(e));
        }
        let counters = self.stage.counters();
        counters.set_running(true);
        loop {
            if self.step.is_done() {
                // Drop the input now: upstream stops even if whoever holds
                // this source keeps it a while.
                self.inner = Box::new(Ended);
                return Poll::Ready(Ok(false));
            }
            self.buf.clear();
            match self.inner.poll_batch(cx, &mut self.buf) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Ready(Ok(false)) => return Poll::Ready(Ok(self.finish(out))),
                Poll::Ready(Ok(true)) => {}
            }
            let start = Instant::now();
            let (n_in, before) = (self.buf.len(), out.len());
            let (step, buf, faults) = (&mut self.step, &mut self.buf, &mut self.faults);
            let stepped = std::panic::catch_unwind(AssertUnwindSafe(|| {
                step.step(buf.drain(..), out, faults)
            }));
            counters.batch(n_in, out.len() - before, start.elapsed());
            if let Err(payload) = stepped {
                counters.error();
                return Poll::Ready(Err(Error::from_panic(self.stage.name(), &*payload)));
            }
            if !self.faults.is_empty() {
                let errors = self.faults.take();
                for _ in &errors {
                    counters.error();
                }
                match &self.report {
                    Some(report) if self.faults.keeps_going() => {
                        errors.into_iter().for_each(|e| report(e))
                    }
                    _ => {
                        let source = errors.into_iter().next().expect("not empty");
                        let error = Error::Failed {
                            stage: self.stage.name(),
                            source,
                        };
                        if out.len() == before {
                            return Poll::Ready(Err(error));
                        }
                        self.failed = Some(error);
                        return Poll::Ready(Ok(true));
                    }
                }
            }
            if out.len() > before {
                return Poll::Ready(Ok(true));
            }
            // Everything was filtered out: pull the next batch (an iterator
            // source yields now and then, so this loop can't hog the thread).
        }
    }

    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Result<(), Error> {
        self.inner.poll_fill(cx)
    }

    fn into_receiver(self: Box<Self>) -> Result<Receiver<S::Out>, BoxSource<S::Out>> {
        Err(self)
    }
}

/// A source with nothing (more) in it: what a [`Fused`] stage whose step
/// is done reads instead of its input, and what a pipeline reads where a
/// channel never came to be (its producer never started).
///
/// # Examples
///
/// ```
/// use weir_stage::engine::{BatchSource, Ended};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let mut src = Ended;
/// let mut out: Vec<u8> = Vec::new();
/// let more = std::future::poll_fn(|cx| src.poll_batch(cx, &mut out)).await;
/// assert!(!more.unwrap());
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Ended;

impl<T: Send + 'static> BatchSource<T> for Ended {
    fn poll_batch(&mut self, _: &mut Context<'_>, _: &mut Vec<T>) -> Poll<Result<bool, Error>> {
        Poll::Ready(Ok(false))
    }

    fn into_receiver(self: Box<Self>) -> Result<Receiver<T>, BoxSource<T>> {
        Err(self)
    }
}

/// A fused stage runs as long as the task holding it.
impl<T, S> Drop for Fused<T, S> {
    fn drop(&mut self) {
        self.stage.counters().set_running(false);
    }
}

impl<T, S> std::fmt::Debug for Fused<T, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fused")
            .field("stage", &self.stage)
            .finish_non_exhaustive()
    }
}
