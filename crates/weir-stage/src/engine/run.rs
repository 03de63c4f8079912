//! The batch loops: a source into a channel ([`run_into`]), a source into
//! a sink step ([`run_sink`]).

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
    // Grows to what batches need (at most `BATCH`) and keeps it.
    let mut buf = Vec::new();
    loop {
        let Some(more) = door::unless_closed(&tx, next_batch(&mut src, &mut buf, counters)).await
        else {
            return Ok(());
        };
        let more = more?;
        if !more {
            return Ok(());
        }
        // A full batch moves as it is; a short one (an idle producer's
        // trickle) is copied out, so a one-item hop does not allocate a
        // whole batch's room.
        let batch = if buf.len() == BATCH {
            std::mem::replace(&mut buf, Vec::with_capacity(BATCH))
        } else {
            let mut short = Vec::with_capacity(buf.len());
            short.append(&mut buf);
            short
        };
        let (n, start) = (batch.len(), Instant::now());
        let pushed = overflow.push(&tx, batch).await;
        counters.send_wait(start.elapsed());
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
