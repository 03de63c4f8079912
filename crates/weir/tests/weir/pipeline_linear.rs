//! Linear pipelines of fused stages: results, order, names.
//!
//! Inputs are longer than one batch (512 items) so that order and counts
//! are checked across batch boundaries too.

use std::sync::{Arc, Mutex};

use weir::cancel::Context;
use weir::chan;
use weir::pipeline::{Flow, Pipeline};

const N: u64 = 2_000;

fn pipeline() -> Pipeline {
    Pipeline::new(&Context::background())
}

#[tokio::test(flavor = "current_thread")]
async fn map_keeps_order() {
    let v = pipeline()
        .source(0..N)
        .map(|n| n * 3)
        .collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(v, (0..N).map(|n| n * 3).collect::<Vec<_>>());
}

#[tokio::test(flavor = "current_thread")]
async fn map_can_change_the_item_type() {
    let v = pipeline()
        .source(0..5u8)
        .map(|n| n.to_string())
        .map(|s| s.len() + 1)
        .collect::<Vec<usize>>()
        .await
        .unwrap();
    assert_eq!(v, [2, 2, 2, 2, 2]);
}

#[tokio::test(flavor = "current_thread")]
async fn filter_keeps_matching_items_in_order() {
    let v = pipeline()
        .source(0..N)
        .filter(|n| n % 7 == 3)
        .collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(v, (0..N).filter(|n| n % 7 == 3).collect::<Vec<_>>());
}

#[tokio::test(flavor = "current_thread")]
async fn filter_that_drops_every_batch_still_ends() {
    // Many whole batches filtered out: the fused task keeps pulling and
    // still sees the end of the source.
    let v = pipeline()
        .source(0..50 * 512u64)
        .filter(|_| false)
        .collect::<Vec<_>>()
        .await
        .unwrap();
    assert!(v.is_empty());
}

#[tokio::test(flavor = "current_thread")]
async fn filter_map_keeps_the_somes_in_order() {
    let words: Vec<String> = (0..N)
        .map(|n| {
            if n % 3 == 0 {
                format!("x{n}")
            } else {
                n.to_string()
            }
        })
        .collect();
    let expected: Vec<u64> = (0..N).filter(|n| n % 3 != 0).collect();
    let v = pipeline()
        .source(words)
        .filter_map(|s| s.parse::<u64>().ok())
        .collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(v, expected);
}

#[tokio::test(flavor = "current_thread")]
async fn inspect_sees_every_item_in_order_and_passes_it_on() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let v = pipeline()
        .source(0..N)
        .inspect(move |n| log.lock().unwrap().push(*n))
        .collect::<Vec<_>>()
        .await
        .unwrap();
    let expected: Vec<u64> = (0..N).collect();
    assert_eq!(v, expected);
    assert_eq!(*seen.lock().unwrap(), expected);
}

#[tokio::test(flavor = "current_thread")]
async fn square_is_the_seeds_square() {
    let v = pipeline()
        .source(1..=N)
        .square()
        .collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(v, (1..=N).map(|n| n * n).collect::<Vec<_>>());
}

#[tokio::test(flavor = "current_thread")]
async fn try_map_passes_oks_in_order() {
    let v = pipeline()
        .source((0..N).map(|n| n.to_string()))
        .try_map(|s| s.parse::<u64>())
        .collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(v, (0..N).collect::<Vec<_>>());
}

#[tokio::test(flavor = "current_thread")]
async fn a_chain_of_every_fused_stage_matches_the_plain_loop() {
    let seen = Arc::new(Mutex::new(0usize));
    let count = seen.clone();
    let v = pipeline()
        .source(0..N)
        .map(|n| n + 1)
        .filter(|n| n % 2 == 0)
        .square()
        .inspect(move |_| *count.lock().unwrap() += 1)
        .filter_map(|n| (n % 3 != 0).then_some(n / 2))
        .try_map(u32::try_from)
        .map(u64::from)
        .collect::<Vec<_>>()
        .await
        .unwrap();
    let expected: Vec<u64> = (0..N)
        .map(|n| n + 1)
        .filter(|n| n % 2 == 0)
        .map(|n| n * n)
        .filter_map(|n| (n % 3 != 0).then_some(n / 2))
        .collect();
    assert_eq!(v, expected);
    assert_eq!(*seen.lock().unwrap(), (N / 2) as usize);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_keeps_order_on_a_multi_thread_runtime() {
    let v = pipeline()
        .source(0..10 * N)
        .map(|n| n ^ 0x55)
        .filter(|n| n % 5 != 0)
        .square()
        .collect::<Vec<_>>()
        .await
        .unwrap();
    let expected: Vec<u64> = (0..10 * N)
        .map(|n| n ^ 0x55)
        .filter(|n| n % 5 != 0)
        .map(|n| n * n)
        .collect();
    assert_eq!(v, expected);
}

#[tokio::test(flavor = "current_thread")]
async fn sinks_fold_collect_and_for_each() {
    let sum = pipeline().source(1..=N).fold(0, |a, n| a + n).await;
    assert_eq!(sum.unwrap(), N * (N + 1) / 2);

    let s = pipeline()
        .source("weir".chars())
        .map(|c| c.to_ascii_uppercase())
        .collect::<String>()
        .await;
    assert_eq!(s.unwrap(), "WEIR");

    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    pipeline()
        .source(0..N)
        .for_each(move |n| log.lock().unwrap().push(n))
        .await
        .unwrap();
    assert_eq!(*seen.lock().unwrap(), (0..N).collect::<Vec<_>>());
}

#[tokio::test(flavor = "current_thread")]
async fn an_empty_source_gives_the_empty_result() {
    let v = pipeline()
        .source(Vec::<u64>::new())
        .map(|n| n + 1)
        .collect::<Vec<_>>()
        .await
        .unwrap();
    assert!(v.is_empty());
    let acc = pipeline()
        .source(0..0u64)
        .square()
        .fold(42, |a, n| a + n)
        .await;
    assert_eq!(acc.unwrap(), 42);
}

#[tokio::test(flavor = "current_thread")]
async fn a_source_with_no_stage_goes_straight_to_the_sink() {
    let v = pipeline().source(0..N).collect::<Vec<_>>().await.unwrap();
    assert_eq!(v, (0..N).collect::<Vec<_>>());
}

#[tokio::test(flavor = "current_thread")]
async fn from_receiver_reads_a_channel_in_order() {
    let (tx, rx) = chan::bounded(3);
    let producer = tokio::spawn(async move {
        for n in 0..N {
            tx.send(n).await.unwrap();
        }
    });
    let v = pipeline()
        .from_receiver(rx)
        .map(|n| n * 2)
        .collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(v, (0..N).map(|n| n * 2).collect::<Vec<_>>());
    producer.await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn flows_compose_through_functions() {
    fn evens(flow: Flow<u64>) -> Flow<u64> {
        flow.filter(|n| n % 2 == 0).named("evens")
    }
    fn halve(flow: Flow<u64>) -> Flow<u64> {
        flow.map(|n| n / 2).named("halve")
    }
    let p = pipeline();
    let v = halve(evens(p.source(0..N)))
        .collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(v, (0..N / 2).collect::<Vec<_>>());
}

#[tokio::test(flavor = "current_thread")]
async fn stages_have_default_names_by_kind_and_position() {
    let p = pipeline();
    p.source(0..3u64)
        .map(|n| n)
        .filter(|_| true)
        .filter_map(Some)
        .inspect(|_| {})
        .square()
        .try_map(Ok::<_, std::io::Error>)
        .collect::<Vec<_>>()
        .await
        .unwrap();
    let names: Vec<(String, &str)> = p
        .metrics()
        .stages
        .into_iter()
        .map(|s| (s.name, s.kind))
        .collect();
    let expected = [
        ("source#0", "source"),
        ("map#1", "map"),
        ("filter#2", "filter"),
        ("filter_map#3", "filter_map"),
        ("inspect#4", "inspect"),
        ("square#5", "square"),
        ("try_map#6", "try_map"),
        ("collect#7", "collect"),
    ];
    let expected: Vec<(String, &str)> = expected.iter().map(|(n, k)| (n.to_string(), *k)).collect();
    assert_eq!(names, expected);
}

#[tokio::test(flavor = "current_thread")]
async fn named_renames_the_last_stage_added() {
    let p = pipeline();
    let v = p
        .source(0..10u64)
        .named("numbers")
        .map(|n| n + 1)
        .named("inc")
        .filter(|n| n % 2 == 0)
        .collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(v, [2, 4, 6, 8, 10]);
    let m = p.metrics();
    let names: Vec<&str> = m.stages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["numbers", "inc", "filter#2", "collect#3"]);
    // The latest name wins.
    let p = pipeline();
    p.source(0..1u8)
        .named("first")
        .named("second")
        .for_each(drop)
        .await
        .unwrap();
    assert_eq!(p.metrics().stages[0].name, "second");
}

#[tokio::test(flavor = "current_thread")]
async fn named_shows_in_the_graph_export() {
    let p = pipeline();
    let sink = p
        .source(0..3u64)
        .named("gen")
        .square()
        .named("sq")
        .collect::<Vec<_>>();
    assert!(p.to_mermaid().contains("gen<br/>source"));
    assert!(p.to_mermaid().contains("sq<br/>square"));
    assert!(p.to_dot().contains("sq\\nsquare"));
    assert_eq!(sink.await.unwrap(), [0, 1, 4]);
}

#[tokio::test(flavor = "current_thread")]
async fn nothing_runs_until_the_sink_is_awaited() {
    let seen = Arc::new(Mutex::new(0usize));
    let count = seen.clone();
    let sink = pipeline()
        .source(0..10u64)
        .inspect(move |_| *count.lock().unwrap() += 1)
        .collect::<Vec<_>>();
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert_eq!(*seen.lock().unwrap(), 0);
    assert_eq!(sink.await.unwrap().len(), 10);
    assert_eq!(*seen.lock().unwrap(), 10);
}

#[tokio::test(flavor = "current_thread")]
async fn run_then_join_gives_the_same_result() {
    let run = pipeline()
        .source(0..N)
        .map(|n| n + 1)
        .fold(0, |a, n| a + n)
        .run();
    assert_eq!(run.join().await.unwrap(), N * (N + 1) / 2);
}
