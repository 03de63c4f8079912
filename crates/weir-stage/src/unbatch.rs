//! [`unbatch`]: flattens batches back into single items.

use weir_core::chan::Receiver;

use crate::scope::Scope;

/// Sends on every item of every batch it receives: the inverse of
/// [`batch`](crate::batch), for any `I: IntoIterator` (a `Vec`, an array,
/// an `Option`…). A thin specialisation of [`flat_map`](crate::flat_map).
///
/// A large batch is sent on at most 64 items at a time as the output makes
/// room, so memory stays bounded by the batch itself and the channel.
///
/// Order: items leave in batch order, and within a batch in its iteration
/// order.
///
/// When every receiver of the output is dropped, the stage stops (even
/// part-way through a batch, or while its input is idle) and drops its
/// input, which stops the upstream stage in turn.
///
/// # Panics
///
/// Outside a tokio runtime, like [`tokio::spawn`]. A panic while iterating
/// a batch does not unwind here: it becomes
/// [`Error::Panicked`](crate::Error::Panicked) naming this stage.
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
/// let batches = stage::generate(&scope, [vec![1, 2], vec![], vec![3]]);
/// let items = stage::unbatch(&scope, batches);
/// let all = stage::collect::<_, Vec<_>>(&scope, items);
/// assert_eq!(all.await.unwrap(), [1, 2, 3]);
/// # }
/// ```
pub fn unbatch<I>(scope: &Scope, input: Receiver<I>) -> Receiver<I::Item>
where
    I: IntoIterator + Send + 'static,
    I::IntoIter: Send,
    I::Item: Send + 'static,
{
    crate::flat_map::flat_map_as(scope, "unbatch", input, |batch| batch)
}
