//! `stage::balance`: competing consumers, Go's `fanOut`.

use crate::support;
use proptest::prelude::*;
use weir_cancel::Context;
use weir_core::chan;
use weir_stage::testing::{eventually, TaskBaseline};

use weir_stage::{self as stage, Scope};

fn is_ascending(v: &[u32]) -> bool {
    v.windows(2).all(|w| w[0] < w[1])
}

async fn run_balance(items: u32, n: usize, capacity: usize) -> Vec<Vec<u32>> {
    let scope = Scope::builder(&Context::background())
        .capacity(capacity)
        .build();
    let branches = stage::balance(&scope, stage::generate(&scope, 0..items), n).unwrap();
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

// Go: `fanOut` workers ranging over one channel receive every item exactly
// once between them, each in channel order.
#[tokio::test]
async fn every_item_goes_to_exactly_one_branch_in_order() {
    let baseline = TaskBaseline::take();
    let outs = run_balance(2_000, 3, 8).await;
    for out in &outs {
        assert!(is_ascending(out));
    }
    let mut all: Vec<u32> = outs.concat();
    all.sort_unstable();
    assert_eq!(all, (0..2_000).collect::<Vec<_>>());
    baseline.assert_settled().await;
}

#[tokio::test]
async fn a_branch_that_does_not_receive_takes_nothing() {
    let scope = Scope::new(&Context::background());
    let mut branches = stage::balance(&scope, stage::generate(&scope, 0..500u32), 2).unwrap();
    let idle = branches.pop().unwrap(); // alive, but never receives
    let busy = stage::collect::<_, Vec<_>>(&scope, branches.pop().unwrap());
    assert_eq!(busy.await.unwrap(), (0..500).collect::<Vec<_>>());
    assert_eq!(idle.recv().await, None);
    scope.wait().await.unwrap();
}

#[tokio::test]
async fn a_dropped_branch_loses_nothing() {
    let scope = Scope::builder(&Context::background()).capacity(4).build();
    let (tx, rx) = chan::bounded(16);
    let mut branches = stage::balance(&scope, rx, 2).unwrap();
    tx.send_all((0..8u32).collect()).await.unwrap();
    // Items are buffered in the shared branch channel when one branch goes.
    eventually("branches[0].len() == 4", || branches[0].len() == 4).await;
    drop(branches.pop());
    tx.send_all((8..20).collect()).await.unwrap();
    drop(tx);
    let rest = stage::collect::<_, Vec<_>>(&scope, branches.pop().unwrap());
    assert_eq!(rest.await.unwrap(), (0..20).collect::<Vec<_>>());
    scope.wait().await.unwrap();
}

#[tokio::test]
async fn all_branches_dropped_stops_upstream_even_while_idle() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded::<u32>(4);
    let branches = stage::balance(&scope, rx, 3).unwrap();
    drop(branches);
    eventually("tx.is_closed()", || tx.is_closed()).await;
    assert!(tx.send(1).await.is_err());
    scope.wait().await.unwrap();
    baseline.assert_settled().await;
}

#[tokio::test]
async fn cancel_while_blocked_on_a_full_branch() {
    support::cancel_while_blocked_on_a_full_branch(stage::balance, (0..16).collect()).await;
}

#[tokio::test]
async fn cancel_while_waiting_on_an_empty_input() {
    let branches = support::cancel_while_waiting_on_an_empty_input(stage::balance).await;
    assert_eq!(branches[1].recv().await, None);
}

#[tokio::test]
async fn zero_branches_is_a_config_error() {
    support::zero_branches_is_a_config_error(stage::balance, "jobs", "balance").await;
}

#[tokio::test(start_paused = true)]
async fn a_lone_item_is_not_held_back() {
    support::a_lone_item_is_not_held_back(stage::balance, 2, &[0]).await;
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn nothing_lost_or_duplicated(items in 0u32..600, n in 1usize..6, capacity in 0usize..10) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let outs = rt.block_on(run_balance(items, n, capacity));
        prop_assert!(outs.iter().all(|o| is_ascending(o)));
        let mut all = outs.concat();
        all.sort_unstable();
        prop_assert_eq!(all, (0..items).collect::<Vec<_>>());
    }
}
