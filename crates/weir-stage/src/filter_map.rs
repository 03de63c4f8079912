//! [`filter_map`]: transforms items and keeps the `Some` results.

use weir_core::chan::Receiver;

use crate::engine::{Faults, Step};
use crate::scope::Scope;

/// Applies `f` to every item and sends on the values of the `Some`
/// results; `None` drops the item. [`filter`](crate::filter) and
/// [`map`](crate::map) in one step.
///
/// `f` runs in the stage's task, so it should be quick and not block.
/// Unlike [`try_map`](crate::try_map), a dropped item is not an error: use
/// `filter_map` when "no value" is a normal outcome.
///
/// Order: the values sent on leave in input order.
///
/// When every receiver of the output is dropped, the stage stops at its
/// next send and drops its input, which stops the upstream stage in turn.
///
/// # Panics
///
/// Outside a tokio runtime, like [`tokio::spawn`]. A panic in `f` does not
/// unwind here: it becomes [`Error::Panicked`](crate::Error::Panicked)
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
/// let text = stage::generate(&scope, ["1", "two", "3"]);
/// let nums = stage::filter_map(&scope, text, |s: &str| s.parse::<u32>().ok());
/// let all = stage::collect::<_, Vec<_>>(&scope, nums);
/// assert_eq!(all.await.unwrap(), [1, 3]);
/// # }
/// ```
pub fn filter_map<T, U, F>(scope: &Scope, input: Receiver<T>, f: F) -> Receiver<U>
where
    T: Send + 'static,
    U: Send + 'static,
    F: FnMut(T) -> Option<U> + Send + 'static,
{
    scope.spawn_step(input, FilterMap::new(f))
}

/// The [`filter_map`] step: `f` over a batch, keeping the `Some`s. What
/// both [`stage::filter_map`](filter_map) and the builder's
/// `Flow::filter_map` run.
///
/// # Examples
///
/// ```
/// use weir_stage::engine::{Faults, Step};
/// use weir_stage::steps::FilterMap;
///
/// let mut out = Vec::new();
/// FilterMap::new(|s: &str| s.parse::<u8>().ok())
///     .step(vec!["1", "x"].drain(..), &mut out, &mut Faults::fail_fast());
/// assert_eq!(out, [1]);
/// ```
pub struct FilterMap<F>(F);

impl<F> FilterMap<F> {
    /// The step applying `f` and keeping the `Some`s.
    ///
    /// # Examples
    ///
    /// See [`FilterMap`].
    pub fn new(f: F) -> FilterMap<F> {
        FilterMap(f)
    }
}

impl<T, U, F> Step<T> for FilterMap<F>
where
    T: Send + 'static,
    U: Send + 'static,
    F: FnMut(T) -> Option<U> + Send + 'static,
{
    type Out = U;
    const KIND: &'static str = "filter_map";

    fn step(&mut self, input: std::vec::Drain<'_, T>, out: &mut Vec<U>, _: &mut Faults) {
        out.extend(input.filter_map(&mut self.0));
    }
}

impl<F> std::fmt::Debug for FilterMap<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FilterMap")
    }
}
