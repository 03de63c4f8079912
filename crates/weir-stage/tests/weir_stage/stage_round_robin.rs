//! `stage::round_robin`: strict turns over n branches.

use std::time::Duration;

use crate::support;
use proptest::prelude::*;
use tokio::time::timeout;
use weir_cancel::Context;
use weir_core::chan::{self, Receiver};
use weir_stage::testing::{eventually, TaskBaseline};

use weir_stage::{self as stage, Scope};

async fn run_round_robin(items: u32, n: usize, capacity: usize) -> Vec<Vec<u32>> {
    let scope = Scope::builder(&Context::background())
        .capacity(capacity)
        .build();
    let branches = stage::round_robin(&scope, stage::generate(&scope, 0..items), n).unwrap();
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

fn turns_of(k: usize, n: usize, items: u32) -> Vec<u32> {
    (0..items).filter(|i| *i as usize % n == k).collect()
}

#[tokio::test]
async fn item_i_goes_to_branch_i_mod_n_in_order() {
    let baseline = TaskBaseline::take();
    let outs = run_round_robin(1_000, 3, 8).await;
    for (k, out) in outs.iter().enumerate() {
        assert_eq!(*out, turns_of(k, 3, 1_000));
    }
    baseline.assert_settled().await;
}

#[tokio::test(start_paused = true)]
async fn a_slow_branch_stalls_the_others() {
    let scope = Scope::builder(&Context::background()).capacity(1).build();
    let branches = stage::round_robin(&scope, stage::generate(&scope, 0..300u32), 2).unwrap();
    // Branch 1 never receives: once its one slot is full, branch 0 gets
    // nothing more either (the runtime goes idle, the paused clock jumps).
    let mut got = Vec::new();
    while let Ok(Some(item)) = timeout(Duration::from_secs(10), branches[0].recv()).await {
        got.push(item);
    }
    assert!(
        got.len() < 150,
        "branch 0 was not stalled: got {}",
        got.len()
    );
    assert_eq!(got, turns_of(0, 2, 300)[..got.len()]);
    // Once branch 1 is read, everything flows again.
    let slow = stage::collect::<_, Vec<_>>(&scope, branches[1].clone());
    let fast = stage::collect::<_, Vec<_>>(&scope, branches[0].clone());
    got.extend(fast.await.unwrap());
    assert_eq!(got, turns_of(0, 2, 300));
    assert_eq!(slow.await.unwrap(), turns_of(1, 2, 300));
    scope.wait().await.unwrap();
}

#[tokio::test]
async fn a_branch_dropped_before_the_start_is_skipped() {
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded(64);
    let mut branches = stage::round_robin(&scope, rx, 3).unwrap();
    drop(branches.remove(1));
    tx.send_all((0..60u32).collect()).await.unwrap();
    drop(tx);
    let a = stage::collect::<_, Vec<_>>(&scope, branches.remove(0));
    let b = stage::collect::<_, Vec<_>>(&scope, branches.remove(0));
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    // The live branches take turns: nothing is lost, order is kept.
    assert_eq!(a, (0..60).step_by(2).collect::<Vec<_>>());
    assert_eq!(b, (1..60).step_by(2).collect::<Vec<_>>());
    scope.wait().await.unwrap();
}

#[tokio::test]
async fn a_branch_dropped_mid_stream_gives_its_turns_to_the_next_live_one() {
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded(64);
    let mut branches = stage::round_robin(&scope, rx, 3).unwrap();
    tx.send_all(vec![0u32, 1, 2]).await.unwrap();
    for (k, b) in branches.iter().enumerate() {
        assert_eq!(b.recv().await, Some(k as u32));
    }
    drop(branches.remove(1));
    tx.send_all((3..12).collect()).await.unwrap();
    drop(tx);
    let a = stage::collect::<_, Vec<_>>(&scope, branches.remove(0));
    let c = stage::collect::<_, Vec<_>>(&scope, branches.remove(0));
    let (a, c) = (a.await.unwrap(), c.await.unwrap());
    // Turn 3 was branch 0's; 4 was branch 1's and goes on to branch 2 …
    assert_eq!(a, [3, 5, 7, 9, 11]);
    assert_eq!(c, [4, 6, 8, 10]);
    scope.wait().await.unwrap();
}

#[tokio::test]
async fn items_refused_by_a_branch_dropped_mid_send_are_dealt_again() {
    let scope = Scope::builder(&Context::background()).capacity(1).build();
    let (tx, rx) = chan::bounded(16);
    tx.send_all((0..10u32).collect()).await.unwrap();
    drop(tx);
    let mut branches = stage::round_robin(&scope, rx, 2).unwrap();
    // Both branches hold one item; the stage waits to send the rest.
    eventually("branches.iter().all(|b| b.len() == 1)", || {
        branches.iter().all(|b| b.len() == 1)
    })
    .await;
    // Branch 1 goes with its buffered item 1; the 3, 5, 7, 9 it had not
    // taken yet go to branch 0, after what branch 0 was already given.
    drop(branches.pop());
    let rest = stage::collect::<_, Vec<_>>(&scope, branches.pop().unwrap());
    assert_eq!(rest.await.unwrap(), [0, 2, 4, 6, 8, 3, 5, 7, 9]);
    scope.wait().await.unwrap();
}

#[tokio::test]
async fn all_branches_dropped_stops_upstream_even_while_idle() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded::<u32>(4);
    let branches = stage::round_robin(&scope, rx, 3).unwrap();
    tx.send(0).await.unwrap();
    eventually("tx.is_empty()", || tx.is_empty()).await;
    drop(branches);
    eventually("tx.is_closed()", || tx.is_closed()).await;
    scope.wait().await.unwrap();
    baseline.assert_settled().await;
}

#[tokio::test]
async fn cancel_while_blocked_on_a_full_branch() {
    support::cancel_while_blocked_on_a_full_branch(stage::round_robin, (0..16).collect()).await;
}

#[tokio::test]
async fn cancel_while_waiting_on_an_empty_input() {
    let branches = support::cancel_while_waiting_on_an_empty_input(stage::round_robin).await;
    assert!(branches.iter().all(Receiver::is_closed));
}

#[tokio::test]
async fn zero_branches_is_a_config_error() {
    support::zero_branches_is_a_config_error(stage::round_robin, "deal", "round_robin").await;
}

#[tokio::test(start_paused = true)]
async fn a_lone_item_is_not_held_back() {
    support::a_lone_item_is_not_held_back(stage::round_robin, 2, &[0]).await;
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn strict_turns_for_any_size(items in 0u32..600, n in 1usize..6, capacity in 0usize..10) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let outs = rt.block_on(run_round_robin(items, n, capacity));
        for (k, out) in outs.iter().enumerate() {
            prop_assert_eq!(out, &turns_of(k, n, items));
        }
    }
}
