//! The batch loops: a source into a channel ([`run_into`]), a source into
//! a sink step ([`run_sink`]).

use std::task::Poll;
use std::time::{Duration, Instant};

use weir_core::chan::Sender;

use super::door;
use super::source::BoxSource;
use super::step::SinkStep;
use super::{Counters, Stage, BATCH};
use crate::error::Error;
use crate::overflow::{Overflow, Overflowed, Pushed};

/// Pulls the next batch from `src`, counting the time spent waiting for it.
pub(crate) async fn next_batch<T: 'static>(
    src: &mut BoxSource<T>,
    buf: &mut Vec<T>,
    counters: &Counters,
) -> Result<bool, Error> {
    let mut waiting: Option<Instant> = None;
    let got = std::future::poll_fn(|cx| {
        let polled = src.poll_batch(cx, buf);
        if polled.is_pending() {
            waiting.get_or_insert_with(Instant::now);
        }
        polled
    })
    .await;
    if let Some(since) = waiting {
        counters.recv_wait(since.elapsed());
    }
    got
}

/// The most items a buffer stage hands over at once: what its source had
/// ready, pulled a batch at a time without waiting.
const HANDOFF: usize = 8 * BATCH;

/// What [`next_handoff`] saw after the items it returned: the source
/// ended or failed, which the caller acts on once those items are sent.
enum After {
    Running,
    Ended,
    Failed(Error),
}

/// Pulls the next batch from `src` (counting the time spent waiting for
/// it), then what `src` has ready now, a batch at a time, up to `limit`
/// items: `Ok(false)` when it ended with nothing pulled. An end or an
/// error that comes after some items is left in `after`, so those items
/// are still sent first.
async fn next_handoff<T: 'static>(
    src: &mut BoxSource<T>,
    buf: &mut Vec<T>,
    counters: &Counters,
    limit: usize,
    after: &mut After,
) -> Result<bool, Error> {
    let mut waiting: Option<Instant> = None;
    let got = std::future::poll_fn(|cx| loop {
        let had = buf.len();
        match src.poll_batch(cx, buf) {
            Poll::Pending if buf.is_empty() => {
                waiting.get_or_insert_with(Instant::now);
                return Poll::Pending;
            }
            Poll::Ready(Ok(true)) if buf.len() < limit && buf.len() > had => {}
            Poll::Pending | Poll::Ready(Ok(true)) => return Poll::Ready(Ok(true)),
            Poll::Ready(Ok(false)) if !buf.is_empty() => {
                *after = After::Ended;
                return Poll::Ready(Ok(true));
            }
            Poll::Ready(Err(e)) if had > 0 => {
                // What the failing pull brought goes with it, as a lone
                // batch's would; the earlier pulls' items are sent.
                buf.truncate(had);
                *after = After::Failed(e);
                return Poll::Ready(Ok(true));
            }
            done => return done,
        }
    })
    .await;
    if let Some(since) = waiting {
        counters.recv_wait(since.elapsed());
    }
    got
}

/// Awaits `wait` — the consumer of `src` waiting on its output — while
/// letting `src` [fill](super::BatchSource::poll_fill) (a buffer fused
/// into it keeps pulling its upstream). A `wait` that is ready at once
/// costs one poll, and `src` is not touched.
///
/// # Errors
///
/// What [`poll_fill`](super::BatchSource::poll_fill) failed with.
///
/// # Cancel safety
///
/// Dropping the future drops `wait`; what a buffer in `src` queued stays
/// there.
///
/// # Examples
///
/// A send into a full channel, while a buffer keeps pulling its input:
///
/// ```
/// use weir_core::chan;
/// use weir_stage::engine::{self, BoxSource, Buffered, RecvSource, Stage};
/// use weir_stage::Overflow;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let (tx, rx) = chan::bounded(8);
/// tx.send_all((0..8).collect()).await.unwrap();
/// let stage = Stage::new("buffer", "latest");
/// let buf = Buffered::new(Box::new(RecvSource::new(rx)), stage.clone(), 2, Overflow::DropOldest);
/// let mut src: BoxSource<u32> = Box::new(buf);
/// let (out, out_rx) = chan::bounded::<u32>(1);
/// out.send(100).await.unwrap(); // full
/// let sent = engine::while_filling(&mut src, out.send(101));
/// let read = async {
///     tokio::task::yield_now().await;
///     out_rx.recv().await
/// };
/// let (sent, first) = tokio::join!(sent, read);
/// assert!(sent.unwrap().is_ok());
/// assert_eq!(first, Some(100));
/// assert_eq!(stage.counters().snapshot().dropped, 6); // it kept 6 and 7
/// # }
/// ```
pub async fn while_filling<T: 'static, F: std::future::Future>(
    src: &mut BoxSource<T>,
    wait: F,
) -> Result<F::Output, Error> {
    let mut wait = std::pin::pin!(wait);
    std::future::poll_fn(|cx| {
        if let Poll::Ready(done) = wait.as_mut().poll(cx) {
            return Poll::Ready(Ok(done));
        }
        src.poll_fill(cx)?;
        Poll::Pending
    })
    .await
}

/// [`while_filling`] for a stage's send, counting the time it waited (from
/// its first pending poll: a send that goes through at once waited for
/// nothing, and reads no clock).
async fn send_filling<T: 'static, F: std::future::Future>(
    src: &mut BoxSource<T>,
    send: F,
    counters: &Counters,
) -> Result<F::Output, Error> {
    let mut send = std::pin::pin!(send);
    let mut waiting: Option<Instant> = None;
    let sent = std::future::poll_fn(|cx| {
        if let Poll::Ready(done) = send.as_mut().poll(cx) {
            return Poll::Ready(Ok(done));
        }
        waiting.get_or_insert_with(Instant::now);
        src.poll_fill(cx)?;
        Poll::Pending
    })
    .await;
    if let Some(since) = waiting {
        counters.send_wait(since.elapsed());
    }
    sent
}

/// Marks a stage's task as running for as long as it lives.
struct Running<'a>(&'a Counters);

impl<'a> Running<'a> {
    fn new(counters: &'a Counters) -> Self {
        counters.set_running(true);
        Running(counters)
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.set_running(false);
    }
}

/// Moves every batch of `src` into `tx`; `stage` is the stage whose output
/// `tx` is (its waits are counted there). Ends when `src` ends or when
/// every receiver of `tx` is gone — noticed even while `src` is idle — and
/// dropping `src` then stops upstream in turn.
///
/// # Cancel safety
///
/// Dropping the future drops the batch in hand (a cancelled stage's items
/// are not delivered).
///
/// # Errors
///
/// The first error of a stage in `src`, naming it.
///
/// # Examples
///
/// ```
/// use weir_core::chan;
/// use weir_stage::engine::{self, Fused, RecvSource, Stage};
/// use weir_stage::steps::Map;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let (tx, rx) = chan::bounded(8);
/// let (out_tx, out_rx) = chan::bounded(8);
/// tx.send_all(vec![1, 2]).await.unwrap();
/// drop(tx);
/// let stage = Stage::new("map", "inc");
/// let src = Fused::new(Box::new(RecvSource::new(rx)), Map::new(|n: i32| n + 1), stage.clone());
/// engine::run_into(Box::new(src), out_tx, &stage).await.unwrap();
/// assert_eq!(out_rx.recv().await, Some(2));
/// # }
/// ```
pub async fn run_into<T: Send + 'static>(
    src: BoxSource<T>,
    tx: Sender<T>,
    stage: &Stage,
) -> Result<(), Error> {
    run_buffered(src, tx, stage, Overflow::Backpressure, None).await
}

/// [`run_into`] with `tx` as a buffer under `overflow`: with `buffer` (the
/// statistics of the buffer stage `stage` is), the items it takes in and
/// keeps are counted on `stage` and those it drops on `buffer`; a full
/// buffer under [`Overflow::Fail`] is an error naming `stage`.
pub(crate) async fn run_buffered<T: Send + 'static>(
    mut src: BoxSource<T>,
    tx: Sender<T>,
    stage: &Stage,
    overflow: Overflow,
    buffer: Option<&Counters>,
) -> Result<(), Error> {
    let counters = stage.counters();
    let _running = Running::new(counters);
    // A buffer hands over what its source has ready, up to `HANDOFF`
    // items, under one lock and one wake; a plain channel what one pull
    // brought (a batch at most).
    let limit = if buffer.is_some() { HANDOFF } else { 1 };
    // Grows to what hand-offs need (at most `limit`) and keeps it.
    let mut buf = Vec::new();
    let mut after = After::Running;
    // One wait for `tx` closing, kept across batches: its listener is made
    // once, not made and dropped around every pull.
    let mut closed = std::pin::pin!(tx.closed());
    loop {
        match std::mem::replace(&mut after, After::Running) {
            After::Running => {}
            After::Ended => return Ok(()),
            After::Failed(e) => return Err(e),
        }
        let pull = next_handoff(&mut src, &mut buf, counters, limit, &mut after);
        let Some(more) = door::unless_pinned(closed.as_mut(), pull).await else {
            return Ok(());
        };
        if !more? {
            return Ok(());
        }
        // A lone item under backpressure (an idle producer's trickle) is
        // sent as it is: no batch to allocate.
        if buf.len() == 1 && overflow == Overflow::Backpressure {
            let item = buf.pop().expect("one item");
            if send_filling(&mut src, tx.send(item), counters)
                .await?
                .is_err()
            {
                return Ok(()); // downstream is gone: stop, and so stop upstream
            }
            if buffer.is_some() {
                counters.batch(1, 1, Duration::ZERO);
            }
            continue;
        }
        // A full batch moves as it is; a short one is copied out, so a
        // small hop does not allocate a whole batch's room.
        let batch = if buf.len() >= BATCH {
            let room = buf.len();
            std::mem::replace(&mut buf, Vec::with_capacity(room))
        } else {
            let mut short = Vec::with_capacity(buf.len());
            short.append(&mut buf);
            short
        };
        let n = batch.len();
        // Only backpressure waits: the other modes never do, and are not
        // timed (two clock reads per hand-off).
        let pushed = if overflow == Overflow::Backpressure {
            // While the send waits, a buffer fused into `src` fills.
            send_filling(&mut src, overflow.push(&tx, batch), counters).await?
        } else {
            overflow.push(&tx, batch).await
        };
        let dropped = match pushed {
            Pushed::Sent(dropped) => dropped,
            Pushed::Closed => return Ok(()), // downstream is gone: stop, and so stop upstream
            Pushed::Overflowed => {
                return Err(Error::Failed {
                    stage: stage.name(),
                    source: Box::new(Overflowed {
                        stage: stage.name(),
                        capacity: tx.capacity().unwrap_or(0),
                    }),
                });
            }
        };
        if let Some(cell) = buffer {
            counters.batch(n, n - dropped, Duration::ZERO);
            if dropped > 0 {
                cell.dropped(dropped as u64);
            }
        }
    }
}

/// Hands every batch of `src` to `sink`, then returns its result; `stage`
/// is the sink's stage.
///
/// # Cancel safety
///
/// Dropping the future drops the sink and what it gathered.
///
/// # Errors
///
/// The first error of a stage in `src`, naming it; or the sink's own
/// error ([`SinkStep::failed`]), naming `stage`.
///
/// # Examples
///
/// ```
/// use weir_core::chan;
/// use weir_stage::engine::{self, RecvSource, Stage};
/// use weir_stage::steps::Fold;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let (tx, rx) = chan::bounded(8);
/// tx.send_all(vec![1, 2, 3]).await.unwrap();
/// drop(tx);
/// let stage = Stage::new("fold", "sum");
/// let sum = engine::run_sink(Box::new(RecvSource::new(rx)), Fold::new(0, |a, n| a + n), &stage);
/// assert_eq!(sum.await.unwrap(), 6);
/// # }
/// ```
pub async fn run_sink<T: Send + 'static, K: SinkStep<T>>(
    mut src: BoxSource<T>,
    mut sink: K,
    stage: &Stage,
) -> Result<K::Output, Error> {
    let counters = stage.counters();
    let _running = Running::new(counters);
    let mut buf = Vec::new();
    while next_batch(&mut src, &mut buf, counters).await? {
        let start = Instant::now();
        let n = buf.len();
        sink.consume(buf.drain(..));
        counters.batch(n, 0, start.elapsed());
        if let Some(source) = sink.failed() {
            counters.error();
            return Err(Error::Failed {
                stage: stage.name(),
                source,
            });
        }
    }
    Ok(sink.finish())
}
