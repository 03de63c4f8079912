//! Go 1.21's `WithTimeoutCause` / `WithDeadlineCause`, on tokio's paused
//! clock: the deadline's cause is reported when that deadline ends the
//! context, and any earlier ending keeps its own cause.

use std::time::Duration;

use tokio::time::Instant;
use weir_cancel::{Cause, Context, ContextError};

#[derive(Debug, thiserror::Error)]
#[error("backend too slow")]
struct TooSlow;

#[derive(Debug, thiserror::Error)]
#[error("client went away")]
struct Gone;

/// Go: when the timer of `WithTimeoutCause` fires, `Err` is
/// `DeadlineExceeded` and `Cause` the given cause, in descendants too.
#[tokio::test(start_paused = true)]
async fn timeout_reports_its_cause() {
    let ctx = Context::background().with_timeout_cause(Duration::from_secs(5), TooSlow);
    let (child, _handle) = ctx.with_value(7u8).with_cancel();
    let grandchild = child.with_timeout(Duration::from_secs(60));
    assert_eq!(ctx.err(), None);
    assert!(ctx.cause().is_none());
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(ctx.cause().is_none(), "not yet due");
    grandchild.cancelled().await;
    for ctx in [&ctx, &child, &grandchild] {
        assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
        assert!(ctx.cause().unwrap().is::<TooSlow>());
    }
}

/// Go: `WithDeadlineCause` is the same with an instant.
#[tokio::test(start_paused = true)]
async fn deadline_reports_its_cause() {
    let at = Instant::now() + Duration::from_secs(2);
    let ctx = Context::background().with_deadline_cause(at, TooSlow);
    assert_eq!(ctx.deadline(), Some(at));
    ctx.cancelled().await;
    assert_eq!(Instant::now(), at);
    assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
    assert_eq!(ctx.cause().unwrap().to_string(), "backend too slow");
}

/// Go: cancelled before the deadline, the cancel's cause wins for good.
#[tokio::test(start_paused = true)]
async fn earlier_cancel_wins() {
    let (ctx, handle) = Context::background()
        .with_timeout_cause(Duration::from_secs(5), TooSlow)
        .with_cancel();
    assert!(handle.cancel_with(Gone));
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(ctx.err(), Some(ContextError::Canceled));
    assert!(ctx.cause().unwrap().is::<Gone>());

    // A plain cancel reports `Canceled` as its cause.
    let (ctx, handle) = Context::background()
        .with_deadline_cause(Instant::now() + Duration::from_secs(5), TooSlow)
        .with_cancel();
    handle.cancel();
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(
        ctx.cause().unwrap().downcast_ref::<ContextError>(),
        Some(&ContextError::Canceled)
    );
}

/// A parent cancelled before the child's deadline: the parent's cause.
#[tokio::test(start_paused = true)]
async fn earlier_parent_cancel_wins() {
    let (parent, handle) = Context::background().with_cancel();
    let child = parent.with_timeout_cause(Duration::from_secs(5), TooSlow);
    handle.cancel_with(Gone);
    child.cancelled().await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(child.err(), Some(ContextError::Canceled));
    assert!(child.cause().unwrap().is::<Gone>());
}

/// A cancel after the deadline is too late: the deadline's cause stays,
/// and the late cancel reports that it cancelled nothing.
#[tokio::test(start_paused = true)]
async fn later_cancel_loses() {
    let (ctx, handle) = Context::background()
        .with_timeout_cause(Duration::from_secs(1), TooSlow)
        .with_cancel();
    tokio::time::advance(Duration::from_secs(2)).await;
    assert!(!handle.cancel_with(Gone));
    assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
    assert!(ctx.cause().unwrap().is::<TooSlow>());
}

/// Go: an earlier deadline of the parent's wins, with its cause (or with
/// `DeadlineExceeded` when it has none); the child's cause is dropped.
#[tokio::test(start_paused = true)]
async fn earlier_parent_deadline_wins() {
    let parent = Context::background().with_timeout(Duration::from_secs(1));
    let child = parent.with_timeout_cause(Duration::from_secs(5), TooSlow);
    assert_eq!(child.deadline(), parent.deadline());
    child.cancelled().await;
    assert_eq!(
        child.cause().unwrap().downcast_ref::<ContextError>(),
        Some(&ContextError::DeadlineExceeded)
    );

    let parent = Context::background().with_timeout_cause(Duration::from_secs(1), Gone);
    let child = parent.with_timeout_cause(Duration::from_secs(5), TooSlow);
    child.cancelled().await;
    assert!(child.cause().unwrap().is::<Gone>());

    // On a tie the parent's deadline, and its cause, stay.
    let at = Instant::now() + Duration::from_secs(1);
    let parent = Context::background().with_deadline_cause(at, Gone);
    let child = parent.with_deadline_cause(at, TooSlow);
    child.cancelled().await;
    assert!(child.cause().unwrap().is::<Gone>());
}

/// A child's earlier deadline reports the child's cause; the parent keeps
/// its own for its later deadline.
#[tokio::test(start_paused = true)]
async fn earlier_child_deadline_has_its_own_cause() {
    let parent = Context::background().with_timeout_cause(Duration::from_secs(5), Gone);
    let child = parent.with_timeout_cause(Duration::from_secs(1), TooSlow);
    child.cancelled().await;
    assert!(child.cause().unwrap().is::<TooSlow>());
    assert!(parent.cause().is_none());
    parent.cancelled().await;
    assert!(parent.cause().unwrap().is::<Gone>());
    // A plain deadline below a caused one reports `DeadlineExceeded`.
    let parent = Context::background().with_timeout_cause(Duration::from_secs(5), Gone);
    let child = parent.with_timeout(Duration::from_secs(1));
    child.cancelled().await;
    assert!(child.cause().unwrap().is::<ContextError>());
}

/// Zero, past and unrepresentable deadlines.
#[tokio::test(start_paused = true)]
async fn edge_deadlines() {
    let ctx = Context::background().with_timeout_cause(Duration::ZERO, Cause::msg("at once"));
    assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
    assert_eq!(ctx.cause().unwrap().to_string(), "at once");

    tokio::time::advance(Duration::from_secs(10)).await;
    let past = Instant::now() - Duration::from_secs(5);
    let ctx = Context::background().with_deadline_cause(past, TooSlow);
    assert!(ctx.cause().unwrap().is::<TooSlow>());

    let ctx = Context::background().with_timeout_cause(Duration::MAX, TooSlow);
    assert_eq!(ctx.deadline(), None);
    assert!(
        tokio::time::timeout(Duration::from_secs(86_400), ctx.cancelled())
            .await
            .is_err()
    );
    assert!(ctx.cause().is_none());
}

/// `without_cancel` drops the deadline and its cause.
#[tokio::test(start_paused = true)]
async fn without_cancel_drops_the_cause() {
    let ctx = Context::background().with_timeout_cause(Duration::from_secs(1), TooSlow);
    let detached = ctx.without_cancel();
    ctx.cancelled().await;
    assert!(detached.cause().is_none());
    let later = detached.with_timeout(Duration::from_secs(1));
    later.cancelled().await;
    assert!(later.cause().unwrap().is::<ContextError>());
}
