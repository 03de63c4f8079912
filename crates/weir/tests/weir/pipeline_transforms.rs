//! The builder's doors to stages with a task of their own: `then`,
//! `flat_map`, `map_unordered`, `batch`, `unbatch` (each runs the
//! `weir_stage` function of the same name).

use std::time::Duration;

use weir::cancel::Context;
use weir::pipeline::Pipeline;

fn pipeline() -> Pipeline {
    Pipeline::with_capacity(&Context::background(), 4)
}

#[tokio::test(start_paused = true)]
async fn then_awaits_each_item_in_order() {
    let v = pipeline()
        .source(0..50u64)
        .then(|n| async move {
            tokio::time::sleep(Duration::from_millis(50 - n)).await;
            n * 2
        })
        .collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(v, (0..50).map(|n| n * 2).collect::<Vec<_>>());
}

#[tokio::test]
async fn flat_map_then_unbatch_and_batch_keep_every_item_in_order() {
    let p = pipeline();
    let v = p
        .source(0..100u32)
        .flat_map(|n| [n, n])
        .named("twice")
        .batch(7, Duration::from_secs(3600))
        .unbatch()
        .collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(v, (0..100).flat_map(|n| [n, n]).collect::<Vec<_>>());
    let twice = p
        .metrics()
        .stages
        .into_iter()
        .find(|s| s.name == "twice")
        .unwrap();
    assert_eq!((twice.kind, twice.items_in), ("flat_map", 100));
}

#[tokio::test(start_paused = true)]
async fn batch_flushes_a_partial_batch_after_max_wait() {
    let (tx, rx) = weir::chan::bounded(4);
    tokio::spawn(async move {
        tx.send_all(vec![1, 2, 3]).await.unwrap();
        tokio::time::sleep(Duration::from_secs(10)).await;
        tx.send(4).await.unwrap();
    });
    let v = pipeline()
        .from_receiver(rx)
        .batch(10, Duration::from_millis(100))
        .collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(v, [vec![1, 2, 3], vec![4]]);
}

#[tokio::test]
async fn map_unordered_delivers_every_result() {
    let mut v = pipeline()
        .source(0..200u32)
        .map_unordered(8, |n| async move {
            tokio::task::yield_now().await;
            n + 1
        })
        .collect::<Vec<_>>()
        .await
        .unwrap();
    v.sort_unstable();
    assert_eq!(v, (1..=200).collect::<Vec<_>>());
}

#[tokio::test]
async fn zero_concurrency_or_batch_size_is_a_config_error_naming_the_stage() {
    let err = pipeline()
        .source(0..3)
        .map_unordered(0, |n| async move { n })
        .named("fetch")
        .for_each(drop)
        .await
        .unwrap_err();
    assert_eq!(err.config().and_then(|_| err.stage()), Some("fetch"));
    let err = pipeline()
        .source(0..3)
        .batch(0, Duration::from_secs(1))
        .named("group")
        .for_each(drop)
        .await
        .unwrap_err();
    assert_eq!(err.config().and_then(|_| err.stage()), Some("group"));
}

#[tokio::test]
async fn a_panic_in_then_names_its_stage() {
    let err = pipeline()
        .source(0..3)
        .then(|n: i32| async move {
            assert!(n < 2, "too big");
            n
        })
        .named("slow")
        .for_each(drop)
        .await
        .unwrap_err();
    assert_eq!(err.stage(), Some("slow"));
    assert!(err.to_string().contains("too big"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn throttle_paces_items_without_losing_any() {
    let start = tokio::time::Instant::now();
    let v = pipeline()
        .source(0..25u32)
        .throttle(weir::stage::Rate::new(5, Duration::from_secs(1)))
        .collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(v, (0..25).collect::<Vec<_>>());
    // 5 at once, then 5 a second: the last 20 need 4 more seconds.
    assert!(
        start.elapsed() >= Duration::from_secs(4),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn round_robin_deals_items_in_turn_and_count_counts() {
    let p = pipeline();
    let mut branches = p.source(0..30u32).round_robin_n(3).into_iter();
    let (a, b, c) = (
        branches.next().unwrap().collect::<Vec<_>>(),
        branches.next().unwrap().count(),
        branches.next().unwrap().fold(0, |n, _| n + 1),
    );
    assert_eq!(a.await.unwrap(), (0..30).step_by(3).collect::<Vec<_>>());
    assert_eq!(b.await.unwrap(), 10);
    assert_eq!(c.await.unwrap(), 10);
    let kinds: Vec<_> = p.metrics().stages.iter().map(|s| s.kind).collect();
    assert!(
        kinds.contains(&"round_robin") && kinds.contains(&"count"),
        "{kinds:?}"
    );
}

#[tokio::test]
async fn zero_round_robin_branches_is_a_config_error() {
    let p = pipeline();
    let branches = p.source(0..3).round_robin_n(0);
    assert!(branches.is_empty());
    let err = p.source(0..3).count().await.unwrap_err();
    assert!(err.config().is_some(), "{err}");
}

#[tokio::test]
async fn scan_carries_its_state_across_batches_and_fuses() {
    let p = pipeline();
    let v = p
        .source(1..=2_000u64)
        .scan(0u64, |sum, n| {
            *sum += n;
            *sum
        })
        .named("totals")
        .collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(v.len(), 2_000);
    assert_eq!(v[1_999], 2_000 * 2_001 / 2, "state kept across batches");
    assert!(
        p.to_mermaid().contains("-.->|fused| s1"),
        "{}",
        p.to_mermaid()
    );
}
