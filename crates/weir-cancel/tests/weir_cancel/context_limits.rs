//! Scale limits: many children, deep chains, many waiters.
//!
//! The million-children and 100k-waiter cases are long tests: they run
//! only with `WEIR_LONG_TESTS=1` (as `.ci/run` sets it).

use weir_cancel::Context;

/// Whether the long tests run: only with `WEIR_LONG_TESTS=1` (`.ci/run`
/// sets it), so that `cargo test` stays quick. Says so when it skips.
fn long_tests(test: &str) -> bool {
    let on = std::env::var_os("WEIR_LONG_TESTS").is_some_and(|v| v != "0");
    if !on {
        eprintln!("{test}: skipped, a long test (WEIR_LONG_TESTS=1 runs it)");
    }
    on
}

/// 1,000,000 short-lived children of one long-lived parent leave its child
/// table empty: memory stays flat.
#[test]
fn million_short_lived_children_leave_nothing() {
    if !long_tests("million_short_lived_children_leave_nothing") {
        return;
    }
    let (parent, _handle) = Context::background().with_cancel();
    for i in 0..1_000_000u32 {
        let (child, child_handle) = parent.with_cancel();
        if i % 100_000 == 0 {
            assert_eq!(parent.registered_children(), 1);
            let grandchild = child.with_cancel(); // context and handle
            assert_eq!(child.registered_children(), 1);
            drop(grandchild);
            assert_eq!(child.registered_children(), 0);
        }
        if i % 2 == 0 {
            child_handle.cancel();
        }
    }
    assert_eq!(parent.registered_children(), 0);
}

/// Many children alive at once, then all dropped: the table empties.
#[test]
fn burst_of_children_unregisters() {
    let (parent, _handle) = Context::background().with_cancel();
    let children: Vec<_> = (0..10_000).map(|_| parent.with_cancel()).collect();
    assert_eq!(parent.registered_children(), 10_000);
    drop(children);
    assert_eq!(parent.registered_children(), 0);
}

fn chain(depth: usize) -> (Vec<Context>, weir_cancel::CancelHandle) {
    let (root, handle) = Context::background().with_cancel();
    let mut contexts = Vec::with_capacity(depth);
    contexts.push(root);
    for _ in 1..depth {
        let (next, _next_handle) = contexts[contexts.len() - 1].with_cancel();
        contexts.push(next);
    }
    (contexts, handle)
}

/// A chain of 100,000 contexts cancels from the root without recursion.
#[test]
fn deep_chain_cancels_without_overflow() {
    let (contexts, handle) = chain(100_000);
    assert!(handle.cancel());
    assert!(contexts.last().unwrap().is_cancelled());
    drop(contexts);
}

/// A chain of 100,000 contexts held only through its leaf drops without
/// recursion, and leaves nothing registered in the root.
#[test]
fn deep_chain_drops_without_overflow() {
    let (mut contexts, handle) = chain(100_000);
    let root = contexts.remove(0);
    let leaf = contexts.pop().unwrap();
    drop(contexts); // the middle is now held only by the leaf's ancestry
    assert_eq!(root.registered_children(), 1);
    drop(leaf);
    assert_eq!(root.registered_children(), 0);
    drop(handle);
}

/// A chain dropped root-first (forward order) also unwinds iteratively.
#[test]
fn deep_chain_drops_root_first() {
    let (contexts, handle) = chain(100_000);
    drop(handle);
    for ctx in contexts {
        drop(ctx);
    }
}

/// 100,000 tasks awaiting one context all end after one cancel (waiters are
/// an intrusive list, not a channel with a linear-scan removal).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_thousand_waiters_end_on_cancel() {
    if !long_tests("hundred_thousand_waiters_end_on_cancel") {
        return;
    }
    let (ctx, handle) = Context::background().with_cancel();
    let tasks: Vec<_> = (0..100_000)
        .map(|_| {
            let ctx = ctx.clone();
            tokio::spawn(async move { ctx.cancelled().await })
        })
        .collect();
    tokio::task::yield_now().await;
    handle.cancel();
    for task in tasks {
        task.await.unwrap();
    }
}

/// The same through owned futures and a deadline-bearing grandchild.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_owned_waiters_on_a_descendant() {
    let (ctx, handle) = Context::background().with_cancel();
    let child = ctx
        .with_timeout(std::time::Duration::from_secs(3600))
        .with_value(1u8);
    let tasks: Vec<_> = (0..20_000)
        .map(|_| tokio::spawn(child.cancelled_owned()))
        .collect();
    handle.cancel();
    for task in tasks {
        task.await.unwrap();
    }
}
