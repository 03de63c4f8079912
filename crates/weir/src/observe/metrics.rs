//! Snapshots of every stage's record, and of every edge's channel, as a
//! pipeline's metrics.

use std::fmt;
use std::time::Duration;

use weir_stage::engine::Stage;
use weir_stage::StageId;

/// A snapshot of one stage's record (its
/// [`Counters`](weir_stage::engine::Counters)), from [`Metrics`]. For a
/// stage with tasks of its own, items in and out are read off its edges
/// (see [`EdgeMetrics`]): its tasks count no items.
///
/// `busy` is time spent in the stage's own code; `send_wait` and
/// `recv_wait` are time spent blocked on a full output channel and an empty
/// input channel. Stages fused into one task (see the
/// [`pipeline`](crate::pipeline) docs) each count their own `busy`; the task's
/// waits are counted on the stage at its end. For a stage with tasks of its
/// own (a worker pool, a split, a merge), `busy` is the time its tasks spent
/// being polled and the waits are measured by its channels, each summed over
/// its tasks.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StageMetrics {
    /// The stage's identity (names may repeat; ids don't).
    pub id: StageId,
    /// The stage's name, for display.
    pub name: String,
    /// What kind of stage it is (`map`, `worker_pool`, …).
    pub kind: &'static str,
    /// Items taken in.
    pub items_in: u64,
    /// Items sent on.
    pub items_out: u64,
    /// Errors reported (failures that reached the pipeline; jobs a
    /// recovery skipped or dead-lettered are counted apart, below).
    pub errors: u64,
    /// Retries of failed jobs (an async stage under
    /// [`Flow::retry`](crate::pipeline::Flow::retry), or a
    /// [`WorkerPool`](weir_stage::WorkerPool) with retries).
    pub retries: u64,
    /// Jobs that failed for good and were dropped
    /// ([`Policy::skip`](weir_stage::Policy::skip)).
    pub skipped: u64,
    /// Jobs that failed for good and were sent to a dead-letter channel
    /// ([`Policy::dead_letter`](weir_stage::Policy::dead_letter)).
    pub dead_lettered: u64,
    /// Items dropped on purpose by an overflow policy (a buffer that drops
    /// the newest or oldest item when full, a sampler, a conflation).
    pub dropped: u64,
    /// Jobs that took longer than the stage's per-item timeout (for a
    /// remote stage: jobs past its `job_timeout` or the scope's deadline,
    /// which come out as `RemoteError::DeadlineExceeded`).
    pub timeouts: u64,
    /// Restarts of a supervised source or sub-flow.
    pub restarts: u64,
    /// Time spent running the stage's code.
    pub busy: Duration,
    /// Time spent waiting for room in the output channel.
    pub send_wait: Duration,
    /// Time spent waiting for input.
    pub recv_wait: Duration,
    /// Whether the stage's task is still running.
    pub running: bool,
    /// A concurrent stage's concurrency limit now (its
    /// [`Limit`](weir_stage::Limit), fixed ones too); `None` for other
    /// stages.
    pub concurrency_limit: Option<usize>,
    /// Whether that limit is [adaptive](weir_stage::Limit::adaptive).
    pub adaptive_limit: bool,
    /// The no-load latency an adaptive limit compares against, once
    /// measured (`None` under a fixed limit, which measures nothing).
    pub latency_baseline: Option<Duration>,
    /// The recent latency (the last round's mean) an adaptive limit is moved by, once
    /// measured.
    pub latency_recent: Option<Duration>,
    /// For a remote stage ([`Flow::remote_pool`](crate::pipeline::Flow::remote_pool)):
    /// the pool's consumer lag — jobs pending, handed out and not yet
    /// acked, being retried, dead-lettered — as the stage last sampled it
    /// from the server (when it starts, every second or its
    /// [`lag_every`](weir_nats::Remote::lag_every) while it runs, and when
    /// it ends). `None` for other stages and before the first sample.
    #[cfg(feature = "nats")]
    #[cfg_attr(docsrs, doc(cfg(feature = "nats")))]
    pub lag: Option<weir_nats::Lag>,
}

impl StageMetrics {
    /// A view of `stage`'s record.
    pub(crate) fn of(stage: &Stage) -> StageMetrics {
        let c = stage.counters().snapshot();
        let limit = stage.limit().map(|l| l.stats());
        StageMetrics {
            id: stage.id(),
            name: stage.name().to_string(),
            kind: stage.kind(),
            items_in: c.items_in,
            items_out: c.items_out,
            errors: c.errors,
            retries: c.retries,
            skipped: c.skipped,
            dead_lettered: c.dead_lettered,
            dropped: c.dropped,
            timeouts: c.timeouts,
            restarts: c.restarts,
            busy: c.busy,
            send_wait: c.send_wait,
            recv_wait: c.recv_wait,
            running: c.running || c.tasks_running > 0,
            concurrency_limit: limit.map(|l| l.limit),
            adaptive_limit: stage.limit().is_some_and(|l| l.is_adaptive()),
            latency_baseline: limit.and_then(|l| l.baseline),
            latency_recent: limit.and_then(|l| l.recent),
            #[cfg(feature = "nats")]
            lag: None,
        }
    }
}

impl StageMetrics {
    /// A row with nothing counted yet (a `group_by` sub-flow stage's sum).
    pub(crate) fn zero(id: StageId, name: &str, kind: &'static str) -> StageMetrics {
        StageMetrics {
            id,
            name: name.to_string(),
            kind,
            items_in: 0,
            items_out: 0,
            errors: 0,
            retries: 0,
            skipped: 0,
            dead_lettered: 0,
            dropped: 0,
            timeouts: 0,
            restarts: 0,
            busy: Duration::ZERO,
            send_wait: Duration::ZERO,
            recv_wait: Duration::ZERO,
            running: false,
            concurrency_limit: None,
            adaptive_limit: false,
            latency_baseline: None,
            latency_recent: None,
            #[cfg(feature = "nats")]
            lag: None,
        }
    }

    /// Adds `other`'s counts and times to this row (running if either is).
    /// Concurrency limits add up (what every key's sub-flow may run at
    /// once); latencies do not, so a sum has none.
    pub(crate) fn add(&mut self, other: &StageMetrics) {
        self.items_in += other.items_in;
        self.items_out += other.items_out;
        self.errors += other.errors;
        self.retries += other.retries;
        self.skipped += other.skipped;
        self.dead_lettered += other.dead_lettered;
        self.dropped += other.dropped;
        self.timeouts += other.timeouts;
        self.restarts += other.restarts;
        self.busy += other.busy;
        self.send_wait += other.send_wait;
        self.recv_wait += other.recv_wait;
        self.running |= other.running;
        self.concurrency_limit = match (self.concurrency_limit, other.concurrency_limit) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
        self.adaptive_limit |= other.adaptive_limit;
    }
}

/// One edge between stages: a channel, or a hand-off inside a fused task.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EdgeMetrics {
    /// The upstream stage's name.
    pub from: String,
    /// The downstream stage's name.
    pub to: String,
    /// The upstream stage's id.
    pub from_id: StageId,
    /// The downstream stage's id.
    pub to_id: StageId,
    /// The name given to this branch of a split (`branch.named("…")`),
    /// if any.
    pub branch: Option<String>,
    /// Items sent across the edge: into its channel, or, for an edge with
    /// no queue (fused, or into a shared fan-in channel), handed across.
    pub sent: u64,
    /// Items taken off the edge by the stage after it, as its channel
    /// counts them (read at the same instant as `sent` and `len`, so
    /// `sent = received + len`; items dropped unreceived because the
    /// reader went away are neither received nor queued); for an edge with
    /// no queue, what was handed across.
    pub received: u64,
    /// Items queued in the channel now (`None` for an edge with no queue
    /// of its own: fused, or into a shared fan-in channel).
    pub len: Option<usize>,
    /// The channel's capacity (`None` for an edge with no queue; inside
    /// `Some`, `None` would be unbounded and reads as `None` too).
    pub capacity: Option<usize>,
    /// The most items queued in the channel at once so far (`None` for an
    /// edge with no queue), so a finished run's graph still shows where
    /// items piled up. Measured by the channel at every send, whoever
    /// sends (a fused task, a worker pool's workers, a split).
    pub peak: Option<usize>,
    /// Time the channel's senders spent waiting for room (zero for an
    /// edge with no queue): the edge into the stage that could not keep
    /// up waited longest.
    pub send_wait: Duration,
    /// The subject the edge's items cross the network on, for an edge
    /// into or out of a remote stage (`Flow::remote_pool`, feature `nats`):
    /// the jobs subject on its input edge, the results subject on its
    /// output edge (NATS wildcards: each run uses its own last token).
    /// `None` for an edge inside the process.
    pub subject: Option<String>,
}

/// A snapshot of a pipeline's counters, from
/// [`RunHandle::metrics`](crate::pipeline::GraphView::metrics).
///
/// # Examples
///
/// ```
/// use weir::cancel::Context;
/// use weir::pipeline::Pipeline;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let run = Pipeline::new(&Context::background())
///     .source(1..=100u32)
///     .map(|n| n * 2)
///     .collect::<Vec<_>>()
///     .run();
/// let metrics = run.metrics();
/// let out = run.join().await.unwrap();
/// assert_eq!(out.len(), 100);
/// assert!(metrics.stages.iter().any(|s| s.kind == "map"));
/// # }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Metrics {
    /// Every stage, in the order they were added.
    pub stages: Vec<StageMetrics>,
    /// Every edge.
    pub edges: Vec<EdgeMetrics>,
}

impl Metrics {
    /// The stage that limits throughput, or `None` for an empty pipeline.
    ///
    /// The stage that made its upstream wait longest to send is the one
    /// that could not keep up (of a split's branches, the one whose channel
    /// the split waited on longest, whatever its place); when nothing ever
    /// waited to send, it is the stage with the most busy time; when nothing ran, there is none.
    /// Give it more workers, or make it cheaper.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir::pipeline::Metrics;
    ///
    /// let empty = Metrics::default();
    /// assert!(empty.bottleneck().is_none());
    /// ```
    pub fn bottleneck(&self) -> Option<&StageMetrics> {
        let blocked = self
            .stages
            .iter()
            .filter(|s| !s.send_wait.is_zero())
            .max_by_key(|s| s.send_wait)
            .and_then(|upstream| {
                // Of its outputs (a split has one per branch), the one
                // whose channel it waited on longest.
                let mut out = self.edges.iter().filter(|e| e.from_id == upstream.id);
                let first = out.next()?;
                Some(out.fold(first, |a, e| if e.send_wait > a.send_wait { e } else { a }))
            })
            .and_then(|edge| self.stages.iter().find(|s| s.id == edge.to_id));
        blocked.or_else(|| {
            self.stages
                .iter()
                .filter(|s| !s.busy.is_zero())
                .max_by_key(|s| s.busy)
        })
    }
}

impl fmt::Display for Metrics {
    /// The table: one line per stage. The `dropped`, `timeouts` and
    /// `restarts` columns are shown when a stage has one of them; the
    /// `limit` column (a concurrent stage's limit, `~` marking an adaptive
    /// one) when a stage has an adaptive limit.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shaping = self
            .stages
            .iter()
            .any(|s| s.dropped > 0 || s.timeouts > 0 || s.restarts > 0);
        let adaptive = self.stages.iter().any(|s| s.adaptive_limit);
        write!(
            f,
            "{:<24} {:<14} {:>10} {:>10} {:>6} {:>7} {:>7} {:>7}",
            "stage", "kind", "in", "out", "errors", "retries", "skipped", "dead"
        )?;
        if shaping {
            write!(f, " {:>9} {:>8} {:>8}", "dropped", "timeouts", "restarts")?;
        }
        if adaptive {
            write!(f, " {:>6}", "limit")?;
        }
        writeln!(f, " {:>10} {:>10} {:>10}", "busy", "send wait", "recv wait")?;
        for s in &self.stages {
            write!(
                f,
                "{:<24} {:<14} {:>10} {:>10} {:>6} {:>7} {:>7} {:>7}",
                s.name,
                s.kind,
                s.items_in,
                s.items_out,
                s.errors,
                s.retries,
                s.skipped,
                s.dead_lettered
            )?;
            if shaping {
                write!(f, " {:>9} {:>8} {:>8}", s.dropped, s.timeouts, s.restarts)?;
            }
            if adaptive {
                let limit = match (s.concurrency_limit, s.adaptive_limit) {
                    (Some(n), true) => format!("~{n}"),
                    (Some(n), false) => n.to_string(),
                    (None, _) => "-".to_string(),
                };
                write!(f, " {limit:>6}")?;
            }
            writeln!(
                f,
                " {:>10.1?} {:>10.1?} {:>10.1?}",
                s.busy, s.send_wait, s.recv_wait
            )?;
        }
        if let Some(b) = self.bottleneck() {
            write!(f, "bottleneck: {} ({})", b.name, b.kind)?;
        }
        Ok(())
    }
}
