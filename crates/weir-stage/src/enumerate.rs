//! [`enumerate`]: numbers the items, `(index, item)`.

use weir_core::chan::Receiver;

use crate::engine::{Faults, Step};
use crate::scope::Scope;

/// Pairs every item with its position in the input, counting from 0:
/// `Iterator::enumerate` as a stage (line numbers, sequence numbers for a
/// later reorder or dedup). The index is a `u64`, so a long-running stream
/// does not wrap on 32-bit targets.
///
/// Order: input order; the indexes are `0, 1, 2, …` with no gap.
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
/// let lines = stage::generate(&scope, ["GET /", "GET /a"]);
/// let numbered = stage::enumerate(&scope, lines);
/// let all = stage::collect::<_, Vec<_>>(&scope, numbered);
/// assert_eq!(all.await.unwrap(), [(0, "GET /"), (1, "GET /a")]);
/// # }
/// ```
pub fn enumerate<T>(scope: &Scope, input: Receiver<T>) -> Receiver<(u64, T)>
where
    T: Send + 'static,
{
    scope.spawn_step(input, Enumerate::new())
}

/// The [`enumerate`] step: a counter carried from batch to batch. What both
/// [`stage::enumerate`](enumerate) and the builder's `Flow::enumerate` run
/// (fused there with its neighbours).
///
/// # Examples
///
/// ```
/// use weir_stage::engine::{Faults, Step};
/// use weir_stage::steps::Enumerate;
///
/// let (mut step, mut out) = (Enumerate::new(), Vec::new());
/// step.step(vec!['a', 'b'].drain(..), &mut out, &mut Faults::fail_fast());
/// step.step(vec!['c'].drain(..), &mut out, &mut Faults::fail_fast());
/// assert_eq!(out, [(0, 'a'), (1, 'b'), (2, 'c')]);
/// ```
#[derive(Debug, Default)]
pub struct Enumerate {
    next: u64,
}

impl Enumerate {
    /// The step, counting from 0.
    ///
    /// # Examples
    ///
    /// See [`Enumerate`].
    pub fn new() -> Enumerate {
        Enumerate { next: 0 }
    }
}

impl<T: Send + 'static> Step<T> for Enumerate {
    type Out = (u64, T);
    const KIND: &'static str = "enumerate";

    fn step(&mut self, input: std::vec::Drain<'_, T>, out: &mut Vec<(u64, T)>, _: &mut Faults) {
        let next = &mut self.next;
        out.extend(input.map(|item| {
            let i = *next;
            *next += 1;
            (i, item)
        }));
    }
}
