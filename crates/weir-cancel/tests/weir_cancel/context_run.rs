//! `Context::run`: the seed's `select { result | ctx.Done() }` in one call.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use weir_cancel::{Context, ContextError};

/// A future that records whether it was polled and whether it was dropped.
struct Probe {
    polled: Arc<AtomicBool>,
    dropped: Arc<AtomicBool>,
}

impl Future for Probe {
    type Output = u32;
    fn poll(self: Pin<&mut Self>, _cx: &mut TaskContext<'_>) -> Poll<u32> {
        self.polled.store(true, Ordering::SeqCst);
        Poll::Pending
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        self.dropped.store(true, Ordering::SeqCst);
    }
}

fn probe() -> (Probe, Arc<AtomicBool>, Arc<AtomicBool>) {
    let polled = Arc::new(AtomicBool::new(false));
    let dropped = Arc::new(AtomicBool::new(false));
    let probe = Probe {
        polled: polled.clone(),
        dropped: dropped.clone(),
    };
    (probe, polled, dropped)
}

/// The seed's `processWithTimeout`, written with weir.
async fn process_with_timeout<F: Future>(ctx: &Context, op: F) -> Result<F::Output, ContextError> {
    let (ctx, cancel) = ctx.with_timeout_cancel(Duration::from_secs(5));
    let _guard = cancel.drop_guard();
    ctx.run(op).await
}

#[tokio::test(start_paused = true)]
async fn future_first_returns_its_output() {
    let ctx = Context::background();
    let out = process_with_timeout(&ctx, async {
        tokio::time::sleep(Duration::from_secs(1)).await;
        7
    })
    .await;
    assert_eq!(out, Ok(7));
}

/// Go: the `<-ctx.Done()` case wins after 5 s and returns `ctx.Err()`; the
/// losing operation is dropped (no goroutine left blocked on `resultCh`).
#[tokio::test(start_paused = true)]
async fn deadline_first_drops_the_future() {
    let (op, polled, dropped) = probe();
    let out = process_with_timeout(&Context::background(), op).await;
    assert_eq!(out, Err(ContextError::DeadlineExceeded));
    assert!(polled.load(Ordering::SeqCst));
    assert!(dropped.load(Ordering::SeqCst));
}

#[tokio::test]
async fn cancel_from_another_task() {
    let (ctx, handle) = Context::background().with_cancel();
    let (op, _polled, dropped) = probe();
    let runner = tokio::spawn({
        let ctx = ctx.clone();
        async move { ctx.run(op).await }
    });
    tokio::task::yield_now().await;
    handle.cancel();
    assert_eq!(runner.await.unwrap(), Err(ContextError::Canceled));
    assert!(dropped.load(Ordering::SeqCst));
}

/// A context that is already done never starts the work.
#[tokio::test]
async fn done_context_never_polls_the_future() {
    let (ctx, handle) = Context::background().with_cancel();
    handle.cancel();
    let (op, polled, dropped) = probe();
    assert_eq!(ctx.run(op).await, Err(ContextError::Canceled));
    assert!(!polled.load(Ordering::SeqCst));
    assert!(dropped.load(Ordering::SeqCst));

    let expired = Context::background().with_timeout(Duration::ZERO);
    assert_eq!(
        expired.run(async { 1 }).await,
        Err(ContextError::DeadlineExceeded)
    );
}

#[tokio::test]
async fn background_runs_to_completion() {
    let ctx = Context::background();
    assert_eq!(ctx.run(async { "done" }).await, Ok("done"));
}

/// A parent's cancellation reaches a `run` on a grandchild.
#[tokio::test(start_paused = true)]
async fn parent_cancel_reaches_run() {
    let (parent, handle) = Context::background().with_cancel();
    let ctx = parent.with_value(1u8).with_timeout(Duration::from_secs(60));
    let runner = tokio::spawn(async move { ctx.run(std::future::pending::<()>()).await });
    tokio::time::sleep(Duration::from_secs(1)).await;
    handle.cancel();
    assert_eq!(runner.await.unwrap(), Err(ContextError::Canceled));
}

/// `run` accepts anything `IntoFuture`, and its output is the future's.
#[tokio::test]
async fn run_takes_into_future() {
    let ctx = Context::background();
    let handle = tokio::spawn(async { 5 });
    assert_eq!(ctx.run(handle).await.unwrap().unwrap(), 5);
}
