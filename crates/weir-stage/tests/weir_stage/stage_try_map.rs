//! `try_map`: a fallible one-to-one stage; errors follow the scope's policy.

use weir_cancel::Context;
use weir_core::chan;
use weir_stage::testing::{eventually, TaskBaseline};
use weir_stage::{self as stage, Error, Scope};

#[tokio::test]
async fn maps_every_ok_in_order() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let nums = stage::generate(&scope, 0..1_000);
    let out = stage::try_map(&scope, nums, |n: i32| Ok::<_, std::io::Error>(n * 2));
    let all = stage::collect::<_, Vec<_>>(&scope, out);
    scope.wait().await.unwrap();
    assert_eq!(
        all.await.unwrap(),
        (0..1_000).map(|n| n * 2).collect::<Vec<_>>()
    );
    baseline.assert_settled().await;
}

#[tokio::test]
async fn an_error_fails_the_stage_and_cancels_the_scope() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let endless = stage::generate(&scope, 0u64..);
    let parsed = stage::try_map(&scope.named("parse"), endless, |n| {
        if n == 500 {
            Err(format!("bad item {n}"))
        } else {
            Ok(n)
        }
    });
    let seen = stage::collect::<_, Vec<_>>(&scope, parsed);
    match scope.wait().await {
        Err(Error::Failed { stage, source }) => {
            assert_eq!(&*stage, "parse");
            assert_eq!(source.to_string(), "bad item 500");
        }
        other => panic!("unexpected: {other:?}"),
    }
    assert!(seen.await.is_err(), "the sink was cancelled too");
    baseline.assert_settled().await;
}

#[tokio::test]
async fn the_items_before_an_error_are_sent_on() {
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded(8);
    tx.send_all(vec![1, 2, 0, 3]).await.unwrap();
    drop(tx);
    let out = stage::try_map(
        &scope,
        rx,
        |n: i32| if n == 0 { Err("zero") } else { Ok(n) },
    );
    assert!(scope.wait().await.is_err());
    assert_eq!(out.recv().await, Some(1));
    assert_eq!(out.recv().await, Some(2));
    assert_eq!(out.recv().await, None);
}

#[tokio::test]
async fn collect_errors_skips_failed_items_and_keeps_going() {
    let scope = Scope::builder(&Context::background())
        .collect_errors()
        .build();
    let nums = stage::generate(&scope, 1..=6);
    let odd = stage::try_map(&scope, nums, |n: u32| {
        if n % 2 == 0 {
            Err(format!("{n} is even"))
        } else {
            Ok(n)
        }
    });
    let kept = stage::collect::<_, Vec<_>>(&scope, odd);
    match scope.wait().await {
        Err(Error::Multiple(errors)) => {
            let causes: Vec<_> = errors
                .iter()
                .map(|e| std::error::Error::source(e).unwrap().to_string())
                .collect();
            assert_eq!(causes, ["2 is even", "4 is even", "6 is even"]);
            assert!(errors
                .iter()
                .all(|e| e.stage().unwrap().starts_with("try_map#")));
        }
        other => panic!("unexpected: {other:?}"),
    }
    assert_eq!(kept.await.unwrap(), [1, 3, 5]);
}

#[tokio::test]
async fn cancel_stops_it_on_an_empty_input() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded::<i32>(4);
    let out = stage::try_map(&scope, rx, Ok::<_, std::io::Error>);
    tokio::task::yield_now().await;
    scope.cancel();
    assert!(matches!(scope.wait().await, Err(Error::Cancelled(_))));
    assert!(tx.is_closed(), "its input was dropped");
    assert_eq!(out.recv().await, None, "its output was closed");
    baseline.assert_settled().await;
}

#[tokio::test]
async fn cancel_stops_it_on_a_full_output() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded(8);
    tx.send_all(vec![1, 2, 3, 4]).await.unwrap();
    let out = stage::try_map(&scope.with_capacity(1), rx, |n: i32| {
        Ok::<_, std::io::Error>(n)
    });
    eventually("the output is full", || out.len() == 1).await;
    scope.cancel();
    assert!(matches!(scope.wait().await, Err(Error::Cancelled(_))));
    assert!(tx.is_closed());
    assert_eq!(out.recv().await, Some(1));
    assert_eq!(out.recv().await, None);
    baseline.assert_settled().await;
}

#[tokio::test]
async fn dropping_the_output_stops_it_and_its_upstream() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded(4);
    let out = stage::try_map(&scope, rx, |n: i32| Ok::<_, std::io::Error>(n));
    drop(out);
    tx.send(1).await.unwrap(); // it notices at its next send
    eventually("upstream sees its receivers gone", || tx.is_closed()).await;
    scope.wait().await.unwrap();
    baseline.assert_settled().await;
}

#[tokio::test]
async fn a_panic_in_f_names_the_stage() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let nums = stage::generate(&scope, 0..10);
    let out = stage::try_map(&scope, nums, |n: i32| {
        assert!(n < 3, "boom at {n}");
        Ok::<_, std::io::Error>(n)
    });
    let _sink = stage::for_each(&scope, out, |_| {});
    match scope.wait().await {
        Err(Error::Panicked { stage, message }) => {
            assert!(stage.starts_with("try_map#"), "{stage}");
            assert_eq!(message, "boom at 3");
        }
        other => panic!("unexpected: {other:?}"),
    }
    baseline.assert_settled().await;
}
