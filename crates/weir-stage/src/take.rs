//! [`take`]: the first `n` items, then stop.

use weir_core::chan::Receiver;

use crate::engine::{Faults, Step};
use crate::scope::Scope;

/// Sends on the first `n` items, in order, then ends: its output closes
/// and it drops its input, so upstream stops too (an endless generator
/// stops cleanly, and the scope finishes `Ok`). Items upstream had already
/// produced past the `n`th are dropped.
///
/// `n == 0` sends nothing and stops upstream at once.
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
/// let endless = stage::generate(&scope, 0u64..);
/// let first = stage::take(&scope, endless, 3);
/// let all = stage::collect::<_, Vec<_>>(&scope, first);
/// scope.wait().await.unwrap(); // the endless generator stopped
/// assert_eq!(all.await.unwrap(), [0, 1, 2]);
/// # }
/// ```
pub fn take<T>(scope: &Scope, input: Receiver<T>, n: usize) -> Receiver<T>
where
    T: Send + 'static,
{
    scope.spawn_step(input, Take::new(n))
}

/// The [`take`] step: lets `n` items through, then is
/// [done](Step::is_done). What both [`stage::take`](take) and the
/// builder's `Flow::take` run.
///
/// # Examples
///
/// ```
/// use weir_stage::engine::{Faults, Step};
/// use weir_stage::steps::Take;
///
/// let (mut take, mut out) = (Take::new(3), Vec::new());
/// take.step(vec![1, 2].drain(..), &mut out, &mut Faults::fail_fast());
/// take.step(vec![3, 4].drain(..), &mut out, &mut Faults::fail_fast());
/// assert_eq!(out, [1, 2, 3]);
/// assert!(Step::<i32>::is_done(&take));
/// ```
#[derive(Debug, Clone)]
pub struct Take {
    left: usize,
}

impl Take {
    /// The step letting `n` items through.
    ///
    /// # Examples
    ///
    /// See [`Take`].
    pub fn new(n: usize) -> Take {
        Take { left: n }
    }
}

impl<T: Send + 'static> Step<T> for Take {
    type Out = T;
    const KIND: &'static str = "take";

    fn step(&mut self, input: std::vec::Drain<'_, T>, out: &mut Vec<T>, _: &mut Faults) {
        let k = self.left.min(input.len());
        out.extend(input.take(k));
        self.left -= k;
    }

    fn is_done(&self) -> bool {
        self.left == 0
    }
}
