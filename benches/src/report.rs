//! Turning results into the printed table, `docs/benchmarks.md`, the SVG
//! chart, and the check against the performance issue's targets.

use std::fmt::Write as _;

use crate::harness::{CaseResult, Fate, Impl, Metric, BASELINES};
use crate::sysinfo::SysInfo;

/// One row of the table: one implementation, one metric of one case.
#[derive(Debug, Clone)]
pub struct Row {
    /// The workload.
    pub workload: String,
    /// The case's configuration.
    pub case: String,
    /// The implementation's label.
    pub imp: String,
    /// The metric's label.
    pub metric: String,
    /// Median, min, max, formatted; or why there is no number.
    pub median: String,
    /// Minimum over the runs.
    pub min: String,
    /// Maximum over the runs.
    pub max: String,
    /// Median time (or context switches) per item.
    pub per_item: String,
    /// Ratio against each of [`BASELINES`]: baseline ÷ this (> 1: this is
    /// faster, or leaner).
    pub ratios: [String; 5],
}

/// Formats nanoseconds with a unit.
pub fn fmt_ns(ns: f64) -> String {
    if ns >= 1e9 {
        format!("{:.2} s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.1} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.1} µs", ns / 1e3)
    } else if ns >= 10.0 {
        format!("{ns:.0} ns")
    } else {
        format!("{ns:.2} ns")
    }
}

/// Formats a count that may be fractional (context switches per item).
pub fn fmt_count(v: f64) -> String {
    if v >= 100.0 || v == 0.0 {
        format!("{v:.0}")
    } else if v >= 1.0 {
        format!("{v:.2}")
    } else {
        // Three significant digits: 0.00612, not 0.01.
        let decimals = (2.0 - v.log10().floor()).min(9.0) as usize;
        format!("{v:.decimals$}")
    }
}

/// Formats a metric value (ns, kB for RSS, a count for context switches).
pub fn fmt_value(metric: Metric, v: f64) -> String {
    match metric {
        Metric::Rss => format!("{:.1} MB", v / 1024.0),
        Metric::Csw if v.fract() == 0.0 => format!("{v:.0}"),
        Metric::Csw => format!("{v:.1}"),
        _ => fmt_ns(v),
    }
}

fn fmt_ratio(r: f64) -> String {
    if r >= 100.0 {
        format!("{r:.0}x")
    } else if r >= 10.0 {
        format!("{r:.1}x")
    } else if r >= 0.1 || r <= 0.0 {
        format!("{r:.2}x")
    } else {
        // Two significant digits: 0.0031x, not 0.00x.
        let decimals = (1.0 - r.log10().floor()).min(8.0) as usize;
        format!("{r:.decimals$}x")
    }
}

/// The rows of every case.
pub fn rows(results: &[CaseResult]) -> Vec<Row> {
    let mut rows = Vec::new();
    for cr in results {
        for &metric in &cr.case.metrics {
            for (imp, fate) in &cr.fates {
                let mut row = Row {
                    workload: cr.case.workload.to_string(),
                    case: cr.case.title.clone(),
                    imp: imp.label().to_string(),
                    metric: metric.label().to_string(),
                    median: String::new(),
                    min: String::new(),
                    max: String::new(),
                    per_item: String::new(),
                    ratios: Default::default(),
                };
                match (fate, cr.summary(*imp, metric)) {
                    (Fate::Ran(_), Some((med, min, max))) => {
                        if let Some(lost) = cr.lost(*imp) {
                            row.imp = format!("{} — {lost}", row.imp);
                        }
                        row.median = fmt_value(metric, med);
                        row.min = fmt_value(metric, min);
                        row.max = fmt_value(metric, max);
                        if cr.case.items > 0 {
                            let per = med / cr.case.items as f64;
                            match metric {
                                Metric::Time => row.per_item = fmt_ns(per),
                                Metric::Csw => row.per_item = fmt_count(per),
                                _ => {}
                            }
                        }
                        // No ratio against a baseline that lost items here:
                        // it did not do the same work.
                        for (slot, base) in row.ratios.iter_mut().zip(BASELINES) {
                            *slot = match cr.median(base, metric) {
                                Some(b) if med > 0.0 && cr.lost(base).is_none() => {
                                    fmt_ratio(b / med)
                                }
                                _ => "–".into(),
                            };
                        }
                    }
                    (Fate::Skipped(why), _) => row.median = why.clone(),
                    (Fate::Failed(why), _) => row.median = format!("FAILED: {why}"),
                    (Fate::Ran(_), None) => row.median = "no runs".into(),
                }
                rows.push(row);
            }
        }
    }
    rows
}

const HEADERS: [&str; 13] = [
    "workload",
    "case",
    "impl",
    "metric",
    "median",
    "min",
    "max",
    "per item",
    "xGo",
    "xGo-buf",
    "xtokio+flume",
    "xkanal",
    "xloop",
];

fn cells(r: &Row) -> Vec<&str> {
    let mut v = vec![
        r.workload.as_str(),
        r.case.as_str(),
        r.imp.as_str(),
        r.metric.as_str(),
        r.median.as_str(),
        r.min.as_str(),
        r.max.as_str(),
        r.per_item.as_str(),
    ];
    v.extend(r.ratios.iter().map(String::as_str));
    v
}

/// The table as aligned plain text (for the terminal).
pub fn text_table(rows: &[Row]) -> String {
    let mut widths: Vec<usize> = HEADERS.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (w, c) in widths.iter_mut().zip(cells(r)) {
            *w = (*w).max(c.chars().count());
        }
    }
    // Long skip/failure reasons would stretch the median column: cap it.
    widths[4] = widths[4].min(12);
    let line = |cs: &[&str]| {
        let mut s = String::new();
        for (i, (c, w)) in cs.iter().zip(&widths).enumerate() {
            if i > 0 {
                s.push_str("  ");
            }
            let pad = w.saturating_sub(c.chars().count());
            if i >= 4 {
                s.push_str(&" ".repeat(pad));
                s.push_str(c);
            } else {
                s.push_str(c);
                s.push_str(&" ".repeat(pad));
            }
        }
        s.trim_end().to_string()
    };
    let mut out = line(&HEADERS);
    out.push('\n');
    let mut last = String::new();
    for r in rows {
        let key = format!("{}{}", r.workload, r.case);
        if key != last && !last.is_empty() {
            out.push('\n');
        }
        last = key;
        if r.ratios.iter().all(String::is_empty) && !r.median.is_empty() && r.min.is_empty() {
            // A skipped / failed implementation: one line with the reason.
            let _ = writeln!(
                out,
                "{}",
                line(&[&r.workload, &r.case, &r.imp, &r.metric, ""]) + "  " + &r.median
            );
        } else {
            out.push_str(&line(&cells(r)));
            out.push('\n');
        }
    }
    out
}

/// The table as Markdown.
pub fn markdown_table(rows: &[Row]) -> String {
    let mut out = format!("| {} |\n", HEADERS.join(" | "));
    out.push_str(&format!(
        "|{}\n",
        HEADERS
            .iter()
            .enumerate()
            .map(|(i, _)| if i >= 4 { "---:|" } else { "---|" })
            .collect::<String>()
    ));
    let mut last = String::new();
    for r in rows {
        let key = format!("{}{}", r.workload, r.case);
        let (w, c) = if key == last {
            (String::new(), String::new())
        } else {
            (r.workload.clone(), r.case.clone())
        };
        last = key;
        let mut cs = cells(r);
        cs[0] = &w;
        cs[1] = &c;
        let is_imp = r.imp.starts_with("weir");
        let cs: Vec<String> = cs
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let c = c.replace('|', "\\|");
                if is_imp && (i == 2 || i == 4) && !c.is_empty() {
                    format!("**{c}**")
                } else {
                    c
                }
            })
            .collect();
        out.push_str(&format!("| {} |\n", cs.join(" | ")));
    }
    out
}

/// One target of the performance issue, checked against the results.
#[derive(Debug, Clone)]
pub struct Target {
    /// The workload and the target, as the issue states it.
    pub what: String,
    /// The measured value.
    pub measured: String,
    /// `Some(true)` met, `Some(false)` missed, `None` not measurable here.
    pub met: Option<bool>,
}

/// Checks the issue's targets that this run measured.
pub fn targets(results: &[CaseResult]) -> Vec<Target> {
    let find = |id: &str| results.iter().find(|c| c.case.id == id);
    let med = |id: &str, imp: Impl, m: Metric| find(id).and_then(|c| c.median(imp, m));
    let ratio =
        |id: &str, base: Impl, imp: Impl, m: Metric| Some(med(id, base, m)? / med(id, imp, m)?);
    let mut t = Vec::new();
    let mut at_least = |what: &str, v: Option<f64>, goal: f64, unit: &str| {
        t.push(Target {
            what: what.into(),
            measured: v.map_or("n/a".into(), |v| format!("{v:.2}{unit}")),
            met: v.map(|v| v >= goal),
        });
    };
    use Impl::*;
    use Metric::*;
    at_least(
        "1 pipeline: ≥ 20× Go seed (unbuffered)",
        ratio("pipeline", GoUnbuf, Weir, Time),
        20.0,
        "×",
    );
    at_least(
        "1 pipeline: ≥ 5× Go buffered",
        ratio("pipeline", GoBuf, Weir, Time),
        5.0,
        "×",
    );
    at_least(
        "1 pipeline: a buffer that never overflows costs ≤ 5 % (weir ÷ weir + buffer ≥ 0.95)",
        ratio("pipeline", Weir, WeirBuffer, Time),
        0.95,
        "×",
    );
    at_least(
        "1 pipeline: time ≤ 5× the loop (loop ÷ weir ≥ 0.20)",
        ratio("pipeline", Loop, Weir, Time),
        0.2,
        "×",
    );
    at_least(
        "2 hop: weir-core ≤ 1.10× raw flume's time (flume ÷ weir ≥ 0.91)",
        ratio("hop", TokioFlume, Weir, Time),
        1.0 / 1.1,
        "×",
    );
    let mut t2 = Vec::new();
    let hop_items = find("hop").map(|c| c.case.items as f64);
    let batch = med("hop", WeirBatch, Time)
        .zip(hop_items)
        .map(|(a, n)| a / n);
    t2.push(Target {
        what: "2 hop: batch API ≤ 5 ns/item".into(),
        measured: batch.map_or("n/a".into(), |v| format!("{v:.2} ns/item")),
        met: batch.map(|v| v <= 5.0),
    });
    let mut at_least2 = |what: &str, v: Option<f64>, goal: f64| {
        t2.push(Target {
            what: what.into(),
            measured: v.map_or("n/a".into(), |v| format!("{v:.2}×")),
            met: v.map(|v| v >= goal),
        });
    };
    for k in [crate::harness::K_SMALL, crate::harness::K_LARGE] {
        at_least2(
            &format!("3 pool k={k}, W=2: ≥ 1.25× Go seed's jobs/s"),
            ratio(&format!("pool-k{k}-w2"), GoUnbuf, Weir, Time),
            1.25,
        );
        at_least2(
            &format!("3 pool k={k}, W=2: ≥ 1.25× Go buffered's jobs/s"),
            ratio(&format!("pool-k{k}-w2"), GoBuf, Weir, Time),
            1.25,
        );
    }
    let k = crate::harness::K_LARGE;
    at_least2(
        &format!("3 pool k={k} (~1 µs): W=1→W=2 speed-up ≥ 1.8×"),
        med(&format!("pool-k{k}-w1"), Weir, Time)
            .zip(med(&format!("pool-k{k}-w2"), Weir, Time))
            .map(|(a, b)| a / b),
        1.8,
    );
    at_least2(
        "4 fan-out/fan-in: ≥ 2× Go buffered",
        ratio("fan", GoBuf, Weir, Time),
        2.0,
    );
    at_least2(
        "5 cancel: p50 ≤ Go buffered's p50 (Go ÷ weir ≥ 1; driver on block_on)",
        ratio("cancel", GoBuf, Weir, P50),
        1.0,
    );
    t.extend(t2);
    let mut at_most = |what: &str, v: Option<f64>, goal: f64, fmt: &dyn Fn(f64) -> String| {
        t.push(Target {
            what: what.into(),
            measured: v.map_or("n/a".into(), fmt),
            met: v.map(|v| v <= goal),
        });
    };
    let ratio_fmt = |v: f64| format!("{v:.2}×");
    at_most(
        "6 million workers: spawn+shutdown ≤ Go's (weir ÷ Go ≤ 1)",
        ratio("million", Weir, GoUnbuf, Time),
        1.0,
        &ratio_fmt,
    );
    at_most(
        "6 million workers: peak RSS ≤ ½ Go's (weir ÷ Go ≤ 0.5)",
        ratio("million", Weir, GoUnbuf, Rss),
        0.5,
        &ratio_fmt,
    );
    at_most(
        "7 latency: p50 ≤ 20 µs (driver on block_on)",
        med("latency", Weir, P50),
        20_000.0,
        &fmt_ns,
    );
    at_most(
        "7 latency: p99 ≤ 100 µs (driver on block_on)",
        med("latency", Weir, P99),
        100_000.0,
        &fmt_ns,
    );
    let mut t9 = Vec::new();
    let mut hand = |what: &str, id: &str, base: Impl, goal: f64| {
        let imp = if id.starts_with("select") {
            WeirChanSelect
        } else {
            Weir
        };
        let v = ratio(id, base, imp, Time);
        t9.push(Target {
            what: what.into(),
            measured: v.map_or("n/a".into(), |v| format!("{v:.2}×")),
            met: v.map(|v| v >= goal),
        });
    };
    hand(
        "9 hand pipeline bounded(1024): ≥ 1.25× Go buffered's items/s",
        "handpipe-buf",
        GoBuf,
        1.25,
    );
    hand(
        "9 hand pipeline bounded(1024): ≥ 0.9× tokio+kanal's items/s",
        "handpipe-buf",
        TokioKanal,
        0.9,
    );
    hand(
        "9 hand pipeline rendezvous: ≥ 1.0× Go unbuffered's items/s",
        "handpipe-rdv",
        GoUnbuf,
        1.0,
    );
    hand(
        "9 hand pipeline rendezvous: ≥ 0.9× kanal bounded(0)'s items/s",
        "handpipe-rdv",
        TokioKanal,
        0.9,
    );
    hand(
        "9 hand pipeline current-thread bounded(1024): ≥ 1.0× tokio+flume's",
        "handpipe-ct",
        TokioFlume,
        1.0,
    );
    hand(
        "10 select unbuffered: chan::select! ≥ 1.0× Go's select",
        "select-rdv",
        GoUnbuf,
        1.0,
    );
    hand(
        "10 select capacity 64: chan::select! ≥ 1.0× Go's select",
        "select-buf",
        GoBuf,
        1.0,
    );
    hand(
        "11 windowed count: ≥ 1.0× the hand-written tokio program",
        "windowed",
        TokioMpsc,
        1.0,
    );
    hand(
        "11 windowed count: ≥ 1.0× the Go program",
        "windowed",
        GoBuf,
        1.0,
    );
    let mem: Vec<&CaseResult> = results
        .iter()
        .filter(|c| c.case.id.starts_with("memory-"))
        .collect();
    let growth = match mem.as_slice() {
        [a, b] => a
            .median(Weir, Rss)
            .zip(b.median(Weir, Rss))
            .map(|(a, b)| b / a),
        _ => None,
    };
    at_most(
        "8 bounded memory: RSS(100M) ÷ RSS(10M) ≤ 1.10",
        growth,
        1.10,
        &ratio_fmt,
    );
    // Issue 24's rows go after the older targets of workloads 5–7.
    let at = t
        .iter()
        .position(|x| x.what.starts_with("8 "))
        .unwrap_or(t.len());
    t.splice(at..at, issue_24(results));
    t.extend(t9);
    t
}

fn color(imp: Impl) -> &'static str {
    match imp {
        Impl::GoUnbuf => "#8c564b",
        Impl::GoBuf => "#d62728",
        Impl::TokioFlume => "#1f77b4",
        Impl::TokioKanal => "#9467bd",
        Impl::TokioMpsc => "#17becf",
        Impl::Weir => "#2ca02c",
        Impl::WeirBatch => "#98df8a",
        Impl::Loop => "#7f7f7f",
        Impl::GoLoop => "#bcbd22",
        Impl::WeirChanSelect => "#006d2c",
        Impl::TokioAbort => "#aec7e8",
        Impl::WeirFused => "#66c2a4",
        Impl::WeirBuffer => "#74c476",
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A hand-written SVG bar chart: for each case, each implementation's
/// ratio against `reference` (reference ÷ impl on the case's first metric;
/// right of 1× is better), on a log scale.
pub fn svg(results: &[CaseResult], reference: Impl) -> String {
    struct Bar {
        imp: Impl,
        ratio: f64,
    }
    let mut groups: Vec<(String, Vec<Bar>)> = Vec::new();
    for cr in results {
        let Some(&metric) = cr.case.metrics.first() else {
            continue;
        };
        // Cases the reference did not run in are drawn against the next
        // baseline that did (and say so).
        let Some((base_imp, base)) = [reference, Impl::GoUnbuf, Impl::TokioFlume]
            .into_iter()
            .find_map(|r| cr.median(r, metric).map(|v| (r, v)))
        else {
            continue;
        };
        let bars: Vec<Bar> = cr
            .fates
            .iter()
            .filter_map(|(imp, _)| {
                let v = cr.median(*imp, metric)?;
                (v > 0.0).then(|| Bar {
                    imp: *imp,
                    ratio: base / v,
                })
            })
            .collect();
        if !bars.is_empty() {
            let vs = if base_imp == reference {
                String::new()
            } else {
                format!(", vs {}", base_imp.label())
            };
            groups.push((
                format!(
                    "{} — {} ({}{vs})",
                    cr.case.workload,
                    cr.case.title,
                    metric.label()
                ),
                bars,
            ));
        }
    }
    let (mut lo, mut hi) = (-1.0f64, 1.0f64);
    for (_, bars) in &groups {
        for b in bars {
            let l = b.ratio.log10();
            lo = lo.min(l.floor());
            hi = hi.max(l.ceil());
        }
    }
    let (width, left, right) = (980.0, 250.0, 900.0);
    let x = |r: f64| left + (r.log10() - lo) / (hi - lo) * (right - left);
    let (bar_h, gap, head) = (12.0, 2.0, 18.0);
    let legend_h = 40.0;
    let height = legend_h
        + 30.0
        + groups
            .iter()
            .map(|(_, b)| head + b.len() as f64 * (bar_h + gap) + 8.0)
            .sum::<f64>()
        + 20.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height:.0}" viewBox="0 0 {width} {height:.0}" font-family="sans-serif" font-size="11">"##
    );
    let _ = writeln!(
        s,
        r##"<rect width="100%" height="100%" fill="white"/><text x="10" y="16" font-size="14" font-weight="bold">weir benchmarks: speed-up vs {} (median; log scale; right of 1× = faster / leaner)</text>"##,
        esc(reference.label())
    );
    // Legend.
    let mut lx = 10.0;
    for imp in [
        Impl::GoUnbuf,
        Impl::GoBuf,
        Impl::TokioFlume,
        Impl::Weir,
        Impl::WeirBatch,
        Impl::Loop,
    ] {
        let _ = writeln!(
            s,
            r##"<rect x="{lx}" y="26" width="10" height="10" fill="{}"/><text x="{}" y="35">{}</text>"##,
            color(imp),
            lx + 14.0,
            esc(imp.label())
        );
        lx += 24.0 + 6.5 * imp.label().chars().count() as f64;
    }
    let top = legend_h + 20.0;
    let bottom = height - 20.0;
    // Grid: powers of ten.
    let mut p = lo;
    while p <= hi + 1e-9 {
        let gx = x(10f64.powf(p));
        let label = if p >= 0.0 {
            format!("{}×", 10f64.powf(p))
        } else {
            format!("{:.2}×", 10f64.powf(p))
                .trim_end_matches('0')
                .to_string()
        };
        let stroke = if p == 0.0 { "#000" } else { "#ddd" };
        let _ = writeln!(
            s,
            r##"<line x1="{gx:.1}" y1="{top}" x2="{gx:.1}" y2="{bottom}" stroke="{stroke}"/><text x="{gx:.1}" y="{}" text-anchor="middle" fill="#555">{label}</text>"##,
            top - 4.0
        );
        p += 1.0;
    }
    let mut y = top + 4.0;
    for (title, bars) in &groups {
        let _ = writeln!(
            s,
            r##"<text x="10" y="{:.1}" font-weight="bold">{}</text>"##,
            y + 12.0,
            esc(title)
        );
        y += head;
        for b in bars {
            let (x0, x1) = (x(1.0), x(b.ratio));
            let (bx, bw) = if x1 >= x0 {
                (x0, x1 - x0)
            } else {
                (x1, x0 - x1)
            };
            let _ = writeln!(
                s,
                r##"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text><rect x="{bx:.1}" y="{y:.1}" width="{:.1}" height="{bar_h}" fill="{}"/><text x="{:.1}" y="{:.1}" fill="#333">{}</text>"##,
                left - 6.0,
                y + 10.0,
                esc(b.imp.label()),
                bw.max(1.0),
                color(b.imp),
                x1.max(x0) + 4.0,
                y + 10.0,
                fmt_ratio(b.ratio)
            );
            y += bar_h + gap;
        }
        y += 8.0;
    }
    s.push_str("</svg>\n");
    s
}

/// Issue 24's targets, on both driver shapes of workloads 5 and 7. The
/// issue's targets are checked on the spawned driver: the Go-faithful
/// translation (Go's driver is its main goroutine, which runs the goroutines
/// it readies on its own thread). The `block_on` rows (`#[tokio::main]`'s
/// body) are listed too, misses included: their floor is a main → worker
/// and a worker → main thread wake-up per trial (`docs/profiling.md` §13,
/// §14, §16).
fn issue_24(results: &[CaseResult]) -> Vec<Target> {
    use Impl::*;
    use Metric::*;
    let find = |id: &str| results.iter().find(|c| c.case.id == id);
    let med = |id: &str, imp: Impl, m: Metric| find(id).and_then(|c| c.median(imp, m));
    let mut t = Vec::new();
    let mut check = |what: String, v: Option<f64>, met: fn(f64) -> bool, fmt: fn(f64) -> String| {
        t.push(Target {
            what,
            measured: v.map_or("n/a".into(), fmt),
            met: v.map(met),
        });
    };
    let times = |v: f64| format!("{v:.2}×");
    for (suffix, shape) in [
        (
            "-spawned",
            "issue 24, driver in a spawned task: the issue's shape",
        ),
        (
            "",
            "issue 24, driver on block_on: 2 thread wake-ups/trial floor",
        ),
    ] {
        let cancel = format!("cancel{suffix}");
        let latency = format!("latency{suffix}");
        let ratio =
            |base: Impl, imp: Impl, id: &str| Some(med(id, base, P50)? / med(id, imp, P50)?);
        check(
            format!("5 cancel: p50 ≤ 2× Go buffered's (Go ÷ weir ≥ 0.5; {shape})"),
            ratio(GoBuf, Weir, &cancel),
            |v| v >= 0.5,
            times,
        );
        check(
            format!("5 cancel: p50 ≤ tokio abort's (abort ÷ weir ≥ 1; {shape})"),
            ratio(TokioAbort, Weir, &cancel),
            |v| v >= 1.0,
            times,
        );
        check(
            format!("5 cancel: p99 ≤ 50 µs ({shape})"),
            med(&cancel, Weir, P99),
            |v| v <= 50_000.0,
            fmt_ns,
        );
        check(
            format!("7 latency: p50 ≤ 15 µs ({shape})"),
            med(&latency, Weir, P50),
            |v| v <= 15_000.0,
            fmt_ns,
        );
        check(
            format!("7 latency: p99 ≤ 60 µs ({shape})"),
            med(&latency, Weir, P99),
            |v| v <= 60_000.0,
            fmt_ns,
        );
        // Against the faster of the two Go rows (the same code; capacity
        // does not matter to one item).
        let go = match (med(&latency, GoUnbuf, P50), med(&latency, GoBuf, P50)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        check(
            format!("7 latency: fused Pipeline p50 ≤ 2× Go's (fused ÷ Go ≤ 2; {shape})"),
            med(&latency, WeirFused, P50).zip(go).map(|(w, g)| w / g),
            |v| v <= 2.0,
            times,
        );
    }
    t
}

/// Descriptions of what each workload's implementations are.
pub const NOTES: &str = "\
* **Go seed (unbuffered)**: the seed's code as written (`benches/go/main.go`), every channel `make(chan T)`; \
`gen` counts 1..=N instead of ranging over a slice so memory stays bounded. **Go (buffered)**: the same code \
with `make(chan T, 1024)` (128 in the cancellation rows, 64 in the select rows). GOMAXPROCS = nproc; `go build` \
with no flags. The hand pipeline (9) and the select loop (10) are plain programs of their own \
(`benches/go/handpipe`, `benches/go/select`): run alone with `go run ./handpipe 1024 10000000` in `benches/go` \
they give the number in the table. So is the windowed count (11, `benches/go/windowed`): a producer goroutine, `make(chan uint64, 1024)`, a `map` of counts per window; its **tokio mpsc** column is the same program by hand on tokio (`mpsc::channel(1024)`, one counting task with a `HashMap`), and **weir** is the builder's `source → window_fold(Tumbling::count(10_000), HashMap::new(), …) → fold`.
* **tokio+flume**: the naive port — tokio's multi-thread runtime, `flume::bounded(1024)` with \
`send_async` / `recv_async`, one task per stage, one item per message, the seed's structure kept (fan-in by \
forwarding tasks). In the channel hop it is raw flume.
* **weir-core**: weir's side, *for now hand-built on weir-core* (`chan` + `WaitGroup` + tokio), the best way \
available today: one task per stage, items moving as `Vec<u64>` chunks through `chan::bounded` (pipeline: 512 \
items × 4 chunks; pool: 32 jobs × 32 chunks; fan: 256 items × 4 chunks, the 4 workers sharing one MPMC output \
channel); in the channel hop, cancellation, latency and many-workers rows one item per `send` / `recv` (latency: \
`recv_many` + `send_all` stages). **weir-core send_all/recv_many**: weir-core's batch API on a per-item \
`chan::bounded(1024)` (batches of 512 in the pipeline, 256 in the hop). These functions (`weir` in \
`benches/src/workloads/*.rs`) will become the `weir::Pipeline` facade once the stage crate exists.
* **loop**: the same work in a sequential Rust loop (the floor). **Go loop** (calibration rows): the job \
function in a plain Go loop — the two rows show the job costs the same in both languages.
* Work: pipeline / fan `n*n` (wrapping, like Go's int), summed; pool jobs are `spin(job, k)` = k rounds of \
`x = (x ^ (x >> 31)) * 0xbf58476d1ce4e5b9 + 1`, identical in Go and Rust (a plain LCG is *not* used: LLVM \
folds eight LCG steps into one). Every implementation's checksum is verified against the expected value.
* 5 cancellation: a source plus 9 forwarding stages; nobody reads the last channel; once every buffer is full, \
the time from cancel until every stage task has ended (Go: `context.WithCancel` + `select` + `sync.WaitGroup`; \
Rust: tokio-util `CancellationToken` + `tokio::select!`, weir-core's `WaitGroup` or the flume tasks' \
`JoinHandle`s; weir: weir-cancel's `Context` + `tokio::select!` + weir-core's `WaitGroup`). **tokio abort** \
(issue 24's baseline): the weir row's stages on the same weir-core channels with no cancel branch, ended by \
`JoinHandle::abort` on each task and joined by awaiting the handles. Unbuffered Go has no buffers to fill. \
Every Rust contender runs in two driver shapes (the loop that waits for the buffers, cancels and joins): \
**driver on block_on** is `#[tokio::main]`'s body (the main thread, not a worker: a main → worker and a \
worker → main thread wake-up per trial), **driver in a spawned task** is the Go-faithful translation of Go's \
main goroutine (the whole trial loop one `tokio::spawn`ed task, idling with `tokio::time::sleep`, whose 1 ms \
granularity makes the waits about a millisecond). Go's rows are the same program in both. Issue 24's targets \
are checked on the spawned shape; the block_on shape's are listed too.
* 6 many workers: spawn n workers blocked on one jobs channel, wait until each has started, close the channel, \
wait for all; `shutdown` is the part after the close; per item = per worker. Raw flume is capped at 20k \
workers (its async receivers deregister with a linear scan: quadratic shutdown); Go buffered is run at the \
small size only (capacity does not matter here).
* 7 latency: one item through 3 forwarding stages, after ~1 ms idle (sleep) before each trial. **weir**: one \
weir-core task per stage (`recv_many` + `send_all`); **weir Pipeline (fused)**: the facade's \
`from_receiver(input) → map → map → map → forward(output)`, whose stages fuse into one task; **loop**: the \
three steps fused by hand, one task doing `recv` then `send(v + 3)` on weir-core channels (the fused row's \
floor: the difference is what the engine adds). Both driver \
shapes as in 5: on block_on the driver idles with `std::thread::sleep`, in a spawned task with \
`tokio::time::sleep` (both about a millisecond, as Go's `time.Sleep`), and `t0` is taken after the sleep.
* 8 bounded memory: the pipeline at two sizes, one run each; peak RSS (VmHWM) of the child process.
* 9 hand pipeline: `gen -> square -> sum` the way a Go programmer writes it first — three tasks (goroutines), \
two channels, one `send(..).await` / `recv().await` (`ch <- v` / `range`) per item, the same code on every \
channel (`benches/src/workloads/handpipe.rs`; Go: the plain program `benches/go/handpipe/main.go`, its own \
binary, the main goroutine summing): **weir** is weir-core's \
`chan::bounded(1024)` / `chan::rendezvous()`, **tokio+kanal** `kanal::bounded_async`, **tokio+flume** \
`flume::bounded` with `send_async` / `recv_async`, **tokio mpsc** `tokio::sync::mpsc::channel` (capacity 1 in \
the rendezvous row: it has no rendezvous). tokio's multi-thread runtime with 2 worker threads (Go: GOMAXPROCS = \
nproc), and tokio's current-thread runtime in the last row. `vol. csw` is the voluntary context switches of the \
whole child process during the timed section (the sum of `voluntary_ctxt_switches` over `/proc/self/task/*`, \
in Go too); its per-item column is switches per item.
* 10 select: Go's typical `select` loop — two producers (1..=N/2 and N/2+1..=N) on two channels plus a `done` \
channel closed once both have returned, one consumer selecting over the three and summing; when `done` fires it \
takes what is still buffered without waiting and stops (`benches/src/workloads/select.rs`, \
`benches/go/select/main.go`). Rust: `tokio::select!` (random branch order, like Go's) over the receive futures of \
**weir** (weir-core's `recv()`, today's way), **tokio+kanal** (`kanal::bounded_async`) and **tokio+flume** \
(`recv_async`), 2 worker threads. kanal's receive future drops an item a sender already handed to it when \
`tokio::select!` drops the losing branch, so that row loses items (its checksum is shown, not enforced). \
**weir chan::select!** is weir's own select macro (`select_chan.rs`).
* Ratios (`xGo`, …) are *baseline median ÷ this median*: above 1 means faster (or leaner) than that baseline.";

/// The whole `docs/benchmarks.md`.
pub fn markdown(
    results: &[CaseResult],
    info: &SysInfo,
    command: &str,
    runs: usize,
    load_end: &str,
    svg_name: Option<&str>,
    elapsed_s: f64,
) -> String {
    let mut md = String::new();
    md.push_str("# Benchmarks\n\n");
    md.push_str(
        "Written by `compare` (`benches/src/bin/compare.rs`); do not edit by hand. \
         Every number is a median over several runs measured side by side in one run, each run in \
         its own process; compare ratios, not absolute times, across machines.\n\n",
    );
    let _ = writeln!(md, "- command: `{command}`");
    let _ = writeln!(md, "- date: {}", info.date);
    let _ = writeln!(md, "- machine: {} CPUs (nproc), {}", info.nproc, info.cpu);
    let _ = writeln!(md, "- rustc: {}", info.rustc);
    let _ = writeln!(md, "- go: {}", info.go);
    let _ = writeln!(
        md,
        "- runs per implementation: {runs} (latency / cancellation: up to 5, each of many trials; many workers: up to 3; bounded memory: 1)"
    );
    let _ = writeln!(
        md,
        "- load average at start / end: {} / {load_end} (the machine is shared: expect noise)",
        info.load_start
    );
    let _ = writeln!(md, "- total harness time: {elapsed_s:.0} s\n");
    if let Some(name) = svg_name {
        let _ = writeln!(md, "![speed-up chart]({name})\n");
    }
    md.push_str(
        "## Targets (performance issue)\n\n| target | measured | met |\n|---|---:|:---:|\n",
    );
    for t in targets(results) {
        let _ = writeln!(
            md,
            "| {} | {} | {} |",
            t.what,
            t.measured,
            match t.met {
                Some(true) => "yes",
                Some(false) => "**no**",
                None => "n/a",
            }
        );
    }
    md.push_str("\n## Results\n\n");
    md.push_str(&markdown_table(&rows(results)));
    md.push_str("\n## What runs\n\n");
    md.push_str(NOTES);
    md.push('\n');
    md
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::{Case, Fate, Plan};
    use crate::Outcome;
    use std::time::Duration;

    fn outcome(ms: u64, check: u64) -> Outcome {
        Outcome {
            elapsed: Duration::from_millis(ms),
            check,
            ..Outcome::default()
        }
    }

    /// A baseline that lost items is flagged in its own row and gives no
    /// ratio to the others; a baseline that did the work does.
    #[test]
    fn no_ratio_against_a_baseline_that_lost_items() {
        let case = Case {
            id: "t".into(),
            workload: "10 select",
            title: "t".into(),
            items: 1,
            metrics: vec![Metric::Time],
            runs: 1,
            impls: vec![
                (Impl::GoUnbuf, Plan::Skip(String::new())),
                (Impl::TokioKanal, Plan::Skip(String::new())),
                (Impl::Weir, Plan::Skip(String::new())),
            ],
            expect: Some(10),
            lossy: vec![Impl::TokioKanal],
            timeout: Duration::from_secs(1),
        };
        let result = |kanal_check: u64| CaseResult {
            case: case.clone(),
            fates: vec![
                (Impl::GoUnbuf, Fate::Ran(vec![outcome(200, 10)])),
                (Impl::TokioKanal, Fate::Ran(vec![outcome(50, kanal_check)])),
                (Impl::Weir, Fate::Ran(vec![outcome(100, 10)])),
            ],
        };
        let go = BASELINES.iter().position(|&b| b == Impl::GoUnbuf).unwrap();
        let kanal = BASELINES
            .iter()
            .position(|&b| b == Impl::TokioKanal)
            .unwrap();

        let lossy = rows(&[result(9)]);
        assert!(
            lossy[1].imp.contains("lost items in 1 of 1 runs"),
            "{}",
            lossy[1].imp
        );
        assert_eq!(lossy[2].ratios[go], "2.00x");
        assert_eq!(lossy[2].ratios[kanal], "–");

        let honest = rows(&[result(10)]);
        assert_eq!(honest[1].imp, Impl::TokioKanal.label());
        assert_eq!(honest[2].ratios[kanal], "0.50x");
    }
}
