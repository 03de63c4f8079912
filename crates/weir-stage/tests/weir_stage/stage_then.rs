//! `then`: an async one-to-one stage, sequential and in order.

use std::time::Duration;

use weir_cancel::Context;
use weir_core::chan;
use weir_stage::testing::{eventually, TaskBaseline};
use weir_stage::{self as stage, Error, Scope};

#[tokio::test(start_paused = true)]
async fn keeps_input_order_whatever_each_future_takes() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let nums = stage::generate(&scope, 0..200u64);
    let out = stage::then(&scope, nums, |n| async move {
        tokio::time::sleep(Duration::from_millis((n * 7) % 13)).await;
        n * 2
    });
    let all = stage::collect::<_, Vec<_>>(&scope, out);
    assert_eq!(
        TaskBaseline::take().alive(),
        baseline.alive() + 3,
        "the leak check sees the stages"
    );
    scope.wait().await.unwrap();
    assert_eq!(
        all.await.unwrap(),
        (0..200).map(|n| n * 2).collect::<Vec<_>>()
    );
    baseline.assert_settled().await;
}

#[tokio::test]
async fn runs_one_future_at_a_time() {
    let scope = Scope::new(&Context::background());
    let running = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let nums = stage::generate(&scope, 0..50);
    let out = stage::then(&scope, nums, move |n: i32| {
        let running = running.clone();
        async move {
            assert_eq!(running.fetch_add(1, std::sync::atomic::Ordering::SeqCst), 0);
            tokio::task::yield_now().await;
            running.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
            n
        }
    });
    let all = stage::collect::<_, Vec<_>>(&scope, out);
    scope.wait().await.unwrap();
    assert_eq!(all.await.unwrap(), (0..50).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_waiting_future_does_not_hold_back_finished_results() {
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded(8);
    let (gate_tx, gate_rx) = chan::bounded::<()>(1);
    let out = stage::then(&scope, rx, move |n: i32| {
        let gate = gate_rx.clone();
        async move {
            if n == 2 {
                gate.recv().await;
            }
            n
        }
    });
    tx.send_all(vec![1, 2]).await.unwrap();
    assert_eq!(out.recv().await, Some(1), "1 is sent while 2 waits");
    gate_tx.send(()).await.unwrap();
    assert_eq!(out.recv().await, Some(2));
    drop(tx);
    assert_eq!(out.recv().await, None);
    scope.wait().await.unwrap();
}

#[tokio::test]
async fn cancel_stops_it_on_an_empty_input() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded::<i32>(4);
    let out = stage::then(&scope, rx, |n| async move { n });
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
    let out = stage::then(&scope.with_capacity(1), rx, |n: i32| async move { n });
    eventually("the output is full", || out.len() == 1).await;
    scope.cancel();
    assert!(matches!(scope.wait().await, Err(Error::Cancelled(_))));
    assert!(tx.is_closed());
    assert_eq!(out.recv().await, Some(1), "what was sent stays buffered");
    assert_eq!(out.recv().await, None);
    baseline.assert_settled().await;
}

#[tokio::test]
async fn cancel_drops_the_future_in_flight() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let (gate_tx, gate_rx) = chan::bounded::<()>(1);
    let nums = stage::generate(&scope, [1]);
    let out = stage::then(&scope, nums, move |n: i32| {
        let gate = gate_rx.clone();
        async move {
            gate.recv().await; // never opens
            n
        }
    });
    eventually("the future waits", || gate_tx.receiver_count() == 2).await;
    scope.cancel();
    assert!(matches!(scope.wait().await, Err(Error::Cancelled(_))));
    assert!(gate_tx.is_closed(), "the future and `f` were dropped");
    assert_eq!(out.recv().await, None);
    baseline.assert_settled().await;
}

#[tokio::test]
async fn dropping_the_output_stops_it_and_its_upstream_even_when_idle() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded::<i32>(4);
    let out = stage::then(&scope, rx, |n| async move { n });
    drop(out);
    eventually("upstream sees its receivers gone", || tx.is_closed()).await;
    scope.wait().await.unwrap();
    baseline.assert_settled().await;
}

#[tokio::test]
async fn dropping_the_output_stops_a_pending_future() {
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded(4);
    let out = stage::then(&scope, rx, |n: i32| async move {
        std::future::pending::<()>().await;
        n
    });
    tx.send(1).await.unwrap();
    tokio::task::yield_now().await;
    drop(out);
    eventually("upstream sees its receivers gone", || tx.is_closed()).await;
    scope.wait().await.unwrap();
}

#[tokio::test]
async fn a_panic_in_the_future_names_the_stage() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let nums = stage::generate(&scope, 0..10);
    let out = stage::then(&scope, nums, |n: i32| async move {
        assert!(n < 3, "boom at {n}");
        n
    });
    let _sink = stage::for_each(&scope, out, |_| {});
    match scope.wait().await {
        Err(Error::Panicked { stage, message }) => {
            assert!(stage.starts_with("then#"), "{stage}");
            assert_eq!(message, "boom at 3");
        }
        other => panic!("unexpected: {other:?}"),
    }
    baseline.assert_settled().await;
}
