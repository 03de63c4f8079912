//! [`zip`]: pairs the items of two inputs.

use weir_core::chan::Receiver;

use crate::driver::BATCH;
use crate::engine::{Door, Received};
use crate::scope::{Role, Scope};

/// Pairs the `n`-th item of `left` with the `n`-th item of `right`:
/// Rust's `Iterator::zip`, Akka's `zip`. It ends as soon as either input
/// ends (and nothing it holds can be paired any more): the other input is
/// dropped, which stops its upstream; its unpaired items are dropped.
///
/// The faster input runs ahead of the slower one by at most a batch plus
/// its channel, then waits (backpressure).
///
/// Order: pairs in input order.
///
/// When every receiver of the output is dropped, the stage stops and drops
/// both inputs, which stops both upstreams in turn.
///
/// # Panics
///
/// Outside a tokio runtime, like [`tokio::spawn`].
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
/// let names = stage::generate(&scope, ["a", "b", "c"]);
/// let ids = stage::generate(&scope, 1..); // endless: zip ends with `names`
/// let pairs = stage::collect::<_, Vec<_>>(&scope, stage::zip(&scope, names, ids));
/// assert_eq!(pairs.await.unwrap(), [("a", 1), ("b", 2), ("c", 3)]);
/// scope.wait().await.unwrap();
/// # }
/// ```
pub fn zip<A, B>(scope: &Scope, left: Receiver<A>, right: Receiver<B>) -> Receiver<(A, B)>
where
    A: Send + 'static,
    B: Send + 'static,
{
    let (tx, rx) = scope.channel();
    scope.spawn_stage("zip", Role::Stage, move |_| async move {
        let (l, r) = (Door::new(&left, &tx), Door::new(&right, &tx));
        let (mut a, mut b) = (Vec::with_capacity(BATCH), Vec::with_capacity(BATCH));
        loop {
            let n = a.len().min(b.len());
            if n > 0 {
                let pairs: Vec<(A, B)> = a.drain(..n).zip(b.drain(..n)).collect();
                if !l.send(pairs).await {
                    return Ok(());
                }
            }
            let open = if a.is_empty() && b.is_empty() {
                // Either may end first: wait for whichever moves.
                let other = async { _ = right.recv_many(&mut b, BATCH).await };
                match l.recv_or(&mut a, BATCH, other).await {
                    Received::Items(n) => n > 0,
                    Received::Other => !b.is_empty(), // empty: `right` ended
                    Received::Closed => false,
                }
            } else if a.is_empty() {
                matches!(l.recv(&mut a, BATCH).await, Some(1..))
            } else {
                matches!(r.recv(&mut b, BATCH).await, Some(1..))
            };
            if !open {
                return Ok(());
            }
        }
    });
    rx
}
