//! `throttle`: at most N items in any window of one period (paused clock).

use std::time::Duration;

use tokio::time::{timeout, Instant};
use weir_cancel::Context;
use weir_core::chan;
use weir_stage::testing::{eventually, TaskBaseline};
use weir_stage::{self as stage, ConfigError, Error, Rate, Scope};

const MS: Duration = Duration::from_millis(1);
const SEC: Duration = Duration::from_secs(1);

/// Receives everything, noting when each item arrived (since `start`).
async fn arrivals<T>(rx: &chan::Receiver<T>, start: Instant) -> Vec<(T, Duration)> {
    let mut got = Vec::new();
    while let Some(item) = rx.recv().await {
        got.push((item, start.elapsed()));
    }
    got
}

#[tokio::test(start_paused = true)]
async fn lets_a_burst_through_then_paces_the_rest() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let start = Instant::now();
    let nums = stage::generate(&scope, 0..10);
    let paced = stage::throttle(&scope, nums, Rate::new(3, SEC)).unwrap();
    let got = arrivals(&paced, start).await;
    let items: Vec<_> = got.iter().map(|(n, _)| *n).collect();
    assert_eq!(items, (0..10).collect::<Vec<_>>(), "in order, none lost");
    let secs: Vec<_> = got.iter().map(|(_, t)| t.as_secs()).collect();
    assert_eq!(secs, [0, 0, 0, 1, 1, 1, 2, 2, 2, 3]);
    scope.wait().await.unwrap();
    baseline.assert_settled().await;
}

/// The limit holds in every window, not only in windows aligned to the
/// first item: items that trickle in are never followed by a full burst
/// inside the same period.
#[tokio::test(start_paused = true)]
async fn holds_in_every_sliding_window() {
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded(64);
    let start = Instant::now();
    let paced = stage::throttle(&scope, rx, Rate::new(4, 100 * MS)).unwrap();
    let feeder = tokio::spawn(async move {
        for n in 0..200u32 {
            // An irregular producer: idle gaps, trickles and bursts.
            let gap = [0, 0, 7, 30, 0, 13, 0, 0, 55, 3][n as usize % 10];
            tokio::time::sleep(gap * MS).await;
            tx.send(n).await.unwrap();
        }
    });
    let got = arrivals(&paced, start).await;
    feeder.await.unwrap();
    assert_eq!(
        got.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        (0..200).collect::<Vec<_>>()
    );
    for w in got.windows(5) {
        assert!(
            w[4].1 - w[0].1 >= 100 * MS,
            "5 items within one period: {w:?}"
        );
    }
    scope.wait().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn the_full_rate_is_available_again_after_a_pause() {
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded(16);
    let paced = stage::throttle(&scope, rx, Rate::new(2, SEC)).unwrap();
    tx.send_all(vec![1, 2]).await.unwrap();
    assert_eq!(paced.recv().await, Some(1));
    assert_eq!(paced.recv().await, Some(2));
    tokio::time::sleep(5 * SEC).await;
    let start = Instant::now();
    tx.send_all(vec![3, 4]).await.unwrap();
    assert_eq!(paced.recv().await, Some(3));
    assert_eq!(paced.recv().await, Some(4));
    assert_eq!(start.elapsed(), Duration::ZERO, "a fresh burst");
    drop(tx);
    assert_eq!(paced.recv().await, None);
    scope.wait().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_huge_period_does_not_overflow() {
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded(16);
    let paced = stage::throttle(&scope, rx, Rate::new(2, Duration::MAX)).unwrap();
    tx.send_all(vec![1, 2, 3]).await.unwrap();
    assert_eq!(paced.recv().await, Some(1));
    assert_eq!(paced.recv().await, Some(2));
    let year = Duration::from_secs(365 * 24 * 3600);
    assert!(timeout(year, paced.recv()).await.is_err(), "never a third");
    drop(paced);
    eventually("upstream sees its receivers gone", || tx.is_closed()).await;
    scope.wait().await.unwrap();
}

#[tokio::test]
async fn a_zero_rate_is_a_config_error_naming_the_stage() {
    let scope = Scope::new(&Context::background());
    let (_tx, rx) = chan::bounded::<u8>(1);
    let err = stage::throttle(&scope, rx, Rate::per_second(0)).unwrap_err();
    assert_eq!(
        err,
        ConfigError::Zero {
            stage: "throttle".into(),
            what: "rate items"
        }
    );
    let (_tx, rx) = chan::bounded::<u8>(1);
    let err = stage::throttle(&scope.named("api"), rx, Rate::new(5, Duration::ZERO)).unwrap_err();
    assert!(matches!(&err, ConfigError::Invalid { stage, .. } if &**stage == "api"));
    assert_eq!(
        err.to_string(),
        "stage `api`: rate period must be longer than zero"
    );
    scope.wait().await.unwrap();
}

#[test]
fn rate_constructors() {
    assert_eq!(Rate::per_second(7), Rate::new(7, SEC));
    assert_eq!(Rate::new(3, MS).items(), 3);
    assert_eq!(Rate::new(3, MS).period(), MS);
}

#[tokio::test(start_paused = true)]
async fn cancel_stops_it_while_it_waits_for_the_rate() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded(8);
    tx.send_all(vec![1, 2, 3]).await.unwrap();
    let paced = stage::throttle(&scope, rx, Rate::new(1, Duration::from_secs(3600))).unwrap();
    assert_eq!(paced.recv().await, Some(1));
    scope.cancel();
    assert!(matches!(scope.wait().await, Err(Error::Cancelled(_))));
    assert!(tx.is_closed(), "its input was dropped");
    assert_eq!(paced.recv().await, None, "its output was closed");
    baseline.assert_settled().await;
}

#[tokio::test]
async fn cancel_stops_it_on_an_empty_input() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded::<u8>(8);
    let paced = stage::throttle(&scope, rx, Rate::per_second(10)).unwrap();
    tokio::task::yield_now().await;
    scope.cancel();
    assert!(matches!(scope.wait().await, Err(Error::Cancelled(_))));
    assert!(tx.is_closed());
    assert_eq!(paced.recv().await, None);
    baseline.assert_settled().await;
}

#[tokio::test]
async fn cancel_stops_it_on_a_full_output() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded(8);
    tx.send_all(vec![1, 2, 3, 4]).await.unwrap();
    let paced = stage::throttle(&scope.with_capacity(1), rx, Rate::per_second(100)).unwrap();
    eventually("the output is full", || paced.len() == 1).await;
    scope.cancel();
    assert!(matches!(scope.wait().await, Err(Error::Cancelled(_))));
    assert!(tx.is_closed());
    assert_eq!(paced.recv().await, Some(1));
    assert_eq!(paced.recv().await, None);
    baseline.assert_settled().await;
}

#[tokio::test(start_paused = true)]
async fn dropping_the_output_stops_it_while_it_waits_for_the_rate() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded(8);
    tx.send_all(vec![1, 2, 3]).await.unwrap();
    let paced = stage::throttle(&scope, rx, Rate::new(1, Duration::from_secs(3600))).unwrap();
    assert_eq!(paced.recv().await, Some(1));
    drop(paced);
    eventually("upstream sees its receivers gone", || tx.is_closed()).await;
    scope.wait().await.unwrap();
    baseline.assert_settled().await;
}
