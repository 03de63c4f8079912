//! The tests every split (`balance`, `round_robin`, `partition`,
//! `broadcast`) must pass the same way, written once: each split's file
//! calls them with its constructor.
#![allow(dead_code)] // each test binary uses its own subset

use std::time::Duration;

use weir_cancel::Context;
use weir_core::chan::{self, Receiver};
use weir_stage::testing::{eventually, TaskBaseline};
use weir_stage::{ConfigError, Error, Scope};

/// A split of `u32` items over `n` branches.
pub(crate) type Split = fn(&Scope, Receiver<u32>, usize) -> Result<Vec<Receiver<u32>>, ConfigError>;

/// Cancelled while blocked on a full branch (capacity 2, `items` queued):
/// the stage ends, drops its input and closes every branch; no task is
/// left.
pub(crate) async fn cancel_while_blocked_on_a_full_branch(split: Split, items: Vec<u32>) {
    let baseline = TaskBaseline::take();
    let scope = Scope::builder(&Context::background()).capacity(2).build();
    let (tx, rx) = chan::bounded(16);
    tx.send_all(items).await.unwrap();
    let branches = split(&scope, rx, 2).unwrap();
    eventually("a branch is full", || branches.iter().any(|b| b.len() == 2)).await;
    scope.cancel();
    assert!(matches!(scope.wait().await, Err(Error::Cancelled(_))));
    assert!(tx.is_closed(), "the stage dropped its input");
    assert!(branches.iter().all(Receiver::is_closed));
    baseline.assert_settled().await;
}

/// Cancelled while waiting on an empty input: the stage ends and drops its
/// input; no task is left. Returns the branches for the split's own checks.
pub(crate) async fn cancel_while_waiting_on_an_empty_input(split: Split) -> Vec<Receiver<u32>> {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded::<u32>(4);
    let branches = split(&scope, rx, 2).unwrap();
    tokio::task::yield_now().await;
    scope.cancel();
    assert!(matches!(scope.wait().await, Err(Error::Cancelled(_))));
    assert!(tx.is_closed());
    baseline.assert_settled().await;
    branches
}

/// Zero branches is a `ConfigError` naming the stage: the scope view's
/// name (`named`), or the stage's kind.
pub(crate) async fn zero_branches_is_a_config_error(split: Split, named: &str, kind: &str) {
    let scope = Scope::new(&Context::background());
    let (_tx, rx) = chan::bounded::<u32>(1);
    let err = split(&scope.named(named), rx.clone(), 0).unwrap_err();
    assert_eq!(
        err,
        ConfigError::Zero {
            stage: named.into(),
            what: "branches"
        }
    );
    let err = split(&scope, rx, 0).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("stage `{kind}`: branches must be at least 1")
    );
    scope.wait().await.unwrap();
}

/// One item into an idle split of `n` branches reaches each of the
/// branches `expect_in` without waiting for a batch to fill (on a paused
/// clock, a hold-back would show as the 60 s timeout).
pub(crate) async fn a_lone_item_is_not_held_back(split: Split, n: usize, expect_in: &[usize]) {
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded(4);
    let branches = split(&scope, rx, n).unwrap();
    tx.send(7u32).await.unwrap();
    for &b in expect_in {
        let got = tokio::time::timeout(Duration::from_secs(60), branches[b].recv()).await;
        assert_eq!(got.expect("the item was held back"), Some(7));
    }
    drop(tx);
    scope.wait().await.unwrap();
}
