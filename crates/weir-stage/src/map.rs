//! [`map`]: a synchronous one-to-one transform.

use weir_core::chan::Receiver;

use crate::engine::{Faults, Step};
use crate::scope::Scope;

/// Applies `f` to every item, in order: Go's
/// `for n := range in { out <- f(n) }` stage.
///
/// `f` runs in the stage's task, so it should be quick and not block; for
/// async work use [`then`](crate::then) or
/// [`map_concurrent`](crate::map_concurrent), for CPU-heavy work spread
/// over cores use [`worker_pool`](crate::worker_pool). A panic in `f` becomes
/// [`Error::Panicked`](crate::Error::Panicked) naming this stage.
///
/// Order: output order is input order.
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
/// let words = stage::generate(&scope, ["go", "rust"]);
/// let lens = stage::map(&scope, words, str::len);
/// let all = stage::collect::<_, Vec<_>>(&scope, lens);
/// assert_eq!(all.await.unwrap(), [2, 4]);
/// # }
/// ```
pub fn map<T, U, F>(scope: &Scope, input: Receiver<T>, f: F) -> Receiver<U>
where
    T: Send + 'static,
    U: Send + 'static,
    F: FnMut(T) -> U + Send + 'static,
{
    scope.spawn_step(input, Map::new(f))
}

/// The [`map`] step: `f` over every item of a batch. What both
/// [`stage::map`](map) and the builder's `Flow::map` run.
///
/// # Examples
///
/// ```
/// use weir_stage::engine::{Faults, Step};
/// use weir_stage::steps::Map;
///
/// let mut out = Vec::new();
/// Map::new(|n: u8| n + 1).step(vec![1, 2].drain(..), &mut out, &mut Faults::fail_fast());
/// assert_eq!(out, [2, 3]);
/// ```
pub struct Map<F>(F);

impl<F> Map<F> {
    /// The step applying `f`.
    ///
    /// # Examples
    ///
    /// See [`Map`].
    pub fn new(f: F) -> Map<F> {
        Map(f)
    }
}

impl<T, U, F> Step<T> for Map<F>
where
    T: Send + 'static,
    U: Send + 'static,
    F: FnMut(T) -> U + Send + 'static,
{
    type Out = U;
    const KIND: &'static str = "map";

    fn step(&mut self, input: std::vec::Drain<'_, T>, out: &mut Vec<U>, _: &mut Faults) {
        out.extend(input.map(&mut self.0));
    }
}

impl<F> std::fmt::Debug for Map<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Map")
    }
}
