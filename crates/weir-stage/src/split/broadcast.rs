//! [`broadcast`]: every branch gets every item.

use weir_core::chan::Receiver;

use super::Branches;
use crate::driver::BATCH;
use crate::error::ConfigError;
use crate::scope::{Role, Scope};

/// Copies `input` to `n` branches: every branch gets every item (a clone;
/// the last live branch gets the original). This is the one split that does
/// not send each item to exactly one branch.
///
/// The slowest branch sets the pace: the stage sends each batch to every
/// branch at once and takes the next batch only when all of them have taken
/// this one, so a branch that falls a channel's capacity behind stalls the
/// others (memory stays bounded). To let one branch lag, give the views
/// more capacity ([`Scope::with_capacity`]) or put a buffering stage on it.
///
/// Cloning runs in the stage's task; a panic in `T::clone` becomes
/// [`Error::Panicked`](crate::Error::Panicked) naming this stage. Wrap
/// large items in an `Arc` to make the copies cheap.
///
/// Order: every branch receives every item, in input order.
///
/// A dropped branch (all its receivers gone) is skipped: the others keep
/// receiving everything, and no item is lost for them. When every branch
/// is dropped the stage stops, even while `input` is idle, and drops
/// `input` so upstream stops too.
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
/// let nums = stage::generate(&scope, 1..=4u64);
/// let [a, b]: [_; 2] = stage::broadcast(&scope, nums, 2).unwrap().try_into().unwrap();
/// let sum = stage::fold(&scope, a, 0, |acc, n| acc + n);
/// let max = stage::fold(&scope, b, 0, u64::max);
/// assert_eq!(sum.await, Ok(10));
/// assert_eq!(max.await, Ok(4));
/// # }
/// ```
pub fn broadcast<T>(
    scope: &Scope,
    input: Receiver<T>,
    n: usize,
) -> Result<Vec<Receiver<T>>, ConfigError>
where
    T: Clone + Send + 'static,
{
    let (mut branches, outputs) = Branches::open(scope, "broadcast", n)?;
    scope.spawn_stage("broadcast", Role::Stage, move |_| async move {
        let mut batch = Vec::with_capacity(BATCH);
        let mut copies: Vec<Vec<T>> = (0..n).map(|_| Vec::new()).collect();
        while branches.recv(&input, &mut batch).await > 0 {
            if branches.prune() == 0 {
                return Ok(());
            }
            let last = (0..n).rev().find(|&k| branches.is_live(k)).unwrap_or(0);
            for (k, copy) in copies.iter_mut().enumerate().take(last) {
                if branches.is_live(k) {
                    copy.extend_from_slice(&batch);
                }
            }
            copies[last].append(&mut batch);
            // A branch dropped meanwhile refuses its copy: nothing is lost.
            branches.send(&mut copies).await;
        }
        Ok(())
    });
    Ok(outputs)
}
