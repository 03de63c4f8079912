//! Invariants of the metrics over random graphs (issue 19): linear chains,
//! splits of every kind, merges, fan-outs, worker pools, fused and unfused
//! stages, sinks of every kind and `into_stream`. After a run:
//!
//! * every edge: `sent = received + queued`, with `received` counted by
//!   the edge's channel; every channel edge's peak (measured by the
//!   channel at each send) is between what is queued now and its
//!   capacity, and at least 1 once anything was sent;
//! * busy time is counted once: summed over every stage, it is at most the
//!   run's wall time (the runtime has one thread, so nothing overlaps);
//! * every stage with inputs: `items_in` is the sum of what its incoming
//!   edges delivered (`received`); every stage with outputs: `items_out`
//!   is the sum of what its outgoing edges were sent;
//! * the Mermaid and DOT exports show exactly `metrics()`'s counts.
//!
//! 64 graphs by default; 10,000 with `WEIR_LONG_TESTS=1` (as `.ci/run`
//! sets it). Graphs and inputs are small so the long run takes minutes.

use std::future::IntoFuture;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use proptest::prelude::*;
use weir::cancel::Context;
use weir::chan;
use weir::pipeline::{EdgeMetrics, Flow, Metrics, Pipeline};
use weir::testing::block_on_paused;

#[derive(Debug, Clone)]
enum Step {
    Map,
    Filter(u32),
    Inspect,
    MapUnordered(usize),
    Then,
    MapConcurrent(usize),
    WorkerPool(usize),
    FlatMap,
    BatchUnbatch(usize),
    FanOut(usize),
}

#[derive(Debug, Clone, Copy)]
enum SinkKind {
    Collect,
    Count,
    Fold,
    ForEach,
    ForEachAsync,
    ForEachConcurrent(usize),
    TryForEach,
    Forward,
    ForwardSink,
    IntoStream,
}

#[derive(Debug, Clone, Copy)]
enum Split {
    Broadcast,
    Balance,
    RoundRobin,
    Route,
    Partition,
}

#[derive(Debug, Clone)]
enum End {
    Sink(SinkKind),
    /// Each branch goes on its own way.
    Split(Split, Vec<Plan>),
    /// The branches, after a step each, are merged and go on.
    SplitMerge(Split, Vec<Step>, Box<Plan>),
}

#[derive(Debug, Clone)]
struct Plan {
    steps: Vec<Step>,
    end: End,
}

#[derive(Debug, Clone, Copy)]
enum Source {
    Iter(u32),
    Receiver(u32, usize),
    Stream(u32),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        Just(Step::Map),
        (2..4u32).prop_map(Step::Filter),
        Just(Step::Inspect),
        (1..4usize).prop_map(Step::MapUnordered),
        Just(Step::Then),
        (1..4usize).prop_map(Step::MapConcurrent),
        (1..4usize).prop_map(Step::WorkerPool),
        Just(Step::FlatMap),
        (1..5usize).prop_map(Step::BatchUnbatch),
        (1..4usize).prop_map(Step::FanOut),
    ]
}

fn sink() -> impl Strategy<Value = SinkKind> {
    prop_oneof![
        Just(SinkKind::Collect),
        Just(SinkKind::Count),
        Just(SinkKind::Fold),
        Just(SinkKind::ForEach),
        Just(SinkKind::ForEachAsync),
        (1..4usize).prop_map(SinkKind::ForEachConcurrent),
        Just(SinkKind::TryForEach),
        Just(SinkKind::Forward),
        Just(SinkKind::ForwardSink),
        Just(SinkKind::IntoStream),
    ]
}

fn split() -> impl Strategy<Value = Split> {
    prop_oneof![
        Just(Split::Broadcast),
        Just(Split::Balance),
        Just(Split::RoundRobin),
        Just(Split::Route),
        Just(Split::Partition),
    ]
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(step(), 0..3)
}

fn plan() -> impl Strategy<Value = Plan> {
    let leaf = (steps(), sink()).prop_map(|(steps, s)| Plan {
        steps,
        end: End::Sink(s),
    });
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            (steps(), split(), prop::collection::vec(inner.clone(), 1..4)).prop_map(
                |(steps, s, branches)| Plan {
                    steps,
                    end: End::Split(s, branches),
                }
            ),
            (steps(), split(), prop::collection::vec(step(), 1..4), inner).prop_map(
                |(steps, s, each, then)| Plan {
                    steps,
                    end: End::SplitMerge(s, each, Box::new(then)),
                }
            ),
        ]
    })
}

fn source() -> impl Strategy<Value = Source> {
    prop_oneof![
        (0..60u32).prop_map(Source::Iter),
        (0..60u32, 1..8usize).prop_map(|(n, cap)| Source::Receiver(n, cap)),
        (0..60u32).prop_map(Source::Stream),
    ]
}

type Io = std::io::Error;

fn add(flow: Flow<u32>, step: &Step) -> Flow<u32> {
    match *step {
        Step::Map => flow.map(|n| n.wrapping_mul(3)),
        Step::Filter(m) => flow.filter(move |n| n % m != 0),
        Step::Inspect => flow.inspect(|_| {}),
        Step::MapUnordered(k) => flow.map_unordered(k, |n| async move { n + 1 }),
        Step::Then => flow.then(|n| async move { n ^ 1 }),
        Step::MapConcurrent(k) => flow.map_concurrent(k, |n| async move { n / 2 }),
        Step::WorkerPool(k) => flow.worker_pool(k, |n| async move { Ok::<_, Io>(n + 2) }),
        Step::FlatMap => flow.flat_map(|n| vec![n; (n % 3) as usize]),
        Step::BatchUnbatch(size) => flow.batch(size, Duration::from_millis(5)).unbatch(),
        // Each branch runs a fused step (a branch that is only the shared
        // channel is not an edge of its own).
        Step::FanOut(k) => flow.fan_out(k, |b| b.map(|n| n + 3)),
    }
}

fn split_n(flow: Flow<u32>, s: Split, n: usize) -> Vec<Flow<u32>> {
    match s {
        Split::Broadcast => flow.broadcast_n(n),
        Split::Balance => flow.balance_n(n),
        Split::RoundRobin => flow.round_robin_n(n),
        Split::Route => flow.route_n(n, move |x| *x as usize % n),
        Split::Partition => flow.partition_n(n, |x| *x),
    }
}

type Ending = BoxFuture<'static, Result<(), weir::Error>>;

fn end_in(flow: Flow<u32>, kind: SinkKind, ends: &mut Vec<Ending>) {
    let done: Ending = match kind {
        SinkKind::Collect => flow
            .collect::<Vec<_>>()
            .into_future()
            .map(|r| r.map(drop))
            .boxed(),
        SinkKind::Count => flow.count().into_future().map(|r| r.map(drop)).boxed(),
        SinkKind::Fold => flow
            .fold(0u64, |a, n| a + u64::from(n))
            .into_future()
            .map(|r| r.map(drop))
            .boxed(),
        SinkKind::ForEach => flow.for_each(drop).into_future().boxed(),
        SinkKind::ForEachAsync => flow.for_each_async(|_| async {}).into_future().boxed(),
        SinkKind::ForEachConcurrent(k) => flow
            .for_each_concurrent(k, |_| async {})
            .into_future()
            .boxed(),
        SinkKind::TryForEach => flow.try_for_each(|_| Ok::<_, Io>(())).into_future().boxed(),
        SinkKind::Forward => {
            let (tx, rx) = chan::bounded(4);
            tokio::spawn(async move { while rx.recv().await.is_some() {} });
            flow.forward(tx).into_future().boxed()
        }
        SinkKind::ForwardSink => flow
            .forward_sink(futures::sink::drain())
            .into_future()
            .boxed(),
        SinkKind::IntoStream => {
            let stream = flow.into_stream();
            async move {
                let items: Vec<_> = stream.collect().await;
                items.into_iter().try_for_each(|r| r.map(drop))
            }
            .boxed()
        }
    };
    ends.push(done);
}

fn build(mut flow: Flow<u32>, plan: &Plan, ends: &mut Vec<Ending>) {
    for s in &plan.steps {
        flow = add(flow, s);
    }
    match &plan.end {
        End::Sink(kind) => end_in(flow, *kind, ends),
        End::Split(s, branches) => {
            for (b, p) in split_n(flow, *s, branches.len()).into_iter().zip(branches) {
                build(b, p, ends);
            }
        }
        End::SplitMerge(s, each, then) => {
            let mut branches: Vec<Flow<u32>> = split_n(flow, *s, each.len())
                .into_iter()
                .zip(each)
                .map(|(b, step)| add(b, step))
                .collect();
            let first = branches.remove(0);
            build(first.merge(branches), then, ends);
        }
    }
}

fn started(p: &Pipeline, source: Source) -> Flow<u32> {
    match source {
        Source::Iter(n) => p.source(0..n),
        Source::Receiver(n, cap) => {
            let (tx, rx) = chan::bounded(cap);
            tokio::spawn(async move { tx.send_all((0..n).collect()).await });
            p.from_receiver(rx)
        }
        Source::Stream(n) => p.from_stream(futures::stream::iter(0..n)),
    }
}

/// The label an edge should have in both graph exports.
fn label(e: &EdgeMetrics) -> Option<String> {
    let fill = e.len.map(|len| {
        let cap = e
            .capacity
            .map_or_else(|| "inf".to_string(), |c| c.to_string());
        format!("{len}/{cap} peak {}", e.peak.expect("a queue has a peak"))
    });
    let parts: Vec<String> = [e.branch.clone(), fill].into_iter().flatten().collect();
    (!parts.is_empty()).then(|| parts.join(" · "))
}

fn check(m: &Metrics, mermaid: &str, dot: &str, wall: Duration) -> Result<(), TestCaseError> {
    for e in &m.edges {
        prop_assert_eq!(
            e.sent,
            e.received + e.len.unwrap_or(0) as u64,
            "edge {:?}",
            e
        );
        if let (Some(len), Some(peak)) = (e.len, e.peak) {
            prop_assert!(len <= peak, "edge {:?}", e);
            prop_assert!(peak <= e.capacity.unwrap_or(usize::MAX), "edge {:?}", e);
            prop_assert!(e.sent == 0 || peak >= 1, "edge {:?}", e);
        }
    }
    let busy: Duration = m.stages.iter().map(|s| s.busy).sum();
    prop_assert!(busy <= wall, "busy {:?} > wall {:?}: {}", busy, wall, m);
    let index = |id| m.stages.iter().position(|s| s.id == id).unwrap();
    for (i, s) in m.stages.iter().enumerate() {
        let ins: Vec<&EdgeMetrics> = m.edges.iter().filter(|e| e.to_id == s.id).collect();
        let outs: Vec<&EdgeMetrics> = m.edges.iter().filter(|e| e.from_id == s.id).collect();
        if !ins.is_empty() {
            let received: u64 = ins.iter().map(|e| e.received).sum();
            prop_assert_eq!(s.items_in, received, "stage {} in {:#?}", s.name, m);
        }
        if !outs.is_empty() {
            let sent: u64 = outs.iter().map(|e| e.sent).sum();
            prop_assert_eq!(s.items_out, sent, "stage {} in {:#?}", s.name, m);
        }
        let node = format!(
            "s{i}[\"{}<br/>{}: in {} / out {}",
            s.name, s.kind, s.items_in, s.items_out
        );
        prop_assert!(mermaid.contains(&node), "{} not in {}", node, mermaid);
        let node = format!(
            "s{i} [label=\"{}\\n{}: in {} / out {}",
            s.name, s.kind, s.items_in, s.items_out
        );
        prop_assert!(dot.contains(&node), "{} not in {}", node, dot);
    }
    for e in &m.edges {
        let (f, t) = (index(e.from_id), index(e.to_id));
        if e.len.is_none() && e.branch.is_none() {
            continue; // no label: fused, or into a shared fan-in channel
        }
        let l = label(e).unwrap();
        let line = format!("s{f} -->|\"{l}\"| s{t}");
        prop_assert!(mermaid.contains(&line), "{} not in {}", line, mermaid);
        let line = format!("s{f} -> s{t} [label=\"{l}\"];");
        prop_assert!(dot.contains(&line), "{} not in {}", line, dot);
    }
    Ok(())
}

fn cases() -> u32 {
    let long = std::env::var_os("WEIR_LONG_TESTS").is_some_and(|v| v != "0");
    if long {
        10_000
    } else {
        64
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn every_edge_and_stage_adds_up_after_a_run(
        source in source(),
        plan in plan(),
        capacity in 1..6usize,
    ) {
        let t0 = Instant::now();
        block_on_paused(async move {
            let p = Pipeline::with_capacity(&Context::background(), capacity);
            let mut ends = Vec::new();
            build(started(&p, source), &plan, &mut ends);
            for outcome in futures::future::join_all(ends).await {
                prop_assert!(outcome.is_ok(), "{:?}", outcome);
            }
            let m = p.metrics();
            check(&m, &p.to_mermaid(), &p.to_dot(), t0.elapsed())
        })?;
    }
}
