//! The one-shot result of a sink, and the batch size stages share.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::sync::oneshot;

/// The engine's one batch size.
pub(crate) use crate::engine::BATCH;

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
/// the sink failed ([`OwnedScope::wait`](crate::OwnedScope::wait) says why), or a
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
#[must_use = "the sink runs anyway: `.await` this for its result, or drop it"]
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
/// ([`OwnedScope::wait`](crate::OwnedScope::wait) reports the cause), or, for
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
