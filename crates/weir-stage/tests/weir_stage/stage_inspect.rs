//! `inspect`: looks at every item as it passes, changing nothing.

use weir_cancel::Context;
use weir_core::chan;
use weir_stage::testing::{eventually, TaskBaseline};
use weir_stage::{self as stage, Error, Scope};

#[tokio::test]
async fn sees_every_item_in_order_and_passes_it_on() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    let nums = stage::generate(&scope, 0..1_000);
    let same = stage::inspect(&scope, nums, move |n: &i32| log.lock().unwrap().push(*n));
    let all = stage::collect::<_, Vec<_>>(&scope, same);
    scope.wait().await.unwrap();
    assert_eq!(all.await.unwrap(), (0..1_000).collect::<Vec<_>>());
    assert_eq!(*seen.lock().unwrap(), (0..1_000).collect::<Vec<_>>());
    baseline.assert_settled().await;
}

#[tokio::test]
async fn cancel_stops_it_on_an_empty_input() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded::<i32>(4);
    let out = stage::inspect(&scope, rx, |_| {});
    tokio::task::yield_now().await;
    scope.cancel();
    assert!(matches!(scope.wait().await, Err(Error::Cancelled(_))));
    assert!(tx.is_closed(), "its input was dropped");
    assert_eq!(out.recv().await, None, "its output was closed");
    baseline.assert_settled().await;
}

#[tokio::test]
async fn cancel_stops_it_on_a_full_output() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded(8);
    tx.send_all(vec![1, 2, 3, 4]).await.unwrap();
    let out = stage::inspect(&scope.with_capacity(1), rx, |_: &i32| {});
    eventually("the output is full", || out.len() == 1).await;
    scope.cancel();
    assert!(matches!(scope.wait().await, Err(Error::Cancelled(_))));
    assert!(tx.is_closed());
    assert_eq!(out.recv().await, Some(1));
    assert_eq!(out.recv().await, None);
    baseline.assert_settled().await;
}

#[tokio::test]
async fn dropping_the_output_stops_it_and_its_upstream() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded(4);
    let out = stage::inspect(&scope, rx, |_: &i32| {});
    drop(out);
    tx.send(1).await.unwrap(); // it notices at its next send
    eventually("upstream sees its receivers gone", || tx.is_closed()).await;
    scope.wait().await.unwrap();
    baseline.assert_settled().await;
}

#[tokio::test]
async fn a_panic_in_f_names_the_stage() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let nums = stage::generate(&scope, 0..10);
    let out = stage::inspect(&scope, nums, |n: &i32| assert!(*n < 3, "boom at {n}"));
    let _sink = stage::for_each(&scope, out, |_| {});
    match scope.wait().await {
        Err(Error::Panicked { stage, message }) => {
            assert!(stage.starts_with("inspect#"), "{stage}");
            assert_eq!(message, "boom at 3");
        }
        other => panic!("unexpected: {other:?}"),
    }
    baseline.assert_settled().await;
}
