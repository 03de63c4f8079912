//! [`from_fn`]: a source from an async closure.

use std::future::Future;

use weir_core::chan::Receiver;

use crate::scope::Scope;

/// A source that calls `f` again and again and sends each `Some` value it
/// resolves to; the first `None` ends the source and closes its output.
/// Go's generator goroutine when producing an item takes I/O: polling a
/// queue, reading pages of an API, reading a file chunk by chunk.
///
/// Calls are sequential: the next call starts after the previous future
/// resolved. Values are sent on as they come, never held back to fill a
/// batch (see [`from_stream`](crate::from_stream), which this is built on).
///
/// It stops when `f` yields `None`, when the scope is cancelled or shut
/// down ([`OwnedScope::shutdown`](crate::OwnedScope::shutdown): it is a source), or when every receiver of its
/// output is dropped — even while a future of `f` is pending.
///
/// Order: output order is the order of the calls.
///
/// # Cancel safety
///
/// On cancellation or shutdown, the future of `f` in flight is dropped at
/// the point where it waits; a value it already produced but the stage had
/// not yet sent is dropped on cancellation.
///
/// # Panics
///
/// Outside a tokio runtime, like [`tokio::spawn`]. A panic in `f` or its
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
/// let mut page = 0;
/// let pages = stage::from_fn(&scope, move || {
///     page += 1;
///     let this = page;
///     async move { (this <= 3).then(|| format!("page {this}")) } // fetch it
/// });
/// let all = stage::collect::<_, Vec<_>>(&scope, pages);
/// assert_eq!(all.await.unwrap(), ["page 1", "page 2", "page 3"]);
/// # }
/// ```
pub fn from_fn<T, F, Fut>(scope: &Scope, f: F) -> Receiver<T>
where
    T: Send + 'static,
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = Option<T>> + Send + 'static,
{
    let calls = futures::stream::unfold(f, |mut f| async move {
        let item = f().await?;
        Some((item, f))
    });
    crate::from_stream::from_stream_as(scope, "from_fn", calls)
}
