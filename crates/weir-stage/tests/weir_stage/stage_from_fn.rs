//! `from_fn`: a source from an async closure; `None` ends it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use weir_cancel::Context;
use weir_core::chan;
use weir_stage::testing::{eventually, TaskBaseline};
use weir_stage::{self as stage, Error, Scope};

#[tokio::test(start_paused = true)]
async fn sends_each_value_in_call_order_until_none() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let mut n = 0u64;
    let out = stage::from_fn(&scope, move || {
        n += 1;
        let this = n;
        async move {
            tokio::time::sleep(Duration::from_millis(this % 5)).await;
            (this <= 1_000).then_some(this)
        }
    });
    let all = stage::collect::<_, Vec<_>>(&scope, out);
    scope.wait().await.unwrap();
    assert_eq!(all.await.unwrap(), (1..=1_000).collect::<Vec<_>>());
    baseline.assert_settled().await;
}

#[tokio::test]
async fn stops_calling_after_none() {
    let scope = Scope::new(&Context::background());
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let out = stage::from_fn(&scope, move || {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        async move { (n < 3).then_some(n) }
    });
    let all = stage::collect::<_, Vec<_>>(&scope, out);
    scope.wait().await.unwrap();
    assert_eq!(all.await.unwrap(), [0, 1, 2]);
    assert_eq!(calls.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn sends_values_as_they_come() {
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded(8);
    let out = stage::from_fn(&scope, move || {
        let rx = rx.clone();
        async move { rx.recv().await }
    });
    tx.send(1).await.unwrap();
    assert_eq!(out.recv().await, Some(1));
    tx.send(2).await.unwrap();
    assert_eq!(out.recv().await, Some(2));
    drop(tx);
    assert_eq!(out.recv().await, None);
    scope.wait().await.unwrap();
}

#[tokio::test]
async fn shutdown_stops_it_while_a_call_is_pending() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded(8);
    let out = stage::from_fn(&scope, move || {
        let rx = rx.clone();
        async move { rx.recv().await }
    });
    tx.send(1).await.unwrap();
    let all = stage::collect::<_, Vec<_>>(&scope, out);
    eventually("it took the item", || tx.is_empty()).await;
    scope.shutdown().await.unwrap();
    assert!(tx.is_closed(), "`f` and its future were dropped");
    assert_eq!(all.await.unwrap(), [1]);
    baseline.assert_settled().await;
}

#[tokio::test]
async fn cancel_stops_it_while_a_call_is_pending() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded::<u8>(8);
    let out = stage::from_fn(&scope, move || {
        let rx = rx.clone();
        async move { rx.recv().await }
    });
    tokio::task::yield_now().await;
    scope.cancel();
    assert!(matches!(scope.wait().await, Err(Error::Cancelled(_))));
    assert!(tx.is_closed(), "`f` and its future were dropped");
    assert_eq!(out.recv().await, None, "its output was closed");
    baseline.assert_settled().await;
}

#[tokio::test]
async fn cancel_stops_it_on_a_full_output() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let out = stage::from_fn(&scope.with_capacity(1), || async { Some(7) });
    eventually("the output is full", || out.len() == 1).await;
    scope.cancel();
    assert!(matches!(scope.wait().await, Err(Error::Cancelled(_))));
    assert_eq!(out.recv().await, Some(7));
    assert_eq!(out.recv().await, None);
    baseline.assert_settled().await;
}

#[tokio::test]
async fn dropping_the_output_stops_it_while_a_call_is_pending() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded::<u8>(8);
    drop(stage::from_fn(&scope, move || {
        let rx = rx.clone();
        async move { rx.recv().await }
    }));
    eventually("`f` was dropped", || tx.is_closed()).await;
    scope.wait().await.unwrap();
    baseline.assert_settled().await;
}

#[tokio::test]
async fn a_panic_in_f_names_the_stage() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let mut n = 0;
    let out = stage::from_fn(&scope, move || {
        n += 1;
        assert!(n < 3, "boom at {n}");
        async move { Some(n) }
    });
    let _sink = stage::for_each(&scope, out, |_| {});
    match scope.wait().await {
        Err(Error::Panicked { stage, message }) => {
            assert!(stage.starts_with("from_fn#"), "{stage}");
            assert_eq!(message, "boom at 3");
        }
        other => panic!("unexpected: {other:?}"),
    }
    baseline.assert_settled().await;
}
