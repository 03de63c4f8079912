//! [`from_stream`]: a source from any `Stream`.

use std::sync::Arc;

use futures::Stream;
use weir_core::chan::Receiver;

use crate::engine::{self, Stop, StreamSource};
use crate::scope::{Role, Scope};

/// A source that sends every item of `stream`, then closes its output:
/// bridges any [`Stream`] (a socket, a `tokio-stream` adapter, another
/// library's channel) into a pipeline.
///
/// Items are sent on as they come: after waiting for one item, the stage
/// takes the ones that are ready at once as well (up to 64) and sends them
/// together, but it never waits to fill a batch, so an idle stream's last
/// item is never held back.
///
/// It stops when the stream ends, when the scope is cancelled or shut down
/// ([`OwnedScope::shutdown`](crate::OwnedScope::shutdown): it is a source), or when every receiver of its
/// output is dropped — even while the stream is idle. The stream is dropped
/// when it stops.
///
/// Order: output order is the stream's order.
///
/// # Cancel safety
///
/// On cancellation or shutdown the stream is dropped wherever it waits;
/// items it already yielded but the stage had not yet sent are dropped on
/// cancellation. On shutdown the items already sent drain through the
/// downstream stages.
///
/// # Panics
///
/// Outside a tokio runtime, like [`tokio::spawn`]. A panic in the stream
/// does not unwind here: it becomes
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
/// let events = futures::stream::iter(["open", "read", "close"]);
/// let names = stage::from_stream(&scope, events);
/// let all = stage::collect::<_, Vec<_>>(&scope, names);
/// assert_eq!(all.await.unwrap(), ["open", "read", "close"]);
/// # }
/// ```
pub fn from_stream<S>(scope: &Scope, stream: S) -> Receiver<S::Item>
where
    S: Stream + Send + 'static,
    S::Item: Send + 'static,
{
    from_stream_as(scope, "from_stream", stream)
}

/// [`from_stream`] under another default stage name (`kind#N`).
pub(crate) fn from_stream_as<S>(scope: &Scope, kind: &'static str, stream: S) -> Receiver<S::Item>
where
    S: Stream + Send + 'static,
    S::Item: Send + 'static,
{
    let (tx, rx) = scope.channel();
    let stop = scope.shutdown_signal().clone();
    scope.spawn_engine_as(kind, Role::Source, move |stage| {
        let stop = Stop::new(&stop, Arc::default());
        let src = StreamSource::new(stream, stage.clone(), stop);
        async move { engine::run_into(Box::new(src), tx, &stage).await }
    });
    rx
}
