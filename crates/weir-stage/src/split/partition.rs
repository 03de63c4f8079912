//! [`partition`]: the same key always goes to the same branch.

use std::hash::{DefaultHasher, Hash, Hasher};

use weir_core::chan::Receiver;

use crate::error::ConfigError;
use crate::scope::Scope;

/// Splits `input` over `n` branches by key: every item whose
/// `key_fn(&item)` is equal goes to the same branch (each item goes to
/// exactly one branch), so one branch sees all of a key's items, in order.
///
/// The branch is chosen by hashing the key. The assignment is fixed for the
/// life of the stage (and deterministic for a given build), but it is not a
/// stable, documented function: do not store it. How evenly keys spread
/// depends on the keys — a hot key loads its branch.
///
/// `key_fn` runs in the stage's task, so it should be quick; a panic in it
/// becomes [`Error::Panicked`](crate::Error::Panicked) naming this stage. A
/// full branch stalls the others (the stage waits for it before taking the
/// next batch).
///
/// Order: all items of one key arrive at their branch in input order; more
/// generally each branch receives its items in input order.
///
/// A dropped branch (all its receivers gone) cannot be replaced without
/// breaking "same key, same branch", so items for it are **not** rerouted:
/// the first item that finds its branch dropped is reported as an error
/// through the scope's policy ([`Error::Failed`](crate::Error::Failed)
/// naming this stage). By default that fails the stage and cancels the
/// scope. Under [`collect_errors`](crate::ScopeBuilder::collect_errors) the
/// error is recorded once per dropped branch, the items for that branch are
/// dropped (the error says so) and the other branches keep being served.
/// A branch dropped while no more items come for it is no error. When every
/// branch is dropped the stage stops quietly, even while `input` is idle,
/// and drops `input` so upstream stops too.
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
/// let events = stage::generate(&scope, [("ann", 1), ("bob", 1), ("ann", 2), ("bob", 2)]);
/// let shards = stage::partition(&scope, events, 2, |(user, _)| *user).unwrap();
/// let shards: Vec<_> = shards.into_iter().map(|s| stage::collect::<_, Vec<_>>(&scope, s)).collect();
/// for shard in shards {
///     let events = shard.await.unwrap();
///     for user in ["ann", "bob"] {
///         let seq: Vec<_> = events.iter().filter(|(u, _)| *u == user).map(|(_, n)| *n).collect();
///         assert!(seq.is_empty() || seq == [1, 2]); // all of a user's events, in order, or none
///     }
/// }
/// # }
/// ```
pub fn partition<T, K, F>(
    scope: &Scope,
    input: Receiver<T>,
    n: usize,
    mut key_fn: F,
) -> Result<Vec<Receiver<T>>, ConfigError>
where
    T: Send + 'static,
    K: Hash,
    F: FnMut(&T) -> K + Send + 'static,
{
    super::route::dispatch(scope, "partition", input, n, move |item| {
        branch_of(&key_fn(item), n)
    })
}

/// The branch of `key`, out of `n`.
fn branch_of<K: Hash>(key: &K, n: usize) -> usize {
    let mut hasher = DefaultHasher::new();
    key.hash(&mut hasher);
    (hasher.finish() % n as u64) as usize
}
