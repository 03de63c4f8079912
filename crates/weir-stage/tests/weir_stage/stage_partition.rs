//! `stage::partition`: the same key always goes to the same branch.

use std::collections::{BTreeSet, HashMap};

use crate::support;
use proptest::prelude::*;
use weir_cancel::Context;
use weir_core::chan::{self, Receiver};
use weir_stage::testing::{eventually, TaskBaseline};

use weir_stage::{self as stage, ConfigError, Error, Scope};

/// Partitions `items` (key, sequence number) by key; every branch's output.
async fn run_partition(items: Vec<(u8, u32)>, n: usize, capacity: usize) -> Vec<Vec<(u8, u32)>> {
    let scope = Scope::builder(&Context::background())
        .capacity(capacity)
        .build();
    let input = stage::generate(&scope, items);
    let branches = stage::partition(&scope, input, n, |&(key, _)| key).unwrap();
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

/// Checks the promises: nothing lost or duplicated, each key on one branch,
/// each branch in input order.
fn check(items: &[(u8, u32)], outs: &[Vec<(u8, u32)>]) -> Result<(), String> {
    let mut owner = HashMap::new();
    for (k, out) in outs.iter().enumerate() {
        if !out.windows(2).all(|w| w[0].1 < w[1].1) {
            return Err(format!("branch {k} out of order"));
        }
        for &(key, _) in out {
            if *owner.entry(key).or_insert(k) != k {
                return Err(format!("key {key} on two branches"));
            }
        }
    }
    let mut all = outs.concat();
    all.sort_by_key(|&(_, seq)| seq);
    if all != items {
        return Err("items lost or duplicated".into());
    }
    Ok(())
}

fn keyed(count: u32, keys: u8) -> Vec<(u8, u32)> {
    (0..count)
        .map(|i| ((i % u32::from(keys)) as u8, i))
        .collect()
}

/// Which keys of `0..keys` land on each of `n` branches.
async fn owners(keys: u8, n: usize) -> Vec<BTreeSet<u8>> {
    let outs = run_partition(keyed(u32::from(keys), keys), n, 64).await;
    outs.iter()
        .map(|out| out.iter().map(|&(key, _)| key).collect())
        .collect()
}

#[tokio::test]
async fn same_key_same_branch_in_order() {
    let baseline = TaskBaseline::take();
    let items = keyed(2_000, 13);
    let outs = run_partition(items.clone(), 3, 8).await;
    check(&items, &outs).unwrap();
    assert!(
        outs.iter().filter(|o| !o.is_empty()).count() > 1,
        "keys spread"
    );
    baseline.assert_settled().await;
}

#[tokio::test]
async fn a_panic_in_key_fn_names_the_stage() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let input = stage::generate(&scope, 0..10u32);
    let branches = stage::partition(&scope.named("shard"), input, 2, |&n| {
        assert!(n < 5, "bad key {n}");
        n
    })
    .unwrap();
    for b in branches {
        let _sink = stage::for_each(&scope, b, |_| {});
    }
    match scope.wait().await {
        Err(Error::Panicked { stage, message }) => {
            assert_eq!(&*stage, "shard");
            assert_eq!(message, "bad key 5");
        }
        other => panic!("unexpected: {other:?}"),
    }
    baseline.assert_settled().await;
}

#[tokio::test]
async fn items_for_a_dropped_branch_fail_the_stage() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let input = stage::generate(&scope, keyed(100, 50));
    let mut branches = stage::partition(&scope.named("shard"), input, 2, |&(key, _)| key).unwrap();
    drop(branches.pop());
    let _sink = stage::for_each(&scope, branches.pop().unwrap(), |_| {});
    match scope.wait().await {
        Err(Error::Failed { stage, source }) => {
            assert_eq!(&*stage, "shard");
            let message = source.to_string();
            assert!(
                message.starts_with("branch 1 of 2 was dropped"),
                "{message}"
            );
        }
        other => panic!("unexpected: {other:?}"),
    }
    baseline.assert_settled().await;
}

#[tokio::test]
async fn with_collect_errors_a_dropped_branch_is_reported_once_and_the_rest_served() {
    let owners = owners(40, 2).await;
    let scope = Scope::builder(&Context::background())
        .collect_errors()
        .build();
    let (tx, rx) = chan::bounded(64);
    let mut branches = stage::partition(&scope, rx, 2, |&(key, _): &(u8, u32)| key).unwrap();
    drop(branches.pop());
    let kept = stage::collect::<_, Vec<_>>(&scope, branches.pop().unwrap());
    // Several batches, each with items for the dropped branch.
    for round in 0..5 {
        tx.send_all(
            keyed(40, 40)
                .into_iter()
                .map(|(k, i)| (k, round * 40 + i))
                .collect(),
        )
        .await
        .unwrap();
        eventually("tx.is_empty()", || tx.is_empty()).await;
    }
    drop(tx);
    let kept = kept.await.unwrap();
    let expected: Vec<_> = (0..5 * 40u32)
        .map(|i| ((i % 40) as u8, i))
        .filter(|(key, _)| owners[0].contains(key))
        .collect();
    assert_eq!(kept, expected);
    match scope.wait().await {
        Err(Error::Failed { stage, .. }) => assert!(stage.starts_with("partition#")),
        other => panic!("unexpected: {other:?}"),
    }
}

#[tokio::test]
async fn a_dropped_branch_no_item_is_for_is_no_error() {
    let owners = owners(40, 2).await;
    let scope = Scope::new(&Context::background());
    let items: Vec<_> = (0..40u8)
        .filter(|k| owners[0].contains(k))
        .map(|k| (k, u32::from(k)))
        .collect();
    let input = stage::generate(&scope, items.clone());
    let mut branches = stage::partition(&scope, input, 2, |&(key, _)| key).unwrap();
    drop(branches.pop());
    let kept = stage::collect::<_, Vec<_>>(&scope, branches.pop().unwrap());
    assert_eq!(kept.await.unwrap(), items);
    scope.wait().await.unwrap();
}

#[tokio::test]
async fn all_branches_dropped_stops_upstream_quietly_even_while_idle() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded::<u32>(4);
    let branches = stage::partition(&scope, rx, 3, |&n| n).unwrap();
    drop(branches);
    eventually("tx.is_closed()", || tx.is_closed()).await;
    scope.wait().await.unwrap();
    baseline.assert_settled().await;
}

#[tokio::test]
async fn cancel_while_blocked_on_a_full_branch() {
    support::cancel_while_blocked_on_a_full_branch(by_value, vec![7; 16]).await;
}

#[tokio::test]
async fn cancel_while_waiting_on_an_empty_input() {
    let branches = support::cancel_while_waiting_on_an_empty_input(by_value).await;
    assert!(branches.iter().all(Receiver::is_closed));
}

#[tokio::test]
async fn zero_branches_is_a_config_error() {
    support::zero_branches_is_a_config_error(by_value, "shard", "partition").await;
}

#[tokio::test(start_paused = true)]
async fn a_lone_item_is_not_held_back() {
    support::a_lone_item_is_not_held_back(by_value, 1, &[0]).await;
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn keys_stay_together_and_in_order(
        keys in prop::collection::vec(0u8..20, 0..500),
        n in 1usize..6,
        capacity in 0usize..10,
    ) {
        let items: Vec<_> = keys.into_iter().zip(0u32..).collect();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let outs = rt.block_on(run_partition(items.clone(), n, capacity));
        prop_assert_eq!(check(&items, &outs), Ok(()));
    }
}

/// `partition` keyed by the item itself, as a [`support::Split`].
fn by_value(scope: &Scope, rx: Receiver<u32>, n: usize) -> Result<Vec<Receiver<u32>>, ConfigError> {
    stage::partition(scope, rx, n, |&n| n)
}
