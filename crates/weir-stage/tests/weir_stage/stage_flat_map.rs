//! `flat_map`: one item in, any number out, sent lazily in order.

use weir_cancel::Context;
use weir_core::chan;
use weir_stage::testing::{eventually, TaskBaseline};
use weir_stage::{self as stage, Error, Scope};

#[tokio::test]
async fn expands_every_item_in_order() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let nums = stage::generate(&scope, 0..100u32);
    let out = stage::flat_map(&scope, nums, |n| (0..n % 7).map(move |i| (n, i)));
    let all = stage::collect::<_, Vec<_>>(&scope, out);
    scope.wait().await.unwrap();
    let want: Vec<_> = (0..100u32)
        .flat_map(|n| (0..n % 7).map(move |i| (n, i)))
        .collect();
    assert_eq!(all.await.unwrap(), want);
    baseline.assert_settled().await;
}

#[tokio::test]
async fn empty_expansions_send_nothing() {
    let scope = Scope::new(&Context::background());
    let out = stage::flat_map(
        &scope,
        stage::generate(&scope, 0..100),
        |_: i32| None::<i32>,
    );
    assert_eq!(out.recv().await, None);
    scope.wait().await.unwrap();
}

/// One item expanding to ~2^64 outputs: the expansion is never collected,
/// the consumer paces it, and dropping the output stops it part-way.
#[tokio::test]
async fn a_huge_expansion_streams_with_bounded_memory() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded(1);
    tx.send(u64::MAX).await.unwrap();
    let out = stage::flat_map(&scope.with_capacity(4), rx, |n| 0..n);
    for want in 0..10_000 {
        assert_eq!(out.recv().await, Some(want));
    }
    assert!(out.len() <= 4);
    drop(out);
    eventually("upstream sees its receivers gone", || tx.is_closed()).await;
    scope.wait().await.unwrap();
    baseline.assert_settled().await;
}

#[tokio::test]
async fn cancel_stops_it_on_an_empty_input() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded::<i32>(4);
    let out = stage::flat_map(&scope, rx, |n| [n]);
    tokio::task::yield_now().await;
    scope.cancel();
    assert!(matches!(scope.wait().await, Err(Error::Cancelled(_))));
    assert!(tx.is_closed(), "its input was dropped");
    assert_eq!(out.recv().await, None, "its output was closed");
    baseline.assert_settled().await;
}

#[tokio::test]
async fn cancel_stops_it_on_a_full_output_mid_expansion() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded(8);
    tx.send(1_000_000u64).await.unwrap();
    let out = stage::flat_map(&scope.with_capacity(1), rx, |n| 0..n);
    eventually("the output is full", || out.len() == 1).await;
    scope.cancel();
    assert!(matches!(scope.wait().await, Err(Error::Cancelled(_))));
    assert!(tx.is_closed());
    assert_eq!(out.recv().await, Some(0));
    assert_eq!(out.recv().await, None);
    baseline.assert_settled().await;
}

#[tokio::test]
async fn dropping_the_output_stops_it_and_its_upstream_even_when_idle() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded::<i32>(4);
    let out = stage::flat_map(&scope, rx, |n| [n]);
    drop(out);
    eventually("upstream sees its receivers gone", || tx.is_closed()).await;
    scope.wait().await.unwrap();
    baseline.assert_settled().await;
}

#[tokio::test]
async fn a_panic_in_the_iterator_names_the_stage() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let nums = stage::generate(&scope, [10]);
    let out = stage::flat_map(&scope, nums, |n: i32| {
        (0..n).inspect(|&i| assert!(i < 3, "boom at {i}"))
    });
    let _sink = stage::for_each(&scope, out, |_| {});
    match scope.wait().await {
        Err(Error::Panicked { stage, message }) => {
            assert!(stage.starts_with("flat_map#"), "{stage}");
            assert_eq!(message, "boom at 3");
        }
        other => panic!("unexpected: {other:?}"),
    }
    baseline.assert_settled().await;
}
