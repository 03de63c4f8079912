//! [`count`]: a sink that counts the items.

use weir_core::chan::Receiver;

use crate::driver::SinkOutput;
use crate::engine::SinkStep;
use crate::scope::Scope;

/// Counts every item. The returned [`SinkOutput`] resolves to the count.
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
/// let n = stage::count(&scope, stage::generate(&scope, 0..42));
/// assert_eq!(n.await, Ok(42));
/// # }
/// ```
pub fn count<T: Send + 'static>(scope: &Scope, input: Receiver<T>) -> SinkOutput<u64> {
    scope.spawn_sink(input, Count::default())
}

/// The [`count`] sink. What both [`stage::count`](count) and the builder's
/// `Flow::count` run.
///
/// # Examples
///
/// ```
/// use weir_stage::engine::SinkStep;
/// use weir_stage::steps::Count;
///
/// let mut n = Count::default();
/// SinkStep::<u8>::consume(&mut n, vec![1, 2, 3].drain(..));
/// assert_eq!(SinkStep::<u8>::finish(n), 3);
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct Count(u64);

impl<T: Send + 'static> SinkStep<T> for Count {
    type Output = u64;
    const KIND: &'static str = "count";

    fn consume(&mut self, input: std::vec::Drain<'_, T>) {
        self.0 += input.len() as u64;
    }

    fn finish(self) -> u64 {
        self.0
    }
}
