//! One record per stage and per edge (issue 19): what the metrics, the
//! graph exports, the diagnosis and the errors say after real runs, in
//! the shapes where they used to be wrong. Each test here failed on the
//! code before the fix (see the commit messages).

use std::future::IntoFuture;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::Semaphore;
use weir::cancel::Context;
use weir::chan;
use weir::pipeline::{Diagnosis, EdgeMetrics, Metrics, Pipeline, StageMetrics};
use weir::testing::settle;

fn stage<'m>(m: &'m Metrics, name: &str) -> &'m StageMetrics {
    m.stages
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no stage `{name}` in {m:#?}"))
}

fn edge<'m>(m: &'m Metrics, from: &str, to: &str) -> &'m EdgeMetrics {
    m.edges
        .iter()
        .find(|e| e.from == from && e.to == to)
        .unwrap_or_else(|| panic!("no edge {from} -> {to} in {m:#?}"))
}

/// (a) A stage with tasks of its own feeding another such stage counts
/// what it sent (it read 0 when the next stage read its channel directly).
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn stages_with_tasks_in_a_row_count_what_they_send() {
    let p = Pipeline::with_capacity(&Context::background(), 8);
    let batches = p
        .source(0..500u64)
        .named("gen")
        .map_unordered(4, |n| async move { n })
        .named("fetch")
        .batch(10, Duration::from_secs(1))
        .named("batch")
        .worker_pool(2, |b: Vec<u64>| async move { Ok::<_, std::io::Error>(b) })
        .named("pool")
        .count()
        .named("sink")
        .await
        .unwrap();
    let m = p.metrics();
    let counts = |name| {
        let s = stage(&m, name);
        (s.items_in, s.items_out)
    };
    assert_eq!(counts("gen"), (0, 500));
    assert_eq!(counts("fetch"), (500, 500));
    assert_eq!(counts("batch"), (500, batches));
    assert_eq!(counts("pool"), (batches, batches));
    assert_eq!(counts("sink"), (batches, 0));
    assert!(batches >= 50, "{batches} batches of at most 10");
}

/// A broadcast with its slow branch at `slow_at` (0 or 1) and a fast one,
/// run until the slow branch holds everything up: the metrics then.
async fn one_slow_branch(slow_at: usize) -> (Metrics, String, String) {
    let p = Pipeline::with_capacity(&Context::background(), 4);
    let gate = Arc::new(Semaphore::new(0));
    let branches = p.source(0..100u64).named("gen").broadcast_n(2);
    let mut sinks = Vec::new();
    for (i, branch) in branches.into_iter().enumerate() {
        let sink = if i == slow_at {
            let gate = gate.clone();
            branch
                .for_each_async(move |_| {
                    let gate = gate.clone();
                    async move { gate.acquire().await.unwrap().forget() }
                })
                .named("slow")
        } else {
            branch.for_each(drop).named("fast")
        };
        sinks.push(sink);
    }
    let fast = sinks.remove(1 - slow_at);
    let slow = sinks.remove(0).run();
    let fast = tokio::spawn(fast.into_future());
    settle(200).await;
    let shown = (p.metrics(), p.to_mermaid(), p.to_dot());
    gate.add_permits(1_000);
    slow.join().await.unwrap();
    fast.await.unwrap().unwrap();
    shown
}

/// (b) Each output edge of a split shows its own channel: the slow
/// branch's is full, the fast one's empty, whichever order they are in.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn each_branch_of_a_split_shows_its_own_queue() {
    for slow_at in [0, 1] {
        let (m, mermaid, dot) = one_slow_branch(slow_at).await;
        let split = m
            .stages
            .iter()
            .find(|s| s.kind == "broadcast")
            .unwrap()
            .name
            .clone();
        let (to_slow, to_fast) = (edge(&m, &split, "slow"), edge(&m, &split, "fast"));
        assert_eq!(to_slow.len, Some(4), "slow at {slow_at}: {m:#?}");
        assert_eq!(to_fast.len, Some(0), "slow at {slow_at}: {m:#?}");
        assert_eq!(to_slow.peak, Some(4), "slow at {slow_at}: {m:#?}");
        let d = Diagnosis::of(&m);
        let state = |to: &str| {
            d.edges
                .iter()
                .find(|e| e.from == split && e.to == to)
                .map(|e| e.queued)
        };
        assert_eq!((state("slow"), state("fast")), (Some(4), Some(0)), "{d}");
        assert!(
            d.to_string().contains(&format!("{split} -> slow: full")),
            "{d}"
        );
        assert!(
            d.to_string().contains(&format!("{split} -> fast: empty")),
            "{d}"
        );
        // The graph exports label each branch with its own fill.
        let lines = |text: &str, to_id: usize| -> Vec<String> {
            text.lines()
                .filter(|l| l.contains(&format!("s{to_id}")) && l.contains("->"))
                .map(str::to_string)
                .collect()
        };
        let id = |name: &str| m.stages.iter().position(|s| s.name == name).unwrap();
        let slow_edges = lines(&mermaid, id("slow")).join("\n");
        assert!(slow_edges.contains("4/4"), "{mermaid}");
        let fast_edges = lines(&mermaid, id("fast")).join("\n");
        assert!(fast_edges.contains("0/4"), "{mermaid}");
        assert!(lines(&dot, id("slow")).join("\n").contains("4/4"), "{dot}");
        assert!(lines(&dot, id("fast")).join("\n").contains("0/4"), "{dot}");
    }
}

/// (c) `into_stream` is a stage of its own kind, counts what went through
/// it, and can be named.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn into_stream_is_counted_and_named() {
    let p = Pipeline::new(&Context::background());
    let stream = p.source(0..10u32).map(|n| n * 2).into_stream().named("out");
    let got: Vec<u32> = stream.map(Result::unwrap).collect().await;
    assert_eq!(got.len(), 10);
    let m = p.metrics();
    let out = stage(&m, "out");
    assert_eq!(
        (out.kind, out.items_in, out.items_out),
        ("into_stream", 10, 10)
    );
}

/// (c) Naming a branch names the branch (its edge), not the split.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn naming_a_branch_leaves_the_split_alone() {
    let p = Pipeline::new(&Context::background());
    let [a, b] = p.source(0..10u32).named("gen").broadcast();
    let a = a.named("left").count().named("a");
    let b = b.named("right").count().named("b");
    let split = p.metrics().stages[1].name.clone();
    assert_eq!(split, "broadcast#1");
    assert_eq!(a.await.unwrap(), 10);
    assert_eq!(b.await.unwrap(), 10);
    let m = p.metrics();
    assert_eq!(m.stages[1].name, "broadcast#1", "{m:#?}");
    assert_eq!(edge(&m, "broadcast#1", "a").branch.as_deref(), Some("left"));
    assert_eq!(
        edge(&m, "broadcast#1", "b").branch.as_deref(),
        Some("right")
    );
    assert!(p.to_mermaid().contains("left"), "{}", p.to_mermaid());
    assert!(p.to_dot().contains("right"), "{}", p.to_dot());
}

/// (c) The edge out of a `from_receiver` source shows that channel's
/// capacity, not the pipeline's.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_receiver_edge_shows_its_channels_capacity() {
    let (tx, rx) = chan::bounded(1024);
    tokio::spawn(async move { tx.send_all((0..100u32).collect()).await });
    let p = Pipeline::new(&Context::background());
    let n = p
        .from_receiver(rx)
        .named("in")
        .worker_pool(2, |n| async move { Ok::<_, std::io::Error>(n) })
        .named("pool")
        .count()
        .await
        .unwrap();
    assert_eq!(n, 100);
    let m = p.metrics();
    assert_eq!(edge(&m, "in", "pool").capacity, Some(1024), "{m:#?}");
    assert_eq!(stage(&m, "in").items_out, 100);
    assert_eq!(stage(&m, "pool").items_in, 100);
}

/// (d) When a stage fails, every sink reports that failure, naming it.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn every_sink_reports_the_failure_naming_its_stage() {
    let p = Pipeline::new(&Context::background());
    let [a, b, c] = p
        .source(0..10usize)
        .route(|n| if *n == 5 { 7 } else { n % 3 });
    let p2 = p.clone();
    let (a, b, c) = (a.count(), b.collect::<Vec<_>>(), c.for_each(drop));
    let route = p2.metrics().stages[1].name.clone();
    let a = a.await.unwrap_err();
    let b = b.await.unwrap_err();
    let c = c.await.unwrap_err();
    for err in [&a, &b, &c] {
        assert_eq!(err.stage(), Some(route.as_str()), "{err}");
        assert!(err.cancelled().is_none(), "{err}");
        let cause = std::error::Error::source(err).expect("the failure's cause");
        assert!(cause.to_string().contains("branch 7"), "{cause}");
    }
}

/// (d) "not connected" names the stage whose output is open, also when a
/// branch is still open as `.run()` is called.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn not_connected_names_the_open_output() {
    let p = Pipeline::new(&Context::background());
    let [a, b] = p.source(0..10u32).balance();
    let run = a.map(|n| n + 1).named("used").collect::<Vec<_>>().run();
    let err = run.join().await.unwrap_err();
    assert!(err.config().is_some(), "{err}");
    assert!(err.to_string().starts_with("stage `balance#1`"), "{err}");
    assert!(err.to_string().contains("not connected"), "{err}");
    drop(b);

    // A flow still held (not dropped) when another sink starts the graph.
    let p = Pipeline::new(&Context::background());
    let open = p.source(0..3u32).map(|n| n).named("dangling");
    let err = p.source(0..3u32).count().await.unwrap_err();
    assert!(err.config().is_some(), "{err}");
    assert!(err.to_string().starts_with("stage `dangling`"), "{err}");
    drop(open);
}

/// (e) Awaiting one sink and reading `into_stream` afterwards does not
/// hang: the stream's stage fails, naming itself, once its buffer is full
/// and it was never read, and every sink says so.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn an_unread_stream_fails_instead_of_hanging() {
    let p = Pipeline::with_capacity(&Context::background(), 4);
    let [a, b] = p.source(0..1_000u64).broadcast();
    let total = a.count();
    let stream = b.into_stream().named("later");
    let outcome = tokio::time::timeout(Duration::from_secs(60), total).await;
    let err = outcome.expect("awaiting the other sink hung").unwrap_err();
    assert_eq!(err.stage(), Some("later"), "{err}");
    let rest: Vec<_> = stream.collect().await;
    let last = rest.last().expect("the stream ends with the error");
    assert_eq!(last.as_ref().unwrap_err().stage(), Some("later"));
}

/// (e) Read together, a stream and another sink both finish.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_stream_read_alongside_another_sink_finishes() {
    let p = Pipeline::with_capacity(&Context::background(), 4);
    let [a, b] = p.source(0..1_000u64).broadcast();
    let total = a.count();
    let stream = b.into_stream();
    let (total, items) = tokio::join!(total, stream.collect::<Vec<_>>());
    assert_eq!(total.unwrap(), 1_000);
    assert_eq!(items.len(), 1_000);
}
