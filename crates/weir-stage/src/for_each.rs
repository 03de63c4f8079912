//! [`for_each`]: a sink that runs a closure on every item.

use weir_core::chan::Receiver;

use crate::driver::SinkOutput;
use crate::engine::SinkStep;
use crate::scope::Scope;

/// Runs `f` on every item, in order: Go's `for v := range ch { … }` as the
/// last stage. The returned [`SinkOutput`] resolves when the input is
/// exhausted.
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
/// let done = stage::for_each(&scope, stage::generate(&scope, 1..=3), |n| println!("{n}"));
/// done.await.unwrap();
/// # }
/// ```
pub fn for_each<T, F>(scope: &Scope, input: Receiver<T>, f: F) -> SinkOutput<()>
where
    T: Send + 'static,
    F: FnMut(T) + Send + 'static,
{
    scope.spawn_sink(input, ForEach::new(f))
}

/// The [`for_each`] sink: `f` on every item. What both
/// [`stage::for_each`](for_each) and the builder's `Flow::for_each` run.
///
/// # Examples
///
/// ```
/// use weir_stage::engine::SinkStep;
/// use weir_stage::steps::ForEach;
///
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use std::sync::Arc;
///
/// let seen = Arc::new(AtomicU32::new(0));
/// let counter = seen.clone();
/// let mut each = ForEach::new(move |n: u32| {
///     counter.fetch_add(n, Ordering::Relaxed);
/// });
/// each.consume(vec![1, 2].drain(..));
/// each.finish();
/// assert_eq!(seen.load(Ordering::Relaxed), 3);
/// ```
pub struct ForEach<F>(F);

impl<F> ForEach<F> {
    /// The sink calling `f`.
    ///
    /// # Examples
    ///
    /// See [`ForEach`].
    pub fn new(f: F) -> ForEach<F> {
        ForEach(f)
    }
}

impl<T, F> SinkStep<T> for ForEach<F>
where
    T: Send + 'static,
    F: FnMut(T) + Send + 'static,
{
    type Output = ();
    const KIND: &'static str = "for_each";

    fn consume(&mut self, input: std::vec::Drain<'_, T>) {
        input.for_each(&mut self.0);
    }

    fn finish(self) {}
}

impl<F> std::fmt::Debug for ForEach<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ForEach")
    }
}
