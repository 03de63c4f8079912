//! `forward_sink`: every item into any `futures::Sink`, flushed and closed.

use futures::StreamExt;
use weir_cancel::Context;
use weir_stage::testing::TaskBaseline;
use weir_stage::{self as stage, Error, Scope};

#[tokio::test]
async fn sends_everything_in_order_then_closes_the_sink() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let (tx, rx) = futures::channel::mpsc::channel(1);
    let done = stage::forward_sink(&scope, stage::generate(&scope, 0..2_000u32), tx);
    let got: Vec<u32> = rx.collect().await; // ends only if the sink is closed
    scope.wait().await.unwrap();
    done.await.unwrap();
    assert_eq!(got, (0..2_000).collect::<Vec<_>>());
    baseline.assert_settled().await;
}

#[tokio::test]
async fn a_sink_error_fails_the_stage_naming_it() {
    let scope = Scope::new(&Context::background());
    let (tx, rx) = futures::channel::mpsc::channel::<u64>(1);
    drop(rx);
    let done = stage::forward_sink(&scope.named("out"), stage::generate(&scope, 0u64..), tx);
    let err = scope.wait().await.unwrap_err();
    assert!(
        matches!(&err, Error::Failed { stage, .. } if &**stage == "out"),
        "{err:?}"
    );
    assert!(done.await.is_err());
}
