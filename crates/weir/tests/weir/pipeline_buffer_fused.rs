//! A `buffer` with fused stages after it runs in the task of the stages
//! before it ("fused until it would overflow"): it passes items straight
//! through while the rest of the task keeps up, and queues under its
//! policy only while the task's output waits — and then it keeps pulling
//! its upstream.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use tokio::sync::watch;
use weir::cancel::Context;
use weir::pipeline::{Flow, Metrics, Pipeline, StageMetrics};
use weir::stage::Overflow;

const MS: Duration = Duration::from_millis(1);

fn stage(metrics: &Metrics, name: &str) -> StageMetrics {
    metrics
        .stages
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no stage {name}"))
        .clone()
}

/// `n` items, one every millisecond, counting how many were pulled.
fn ticking(p: &Pipeline, n: u32, pulls: Arc<AtomicU64>) -> Flow<u32> {
    let ticks = futures::stream::unfold(0u32, move |i| {
        let pulls = pulls.clone();
        async move {
            tokio::time::sleep(MS).await;
            pulls.fetch_add(1, Ordering::Relaxed);
            (i < n).then_some((i, i + 1))
        }
    });
    p.from_stream(ticks)
}

/// A sink stage that parks every item until `gate` opens.
fn parked(flow: Flow<u32>, gate: &watch::Receiver<bool>) -> Flow<u32> {
    let gate = gate.clone();
    flow.then(move |n| {
        let mut gate = gate.clone();
        async move {
            let _ = gate.wait_for(|open| *open).await;
            n
        }
    })
    .named("parked")
}

/// What reaches a parked sink behind `buffer(4, overflow)` (with a fused
/// `map` after it, so the buffer is fused) when 1,000 items come while it
/// is parked (it wakes after the last one); and the source's pull count
/// at 500 and 900 ms, while it was parked.
async fn run_parked(overflow: Overflow) -> (Vec<u32>, Metrics, u64, u64) {
    let pulls = Arc::new(AtomicU64::new(0));
    let (open, gate) = watch::channel(false);
    // Channels of 1 item between tasks: the map's task waits as soon as
    // the parked stage holds one item and its channel one more.
    let p = Pipeline::with_capacity(&Context::background(), 1);
    let flow = ticking(&p, 1_000, pulls.clone())
        .buffer(4, overflow)
        .named("buf")
        .map(|n| n);
    let run = parked(flow, &gate).collect::<Vec<_>>().run();
    tokio::time::sleep(500 * MS).await;
    let at_500 = pulls.load(Ordering::Relaxed);
    tokio::time::sleep(400 * MS).await;
    let at_900 = pulls.load(Ordering::Relaxed);
    // The source has ended (at ~1 s) before the sink wakes up.
    tokio::time::sleep(300 * MS).await;
    open.send_replace(true);
    let got = run.join().await.unwrap();
    (got, p.metrics(), at_500, at_900)
}

/// DropOldest behind a parked sink: the source is pulled once a
/// millisecond all along (never blocked), and what gets through is the
/// items already handed on before the sink parked plus the newest 4;
/// everything else is counted as dropped, exactly.
#[tokio::test(start_paused = true)]
#[cfg_attr(miri, ignore = "a simulation of a thousand timed items")]
async fn drop_oldest_keeps_pulling_and_keeps_the_newest() {
    let (got, m, at_500, at_900) = run_parked(Overflow::DropOldest).await;
    let buf = stage(&m, "buf");
    // ~one pull per millisecond while the sink is parked.
    assert!(at_500 >= 490, "the upstream was held up: {at_500} pulls");
    assert!(at_900 >= at_500 + 399, "{at_500} → {at_900}");
    // The parked stage holds item 0, its channel item 1, the map's task
    // item 2 (its send waits); the buffer kept the newest 4.
    assert_eq!(got, [0, 1, 2, 996, 997, 998, 999]);
    assert_eq!(buf.items_in, 1_000);
    assert_eq!(buf.dropped, 993);
    assert_eq!(buf.items_out, 7);
    // The queue shows on the buffer's output edge, as a channel's would:
    // it filled to its capacity, and is empty once flushed.
    let out = m.edges.iter().find(|e| e.from == "buf").unwrap();
    assert_eq!(
        (out.len, out.capacity, out.peak),
        (Some(0), Some(4), Some(4))
    );
    assert_eq!((out.sent, out.received), (7, 7));
    for e in &m.edges {
        assert_eq!(e.sent, e.received + e.len.unwrap_or(0) as u64, "{e:?}");
    }
}

/// DropNewest behind a parked sink: the source is never blocked either,
/// and the buffer keeps the oldest 4 that found it with room.
#[tokio::test(start_paused = true)]
#[cfg_attr(miri, ignore = "a simulation of a thousand timed items")]
async fn drop_newest_keeps_pulling_and_keeps_the_oldest() {
    let (got, m, at_500, at_900) = run_parked(Overflow::DropNewest).await;
    let buf = stage(&m, "buf");
    assert!(at_500 >= 490, "the upstream was held up: {at_500} pulls");
    assert!(at_900 >= at_500 + 399, "{at_500} → {at_900}");
    assert_eq!(got, [0, 1, 2, 3, 4, 5, 6]);
    assert_eq!((buf.items_in, buf.dropped, buf.items_out), (1_000, 993, 7));
}

/// Backpressure behind a parked sink holds the source up once the buffer
/// is full, and loses nothing.
#[tokio::test(start_paused = true)]
#[cfg_attr(miri, ignore = "a simulation of a thousand timed items")]
async fn backpressure_holds_the_source_up_and_loses_nothing() {
    let (got, m, at_500, at_900) = run_parked(Overflow::Backpressure).await;
    let buf = stage(&m, "buf");
    assert!(
        at_500 < 20,
        "the source ran ahead of a full buffer: {at_500}"
    );
    assert_eq!(at_500, at_900, "pulled while the buffer was full");
    assert_eq!(got, (0..1_000).collect::<Vec<_>>());
    assert_eq!(
        (buf.items_in, buf.dropped, buf.items_out),
        (1_000, 0, 1_000)
    );
}

/// Fail behind a parked sink ends the pipeline with the error naming the
/// buffer, while the sink is still parked.
#[tokio::test(start_paused = true)]
async fn fail_names_the_fused_buffer() {
    let (_open, gate) = watch::channel(false);
    let p = Pipeline::with_capacity(&Context::background(), 1);
    let flow = ticking(&p, 100, Arc::default())
        .buffer(4, Overflow::Fail)
        .named("ingest")
        .map(|n| n);
    // A buffer that never overflowed would leave the sink parked forever.
    let err = tokio::time::timeout(Duration::from_secs(60), parked(flow, &gate).count())
        .await
        .expect("the buffer overflowed while the sink was parked")
        .unwrap_err();
    assert_eq!(err.stage(), Some("ingest"));
    let source = std::error::Error::source(&err).unwrap();
    assert_eq!(
        source.to_string(),
        "buffer of 4 overflowed at stage `ingest`"
    );
}

/// A graceful shutdown while the sink is parked delivers what the fused
/// buffer holds: what comes out is what came in but the dropped.
#[tokio::test(start_paused = true)]
#[cfg_attr(miri, ignore = "a simulation of a thousand timed items")]
async fn shutdown_flushes_the_fused_buffer() {
    for overflow in [
        Overflow::Backpressure,
        Overflow::DropNewest,
        Overflow::DropOldest,
    ] {
        let (open, gate) = watch::channel(false);
        let p = Pipeline::with_capacity(&Context::background(), 1);
        let flow = ticking(&p, u32::MAX, Arc::default())
            .buffer(8, overflow)
            .named("buf")
            .map(|n| n);
        let run = parked(flow, &gate).collect::<Vec<_>>().run();
        tokio::time::sleep(100 * MS).await;
        p.shutdown();
        tokio::time::sleep(MS).await;
        open.send_replace(true);
        let got = run.join().await.unwrap();
        let buf = stage(&p.metrics(), "buf");
        assert!(buf.items_in > 8, "{overflow:?}: {buf:?}");
        assert_eq!(got.len() as u64 + buf.dropped, buf.items_in, "{overflow:?}");
        assert_eq!(buf.items_out, got.len() as u64, "{overflow:?}");
        assert!(got.windows(2).all(|w| w[0] < w[1]), "{overflow:?}: {got:?}");
        assert!(p.cut_short());
    }
}

/// A buffer that ends in a sink step with fused stages after it never
/// fills (the sink never waits): every item passes straight through,
/// and nothing is dropped whatever the policy.
#[tokio::test]
async fn a_fused_buffer_before_a_sink_passes_everything_through() {
    for overflow in [
        Overflow::Backpressure,
        Overflow::DropNewest,
        Overflow::DropOldest,
        Overflow::Fail,
    ] {
        let p = Pipeline::new(&Context::background());
        let sum = p
            .source(1..=100_000u64)
            .buffer(1, overflow)
            .named("buf")
            .map(|n| n * 3)
            .fold(0u64, |a, n| a + n)
            .await
            .unwrap();
        assert_eq!(sum, 3 * 100_000 * 100_001 / 2, "{overflow:?}");
        let buf = stage(&p.metrics(), "buf");
        assert_eq!(
            (buf.items_in, buf.items_out, buf.dropped),
            (100_000, 100_000, 0)
        );
    }
}

/// Runs `n` items through a fused Backpressure buffer of `capacity`
/// before a sink whose delay for item `i` is `delays[i % len]` ms, on a
/// paused clock; returns what came out.
fn backpressure_case(n: u32, capacity: usize, chan: usize, delays: &[u64]) -> Vec<u32> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    let delays = Arc::new(delays.to_vec());
    rt.block_on(async move {
        let p = Pipeline::with_capacity(&Context::background(), chan);
        p.source(0..n)
            .buffer(capacity, Overflow::Backpressure)
            .map(|i| i)
            .then(move |i| {
                let ms = delays[i as usize % delays.len()];
                async move {
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    i
                }
            })
            .collect::<Vec<_>>()
            .await
            .unwrap()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Whatever the sink's delays, a fused Backpressure buffer loses,
    /// duplicates and reorders nothing.
    #[test]
    #[cfg_attr(miri, ignore = "a simulation of hundreds of items and timers")]
    fn backpressure_keeps_every_item_in_order(
        n in 0u32..600,
        capacity in 1usize..40,
        chan in 0usize..4,
        delays in prop::collection::vec(0u64..4, 1..8),
    ) {
        let got = backpressure_case(n, capacity, chan, &delays);
        prop_assert_eq!(got, (0..n).collect::<Vec<_>>());
    }
}

/// A buffer just before `into_stream` keeps pulling its upstream while
/// the stream's reader is away, and what the reader gets after is the
/// newest items (DropOldest).
#[tokio::test(start_paused = true)]
#[cfg_attr(miri, ignore = "a simulation of a thousand timed items")]
async fn a_buffer_before_into_stream_keeps_pulling_while_the_reader_is_away() {
    use futures::StreamExt;
    let pulls = Arc::new(AtomicU64::new(0));
    let p = Pipeline::with_capacity(&Context::background(), 1);
    let mut stream = ticking(&p, 1_000, pulls.clone())
        .buffer(4, Overflow::DropOldest)
        .named("buf")
        .into_stream();
    let mut got = vec![stream.next().await.unwrap().unwrap()];
    tokio::time::sleep(500 * MS).await; // the reader is away
    let at_500 = pulls.load(Ordering::Relaxed);
    assert!(at_500 >= 490, "the upstream was held up: {at_500} pulls");
    tokio::time::sleep(1_000 * MS).await; // the source has ended
    while let Some(n) = stream.next().await {
        got.push(n.unwrap());
    }
    assert_eq!(got, [0, 1, 2, 996, 997, 998, 999]);
    let buf = stage(&p.metrics(), "buf");
    assert_eq!((buf.items_in, buf.dropped), (1_000, 993));
}
