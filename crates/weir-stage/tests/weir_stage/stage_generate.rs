//! `generate`: a source from an iterator (the seed's `pipeline(data)`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use weir_cancel::Context;
use weir_stage::testing::{eventually, TaskBaseline};
use weir_stage::{self as stage, Error, Scope};

#[tokio::test]
async fn sends_every_item_in_order_then_closes() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let nums = stage::generate(&scope, 0..10_000);
    let mut got = Vec::new();
    while let Some(n) = nums.recv().await {
        got.push(n);
    }
    assert_eq!(got, (0..10_000).collect::<Vec<_>>());
    scope.wait().await.unwrap();
    baseline.assert_settled().await;
}

#[tokio::test]
async fn an_empty_iterator_closes_at_once() {
    let scope = Scope::new(&Context::background());
    let nums = stage::generate(&scope, std::iter::empty::<u8>());
    assert_eq!(nums.recv().await, None);
    scope.wait().await.unwrap();
}

#[tokio::test]
async fn a_slow_reader_holds_it_back() {
    let scope = Scope::new(&Context::background());
    let pulled = Arc::new(AtomicUsize::new(0));
    let counter = pulled.clone();
    let nums = stage::generate(
        &scope.with_capacity(4),
        (0u64..).inspect(move |_| {
            counter.fetch_add(1, Ordering::Relaxed);
        }),
    );
    eventually("the output is full", || nums.len() == 4).await;
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    // One batch taken from the iterator, of which 4 fit in the channel.
    assert!(
        pulled.load(Ordering::Relaxed) <= weir_stage::engine::BATCH + 4,
        "memory stays bounded"
    );
    scope.cancel();
    assert!(scope.wait().await.is_err());
}

#[tokio::test]
async fn cancel_stops_it_on_a_full_output() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let nums = stage::generate(&scope.with_capacity(1), 0u64..);
    eventually("the output is full", || nums.len() == 1).await;
    scope.cancel();
    assert!(matches!(scope.wait().await, Err(Error::Cancelled(_))));
    assert_eq!(nums.recv().await, Some(0));
    assert_eq!(nums.recv().await, None, "its output was closed");
    baseline.assert_settled().await;
}

#[tokio::test]
async fn shutdown_stops_it_gracefully() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let nums = stage::generate(&scope.with_capacity(8), 0u64..);
    eventually("the output is full", || nums.len() == 8).await;
    scope.shutdown().await.unwrap();
    let mut got = Vec::new();
    while let Some(n) = nums.recv().await {
        got.push(n);
    }
    assert_eq!(got, (0..8).collect::<Vec<_>>(), "what was sent drains");
    baseline.assert_settled().await;
}

#[tokio::test]
async fn dropping_the_output_stops_it() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let token = Arc::new(());
    let held = token.clone();
    let nums = stage::generate(
        &scope.with_capacity(2),
        (0u64..).inspect(move |_| {
            let _ = &held;
        }),
    );
    eventually("the output is full", || nums.len() == 2).await;
    drop(nums);
    eventually("the iterator is dropped", || Arc::strong_count(&token) == 1).await;
    scope.wait().await.unwrap();
    baseline.assert_settled().await;
}

#[tokio::test]
async fn a_panic_in_the_iterator_names_the_stage() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let nums = stage::generate(&scope, (0..10).inspect(|&n| assert!(n < 3, "boom at {n}")));
    let _sink = stage::for_each(&scope, nums, |_| {});
    match scope.wait().await {
        Err(Error::Panicked { stage, message }) => {
            assert!(stage.starts_with("generate#"), "{stage}");
            assert_eq!(message, "boom at 3");
        }
        other => panic!("unexpected: {other:?}"),
    }
    baseline.assert_settled().await;
}
