//! [`inspect`]: looks at every item as it passes.

use weir_core::chan::Receiver;

use crate::engine::{Faults, Step};
use crate::scope::Scope;

/// Calls `f` with a reference to every item, then sends the item on
/// unchanged: for logging, metrics or debugging between two stages.
///
/// `f` runs in the stage's task, so it should be quick and not block. It
/// sees an item just before the item is sent on, so it may see an item that
/// is then dropped because the scope was cancelled or downstream stopped.
///
/// Order: output order is input order, and `f` sees items in that order.
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
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
/// use weir_cancel::Context;
/// use weir_stage::{self as stage, Scope};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let scope = Scope::new(&Context::background());
/// let seen = Arc::new(AtomicUsize::new(0));
/// let counter = seen.clone();
/// let nums = stage::generate(&scope, 1..=3);
/// let same = stage::inspect(&scope, nums, move |_: &i32| {
///     counter.fetch_add(1, Ordering::Relaxed);
/// });
/// let all = stage::collect::<_, Vec<_>>(&scope, same);
/// assert_eq!(all.await.unwrap(), [1, 2, 3]);
/// assert_eq!(seen.load(Ordering::Relaxed), 3);
/// # }
/// ```
pub fn inspect<T, F>(scope: &Scope, input: Receiver<T>, f: F) -> Receiver<T>
where
    T: Send + 'static,
    F: FnMut(&T) + Send + 'static,
{
    scope.spawn_step(input, Inspect::new(f))
}

/// The [`inspect`] step: calls `f` on every item of a batch and passes it
/// on. What both [`stage::inspect`](inspect) and the builder's
/// `Flow::inspect` run.
///
/// # Examples
///
/// ```
/// use weir_stage::engine::{Faults, Step};
/// use weir_stage::steps::Inspect;
///
/// let mut out = Vec::new();
/// Inspect::new(|n: &u8| println!("{n}")).step(vec![1, 2].drain(..), &mut out, &mut Faults::fail_fast());
/// assert_eq!(out, [1, 2]);
/// ```
pub struct Inspect<F>(F);

impl<F> Inspect<F> {
    /// The step calling `f`.
    ///
    /// # Examples
    ///
    /// See [`Inspect`].
    pub fn new(f: F) -> Inspect<F> {
        Inspect(f)
    }
}

impl<T, F> Step<T> for Inspect<F>
where
    T: Send + 'static,
    F: FnMut(&T) + Send + 'static,
{
    type Out = T;
    const KIND: &'static str = "inspect";

    fn step(&mut self, input: std::vec::Drain<'_, T>, out: &mut Vec<T>, _: &mut Faults) {
        let f = &mut self.0;
        out.extend(input.inspect(|item| f(item)));
    }
}

impl<F> std::fmt::Debug for Inspect<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Inspect")
    }
}
