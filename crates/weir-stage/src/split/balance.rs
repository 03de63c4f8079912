//! [`balance`]: competing consumers, Go's `fanOut`.

use weir_core::chan::Receiver;

use crate::error::ConfigError;
use crate::forward::relay;
use crate::scope::{Role, Scope};

/// Splits `input` over `n` branches that compete for items: each item goes
/// to exactly one branch, whichever is ready first — Go's `fanOut`, where
/// `n` workers range over one channel.
///
/// The `n` branches are clones of one [`Receiver`] (each item goes to one
/// receiver, see [`Receiver`]'s docs), fed by a stage that moves items from
/// `input` in batches. A fast branch takes more, a slow one less, and a
/// branch that is not receiving takes nothing: no branch ever waits for
/// another. The granularity is whatever a branch takes at once: a plain
/// [`recv`](Receiver::recv) takes one item, a stage takes what is buffered
/// (up to its batch). So put the slow work *inside* the branch's stage
/// (for example [`then`](crate::then)) and it is balanced item by item.
///
/// Why a stage and not `n` clones of `input` itself (which is all Go's
/// `fanOut` does, and what `input.clone()` gives you for free)? The stage
/// makes the branches part of the scope like every other stage's output:
/// they close when the scope is cancelled even if `input` comes from
/// outside the scope, they have the scope's capacity, and the stage has a
/// name. It costs one extra batched hand-off.
///
/// Order: each branch receives its items in input order (there is no order
/// across branches).
///
/// A dropped branch simply stops competing: the others take everything,
/// and since the branches share one channel, items buffered when a branch
/// was dropped are not lost. When every branch is dropped the stage stops,
/// even while `input` is idle, and drops `input` so upstream stops too.
///
/// # Errors
///
/// [`ConfigError::Zero`] with `what: "branches"` when `n` is 0.
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
/// let jobs = stage::generate(&scope, 1..=100u64);
/// let workers = stage::balance(&scope, jobs, 4).unwrap();
/// let results = workers.into_iter().map(|jobs| stage::square(&scope, jobs));
/// let total = stage::fold(&scope, stage::merge(&scope, results), 0, |a, n| a + n);
/// assert_eq!(total.await, Ok(338_350));
/// # }
/// ```
pub fn balance<T>(
    scope: &Scope,
    input: Receiver<T>,
    n: usize,
) -> Result<Vec<Receiver<T>>, ConfigError>
where
    T: Send + 'static,
{
    if n == 0 {
        return Err(super::zero_branches(scope, "balance"));
    }
    let (tx, rx) = scope.channel();
    scope.spawn_stage("balance", Role::Stage, move |_| async move {
        relay(&input, &tx).await;
        Ok(())
    });
    Ok(vec![rx; n])
}
