//! `stage::forward`: a sink into a channel owned elsewhere.

use std::time::Duration;

use weir_cancel::Context;
use weir_core::chan;
use weir_stage::testing::{eventually, TaskBaseline};
use weir_stage::{self as stage, Error, Incomplete, Scope};

#[tokio::test]
async fn forwards_every_item_in_order_then_closes_the_channel() {
    let baseline = TaskBaseline::take();
    let scope = Scope::builder(&Context::background()).capacity(4).build();
    let (tx, rx) = chan::bounded(3);
    let done = stage::forward(&scope, stage::generate(&scope, 0..1_000u32), tx);
    let got = tokio::spawn(async move {
        let mut got = Vec::new();
        while let Some(n) = rx.recv().await {
            got.push(n);
        }
        got
    });
    assert_eq!(done.await, Ok(()));
    assert_eq!(got.await.unwrap(), (0..1_000).collect::<Vec<_>>());
    scope.wait().await.unwrap();
    baseline.assert_settled().await;
}

#[tokio::test]
async fn another_sender_keeps_the_channel_open() {
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded(8);
    let done = stage::forward(&scope, stage::generate(&scope, [1, 2]), tx.clone());
    done.await.unwrap();
    tx.send(3).await.unwrap();
    drop(tx);
    let mut got = Vec::new();
    rx.recv_many(&mut got, 8).await;
    assert_eq!(got, [1, 2, 3]);
    assert_eq!(rx.recv().await, None);
    scope.wait().await.unwrap();
}

#[tokio::test]
async fn destination_dropped_stops_the_sink_and_upstream_without_error() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let (up_tx, up_rx) = chan::bounded::<u32>(4);
    let (tx, rx) = chan::bounded(4);
    let done = stage::forward(&scope, up_rx, tx);
    up_tx.send(1).await.unwrap();
    assert_eq!(rx.recv().await, Some(1));
    drop(rx); // nobody listens any more; the sink notices while idle
    eventually("up_tx.is_closed()", || up_tx.is_closed()).await;
    assert_eq!(done.await, Err(Incomplete), "not everything was forwarded");
    scope.wait().await.unwrap();
    baseline.assert_settled().await;
}

#[tokio::test]
async fn cancel_while_blocked_on_a_full_destination() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let (up_tx, up_rx) = chan::bounded(16);
    up_tx.send_all((0..16u32).collect()).await.unwrap();
    let (tx, rx) = chan::bounded(2);
    let done = stage::forward(&scope, up_rx, tx);
    eventually("rx.len() == 2", || rx.len() == 2).await;
    scope.cancel();
    assert!(matches!(scope.wait().await, Err(Error::Cancelled(_))));
    assert!(up_tx.is_closed(), "the sink dropped its input");
    assert!(rx.is_closed(), "the sink dropped its sender");
    assert_eq!(done.await, Err(Incomplete));
    baseline.assert_settled().await;
}

#[tokio::test]
async fn cancel_while_waiting_on_an_empty_input() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let (up_tx, up_rx) = chan::bounded::<u32>(4);
    let (tx, rx) = chan::bounded(4);
    let done = stage::forward(&scope.named("out"), up_rx, tx);
    tokio::task::yield_now().await;
    scope.cancel();
    assert!(matches!(scope.wait().await, Err(Error::Cancelled(_))));
    assert!(up_tx.is_closed());
    assert_eq!(rx.recv().await, None);
    assert_eq!(done.await, Err(Incomplete));
    baseline.assert_settled().await;
}

#[tokio::test(start_paused = true)]
async fn a_lone_item_is_not_held_back() {
    let scope = Scope::new(&Context::background());
    let (up_tx, up_rx) = chan::bounded(4);
    let (tx, rx) = chan::bounded(4);
    let _done = stage::forward(&scope, up_rx, tx);
    up_tx.send(7u32).await.unwrap();
    let got = tokio::time::timeout(Duration::from_secs(60), rx.recv()).await;
    assert_eq!(got.expect("the item was held back"), Some(7));
    drop(up_tx);
    scope.wait().await.unwrap();
}
