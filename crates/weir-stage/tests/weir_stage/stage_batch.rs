//! `batch`: groups items into `Vec`s by size and by time (paused clock).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::{timeout, Instant};
use weir_cancel::Context;
use weir_core::chan;
use weir_stage::testing::{eventually, TaskBaseline};
use weir_stage::{self as stage, ConfigError, Error, Scope};

const MS: Duration = Duration::from_millis(1);

#[tokio::test(start_paused = true)]
async fn groups_by_size_in_order_and_flushes_the_rest_at_close() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let nums = stage::generate(&scope, 1..=10);
    let batches = stage::batch(&scope, nums, 3, Duration::MAX).unwrap();
    let all = stage::collect::<_, Vec<_>>(&scope, batches);
    scope.wait().await.unwrap();
    assert_eq!(
        all.await.unwrap(),
        [vec![1, 2, 3], vec![4, 5, 6], vec![7, 8, 9], vec![10]]
    );
    baseline.assert_settled().await;
}

#[tokio::test(start_paused = true)]
async fn a_big_input_keeps_order_and_loses_nothing() {
    let scope = Scope::new(&Context::background());
    let nums = stage::generate(&scope, 0..10_000);
    let batches = stage::batch(&scope.with_capacity(3), nums, 100, 10 * MS).unwrap();
    let all = stage::collect::<_, Vec<Vec<_>>>(&scope, batches);
    let all = all.await.unwrap();
    assert!(all.iter().all(|b| !b.is_empty() && b.len() <= 100));
    assert_eq!(all.concat(), (0..10_000).collect::<Vec<_>>());
    scope.wait().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_partial_batch_goes_out_max_wait_after_its_first_item() {
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded(8);
    let batches = stage::batch(&scope, rx, 5, 100 * MS).unwrap();
    let start = Instant::now();
    tx.send(1).await.unwrap();
    tokio::time::sleep(60 * MS).await;
    tx.send(2).await.unwrap();
    assert!(
        timeout(39 * MS, batches.recv()).await.is_err(),
        "not before max_wait"
    );
    assert_eq!(batches.recv().await, Some(vec![1, 2]));
    assert_eq!(start.elapsed(), 100 * MS, "measured from the first item");

    // The next batch's clock starts with its own first item.
    tokio::time::sleep(500 * MS).await;
    let start = Instant::now();
    tx.send(3).await.unwrap();
    assert_eq!(batches.recv().await, Some(vec![3]));
    assert_eq!(start.elapsed(), 100 * MS);
    drop(tx);
    assert_eq!(batches.recv().await, None);
    scope.wait().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_full_batch_goes_out_without_waiting() {
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded(8);
    let batches = stage::batch(&scope, rx, 3, Duration::from_secs(3600)).unwrap();
    let start = Instant::now();
    tx.send_all(vec![1, 2, 3, 4]).await.unwrap();
    assert_eq!(batches.recv().await, Some(vec![1, 2, 3]));
    assert_eq!(start.elapsed(), Duration::ZERO);
    drop(tx);
    assert_eq!(batches.recv().await, Some(vec![4]), "flushed at close");
    assert_eq!(batches.recv().await, None);
    assert_eq!(start.elapsed(), Duration::ZERO, "closing does not wait");
    scope.wait().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn zero_max_wait_sends_what_is_there_at_once() {
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded(8);
    let batches = stage::batch(&scope, rx, 10, Duration::ZERO).unwrap();
    let start = Instant::now();
    tx.send_all(vec![1, 2]).await.unwrap();
    assert_eq!(batches.recv().await, Some(vec![1, 2]));
    tx.send(3).await.unwrap();
    assert_eq!(batches.recv().await, Some(vec![3]));
    assert_eq!(start.elapsed(), Duration::ZERO, "it never waited");
    drop(tx);
    assert_eq!(batches.recv().await, None);
    scope.wait().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn max_duration_never_flushes_by_time_and_does_not_overflow() {
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded(8);
    let batches = stage::batch(&scope, rx, 3, Duration::MAX).unwrap();
    tx.send_all(vec![1, 2]).await.unwrap();
    let year = Duration::from_secs(365 * 24 * 3600);
    assert!(timeout(year, batches.recv()).await.is_err());
    drop(tx);
    assert_eq!(batches.recv().await, Some(vec![1, 2]));
    assert_eq!(batches.recv().await, None);
    scope.wait().await.unwrap();
}

#[tokio::test]
async fn size_zero_is_a_config_error_naming_the_stage() {
    let scope = Scope::new(&Context::background());
    let (_tx, rx) = chan::bounded::<u8>(1);
    let err = stage::batch(&scope, rx, 0, MS).unwrap_err();
    assert_eq!(
        err,
        ConfigError::Zero {
            stage: "batch".into(),
            what: "size"
        }
    );
    let (_tx, rx) = chan::bounded::<u8>(1);
    let err = stage::batch(&scope.named("rows"), rx, 0, MS).unwrap_err();
    assert_eq!(err.to_string(), "stage `rows`: size must be at least 1");
    scope.wait().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn shutdown_flushes_the_partial_batch() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let produced = Arc::new(AtomicUsize::new(0));
    let counter = produced.clone();
    let nums = stage::generate(&scope, 0u64..);
    let nums = stage::inspect(&scope, nums, move |_| {
        counter.fetch_add(1, Ordering::Relaxed);
    });
    // Neither size nor time will flush: only the end of the input can.
    let batches = stage::batch(&scope, nums, 1_000_000, Duration::MAX).unwrap();
    let all = stage::collect::<_, Vec<Vec<_>>>(&scope, batches);
    eventually("items flow", || produced.load(Ordering::Relaxed) > 0).await;
    scope.shutdown().await.unwrap();
    let all = all.await.unwrap();
    assert_eq!(all.len(), 1, "one partial batch");
    let n = all[0].len() as u64;
    assert!(n > 0);
    assert_eq!(all.concat(), (0..n).collect::<Vec<_>>(), "nothing lost");
    baseline.assert_settled().await;
}

#[tokio::test(start_paused = true)]
async fn cancel_stops_it_while_it_waits_for_max_wait() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded(4);
    let batches = stage::batch(&scope, rx, 10, Duration::from_secs(60)).unwrap();
    tx.send(1).await.unwrap();
    eventually("it took the item", || tx.is_empty()).await;
    scope.cancel();
    assert!(matches!(scope.wait().await, Err(Error::Cancelled(_))));
    assert!(tx.is_closed(), "its input was dropped");
    assert_eq!(
        batches.recv().await,
        None,
        "its output was closed; the partial batch is dropped"
    );
    baseline.assert_settled().await;
}

#[tokio::test]
async fn cancel_stops_it_on_a_full_output() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded(8);
    tx.send_all(vec![1, 2, 3, 4, 5, 6]).await.unwrap();
    let batches = stage::batch(&scope.with_capacity(1), rx, 2, MS).unwrap();
    eventually("the output is full", || batches.len() == 1).await;
    scope.cancel();
    assert!(matches!(scope.wait().await, Err(Error::Cancelled(_))));
    assert!(tx.is_closed());
    assert_eq!(batches.recv().await, Some(vec![1, 2]));
    assert_eq!(batches.recv().await, None);
    baseline.assert_settled().await;
}

#[tokio::test(start_paused = true)]
async fn dropping_the_output_stops_it_and_its_upstream_even_when_idle() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded(4);
    let batches = stage::batch(&scope, rx, 10, Duration::from_secs(60)).unwrap();
    tx.send(1).await.unwrap();
    eventually("it took the item", || tx.is_empty()).await;
    drop(batches);
    eventually("upstream sees its receivers gone", || tx.is_closed()).await;
    scope.wait().await.unwrap();
    baseline.assert_settled().await;
}
