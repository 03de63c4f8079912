//! `map_unordered`: up to n futures in flight, results as they finish.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use weir_cancel::Context;
use weir_core::chan;
use weir_stage::testing::{eventually, TaskBaseline};
use weir_stage::{self as stage, ConfigError, Error, Scope};

#[tokio::test]
async fn every_item_comes_out_exactly_once() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let nums = stage::generate(&scope, 0..500u64);
    let out = stage::map_unordered(&scope, nums, 7, |n| async move {
        for _ in 0..n % 3 {
            tokio::task::yield_now().await;
        }
        n * 2
    })
    .unwrap();
    let all = stage::collect::<_, Vec<_>>(&scope, out);
    scope.wait().await.unwrap();
    let mut all = all.await.unwrap();
    all.sort_unstable();
    assert_eq!(all, (0..500).map(|n| n * 2).collect::<Vec<_>>());
    baseline.assert_settled().await;
}

#[tokio::test(start_paused = true)]
async fn results_come_in_the_order_they_finish() {
    let scope = Scope::new(&Context::background());
    let delays = stage::generate(&scope, [50u64, 10, 40, 20, 30]);
    let out = stage::map_unordered(&scope, delays, 5, |ms| async move {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        ms
    })
    .unwrap();
    let all = stage::collect::<_, Vec<_>>(&scope, out);
    assert_eq!(all.await.unwrap(), [10, 20, 30, 40, 50]);
    scope.wait().await.unwrap();
}

#[tokio::test]
async fn a_slow_item_holds_up_nothing() {
    let scope = Scope::new(&Context::background());
    let (gate_tx, gate_rx) = chan::bounded::<()>(1);
    let nums = stage::generate(&scope, 0..100u32);
    let out = stage::map_unordered(&scope, nums, 3, move |n| {
        let gate = gate_rx.clone();
        async move {
            if n == 0 {
                gate.recv().await;
            }
            n
        }
    })
    .unwrap();
    let mut first: Vec<u32> = Vec::new();
    while first.len() < 99 {
        first.push(out.recv().await.unwrap());
    }
    first.sort_unstable();
    assert_eq!(
        first,
        (1..100).collect::<Vec<_>>(),
        "all but item 0, which still waits"
    );
    gate_tx.send(()).await.unwrap();
    assert_eq!(out.recv().await, Some(0));
    assert_eq!(out.recv().await, None);
    scope.wait().await.unwrap();
}

#[tokio::test]
async fn runs_n_futures_at_once_and_no_more() {
    let scope = Scope::new(&Context::background());
    let permits = Arc::new(Semaphore::new(0));
    let busy = Arc::new(AtomicUsize::new(0));
    let (p, b) = (permits.clone(), busy.clone());
    let nums = stage::generate(&scope, 0..40u32);
    let out = stage::map_unordered(&scope, nums, 6, move |n| {
        let (p, b) = (p.clone(), b.clone());
        async move {
            b.fetch_add(1, Ordering::SeqCst);
            p.acquire().await.unwrap().forget();
            b.fetch_sub(1, Ordering::SeqCst);
            n
        }
    })
    .unwrap();
    eventually("six futures wait", || busy.load(Ordering::SeqCst) == 6).await;
    for _ in 0..100 {
        tokio::task::yield_now().await;
    }
    assert_eq!(busy.load(Ordering::SeqCst), 6, "no more than n in flight");
    permits.add_permits(40);
    let all = stage::collect::<_, Vec<_>>(&scope, out);
    scope.wait().await.unwrap();
    assert_eq!(all.await.unwrap().len(), 40);
}

#[tokio::test]
async fn zero_concurrency_is_a_config_error() {
    let scope = Scope::new(&Context::background());
    let nums = stage::generate(&scope, 0..3);
    let err = stage::map_unordered(&scope, nums, 0, |n: i32| async move { n }).unwrap_err();
    assert_eq!(
        err,
        ConfigError::Zero {
            stage: "map_unordered".into(),
            what: "concurrency"
        }
    );
}

#[tokio::test]
async fn cancel_stops_it_on_an_empty_input() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded::<i32>(4);
    let out = stage::map_unordered(&scope, rx, 4, |n| async move { n }).unwrap();
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
        stage::map_unordered(&scope.with_capacity(1), rx, 2, |n: i32| async move { n }).unwrap();
    eventually("the output is full", || out.len() == 1).await;
    scope.cancel();
    assert!(matches!(scope.wait().await, Err(Error::Cancelled(_))));
    assert!(tx.is_closed());
    assert!(out.recv().await.is_some(), "what was sent stays buffered");
    assert_eq!(out.recv().await, None);
    baseline.assert_settled().await;
}

#[tokio::test]
async fn dropping_the_output_stops_it_while_futures_are_pending() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded::<i32>(4);
    let out = stage::map_unordered(&scope, rx, 2, |n| async move {
        std::future::pending::<()>().await;
        n
    })
    .unwrap();
    tx.send_all(vec![1, 2]).await.unwrap();
    tokio::task::yield_now().await;
    drop(out);
    eventually("upstream sees its receivers gone", || tx.is_closed()).await;
    scope.wait().await.unwrap();
    baseline.assert_settled().await;
}

#[tokio::test]
async fn dropping_the_output_stops_a_busy_upstream() {
    let scope = Scope::new(&Context::background());
    let nums = stage::generate(&scope, 0u64..);
    let out = stage::map_unordered(&scope, nums, 4, |n| async move { n }).unwrap();
    assert!(out.recv().await.is_some());
    drop(out);
    scope.wait().await.unwrap(); // the endless source stopped too
}

#[tokio::test]
async fn a_panic_in_a_future_names_the_stage() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let nums = stage::generate(&scope, 0..10);
    let out = stage::map_unordered(&scope.named("lookup"), nums, 3, |n: i32| async move {
        assert!(n != 4, "boom at {n}");
        n
    })
    .unwrap();
    let _sink = stage::for_each(&scope, out, |_| {});
    let err = scope.wait().await.unwrap_err();
    assert_eq!(err.to_string(), "stage `lookup` panicked: boom at 4");
    baseline.assert_settled().await;
}
