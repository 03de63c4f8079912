//! The loops shared by the stages: batched moves between channels and the
//! one-shot result of a sink.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::sync::oneshot;
use weir_core::chan::{Receiver, Sender};

use crate::error::BoxError;

/// How many items a stage takes from its input at once. Batches never wait
/// to fill: a stage takes what is there (at least one item) and goes on, so
/// batching adds no latency when the producer is idle.
pub(crate) const BATCH: usize = 64;

/// Moves items from `input` to `output` a batch at a time; `step` turns one
/// input batch into outputs. Ends when the input closes (success) or the
/// output's receivers are gone — noticed even while the input is idle —
/// (also success: downstream stopped listening, and dropping `input` here
/// stops upstream in turn). An error from `step`
/// ends the stage after the outputs it produced before are sent.
pub(crate) async fn pump<T, U, S>(
    input: Receiver<T>,
    output: Sender<U>,
    mut step: S,
) -> Result<(), BoxError>
where
    S: FnMut(std::vec::Drain<'_, T>, &mut Vec<U>) -> Result<(), BoxError>,
{
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        // Also stop while the input is idle, as soon as nobody listens.
        let got = tokio::select! {
            biased;
            got = input.recv_many(&mut batch, BATCH) => got,
            () = output.closed() => return Ok(()),
        };
        if got == 0 {
            return Ok(());
        }
        let mut out = Vec::with_capacity(batch.len());
        let stepped = step(batch.drain(..), &mut out);
        if !out.is_empty() && output.send_all(out).await.is_err() {
            return Ok(());
        }
        stepped?;
    }
}

/// The result of a sink stage, from [`for_each`](crate::for_each),
/// [`fold`](crate::fold), [`collect`](crate::collect) and friends.
///
/// It resolves when the sink has consumed its whole input.
///
/// # Cancel safety
///
/// Cancel safe: dropping it does not stop the sink (the scope owns it, as a
/// `JoinHandle` does not own its task); the result is then discarded.
///
/// # Errors
///
/// [`Incomplete`] when the sink did not finish: the scope was cancelled,
/// the sink failed ([`Scope::wait`](crate::Scope::wait) says why), or a
/// [`forward`](crate::forward) destination closed.
///
/// # Examples
///
/// ```
/// use weir_cancel::Context;
/// use weir_stage::{self as stage, Scope};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let scope = Scope::new(&Context::background());
/// let n = stage::fold(&scope, stage::generate(&scope, 0..10), 0, |n, _| n + 1);
/// assert_eq!(n.await, Ok(10));
/// # }
/// ```
pub struct SinkOutput<T> {
    rx: oneshot::Receiver<T>,
}

impl<T> SinkOutput<T> {
    pub(crate) fn channel() -> (oneshot::Sender<T>, SinkOutput<T>) {
        let (tx, rx) = oneshot::channel();
        (tx, SinkOutput { rx })
    }
}

impl<T> Future for SinkOutput<T> {
    type Output = Result<T, Incomplete>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.rx)
            .poll(cx)
            .map(|r| r.map_err(|_| Incomplete))
    }
}

impl<T> fmt::Debug for SinkOutput<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SinkOutput").finish_non_exhaustive()
    }
}

/// A sink stage ended without a result: it was cancelled or it failed
/// ([`Scope::wait`](crate::Scope::wait) reports the cause), or, for
/// [`forward`](crate::forward), its destination closed before everything
/// was forwarded.
///
/// # Examples
///
/// ```
/// use weir_stage::Incomplete;
///
/// assert_eq!(Incomplete.to_string(), "the sink did not finish (see the scope's error)");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the sink did not finish (see the scope's error)")]
pub struct Incomplete;
