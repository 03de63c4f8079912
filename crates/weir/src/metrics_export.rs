//! Pipeline metrics through the [`metrics`] facade, for Prometheus or any
//! other recorder (feature `metrics`).
//!
//! A [`MetricsExporter`] turns the snapshots a pipeline already keeps
//! ([`Pipeline::metrics`](crate::pipeline::GraphView::metrics),
//! [`RunHandle::metrics`](crate::pipeline::GraphView::metrics)) into
//! `metrics` counters and gauges: [`publish`](MetricsExporter::publish)
//! adds what changed since its last call, and
//! [`spawn`](MetricsExporter::spawn) does that on a timer in a task of its
//! own. Whatever recorder the service installed receives them:
//! `metrics-exporter-prometheus` serves them as `/metrics`, and
//! `metrics-util`'s `DebuggingRecorder` shows them in tests.
//!
//! # What is published
//!
//! Per stage, labelled `pipeline` (the exporter's name), `stage` (the
//! stage's name), `kind` (`map`, `worker_pool`, …) and `id` (the stage's
//! position in the pipeline, so two stages named alike never share a
//! series):
//!
//! | metric | type | meaning |
//! |---|---|---|
//! | `weir_stage_items_in_total` | counter | items taken in |
//! | `weir_stage_items_out_total` | counter | items sent on |
//! | `weir_stage_errors_total` | counter | errors reported |
//! | `weir_stage_retries_total` | counter | retries of failed jobs |
//! | `weir_stage_skipped_total` | counter | failed jobs dropped by `Policy::skip` |
//! | `weir_stage_dead_lettered_total` | counter | failed jobs sent to a dead-letter channel |
//! | `weir_stage_dropped_total` | counter | items dropped on purpose by an overflow policy |
//! | `weir_stage_timeouts_total` | counter | jobs over the stage's per-item timeout |
//! | `weir_stage_restarts_total` | counter | restarts of a supervised source or sub-flow |
//! | `weir_stage_busy_nanoseconds_total` | counter | time spent in the stage's code |
//! | `weir_stage_send_wait_nanoseconds_total` | counter | time waiting for room downstream |
//! | `weir_stage_recv_wait_nanoseconds_total` | counter | time waiting for input |
//! | `weir_stage_running` | gauge | 1 while the stage's task runs, then 0 |
//! | `weir_stage_concurrency_limit` | gauge | a concurrent stage's limit now (fixed or adaptive) |
//! | `weir_stage_latency_baseline_seconds` | gauge | an adaptive limit's no-load latency, once measured |
//! | `weir_stage_latency_recent_seconds` | gauge | an adaptive limit's recent latency, once measured |
//!
//! The last three are published only for the stages that have them: the
//! limit for a concurrent stage (a worker pool, `map_concurrent`,
//! `map_unordered`, …), the latencies once an adaptive limit has measured
//! them.
//!
//! Per channel between stages (a fused hand-off has no queue and is left
//! out), labelled `pipeline`, `from`, `to` and `id` (the edge's position):
//!
//! | metric | type | meaning |
//! |---|---|---|
//! | `weir_edge_queue_length` | gauge | items queued now |
//! | `weir_edge_capacity` | gauge | the channel's capacity |
//!
//! Times are counters of nanoseconds because `metrics` counters are
//! integers; in PromQL, `rate(weir_stage_busy_nanoseconds_total[1m]) / 1e9`
//! is the share of a core the stage keeps busy.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use weir::cancel::Context;
//! use weir::metrics_export::MetricsExporter;
//! use weir::pipeline::Pipeline;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let p = Pipeline::new(&Context::background());
//! let sum = p.source(1..=100u64).map(|n| n * 2).fold(0, |a, n| a + n);
//! // Every 10 s, whatever recorder is installed gets the new counts.
//! let source = p.clone();
//! let exporting = MetricsExporter::new("doubler")
//!     .spawn(Duration::from_secs(10), move || source.metrics());
//! assert_eq!(sum.await.unwrap(), 10_100);
//! exporting.stop().await; // publishes the final counts
//! # }
//! ```

use std::fmt;
use std::time::Duration;

use metrics::{counter, describe_counter, describe_gauge, gauge, Label, SharedString, Unit};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::observe::series::{self, EDGE_GAUGES, STAGE_COUNTERS, STAGE_GAUGES};
use crate::observe::{Metrics, StageMetrics};

/// Publishes a pipeline's counters through the [`metrics`] facade.
///
/// Each [`publish`](MetricsExporter::publish) compares a [`Metrics`]
/// snapshot with the one before and adds the difference to the counters
/// (so the exporter's counters stay right whatever else increments them),
/// and sets the gauges. See the [module docs](self) for the names and
/// labels.
///
/// # Examples
///
/// ```
/// use weir::cancel::Context;
/// use weir::metrics_export::MetricsExporter;
/// use weir::pipeline::Pipeline;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let mut exporter = MetricsExporter::new("ingest");
/// let run = Pipeline::new(&Context::background())
///     .source(0..1_000u32)
///     .filter(|n| n % 3 == 0)
///     .collect::<Vec<_>>()
///     .run();
/// exporter.publish(&run.metrics()); // what ran so far
/// let kept = run.join().await.unwrap();
/// assert_eq!(kept.len(), 334);
/// # }
/// ```
pub struct MetricsExporter {
    pipeline: SharedString,
    /// The counters of the last snapshot published, by stage position.
    last: Vec<Published>,
    described: bool,
}

/// What was last published for one stage: its identity and its totals.
struct Published {
    name: String,
    kind: &'static str,
    totals: [u64; STAGE_COUNTERS.len()],
}

fn totals(stage: &StageMetrics) -> [u64; STAGE_COUNTERS.len()] {
    STAGE_COUNTERS.map(|c| (c.read)(stage))
}

impl MetricsExporter {
    /// An exporter whose metrics carry the label `pipeline="<pipeline>"`.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir::metrics_export::MetricsExporter;
    ///
    /// let exporter = MetricsExporter::new("ingest");
    /// assert_eq!(exporter.pipeline(), "ingest");
    /// ```
    pub fn new(pipeline: impl Into<String>) -> MetricsExporter {
        MetricsExporter {
            pipeline: SharedString::from(pipeline.into()),
            last: Vec::new(),
            described: false,
        }
    }

    /// The value of the `pipeline` label.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir::metrics_export::MetricsExporter;
    ///
    /// assert_eq!(MetricsExporter::new("etl").pipeline(), "etl");
    /// ```
    pub fn pipeline(&self) -> &str {
        &self.pipeline
    }

    /// Publishes `snapshot` to the current recorder: adds to each counter
    /// what the stage counted since the previous call (everything, on the
    /// first call) and sets the gauges.
    ///
    /// Stages are matched by their position in the snapshot; a stage whose
    /// name or kind changed there (a snapshot of another pipeline) starts
    /// from zero again.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir::cancel::Context;
    /// use weir::metrics_export::MetricsExporter;
    /// use weir::pipeline::Pipeline;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let p = Pipeline::new(&Context::background());
    /// let out = p.source(1..=3).map(|n| n + 1).collect::<Vec<_>>().await.unwrap();
    /// assert_eq!(out, [2, 3, 4]);
    /// let mut exporter = MetricsExporter::new("tiny");
    /// exporter.publish(&p.metrics()); // adds 3 to the map's items in and out
    /// exporter.publish(&p.metrics()); // adds nothing: nothing changed
    /// # }
    /// ```
    pub fn publish(&mut self, snapshot: &Metrics) {
        if !self.described {
            describe();
            self.described = true;
        }
        self.last.truncate(snapshot.stages.len());
        for (id, stage) in snapshot.stages.iter().enumerate() {
            let now = totals(stage);
            let before = match self.last.get(id) {
                Some(p) if p.name == stage.name && p.kind == stage.kind => Some(p.totals),
                _ => None,
            };
            let labels = self.stage_labels(id, stage);
            for (i, c) in STAGE_COUNTERS.iter().enumerate() {
                let delta = match before {
                    // A total below the last one is a new stage in that place.
                    Some(before) => now[i].checked_sub(before[i]).unwrap_or(now[i]),
                    None => now[i],
                };
                // A stage seen for the first time registers every counter,
                // at 0 if need be, so a scrape shows the whole pipeline.
                if delta > 0 || before.is_none() {
                    counter!(c.name, labels.iter()).increment(delta);
                }
            }
            for g in &STAGE_GAUGES {
                if let Some(value) = (g.read)(stage) {
                    gauge!(g.name, labels.iter()).set(value);
                }
            }
            let published = Published {
                name: stage.name.clone(),
                kind: stage.kind,
                totals: now,
            };
            match self.last.get_mut(id) {
                Some(slot) => *slot = published,
                None => self.last.push(published),
            }
        }
        for (id, edge) in snapshot.edges.iter().enumerate() {
            if edge.len.is_none() {
                continue; // fused: no queue
            }
            let labels = [
                Label::new("pipeline", self.pipeline.clone()),
                Label::new("from", edge.from.clone()),
                Label::new("to", edge.to.clone()),
                Label::new("id", id.to_string()),
            ];
            for g in &EDGE_GAUGES {
                if let Some(value) = (g.read)(edge) {
                    gauge!(g.name, labels.iter()).set(value as f64);
                }
            }
        }
    }

    fn stage_labels(&self, id: usize, stage: &StageMetrics) -> [Label; 4] {
        [
            Label::new("pipeline", self.pipeline.clone()),
            Label::new("stage", stage.name.clone()),
            Label::new("kind", stage.kind),
            Label::new("id", id.to_string()),
        ]
    }

    /// Publishes `snapshot()` every `every` in a task of its own, until the
    /// returned [`Exporting`] is stopped or dropped.
    ///
    /// The first snapshot is published at once. `snapshot` is usually a
    /// clone of the [`Pipeline`](crate::pipeline::Pipeline) reading its
    /// [`metrics`](crate::pipeline::GraphView::metrics); the task keeps
    /// publishing the final counts after the pipeline has finished, so a
    /// scrape still sees them.
    ///
    /// # Panics
    ///
    /// If `every` is zero, or outside a tokio runtime (like
    /// [`tokio::spawn`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir::cancel::Context;
    /// use weir::metrics_export::MetricsExporter;
    /// use weir::pipeline::Pipeline;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let p = Pipeline::new(&Context::background());
    /// let run = p.source(0u64..).for_each(|_| {}).run();
    /// let source = p.clone();
    /// let exporting = MetricsExporter::new("endless")
    ///     .spawn(Duration::from_secs(15), move || source.metrics());
    /// run.cancel();
    /// assert!(run.join().await.is_err());
    /// let exporter = exporting.stop().await;
    /// assert_eq!(exporter.pipeline(), "endless");
    /// # }
    /// ```
    #[track_caller]
    pub fn spawn<F>(mut self, every: Duration, mut snapshot: F) -> Exporting
    where
        F: FnMut() -> Metrics + Send + 'static,
    {
        assert!(!every.is_zero(), "MetricsExporter::spawn: `every` is zero");
        let (stop, mut stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let mut next = Instant::now();
            loop {
                self.publish(&snapshot());
                next += every;
                let now = Instant::now();
                if next < now {
                    // Fell behind (a busy runtime): skip the missed ticks.
                    next = now + every;
                }
                if tokio::time::timeout_at(next, &mut stopped).await.is_ok() {
                    // Stopped (or the `Exporting` is gone): one last publish.
                    self.publish(&snapshot());
                    return self;
                }
            }
        });
        Exporting {
            stop: Some(stop),
            task: Some(task),
        }
    }
}

impl fmt::Debug for MetricsExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetricsExporter")
            .field("pipeline", &self.pipeline)
            .field("stages", &self.last.len())
            .finish()
    }
}

/// Describes every metric to the current recorder (unit and help text).
fn describe() {
    let unit = |u: series::Unit| match u {
        series::Unit::Count => Unit::Count,
        series::Unit::Nanoseconds => Unit::Nanoseconds,
        series::Unit::Seconds => Unit::Seconds,
    };
    for c in &STAGE_COUNTERS {
        describe_counter!(c.name, unit(c.unit), c.help);
    }
    for g in &STAGE_GAUGES {
        describe_gauge!(g.name, unit(g.unit), g.help);
    }
    for g in &EDGE_GAUGES {
        describe_gauge!(g.name, Unit::Count, g.help);
    }
}

/// The task started by [`MetricsExporter::spawn`]; dropping it stops the
/// task without a last publish.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use weir::metrics_export::MetricsExporter;
/// use weir::pipeline::Metrics;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let exporting = MetricsExporter::new("idle").spawn(Duration::from_secs(1), Metrics::default);
/// drop(exporting); // stops publishing
/// # }
/// ```
#[must_use = "dropping it stops the exporting task"]
pub struct Exporting {
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<MetricsExporter>>,
}

impl Exporting {
    /// Publishes one last snapshot, ends the task and gives the exporter
    /// back.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before it completes aborts the task.
    ///
    /// # Panics
    ///
    /// If the snapshot function panicked in the task.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir::metrics_export::MetricsExporter;
    /// use weir::pipeline::Metrics;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let exporting = MetricsExporter::new("p").spawn(Duration::from_secs(1), Metrics::default);
    /// let exporter = exporting.stop().await;
    /// assert_eq!(exporter.pipeline(), "p");
    /// # }
    /// ```
    pub async fn stop(mut self) -> MetricsExporter {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let task = self.task.as_mut().expect("stopped once");
        let joined = task.await;
        self.task = None;
        match joined {
            Ok(exporter) => exporter,
            Err(e) => match e.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(e) => panic!("the exporting task was cancelled: {e}"),
            },
        }
    }
}

impl Drop for Exporting {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl fmt::Debug for Exporting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Exporting")
            .field("running", &self.task.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder};
    use weir_cancel::Context;

    use super::*;
    use crate::pipeline::Pipeline;

    /// Counters by metric name and `stage` label, as a scrape would show.
    #[derive(Default)]
    struct Scrape {
        counters: Mutex<HashMap<(String, String), Arc<AtomicU64>>>,
    }

    impl Scrape {
        fn get(&self, name: &str, stage: &str) -> u64 {
            let counters = self.counters.lock().unwrap();
            let key = (name.to_string(), stage.to_string());
            counters.get(&key).map_or(0, |c| c.load(Ordering::Relaxed))
        }
    }

    impl Recorder for Scrape {
        fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

        fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
            let stage = key
                .labels()
                .find(|l| l.key() == "stage")
                .map_or_else(String::new, |l| l.value().to_string());
            let mut counters = self.counters.lock().unwrap();
            let cell = counters
                .entry((key.name().to_string(), stage))
                .or_default()
                .clone();
            Counter::from_arc(cell)
        }

        fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
            Gauge::noop()
        }

        fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
            Histogram::noop()
        }
    }

    /// A stage with tasks feeding another such stage is exported with what
    /// it sent (it was exported as 0 before issue 19's fix), and every
    /// stage's exported counts are its metrics' counts.
    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn stages_with_tasks_in_a_row_export_what_they_sent() {
        let p = Pipeline::with_capacity(&Context::background(), 8);
        let batches = p
            .source(0..500u64)
            .map_unordered(4, |n| async move { n })
            .named("fetch")
            .batch(10, Duration::from_secs(1))
            .named("batch")
            .worker_pool(2, |b: Vec<u64>| async move { Ok::<_, std::io::Error>(b) })
            .named("pool")
            .count()
            .await
            .unwrap();
        let scrape = Scrape::default();
        let snapshot = p.metrics();
        metrics::with_local_recorder(&scrape, || {
            MetricsExporter::new("t").publish(&snapshot);
        });
        let out = |stage| scrape.get("weir_stage_items_out_total", stage);
        assert_eq!(out("fetch"), 500);
        assert_eq!(out("batch"), batches);
        assert_eq!(out("pool"), batches);
        for s in &snapshot.stages {
            assert_eq!(scrape.get("weir_stage_items_in_total", &s.name), s.items_in);
            assert_eq!(out(&s.name), s.items_out, "{}", s.name);
        }
    }
}
