//! `for_each`: a sink that runs a closure on every item.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use weir_cancel::Context;
use weir_core::chan;
use weir_stage::testing::TaskBaseline;
use weir_stage::{self as stage, Error, Incomplete, Scope};

#[tokio::test]
async fn runs_on_every_item_in_order() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    let done = stage::for_each(&scope, stage::generate(&scope, 0..1_000), move |n| {
        log.lock().unwrap().push(n)
    });
    done.await.unwrap();
    scope.wait().await.unwrap();
    assert_eq!(*seen.lock().unwrap(), (0..1_000).collect::<Vec<_>>());
    baseline.assert_settled().await;
}

#[tokio::test]
async fn cancel_stops_it_on_an_empty_input() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded::<u64>(4);
    let out = stage::for_each(&scope, rx, drop);
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
    let out = stage::for_each(&scope, rx, |n| assert!(n < 3, "boom at {n}"));
    tx.send_all(vec![1, 2, 3]).await.unwrap();
    match scope.wait().await {
        Err(Error::Panicked { stage, message }) => {
            assert!(stage.starts_with("for_each#"), "{stage}");
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
    drop(stage::for_each(&scope, nums, drop));
    scope.wait().await.unwrap();
    assert_eq!(
        count.load(Ordering::Relaxed),
        1_000,
        "the whole input was consumed"
    );
    baseline.assert_settled().await;
}
