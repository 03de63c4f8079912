//! Typed values: Go's `WithValue` / `Value`, keyed by type.

use std::time::Duration;

use weir_cancel::Context;

#[derive(Debug, PartialEq)]
struct RequestId(u64);

#[derive(Debug, PartialEq)]
struct User(String);

#[test]
fn lookup_by_type_nearest_wins() {
    let root = Context::background().with_value(RequestId(1));
    let child = root.with_value(User("ada".into()));
    let grandchild = child.with_value(RequestId(2));

    assert_eq!(grandchild.value::<RequestId>(), Some(&RequestId(2)));
    assert_eq!(grandchild.value::<User>(), Some(&User("ada".into())));
    assert_eq!(child.value::<RequestId>(), Some(&RequestId(1)));
    assert_eq!(root.value::<User>(), None);
    assert_eq!(Context::background().value::<RequestId>(), None);
}

/// Go: values are visible through every kind of derived context.
#[tokio::test]
async fn values_survive_derivation() {
    let ctx = Context::background().with_value(RequestId(9));
    let (cancel, handle) = ctx.with_cancel();
    let derived = [
        ctx.child(),
        cancel.clone(),
        ctx.with_timeout(Duration::from_secs(1)),
        ctx.with_timeout_cancel(Duration::from_secs(1)).0,
        cancel.without_cancel(),
    ];
    handle.cancel();
    for ctx in &derived {
        assert_eq!(ctx.value::<RequestId>(), Some(&RequestId(9)));
    }
}

#[test]
fn values_do_not_leak_upwards() {
    let parent = Context::background();
    let _child = parent.with_value(RequestId(3));
    assert_eq!(parent.value::<RequestId>(), None);
}

/// A deep chain of values drops without overflowing the stack.
#[test]
fn deep_value_chain_drops_iteratively() {
    let mut ctx = Context::background();
    for i in 0..100_000u32 {
        ctx = ctx.with_value(i);
    }
    assert_eq!(ctx.value::<u32>(), Some(&99_999));
    drop(ctx);
}
