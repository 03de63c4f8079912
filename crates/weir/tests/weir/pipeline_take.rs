//! `take`, `take_while` and `skip`: a satisfied `take` stops its upstream
//! cleanly (the sources stop, the run ends `Ok`, nothing hangs), even when
//! the source is endless.

use weir::cancel::Context;
use weir::chan;
use weir::pipeline::Pipeline;

fn pipeline() -> Pipeline {
    Pipeline::new(&Context::background())
}

#[tokio::test(flavor = "current_thread")]
async fn take_from_an_endless_fused_source_ends_ok() {
    let p = pipeline();
    let v = p.source(0u64..).take(5).collect::<Vec<_>>().await.unwrap();
    assert_eq!(v, [0, 1, 2, 3, 4]);
    assert!(!p.cut_short(), "a limit is not a cut-short run");
    let m = p.metrics();
    assert!(m.stages.iter().all(|s| !s.running), "{m:?}");
    let take = m.stages.iter().find(|s| s.kind == "take").unwrap();
    assert_eq!(take.items_out, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn take_after_stages_with_tasks_stops_them_all() {
    // The endless source and the async stages run in tasks of their own;
    // the take drops its input, and each stops in turn.
    let p = pipeline();
    let v = p
        .source(0u64..)
        .then(|n| async move { n * 2 })
        .map_concurrent(4, |n| async move { n + 1 })
        .take(100)
        .collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(v, (0..100).map(|n| n * 2 + 1).collect::<Vec<_>>());
    assert!(p.metrics().stages.iter().all(|s| !s.running));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn take_after_a_worker_pool_ends_ok() {
    let p = pipeline();
    let n = p
        .source(0u64..)
        .worker_pool(3, |n| async move { Ok::<_, std::io::Error>(n) })
        .take(1_000)
        .count()
        .await
        .unwrap();
    assert_eq!(n, 1_000);
}

#[tokio::test(flavor = "current_thread")]
async fn take_stops_a_receiver_fed_from_outside() {
    // The producer never closes its channel; once the take is satisfied
    // the pipeline drops the receiver, and the producer's send fails.
    let (tx, rx) = chan::bounded(4);
    let producer = tokio::spawn(async move {
        let mut sent = 0u64;
        while tx.send(sent).await.is_ok() {
            sent += 1;
        }
        sent
    });
    let v = pipeline()
        .from_receiver(rx)
        .take(10)
        .collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(v, (0..10).collect::<Vec<_>>());
    let sent = producer.await.unwrap();
    assert!(sent >= 10, "{sent}");
}

#[tokio::test(flavor = "current_thread")]
async fn take_stops_an_endless_stream() {
    let v = pipeline()
        .from_stream(futures::stream::iter(0u32..))
        .take(3)
        .collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(v, [0, 1, 2]);
}

#[tokio::test(flavor = "current_thread")]
async fn take_zero_pulls_nothing() {
    let p = pipeline();
    let v = p.source(0u64..).take(0).collect::<Vec<_>>().await.unwrap();
    assert!(v.is_empty());
    let source = p.metrics().stages.into_iter().find(|s| s.kind == "source");
    assert_eq!(source.unwrap().items_out, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn takes_on_broadcast_branches_stop_the_source_once_all_are_done() {
    let p = pipeline();
    let [a, b] = p.source(0u64..).broadcast();
    let (a, b) = (a.take(3).collect::<Vec<_>>(), b.take(700).count());
    assert_eq!(a.await.unwrap(), [0, 1, 2]);
    assert_eq!(b.await.unwrap(), 700);
}

#[tokio::test(flavor = "current_thread")]
async fn take_while_stops_at_the_first_rejected_item() {
    let p = pipeline();
    let v = p
        .source(0u64..)
        .take_while(|n| *n != 2_000)
        .filter(|n| n % 500 == 0)
        .collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(v, [0, 500, 1_000, 1_500]);
    assert!(!p.cut_short());
}

#[tokio::test(flavor = "current_thread")]
async fn take_while_rejecting_the_first_item_sends_nothing() {
    let v = pipeline()
        .source([5, 1, 2])
        .take_while(|n| *n < 5)
        .collect::<Vec<_>>()
        .await
        .unwrap();
    assert!(v.is_empty());
}

#[tokio::test(flavor = "current_thread")]
async fn a_panic_in_take_while_names_the_stage() {
    let err = pipeline()
        .source(0..10)
        .take_while(|n| {
            assert!(*n < 3, "boom");
            true
        })
        .named("guard")
        .for_each(drop)
        .await
        .unwrap_err();
    assert_eq!(err.stage(), Some("guard"));
}

#[tokio::test(flavor = "current_thread")]
async fn skip_then_take_pages_through() {
    let v = pipeline()
        .source(0u32..)
        .skip(1_000)
        .take(3)
        .collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(v, [1_000, 1_001, 1_002]);
}

#[tokio::test(flavor = "current_thread")]
async fn skip_more_than_there_is_leaves_nothing() {
    let v = pipeline()
        .source(0..10)
        .skip(11)
        .collect::<Vec<_>>()
        .await
        .unwrap();
    assert!(v.is_empty());
}
