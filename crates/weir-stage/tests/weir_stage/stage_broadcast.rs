//! `stage::broadcast`: every branch gets every item.

use std::time::Duration;

use crate::support;
use proptest::prelude::*;
use tokio::time::timeout;
use weir_cancel::Context;
use weir_core::chan::{self, Receiver};
use weir_stage::testing::{eventually, TaskBaseline};

use weir_stage::{self as stage, Error, Scope};

async fn run_broadcast(items: u32, n: usize, capacity: usize) -> Vec<Vec<u32>> {
    let scope = Scope::builder(&Context::background())
        .capacity(capacity)
        .build();
    let branches = stage::broadcast(&scope, stage::generate(&scope, 0..items), n).unwrap();
    let outs: Vec<_> = branches
        .into_iter()
        .map(|b| stage::collect::<_, Vec<_>>(&scope, b))
        .collect();
    scope.wait().await.unwrap();
    let mut all = Vec::new();
    for out in outs {
        all.push(out.await.unwrap());
    }
    all
}

#[tokio::test]
async fn every_branch_gets_every_item_in_order() {
    let baseline = TaskBaseline::take();
    for out in run_broadcast(1_000, 3, 8).await {
        assert_eq!(out, (0..1_000).collect::<Vec<_>>());
    }
    baseline.assert_settled().await;
}

#[tokio::test(start_paused = true)]
async fn the_slowest_branch_sets_the_pace() {
    let scope = Scope::builder(&Context::background()).capacity(1).build();
    let branches = stage::broadcast(&scope, stage::generate(&scope, 0..300u32), 2).unwrap();
    // Branch 1 never receives: branch 0 soon gets nothing more either.
    let mut got = Vec::new();
    while let Ok(Some(item)) = timeout(Duration::from_secs(10), branches[0].recv()).await {
        got.push(item);
    }
    assert!(got.len() < 300, "branch 0 was not stalled");
    assert_eq!(got, (0..got.len() as u32).collect::<Vec<_>>());
    let slow = stage::collect::<_, Vec<_>>(&scope, branches[1].clone());
    let fast = stage::collect::<_, Vec<_>>(&scope, branches[0].clone());
    got.extend(fast.await.unwrap());
    assert_eq!(got, (0..300).collect::<Vec<_>>());
    assert_eq!(slow.await.unwrap(), (0..300).collect::<Vec<_>>());
    scope.wait().await.unwrap();
}

#[tokio::test]
async fn a_dropped_branch_is_skipped_and_the_others_get_everything() {
    let scope = Scope::builder(&Context::background()).capacity(1).build();
    let (tx, rx) = chan::bounded(16);
    let mut branches = stage::broadcast(&scope, rx, 3).unwrap();
    tx.send_all((0..10u32).collect()).await.unwrap();
    // Every branch holds item 0 and the stage waits to send the rest; then
    // branch 1 goes (while being sent to) and the others carry on.
    eventually("branches.iter().all(|b| b.len() == 1)", || {
        branches.iter().all(|b| b.len() == 1)
    })
    .await;
    drop(branches.remove(1));
    tx.send_all((10..20).collect()).await.unwrap();
    drop(tx);
    let a = stage::collect::<_, Vec<_>>(&scope, branches.remove(0));
    let c = stage::collect::<_, Vec<_>>(&scope, branches.remove(0));
    assert_eq!(a.await.unwrap(), (0..20).collect::<Vec<_>>());
    assert_eq!(c.await.unwrap(), (0..20).collect::<Vec<_>>());
    scope.wait().await.unwrap();
}

#[tokio::test]
async fn all_branches_dropped_stops_upstream_even_while_idle() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded::<u32>(4);
    let branches = stage::broadcast(&scope, rx, 3).unwrap();
    tx.send(0).await.unwrap();
    eventually("tx.is_empty()", || tx.is_empty()).await;
    drop(branches);
    eventually("tx.is_closed()", || tx.is_closed()).await;
    scope.wait().await.unwrap();
    baseline.assert_settled().await;
}

#[derive(Debug, PartialEq)]
struct Fragile(u32);

impl Clone for Fragile {
    fn clone(&self) -> Self {
        assert!(self.0 < 3, "cannot copy {}", self.0);
        Fragile(self.0)
    }
}

#[tokio::test]
async fn a_panic_in_clone_names_the_stage() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let input = stage::generate(&scope, (0..10).map(Fragile));
    let branches = stage::broadcast(&scope.named("tee"), input, 2).unwrap();
    for b in branches {
        let _sink = stage::for_each(&scope, b, drop);
    }
    match scope.wait().await {
        Err(Error::Panicked { stage, message }) => {
            assert_eq!(&*stage, "tee");
            assert_eq!(message, "cannot copy 3");
        }
        other => panic!("unexpected: {other:?}"),
    }
    baseline.assert_settled().await;
}

#[tokio::test]
async fn cancel_while_blocked_on_a_full_branch() {
    support::cancel_while_blocked_on_a_full_branch(stage::broadcast, (0..16).collect()).await;
}

#[tokio::test]
async fn cancel_while_waiting_on_an_empty_input() {
    let branches = support::cancel_while_waiting_on_an_empty_input(stage::broadcast).await;
    assert!(branches.iter().all(Receiver::is_closed));
}

#[tokio::test]
async fn zero_branches_is_a_config_error() {
    support::zero_branches_is_a_config_error(stage::broadcast, "tee", "broadcast").await;
}

#[tokio::test(start_paused = true)]
async fn a_lone_item_is_not_held_back() {
    support::a_lone_item_is_not_held_back(stage::broadcast, 2, &[0, 1]).await;
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn every_branch_gets_everything_for_any_size(items in 0u32..600, n in 1usize..6, capacity in 0usize..10) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        for out in rt.block_on(run_broadcast(items, n, capacity)) {
            prop_assert_eq!(out, (0..items).collect::<Vec<_>>());
        }
    }
}
