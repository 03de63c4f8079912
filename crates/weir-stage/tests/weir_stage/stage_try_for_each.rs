//! `try_for_each`: a fallible sink; its first error names the stage.

use weir_cancel::Context;
use weir_stage::testing::TaskBaseline;
use weir_stage::{self as stage, Error, Scope};

#[tokio::test]
async fn every_item_when_all_succeed() {
    let scope = Scope::new(&Context::background());
    let mut seen = Vec::new();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let mut tx = Some(tx);
    let done = stage::try_for_each(&scope, stage::generate(&scope, 0..100u32), move |n| {
        seen.push(n);
        if n == 99 {
            let _ = tx.take().unwrap().send(std::mem::take(&mut seen));
        }
        Ok::<_, std::io::Error>(())
    });
    scope.wait().await.unwrap();
    done.await.unwrap();
    assert_eq!(rx.await.unwrap(), (0..100).collect::<Vec<_>>());
}

#[tokio::test]
async fn the_first_error_fails_the_stage_and_stops_an_endless_generator() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let endless = stage::generate(&scope, 0u64..);
    let done = stage::try_for_each(&scope.named("store"), endless, |n| {
        if n == 5_000 {
            Err("disk full")
        } else {
            Ok(())
        }
    });
    match scope.wait().await {
        Err(Error::Failed { stage, source }) => {
            assert_eq!(&*stage, "store");
            assert_eq!(source.to_string(), "disk full");
        }
        other => panic!("expected a failure of `store`, got {other:?}"),
    }
    assert!(done.await.is_err(), "an unfinished sink is incomplete");
    baseline.assert_settled().await;
}
