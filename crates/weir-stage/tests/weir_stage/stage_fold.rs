//! `fold`: a sink that reduces every item into one value.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use weir_cancel::Context;
use weir_core::chan;
use weir_stage::testing::TaskBaseline;
use weir_stage::{self as stage, Error, Incomplete, Scope};

#[tokio::test]
async fn folds_every_item_in_order() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let text = stage::fold(
        &scope,
        stage::generate(&scope, 0..10),
        String::new(),
        |acc, n| acc + &n.to_string(),
    );
    scope.wait().await.unwrap();
    assert_eq!(text.await.unwrap(), "0123456789");
    baseline.assert_settled().await;
}

#[tokio::test]
async fn an_empty_input_gives_the_initial_value() {
    let scope = Scope::new(&Context::background());
    let sum = stage::fold(
        &scope,
        stage::generate(&scope, Vec::<u64>::new()),
        7,
        |acc, n| acc + n,
    );
    assert_eq!(sum.await, Ok(7));
}

#[tokio::test]
async fn cancel_stops_it_on_an_empty_input() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded::<u64>(4);
    let out = stage::fold(&scope, rx, 0, |acc, n| acc + n);
    tokio::task::yield_now().await;
    scope.cancel();
    assert!(matches!(scope.wait().await, Err(Error::Cancelled(_))));
    assert!(tx.is_closed(), "its input was dropped");
    assert_eq!(out.await.map(drop), Err(Incomplete));
    baseline.assert_settled().await;
}

#[tokio::test]
async fn a_panic_names_the_stage_and_the_output_is_incomplete() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded::<u64>(4);
    let out = stage::fold(&scope, rx, 0, |acc, n| {
        assert!(n < 3, "boom at {n}");
        acc + n
    });
    tx.send_all(vec![1, 2, 3]).await.unwrap();
    match scope.wait().await {
        Err(Error::Panicked { stage, message }) => {
            assert!(stage.starts_with("fold#"), "{stage}");
            assert_eq!(message, "boom at 3");
        }
        other => panic!("unexpected: {other:?}"),
    }
    assert!(tx.is_closed(), "upstream sees its receivers gone");
    assert_eq!(out.await.map(drop), Err(Incomplete));
    baseline.assert_settled().await;
}

#[tokio::test]
async fn dropping_its_output_does_not_stop_it() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    let nums = stage::inspect(&scope, stage::generate(&scope, 0..1_000u64), move |_| {
        counter.fetch_add(1, Ordering::Relaxed);
    });
    drop(stage::fold(&scope, nums, 0, |acc, n| acc + n));
    scope.wait().await.unwrap();
    assert_eq!(
        count.load(Ordering::Relaxed),
        1_000,
        "the whole input was consumed"
    );
    baseline.assert_settled().await;
}

#[tokio::test]
async fn count_counts_every_item() {
    let scope = weir_stage::Scope::new(&weir_cancel::Context::background());
    let nums = weir_stage::generate(&scope, 0..1_000u32);
    let evens = weir_stage::filter(&scope, nums, |n| n % 2 == 0);
    let n = weir_stage::count(&scope, evens);
    scope.wait().await.unwrap();
    assert_eq!(n.await, Ok(500));
}
