//! [`scan`]: a one-to-one transform with state carried from item to item.

use weir_core::chan::Receiver;

use crate::engine::{Faults, Step};
use crate::scope::Scope;

/// Applies `f` to a running state and every item, in order, sending on
/// what it returns: a [`map`](crate::map) that remembers (running totals,
/// deltas, numbering).
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
/// let nums = stage::generate(&scope, 1..=4);
/// let totals = stage::scan(&scope, nums, 0, |sum, n| {
///     *sum += n;
///     *sum
/// });
/// let all = stage::collect::<_, Vec<_>>(&scope, totals);
/// assert_eq!(all.await.unwrap(), [1, 3, 6, 10]);
/// # }
/// ```
pub fn scan<T, S, U, F>(scope: &Scope, input: Receiver<T>, init: S, f: F) -> Receiver<U>
where
    T: Send + 'static,
    S: Send + 'static,
    U: Send + 'static,
    F: FnMut(&mut S, T) -> U + Send + 'static,
{
    scope.spawn_step(input, Scan::new(init, f))
}

/// The [`scan`] step. What both [`stage::scan`](scan) and the builder's
/// `Flow::scan` run.
///
/// # Examples
///
/// ```
/// use weir_stage::engine::{Faults, Step};
/// use weir_stage::steps::Scan;
///
/// let mut out = Vec::new();
/// let mut numbered = Scan::new(0, |i: &mut usize, s: &str| {
///     *i += 1;
///     format!("{i}. {s}")
/// });
/// numbered.step(vec!["a", "b"].drain(..), &mut out, &mut Faults::fail_fast());
/// assert_eq!(out, ["1. a", "2. b"]);
/// ```
pub struct Scan<S, F> {
    state: S,
    f: F,
}

impl<S, F> Scan<S, F> {
    /// The step starting from `init`.
    ///
    /// # Examples
    ///
    /// See [`Scan`].
    pub fn new(init: S, f: F) -> Scan<S, F> {
        Scan { state: init, f }
    }
}

impl<T, S, U, F> Step<T> for Scan<S, F>
where
    T: Send + 'static,
    S: Send + 'static,
    U: Send + 'static,
    F: FnMut(&mut S, T) -> U + Send + 'static,
{
    type Out = U;
    const KIND: &'static str = "scan";

    fn step(&mut self, input: std::vec::Drain<'_, T>, out: &mut Vec<U>, _: &mut Faults) {
        let (state, f) = (&mut self.state, &mut self.f);
        out.extend(input.map(|item| f(state, item)));
    }
}

impl<S, F> std::fmt::Debug for Scan<S, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Scan")
    }
}
