//! [`square`]: the `sq` stage of Go's pipeline pattern.

use std::ops::Mul;

use weir_core::chan::Receiver;

use crate::engine::{Faults, Step};
use crate::scope::Scope;

/// Squares every item: the `sq` stage of Go's pipeline pattern
/// (`gen → sq → sum`), a thin specialisation of
/// [`map`](crate::map) for any `T: Mul<Output = T> + Copy` (all the integer
/// and float types).
///
/// Arithmetic overflow behaves as `n * n` does in your build: it panics in
/// debug builds (reported as [`Error::Panicked`](crate::Error::Panicked)
/// naming this stage) and wraps in release builds. Use
/// [`try_map`](crate::try_map) with `checked_mul` to make overflow an error.
///
/// Order: output order is input order.
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
/// let squares = stage::square(&scope, stage::generate(&scope, 1..=3));
/// let all = stage::collect::<_, Vec<i32>>(&scope, squares);
/// assert_eq!(all.await.unwrap(), [1, 4, 9]);
/// # }
/// ```
pub fn square<T>(scope: &Scope, input: Receiver<T>) -> Receiver<T>
where
    T: Mul<Output = T> + Copy + Send + 'static,
{
    scope.spawn_step(input, Square)
}

/// The [`square`] step: `n * n` for every item of a batch. What both
/// [`stage::square`](square) and the builder's `Flow::square` run.
///
/// # Examples
///
/// ```
/// use weir_stage::engine::{Faults, Step};
/// use weir_stage::steps::Square;
///
/// let mut out = Vec::new();
/// Square.step(vec![2, 3].drain(..), &mut out, &mut Faults::fail_fast());
/// assert_eq!(out, [4, 9]);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Square;

impl<T> Step<T> for Square
where
    T: Mul<Output = T> + Copy + Send + 'static,
{
    type Out = T;
    const KIND: &'static str = "square";

    fn step(&mut self, input: std::vec::Drain<'_, T>, out: &mut Vec<T>, _: &mut Faults) {
        out.extend(input.map(|n| n * n));
    }
}
