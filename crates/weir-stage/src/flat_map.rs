//! [`flat_map`]: one item in, any number of items out.

use weir_core::chan::Receiver;

use crate::driver::BATCH;
use crate::engine::Door;
use crate::scope::{Role, Scope};

/// Applies `f` to every item and sends on every item of the iterable it
/// returns: one input item becomes zero, one or many output items.
///
/// The expansion is sent on lazily, at most 64 items at a time, as the
/// output makes room: an item that expands to millions of outputs (a lazy
/// iterator, say) never has its expansion held in memory, and a slow
/// consumer slows the iteration down. `f` and the iterator run in the
/// stage's task, so they should be quick and not block.
///
/// Order: the outputs of an item leave in the iterator's order, and the
/// outputs of one item all leave before those of the next.
///
/// When every receiver of the output is dropped, the stage stops (even
/// part-way through an expansion, or while its input is idle) and drops its
/// input, which stops the upstream stage in turn.
///
/// # Panics
///
/// Outside a tokio runtime, like [`tokio::spawn`]. A panic in `f` or in the
/// iterator does not unwind here: it becomes
/// [`Error::Panicked`](crate::Error::Panicked) naming this stage.
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
/// let lines = stage::generate(&scope, ["a b", "c"]);
/// let words = stage::flat_map(&scope, lines, |line: &str| line.split(' '));
/// let all = stage::collect::<_, Vec<_>>(&scope, words);
/// assert_eq!(all.await.unwrap(), ["a", "b", "c"]);
/// # }
/// ```
pub fn flat_map<T, U, I, F>(scope: &Scope, input: Receiver<T>, f: F) -> Receiver<U>
where
    T: Send + 'static,
    U: Send + 'static,
    I: IntoIterator<Item = U>,
    I::IntoIter: Send,
    F: FnMut(T) -> I + Send + 'static,
{
    flat_map_as(scope, "flat_map", input, f)
}

/// [`flat_map`] under another default stage name (`kind#N`).
pub(crate) fn flat_map_as<T, U, I, F>(
    scope: &Scope,
    kind: &'static str,
    input: Receiver<T>,
    mut f: F,
) -> Receiver<U>
where
    T: Send + 'static,
    U: Send + 'static,
    I: IntoIterator<Item = U>,
    I::IntoIter: Send,
    F: FnMut(T) -> I + Send + 'static,
{
    let (tx, rx) = scope.channel();
    scope.spawn_stage(kind, Role::Stage, move |_| async move {
        let door = Door::new(&input, &tx);
        let mut batch = Vec::with_capacity(BATCH);
        let mut out = Vec::with_capacity(BATCH);
        while let Some(1..) = door.recv(&mut batch, BATCH).await {
            for item in batch.drain(..) {
                for value in f(item) {
                    out.push(value);
                    if out.len() == BATCH && !door.flush(&mut out).await {
                        return Ok(());
                    }
                }
            }
            if !door.flush(&mut out).await {
                return Ok(());
            }
        }
        Ok(())
    });
    rx
}
