//! [`forward_sink`]: a sink that sends every item into any
//! [`futures::Sink`].

use std::time::Instant;

use futures::SinkExt;
use weir_core::chan::Receiver;

use crate::driver::SinkOutput;
use crate::engine::{next_batch, while_filling, BoxSource, RecvSource, Stage};
use crate::error::{BoxError, Error};
use crate::scope::Scope;

/// Sends every item, in order, into `sink` (any [`futures::Sink`]: a
/// flume sender's `into_sink()`, a framed socket, a file writer), flushing
/// after each batch and closing it at the end. The returned
/// [`SinkOutput`] resolves once everything is sent and the sink closed.
///
/// Backpressure carries through: the stage waits while `sink` is not
/// ready, and so does upstream. For one of weir's own channels,
/// [`forward`](crate::forward) is cheaper (whole batches at once).
///
/// # Errors
///
/// An error of `sink` (on send, flush or close) fails the stage:
/// [`Error::Failed`](crate::Error::Failed) naming it, with the sink's error
/// as its source; the [`SinkOutput`] then resolves to an
/// [`Incomplete`](crate::Incomplete) error.
///
/// # Examples
///
/// ```
/// use futures::channel::mpsc;
/// use futures::StreamExt;
/// use weir_cancel::Context;
/// use weir_stage::{self as stage, Scope};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let scope = Scope::new(&Context::background());
/// let (tx, rx) = mpsc::channel(4);
/// let done = stage::forward_sink(&scope, stage::generate(&scope, 1..=3), tx);
/// let got: Vec<i32> = rx.collect().await; // ends: the sink was closed
/// done.await.unwrap();
/// assert_eq!(got, [1, 2, 3]);
/// # }
/// ```
pub fn forward_sink<T, S>(scope: &Scope, input: Receiver<T>, sink: S) -> SinkOutput<()>
where
    T: Send + 'static,
    S: futures::Sink<T> + Send + 'static,
    S::Error: Into<BoxError>,
{
    let (done, output) = SinkOutput::channel();
    scope.spawn_engine("forward_sink", move |stage| async move {
        run_into_sink(Box::new(RecvSource::new(input)), sink, &stage).await?;
        let _ = done.send(());
        Ok(())
    });
    output
}

/// Moves every batch of `src` into `sink` (fed item by item, flushed per
/// batch, closed at the end); `stage` is the sink's stage. What both
/// [`forward_sink`] and the builder's `Flow::forward_sink` run.
///
/// # Cancel safety
///
/// Dropping the future drops the sink with what it has not flushed.
///
/// # Errors
///
/// The first error of a stage in `src`, naming it; an error of `sink`,
/// naming `stage`.
///
/// # Examples
///
/// ```
/// use futures::channel::mpsc;
/// use futures::StreamExt;
/// use weir_core::chan;
/// use weir_stage::engine::{RecvSource, Stage};
/// use weir_stage::steps;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let (tx, rx) = chan::bounded(4);
/// tx.send_all(vec![1, 2]).await.unwrap();
/// drop(tx);
/// let (sink, out) = mpsc::unbounded();
/// let stage = Stage::new("forward_sink", "out");
/// steps::run_into_sink(Box::new(RecvSource::new(rx)), sink, &stage).await.unwrap();
/// assert_eq!(out.collect::<Vec<i32>>().await, [1, 2]);
/// # }
/// ```
pub async fn run_into_sink<T, S>(mut src: BoxSource<T>, sink: S, stage: &Stage) -> Result<(), Error>
where
    T: Send + 'static,
    S: futures::Sink<T>,
    S::Error: Into<BoxError>,
{
    let mut sink = std::pin::pin!(sink);
    let counters = stage.counters();
    counters.set_running(true);
    let failed = |e: S::Error| {
        counters.error();
        Error::Failed {
            stage: stage.name(),
            source: e.into(),
        }
    };
    let mut buf = Vec::new();
    let result = async {
        while next_batch(&mut src, &mut buf, counters).await? {
            let (n, start) = (buf.len(), Instant::now());
            // While the sink is not ready, a buffer fused into `src` fills.
            for item in buf.drain(..) {
                while_filling(&mut src, sink.feed(item))
                    .await?
                    .map_err(failed)?;
            }
            while_filling(&mut src, sink.flush())
                .await?
                .map_err(failed)?;
            counters.batch(n, 0, start.elapsed());
        }
        sink.close().await.map_err(failed)
    }
    .await;
    counters.set_running(false);
    result
}
