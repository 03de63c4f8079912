//! [`forward`]: a sink that sends every item into an existing channel.

use weir_core::chan::{Receiver, Sender};

use crate::driver::{SinkOutput, BATCH};
use crate::engine::Door;
use crate::scope::{Role, Scope};

/// Sends every item of `input` into `sender`, a channel owned elsewhere, in
/// order: the bridge from a pipeline to code that reads a plain weir-core
/// channel (a server handler, another scope, a thread using
/// [`recv_blocking`](weir_core::chan::Receiver::recv_blocking)).
///
/// Items move in batches, and a batch never waits to fill: an item is passed
/// on as soon as it arrives. When the input ends, the sink drops `sender`,
/// so if it was the channel's last `Sender` the channel closes (Go's
/// `close(ch)`) before the returned [`SinkOutput`] resolves; keep a clone of
/// the `Sender` to keep the channel open for more.
///
/// When every receiver of the destination is gone (or the channel is closed
/// with [`Sender::close`](weir_core::chan::Sender::close)), the sink stops
/// at once, even while its input is idle, and drops its input so upstream
/// stops in turn. This is *not* a scope error — it is how a consumer says
/// "enough", as for every other stage — but the sink did not forward its
/// whole input, so its [`SinkOutput`] resolves to
/// [`Err(Incomplete)`](crate::Incomplete) while
/// [`OwnedScope::wait`](crate::OwnedScope::wait) returns `Ok`. Items the destination
/// refused are dropped.
///
/// Order: the destination receives the items in input order (other senders
/// of the same channel may interleave theirs).
///
/// # Examples
///
/// ```
/// use weir_cancel::Context;
/// use weir_core::chan;
/// use weir_stage::{self as stage, Scope};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let scope = Scope::new(&Context::background());
/// let (tx, rx) = chan::bounded(16);
/// let squares = stage::square(&scope, stage::generate(&scope, 1..=3));
/// let done = stage::forward(&scope, squares, tx);
///
/// // Elsewhere, a plain channel consumer:
/// assert_eq!(rx.recv().await, Some(1));
/// assert_eq!(rx.recv().await, Some(4));
/// assert_eq!(rx.recv().await, Some(9));
/// assert_eq!(rx.recv().await, None); // the sink dropped the last sender
/// done.await.unwrap();
/// scope.wait().await.unwrap();
/// # }
/// ```
pub fn forward<T>(scope: &Scope, input: Receiver<T>, sender: Sender<T>) -> SinkOutput<()>
where
    T: Send + 'static,
{
    let (done, output) = SinkOutput::channel();
    scope.spawn_stage("forward", Role::Stage, move |_| async move {
        if relay(&input, &sender).await {
            drop(sender);
            let _ = done.send(());
        }
        Ok(())
    });
    output
}

/// Moves every item of `input` to `output`, a batch at a time, in order.
/// Returns `true` when the input ended, `false` as soon as `output` can no
/// longer be sent to — checked even while the input is idle, so a relay
/// whose downstream went away drops its input promptly.
///
/// Dropped while waiting for input it takes nothing; dropped while sending
/// (a cancelled stage), the rest of that batch is dropped with it.
pub(crate) async fn relay<T>(input: &Receiver<T>, output: &Sender<T>) -> bool {
    let door = Door::new(input, output);
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        match door.recv(&mut batch, BATCH).await {
            None => return false,
            Some(0) => return true,
            Some(_) => {}
        }
        if !door.flush(&mut batch).await {
            return false;
        }
    }
}
