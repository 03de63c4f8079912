//! [`filter`]: keeps the items a predicate accepts.

use weir_core::chan::Receiver;

use crate::engine::{Faults, Step};
use crate::scope::Scope;

/// Sends on only the items for which `pred` returns `true`: Go's
/// `for v := range in { if pred(v) { out <- v } }`.
///
/// `pred` runs in the stage's task, so it should be quick and not block.
///
/// Order: the items kept leave in input order.
///
/// When every receiver of the output is dropped, the stage stops at its
/// next send and drops its input, which stops the upstream stage in turn.
///
/// # Panics
///
/// Outside a tokio runtime, like [`tokio::spawn`]. A panic in `pred` does
/// not unwind here: it becomes [`Error::Panicked`](crate::Error::Panicked)
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
/// let nums = stage::generate(&scope, 1..=10);
/// let even = stage::filter(&scope, nums, |n: &i32| n % 2 == 0);
/// let all = stage::collect::<_, Vec<_>>(&scope, even);
/// assert_eq!(all.await.unwrap(), [2, 4, 6, 8, 10]);
/// # }
/// ```
pub fn filter<T, P>(scope: &Scope, input: Receiver<T>, pred: P) -> Receiver<T>
where
    T: Send + 'static,
    P: FnMut(&T) -> bool + Send + 'static,
{
    scope.spawn_step(input, Filter::new(pred))
}

/// The [`filter`] step: keeps the items of a batch `pred` accepts. What
/// both [`stage::filter`](filter) and the builder's `Flow::filter` run.
///
/// # Examples
///
/// ```
/// use weir_stage::engine::{Faults, Step};
/// use weir_stage::steps::Filter;
///
/// let mut out = Vec::new();
/// Filter::new(|n: &u8| n % 2 == 0).step(vec![1, 2, 4].drain(..), &mut out, &mut Faults::fail_fast());
/// assert_eq!(out, [2, 4]);
/// ```
pub struct Filter<P>(P);

impl<P> Filter<P> {
    /// The step keeping what `pred` accepts.
    ///
    /// # Examples
    ///
    /// See [`Filter`].
    pub fn new(pred: P) -> Filter<P> {
        Filter(pred)
    }
}

impl<T, P> Step<T> for Filter<P>
where
    T: Send + 'static,
    P: FnMut(&T) -> bool + Send + 'static,
{
    type Out = T;
    const KIND: &'static str = "filter";

    fn step(&mut self, input: std::vec::Drain<'_, T>, out: &mut Vec<T>, _: &mut Faults) {
        let pred = &mut self.0;
        out.extend(input.filter(|item| pred(item)));
    }
}

impl<P> std::fmt::Debug for Filter<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Filter")
    }
}
