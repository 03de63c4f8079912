//! [`route`]: each item to the branch a function picks.

use weir_core::chan::Receiver;

use super::Branches;
use crate::driver::BATCH;
use crate::error::{BoxError, BranchOutOfRange, ConfigError, Message};
use crate::scope::{Role, Scope};

/// Splits `input` over `n` fixed branches, sending each item to branch
/// `index(&item)` and only to it: `Ok` results to one sink and `Err` to
/// another, a message to the handler for its type. (To spread by a hash of
/// a key instead, use [`partition`](crate::partition), which is this stage
/// with a hashing `index`.)
///
/// `index` runs in the stage's task, so it should be quick; a panic in it
/// becomes [`Error::Panicked`](crate::Error::Panicked) naming this stage.
/// A full branch stalls the others (the stage waits for it before taking
/// the next batch).
///
/// Order: each branch receives its items in input order.
///
/// A dropped branch (all its receivers gone) is not replaced, since the
/// branch is the item's meaning: the first item that finds its branch
/// dropped is reported through the scope's policy, as for
/// [`partition`](crate::partition) (see there). When every branch is
/// dropped the stage stops, even while `input` is idle, and drops `input`
/// so upstream stops too.
///
/// # Errors
///
/// [`ConfigError::Zero`] with `what: "branches"` when `n` is 0. While it
/// runs, an `index` of `n` or more fails the stage with
/// [`Error::Failed`](crate::Error::Failed) naming it, whose source is a
/// [`BranchOutOfRange`]; the items before it are delivered, and the scope
/// is cancelled (it never panics).
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
/// let parsed = stage::map(&scope, stage::generate(&scope, ["1", "x", "3"]), |s: &str| s.parse::<u8>());
/// let [ok, bad]: [_; 2] = stage::route(&scope, parsed, 2, |r| usize::from(r.is_err()))
///     .unwrap()
///     .try_into()
///     .unwrap();
/// let ok = stage::collect::<_, Vec<_>>(&scope, ok);
/// let bad = stage::count(&scope, bad);
/// assert_eq!(ok.await.unwrap(), [Ok(1), Ok(3)]);
/// assert_eq!(bad.await, Ok(1));
/// # }
/// ```
pub fn route<T, F>(
    scope: &Scope,
    input: Receiver<T>,
    n: usize,
    index: F,
) -> Result<Vec<Receiver<T>>, ConfigError>
where
    T: Send + 'static,
    F: FnMut(&T) -> usize + Send + 'static,
{
    dispatch(scope, "route", input, n, index)
}

/// The stage behind [`route`] and [`partition`](crate::partition): item
/// to branch `index(&item)`.
pub(super) fn dispatch<T, F>(
    scope: &Scope,
    kind: &'static str,
    input: Receiver<T>,
    n: usize,
    mut index: F,
) -> Result<Vec<Receiver<T>>, ConfigError>
where
    T: Send + 'static,
    F: FnMut(&T) -> usize + Send + 'static,
{
    let (mut branches, outputs) = Branches::open(scope, kind, n)?;
    scope.spawn_stage(kind, Role::Stage, move |stage| async move {
        let mut batch = Vec::with_capacity(BATCH);
        let mut shares: Vec<Vec<T>> = (0..n).map(|_| Vec::new()).collect();
        let mut reported = vec![false; n];
        while branches.recv(&input, &mut batch).await > 0 {
            if branches.prune() == 0 {
                return Ok(());
            }
            let mut out_of_range = None;
            for item in batch.drain(..) {
                match index(&item) {
                    k if k < n => shares[k].push(item),
                    k => {
                        out_of_range = Some(BranchOutOfRange {
                            index: k,
                            branches: n,
                        });
                        break;
                    }
                }
            }
            // Items for a dropped branch come back refused: report, drop.
            // A branch that stopped because the scope was cancelled is no
            // fault of its own: the cancellation is the outcome. One that
            // failed reports its own error, which wins over this report.
            for (k, refused) in branches.send(&mut shares).await {
                if stage.context().is_cancelled() {
                    return Ok(());
                }
                if !std::mem::replace(&mut reported[k], true) {
                    stage.report_consequence(Box::new(Message(format!(
                        "branch {k} of {n} was dropped while items for it kept coming; \
                         {} item(s) for it dropped, and any more will be",
                        refused.len()
                    ))));
                }
            }
            if let Some(e) = out_of_range {
                return Err(Box::new(e) as BoxError);
            }
        }
        Ok(())
    });
    Ok(outputs)
}
