//! `buffer`: a bounded queue with an overflow policy. Backpressure loses
//! nothing; the drop modes never block the producer, keep the order of
//! what they keep and count exactly what they drop.

use std::time::Duration;

use proptest::prelude::*;
use tokio::time::Instant;
use weir_cancel::Context;
use weir_core::chan;
use weir_stage::testing::TaskBaseline;
use weir_stage::{self as stage, ConfigError, Error, Overflow, Overflowed, Scope};

const MS: Duration = Duration::from_millis(1);

/// Runs `input` through a buffer of `capacity` under `overflow`, fed in
/// chunks of `feed` items and read `read` items at a time with a yield
/// between (so the buffer fills or not as scheduling goes); returns what
/// came out and the stage's `dropped`.
fn run_case(
    input: &[u32],
    capacity: usize,
    overflow: Overflow,
    feed: usize,
    read: usize,
) -> (Vec<u32>, u64) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let scope = Scope::new(&Context::background());
        let stats = scope.stats();
        let (tx, rx) = chan::bounded(feed);
        let items = input.to_vec();
        let feeder = tokio::spawn(async move {
            for chunk in items.chunks(feed) {
                tx.send_all(chunk.to_vec()).await.unwrap();
            }
        });
        let out = stage::buffer(&scope.named("buf"), rx, capacity, overflow).unwrap();
        let mut got = Vec::new();
        while out.recv_many(&mut got, read).await > 0 {
            tokio::task::yield_now().await;
        }
        feeder.await.unwrap();
        scope.wait().await.unwrap();
        (got, stats.stage("buf").unwrap().dropped)
    })
}

fn is_subsequence(kept: &[u32], input: &[u32]) -> bool {
    let mut it = input.iter();
    kept.iter().all(|k| it.any(|i| i == k))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn backpressure_loses_nothing_and_keeps_order(
        n in 0u32..2000, capacity in 1usize..16, feed in 1usize..64, read in 1usize..64,
    ) {
        let input: Vec<u32> = (0..n).collect();
        let (got, dropped) = run_case(&input, capacity, Overflow::Backpressure, feed, read);
        prop_assert_eq!(got, input);
        prop_assert_eq!(dropped, 0);
    }

    #[test]
    fn drop_newest_keeps_order_and_counts_every_drop(
        n in 1u32..2000, capacity in 1usize..16, feed in 1usize..64, read in 1usize..64,
    ) {
        let input: Vec<u32> = (0..n).collect();
        let (got, dropped) = run_case(&input, capacity, Overflow::DropNewest, feed, read);
        prop_assert!(is_subsequence(&got, &input), "order kept");
        prop_assert_eq!(got.len() as u64 + dropped, u64::from(n), "kept + dropped = input");
        prop_assert_eq!(got[0], 0, "the first item finds room");
    }

    #[test]
    fn drop_oldest_keeps_order_and_counts_every_drop(
        n in 1u32..2000, capacity in 1usize..16, feed in 1usize..64, read in 1usize..64,
    ) {
        let input: Vec<u32> = (0..n).collect();
        let (got, dropped) = run_case(&input, capacity, Overflow::DropOldest, feed, read);
        prop_assert!(is_subsequence(&got, &input), "order kept");
        prop_assert_eq!(got.len() as u64 + dropped, u64::from(n), "kept + dropped = input");
        prop_assert_eq!(*got.last().unwrap(), n - 1, "the newest item is never dropped");
    }
}

/// A producer behind a dropping buffer is never held up by a slow
/// consumer: it sends 100 items 1 ms apart and is done at 100 ms, while
/// the consumer takes 10 ms per item. With `Backpressure` it is held back.
#[tokio::test(start_paused = true)]
async fn a_dropping_buffer_never_slows_the_producer() {
    for (overflow, held_up) in [
        (Overflow::DropOldest, false),
        (Overflow::DropNewest, false),
        (Overflow::Backpressure, true),
    ] {
        let baseline = TaskBaseline::take();
        let scope = Scope::new(&Context::background());
        let stats = scope.stats();
        let (tx, rx) = chan::bounded(1);
        let start = Instant::now();
        let producer = tokio::spawn(async move {
            for n in 0..100u32 {
                tokio::time::sleep(MS).await;
                tx.send(n).await.unwrap();
            }
            start.elapsed()
        });
        let out = stage::buffer(&scope.named("buf"), rx, 4, overflow).unwrap();
        let mut got = Vec::new();
        while let Some(n) = out.recv().await {
            got.push(n);
            tokio::time::sleep(10 * MS).await;
        }
        let took = producer.await.unwrap();
        assert_eq!(
            took > 101 * MS,
            held_up,
            "{overflow:?}: producer took {took:?}"
        );
        let dropped = stats.stage("buf").unwrap().dropped;
        assert_eq!(got.len() as u64 + dropped, 100, "{overflow:?}");
        assert_eq!(dropped > 0, !held_up, "{overflow:?}");
        scope.wait().await.unwrap();
        baseline.assert_settled().await;
    }
}

#[tokio::test]
async fn fail_ends_the_pipeline_naming_the_stage() {
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded(16);
    tx.send_all((0..10).collect()).await.unwrap();
    drop(tx);
    let out = stage::buffer(&scope.named("ingest"), rx, 3, Overflow::Fail).unwrap();
    let Err(Error::Failed { stage, source }) = scope.wait().await else {
        panic!("the overflow is an error")
    };
    assert_eq!(&*stage, "ingest");
    let why = source.downcast_ref::<Overflowed>().unwrap();
    assert_eq!((&*why.stage, why.capacity), ("ingest", 3));
    assert_eq!(
        source.to_string(),
        "buffer of 3 overflowed at stage `ingest`"
    );
    drop(out);
}

#[tokio::test]
async fn fail_is_quiet_while_the_consumer_keeps_up() {
    let scope = Scope::new(&Context::background());
    let nums = stage::generate(&scope, 0..10_000u32);
    // Room for everything: an overflow that never happens never fails.
    let out = stage::buffer(&scope, nums, 10_000, Overflow::Fail).unwrap();
    let all = stage::collect::<_, Vec<_>>(&scope, out).await.unwrap();
    assert_eq!(all, (0..10_000).collect::<Vec<_>>());
    scope.wait().await.unwrap();
}

#[tokio::test]
async fn zero_capacity_is_a_config_error() {
    let scope = Scope::new(&Context::background());
    let nums = stage::generate(&scope.named("nums"), 0..3u32);
    let err = stage::buffer(&scope.named("buf"), nums, 0, Overflow::DropOldest).unwrap_err();
    assert_eq!(
        err,
        ConfigError::Zero {
            stage: "buf".into(),
            what: "buffer capacity"
        }
    );
}

/// A dropped output stops the buffer even while its producer is idle,
/// and that drops its input, which the producer sees.
#[tokio::test(start_paused = true)]
async fn a_dropped_output_stops_the_stage_and_its_upstream() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded::<u32>(4);
    let out = stage::buffer(&scope, rx, 8, Overflow::DropOldest).unwrap();
    tx.send(1).await.unwrap();
    assert_eq!(out.recv().await, Some(1));
    drop(out);
    tx.closed().await; // the buffer dropped its input
    scope.wait().await.unwrap();
    baseline.assert_settled().await;
}

/// Yields until `done` holds (at most 10,000 times).
async fn until(mut done: impl FnMut() -> bool) {
    for _ in 0..10_000 {
        if done() {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("never happened");
}

/// The buffer hands over everything its input has ready at once (up to
/// several batches under one lock): a hand-off that straddles the room
/// left drops exactly the items each mode names, counted one by one.
#[tokio::test(flavor = "current_thread")]
async fn a_hand_off_that_straddles_the_room_left_drops_exactly_the_right_items() {
    for (overflow, kept) in [
        (Overflow::DropNewest, (0..10).collect::<Vec<u32>>()),
        (Overflow::DropOldest, (4..14).collect()),
    ] {
        let scope = Scope::new(&Context::background());
        let stats = scope.stats();
        let (tx, rx) = chan::bounded(64);
        let out = stage::buffer(&scope.named("buf"), rx, 10, overflow).unwrap();
        tx.send_all((0..6).collect()).await.unwrap();
        until(|| out.len() == 6).await; // 6 of 10 held, nothing read
        tx.send_all((6..14).collect()).await.unwrap(); // 8 more: 4 fit
        drop(tx);
        until(|| {
            stats
                .stage("buf")
                .is_some_and(|s| s.tasks > 0 && s.running == 0)
        })
        .await;
        let got = stage::collect::<_, Vec<_>>(&scope, out).await.unwrap();
        assert_eq!(got, kept, "{overflow:?}");
        assert_eq!(stats.stage("buf").unwrap().dropped, 4, "{overflow:?}");
        scope.wait().await.unwrap();
    }
}

/// Many batches ready at once, far past the capacity: the newest (or
/// oldest) `capacity` items are kept and every other one is counted.
#[tokio::test(flavor = "current_thread")]
async fn batches_far_past_the_capacity_keep_the_right_end() {
    for (overflow, kept) in [
        (Overflow::DropNewest, (0..10).collect::<Vec<u32>>()),
        (Overflow::DropOldest, (9_990..10_000).collect()),
    ] {
        let scope = Scope::new(&Context::background());
        let stats = scope.stats();
        let (tx, rx) = chan::bounded(10_000);
        tx.send_all((0..10_000).collect()).await.unwrap();
        drop(tx);
        let out = stage::buffer(&scope.named("buf"), rx, 10, overflow).unwrap();
        until(|| {
            stats
                .stage("buf")
                .is_some_and(|s| s.tasks > 0 && s.running == 0)
        })
        .await;
        let got = stage::collect::<_, Vec<_>>(&scope, out).await.unwrap();
        assert_eq!(got, kept, "{overflow:?}");
        assert_eq!(stats.stage("buf").unwrap().dropped, 9_990, "{overflow:?}");
        scope.wait().await.unwrap();
    }
}

/// A fused stage that fails after its first batch: the batch pulled
/// before the failure is still delivered, then the run fails naming it.
#[tokio::test(flavor = "current_thread")]
async fn items_pulled_before_a_failure_are_delivered_before_it() {
    use std::sync::Arc;
    use weir_stage::engine::{Fused, RecvSource, Stage, BATCH};
    use weir_stage::steps::Map;

    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded(4 * BATCH);
    let n = u32::try_from(2 * BATCH).unwrap();
    tx.send_all((0..n).collect()).await.unwrap();
    drop(tx);
    let cut = u32::try_from(BATCH + 10).unwrap();
    let step = Map::new(move |x: u32| {
        assert!(x != cut, "bad item");
        x
    });
    let src = Fused::new(
        Box::new(RecvSource::new(rx)),
        step,
        Stage::new("map", "check"),
    );
    let stage: Option<Arc<Stage>> = None;
    let out = stage::buffer_source(
        &scope,
        Box::new(src),
        stage,
        4 * BATCH,
        Overflow::DropOldest,
    )
    .unwrap();
    let mut got = Vec::new();
    while out.recv_many(&mut got, 4 * BATCH).await > 0 {}
    assert_eq!(got, (0..u32::try_from(BATCH).unwrap()).collect::<Vec<_>>());
    let Err(Error::Panicked { stage, .. }) = scope.wait().await else {
        panic!("the panic fails the run")
    };
    assert_eq!(&*stage, "check");
}
