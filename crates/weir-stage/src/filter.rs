//! [`filter`]: keeps the items a predicate accepts.

use weir_core::chan::Receiver;

use crate::driver::pump;
use crate::scope::{Role, Scope};

/// Sends on only the items for which `pred` returns `true`: Go's
/// `for v := range in { if pred(v) { out <- v } }`.
///
/// `pred` runs in the stage's task, so it should be quick and not block.
///
/// Order: the items kept leave in input order.
///
/// When every receiver of the output is dropped, the stage stops at its
/// next send and drops its input, which stops the upstream stage in turn.
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
/// let nums = stage::generate(&scope, 1..=10);
/// let even = stage::filter(&scope, nums, |n: &i32| n % 2 == 0);
/// let all = stage::collect::<_, Vec<_>>(&scope, even);
/// assert_eq!(all.await.unwrap(), [2, 4, 6, 8, 10]);
/// # }
/// ```
pub fn filter<T, P>(scope: &Scope, input: Receiver<T>, mut pred: P) -> Receiver<T>
where
    T: Send + 'static,
    P: FnMut(&T) -> bool + Send + 'static,
{
    let (tx, rx) = scope.channel();
    scope.spawn_stage("filter", Role::Stage, move |_| {
        pump(input, tx, move |batch, out| {
            out.extend(batch.filter(|item| pred(item)));
            Ok(())
        })
    });
    rx
}
