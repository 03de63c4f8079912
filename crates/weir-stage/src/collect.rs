//! [`collect`]: a sink that gathers every item into a collection.

use weir_core::chan::Receiver;

use crate::driver::{SinkOutput, BATCH};
use crate::scope::{Role, Scope};

/// Gathers every item, in order, into any collection `C: Default + Extend`
/// (a `Vec`, a `HashSet`, a `String`…).
///
/// Memory grows with the input: collect only bounded inputs.
///
/// # Examples
///
/// ```
/// use std::collections::BTreeSet;
/// use weir_cancel::Context;
/// use weir_stage::{self as stage, Scope};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let scope = Scope::new(&Context::background());
/// let set = stage::collect::<_, BTreeSet<_>>(&scope, stage::generate(&scope, [3, 1, 3]));
/// assert_eq!(set.await.unwrap().into_iter().collect::<Vec<_>>(), [1, 3]);
/// # }
/// ```
pub fn collect<T, C>(scope: &Scope, input: Receiver<T>) -> SinkOutput<C>
where
    T: Send + 'static,
    C: Default + Extend<T> + Send + 'static,
{
    let (done, output) = SinkOutput::channel();
    scope.spawn_stage("collect", Role::Stage, move |_| async move {
        let mut all = C::default();
        let mut batch = Vec::with_capacity(BATCH);
        while input.recv_many(&mut batch, BATCH).await > 0 {
            all.extend(batch.drain(..));
        }
        let _ = done.send(all);
        Ok(())
    });
    output
}
