//! Helpers shared by the fan-out / fan-in test files.

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
