//! Stages with tasks of their own: worker pools, fan-out/fan-in, splits and
//! merges, `map_concurrent`, and plugging in a `weir-stage` stage.

use std::collections::HashMap;

use weir::cancel::Context;
use weir::pipeline::Pipeline;
use weir::stage;

const N: u64 = 2_000;

fn pipeline() -> Pipeline {
    Pipeline::new(&Context::background())
}

fn sorted(mut v: Vec<u64>) -> Vec<u64> {
    v.sort_unstable();
    v
}

/// Yields `n` times: lets a future finish later than its neighbours,
/// without a clock.
async fn yield_times(n: u64) {
    for _ in 0..n {
        tokio::task::yield_now().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_pool_processes_every_job_once() {
    // Go's worker pool: every job is done by exactly one worker.
    let v = pipeline()
        .source(1..=N)
        .worker_pool(4, |n| async move { Ok::<_, std::io::Error>(n * n) })
        .collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(sorted(v), (1..=N).map(|n| n * n).collect::<Vec<_>>());
}

#[tokio::test(flavor = "current_thread")]
async fn worker_pool_on_rendezvous_channels() {
    let v = Pipeline::with_capacity(&Context::background(), 0)
        .source(0..300u64)
        .map(|n| n + 1)
        .worker_pool(3, |n| async move {
            yield_times(n % 4).await;
            Ok::<_, std::io::Error>(n)
        })
        .map(|n| n * 10)
        .collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(sorted(v), (1..=300).map(|n| n * 10).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_pools_back_to_back() {
    let v = pipeline()
        .source(0..N)
        .worker_pool(2, |n| async move { Ok::<_, std::io::Error>(n + 1) })
        .worker_pool(3, |n| async move { Ok::<_, std::io::Error>(n * 2) })
        .collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(sorted(v), (0..N).map(|n| (n + 1) * 2).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fan_out_runs_each_item_through_one_branch() {
    // Go's fanOut/fanIn: each item goes to exactly one branch.
    let v = pipeline()
        .source(0..N)
        .fan_out(3, |branch| {
            branch.map(|n| n + 1).filter(|n| n % 3 != 0).square()
        })
        .collect::<Vec<_>>()
        .await
        .unwrap();
    let expected: Vec<u64> = (0..N)
        .map(|n| n + 1)
        .filter(|n| n % 3 != 0)
        .map(|n| n * n)
        .collect();
    assert_eq!(sorted(v), sorted(expected));
}

#[tokio::test(flavor = "current_thread")]
async fn fan_out_of_one_branch_keeps_order() {
    let v = pipeline()
        .source(0..N)
        .fan_out(1, |branch| branch.map(|n| n * 2))
        .collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(v, (0..N).map(|n| n * 2).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fan_out_branches_may_have_tasks_of_their_own() {
    let v = pipeline()
        .source(0..N)
        .fan_out(2, |branch| {
            branch.worker_pool(2, |n| async move { Ok::<_, std::io::Error>(n + 7) })
        })
        .collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(sorted(v), (7..N + 7).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn balance_then_merge_branches_that_do_different_things() {
    let p = pipeline();
    let [a, b, c] = p.source(0..N).balance();
    let v = a
        .map(|n| (n, 'a'))
        .merge([b.map(|n| (n, 'b')), c.map(|n| (n, 'c'))])
        .collect::<Vec<_>>()
        .await
        .unwrap();
    let mut items: Vec<u64> = v.iter().map(|(n, _)| *n).collect();
    items.sort_unstable();
    assert_eq!(items, (0..N).collect::<Vec<_>>());
    // Each branch keeps the order it got its items in.
    for tag in ['a', 'b', 'c'] {
        let branch: Vec<u64> = v
            .iter()
            .filter(|(_, t)| *t == tag)
            .map(|(n, _)| *n)
            .collect();
        assert!(
            branch.windows(2).all(|w| w[0] < w[1]),
            "branch {tag} out of order"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partition_sends_equal_keys_to_one_branch_in_order() {
    let p = pipeline();
    let branches = p.source(0..N).partition_n(3, |n| n % 5);
    let sinks: Vec<_> = branches
        .into_iter()
        .map(|b| b.collect::<Vec<u64>>())
        .collect();
    let mut outs = Vec::new();
    for sink in sinks {
        outs.push(sink.await.unwrap());
    }
    assert_eq!(sorted(outs.concat()), (0..N).collect::<Vec<_>>());
    let mut owner: HashMap<u64, usize> = HashMap::new();
    for (i, out) in outs.iter().enumerate() {
        for n in out {
            let branch = *owner.entry(n % 5).or_insert(i);
            assert_eq!(branch, i, "key {} went to two branches", n % 5);
        }
        assert!(
            out.windows(2).all(|w| w[0] < w[1]),
            "branch {i} out of order"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcast_gives_every_branch_every_item_in_order() {
    let p = pipeline();
    let [a, b, c] = p.source(0..N).broadcast();
    let a = a.collect::<Vec<_>>();
    let b = b.map(|n| n * 2).collect::<Vec<_>>();
    let c = c.fold(0, |s, n| s + n);
    let a = a.await.unwrap();
    let (b, c) = (b.await.unwrap(), c.await.unwrap());
    assert_eq!(a, (0..N).collect::<Vec<_>>());
    assert_eq!(b, (0..N).map(|n| n * 2).collect::<Vec<_>>());
    assert_eq!(c, N * (N - 1) / 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcast_then_merge() {
    let p = pipeline();
    let [a, b] = p.source(0..N).broadcast();
    let v = a
        .map(|n| n * 2)
        .merge([b.map(|n| n * 2 + 1)])
        .collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(sorted(v), (0..2 * N).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_sinks_awaited_together() {
    // Each sink, awaited at the same time as the others, resolves with its
    // own result (the docs: "awaiting any one runs and joins the whole
    // pipeline; the others then resolve with their own results").
    let p = pipeline();
    let [a, b] = p.source(0..N).broadcast();
    let (a, b) = tokio::join!(a.fold(0, |s, n| s + n), b.collect::<Vec<_>>());
    assert_eq!(a.unwrap(), N * (N - 1) / 2);
    assert_eq!(b.unwrap(), (0..N).collect::<Vec<_>>());
}

#[tokio::test(flavor = "current_thread")]
async fn merge_of_sources_of_different_lengths() {
    // Go's fanIn: the output ends when every input has ended; each input
    // keeps its own order.
    let p = pipeline();
    let v = p
        .source(0..10u64)
        .merge([p.source(100..1100u64), p.source(Vec::new())])
        .collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(v.len(), 1010);
    let small: Vec<u64> = v.iter().copied().filter(|n| *n < 100).collect();
    let big: Vec<u64> = v.iter().copied().filter(|n| *n >= 100).collect();
    assert_eq!(small, (0..10).collect::<Vec<_>>());
    assert_eq!(big, (100..1100).collect::<Vec<_>>());
}

#[tokio::test(flavor = "current_thread")]
async fn merge_with_nothing_is_the_flow_itself() {
    let v = pipeline()
        .source(0..N)
        .merge([])
        .collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(v, (0..N).collect::<Vec<_>>());
}

#[tokio::test(flavor = "current_thread")]
async fn map_concurrent_keeps_input_order_when_futures_finish_out_of_order() {
    // Later items finish first: item n yields (9 - n % 10) times.
    let v = pipeline()
        .source(0..500u64)
        .map_concurrent(8, |n| async move {
            yield_times(9 - n % 10).await;
            n * 3
        })
        .collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(v, (0..500).map(|n| n * 3).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn map_concurrent_of_one_is_sequential() {
    let v = pipeline()
        .source(0..N)
        .map_concurrent(1, |n| async move { n + 1 })
        .filter(|n| n % 2 == 0)
        .collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(v, (1..=N).filter(|n| n % 2 == 0).collect::<Vec<_>>());
}

#[tokio::test(flavor = "current_thread")]
async fn through_stage_plugs_in_a_weir_stage_stage() {
    let p = pipeline();
    let v = p
        .source(0..N)
        .map(|n| n + 1)
        .through_stage("double", |scope, rx| Ok(stage::map(scope, rx, |n| n * 2)))
        .named("doubler")
        .square()
        .collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(v, (1..=N).map(|n| (n * 2) * (n * 2)).collect::<Vec<_>>());
    let m = p.metrics();
    let plugged = m.stages.iter().find(|s| s.name == "doubler").unwrap();
    assert_eq!(plugged.kind, "double");
}

#[tokio::test(flavor = "current_thread")]
async fn through_stage_can_change_the_item_type() {
    let v = pipeline()
        .source(1..=5u32)
        .through_stage("batch", |scope, rx| {
            stage::batch(scope, rx, 2, std::time::Duration::from_secs(60))
        })
        .map(|batch: Vec<u32>| batch.iter().sum::<u32>())
        .collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(v, [3, 7, 5]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graph_mixing_every_kind_of_stage() {
    // partition → (worker_pool | fan_out) → merge → map_concurrent: both
    // branches compute the same thing in different ways.
    let p = Pipeline::with_capacity(&Context::background(), 2);
    let [left, right]: [_; 2] = p
        .source(0..N)
        .map(|n| n + 1)
        .partition_n(2, |n| n % 3)
        .try_into()
        .unwrap();
    let left = left.worker_pool(3, |n| async move { Ok::<_, std::io::Error>(n * 2) });
    let right = right.fan_out(2, |b| b.map(|n| n * 2));
    let merged = left
        .merge([right])
        .map_concurrent(4, |n| async move { n + 1 });
    let v = merged.collect::<Vec<_>>().await.unwrap();
    assert_eq!(sorted(v), (1..=N).map(|n| n * 2 + 1).collect::<Vec<_>>());
}
