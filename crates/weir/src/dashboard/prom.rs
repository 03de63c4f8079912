//! `/metrics`: a pipeline's counters in the Prometheus text format, with
//! the names and labels `weir::metrics_export` publishes (feature
//! `metrics`), so dashboards and alerts work against either.

use std::fmt::Write;

use crate::observe::{Metrics, StageMetrics};

type Read = fn(&StageMetrics) -> u64;

/// Per stage: name, type, help, and how to read it.
const STAGE: &[(&str, &str, &str, Read)] = &[
    (
        "weir_stage_items_in_total",
        "counter",
        "Items taken in.",
        |s| s.items_in,
    ),
    (
        "weir_stage_items_out_total",
        "counter",
        "Items sent on.",
        |s| s.items_out,
    ),
    (
        "weir_stage_errors_total",
        "counter",
        "Errors reported.",
        |s| s.errors,
    ),
    (
        "weir_stage_retries_total",
        "counter",
        "Retries of failed jobs.",
        |s| s.retries,
    ),
    (
        "weir_stage_skipped_total",
        "counter",
        "Failed jobs dropped by Policy::skip.",
        |s| s.skipped,
    ),
    (
        "weir_stage_dead_lettered_total",
        "counter",
        "Failed jobs sent to a dead-letter channel.",
        |s| s.dead_lettered,
    ),
    (
        "weir_stage_dropped_total",
        "counter",
        "Items dropped on purpose by an overflow policy.",
        |s| s.dropped,
    ),
    (
        "weir_stage_timeouts_total",
        "counter",
        "Jobs over the stage's per-item timeout.",
        |s| s.timeouts,
    ),
    (
        "weir_stage_restarts_total",
        "counter",
        "Restarts of a supervised source or sub-flow.",
        |s| s.restarts,
    ),
    (
        "weir_stage_busy_nanoseconds_total",
        "counter",
        "Time spent in the stage's code.",
        |s| nanos(s.busy),
    ),
    (
        "weir_stage_send_wait_nanoseconds_total",
        "counter",
        "Time waiting for room downstream.",
        |s| nanos(s.send_wait),
    ),
    (
        "weir_stage_recv_wait_nanoseconds_total",
        "counter",
        "Time waiting for input.",
        |s| nanos(s.recv_wait),
    ),
    (
        "weir_stage_running",
        "gauge",
        "1 while the stage's task runs, then 0.",
        |s| u64::from(s.running),
    ),
];

fn nanos(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// `m` as Prometheus text, every series labelled `pipeline="{pipeline}"`.
pub(crate) fn render(pipeline: &str, m: &Metrics) -> String {
    let mut out = String::with_capacity(128 + 1600 * m.stages.len());
    for (name, kind, help, read) in STAGE {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (i, s) in m.stages.iter().enumerate() {
            let _ = write!(out, "{name}{{pipeline=");
            label(&mut out, pipeline);
            out.push_str(",stage=");
            label(&mut out, &s.name);
            out.push_str(",kind=");
            label(&mut out, s.kind);
            let _ = writeln!(out, ",id=\"{i}\"}} {}", read(s));
        }
    }
    let queues: Vec<_> = m
        .edges
        .iter()
        .enumerate()
        .filter(|(_, e)| e.len.is_some())
        .collect();
    for (name, help, pick) in [
        ("weir_edge_queue_length", "Items queued now.", 0),
        ("weir_edge_capacity", "The channel's capacity.", 1),
    ] {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        for &(i, e) in &queues {
            let value = if pick == 0 { e.len } else { e.capacity };
            let Some(value) = value else { continue };
            let _ = write!(out, "{name}{{pipeline=");
            label(&mut out, pipeline);
            out.push_str(",from=");
            label(&mut out, &e.from);
            out.push_str(",to=");
            label(&mut out, &e.to);
            let _ = writeln!(out, ",id=\"{i}\"}} {value}");
        }
    }
    out
}

/// A label value, quoted and escaped as the text format says.
fn label(out: &mut String, value: &str) {
    out.push('"');
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        let mut out = String::new();
        label(&mut out, "a\"b\\c\nd");
        assert_eq!(out, r#""a\"b\\c\nd""#);
    }
}
