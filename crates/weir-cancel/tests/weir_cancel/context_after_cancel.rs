//! `Context::after_cancel`: Go's `context.AfterFunc` and its `stop`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use weir_cancel::Context;

fn alive_tasks() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}

/// Yields until every task the test spawned indirectly has ended.
async fn settle() {
    for _ in 0..1_000 {
        if alive_tasks() == 0 {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("{} tasks still alive", alive_tasks());
}

fn counter() -> (Arc<AtomicUsize>, impl Fn() -> Box<dyn FnOnce() + Send>) {
    let runs = Arc::new(AtomicUsize::new(0));
    let make = {
        let runs = runs.clone();
        move || -> Box<dyn FnOnce() + Send> {
            let runs = runs.clone();
            Box::new(move || {
                runs.fetch_add(1, Ordering::SeqCst);
            })
        }
    };
    (runs, make)
}

/// Go: `AfterFunc`'s f runs once, in its own goroutine, after cancel.
#[tokio::test]
async fn runs_once_after_cancel() {
    let (runs, f) = counter();
    let (ctx, handle) = Context::background().with_cancel();
    let after = ctx.after_cancel(f());
    assert_eq!(alive_tasks(), 0, "no task waits for the cancel");
    settle().await;
    assert_eq!(runs.load(Ordering::SeqCst), 0);
    handle.cancel();
    handle.cancel();
    settle().await;
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert!(!after.stop(), "Go: stop returns false once f has started");
}

/// Go: `stop` before cancel returns true and f never runs.
#[tokio::test]
async fn stop_before_cancel() {
    let (runs, f) = counter();
    let (ctx, handle) = Context::background().with_cancel();
    let after = ctx.after_cancel(f());
    assert!(after.stop());
    assert!(!after.stop(), "Go: a second stop returns false");
    handle.cancel();
    settle().await;
    assert_eq!(runs.load(Ordering::SeqCst), 0);
}

/// Go: `AfterFunc` on a done context runs f at once.
#[tokio::test]
async fn already_done_runs_at_once() {
    let (runs, f) = counter();
    let (ctx, handle) = Context::background().with_cancel();
    handle.cancel();
    let _after = ctx.after_cancel(f());
    settle().await;
    assert_eq!(runs.load(Ordering::SeqCst), 1);

    let expired = Context::background().with_timeout(Duration::ZERO);
    let after = expired.after_cancel(f());
    settle().await;
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    assert!(!after.stop());
}

/// An ancestor's cancellation triggers a descendant's function.
#[tokio::test]
async fn parent_cancel_triggers_child_function() {
    let (runs, f) = counter();
    let (parent, handle) = Context::background().with_cancel();
    let (child, _child_handle) = parent.with_value(1u8).with_cancel();
    let _a = child.after_cancel(f());
    let _b = child.child().after_cancel(f());
    handle.cancel();
    settle().await;
    assert_eq!(runs.load(Ordering::SeqCst), 2);
}

/// Go: f runs when the deadline passes; the timer task then ends.
#[tokio::test(start_paused = true)]
async fn deadline_runs_function() {
    let (runs, f) = counter();
    let (ctx, _handle) = Context::background().with_timeout_cancel(Duration::from_secs(5));
    let after = ctx.after_cancel(f());
    assert_eq!(alive_tasks(), 1, "one timer task for the deadline");
    ctx.cancelled().await;
    settle().await;
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert!(!after.stop());
}

/// Stopping, or cancelling, ends the deadline timer task at once.
#[tokio::test(start_paused = true)]
async fn stop_and_cancel_end_the_timer() {
    let (runs, f) = counter();
    let ctx = Context::background().with_timeout(Duration::from_secs(3600));
    let after = ctx.after_cancel(f());
    assert_eq!(alive_tasks(), 1);
    assert!(after.stop());
    settle().await;

    let (ctx, handle) = Context::background().with_timeout_cancel(Duration::from_secs(3600));
    let _after = ctx.after_cancel(f());
    assert_eq!(alive_tasks(), 1);
    handle.cancel();
    settle().await;
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

/// Dropping a context that can only be cancelled (no deadline) drops f and
/// leaves no task behind.
#[tokio::test]
async fn dropped_context_leaves_nothing() {
    let witness = Arc::new(());
    let (ctx, handle) = Context::background().with_cancel();
    let held = witness.clone();
    let after = ctx.after_cancel(move || drop(held));
    assert_eq!(Arc::strong_count(&witness), 2);
    drop(after);
    drop((ctx, handle));
    assert_eq!(
        Arc::strong_count(&witness),
        1,
        "f was dropped with its context"
    );
    assert_eq!(alive_tasks(), 0);
}

/// Go: f never runs for a context that cannot end; stop returns true.
#[tokio::test]
async fn background_never_runs() {
    let (runs, f) = counter();
    let after = Context::background().after_cancel(f());
    settle().await;
    assert_eq!(runs.load(Ordering::SeqCst), 0);
    assert!(after.stop());
}

/// Registrations that are stopped do not pile up in a long-lived context.
#[tokio::test]
async fn stopped_functions_are_unregistered() {
    let witness = Arc::new(());
    let (ctx, _handle) = Context::background().with_cancel();
    for _ in 0..1_000 {
        let held = witness.clone();
        let after = ctx.after_cancel(move || drop(held));
        assert!(after.stop());
    }
    assert_eq!(Arc::strong_count(&witness), 1);
}
