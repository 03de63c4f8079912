//! Observability: per-stage counters, the graph export (fused edges dashed,
//! channels solid), the bottleneck report and the shutdown diagnosis.

use std::time::Duration;

use weir::cancel::Context;
use weir::pipeline::{Diagnosis, EdgeState, Metrics, Pipeline, StageMetrics};
use weir::testing::settle;

fn stage<'m>(m: &'m Metrics, name: &str) -> &'m StageMetrics {
    m.stages
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no stage `{name}` in {m:?}"))
}

/// A pipeline with a fused chain, a channel into a worker pool, and a
/// channel out of it into a fused chain ending in the sink.
async fn ran() -> Pipeline {
    let p = Pipeline::with_capacity(&Context::background(), 7);
    let v = p
        .source(0..1_000u64)
        .named("gen")
        .map(|n| n + 1)
        .named("inc")
        .filter(|n| n % 2 == 0)
        .named("evens")
        .worker_pool(2, |n| async move { Ok::<_, std::io::Error>(n) })
        .named("pool")
        .filter_map(|n| (n % 4 == 0).then_some(n))
        .named("fours")
        .collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(v.len(), 250);
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_in_and_out_per_stage_after_a_run() {
    let p = ran().await;
    let m = p.metrics();
    let counts = |name| {
        let s = stage(&m, name);
        (s.items_in, s.items_out)
    };
    assert_eq!(counts("gen"), (0, 1_000));
    assert_eq!(counts("inc"), (1_000, 1_000));
    assert_eq!(counts("evens"), (1_000, 500));
    assert_eq!(counts("fours"), (500, 250));
    assert_eq!(stage(&m, "collect#5").items_in, 250);
    assert_eq!(stage(&m, "pool").kind, "worker_pool");
    assert_eq!(stage(&m, "pool").items_out, 500);
    for s in &m.stages {
        assert_eq!(s.errors, 0, "{}", s.name);
        assert!(!s.running, "{} still running after the run", s.name);
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_failing_stage_counts_its_error() {
    let p = Pipeline::new(&Context::background());
    let err = p
        .source(0..10u64)
        .try_map(|n| if n == 5 { Err("five") } else { Ok(n) })
        .named("check")
        .for_each(drop)
        .await
        .unwrap_err();
    assert_eq!(err.stage(), Some("check"));
    let m = p.metrics();
    assert_eq!(stage(&m, "check").errors, 1);
    assert_eq!(stage(&m, "source#0").errors, 0);
}

/// A stage with tasks of its own (here a worker pool) reports busy time
/// and its waits on both channels, like a fused stage.
#[tokio::test(flavor = "current_thread")]
async fn a_worker_pool_reports_busy_time_and_waits() {
    let (tx, rx) = weir::chan::bounded(64);
    let p = Pipeline::with_capacity(&Context::background(), 1);
    let run = p
        .from_receiver(rx)
        .worker_pool(2, |n: u64| async move {
            Ok::<_, std::io::Error>((1..=n).fold(0u64, |a, k| a ^ k))
        })
        .named("pool")
        .for_each(drop)
        .run();
    // The workers start and wait on their empty input…
    settle(100).await;
    // …then get 40 jobs at once, and send their results on in runs that a
    // one-slot output can't take without waiting for the sink.
    for n in 0..40 {
        tx.send(n).await.unwrap();
    }
    drop(tx);
    run.join().await.unwrap();
    let m = p.metrics();
    let pool = stage(&m, "pool");
    assert!(!pool.busy.is_zero(), "{pool:?}");
    assert!(!pool.recv_wait.is_zero(), "{pool:?}");
    // Whether the workers ever wait to send depends on how the runtime
    // interleaves them with the sink (with the channel's FIFO line, the sink
    // can drain the one-slot output between flushes); a send wait, when
    // there is one, is counted (`chan_api.rs`, weir-core's observer docs).
    assert_eq!(pool.errors, 0, "{pool:?}");
    assert!(!pool.running);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fan_out_counts_what_its_branches_took() {
    let p = Pipeline::new(&Context::background());
    let n = p
        .source(0..1_000u64)
        .fan_out(3, |branch| branch.map(|n| n + 1))
        .named("fan")
        .fold(0u64, |a, _| a + 1)
        .await
        .unwrap();
    assert_eq!(n, 1_000);
    let m = p.metrics();
    let fan = stage(&m, "fan_out#1");
    assert_eq!((fan.items_in, fan.items_out), (1_000, 1_000));
    assert_eq!(stage(&m, "fan").items_in, 1_000);
}

/// A stage with tasks of its own on one branch of a split counts what came
/// down its branch, not what the split sent to every branch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_on_a_split_branch_counts_its_own_branch() {
    let p = Pipeline::new(&Context::background());
    let [evens, odds] = p.source(0..1_000u64).route(|n| (n % 2) as usize);
    let a = evens
        .worker_pool(2, |n| async move { Ok::<_, std::io::Error>(n) })
        .named("evens pool")
        .count();
    let b = odds.then(|n| async move { n }).named("odds then").count();
    let (a, b) = tokio::join!(a.run().join(), b.run().join());
    assert_eq!((a.unwrap(), b.unwrap()), (500, 500));
    let m = p.metrics();
    let pool = stage(&m, "evens pool");
    assert_eq!((pool.items_in, pool.items_out), (500, 500));
    let then = stage(&m, "odds then");
    assert_eq!((then.items_in, then.items_out), (500, 500));
}

#[tokio::test(flavor = "current_thread")]
async fn a_failing_worker_pool_counts_its_error() {
    let p = Pipeline::new(&Context::background());
    let err = p
        .source(0..10u64)
        .worker_pool(2, |n| async move {
            if n == 3 {
                Err("job 3 failed")
            } else {
                Ok(n)
            }
        })
        .named("pool")
        .for_each(drop)
        .await
        .unwrap_err();
    assert_eq!(err.stage(), Some("pool"));
    assert_eq!(stage(&p.metrics(), "pool").errors, 1);
}

#[tokio::test(flavor = "current_thread")]
async fn two_stages_with_the_same_name_keep_their_own_counters() {
    let p = Pipeline::new(&Context::background());
    let err = p
        .source(0..10u64)
        .worker_pool(2, |n| async move { Ok::<_, std::io::Error>(n) })
        .named("twin")
        .filter(|n| n % 2 == 0)
        .named("twin")
        .worker_pool(2, |n| async move {
            if n == 4 {
                Err("job 4 failed")
            } else {
                Ok(n)
            }
        })
        .named("twin")
        .for_each(drop)
        .await
        .unwrap_err();
    assert_eq!(err.stage(), Some("twin"));
    let m = p.metrics();
    let twins: Vec<_> = m.stages.iter().filter(|s| s.name == "twin").collect();
    assert_eq!(twins.len(), 3);
    let ids: std::collections::HashSet<_> = twins.iter().map(|s| s.id).collect();
    assert_eq!(ids.len(), 3, "three stages, three ids");
    let kinds_errors: Vec<_> = twins.iter().map(|s| (s.kind, s.errors)).collect();
    assert_eq!(
        kinds_errors,
        [("worker_pool", 0), ("filter", 0), ("worker_pool", 1)],
        "the error is counted on the failing pool only"
    );
    assert_eq!((twins[0].items_in, twins[1].items_in), (10, 10));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fused_edges_have_no_queue_and_channel_edges_do() {
    let p = ran().await;
    let m = p.metrics();
    let edge = |from: &str, to: &str| {
        m.edges
            .iter()
            .find(|e| e.from == from && e.to == to)
            .unwrap_or_else(|| panic!("no edge {from} -> {to} in {m:?}"))
    };
    for (from, to) in [("gen", "inc"), ("inc", "evens"), ("fours", "collect#5")] {
        let e = edge(from, to);
        assert_eq!((e.len, e.capacity), (None, None), "{from} -> {to}");
    }
    for (from, to) in [("evens", "pool"), ("pool", "fours")] {
        let e = edge(from, to);
        assert_eq!(e.capacity, Some(7), "{from} -> {to}");
        assert_eq!(e.len, Some(0), "{from} -> {to} after the run");
    }
    assert_eq!(m.edges.len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mermaid_draws_fused_edges_dashed_and_channels_solid() {
    let p = ran().await;
    let chart = p.to_mermaid();
    assert!(chart.starts_with("flowchart LR\n"), "{chart}");
    // Stages with their names, kinds and counts.
    assert!(
        chart.contains("s0[\"gen<br/>source: in 0 / out 1000\"]"),
        "{chart}"
    );
    assert!(
        chart.contains("s2[\"evens<br/>filter: in 1000 / out 500\"]"),
        "{chart}"
    );
    // Fused hand-offs are dashed, channels solid with their fill.
    for fused in [
        "s0 -.->|fused| s1",
        "s1 -.->|fused| s2",
        "s4 -.->|fused| s5",
    ] {
        assert!(chart.contains(fused), "missing `{fused}` in\n{chart}");
    }
    for channel in ["s2 -->|\"0/7 peak ", "s3 -->|\"0/7 peak "] {
        assert!(chart.contains(channel), "missing `{channel}` in\n{chart}");
    }
    assert_eq!(chart.matches("-.->").count(), 3, "{chart}");
    assert_eq!(chart.matches("-->").count(), 2, "{chart}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dot_draws_fused_edges_dashed_and_channels_solid() {
    let p = ran().await;
    let dot = p.to_dot();
    assert!(dot.starts_with("digraph pipeline {"), "{dot}");
    assert!(dot.trim_end().ends_with('}'), "{dot}");
    assert!(dot.contains("s3 [label=\"pool\\nworker_pool: in"), "{dot}");
    for fused in ["s0 -> s1", "s1 -> s2", "s4 -> s5"] {
        let line = format!("{fused} [style=dashed, label=\"fused\"];");
        assert!(dot.contains(&line), "missing `{line}` in\n{dot}");
    }
    for channel in ["s2 -> s3", "s3 -> s4"] {
        let line = format!("{channel} [label=\"0/7 peak ");
        assert!(dot.contains(&line), "missing `{line}` in\n{dot}");
    }
    assert_eq!(dot.matches("style=dashed").count(), 3, "{dot}");
}

#[tokio::test(flavor = "current_thread")]
async fn the_graph_is_drawn_before_it_runs() {
    // Before the run, channels do not exist yet: solid edges with no fill.
    let p = Pipeline::new(&Context::background());
    let sink = p
        .source(0..10u64)
        .square()
        .worker_pool(2, |n| async move { Ok::<_, std::io::Error>(n) })
        .collect::<Vec<_>>();
    let chart = p.to_mermaid();
    assert!(chart.contains("s0 -.->|fused| s1"), "{chart}");
    assert!(chart.contains("s1 --> s2\n"), "{chart}");
    assert!(chart.contains("s2 --> s3\n"), "{chart}");
    assert!(chart.contains("in 0 / out 0"), "{chart}");
    let dot = p.to_dot();
    assert!(dot.contains("s1 -> s2;"), "{dot}");
    assert!(dot.contains("s0 -> s1 [style=dashed"), "{dot}");
    assert_eq!(sink.await.unwrap().len(), 10);
}

#[tokio::test(flavor = "current_thread")]
async fn merge_and_split_edges_are_channels() {
    let p = Pipeline::new(&Context::background());
    let [a, b] = p.source(0..10u64).balance();
    let sink = a.map(|n| n).merge([b]).collect::<Vec<_>>();
    let chart = p.to_mermaid();
    // source -> balance, balance -> map (channel, then fused map), map ->
    // merge, balance -> merge, merge -> collect.
    assert!(chart.contains("s0 --> s1\n"), "{chart}");
    assert!(chart.contains("s1 --> s2\n"), "{chart}");
    assert_eq!(chart.matches("-.->").count(), 0, "{chart}");
    assert_eq!(sink.await.unwrap().len(), 10);
}

#[tokio::test(flavor = "current_thread")]
async fn quotes_in_names_do_not_break_the_export() {
    let p = Pipeline::new(&Context::background());
    let sink = p.source(0..1u8).named("say \"hi\"").collect::<Vec<_>>();
    assert!(p.to_mermaid().contains("say 'hi'"), "{}", p.to_mermaid());
    assert!(p.to_dot().contains("say 'hi'"), "{}", p.to_dot());
    sink.await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn run_handle_metrics_are_live() {
    let p = Pipeline::new(&Context::background());
    let run = p.source(0u64..).named("gen").for_each(drop).run();
    for _ in 0..1_000_000 {
        if run.metrics().stages[0].items_out > 0 {
            break;
        }
        tokio::task::yield_now().await;
    }
    let live = run.metrics();
    assert!(live.stages[0].items_out > 0);
    assert!(live.stages[1].running, "{live:?}");
    assert!(run.to_mermaid().contains("gen<br/>source"));
    assert!(run.to_dot().contains("gen\\nsource"));
    run.cancel();
    assert!(run.join().await.is_err());
    let after = p.metrics();
    assert!(after.stages.iter().all(|s| !s.running), "{after:?}");
    assert!(after.stages[0].items_out >= live.stages[0].items_out);
}

/// The metrics of a real run, with every timing zeroed, to set by hand.
async fn zeroed() -> Metrics {
    let mut m = ran().await.metrics();
    for s in &mut m.stages {
        s.busy = Duration::ZERO;
        s.send_wait = Duration::ZERO;
        s.recv_wait = Duration::ZERO;
    }
    m
}

fn set(m: &mut Metrics, name: &str, f: impl FnOnce(&mut StageMetrics)) {
    f(m.stages.iter_mut().find(|s| s.name == name).unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bottleneck_is_the_stage_its_upstream_waited_on() {
    let mut m = zeroed().await;
    // `evens` (the end of the first fused task) waited to send into the
    // pool's channel: the pool could not keep up, whatever else was busy.
    set(&mut m, "evens", |s| s.send_wait = Duration::from_millis(50));
    set(&mut m, "fours", |s| s.send_wait = Duration::from_millis(1));
    set(&mut m, "inc", |s| s.busy = Duration::from_secs(1));
    assert_eq!(m.bottleneck().unwrap().name, "pool");
    set(&mut m, "fours", |s| s.send_wait = Duration::from_millis(90));
    assert_eq!(m.bottleneck().unwrap().name, "collect#5");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_wait_to_send_the_bottleneck_is_the_busiest_stage() {
    let mut m = zeroed().await;
    set(&mut m, "inc", |s| s.busy = Duration::from_millis(3));
    set(&mut m, "pool", |s| s.busy = Duration::from_millis(9));
    set(&mut m, "fours", |s| s.busy = Duration::from_millis(1));
    let b = m.bottleneck().unwrap();
    assert_eq!((b.name.as_str(), b.kind), ("pool", "worker_pool"));
    let table = m.to_string();
    assert!(table.starts_with("stage"), "{table}");
    assert!(table.ends_with("bottleneck: pool (worker_pool)"), "{table}");
    assert_eq!(table.lines().count(), 1 + m.stages.len() + 1, "{table}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_run_has_a_bottleneck() {
    let m = ran().await.metrics();
    assert!(m.bottleneck().is_some(), "{m}");
}

#[test]
fn an_empty_pipeline_has_no_bottleneck() {
    assert!(Metrics::default().bottleneck().is_none());
    assert_eq!(Metrics::default().to_string().lines().count(), 1);
}

#[test]
fn diagnosis_display() {
    let none = Diagnosis::of(&Metrics::default());
    assert_eq!(none.to_string(), "no stage is running");

    let mut d = none.clone();
    d.running = vec!["spin".into(), "pool".into()];
    d.edges = vec![
        EdgeState::new("gen", "spin", 4, Some(4)),
        EdgeState::new("spin", "pool", 0, Some(4)),
        EdgeState::new("pool", "sink", 2, Some(4)),
        EdgeState::new("side", "sink", 3, None),
        EdgeState::new("idle", "sink", 0, None),
    ];
    assert_eq!(
        d.to_string(),
        "still running: spin, pool; \
         gen -> spin: full (4/4); \
         spin -> pool: empty (0/4); \
         pool -> sink: partly full (2/4); \
         side -> sink: partly full (3); \
         idle -> sink: empty (0)"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_finished_runs_graph_shows_each_channels_peak_and_explains_its_labels() {
    let p = Pipeline::with_capacity(&Context::background(), 7);
    p.source(0..1_000u64)
        .named("gen")
        .worker_pool(2, |n| async move { Ok::<_, std::io::Error>(n) })
        .named("pool")
        .for_each(drop)
        .await
        .unwrap();
    let m = p.metrics();
    let peaks: Vec<_> = m
        .edges
        .iter()
        .map(|e| (e.from.as_str(), e.len, e.peak))
        .collect();
    assert_eq!(peaks.len(), 2, "{m:?}");
    for (from, len, peak) in peaks {
        assert_eq!(len, Some(0), "{from}: drained");
        let peak = peak.unwrap();
        assert!((1..=7).contains(&peak), "{from}: peak {peak} of 7");
    }
    let chart = p.to_mermaid();
    assert!(
        chart.contains("%% solid edge `now/capacity peak P`"),
        "{chart}"
    );
    assert!(!chart.contains("peak 0"), "{chart}");
    let dot = p.to_dot();
    assert!(dot.contains("// dashed edge `fused`"), "{dot}");
    assert!(dot.contains("[label=\"0/7 peak "), "{dot}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diagnosis_of_a_finished_run_lists_its_channels_only() {
    let m = ran().await.metrics();
    let d = Diagnosis::of(&m);
    assert!(d.running.is_empty());
    let edges: Vec<(&str, &str)> = d
        .edges
        .iter()
        .map(|e| (e.from.as_str(), e.to.as_str()))
        .collect();
    assert_eq!(edges, [("evens", "pool"), ("pool", "fours")]);
    assert_eq!(
        d.to_string(),
        "no stage is running; evens -> pool: empty (0/7); pool -> fours: empty (0/7)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_pool_reports_items_in_and_out_and_stops_running() {
    let p = Pipeline::new(&Context::background());
    let n = p
        .source(0..1000u64)
        .map(|x| x + 1)
        .named("prepare")
        .worker_pool(3, |x| async move { Ok::<_, std::io::Error>(x * 2) })
        .named("pool")
        .fold(0u64, |n, _| n + 1)
        .await
        .unwrap();
    assert_eq!(n, 1000);
    let m = p.metrics();
    let pool = stage(&m, "pool");
    assert_eq!((pool.items_in, pool.items_out), (1000, 1000));
    assert!(!pool.running, "every worker ended");
}
