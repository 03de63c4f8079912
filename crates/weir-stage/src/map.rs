//! [`map`]: a synchronous one-to-one transform.

use weir_core::chan::Receiver;

use crate::driver::pump;
use crate::scope::{Role, Scope};

/// Applies `f` to every item, in order: Go's
/// `for n := range in { out <- f(n) }` stage.
///
/// `f` runs in the stage's task, so it should be quick and not block; for
/// async work use [`then`](crate::then) or
/// [`map_concurrent`](crate::map_concurrent), for CPU-heavy work spread
/// over cores use [`worker_pool`](crate::worker_pool). A panic in `f` becomes
/// [`Error::Panicked`](crate::Error::Panicked) naming this stage.
///
/// Order: output order is input order.
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
/// let words = stage::generate(&scope, ["go", "rust"]);
/// let lens = stage::map(&scope, words, str::len);
/// let all = stage::collect::<_, Vec<_>>(&scope, lens);
/// assert_eq!(all.await.unwrap(), [2, 4]);
/// # }
/// ```
pub fn map<T, U, F>(scope: &Scope, input: Receiver<T>, f: F) -> Receiver<U>
where
    T: Send + 'static,
    U: Send + 'static,
    F: FnMut(T) -> U + Send + 'static,
{
    map_as(scope, "map", input, f)
}

/// [`map`] under another default stage name (`kind#N`).
pub(crate) fn map_as<T, U, F>(
    scope: &Scope,
    kind: &str,
    input: Receiver<T>,
    mut f: F,
) -> Receiver<U>
where
    T: Send + 'static,
    U: Send + 'static,
    F: FnMut(T) -> U + Send + 'static,
{
    let (tx, rx) = scope.channel();
    scope.spawn_stage(kind, Role::Stage, move |_| {
        pump(input, tx, move |batch, out| {
            out.extend(batch.map(&mut f));
            Ok(())
        })
    });
    rx
}
