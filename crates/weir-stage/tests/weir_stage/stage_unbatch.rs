//! `unbatch`: flattens batches back into single items, in order.

use std::time::Duration;

use weir_cancel::Context;
use weir_core::chan;
use weir_stage::testing::{eventually, TaskBaseline};
use weir_stage::{self as stage, Error, Scope};

#[tokio::test]
async fn flattens_batches_in_order() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let batches = stage::generate(&scope, (0..100).map(|n| vec![n; n % 4]));
    let items = stage::unbatch(&scope, batches);
    let all = stage::collect::<_, Vec<_>>(&scope, items);
    scope.wait().await.unwrap();
    let want: Vec<_> = (0..100).flat_map(|n| vec![n; n % 4]).collect();
    assert_eq!(all.await.unwrap(), want);
    baseline.assert_settled().await;
}

#[tokio::test]
async fn takes_any_into_iterator() {
    let scope = Scope::new(&Context::background());
    let maybe = stage::unbatch(&scope, stage::generate(&scope, [Some(1), None, Some(3)]));
    let arrays = stage::unbatch(&scope, stage::generate(&scope, [[1, 2], [3, 4]]));
    let maybe = stage::collect::<_, Vec<_>>(&scope, maybe);
    let arrays = stage::collect::<_, Vec<_>>(&scope, arrays);
    assert_eq!(maybe.await.unwrap(), [1, 3]);
    assert_eq!(arrays.await.unwrap(), [1, 2, 3, 4]);
    scope.wait().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn undoes_batch() {
    let scope = Scope::new(&Context::background());
    let nums = stage::generate(&scope, 0..1_000);
    let batches = stage::batch(&scope, nums, 7, Duration::from_millis(5)).unwrap();
    let items = stage::unbatch(&scope, batches);
    let all = stage::collect::<_, Vec<_>>(&scope, items);
    assert_eq!(all.await.unwrap(), (0..1_000).collect::<Vec<_>>());
    scope.wait().await.unwrap();
}

#[tokio::test]
async fn a_huge_batch_streams_and_stops_part_way() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded(1);
    tx.send(0..u64::MAX).await.unwrap();
    let out = stage::unbatch(&scope.with_capacity(4), rx);
    for want in 0..10_000 {
        assert_eq!(out.recv().await, Some(want));
    }
    drop(out);
    eventually("upstream sees its receivers gone", || tx.is_closed()).await;
    scope.wait().await.unwrap();
    baseline.assert_settled().await;
}

#[tokio::test]
async fn cancel_stops_it_on_an_empty_input() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded::<Vec<i32>>(4);
    let out = stage::unbatch(&scope, rx);
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
    tx.send(vec![1, 2, 3, 4]).await.unwrap();
    let out = stage::unbatch(&scope.with_capacity(1), rx);
    eventually("the output is full", || out.len() == 1).await;
    scope.cancel();
    assert!(matches!(scope.wait().await, Err(Error::Cancelled(_))));
    assert!(tx.is_closed());
    assert_eq!(out.recv().await, Some(1));
    assert_eq!(out.recv().await, None);
    baseline.assert_settled().await;
}

#[tokio::test]
async fn dropping_the_output_stops_it_and_its_upstream_even_when_idle() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded::<Vec<i32>>(4);
    drop(stage::unbatch(&scope, rx));
    eventually("upstream sees its receivers gone", || tx.is_closed()).await;
    scope.wait().await.unwrap();
    baseline.assert_settled().await;
}

#[tokio::test]
async fn a_panic_while_iterating_names_the_stage() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let batches = stage::generate(
        &scope,
        [(0..10).inspect(|&i| assert!(i < 3, "boom at {i}"))],
    );
    let _sink = stage::for_each(&scope, stage::unbatch(&scope, batches), |_| {});
    match scope.wait().await {
        Err(Error::Panicked { stage, message }) => {
            assert!(stage.starts_with("unbatch#"), "{stage}");
            assert_eq!(message, "boom at 3");
        }
        other => panic!("unexpected: {other:?}"),
    }
    baseline.assert_settled().await;
}
