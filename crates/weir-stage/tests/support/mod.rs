//! Helpers shared by the fan-out / fan-in test files.
#![allow(dead_code)] // each test binary uses its own subset

use tokio::runtime::Handle;

/// Tasks alive on the current runtime.
pub(crate) fn alive() -> usize {
    Handle::current().metrics().num_alive_tasks()
}

/// Yields until `cond` holds (bounded: fails instead of hanging).
pub(crate) async fn until(mut cond: impl FnMut() -> bool) {
    for _ in 0..10_000 {
        if cond() {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("condition never held");
}

/// Yields until no more tasks are alive than at `baseline`.
pub(crate) async fn no_leak(baseline: usize) {
    until(|| alive() <= baseline).await;
}
