//! `take`, `take_while`, `skip`: a satisfied `take` ends its stage and
//! stops its upstream, so a scope over an endless generator finishes `Ok`.

use weir_cancel::Context;
use weir_core::chan;
use weir_stage::testing::TaskBaseline;
use weir_stage::{self as stage, Scope};

#[tokio::test]
async fn take_stops_an_endless_generator_and_the_scope_ends_ok() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let endless = stage::generate(&scope, 0u64..);
    let doubled = stage::map(&scope, endless, |n| n * 2);
    let first = stage::take(&scope, doubled, 1_000);
    let all = stage::collect::<_, Vec<_>>(&scope, first);
    scope.wait().await.unwrap();
    assert_eq!(
        all.await.unwrap(),
        (0..1_000).map(|n| n * 2).collect::<Vec<_>>()
    );
    baseline.assert_settled().await;
}

#[tokio::test]
async fn take_zero_closes_its_output_and_drops_its_input_at_once() {
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded::<u8>(4);
    let out = stage::take(&scope, rx, 0);
    assert_eq!(out.recv().await, None);
    tx.closed().await; // its input was dropped, though it never closed
    scope.wait().await.unwrap();
}

#[tokio::test]
async fn take_while_stops_upstream_at_the_first_rejected_item() {
    let scope = Scope::new(&Context::background());
    let endless = stage::generate(&scope, 0u64..);
    let small = stage::take_while(&scope, endless, |n| *n < 700);
    let sum = stage::fold(&scope, small, 0, |a, n| a + n);
    scope.wait().await.unwrap();
    assert_eq!(sum.await, Ok(699 * 700 / 2));
}

#[tokio::test]
async fn skip_drops_the_first_items_across_batches() {
    let scope = Scope::new(&Context::background());
    let nums = stage::generate(&scope, 0..2_000u32);
    let rest = stage::skip(&scope, nums, 1_500);
    let all = stage::collect::<_, Vec<_>>(&scope, rest);
    scope.wait().await.unwrap();
    assert_eq!(all.await.unwrap(), (1_500..2_000).collect::<Vec<_>>());
}
