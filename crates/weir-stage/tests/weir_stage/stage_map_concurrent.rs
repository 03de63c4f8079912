//! `map_concurrent`: up to n futures in flight, results in input order.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use weir_cancel::Context;
use weir_core::chan;
use weir_stage::testing::{eventually, TaskBaseline};
use weir_stage::{self as stage, ConfigError, Error, Scope};

#[tokio::test(start_paused = true)]
async fn keeps_input_order_whatever_each_future_takes() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let nums = stage::generate(&scope, 0..300u64);
    let out = stage::map_concurrent(&scope, nums, 8, |n| async move {
        tokio::time::sleep(Duration::from_millis((n * 7) % 13)).await;
        n * 2
    })
    .unwrap();
    let all = stage::collect::<_, Vec<_>>(&scope, out);
    scope.wait().await.unwrap();
    assert_eq!(
        all.await.unwrap(),
        (0..300).map(|n| n * 2).collect::<Vec<_>>()
    );
    baseline.assert_settled().await;
}

#[tokio::test]
async fn runs_n_futures_at_once_and_no_more() {
    let scope = Scope::new(&Context::background());
    let permits = Arc::new(Semaphore::new(0));
    let busy = Arc::new(AtomicUsize::new(0));
    let (p, b) = (permits.clone(), busy.clone());
    let nums = stage::generate(&scope, 0..40u32);
    let out = stage::map_concurrent(&scope, nums, 5, move |n| {
        let (p, b) = (p.clone(), b.clone());
        async move {
            b.fetch_add(1, Ordering::SeqCst);
            p.acquire().await.unwrap().forget();
            b.fetch_sub(1, Ordering::SeqCst);
            n
        }
    })
    .unwrap();
    eventually("five futures wait", || busy.load(Ordering::SeqCst) == 5).await;
    settle().await;
    assert_eq!(busy.load(Ordering::SeqCst), 5, "no more than n in flight");
    permits.add_permits(40);
    let all = stage::collect::<_, Vec<_>>(&scope, out);
    scope.wait().await.unwrap();
    assert_eq!(all.await.unwrap(), (0..40).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_slow_head_bounds_the_reorder_window() {
    // While item 0 waits, items 1..n finish, wait for it, and take their
    // places in the window: nothing after item n-1 starts.
    let scope = Scope::new(&Context::background());
    let (gate_tx, gate_rx) = chan::bounded::<()>(1);
    let started = Arc::new(AtomicUsize::new(0));
    let s = started.clone();
    let nums = stage::generate(&scope, 0..100u32);
    let out = stage::map_concurrent(&scope, nums, 4, move |n| {
        s.fetch_add(1, Ordering::SeqCst);
        let gate = gate_rx.clone();
        async move {
            if n == 0 {
                gate.recv().await;
            }
            n
        }
    })
    .unwrap();
    eventually("the window is full", || started.load(Ordering::SeqCst) == 4).await;
    settle().await;
    assert_eq!(started.load(Ordering::SeqCst), 4);
    assert!(out.is_empty(), "finished results wait for item 0");
    gate_tx.send(()).await.unwrap();
    let all = stage::collect::<_, Vec<_>>(&scope, out);
    scope.wait().await.unwrap();
    assert_eq!(all.await.unwrap(), (0..100).collect::<Vec<_>>());
}

#[tokio::test]
async fn zero_concurrency_is_a_config_error() {
    let scope = Scope::new(&Context::background());
    let nums = stage::generate(&scope, 0..3);
    let err =
        stage::map_concurrent(&scope, nums.clone(), 0, |n: i32| async move { n }).unwrap_err();
    assert_eq!(
        err,
        ConfigError::Zero {
            stage: "map_concurrent".into(),
            what: "concurrency"
        }
    );
    let err = stage::map_concurrent(&scope.named("fetch"), nums, 0, |n: i32| async move { n })
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "stage `fetch`: concurrency must be at least 1"
    );
}

#[tokio::test]
async fn cancel_stops_it_on_an_empty_input() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded::<i32>(4);
    let out = stage::map_concurrent(&scope, rx, 4, |n| async move { n }).unwrap();
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
    let out =
        stage::map_concurrent(&scope.with_capacity(1), rx, 2, |n: i32| async move { n }).unwrap();
    eventually("the output is full", || out.len() == 1).await;
    scope.cancel();
    assert!(matches!(scope.wait().await, Err(Error::Cancelled(_))));
    assert!(tx.is_closed());
    assert_eq!(out.recv().await, Some(1), "what was sent stays buffered");
    assert_eq!(out.recv().await, None);
    baseline.assert_settled().await;
}

#[tokio::test]
async fn cancel_drops_the_futures_in_flight() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let (gate_tx, gate_rx) = chan::bounded::<()>(1);
    let nums = stage::generate(&scope, [1, 2, 3]);
    let out = stage::map_concurrent(&scope, nums, 3, move |n: i32| {
        let gate = gate_rx.clone();
        async move {
            gate.recv().await; // never opens
            n
        }
    })
    .unwrap();
    eventually("three futures wait", || gate_tx.receiver_count() == 4).await;
    scope.cancel();
    assert!(matches!(scope.wait().await, Err(Error::Cancelled(_))));
    assert!(gate_tx.is_closed(), "the futures and `f` were dropped");
    assert_eq!(out.recv().await, None);
    baseline.assert_settled().await;
}

#[tokio::test]
async fn dropping_the_output_stops_it_and_its_upstream() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let nums = stage::generate(&scope, 0u64..);
    let out = stage::map_concurrent(&scope, nums, 4, |n| async move { n }).unwrap();
    assert_eq!(out.recv().await, Some(0));
    drop(out);
    scope.wait().await.unwrap(); // the endless source stopped too
    baseline.assert_settled().await;
}

#[tokio::test]
async fn dropping_the_output_stops_it_while_a_future_is_pending() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded(4);
    let out = stage::map_concurrent(&scope, rx, 2, |n: i32| async move {
        if n == 2 {
            std::future::pending::<()>().await;
        }
        n
    })
    .unwrap();
    tx.send_all(vec![1, 2, 3]).await.unwrap();
    assert_eq!(out.recv().await, Some(1));
    drop(out); // item 2 never finishes; item 3 waits behind it
    eventually("upstream sees its receivers gone", || tx.is_closed()).await;
    scope.wait().await.unwrap();
    baseline.assert_settled().await;
}

#[tokio::test]
async fn a_panic_in_a_future_names_the_stage() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let nums = stage::generate(&scope, 0..10);
    let out = stage::map_concurrent(&scope, nums, 3, |n: i32| async move {
        assert!(n < 3, "boom at {n}");
        n
    })
    .unwrap();
    let _sink = stage::for_each(&scope, out, |_| {});
    match scope.wait().await {
        Err(Error::Panicked { stage, message }) => {
            assert!(stage.starts_with("map_concurrent#"), "{stage}");
            assert_eq!(message, "boom at 3");
        }
        other => panic!("unexpected: {other:?}"),
    }
    baseline.assert_settled().await;
}

#[tokio::test]
async fn a_panic_in_f_names_the_stage() {
    let scope = Scope::new(&Context::background());
    let nums = stage::generate(&scope, 0..10);
    let out = stage::map_concurrent(&scope.named("prepare"), nums, 3, |n: i32| {
        assert!(n < 5, "bad item");
        async move { n }
    })
    .unwrap();
    let _sink = stage::for_each(&scope, out, |_| {});
    let err = scope.wait().await.unwrap_err();
    assert_eq!(err.to_string(), "stage `prepare` panicked: bad item");
}

/// Gives every other task many chances to run.
async fn settle() {
    for _ in 0..100 {
        tokio::task::yield_now().await;
    }
}
