//! Only the scope's owner (`OwnedScope`) cancels it when dropped; a view,
//! dropped, leaves every stage running.

use weir_cancel::Context;
use weir_stage::{self as stage, Scope};

#[tokio::test(start_paused = true)]
async fn dropping_a_view_leaves_the_scope_running() {
    let scope = Scope::new(&Context::background());
    let view = scope.named("numbers").with_capacity(1);
    let nums = stage::generate(&view, 0..3u32);
    drop(view);
    assert!(!scope.context().is_cancelled());
    let all = stage::collect::<_, Vec<_>>(&scope, nums);
    scope.wait().await.unwrap();
    assert_eq!(all.await.unwrap(), [0, 1, 2]);
}

#[tokio::test(start_paused = true)]
async fn dropping_the_owner_cancels_and_aborts_its_stages() {
    let scope = Scope::new(&Context::background());
    let ctx = scope.context().clone();
    let endless = stage::generate(&scope.named("endless"), 0u64..);
    let seen = stage::fold(&scope, endless, 0u64, |n, _| n + 1);
    tokio::task::yield_now().await;
    drop(scope);
    assert!(ctx.is_cancelled());
    assert!(seen.await.is_err(), "an aborted sink has no result");
}
