//! [`skip`]: drops the first `n` items.

use weir_core::chan::Receiver;

use crate::engine::{Faults, Step};
use crate::scope::Scope;

/// Drops the first `n` items and sends on the rest, in order.
///
/// # Panics
///
/// Outside a tokio runtime, like [`tokio::spawn`].
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
/// let lines = stage::generate(&scope, ["header", "a", "b"]);
/// let body = stage::skip(&scope, lines, 1);
/// let all = stage::collect::<_, Vec<_>>(&scope, body);
/// assert_eq!(all.await.unwrap(), ["a", "b"]);
/// # }
/// ```
pub fn skip<T>(scope: &Scope, input: Receiver<T>, n: usize) -> Receiver<T>
where
    T: Send + 'static,
{
    scope.spawn_step(input, Skip::new(n))
}

/// The [`skip`] step: drops `n` items, then lets everything through. What
/// both [`stage::skip`](skip) and the builder's `Flow::skip` run.
///
/// # Examples
///
/// ```
/// use weir_stage::engine::{Faults, Step};
/// use weir_stage::steps::Skip;
///
/// let (mut skip, mut out) = (Skip::new(3), Vec::new());
/// skip.step(vec![1, 2].drain(..), &mut out, &mut Faults::fail_fast());
/// skip.step(vec![3, 4, 5].drain(..), &mut out, &mut Faults::fail_fast());
/// assert_eq!(out, [4, 5]);
/// ```
#[derive(Debug, Clone)]
pub struct Skip {
    left: usize,
}

impl Skip {
    /// The step dropping the first `n` items.
    ///
    /// # Examples
    ///
    /// See [`Skip`].
    pub fn new(n: usize) -> Skip {
        Skip { left: n }
    }
}

impl<T: Send + 'static> Step<T> for Skip {
    type Out = T;
    const KIND: &'static str = "skip";

    fn step(&mut self, input: std::vec::Drain<'_, T>, out: &mut Vec<T>, _: &mut Faults) {
        let k = self.left.min(input.len());
        self.left -= k;
        out.extend(input.skip(k));
    }
}
