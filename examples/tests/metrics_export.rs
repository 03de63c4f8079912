//! `weir::metrics_export` (feature `metrics`) against `metrics-util`'s
//! debugging recorder: every stage and channel, labelled; deltas that add
//! up to the totals; errors; stages named alike; the timed task.
//!
//! Here rather than in `weir` itself so that `metrics-util` is not a
//! dev-dependency of `weir` (its compile-fail tests build every
//! dev-dependency again): run with `--features prometheus`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use metrics_util::MetricKind;

use weir::cancel::Context;
use weir::metrics_export::MetricsExporter;
use weir::pipeline::{Metrics, Pipeline, StageMetrics};
use weir::testing::eventually;

/// One series read from the recorder: name, labels, value.
#[derive(Debug, Clone)]
struct Series {
    kind: MetricKind,
    name: String,
    labels: Vec<(String, String)>,
    value: f64,
}

impl Series {
    fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// What the recorder holds (counters since the last read, gauges now).
fn read(snapshotter: &Snapshotter) -> Vec<Series> {
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| {
            let value = match value {
                DebugValue::Counter(n) => n as f64,
                DebugValue::Gauge(g) => g.into_inner(),
                DebugValue::Histogram(_) => panic!("no histogram is published"),
            };
            let (kind, key) = key.into_parts();
            Series {
                kind,
                name: key.name().to_string(),
                labels: key
                    .labels()
                    .map(|l| (l.key().to_string(), l.value().to_string()))
                    .collect(),
                value,
            }
        })
        .collect()
}

/// The value of `name` for the stage at position `id` (0 when the series
/// is missing, as a counter with nothing added).
fn stage_value(series: &[Series], name: &str, id: usize) -> f64 {
    let id = id.to_string();
    let found: Vec<_> = series
        .iter()
        .filter(|s| {
            s.name == name && s.label("id") == Some(id.as_str()) && s.label("stage").is_some()
        })
        .collect();
    assert!(found.len() <= 1, "one series per stage: {found:?}");
    found.first().map_or(0.0, |s| s.value)
}

fn stage<'m>(m: &'m Metrics, name: &str) -> (usize, &'m StageMetrics) {
    m.stages
        .iter()
        .enumerate()
        .find(|(_, s)| s.name == name)
        .unwrap_or_else(|| panic!("no stage `{name}` in {m:?}"))
}

/// A fused chain, a channel into a worker pool and out of it, a sink.
async fn ran() -> Pipeline {
    let p = Pipeline::with_capacity(&Context::background(), 7);
    let v = p
        .source(0..1_000u64)
        .named("gen")
        .map(|n| n + 1)
        .named("inc")
        .worker_pool(2, |n| async move { Ok::<_, std::io::Error>(n) })
        .named("pool")
        .filter(|n| n % 2 == 0)
        .named("evens")
        .collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(v.len(), 500);
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_stage_and_channel_is_published_with_its_labels() {
    let p = ran().await;
    let m = p.metrics();
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let mut exporter = MetricsExporter::new("etl");
    metrics::with_local_recorder(&recorder, || exporter.publish(&m));
    let series = read(&snapshotter);

    for (id, s) in m.stages.iter().enumerate() {
        let value = |name| stage_value(&series, name, id);
        assert_eq!(
            value("weir_stage_items_in_total"),
            s.items_in as f64,
            "{}",
            s.name
        );
        assert_eq!(
            value("weir_stage_items_out_total"),
            s.items_out as f64,
            "{}",
            s.name
        );
        assert_eq!(value("weir_stage_errors_total"), 0.0, "{}", s.name);
        assert_eq!(
            value("weir_stage_busy_nanoseconds_total"),
            s.busy.as_nanos() as f64,
            "{}",
            s.name
        );
        assert_eq!(value("weir_stage_running"), 0.0, "{} ended", s.name);
    }
    let (id, pool) = stage(&m, "pool");
    assert_eq!(
        stage_value(&series, "weir_stage_items_out_total", id),
        1_000.0
    );
    let labelled = series
        .iter()
        .find(|s| s.name == "weir_stage_items_in_total" && s.label("stage") == Some("pool"))
        .expect("the pool's counter");
    assert_eq!(labelled.kind, MetricKind::Counter);
    assert_eq!(labelled.label("pipeline"), Some("etl"));
    assert_eq!(labelled.label("kind"), Some(pool.kind));
    // Every stage registers every counter, at 0 if need be.
    let counters = series
        .iter()
        .filter(|s| s.kind == MetricKind::Counter)
        .count();
    assert_eq!(counters, m.stages.len() * 12);

    // One queue-length and one capacity gauge per channel, none for a
    // fused hand-off.
    let channels: Vec<_> = m.edges.iter().filter(|e| e.capacity.is_some()).collect();
    assert!(!channels.is_empty(), "{m:?}");
    assert!(
        channels.len() < m.edges.len(),
        "some edges are fused: {m:?}"
    );
    let capacities: Vec<_> = series
        .iter()
        .filter(|s| s.name == "weir_edge_capacity")
        .collect();
    assert_eq!(capacities.len(), channels.len());
    for edge in channels {
        let gauge = capacities
            .iter()
            .find(|s| s.label("from") == Some(&edge.from) && s.label("to") == Some(&edge.to))
            .unwrap_or_else(|| panic!("no capacity gauge for {edge:?}"));
        assert_eq!(Some(gauge.value as usize), edge.capacity);
        assert_eq!(gauge.label("pipeline"), Some("etl"));
        let queued = series
            .iter()
            .find(|s| {
                s.name == "weir_edge_queue_length"
                    && s.label("id") == gauge.label("id")
                    && s.label("from") == Some(&edge.from)
            })
            .expect("a queue-length gauge beside the capacity");
        assert_eq!(Some(queued.value as usize), edge.len);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deltas_add_up_to_the_totals_while_the_pipeline_runs() {
    let p = Pipeline::new(&Context::background());
    let run = p
        .source(0u64..)
        .named("numbers")
        .map(|n| n * 3)
        .named("triple")
        .for_each(|_| {})
        .named("drain")
        .run();
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let mut exporter = MetricsExporter::new("live");
    let mut published_in = 0.0;
    let mut published_out = 0.0;
    let (triple, _) = stage(&p.metrics(), "triple");
    for round in 1..=3u64 {
        let at_least = round * 1_000;
        eventually("the pipeline moved on", || {
            p.metrics().stages[triple].items_in >= at_least
        })
        .await;
        let m = p.metrics();
        metrics::with_local_recorder(&recorder, || exporter.publish(&m));
        let series = read(&snapshotter);
        published_in += stage_value(&series, "weir_stage_items_in_total", triple);
        published_out += stage_value(&series, "weir_stage_items_out_total", triple);
        assert_eq!(
            published_in, m.stages[triple].items_in as f64,
            "round {round}"
        );
        assert_eq!(
            published_out, m.stages[triple].items_out as f64,
            "round {round}"
        );
        // A running stage says so.
        assert_eq!(stage_value(&series, "weir_stage_running", triple), 1.0);
    }
    run.cancel();
    assert!(run.join().await.unwrap_err().cancelled().is_some());
    let m = p.metrics();
    metrics::with_local_recorder(&recorder, || exporter.publish(&m));
    let series = read(&snapshotter);
    published_in += stage_value(&series, "weir_stage_items_in_total", triple);
    assert_eq!(published_in, m.stages[triple].items_in as f64);
    assert_eq!(stage_value(&series, "weir_stage_running", triple), 0.0);

    // Nothing changed: a publish adds nothing to any counter.
    metrics::with_local_recorder(&recorder, || exporter.publish(&m));
    let unchanged = read(&snapshotter);
    assert!(
        unchanged
            .iter()
            .filter(|s| s.kind == MetricKind::Counter)
            .all(|s| s.value == 0.0),
        "{unchanged:?}"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn errors_are_counted_against_their_stage() {
    let p = Pipeline::new(&Context::background());
    let err = p
        .source(1..=10u32)
        .try_map(|n| if n == 4 { Err("four") } else { Ok(n) })
        .named("picky")
        .collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("picky"), "{err}");
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let m = p.metrics();
    metrics::with_local_recorder(&recorder, || MetricsExporter::new("p").publish(&m));
    let (picky, _) = stage(&m, "picky");
    assert_eq!(
        stage_value(&read(&snapshotter), "weir_stage_errors_total", picky),
        1.0
    );
}

/// The report: a pool that dead-letters its failed jobs said
/// `errors 0` and nothing else. Retries, skipped and dead-lettered jobs are
/// counters of their own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_skips_and_dead_letters_are_counters_of_their_stage() {
    let (dead_tx, dead_rx) = weir::chan::unbounded();
    let p = Pipeline::new(&Context::background());
    let pool = p
        .source(0..1_000u32)
        .retry(2, weir::stage::Backoff::none())
        .on_error(weir::stage::Policy::dead_letter(dead_tx))
        .worker_pool(4, |n| async move {
            if n % 9 == 0 {
                Err("bad")
            } else {
                Ok(n)
            }
        })
        .named("pool");
    let kept = pool
        .on_error(weir::stage::Policy::skip())
        .then(|n| async move {
            if n % 2 == 0 {
                Err("even")
            } else {
                Ok(n)
            }
        })
        .named("odd")
        .count()
        .await
        .unwrap();
    let dead = (0..1_000u32).filter(|n| n % 9 == 0).count() as f64;
    let evens = (0..1_000u32).filter(|n| n % 9 != 0 && n % 2 == 0).count() as f64;
    assert_eq!(kept as f64, 1_000.0 - dead - evens);
    assert_eq!(dead_rx.len() as f64, dead);
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let m = p.metrics();
    metrics::with_local_recorder(&recorder, || MetricsExporter::new("p").publish(&m));
    let series = read(&snapshotter);
    let (pool, _) = stage(&m, "pool");
    let (odd, _) = stage(&m, "odd");
    let value = |metric, id| stage_value(&series, metric, id);
    assert_eq!(value("weir_stage_retries_total", pool), dead);
    assert_eq!(value("weir_stage_dead_lettered_total", pool), dead);
    assert_eq!(value("weir_stage_errors_total", pool), 0.0);
    assert_eq!(value("weir_stage_skipped_total", odd), evens);
    assert_eq!(value("weir_stage_retries_total", odd), 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stages_named_alike_keep_their_own_series() {
    let p = Pipeline::new(&Context::background());
    let total = p
        .source(1..=10_000u64)
        .fan_out(3, |branch| branch.map(|n| n * 2).named("work"))
        .fold(0, |a, n| a + n)
        .await
        .unwrap();
    assert_eq!(total, 10_000 * 10_001);
    let m = p.metrics();
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || MetricsExporter::new("fan").publish(&m));
    let series = read(&snapshotter);
    let work: Vec<_> = series
        .iter()
        .filter(|s| s.name == "weir_stage_items_in_total" && s.label("stage") == Some("work"))
        .collect();
    assert_eq!(work.len(), 3, "{work:?}");
    let ids: std::collections::HashSet<_> = work.iter().map(|s| s.label("id")).collect();
    assert_eq!(ids.len(), 3, "{work:?}");
    assert_eq!(work.iter().map(|s| s.value).sum::<f64>(), 10_000.0);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn spawn_publishes_at_once_on_every_tick_and_on_stop() {
    // The task publishes to the global recorder; only this test uses it.
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder
        .install()
        .expect("the only global recorder of this test binary");

    let p = Pipeline::new(&Context::background());
    let sum = p.source(1..=100u64).named("ticks").fold(0, |a, n| a + n);
    let calls = Arc::new(AtomicUsize::new(0));
    let (source, counted) = (p.clone(), calls.clone());
    let exporting = MetricsExporter::new("timed").spawn(Duration::from_secs(10), move || {
        counted.fetch_add(1, Ordering::SeqCst);
        source.metrics()
    });
    assert_eq!(sum.await.unwrap(), 5_050);
    // The paused clock jumps from timer to timer: 0 s, 10 s, 20 s, 30 s.
    tokio::time::sleep(Duration::from_secs(35)).await;
    assert_eq!(calls.load(Ordering::SeqCst), 4);
    let exporter = exporting.stop().await;
    assert_eq!(calls.load(Ordering::SeqCst), 5, "one last publish on stop");
    assert_eq!(exporter.pipeline(), "timed");

    let series: Vec<_> = read(&snapshotter)
        .into_iter()
        .filter(|s| s.label("pipeline") == Some("timed"))
        .collect();
    let m = p.metrics();
    let (ticks, _) = stage(&m, "ticks");
    assert_eq!(
        stage_value(&series, "weir_stage_items_out_total", ticks),
        100.0
    );
    // Stopped: the next tick publishes nothing.
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(calls.load(Ordering::SeqCst), 5);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn dropping_exporting_stops_the_task() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let exporting = MetricsExporter::new("dropped").spawn(Duration::from_secs(1), move || {
        counted.fetch_add(1, Ordering::SeqCst);
        Metrics::default()
    });
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    drop(exporting);
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn a_concurrent_stage_publishes_its_limit_and_an_adaptive_one_its_latencies() {
    let p = Pipeline::new(&Context::background());
    let n = p
        .source(0..2_000u64)
        .worker_pool(3, |n| async move { Ok::<_, std::io::Error>(n) })
        .named("pool")
        .map_unordered(
            weir::stage::Limit::adaptive().min(2).max(16),
            |n| async move {
                tokio::time::sleep(Duration::from_millis(2)).await;
                n
            },
        )
        .named("calls")
        .count()
        .await
        .unwrap();
    assert_eq!(n, 2_000);
    let m = p.metrics();
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let mut exporter = MetricsExporter::new("limits");
    metrics::with_local_recorder(&recorder, || exporter.publish(&m));
    let series = read(&snapshotter);
    let (pool_id, _) = stage(&m, "pool");
    let (calls_id, calls) = stage(&m, "calls");
    let limit = "weir_stage_concurrency_limit";
    assert_eq!(stage_value(&series, limit, pool_id), 3.0);
    assert_eq!(
        stage_value(&series, limit, calls_id),
        calls.concurrency_limit.unwrap() as f64
    );
    assert_eq!(
        stage_value(&series, "weir_stage_latency_baseline_seconds", calls_id),
        0.002
    );
    assert!(stage_value(&series, "weir_stage_latency_recent_seconds", calls_id) >= 0.002);
    // A stage that is not concurrent has no limit series, and a fixed one
    // no latencies.
    let (source_id, _) = stage(&m, "source#0");
    let has = |name: &str, id: usize| {
        series
            .iter()
            .any(|s| s.name == name && s.label("id") == Some(id.to_string().as_str()))
    };
    assert!(!has(limit, source_id));
    assert!(!has("weir_stage_latency_baseline_seconds", pool_id));
}
