//! `collect`: a sink that gathers every item into a collection.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use weir_cancel::Context;
use weir_core::chan;
use weir_stage::testing::TaskBaseline;
use weir_stage::{self as stage, Error, Incomplete, Scope};

#[tokio::test]
async fn gathers_every_item_in_order() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let all = stage::collect::<_, Vec<_>>(&scope, stage::generate(&scope, 0..10_000));
    scope.wait().await.unwrap();
    assert_eq!(all.await.unwrap(), (0..10_000).collect::<Vec<_>>());
    baseline.assert_settled().await;
}

#[tokio::test]
async fn into_any_default_extend_collection() {
    let scope = Scope::new(&Context::background());
    let text = stage::collect::<_, String>(&scope, stage::generate(&scope, ["we", "ir"]));
    let set = stage::collect::<_, std::collections::HashSet<_>>(
        &scope,
        stage::generate(&scope, [1, 1, 2]),
    );
    assert_eq!(text.await.unwrap(), "weir");
    assert_eq!(set.await.unwrap().len(), 2);
    scope.wait().await.unwrap();
}

#[tokio::test]
async fn an_empty_input_gives_an_empty_collection() {
    let scope = Scope::new(&Context::background());
    let all = stage::collect::<_, Vec<u8>>(&scope, stage::generate(&scope, Vec::<u8>::new()));
    assert_eq!(all.await.unwrap(), []);
}

#[tokio::test]
async fn cancel_stops_it_on_an_empty_input() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded::<u64>(4);
    let out = stage::collect::<_, Vec<_>>(&scope, rx);
    tokio::task::yield_now().await;
    scope.cancel();
    assert!(matches!(scope.wait().await, Err(Error::Cancelled(_))));
    assert!(tx.is_closed(), "its input was dropped");
    assert_eq!(out.await.map(drop), Err(Incomplete));
    baseline.assert_settled().await;
}

#[tokio::test]
async fn a_panic_upstream_leaves_the_output_incomplete() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded::<u64>(4);
    let out = stage::collect::<_, Vec<_>>(
        &scope,
        stage::map(&scope, rx, |n| {
            assert!(n < 3, "boom at {n}");
            n
        }),
    );
    tx.send_all(vec![1, 2, 3]).await.unwrap();
    match scope.wait().await {
        Err(Error::Panicked { stage, message }) => {
            assert!(stage.starts_with("map#"), "{stage}");
            assert_eq!(message, "boom at 3");
        }
        other => panic!("unexpected: {other:?}"),
    }
    assert!(tx.is_closed(), "upstream sees its receivers gone");
    assert_eq!(out.await.map(drop), Err(Incomplete));
    baseline.assert_settled().await;
}

#[tokio::test]
async fn dropping_its_output_does_not_stop_it() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    let nums = stage::inspect(&scope, stage::generate(&scope, 0..1_000u64), move |_| {
        counter.fetch_add(1, Ordering::Relaxed);
    });
    drop(stage::collect::<_, Vec<_>>(&scope, nums));
    scope.wait().await.unwrap();
    assert_eq!(
        count.load(Ordering::Relaxed),
        1_000,
        "the whole input was consumed"
    );
    baseline.assert_settled().await;
}
