//! `from_stream`: a source from any `Stream`.

use futures::StreamExt;
use weir_cancel::Context;
use weir_core::chan;
use weir_stage::testing::{eventually, TaskBaseline};
use weir_stage::{self as stage, Error, Scope};

#[tokio::test]
async fn sends_every_item_in_order_then_closes() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let out = stage::from_stream(&scope, futures::stream::iter(0..10_000));
    let all = stage::collect::<_, Vec<_>>(&scope, out);
    scope.wait().await.unwrap();
    assert_eq!(all.await.unwrap(), (0..10_000).collect::<Vec<_>>());
    baseline.assert_settled().await;
}

#[tokio::test]
async fn sends_items_as_they_come_without_waiting_for_a_batch() {
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded(8);
    let out = stage::from_stream(&scope, rx); // a weir `Receiver` is a `Stream`
    tx.send(1).await.unwrap();
    assert_eq!(out.recv().await, Some(1));
    tx.send_all(vec![2, 3]).await.unwrap();
    assert_eq!(out.recv().await, Some(2));
    assert_eq!(out.recv().await, Some(3));
    drop(tx);
    assert_eq!(out.recv().await, None, "the stream's end closes the output");
    scope.wait().await.unwrap();
}

#[tokio::test]
async fn shutdown_stops_it_while_the_stream_is_idle() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded(8);
    let out = stage::from_stream(&scope, rx);
    tx.send(1).await.unwrap();
    let all = stage::collect::<_, Vec<_>>(&scope, out);
    eventually("it took the item", || tx.is_empty()).await;
    scope.shutdown().await.unwrap();
    assert!(tx.is_closed(), "the stream was dropped");
    assert_eq!(all.await.unwrap(), [1], "what it sent drained through");
    baseline.assert_settled().await;
}

#[tokio::test]
async fn cancel_stops_it_while_the_stream_is_idle() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded::<u8>(8);
    let out = stage::from_stream(&scope, rx);
    tokio::task::yield_now().await;
    scope.cancel();
    assert!(matches!(scope.wait().await, Err(Error::Cancelled(_))));
    assert!(tx.is_closed(), "the stream was dropped");
    assert_eq!(out.recv().await, None, "its output was closed");
    baseline.assert_settled().await;
}

#[tokio::test]
async fn cancel_stops_it_on_a_full_output() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let out = stage::from_stream(&scope.with_capacity(1), futures::stream::iter(0u64..));
    eventually("the output is full", || out.len() == 1).await;
    scope.cancel();
    assert!(matches!(scope.wait().await, Err(Error::Cancelled(_))));
    assert_eq!(out.recv().await, Some(0));
    assert_eq!(out.recv().await, None);
    baseline.assert_settled().await;
}

#[tokio::test]
async fn dropping_the_output_stops_it_while_the_stream_is_idle() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded::<u8>(8);
    drop(stage::from_stream(&scope, rx));
    eventually("the stream was dropped", || tx.is_closed()).await;
    scope.wait().await.unwrap();
    baseline.assert_settled().await;
}

#[tokio::test]
async fn a_panic_in_the_stream_names_the_stage() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let items = futures::stream::iter(0..10).map(|n| {
        assert!(n < 3, "boom at {n}");
        n
    });
    let _sink = stage::for_each(&scope, stage::from_stream(&scope, items), |_| {});
    match scope.wait().await {
        Err(Error::Panicked { stage, message }) => {
            assert!(stage.starts_with("from_stream#"), "{stage}");
            assert_eq!(message, "boom at 3");
        }
        other => panic!("unexpected: {other:?}"),
    }
    baseline.assert_settled().await;
}
