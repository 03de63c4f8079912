//! [`then`]: an asynchronous one-to-one transform.

use std::future::Future;
use std::pin::pin;
use std::task::Poll;

use weir_core::chan::Receiver;

use crate::driver::BATCH;
use crate::engine::Door;
use crate::scope::{Role, Scope, StageCx};

/// Applies the async function `f` to every item, one at a time, in order:
/// Go's `for n := range in { out <- f(ctx, n) }` where `f` does I/O.
///
/// Items are processed sequentially: the future for an item is awaited to
/// completion before the next item is taken, so at most one future of `f`
/// is alive at a time. For several at once use
/// [`map_concurrent`](crate::map_concurrent) (keeps order) or
/// [`map_unordered`](crate::map_unordered). For fallible jobs — retries
/// with backoff, skipping or dead-lettering the ones that fail — use
/// [`try_then`](crate::try_then).
///
/// Results of futures that complete at once are sent on in batches; as soon
/// as a future has to wait, the results gathered so far are sent first, so
/// a slow `f` never holds back a result it already produced.
///
/// Order: output order is input order.
///
/// When every receiver of the output is dropped, the stage stops — even
/// while `f` or the input is still pending — and drops its input, which
/// stops the upstream stage in turn.
///
/// # Cancel safety
///
/// When the scope is cancelled, the future of `f` that is in flight is
/// dropped at the point where it waits, and the items still queued are
/// dropped. [`OwnedScope::shutdown`](crate::OwnedScope::shutdown) does not cut a
/// future short: it runs to completion and its result is sent on.
///
/// # Panics
///
/// Outside a tokio runtime, like [`tokio::spawn`]. A panic in `f` or in its
/// future does not unwind here: it becomes
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
/// let ids = stage::generate(&scope, [3u64, 1, 2]);
/// let fetched = stage::then(&scope, ids, |id| async move {
///     tokio::task::yield_now().await; // stands for a database lookup
///     format!("user-{id}")
/// });
/// let all = stage::collect::<_, Vec<_>>(&scope, fetched);
/// assert_eq!(all.await.unwrap(), ["user-3", "user-1", "user-2"]);
/// # }
/// ```
pub fn then<T, U, F, Fut>(scope: &Scope, input: Receiver<T>, f: F) -> Receiver<U>
where
    T: Send + 'static,
    U: Send + 'static,
    F: FnMut(T) -> Fut + Send + 'static,
    Fut: Future<Output = U> + Send + 'static,
{
    spawn_then(scope, input, |_| f)
}

/// Spawns a `then` stage running the function `make` builds from the
/// stage's context; a future's output of `None` sends nothing (a failed
/// job a [`Recovery`](crate::Recovery) dealt with).
pub(crate) fn spawn_then<T, U, O, M, F, Fut>(
    scope: &Scope,
    input: Receiver<T>,
    make: M,
) -> Receiver<U>
where
    T: Send + 'static,
    U: Send + 'static,
    O: Into<Option<U>> + Send + 'static,
    M: FnOnce(&StageCx) -> F,
    F: FnMut(T) -> Fut + Send + 'static,
    Fut: Future<Output = O> + Send + 'static,
{
    let (tx, rx) = scope.channel();
    scope.spawn_stage("then", Role::Stage, move |cx| {
        let mut f = make(&cx);
        async move {
            let door = Door::new(&input, &tx);
            let mut batch = Vec::with_capacity(BATCH);
            let mut out = Vec::with_capacity(BATCH);
            while let Some(1..) = door.recv(&mut batch, BATCH).await {
                for item in batch.drain(..) {
                    let mut fut = pin!(f(item));
                    let value = match futures::poll!(fut.as_mut()) {
                        Poll::Ready(value) => value,
                        Poll::Pending => {
                            // Don't hold finished results back while `f` waits.
                            if !door.flush(&mut out).await {
                                return Ok(());
                            }
                            match door.unless_closed(fut).await {
                                Some(value) => value,
                                None => return Ok(()),
                            }
                        }
                    };
                    if let Some(value) = value.into() {
                        out.push(value);
                    }
                }
                if !door.flush(&mut out).await {
                    return Ok(());
                }
            }
            Ok(())
        }
    });
    rx
}
