//! The engine's one-item hop (`engine::run_into` over a `RecvSource`): a
//! lone item is sent as it is, a send that never blocks adds no send wait,
//! the wait for the output closing is kept across batches, and a stop is
//! checked without losing its wake-up.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use weir_cancel::Context;
use weir_core::chan;
use weir_stage::engine::{self, RecvSource, Stage, Stop};

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn lone_items_go_through_one_by_one_and_a_send_that_never_blocks_waits_nothing() {
    let (input, rx) = chan::bounded::<u32>(8);
    let (tx, output) = chan::bounded::<u32>(8);
    let stage = Stage::new("forward", "out");
    let run = tokio::spawn({
        let stage = stage.clone();
        async move { engine::run_into(Box::new(RecvSource::new(rx)), tx, &stage).await }
    });
    for n in 0..5 {
        input.send(n).await.unwrap();
        // One item at a time, each read before the next is sent.
        assert_eq!(output.recv().await, Some(n));
    }
    drop(input);
    run.await.unwrap().unwrap();
    assert_eq!(output.recv().await, None, "nothing sent twice");
    let counts = stage.counters().snapshot();
    assert_eq!(counts.send_wait, Duration::ZERO, "{counts:?}");
    assert!(!counts.running, "{counts:?}");
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_receiver_dropped_after_several_batches_ends_the_hop_and_stops_upstream() {
    let (input, rx) = chan::bounded::<u32>(8);
    let (tx, output) = chan::bounded::<u32>(8);
    let stage = Stage::new("forward", "out");
    let run = tokio::spawn({
        let stage = stage.clone();
        async move { engine::run_into(Box::new(RecvSource::new(rx)), tx, &stage).await }
    });
    for n in 0..3 {
        input.send(n).await.unwrap();
        assert_eq!(output.recv().await, Some(n));
    }
    // The hop now waits on an idle input; the one `closed()` wait it kept
    // since the first batch must still notice this.
    drop(output);
    run.await.unwrap().unwrap();
    assert!(input.send(9).await.is_err(), "the hop's receiver is gone");
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_stop_ends_the_source_before_its_queued_items_and_wakes_it_while_it_waits() {
    // Queued items: the stop comes first.
    let (ctx, handle) = Context::background().with_cancel();
    let cut = Arc::new(AtomicBool::new(false));
    let (input, rx) = chan::bounded::<u32>(8);
    input.send_all(vec![1, 2]).await.unwrap();
    let (tx, output) = chan::bounded::<u32>(8);
    handle.cancel();
    let src = RecvSource::new(rx).stop_on(Stop::new(&ctx, cut.clone()));
    engine::run_into(Box::new(src), tx, &Stage::new("forward", "out"))
        .await
        .unwrap();
    assert_eq!(output.recv().await, None, "nothing after the stop");
    assert!(cut.load(Ordering::Acquire));

    // An idle source: the stop's waker is registered as it waits, so the
    // stop wakes it.
    let (ctx, handle) = Context::background().with_cancel();
    let cut = Arc::new(AtomicBool::new(false));
    let (input, rx) = chan::bounded::<u32>(8);
    let (tx, output) = chan::bounded::<u32>(8);
    let src = RecvSource::new(rx).stop_on(Stop::new(&ctx, cut.clone()));
    let run = tokio::spawn(async move {
        engine::run_into(Box::new(src), tx, &Stage::new("forward", "out")).await
    });
    input.send(7).await.unwrap();
    assert_eq!(output.recv().await, Some(7));
    tokio::task::yield_now().await; // the hop waits on its empty input
    assert!(!run.is_finished());
    handle.cancel();
    run.await.unwrap().unwrap();
    assert!(cut.load(Ordering::Acquire));
    assert!(
        input.send(8).await.is_err(),
        "the source let its channel go"
    );
}
