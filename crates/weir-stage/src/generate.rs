//! [`generate`]: a source from an iterator.

use std::sync::Arc;

use weir_core::chan::Receiver;

use crate::engine::{self, IterSource};
use crate::scope::{Role, Scope};

/// A source that sends every item of `items`, then closes its output: Go's
/// generator (a `gen` function whose goroutine sends each item, then
/// closes the channel).
///
/// The iterator runs in the stage's task, a batch of items at a time, so it
/// should not block; for a blocking or async producer use
/// [`from_stream`](crate::from_stream) or [`from_fn`](crate::from_fn). It
/// stops early when the scope is cancelled or shut down, or when every
/// receiver of its output is dropped.
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
/// let nums = stage::generate(&scope, vec![2, 3, 4]);
/// assert_eq!(nums.recv().await, Some(2));
/// # }
/// ```
pub fn generate<I>(scope: &Scope, items: I) -> Receiver<I::Item>
where
    I: IntoIterator,
    I::IntoIter: Send + 'static,
    I::Item: Send + 'static,
{
    let (tx, rx) = scope.channel();
    let (stop, ctx) = (scope.shutdown_signal().clone(), scope.context().clone());
    scope.spawn_engine_as("generate", Role::Source, move |stage| {
        // Ends on shutdown by itself too (no batch is cut in two).
        let src = IterSource::new(items, stage.clone(), &stop, &ctx, Arc::default());
        async move { engine::run_into(Box::new(src), tx, &stage).await }
    });
    rx
}
