//! [`for_each`]: a sink that runs a closure on every item.

use weir_core::chan::Receiver;

use crate::driver::{SinkOutput, BATCH};
use crate::scope::{Role, Scope};

/// Runs `f` on every item, in order: Go's `for v := range ch { … }` as the
/// last stage. The returned [`SinkOutput`] resolves when the input is
/// exhausted.
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
/// let done = stage::for_each(&scope, stage::generate(&scope, 1..=3), |n| println!("{n}"));
/// done.await.unwrap();
/// # }
/// ```
pub fn for_each<T, F>(scope: &Scope, input: Receiver<T>, mut f: F) -> SinkOutput<()>
where
    T: Send + 'static,
    F: FnMut(T) + Send + 'static,
{
    let (done, output) = SinkOutput::channel();
    scope.spawn_stage("for_each", Role::Stage, move |_| async move {
        let mut batch = Vec::with_capacity(BATCH);
        while input.recv_many(&mut batch, BATCH).await > 0 {
            batch.drain(..).for_each(&mut f);
        }
        let _ = done.send(());
        Ok(())
    });
    output
}
