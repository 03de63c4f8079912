//! [`collect`]: a sink that gathers every item into a collection.

use weir_core::chan::Receiver;

use crate::driver::SinkOutput;
use crate::engine::SinkStep;
use crate::scope::Scope;

/// Gathers every item, in order, into any collection `C: Default + Extend`
/// (a `Vec`, a `HashSet`, a `String`…).
///
/// Memory grows with the input: collect only bounded inputs.
///
/// # Examples
///
/// ```
/// use std::collections::BTreeSet;
/// use weir_cancel::Context;
/// use weir_stage::{self as stage, Scope};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let scope = Scope::new(&Context::background());
/// let set = stage::collect::<_, BTreeSet<_>>(&scope, stage::generate(&scope, [3, 1, 3]));
/// assert_eq!(set.await.unwrap().into_iter().collect::<Vec<_>>(), [1, 3]);
/// # }
/// ```
pub fn collect<T, C>(scope: &Scope, input: Receiver<T>) -> SinkOutput<C>
where
    T: Send + 'static,
    C: Default + Extend<T> + Send + 'static,
{
    scope.spawn_sink(input, Collect::<C>::default())
}

/// The [`collect`] sink: extends a collection with every batch. What both
/// [`stage::collect`](collect) and the builder's `Flow::collect` run.
///
/// # Examples
///
/// ```
/// use weir_stage::engine::SinkStep;
/// use weir_stage::steps::Collect;
///
/// let mut all = Collect::<String>::default();
/// all.consume(vec!['h', 'i'].drain(..));
/// assert_eq!(SinkStep::<char>::finish(all), "hi");
/// ```
#[derive(Debug, Default)]
pub struct Collect<C>(C);

impl<T, C> SinkStep<T> for Collect<C>
where
    T: Send + 'static,
    C: Extend<T> + Send + 'static,
{
    type Output = C;
    const KIND: &'static str = "collect";

    fn consume(&mut self, input: std::vec::Drain<'_, T>) {
        self.0.extend(input);
    }

    fn finish(self) -> C {
        self.0
    }
}
