//! Stopping without losing work: `shutdown` stops every kind of source
//! (an iterator, a channel fed from outside, a stream), and drain mode
//! (`drain_on`, `shutdown_after`) lets what is in flight finish, so sinks
//! return partial results marked as cut short. Also `into_stream` and
//! `forward`, the ways in and out of other code.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use weir::cancel::Context;
use weir::chan;
use weir::pipeline::Pipeline;
use weir::testing::{settle, within, TaskBaseline};

/// A producer outside the pipeline that sends 0, 1, 2, … every `every`
/// and never closes its channel; `sent` counts what it handed over.
fn endless_producer(every: Duration) -> (chan::Receiver<u64>, Arc<AtomicU64>) {
    let (tx, rx) = chan::bounded(8);
    let sent = Arc::new(AtomicU64::new(0));
    let counter = sent.clone();
    tokio::spawn(async move {
        for n in 0u64.. {
            tokio::time::sleep(every).await;
            if tx.send(n).await.is_err() {
                break;
            }
            counter.fetch_add(1, Ordering::SeqCst);
        }
    });
    (rx, sent)
}

#[tokio::test(start_paused = true)]
async fn shutdown_ends_a_pipeline_fed_by_a_receiver_whose_producer_never_closes() {
    let (rx, _sent) = endless_producer(Duration::from_millis(1));
    let p = Pipeline::new(&Context::background());
    let run = p
        .from_receiver(rx)
        .map(|n| n * 2)
        .fold(0u64, |n, _| n + 1)
        .run();
    tokio::time::sleep(Duration::from_millis(50)).await;
    run.shutdown();
    let counted = within(Duration::from_secs(60), run.join())
        .await
        .expect("shutdown ends the pipeline although the producer never closes")
        .unwrap();
    assert!(counted > 0, "a partial count, not an error");
    assert!(p.cut_short());
}

#[tokio::test(start_paused = true)]
async fn shutdown_ends_a_pipeline_fed_by_a_stream_that_never_ends() {
    let ticks = futures::stream::iter(0u64..10).chain(futures::stream::pending());
    let p = Pipeline::new(&Context::background());
    let run = p.from_stream(ticks).collect::<Vec<_>>().run();
    settle(100).await;
    p.shutdown();
    let got = within(Duration::from_secs(60), run.join())
        .await
        .expect("shutdown ends a pending stream")
        .unwrap();
    assert_eq!(got, (0..10).collect::<Vec<_>>());
    assert!(p.cut_short());
}

#[tokio::test(start_paused = true)]
async fn shutdown_after_lets_items_in_flight_drain_into_the_fold() {
    let (rx, sent) = endless_producer(Duration::from_millis(10));
    let p = Pipeline::new(&Context::background()).shutdown_after(Duration::from_millis(205));
    // A slow pool in the middle: at the deadline some items are inside it,
    // and they still reach the sink.
    let taken = Arc::new(AtomicU64::new(0));
    let counter = taken.clone();
    let seen = p
        .from_receiver(rx)
        .inspect(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
        })
        .worker_pool(2, |n| async move {
            tokio::time::sleep(Duration::from_millis(25)).await;
            Ok::<_, std::io::Error>(n)
        })
        .collect::<Vec<_>>();
    let mut got = within(Duration::from_secs(60), seen.run().join())
        .await
        .unwrap()
        .unwrap();
    got.sort_unstable();
    let sent = sent.load(Ordering::SeqCst);
    assert!(
        got.len() >= 15,
        "about 20 items in 205 ms, got {}",
        got.len()
    );
    // Nothing the pipeline took is lost: every item it read, including
    // those inside the pool at the deadline, is in the result; what it
    // left is at most what is still queued in the channel it stopped reading.
    assert_eq!(got.len() as u64, taken.load(Ordering::SeqCst));
    assert_eq!(got, (0..got.len() as u64).collect::<Vec<_>>());
    assert!(
        sent - got.len() as u64 <= 8,
        "sent {sent}, got {}",
        got.len()
    );
    assert!(p.cut_short());
}

#[tokio::test(start_paused = true)]
async fn drain_on_a_cancelled_context_returns_the_partial_fold() {
    let (drain, stop) = Context::background().with_cancel();
    let (rx, _sent) = endless_producer(Duration::from_millis(10));
    let p = Pipeline::new(&Context::background()).drain_on(&drain);
    let run = p.from_receiver(rx).fold(0u64, |a, n| a + n).run();
    tokio::time::sleep(Duration::from_millis(45)).await;
    stop.cancel();
    let sum = within(Duration::from_secs(60), run.join()).await.unwrap();
    assert_eq!(sum.unwrap(), 1 + 2 + 3, "0..=3 arrived before the cancel");
    assert!(p.cut_short());
}

#[tokio::test(start_paused = true)]
async fn a_hard_deadline_still_cancels_and_a_finished_run_is_not_cut_short() {
    let (rx, _sent) = endless_producer(Duration::from_millis(10));
    let ctx = Context::background().with_timeout(Duration::from_millis(50));
    let p = Pipeline::new(&ctx);
    let err = p
        .from_receiver(rx)
        .fold(0u64, |a, n| a + n)
        .await
        .unwrap_err();
    assert!(err.cancelled().is_some(), "hard cancel is an error: {err}");

    let p = Pipeline::new(&Context::background()).shutdown_after(Duration::from_secs(3600));
    assert_eq!(p.source(1..=4).fold(0, |a, n| a + n).await.unwrap(), 10);
    assert!(!p.cut_short(), "it read all of its input");
}

#[tokio::test]
async fn dropping_the_stream_of_an_endless_pipeline_stops_it() {
    let baseline = TaskBaseline::take();
    let p = Pipeline::new(&Context::background());
    let mut stream = p.source(0u64..).map(|n| n + 1).into_stream();
    let first: Vec<u64> = (&mut stream).take(3).map(Result::unwrap).collect().await;
    assert_eq!(first, [1, 2, 3]);
    drop(stream);
    baseline.assert_settled().await;
    assert!(p.metrics().stages.iter().all(|s| !s.running));
}

#[tokio::test]
async fn a_stream_in_a_stream_out() {
    let (tx, rx) = chan::bounded(4);
    let p = Pipeline::new(&Context::background());
    let lens = p
        .from_stream(futures::stream::iter(["a", "bb", "ccc"]))
        .map(str::len);
    let fwd = tokio::spawn(std::future::IntoFuture::into_future(lens.forward(tx)));
    let got: Vec<usize> = rx.collect().await;
    assert_eq!(got, [1, 2, 3]);
    fwd.await.unwrap().unwrap();
}
