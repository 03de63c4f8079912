//! [`try_fold`]: a sink that folds with a fallible step, stopping at the
//! first error.

use weir_core::chan::Receiver;

use crate::driver::SinkOutput;
use crate::engine::SinkStep;
use crate::error::BoxError;
use crate::scope::Scope;

/// Folds every item into an accumulator with the fallible `f`, starting
/// from `init`, in order; the first `Err` ends it: Rust's
/// `Iterator::try_fold` as the last stage (a running total that must not
/// overflow, a parse into a growing structure that may reject a line).
/// The returned [`SinkOutput`] resolves to the final value.
///
/// # Errors
///
/// The first `Err` of `f` fails the stage:
/// [`Error::Failed`](crate::Error::Failed) naming it, with that error as
/// its source; nothing after that item is folded, the scope is cancelled
/// and the [`SinkOutput`] resolves to an [`Incomplete`](crate::Incomplete)
/// error. A panic in `f` becomes [`Error::Panicked`](crate::Error::Panicked)
/// naming this stage.
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
/// let nums = stage::generate(&scope, [200u8, 50, 10]);
/// let _total = stage::try_fold(&scope.named("total"), nums, 0u8, |acc, n| {
///     acc.checked_add(n).ok_or("overflow")
/// });
/// let err = scope.wait().await.unwrap_err();
/// assert_eq!(err.to_string(), "stage `total` failed");
/// assert_eq!(std::error::Error::source(&err).unwrap().to_string(), "overflow");
/// # }
/// ```
pub fn try_fold<T, A, E, F>(scope: &Scope, input: Receiver<T>, init: A, f: F) -> SinkOutput<A>
where
    T: Send + 'static,
    A: Send + 'static,
    E: Into<BoxError>,
    F: FnMut(A, T) -> Result<A, E> + Send + 'static,
{
    scope.spawn_sink(input, TryFold::new(init, f))
}

/// The [`try_fold`] sink: folds with `f` until the first `Err`, which it
/// hands the engine through [`SinkStep::failed`]. What both
/// [`stage::try_fold`](try_fold) and the builder's `Flow::try_fold` run.
///
/// # Examples
///
/// ```
/// use weir_stage::engine::SinkStep;
/// use weir_stage::steps::TryFold;
///
/// let mut sum = TryFold::new(0u8, |a: u8, n: u8| a.checked_add(n).ok_or("overflow"));
/// sum.consume(vec![100, 100, 100, 1].drain(..));
/// assert_eq!(sum.failed().unwrap().to_string(), "overflow");
/// assert!(sum.failed().is_none()); // handed over once
/// ```
pub struct TryFold<A, F> {
    /// `None` once `f` failed (the accumulator went into the failed call).
    acc: Option<A>,
    f: F,
    error: Option<BoxError>,
}

impl<A, F> TryFold<A, F> {
    /// Folds from `init` with `f`.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::engine::SinkStep;
    /// use weir_stage::steps::TryFold;
    ///
    /// let mut sum = TryFold::new(0, |a: u32, n: u32| Ok::<_, &str>(a + n));
    /// sum.consume(vec![1, 2, 3].drain(..));
    /// assert_eq!(sum.finish(), 6);
    /// ```
    pub fn new(init: A, f: F) -> TryFold<A, F> {
        TryFold {
            acc: Some(init),
            f,
            error: None,
        }
    }
}

impl<T, A, E, F> SinkStep<T> for TryFold<A, F>
where
    T: Send + 'static,
    A: Send + 'static,
    E: Into<BoxError>,
    F: FnMut(A, T) -> Result<A, E> + Send + 'static,
{
    type Output = A;
    const KIND: &'static str = "try_fold";

    fn consume(&mut self, input: std::vec::Drain<'_, T>) {
        for item in input {
            let Some(acc) = self.acc.take() else {
                return; // failed: nothing more is folded
            };
            match (self.f)(acc, item) {
                Ok(acc) => self.acc = Some(acc),
                Err(e) => {
                    self.error = Some(e.into());
                    return;
                }
            }
        }
    }

    fn finish(self) -> A {
        // The engine asks `failed` after every batch and never finishes a
        // failed sink, so the accumulator is always back here.
        self.acc.expect("a failed try_fold is never finished")
    }

    fn failed(&mut self) -> Option<BoxError> {
        self.error.take()
    }
}

impl<A, F> std::fmt::Debug for TryFold<A, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TryFold")
            .field("failed", &self.acc.is_none())
            .finish_non_exhaustive()
    }
}
