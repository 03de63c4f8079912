//! The metric series weir exports, named once: the `metrics` feature's
//! [`MetricsExporter`](crate::metrics_export::MetricsExporter) publishes
//! them through the `metrics` facade and the `dashboard` feature's
//! `/metrics` writes them as Prometheus text, from this one table.

use std::time::Duration;

use super::{EdgeMetrics, StageMetrics};

/// What a series' values measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(not(feature = "metrics"), allow(dead_code))]
pub(crate) enum Unit {
    Count,
    Nanoseconds,
    Seconds,
}

/// A per-stage counter: a total that only grows.
pub(crate) struct StageCounter {
    pub(crate) name: &'static str,
    // Prometheus text has no unit line: only the `metrics` facade reads it.
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    pub(crate) unit: Unit,
    pub(crate) help: &'static str,
    pub(crate) read: fn(&StageMetrics) -> u64,
}

/// A per-stage gauge: a value now, or nothing for a stage without it.
pub(crate) struct StageGauge {
    pub(crate) name: &'static str,
    // Prometheus text has no unit line: only the `metrics` facade reads it.
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    pub(crate) unit: Unit,
    pub(crate) help: &'static str,
    pub(crate) read: fn(&StageMetrics) -> Option<f64>,
}

/// A per-edge gauge, for edges with a queue (a fused edge has none).
pub(crate) struct EdgeGauge {
    pub(crate) name: &'static str,
    pub(crate) help: &'static str,
    pub(crate) read: fn(&EdgeMetrics) -> Option<usize>,
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

const fn counter(
    name: &'static str,
    unit: Unit,
    help: &'static str,
    read: fn(&StageMetrics) -> u64,
) -> StageCounter {
    StageCounter {
        name,
        unit,
        help,
        read,
    }
}

/// Every stage counter.
pub(crate) const STAGE_COUNTERS: [StageCounter; 12] = [
    counter(
        "weir_stage_items_in_total",
        Unit::Count,
        "Items the stage took in.",
        |s| s.items_in,
    ),
    counter(
        "weir_stage_items_out_total",
        Unit::Count,
        "Items the stage sent on.",
        |s| s.items_out,
    ),
    counter(
        "weir_stage_errors_total",
        Unit::Count,
        "Errors the stage reported.",
        |s| s.errors,
    ),
    counter(
        "weir_stage_retries_total",
        Unit::Count,
        "Retries of the stage's failed jobs.",
        |s| s.retries,
    ),
    counter(
        "weir_stage_skipped_total",
        Unit::Count,
        "Jobs that failed for good and were dropped.",
        |s| s.skipped,
    ),
    counter(
        "weir_stage_dead_lettered_total",
        Unit::Count,
        "Jobs that failed for good and were sent to a dead-letter channel.",
        |s| s.dead_lettered,
    ),
    counter(
        "weir_stage_dropped_total",
        Unit::Count,
        "Items dropped on purpose by an overflow policy.",
        |s| s.dropped,
    ),
    counter(
        "weir_stage_timeouts_total",
        Unit::Count,
        "Jobs that took longer than the stage's per-item timeout.",
        |s| s.timeouts,
    ),
    counter(
        "weir_stage_restarts_total",
        Unit::Count,
        "Restarts of a supervised source or sub-flow.",
        |s| s.restarts,
    ),
    counter(
        "weir_stage_busy_nanoseconds_total",
        Unit::Nanoseconds,
        "Time spent running the stage's code.",
        |s| nanos(s.busy),
    ),
    counter(
        "weir_stage_send_wait_nanoseconds_total",
        Unit::Nanoseconds,
        "Time spent waiting for room in the stage's output channel.",
        |s| nanos(s.send_wait),
    ),
    counter(
        "weir_stage_recv_wait_nanoseconds_total",
        Unit::Nanoseconds,
        "Time spent waiting for input.",
        |s| nanos(s.recv_wait),
    ),
];

/// Every stage gauge.
pub(crate) const STAGE_GAUGES: [StageGauge; 4] = [
    StageGauge {
        name: "weir_stage_running",
        unit: Unit::Count,
        help: "1 while the stage's task runs, then 0.",
        read: |s| Some(if s.running { 1.0 } else { 0.0 }),
    },
    StageGauge {
        name: "weir_stage_concurrency_limit",
        unit: Unit::Count,
        help: "A concurrent stage's concurrency limit now (fixed or adaptive).",
        read: |s| s.concurrency_limit.map(|n| n as f64),
    },
    StageGauge {
        name: "weir_stage_latency_baseline_seconds",
        unit: Unit::Seconds,
        help: "The no-load latency an adaptive limit compares against.",
        read: |s| s.latency_baseline.map(|d| d.as_secs_f64()),
    },
    StageGauge {
        name: "weir_stage_latency_recent_seconds",
        unit: Unit::Seconds,
        help: "The recent latency an adaptive limit is moved by.",
        read: |s| s.latency_recent.map(|d| d.as_secs_f64()),
    },
];

/// Every edge gauge.
pub(crate) const EDGE_GAUGES: [EdgeGauge; 2] = [
    EdgeGauge {
        name: "weir_edge_queue_length",
        help: "Items queued in the channel now.",
        read: |e| e.len,
    },
    EdgeGauge {
        name: "weir_edge_capacity",
        help: "The channel's capacity.",
        read: |e| e.capacity,
    },
];
