//! [`take_while`]: items while a predicate holds, then stop.

use weir_core::chan::Receiver;

use crate::engine::{Faults, Step};
use crate::scope::Scope;

/// Sends on items while `pred` returns `true`, in order; at the first item
/// it rejects (which is dropped) it ends: its output closes and it drops
/// its input, so upstream stops too.
///
/// `pred` runs in the stage's task, so it should be quick.
///
/// # Panics
///
/// Outside a tokio runtime, like [`tokio::spawn`]. A panic in `pred` does
/// not unwind here: it becomes [`Error::Panicked`](crate::Error::Panicked)
/// naming this stage.
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
/// let endless = stage::generate(&scope, 1u64..);
/// let small = stage::take_while(&scope, endless, |n| n * n < 20);
/// let all = stage::collect::<_, Vec<_>>(&scope, small);
/// scope.wait().await.unwrap();
/// assert_eq!(all.await.unwrap(), [1, 2, 3, 4]);
/// # }
/// ```
pub fn take_while<T, P>(scope: &Scope, input: Receiver<T>, pred: P) -> Receiver<T>
where
    T: Send + 'static,
    P: FnMut(&T) -> bool + Send + 'static,
{
    scope.spawn_step(input, TakeWhile::new(pred))
}

/// The [`take_while`] step: lets items through while `pred` holds, then is
/// [done](Step::is_done). What both [`stage::take_while`](take_while) and
/// the builder's `Flow::take_while` run.
///
/// # Examples
///
/// ```
/// use weir_stage::engine::{Faults, Step};
/// use weir_stage::steps::TakeWhile;
///
/// let (mut step, mut out) = (TakeWhile::new(|c: &char| c.is_ascii_digit()), Vec::new());
/// step.step("12a3".chars().collect::<Vec<_>>().drain(..), &mut out, &mut Faults::fail_fast());
/// assert_eq!(out, ['1', '2']);
/// assert!(Step::<char>::is_done(&step));
/// ```
pub struct TakeWhile<P> {
    pred: P,
    done: bool,
}

impl<P> TakeWhile<P> {
    /// The step letting items through while `pred` holds.
    ///
    /// # Examples
    ///
    /// See [`TakeWhile`].
    pub fn new(pred: P) -> TakeWhile<P> {
        TakeWhile { pred, done: false }
    }
}

impl<T, P> Step<T> for TakeWhile<P>
where
    T: Send + 'static,
    P: FnMut(&T) -> bool + Send + 'static,
{
    type Out = T;
    const KIND: &'static str = "take_while";

    fn step(&mut self, input: std::vec::Drain<'_, T>, out: &mut Vec<T>, _: &mut Faults) {
        for item in input {
            if self.done || !(self.pred)(&item) {
                self.done = true;
                return;
            }
            out.push(item);
        }
    }

    fn is_done(&self) -> bool {
        self.done
    }
}

impl<P> std::fmt::Debug for TakeWhile<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TakeWhile")
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}
