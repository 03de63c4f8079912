//! [`concat`]: all of one input, then all of another.

use weir_core::chan::{Receiver, Sender};

use crate::driver::BATCH;
use crate::engine::Door;
use crate::scope::{Role, Scope};

/// Sends every item of `first`, then every item of `second`: Rust's
/// `Iterator::chain`, Akka's `concat` (a backlog, then the live feed).
///
/// `second` is not read until `first` has ended: its producer runs ahead
/// only as far as its channel holds, then waits (backpressure, not
/// buffering). The output closes once both inputs have.
///
/// Order: `first`'s items in order, then `second`'s in order.
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
/// let backlog = stage::generate(&scope, [1, 2]);
/// let live = stage::generate(&scope, [3, 4]);
/// let all = stage::collect::<_, Vec<_>>(&scope, stage::concat(&scope, backlog, live));
/// assert_eq!(all.await.unwrap(), [1, 2, 3, 4]);
/// # }
/// ```
pub fn concat<T>(scope: &Scope, first: Receiver<T>, second: Receiver<T>) -> Receiver<T>
where
    T: Send + 'static,
{
    let (tx, rx) = scope.channel();
    scope.spawn_stage("concat", Role::Stage, move |_| async move {
        if pass_rest(&first, &tx).await {
            pass_rest(&second, &tx).await;
        }
        Ok(())
    });
    rx
}

/// Sends everything still to come on `input` into `output`, in order,
/// through the engine's door: `true` once `input` has ended, `false` once
/// downstream is gone. What [`concat`] and [`interleave`](crate::interleave)
/// (for the longer input's rest) run.
pub(crate) async fn pass_rest<T>(input: &Receiver<T>, output: &Sender<T>) -> bool {
    let door = Door::new(input, output);
    let mut buf = Vec::with_capacity(BATCH);
    loop {
        match door.recv(&mut buf, BATCH).await {
            Some(0) => return true,
            Some(_) => {
                let full = std::mem::replace(&mut buf, Vec::with_capacity(BATCH));
                if !door.send(full).await {
                    return false;
                }
            }
            None => return false,
        }
    }
}
