//! `/metrics`: a pipeline's counters in the Prometheus text format, with
//! the series `weir::metrics_export` publishes (feature `metrics`), read
//! from the same table (`observe::series`), so dashboards and alerts work
//! against either.

use std::fmt::Write;

use crate::observe::series::{EDGE_GAUGES, STAGE_COUNTERS, STAGE_GAUGES};
use crate::observe::{Metrics, StageMetrics};

/// `m` as Prometheus text, every series labelled `pipeline="{pipeline}"`.
pub(crate) fn render(pipeline: &str, m: &Metrics) -> String {
    let mut out = String::with_capacity(128 + 1600 * m.stages.len());
    for c in &STAGE_COUNTERS {
        head(&mut out, c.name, c.help, "counter");
        for (i, s) in m.stages.iter().enumerate() {
            stage_series(&mut out, c.name, pipeline, i, s);
            let _ = writeln!(out, " {}", (c.read)(s));
        }
    }
    for g in &STAGE_GAUGES {
        let values: Vec<_> = m
            .stages
            .iter()
            .enumerate()
            .filter_map(|(i, s)| Some((i, s, (g.read)(s)?)))
            .collect();
        if values.is_empty() {
            continue;
        }
        head(&mut out, g.name, g.help, "gauge");
        for (i, s, value) in values {
            stage_series(&mut out, g.name, pipeline, i, s);
            let _ = writeln!(out, " {value}");
        }
    }
    for g in &EDGE_GAUGES {
        head(&mut out, g.name, g.help, "gauge");
        for (i, e) in m.edges.iter().enumerate() {
            let Some(value) = (g.read)(e) else { continue };
            let _ = write!(out, "{}{{pipeline=", g.name);
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

fn head(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// `name{pipeline=…,stage=…,kind=…,id=…}`, without the value.
fn stage_series(out: &mut String, name: &str, pipeline: &str, i: usize, s: &StageMetrics) {
    let _ = write!(out, "{name}{{pipeline=");
    label(out, pipeline);
    out.push_str(",stage=");
    label(out, &s.name);
    out.push_str(",kind=");
    label(out, s.kind);
    let _ = write!(out, ",id=\"{i}\"}}");
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
