//! The cancel tree: propagation downwards only, causes, handles and guards.

use weir_cancel::{CancelHandle, Cause, Context, ContextError};

#[derive(Debug, thiserror::Error)]
#[error("shutdown")]
struct Shutdown;

#[derive(Debug, thiserror::Error)]
#[error("child failed")]
struct ChildFailed;

fn assert_traits<T: Clone + Send + Sync + std::fmt::Debug + 'static>() {}

#[test]
fn public_types_are_send_sync_debug() {
    assert_traits::<Context>();
    assert_traits::<CancelHandle>();
    fn send_sync_debug<T: Send + Sync + std::fmt::Debug>() {}
    send_sync_debug::<weir_cancel::CancelGuard>();
    send_sync_debug::<weir_cancel::AfterCancel>();
    send_sync_debug::<weir_cancel::CancelledOwned>();
    send_sync_debug::<weir_cancel::Cancelled<'static>>();
    send_sync_debug::<Cause>();
}

/// Go: cancelling a parent closes `Done` of every descendant, whatever
/// kind of derived context sits in between.
#[test]
fn parent_cancel_reaches_every_descendant() {
    let (root, handle) = Context::background().with_cancel();
    let mut leaves = Vec::new();
    let mut handles = Vec::new();
    for i in 0..3 {
        let (a, ha) = root.with_cancel();
        let b = a
            .with_value(i)
            .with_timeout(std::time::Duration::from_secs(3600));
        let (c, hc) = b.child().with_cancel();
        leaves.extend([a.clone(), b.clone(), c.clone()]);
        handles.extend([ha, hc]);
        for _ in 0..3 {
            let (d, hd) = c.with_cancel();
            leaves.push(d);
            handles.push(hd);
        }
    }
    assert!(leaves.iter().all(|ctx| ctx.err().is_none()));
    assert!(handle.cancel());
    for ctx in &leaves {
        assert!(ctx.is_cancelled());
        assert_eq!(ctx.err(), Some(ContextError::Canceled));
    }
}

/// Go: cancelling a child leaves its parent and siblings running.
#[test]
fn child_cancel_does_not_touch_parent_or_siblings() {
    let (parent, _parent_handle) = Context::background().with_cancel();
    let (left, left_handle) = parent.with_cancel();
    let (right, _right_handle) = parent.with_cancel();
    let (left_child, _h) = left.with_cancel();
    let (right_child, _h2) = right.with_cancel();

    left_handle.cancel();
    assert!(left.is_cancelled());
    assert!(left_child.is_cancelled());
    assert!(!parent.is_cancelled());
    assert!(!right.is_cancelled());
    assert!(!right_child.is_cancelled());
    assert_eq!(
        parent.registered_children(),
        1,
        "the cancelled child left the parent (Go's TestCancelRemoves)"
    );
}

/// Go: `WithCancel` on a done parent returns a done child.
#[test]
fn child_of_cancelled_parent_is_born_cancelled() {
    let (parent, handle) = Context::background().with_cancel();
    handle.cancel_with(Shutdown);
    let (child, child_handle) = parent.with_cancel();
    assert_eq!(child.err(), Some(ContextError::Canceled));
    assert!(child.cause().unwrap().is::<Shutdown>());
    assert!(!child_handle.cancel());
    assert_eq!(parent.registered_children(), 0);
}

/// Go: `context.Cause` of a child cancelled through its parent is the
/// parent's cause; a child cancelled first keeps its own.
#[test]
fn causes_flow_down_and_first_wins() {
    let (parent, parent_handle) = Context::background().with_cancel();
    let (early, early_handle) = parent.with_cancel();
    let (late, _late_handle) = parent.with_cancel();
    let grandchild = late.with_value(1u8);

    assert!(early_handle.cancel_with(ChildFailed));
    assert!(parent_handle.cancel_with(Shutdown));
    assert!(!parent_handle.cancel_with(ChildFailed), "first cause wins");

    assert!(early.cause().unwrap().is::<ChildFailed>());
    assert!(late.cause().unwrap().is::<Shutdown>());
    assert!(grandchild.cause().unwrap().is::<Shutdown>());
    assert!(parent.cause().unwrap().is::<Shutdown>());
    assert_eq!(late.err(), Some(ContextError::Canceled));
}

/// Go: `Cause` is nil before cancellation and `Canceled` after a plain
/// `cancel()`.
#[test]
fn plain_cancel_cause_is_canceled() {
    let (ctx, handle) = Context::background().with_cancel();
    assert!(ctx.cause().is_none());
    handle.cancel();
    let cause = ctx.cause().unwrap();
    assert_eq!(
        cause.downcast_ref::<ContextError>(),
        Some(&ContextError::Canceled)
    );
    assert_eq!(cause.to_string(), "context canceled");
}

#[test]
fn go_error_strings() {
    assert_eq!(ContextError::Canceled.to_string(), "context canceled");
    assert_eq!(
        ContextError::DeadlineExceeded.to_string(),
        "context deadline exceeded"
    );
}

#[test]
fn dropping_the_handle_does_not_cancel() {
    let (ctx, handle) = Context::background().with_cancel();
    drop(handle);
    assert!(!ctx.is_cancelled());
}

/// Go: `defer cancel()`.
#[test]
fn drop_guard_cancels_and_disarm_does_not() {
    let (ctx, handle) = Context::background().with_cancel();
    let guard = handle.clone().drop_guard();
    let handle = guard.disarm();
    assert!(!ctx.is_cancelled());
    {
        let _guard = handle.drop_guard();
    }
    assert!(ctx.is_cancelled());
}

#[test]
fn cancelled_handle_clones_share_one_context() {
    let (ctx, handle) = Context::background().with_cancel();
    let other = handle.clone();
    assert!(other.cancel());
    assert!(!handle.cancel());
    assert!(ctx.is_cancelled());
}

/// A middle context dropped while its child lives still carries the
/// parent's cancellation down.
#[test]
fn dropped_middle_context_still_propagates() {
    let (root, handle) = Context::background().with_cancel();
    let (middle, middle_handle) = root.with_cancel();
    let (leaf, _leaf_handle) = middle.with_cancel();
    drop((middle, middle_handle));
    assert_eq!(root.registered_children(), 1);
    handle.cancel();
    assert!(leaf.is_cancelled());
}

#[test]
fn child_is_the_parents_signal() {
    let (parent, handle) = Context::background().with_cancel();
    let child = parent.child();
    assert_eq!(parent.registered_children(), 0, "child() registers nothing");
    handle.cancel();
    assert!(child.is_cancelled());
}

/// Go: `WithoutCancel` keeps values, is never done, has no deadline.
#[test]
fn without_cancel_detaches() {
    let (ctx, handle) = Context::background()
        .with_value("v")
        .with_timeout_cancel(std::time::Duration::ZERO);
    let detached = ctx.without_cancel();
    handle.cancel();
    assert!(ctx.is_cancelled());
    assert!(!detached.is_cancelled());
    assert_eq!(detached.err(), None);
    assert_eq!(detached.deadline(), None);
    assert_eq!(detached.value::<&str>(), Some(&"v"));
    let (grandchild, grand_handle) = detached.with_cancel();
    assert!(!grandchild.is_cancelled());
    grand_handle.cancel();
    assert!(grandchild.is_cancelled());
}

#[test]
fn background_is_never_done() {
    let ctx = Context::background();
    assert!(!ctx.is_cancelled());
    assert_eq!(ctx.err(), None);
    assert!(ctx.cause().is_none());
    assert_eq!(ctx.deadline(), None);
    assert!(format!("{ctx:?}").contains("Context"));
}

#[tokio::test]
async fn cancelled_wakes_waiting_tasks() {
    let (ctx, handle) = Context::background().with_cancel();
    let (child, _child_handle) = ctx.with_cancel();
    let waiters: Vec<_> = [ctx.clone(), child.clone()]
        .into_iter()
        .map(|ctx| tokio::spawn(async move { ctx.cancelled().await }))
        .collect();
    tokio::task::yield_now().await;
    handle.cancel();
    for waiter in waiters {
        waiter.await.unwrap();
    }
}

#[tokio::test]
async fn cancelled_owned_is_static() {
    let (ctx, handle) = Context::background().with_cancel();
    let waiter = tokio::spawn(ctx.cancelled_owned());
    drop(ctx);
    tokio::task::yield_now().await;
    handle.cancel();
    waiter.await.unwrap();
}

#[tokio::test]
async fn select_on_cancelled() {
    let (ctx, handle) = Context::background().with_cancel();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<u32>(1);
    let worker = tokio::spawn({
        let ctx = ctx.clone();
        async move {
            let mut seen = 0;
            loop {
                tokio::select! {
                    _ = ctx.cancelled() => return seen,
                    Some(_) = rx.recv() => seen += 1,
                }
            }
        }
    });
    tx.send(1).await.unwrap();
    tx.send(2).await.unwrap();
    handle.cancel();
    let seen = worker.await.unwrap();
    assert!(seen <= 2);
}
