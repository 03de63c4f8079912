//! Go's `TestCancelRemoves`: a cancelled context leaves its parent's child
//! table at once — whether its own handle, its deadline or its parent
//! cancelled it — not only when it is dropped. Every test keeps the
//! cancelled contexts alive, so only the cancellation can have removed them.

use std::time::Duration;

use tokio::time::Instant;
use weir_cancel::{Cause, Context, ContextError};

/// Go: `_, cancel := WithCancel(ctx); cancel()` leaves `ctx` with no child.
#[test]
fn cancelling_a_child_removes_it() {
    let (parent, _parent_handle) = Context::background().with_cancel();
    assert_eq!(parent.registered_children(), 0);
    let (child, handle) = parent.with_cancel();
    assert_eq!(parent.registered_children(), 1);
    assert!(handle.cancel());
    assert_eq!(parent.registered_children(), 0);
    assert!(child.is_cancelled());
    assert!(!parent.is_cancelled());
    // Dropping it afterwards removes nothing else.
    let (_sibling, _sibling_handle) = parent.with_cancel();
    drop((child, handle));
    assert_eq!(parent.registered_children(), 1);
}

/// Go: `_, cancel := WithTimeout(ctx, time.Hour); cancel()`.
#[tokio::test(start_paused = true)]
async fn cancelling_a_timeout_child_removes_it() {
    let (parent, _parent_handle) = Context::background().with_cancel();
    let (child, handle) = parent.with_timeout_cancel(Duration::from_secs(3600));
    assert_eq!(parent.registered_children(), 1);
    assert!(handle.cancel_with(Cause::msg("done early")));
    assert_eq!(parent.registered_children(), 0);
    assert_eq!(child.err(), Some(ContextError::Canceled));
}

/// Go: the timer of `WithTimeout` cancels the child, which removes it. Here
/// the waiter woken by the deadline does it.
#[tokio::test(start_paused = true)]
async fn deadline_firing_removes_the_child() {
    let (parent, _parent_handle) = Context::background().with_cancel();
    let (child, _handle) = parent.with_timeout_cancel(Duration::from_secs(5));
    assert_eq!(parent.registered_children(), 1);
    let waiter = tokio::spawn({
        let child = child.clone();
        async move { child.cancelled().await }
    });
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(parent.registered_children(), 1, "not yet due");
    waiter.await.unwrap();
    assert_eq!(parent.registered_children(), 0);
    assert_eq!(child.err(), Some(ContextError::DeadlineExceeded));
}

/// No task waits: the first look at the expired context (`err`,
/// `is_cancelled`, or a late `cancel`) records the expiry and removes it.
#[tokio::test(start_paused = true)]
async fn expired_child_leaves_on_first_look() {
    let (parent, _parent_handle) = Context::background().with_cancel();
    let (a, _ha) = parent.with_timeout_cancel(Duration::from_secs(1));
    let (b, _hb) = parent.with_deadline_cancel(Instant::now() + Duration::from_secs(1));
    let (_c, hc) = parent.with_timeout_cancel(Duration::from_secs(1));
    tokio::time::advance(Duration::from_secs(2)).await;
    assert_eq!(
        parent.registered_children(),
        3,
        "nothing runs at the deadline"
    );
    assert_eq!(a.err(), Some(ContextError::DeadlineExceeded));
    assert_eq!(parent.registered_children(), 2);
    assert!(b.is_cancelled());
    assert_eq!(parent.registered_children(), 1);
    assert!(!hc.cancel(), "already done by its deadline");
    assert_eq!(parent.registered_children(), 0);
}

/// A child made with `with_cancel` under a deadline shares it: it leaves the
/// parent when that deadline is seen, and its late cancel changes nothing.
#[tokio::test(start_paused = true)]
async fn inherited_deadline_removes_the_child() {
    let (parent, _parent_handle) = Context::background().with_cancel();
    let (child, handle) = parent.with_timeout(Duration::from_secs(1)).with_cancel();
    assert_eq!(parent.registered_children(), 1);
    child.cancelled().await;
    assert_eq!(parent.registered_children(), 0);
    assert!(!handle.cancel_with(Cause::msg("late")));
    assert_eq!(child.err(), Some(ContextError::DeadlineExceeded));
    assert!(child.cause().unwrap().is::<ContextError>());
}

/// A node shared with a context that has no deadline is not expired by a
/// deadline added on top of it.
#[tokio::test(start_paused = true)]
async fn deadline_added_later_does_not_remove_the_shared_node() {
    let (parent, _parent_handle) = Context::background().with_cancel();
    let (child, _handle) = parent.with_cancel();
    let short = child.with_timeout(Duration::from_secs(1));
    short.cancelled().await;
    assert_eq!(short.err(), Some(ContextError::DeadlineExceeded));
    assert!(!child.is_cancelled());
    assert_eq!(parent.registered_children(), 1);
}

/// Go: cancelling a parent removes all of its children (and theirs).
#[test]
fn cancelling_the_parent_removes_every_child() {
    let (root, _root_handle) = Context::background().with_cancel();
    let (parent, handle) = root.with_cancel();
    let children: Vec<_> = (0..100).map(|_| parent.with_cancel()).collect();
    let grandchildren: Vec<_> = children
        .iter()
        .map(|(child, _)| child.with_cancel())
        .collect();
    assert_eq!(parent.registered_children(), 100);
    assert!(children
        .iter()
        .all(|(child, _)| child.registered_children() == 1));
    assert!(handle.cancel());
    assert_eq!(root.registered_children(), 0);
    assert_eq!(parent.registered_children(), 0);
    assert!(children
        .iter()
        .all(|(child, _)| child.registered_children() == 0 && child.is_cancelled()));
    assert!(grandchildren.iter().all(|(g, _)| g.is_cancelled()));
}

/// Cancelling a middle context removes it from its parent even while its
/// own children are alive (they are cancelled with it).
#[test]
fn cancelling_a_middle_context_removes_it_and_its_subtree() {
    let (root, _root_handle) = Context::background().with_cancel();
    let (middle, handle) = root.with_cancel();
    let (leaf, _leaf_handle) = middle.with_cancel();
    assert!(handle.cancel());
    assert_eq!(root.registered_children(), 0);
    assert_eq!(middle.registered_children(), 0);
    assert!(leaf.is_cancelled());
}

/// Many create + cancel cycles with every context kept alive: the parent's
/// table never grows past the live, uncancelled ones.
#[test]
fn create_cancel_cycles_leave_nothing() {
    let (parent, _parent_handle) = Context::background().with_cancel();
    let mut kept = Vec::with_capacity(100_000);
    for i in 0..100_000 {
        let (child, handle) = parent.with_cancel();
        let (grandchild, grand_handle) = child.with_cancel();
        if i % 2 == 0 {
            handle.cancel();
        } else {
            grand_handle.cancel();
            handle.cancel();
        }
        assert_eq!(parent.registered_children(), 0);
        kept.push((child, handle, grandchild, grand_handle));
    }
    assert!(kept.iter().all(|(child, ..)| child.is_cancelled()));
}

/// Cancels racing from many threads on children and their parent leave
/// every table empty.
#[test]
fn concurrent_child_and_parent_cancels_leave_nothing() {
    for _ in 0..200 {
        let (root, _root_handle) = Context::background().with_cancel();
        let (parent, handle) = root.with_cancel();
        let children: Vec<_> = (0..8).map(|_| parent.with_cancel()).collect();
        std::thread::scope(|scope| {
            for (_, child_handle) in &children {
                scope.spawn(move || child_handle.cancel());
            }
            scope.spawn(|| handle.cancel());
        });
        assert_eq!(root.registered_children(), 0);
        assert_eq!(parent.registered_children(), 0);
        assert!(children.iter().all(|(child, _)| child.is_cancelled()));
    }
}

/// Nothing runs at a deadline, and here nobody looks at the expired
/// children either: registering new children sweeps them out (amortised),
/// so a parent's table holds at most twice its live children.
#[tokio::test(start_paused = true)]
async fn expired_children_nobody_looks_at_are_swept() {
    let (parent, _parent_handle) = Context::background().with_cancel();
    let expiring: Vec<_> = (0..1000)
        .map(|_| parent.with_timeout_cancel(Duration::from_secs(1)))
        .collect();
    assert_eq!(parent.registered_children(), 1000);
    tokio::time::advance(Duration::from_secs(2)).await;
    let mut live = Vec::new();
    for _ in 0..1000 {
        live.push(parent.with_cancel());
        assert!(parent.registered_children() <= 2 * (live.len() + 32).max(1000));
    }
    assert_eq!(parent.registered_children(), live.len());
    assert!(expiring
        .iter()
        .all(|(ctx, _)| ctx.err() == Some(ContextError::DeadlineExceeded)));
}
