//! [`filter_map`]: transforms items and keeps the `Some` results.

use weir_core::chan::Receiver;

use crate::driver::pump;
use crate::scope::{Role, Scope};

/// Applies `f` to every item and sends on the values of the `Some`
/// results; `None` drops the item. [`filter`](crate::filter) and
/// [`map`](crate::map) in one step.
///
/// `f` runs in the stage's task, so it should be quick and not block.
/// Unlike [`try_map`](crate::try_map), a dropped item is not an error: use
/// `filter_map` when "no value" is a normal outcome.
///
/// Order: the values sent on leave in input order.
///
/// When every receiver of the output is dropped, the stage stops at its
/// next send and drops its input, which stops the upstream stage in turn.
///
/// # Panics
///
/// Outside a tokio runtime, like [`tokio::spawn`]. A panic in `f` does not
/// unwind here: it becomes [`Error::Panicked`](crate::Error::Panicked)
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
/// let text = stage::generate(&scope, ["1", "two", "3"]);
/// let nums = stage::filter_map(&scope, text, |s: &str| s.parse::<u32>().ok());
/// let all = stage::collect::<_, Vec<_>>(&scope, nums);
/// assert_eq!(all.await.unwrap(), [1, 3]);
/// # }
/// ```
pub fn filter_map<T, U, F>(scope: &Scope, input: Receiver<T>, mut f: F) -> Receiver<U>
where
    T: Send + 'static,
    U: Send + 'static,
    F: FnMut(T) -> Option<U> + Send + 'static,
{
    let (tx, rx) = scope.channel();
    scope.spawn_stage("filter_map", Role::Stage, move |_| {
        pump(input, tx, move |batch, out| {
            out.extend(batch.filter_map(&mut f));
            Ok(())
        })
    });
    rx
}
