//! [`fold`]: a sink that reduces every item into one value.

use weir_core::chan::Receiver;

use crate::driver::SinkOutput;
use crate::engine::SinkStep;
use crate::scope::Scope;

/// Folds every item into an accumulator, starting from `init`, in order.
/// The returned [`SinkOutput`] resolves to the final value.
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
/// let sum = stage::fold(&scope, stage::generate(&scope, 1..=100u64), 0, |acc, n| acc + n);
/// assert_eq!(sum.await, Ok(5050));
/// # }
/// ```
pub fn fold<T, A, F>(scope: &Scope, input: Receiver<T>, init: A, f: F) -> SinkOutput<A>
where
    T: Send + 'static,
    A: Send + 'static,
    F: FnMut(A, T) -> A + Send + 'static,
{
    scope.spawn_sink(input, Fold::new(init, f))
}

/// The [`fold`] sink: folds every batch into an accumulator. What both
/// [`stage::fold`](fold) and the builder's `Flow::fold` run.
///
/// # Examples
///
/// ```
/// use weir_stage::engine::SinkStep;
/// use weir_stage::steps::Fold;
///
/// let mut sum = Fold::new(0, |a, n: u32| a + n);
/// sum.consume(vec![1, 2, 3].drain(..));
/// assert_eq!(sum.finish(), 6);
/// ```
pub struct Fold<A, F> {
    acc: Option<A>,
    f: F,
}

impl<A, F> Fold<A, F> {
    /// Folds from `init` with `f`.
    ///
    /// # Examples
    ///
    /// See [`Fold`].
    pub fn new(init: A, f: F) -> Fold<A, F> {
        Fold { acc: Some(init), f }
    }
}

impl<T, A, F> SinkStep<T> for Fold<A, F>
where
    T: Send + 'static,
    A: Send + 'static,
    F: FnMut(A, T) -> A + Send + 'static,
{
    type Output = A;
    const KIND: &'static str = "fold";

    fn consume(&mut self, input: std::vec::Drain<'_, T>) {
        if let Some(acc) = self.acc.take() {
            self.acc = Some(input.fold(acc, &mut self.f));
        }
    }

    fn finish(self) -> A {
        self.acc
            .expect("the accumulator is put back after every batch")
    }
}

impl<A, F> std::fmt::Debug for Fold<A, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Fold")
    }
}
