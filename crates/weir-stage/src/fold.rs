//! [`fold`]: a sink that reduces every item into one value.

use weir_core::chan::Receiver;

use crate::driver::{SinkOutput, BATCH};
use crate::scope::{Role, Scope};

/// Folds every item into an accumulator, starting from `init`, in order.
/// The returned [`SinkOutput`] resolves to the final value.
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
/// let sum = stage::fold(&scope, stage::generate(&scope, 1..=100u64), 0, |acc, n| acc + n);
/// assert_eq!(sum.await, Ok(5050));
/// # }
/// ```
pub fn fold<T, A, F>(scope: &Scope, input: Receiver<T>, init: A, mut f: F) -> SinkOutput<A>
where
    T: Send + 'static,
    A: Send + 'static,
    F: FnMut(A, T) -> A + Send + 'static,
{
    let (done, output) = SinkOutput::channel();
    scope.spawn_stage("fold", Role::Stage, move |_| async move {
        let mut acc = init;
        let mut batch = Vec::with_capacity(BATCH);
        while input.recv_many(&mut batch, BATCH).await > 0 {
            acc = batch.drain(..).fold(acc, &mut f);
        }
        let _ = done.send(acc);
        Ok(())
    });
    output
}
