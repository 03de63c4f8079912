//! [`round_robin`]: strict turns over `n` branches.

use weir_core::chan::Receiver;

use super::Branches;
use crate::driver::BATCH;
use crate::error::ConfigError;
use crate::scope::{Role, Scope};

/// Splits `input` over `n` branches in strict turns: item `i` goes to
/// branch `i % n`, and only to it (each item goes to exactly one branch).
///
/// The turns are strict, so a slow branch stalls the others: when it is
/// full the stage waits for it before going on, and the fast branches wait
/// too. For competing consumers that never wait for each other use
/// [`balance`](crate::balance); see the [`split`](crate::split) guide.
///
/// Order: each branch receives its items in input order (branch `k` gets
/// items `k`, `k + n`, `k + 2n`, …).
///
/// A dropped branch (all its receivers gone) is skipped: from then on its
/// turns go to the next live branch, so the live branches share its items
/// and none is lost by the stage. (Items already buffered in the dropped
/// branch's channel go with it, as for any channel.) The stage notices a
/// dropped branch before each batch; if a branch is dropped while the stage
/// is sending to it, the items it refused are dealt to the live branches
/// after the ones they were just given — the only case where a branch can
/// receive items out of input order. When every branch is dropped the
/// stage stops, even while `input` is idle, and drops `input` so upstream
/// stops too.
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
/// let nums = stage::generate(&scope, 0..7);
/// let [even, odd]: [_; 2] = stage::round_robin(&scope, nums, 2).unwrap().try_into().unwrap();
/// let even = stage::collect::<_, Vec<_>>(&scope, even);
/// let odd = stage::collect::<_, Vec<_>>(&scope, odd);
/// assert_eq!(even.await.unwrap(), [0, 2, 4, 6]);
/// assert_eq!(odd.await.unwrap(), [1, 3, 5]);
/// # }
/// ```
pub fn round_robin<T>(
    scope: &Scope,
    input: Receiver<T>,
    n: usize,
) -> Result<Vec<Receiver<T>>, ConfigError>
where
    T: Send + 'static,
{
    let (mut branches, outputs) = Branches::open(scope, "round_robin", n)?;
    scope.spawn_stage("round_robin", Role::Stage, move |_| async move {
        let mut batch = Vec::with_capacity(BATCH);
        let mut shares: Vec<Vec<T>> = (0..n).map(|_| Vec::new()).collect();
        // The branch whose turn the next item is.
        let mut turn = 0;
        while branches.recv(&input, &mut batch).await > 0 {
            // Deal the batch; what a branch refused because it was dropped
            // meanwhile is dealt again over the live ones.
            while !batch.is_empty() {
                if branches.prune() == 0 {
                    return Ok(());
                }
                for item in batch.drain(..) {
                    while !branches.is_live(turn) {
                        turn = (turn + 1) % n;
                    }
                    shares[turn].push(item);
                    turn = (turn + 1) % n;
                }
                for (_, refused) in branches.send(&mut shares).await {
                    batch.extend(refused);
                }
            }
        }
        Ok(())
    });
    Ok(outputs)
}
