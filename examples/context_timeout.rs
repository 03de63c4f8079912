//! Go's timeout pattern (`select` on a result and `ctx.Done()`): run an
//! expensive operation under a 5-second timeout and give up with
//! `ctx.Err()` if the context ends first.
//!
//! Go:
//!
//! ```go
//! func processWithTimeout(ctx context.Context) error {
//!     ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
//!     defer cancel()
//!     resultCh := make(chan Result)
//!     go func() { resultCh <- expensiveOperation() }()
//!     select {
//!     case result := <-resultCh: return nil
//!     case <-ctx.Done():         return ctx.Err()
//!     }
//! }
//! ```
//!
//! weir: `ctx.run(future)` is the `select`. When the context wins, the
//! operation is dropped instead of leaving a goroutine blocked forever on
//! `resultCh` (the leak the Go version has when nobody receives).
//!
//! Run with `cargo run -p weir-examples --example context_timeout`.

use std::time::Duration;

use weir::cancel::{Cause, Context, ContextError};

/// The work: takes `work` and produces a result.
async fn expensive_operation(work: Duration) -> u64 {
    tokio::time::sleep(work).await;
    42
}

async fn process_with_timeout(ctx: &Context, work: Duration) -> Result<u64, ContextError> {
    // ctx, cancel := context.WithTimeout(ctx, 5*time.Second); defer cancel()
    let (ctx, cancel) = ctx.with_timeout_cancel(Duration::from_secs(5));
    let _guard = cancel.drop_guard();
    // go func() { resultCh <- expensiveOperation() }(); select { ... }
    ctx.run(expensive_operation(work)).await
}

#[tokio::main]
async fn main() {
    let ctx = Context::background();

    // The operation finishes well within 5 s.
    let fast = process_with_timeout(&ctx, Duration::from_millis(10)).await;
    println!("fast operation:       {fast:?}");
    assert_eq!(fast, Ok(42));

    // The caller's own deadline is shorter: a child's deadline is never
    // later than its parent's, so the 5 s timeout inside cannot extend it.
    let impatient = ctx.with_timeout(Duration::from_millis(50));
    let slow = process_with_timeout(&impatient, Duration::from_secs(60)).await;
    println!("caller's 50 ms budget: {slow:?}");
    assert_eq!(slow, Err(ContextError::DeadlineExceeded));

    // The caller cancels (a client went away), with a cause.
    let (request, cancel_request) = ctx.with_cancel();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(20)).await;
        cancel_request.cancel_with(Cause::msg("client disconnected"));
    });
    let gone = process_with_timeout(&request, Duration::from_secs(60)).await;
    let cause = request.cause().map(|cause| cause.to_string());
    println!("client went away:     {gone:?} (cause: {cause:?})");
    assert_eq!(gone, Err(ContextError::Canceled));
    assert_eq!(cause.as_deref(), Some("client disconnected"));
}
