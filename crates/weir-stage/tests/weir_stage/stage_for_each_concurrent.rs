//! `for_each_concurrent`: a sink running up to n futures at once.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Semaphore;
use weir_cancel::Context;
use weir_core::chan;
use weir_stage::testing::{eventually, TaskBaseline};
use weir_stage::{self as stage, ConfigError, Error, Incomplete, Scope};

#[tokio::test]
async fn runs_on_every_item_exactly_once() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let done =
        stage::for_each_concurrent(&scope, stage::generate(&scope, 0..500u32), 8, move |n| {
            let s = s.clone();
            async move {
                tokio::task::yield_now().await;
                s.lock().unwrap().push(n);
            }
        })
        .unwrap();
    done.await.unwrap();
    scope.wait().await.unwrap();
    let mut seen = seen.lock().unwrap().clone();
    seen.sort_unstable();
    assert_eq!(seen, (0..500).collect::<Vec<_>>());
    baseline.assert_settled().await;
}

#[tokio::test(start_paused = true)]
async fn resolves_only_when_every_future_has_finished() {
    let scope = Scope::new(&Context::background());
    let total = Arc::new(AtomicU64::new(0));
    let t = total.clone();
    let done = stage::for_each_concurrent(
        &scope,
        stage::generate(&scope, [30u64, 10, 20]),
        3,
        move |ms| {
            let t = t.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                t.fetch_add(ms, Ordering::SeqCst);
            }
        },
    )
    .unwrap();
    done.await.unwrap();
    assert_eq!(total.load(Ordering::SeqCst), 60);
    scope.wait().await.unwrap();
}

#[tokio::test]
async fn runs_n_futures_at_once_and_no_more() {
    let scope = Scope::new(&Context::background());
    let permits = Arc::new(Semaphore::new(0));
    let busy = Arc::new(AtomicUsize::new(0));
    let (p, b) = (permits.clone(), busy.clone());
    let done =
        stage::for_each_concurrent(&scope, stage::generate(&scope, 0..30u32), 4, move |_| {
            let (p, b) = (p.clone(), b.clone());
            async move {
                b.fetch_add(1, Ordering::SeqCst);
                p.acquire().await.unwrap().forget();
                b.fetch_sub(1, Ordering::SeqCst);
            }
        })
        .unwrap();
    eventually("four futures wait", || busy.load(Ordering::SeqCst) == 4).await;
    for _ in 0..100 {
        tokio::task::yield_now().await;
    }
    assert_eq!(busy.load(Ordering::SeqCst), 4, "no more than n in flight");
    permits.add_permits(30);
    done.await.unwrap();
    scope.wait().await.unwrap();
}

#[tokio::test]
async fn zero_concurrency_is_a_config_error() {
    let scope = Scope::new(&Context::background());
    let nums = stage::generate(&scope, 0..3);
    let err = stage::for_each_concurrent(&scope, nums, 0, |_: i32| async {}).unwrap_err();
    assert_eq!(
        err,
        ConfigError::Zero {
            stage: "for_each_concurrent".into(),
            what: "concurrency"
        }
    );
}

#[tokio::test]
async fn cancel_stops_it_on_an_empty_input() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded::<i32>(4);
    let done = stage::for_each_concurrent(&scope, rx, 4, |_| async {}).unwrap();
    tokio::task::yield_now().await;
    scope.cancel();
    assert!(matches!(scope.wait().await, Err(Error::Cancelled(_))));
    assert!(tx.is_closed(), "its input was dropped");
    assert_eq!(done.await, Err(Incomplete));
    baseline.assert_settled().await;
}

#[tokio::test]
async fn cancel_drops_the_futures_in_flight() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let (gate_tx, gate_rx) = chan::bounded::<()>(1);
    let nums = stage::generate(&scope, [1, 2]);
    let done = stage::for_each_concurrent(&scope, nums, 2, move |_: i32| {
        let gate = gate_rx.clone();
        async move {
            gate.recv().await; // never opens
        }
    })
    .unwrap();
    eventually("two futures wait", || gate_tx.receiver_count() == 3).await;
    scope.cancel();
    assert!(matches!(scope.wait().await, Err(Error::Cancelled(_))));
    assert!(gate_tx.is_closed(), "the futures and `f` were dropped");
    assert_eq!(done.await, Err(Incomplete));
    baseline.assert_settled().await;
}

#[tokio::test]
async fn a_panic_names_the_stage_and_leaves_the_sink_incomplete() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded(4);
    let done = stage::for_each_concurrent(&scope.named("store"), rx, 2, |n: i32| async move {
        assert!(n != 3, "disk full");
    })
    .unwrap();
    tx.send_all(vec![1, 2, 3]).await.unwrap();
    let err = scope.wait().await.unwrap_err();
    assert_eq!(err.to_string(), "stage `store` panicked: disk full");
    assert!(tx.is_closed(), "upstream sees the sink gone");
    assert_eq!(done.await, Err(Incomplete));
    baseline.assert_settled().await;
}
