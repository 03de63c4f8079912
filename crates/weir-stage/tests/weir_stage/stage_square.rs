//! `square`: the seed's squaring stage, a specialisation of `map`.

use weir_cancel::Context;
use weir_core::chan;
use weir_stage::testing::{eventually, TaskBaseline};
use weir_stage::{self as stage, Error, Scope};

#[tokio::test]
async fn squares_every_item_in_order() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let squares = stage::square(&scope, stage::generate(&scope, 1..=1_000u64));
    let all = stage::collect::<_, Vec<_>>(&scope, squares);
    scope.wait().await.unwrap();
    assert_eq!(
        all.await.unwrap(),
        (1..=1_000u64).map(|n| n * n).collect::<Vec<_>>()
    );
    baseline.assert_settled().await;
}

#[tokio::test]
async fn squares_floats() {
    let scope = Scope::new(&Context::background());
    let squares = stage::square(&scope, stage::generate(&scope, [1.5f64, -2.0]));
    let all = stage::collect::<_, Vec<_>>(&scope, squares);
    assert_eq!(all.await.unwrap(), [2.25, 4.0]);
}

/// The seed's `gen -> square -> sum` pipeline.
#[tokio::test]
async fn the_seed_pipeline() {
    let scope = Scope::new(&Context::background());
    let squares = stage::square(&scope, stage::generate(&scope, [1u64, 2, 3, 4, 5]));
    let sum = stage::fold(&scope, squares, 0, |acc, n| acc + n);
    scope.wait().await.unwrap();
    assert_eq!(sum.await, Ok(55));
}

#[tokio::test]
async fn cancel_stops_it_on_an_empty_input() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded::<i32>(4);
    let out = stage::square(&scope, rx);
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
    let out = stage::square(&scope.with_capacity(1), rx);
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
    let out = stage::square(&scope, rx);
    drop(out);
    tx.send(1).await.unwrap(); // it notices at its next send
    eventually("upstream sees its receivers gone", || tx.is_closed()).await;
    scope.wait().await.unwrap();
    baseline.assert_settled().await;
}

/// Overflow panics in debug builds, as `n * n` does, and is reported as a
/// panic of the stage.
#[cfg(debug_assertions)]
#[tokio::test]
async fn overflow_in_a_debug_build_is_a_panic_naming_the_stage() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let squares = stage::square(&scope, stage::generate(&scope, [2u8, 200]));
    let _sink = stage::for_each(&scope, squares, |_| {});
    match scope.wait().await {
        Err(Error::Panicked { stage, message }) => {
            assert!(stage.starts_with("square#"), "{stage}");
            assert!(message.contains("overflow"), "{message}");
        }
        other => panic!("unexpected: {other:?}"),
    }
    baseline.assert_settled().await;
}
