//! The builder's doors to issue 21's small operators: `enumerate` (fused),
//! `chunks_by`, `map_blocking`, `zip`, `interleave`, `concat`, `try_fold`
//! — each runs the `weir_stage` step or function of the same name, and is
//! one named, counted stage in `metrics()`.

use proptest::prelude::*;
use weir::cancel::Context;
use weir::pipeline::{Pipeline, StageMetrics};

fn pipeline() -> Pipeline {
    Pipeline::with_capacity(&Context::background(), 4)
}

fn stage<'a>(stages: &'a [StageMetrics], name: &str) -> &'a StageMetrics {
    stages
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no stage {name}"))
}

#[tokio::test]
async fn two_input_stages_are_one_counted_stage_each() {
    let p = pipeline();
    let left = p.source(0..100u32).map(|n| n * 2);
    let right = p.source(0..60u32).filter(|n| n % 2 == 0); // 30 items
    let pairs = left
        .zip(right)
        .named("pairs")
        .collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(pairs.len(), 30);
    assert!(pairs
        .iter()
        .enumerate()
        .all(|(i, &(a, b))| a == 2 * i as u32 && b == 2 * i as u32));
    let m = p.metrics();
    let zip = stage(&m.stages, "pairs");
    assert_eq!(zip.kind, "zip");
    assert_eq!(zip.items_out, 30);
    assert!(
        zip.items_in >= 60,
        "both inputs are counted: {}",
        zip.items_in
    );
}

#[tokio::test]
async fn concat_and_interleave_through_the_builder() {
    let p = pipeline();
    let v = p
        .source(["a", "b"])
        .concat(p.source(["c"]))
        .interleave(p.source(["x", "y", "z", "w"]))
        .collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(v, ["a", "x", "b", "y", "c", "z", "w"]);
}

#[tokio::test]
async fn enumerate_and_chunks_by_are_fused() {
    let p = pipeline();
    let runs = p
        .source([3, 3, 1, 1, 1, 2])
        .enumerate()
        .named("number")
        .chunks_by(|(_, n)| *n)
        .named("runs")
        .collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(
        runs,
        [
            vec![(0, 3), (1, 3)],
            vec![(2, 1), (3, 1), (4, 1)],
            vec![(5, 2)]
        ]
    );
    let m = p.metrics();
    assert_eq!(stage(&m.stages, "number").kind, "enumerate");
    let runs = stage(&m.stages, "runs");
    assert_eq!(
        (runs.kind, runs.items_in, runs.items_out),
        ("chunks_by", 6, 3)
    );
    // Both run in the source's task: the edges into them have no queue.
    let into = |to: &str| m.edges.iter().find(|e| e.to == to).unwrap();
    assert_eq!(into("number").capacity, None);
    assert_eq!(into("runs").capacity, None);
    assert!(p.to_mermaid().contains("-.->|fused| "));
}

/// Fused, groups straddle the engine's batches and the last one is sent
/// at the end: the same runs as `slice::chunk_by`.
#[tokio::test]
async fn fused_chunks_by_is_slice_chunk_by_across_batches() {
    let input: Vec<u32> = (0..5_000u32).map(|n| n / 7 % 5).collect();
    let runs = pipeline()
        .source(input.clone())
        .chunks_by(|n| *n)
        .collect::<Vec<_>>()
        .await
        .unwrap();
    let want: Vec<Vec<u32>> = input.chunk_by(|a, b| a == b).map(<[u32]>::to_vec).collect();
    assert_eq!(runs, want);
}

/// A graceful shutdown ends the source: the fused step's open group is
/// sent, not lost.
#[tokio::test]
async fn shutdown_flushes_the_open_group_of_a_fused_chunks_by() {
    let (tx, rx) = weir::chan::bounded(8);
    let p = pipeline();
    let run = p
        .from_receiver(rx)
        .chunks_by(|n: &i32| *n)
        .collect::<Vec<_>>()
        .run();
    tx.send_all(vec![1, 1, 2]).await.unwrap();
    while p
        .metrics()
        .stages
        .iter()
        .all(|s| s.kind != "chunks_by" || s.items_in < 3)
    {
        tokio::task::yield_now().await;
    }
    p.shutdown();
    assert_eq!(run.join().await.unwrap(), [vec![1, 1], vec![2]]);
    drop(tx);
}

#[tokio::test]
async fn map_blocking_zero_is_an_error_before_anything_runs() {
    let ran = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let r = ran.clone();
    let err = pipeline()
        .source(0..3)
        .inspect(move |_| r.store(true, std::sync::atomic::Ordering::SeqCst))
        .map_blocking(0, |n: i32| n)
        .named("cpu")
        .collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("cpu"), "{err}");
    assert!(!ran.load(std::sync::atomic::Ordering::SeqCst));
}

#[tokio::test]
async fn map_blocking_panic_fails_the_pipeline_naming_the_stage() {
    let err = pipeline()
        .source(0..10)
        .map_blocking(3, |n: i32| {
            assert!(n != 7, "boom at {n}");
            n
        })
        .named("cpu")
        .for_each(drop)
        .await
        .unwrap_err();
    assert!(err.to_string().starts_with("stage `cpu` panicked"), "{err}");
}

#[tokio::test]
async fn try_fold_error_names_the_sink() {
    let err = pipeline()
        .source(["1", "2", "x", "4"])
        .try_fold(0u32, |a, s: &str| s.parse::<u32>().map(|n| a + n))
        .named("sum")
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "stage `sum` failed");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn builder_zip_interleave_concat_keep_order_and_lose_nothing(
        a in prop::collection::vec(any::<u8>(), 0..300),
        b in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let (zipped, mixed, chained) = rt.block_on(async {
            let p = pipeline();
            let zipped = p.source(a.clone()).zip(p.source(b.clone())).collect::<Vec<_>>();
            let mixed = p.source(a.clone()).interleave(p.source(b.clone())).collect::<Vec<_>>();
            let chained = p.source(a.clone()).concat(p.source(b.clone())).collect::<Vec<_>>();
            (zipped.await.unwrap(), mixed.await.unwrap(), chained.await.unwrap())
        });
        prop_assert_eq!(zipped, a.iter().copied().zip(b.iter().copied()).collect::<Vec<_>>());
        let n = a.len().min(b.len());
        let mut want: Vec<u8> = (0..n).flat_map(|i| [a[i], b[i]]).collect();
        want.extend(&a[n..]);
        want.extend(&b[n..]);
        prop_assert_eq!(mixed, want);
        prop_assert_eq!(chained, a.iter().chain(&b).copied().collect::<Vec<_>>());
    }
}
