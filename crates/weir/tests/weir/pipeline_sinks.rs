//! Sinks: `for_each_async`, `for_each_concurrent`, `try_for_each`,
//! `collect` into any `Default + Extend`, `forward_sink` into any
//! `futures::Sink` (flume's included).

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use weir::cancel::Context;
use weir::pipeline::Pipeline;
use weir::stage::{ConfigError, Error as StageError};
use weir::Error;

fn pipeline() -> Pipeline {
    Pipeline::new(&Context::background())
}

/// Counts futures in flight and remembers the most seen at once.
#[derive(Clone, Default)]
struct InFlight {
    now: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
}

impl InFlight {
    async fn hold(&self, yields: usize) {
        let n = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(n, Ordering::SeqCst);
        for _ in 0..yields {
            tokio::task::yield_now().await;
        }
        self.now.fetch_sub(1, Ordering::SeqCst);
    }

    fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }
}

#[tokio::test(flavor = "current_thread")]
async fn for_each_async_awaits_one_item_at_a_time_in_order() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let flight = InFlight::default();
    let (s, f) = (seen.clone(), flight.clone());
    pipeline()
        .source(0..50)
        .for_each_async(move |n| {
            let (s, f) = (s.clone(), f.clone());
            async move {
                f.hold(3).await;
                s.lock().unwrap().push(n);
            }
        })
        .await
        .unwrap();
    assert_eq!(*seen.lock().unwrap(), (0..50).collect::<Vec<_>>());
    assert_eq!(flight.peak(), 1);
}

#[tokio::test(flavor = "current_thread")]
async fn a_panic_in_for_each_async_names_the_stage() {
    let err = pipeline()
        .source(0..3)
        .for_each_async(|n| async move { assert!(n < 2, "boom") })
        .named("store")
        .await
        .unwrap_err();
    assert_eq!(err.stage(), Some("store"), "{err}");
}

#[tokio::test(flavor = "current_thread")]
async fn for_each_concurrent_keeps_at_most_n_in_flight() {
    let flight = InFlight::default();
    let done = Arc::new(AtomicUsize::new(0));
    let (f, d) = (flight.clone(), done.clone());
    pipeline()
        .source(0..200)
        .map(|n| n + 1)
        .for_each_concurrent(8, move |_| {
            let (f, d) = (f.clone(), d.clone());
            async move {
                f.hold(5).await;
                d.fetch_add(1, Ordering::SeqCst);
            }
        })
        .await
        .unwrap();
    assert_eq!(done.load(Ordering::SeqCst), 200);
    assert!(flight.peak() <= 8 && flight.peak() > 1, "{}", flight.peak());
}

#[tokio::test(flavor = "current_thread")]
async fn for_each_concurrent_of_zero_is_refused_before_anything_runs() {
    let err = pipeline()
        .source(0..3)
        .for_each_concurrent(0, |_| async {})
        .named("writes")
        .await
        .unwrap_err();
    assert!(
        matches!(err.config(), Some(ConfigError::Zero { stage, what: "concurrency" }) if &**stage == "writes"),
        "{err:?}"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn try_for_each_runs_every_item_when_all_succeed() {
    let sum = Arc::new(AtomicUsize::new(0));
    let s = sum.clone();
    pipeline()
        .source(1..=10usize)
        .try_for_each(move |n| {
            s.fetch_add(n, Ordering::SeqCst);
            Ok::<_, std::io::Error>(())
        })
        .await
        .unwrap();
    assert_eq!(sum.load(Ordering::SeqCst), 55);
}

#[tokio::test(flavor = "current_thread")]
async fn try_for_each_error_names_the_stage_and_stops_an_endless_source() {
    let p = pipeline();
    let err = p
        .source(0u64..)
        .try_for_each(|n| if n == 1_000 { Err("disk full") } else { Ok(()) })
        .named("write")
        .await
        .unwrap_err();
    match &err {
        Error::Stage(StageError::Failed { stage, source }) => {
            assert_eq!(&**stage, "write");
            assert_eq!(source.to_string(), "disk full");
        }
        other => panic!("expected a failure of `write`, got {other:?}"),
    }
    let write = p.metrics().stages.into_iter().find(|s| s.name == "write");
    assert_eq!(write.unwrap().errors, 1);
}

#[tokio::test(flavor = "current_thread")]
async fn collect_fills_any_default_plus_extend() {
    let set = pipeline()
        .source([3, 1, 3, 2])
        .collect::<HashSet<_>>()
        .await
        .unwrap();
    assert_eq!(set, HashSet::from([1, 2, 3]));
    let map = pipeline()
        .source(["a", "bb"])
        .map(|s| (s, s.len()))
        .collect::<BTreeMap<_, _>>()
        .await
        .unwrap();
    assert_eq!(map, BTreeMap::from([("a", 1), ("bb", 2)]));
}

#[tokio::test(flavor = "current_thread")]
async fn forward_sink_sends_everything_in_order_and_closes_the_sink() {
    let (tx, rx) = futures::channel::mpsc::channel(2);
    let reader = tokio::spawn(rx.collect::<Vec<u32>>());
    pipeline()
        .source(0..1_000u32)
        .forward_sink(tx)
        .await
        .unwrap();
    // The reader ends only because the sink was closed.
    assert_eq!(reader.await.unwrap(), (0..1_000).collect::<Vec<_>>());
}

#[tokio::test(flavor = "current_thread")]
async fn a_failing_sink_names_the_stage() {
    let (tx, rx) = futures::channel::mpsc::channel::<u64>(1);
    drop(rx);
    let err = pipeline()
        .source(0u64..)
        .forward_sink(tx)
        .named("out")
        .await
        .unwrap_err();
    assert_eq!(err.stage(), Some("out"));
    assert!(
        matches!(err, Error::Stage(StageError::Failed { .. })),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flume_in_and_flume_out() {
    let (in_tx, in_rx) = flume::bounded(8);
    let (out_tx, out_rx) = flume::bounded(8);
    let producer = tokio::spawn(async move {
        for n in 0..500u32 {
            in_tx.send_async(n).await.unwrap();
        }
    });
    let consumer = tokio::spawn(async move { out_rx.into_stream().collect::<Vec<_>>().await });
    pipeline()
        .from_stream(in_rx.into_stream())
        .map(|n| n * 2)
        .forward_sink(out_tx.into_sink())
        .await
        .unwrap();
    producer.await.unwrap();
    assert_eq!(
        consumer.await.unwrap(),
        (0..500).map(|n| n * 2).collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "current_thread")]
async fn async_sinks_count_what_they_take_in() {
    let p = pipeline();
    let [a, b] = p.source(0..300).broadcast();
    let a = a.for_each_async(|_| async {}).named("one");
    let b = b.for_each_concurrent(4, |_| async {}).named("four");
    a.await.unwrap();
    b.await.unwrap();
    let m = p.metrics();
    for name in ["one", "four"] {
        let s = m.stages.iter().find(|s| s.name == name).unwrap();
        assert_eq!((s.items_in, s.running), (300, false), "{name}");
    }
    // They read the split's channels directly, and count what they took
    // as its output, as a fused reader does.
    let split = m.stages.iter().find(|s| s.kind == "broadcast").unwrap();
    assert_eq!(split.items_out, 600);
}
