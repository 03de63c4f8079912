//! Deadlines and timeouts, on tokio's paused clock.

use std::time::Duration;

use tokio::time::Instant;
use weir_cancel::{Context, ContextError};

fn alive_tasks() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}

/// Go: `WithTimeout` closes `Done` at the deadline with `DeadlineExceeded`.
#[tokio::test(start_paused = true)]
async fn timeout_fires_at_the_deadline() {
    let start = Instant::now();
    let ctx = Context::background().with_timeout(Duration::from_secs(5));
    assert_eq!(ctx.deadline(), Some(start + Duration::from_secs(5)));
    assert_eq!(ctx.err(), None);
    assert!(!ctx.is_cancelled());

    ctx.cancelled().await;
    assert_eq!(Instant::now(), start + Duration::from_secs(5));
    assert!(ctx.is_cancelled());
    assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
    let cause = ctx.cause().unwrap();
    assert_eq!(
        cause.downcast_ref::<ContextError>(),
        Some(&ContextError::DeadlineExceeded)
    );
}

/// Go: a deadline set on a parent reaches every descendant, including ones
/// with their own cancel handle.
#[tokio::test(start_paused = true)]
async fn descendants_observe_the_parents_deadline() {
    let parent = Context::background().with_timeout(Duration::from_secs(1));
    let (child, _handle) = parent.with_cancel();
    let grandchild = child.with_value(3u8).with_timeout(Duration::from_secs(10));
    assert_eq!(grandchild.deadline(), parent.deadline());

    grandchild.cancelled().await;
    child.cancelled().await;
    assert_eq!(child.err(), Some(ContextError::DeadlineExceeded));
    assert_eq!(grandchild.err(), Some(ContextError::DeadlineExceeded));
    assert!(grandchild.cause().unwrap().is::<ContextError>());
}

/// Go: `WithDeadline` never extends the parent's deadline.
#[tokio::test(start_paused = true)]
async fn child_deadline_is_the_minimum() {
    let now = Instant::now();
    let parent = Context::background().with_deadline(now + Duration::from_secs(10));
    let later = parent.with_deadline(now + Duration::from_secs(20));
    let earlier = parent.with_deadline(now + Duration::from_secs(5));
    let (later_cancel, _h) = parent.with_timeout_cancel(Duration::from_secs(30));
    assert_eq!(later.deadline(), Some(now + Duration::from_secs(10)));
    assert_eq!(later_cancel.deadline(), Some(now + Duration::from_secs(10)));
    assert_eq!(earlier.deadline(), Some(now + Duration::from_secs(5)));
    assert_eq!(parent.deadline(), Some(now + Duration::from_secs(10)));
}

/// Go: `WithTimeout(ctx, 0)` is done at once.
#[tokio::test(start_paused = true)]
async fn zero_timeout_is_already_expired() {
    let ctx = Context::background().with_timeout(Duration::ZERO);
    assert!(ctx.is_cancelled());
    assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
    ctx.cancelled().await;
    let (ctx, handle) = Context::background().with_timeout_cancel(Duration::ZERO);
    handle.cancel();
    assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
}

/// Go: a deadline in the past is done at once.
#[tokio::test(start_paused = true)]
async fn past_deadline_is_already_expired() {
    tokio::time::advance(Duration::from_secs(60)).await;
    let past = Instant::now() - Duration::from_secs(30);
    let ctx = Context::background().with_deadline(past);
    assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
    ctx.cancelled().await;
    let (ctx, _handle) = Context::background().with_deadline_cancel(past);
    assert!(ctx.is_cancelled());
}

/// `Duration::MAX` saturates to "no deadline": no overflow panic, never fires.
#[tokio::test(start_paused = true)]
async fn max_timeout_never_fires() {
    let ctx = Context::background().with_timeout(Duration::MAX);
    assert_eq!(ctx.deadline(), None);
    let (ctx2, _h) = ctx.with_timeout_cancel(Duration::MAX);
    assert_eq!(ctx2.deadline(), None);
    let waited =
        tokio::time::timeout(Duration::from_secs(100 * 365 * 86_400), ctx2.cancelled()).await;
    assert!(waited.is_err(), "still not done a century later");
    assert!(!ctx.is_cancelled());
    // A huge but representable timeout keeps a deadline and does not fire.
    let far = Context::background().with_timeout(Duration::from_secs(50 * 365 * 86_400));
    assert!(far.deadline().is_some());
    assert!(
        tokio::time::timeout(Duration::from_secs(3600), far.cancelled())
            .await
            .is_err()
    );
}

/// A cancel before the deadline stays `Canceled` after the deadline passes.
#[tokio::test(start_paused = true)]
async fn cancel_before_deadline_stays_canceled() {
    let (ctx, handle) = Context::background().with_timeout_cancel(Duration::from_secs(1));
    handle.cancel();
    assert_eq!(ctx.err(), Some(ContextError::Canceled));
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(ctx.err(), Some(ContextError::Canceled));
    assert!(ctx.cause().unwrap().is::<ContextError>());
}

/// A deadline before the cancel stays `DeadlineExceeded`, here and in
/// descendants, and the cause says so too.
#[tokio::test(start_paused = true)]
async fn deadline_before_cancel_stays_deadline_exceeded() {
    let (parent, parent_handle) = Context::background().with_cancel();
    let ctx = parent.with_timeout(Duration::from_secs(1));
    let (child, _h) = ctx.with_cancel();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(child.err(), Some(ContextError::DeadlineExceeded));
    parent_handle.cancel_with(weir_cancel::Cause::msg("late"));
    assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
    assert_eq!(child.err(), Some(ContextError::DeadlineExceeded));
    assert_eq!(
        child.cause().unwrap().to_string(),
        "context deadline exceeded"
    );
    assert_eq!(parent.err(), Some(ContextError::Canceled));
    assert_eq!(parent.cause().unwrap().to_string(), "late");
}

/// Deadlines create no task or timer: 1,000 timeout contexts, nobody waiting,
/// leave the runtime without tasks.
#[tokio::test(start_paused = true)]
async fn deadlines_spawn_no_tasks() {
    let root = Context::background();
    let contexts: Vec<_> = (0..1_000u64)
        .map(|i| root.with_timeout(Duration::from_millis(i)))
        .collect();
    assert_eq!(alive_tasks(), 0);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(contexts.iter().all(Context::is_cancelled));
}

/// A waiter that gives up (dropped in `select!`) leaves nothing that fires later.
#[tokio::test(start_paused = true)]
async fn abandoned_wait_is_harmless() {
    let ctx = Context::background().with_timeout(Duration::from_secs(10));
    tokio::select! {
        _ = ctx.cancelled() => unreachable!(),
        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
    }
    assert_eq!(alive_tasks(), 0);
    ctx.cancelled().await;
    assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
}

/// A deadline's timer lives outside the `cancelled()` future: every task
/// that holds one (most with no deadline at all) carries a tokio `Notified`
/// and a few words, not a `Sleep` (another 100-odd bytes) as well.
#[test]
fn a_cancelled_future_holds_no_timer_inline() {
    use tokio::sync::futures::Notified;
    let ctx = Context::background().with_timeout(Duration::from_secs(1));
    let size = std::mem::size_of_val(&ctx.cancelled());
    let bound = std::mem::size_of::<Notified<'static>>() + 64;
    assert!(size <= bound, "Cancelled is {size} bytes (bound {bound})");
}

/// A `cancelled()` pinned across a `select!` loop in a task is polled
/// again and again with the same waker (its later polls skip the
/// `Notify`); its deadline still ends the loop, at the deadline, through
/// the timer it made at its first wait.
#[tokio::test(start_paused = true)]
async fn a_pinned_wait_polled_again_and_again_ends_at_its_deadline() {
    let start = Instant::now();
    // Cancellable too, so that the wait is registered with the context's
    // `Notify` as well as timed.
    let (ctx, _handle) = Context::background().with_timeout_cancel(Duration::from_secs(5));
    // In a spawned task: its waker's clones are `will_wake`-equal, so the
    // kept-waker path runs (`block_on`'s are not).
    let ticks = tokio::spawn(async move {
        let mut done = std::pin::pin!(ctx.cancelled());
        let mut ticks = 0u32;
        loop {
            tokio::select! {
                biased;
                () = &mut done => break,
                () = tokio::time::sleep(Duration::from_millis(100)) => {
                    ticks += 1;
                    assert!(ticks < 100, "the deadline never ended the wait");
                }
            }
        }
        assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
        ticks
    })
    .await
    .unwrap();
    assert_eq!(Instant::now(), start + Duration::from_secs(5));
    // The 50th tick comes due with the deadline, and `biased` polls the
    // deadline first.
    assert_eq!(ticks, 49);
}
