//! [`from_stream`]: a source from any `Stream`.

use std::pin::pin;
use std::task::Poll;

use futures::{Stream, StreamExt};
use weir_core::chan::Receiver;

use crate::driver::BATCH;
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
/// ([`Scope::shutdown`]: it is a source), or when every receiver of its
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
    scope.spawn_stage(kind, Role::Source, move |_| async move {
        let mut stream = pin!(stream);
        loop {
            let first = tokio::select! {
                biased;
                item = stream.next() => item,
                () = tx.closed() => return Ok(()),
            };
            let Some(first) = first else {
                return Ok(());
            };
            let mut batch = Vec::with_capacity(BATCH);
            batch.push(first);
            let mut ended = false;
            while batch.len() < BATCH {
                match futures::poll!(stream.next()) {
                    Poll::Ready(Some(item)) => batch.push(item),
                    Poll::Ready(None) => {
                        ended = true;
                        break;
                    }
                    Poll::Pending => break,
                }
            }
            if tx.send_all(batch).await.is_err() || ended {
                return Ok(());
            }
        }
    });
    rx
}
