//! `stage::route`: each item to the branch a function picks.

use weir_cancel::Context;
use weir_core::chan;
use weir_stage::testing::TaskBaseline;
use weir_stage::{self as stage, BranchOutOfRange, ConfigError, Error, Scope};

#[tokio::test]
async fn each_item_goes_to_the_branch_it_names_in_order() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let nums = stage::generate(&scope, 0..1_000u32);
    let branches = stage::route(&scope, nums, 3, |n| (n % 3) as usize).unwrap();
    let outs: Vec<_> = branches
        .into_iter()
        .map(|b| stage::collect::<_, Vec<_>>(&scope, b))
        .collect();
    scope.wait().await.unwrap();
    for (k, out) in outs.into_iter().enumerate() {
        let want: Vec<u32> = (0..1_000).filter(|n| (n % 3) as usize == k).collect();
        assert_eq!(out.await.unwrap(), want, "branch {k}");
    }
    baseline.assert_settled().await;
}

#[tokio::test]
async fn ok_and_err_go_to_two_sinks() {
    let scope = Scope::new(&Context::background());
    let parsed = stage::map(
        &scope,
        stage::generate(&scope, ["1", "x", "3", "y"]),
        |s: &str| s.parse::<u8>().map_err(|_| s),
    );
    let [ok, err]: [_; 2] = stage::route(&scope, parsed, 2, |r| usize::from(r.is_err()))
        .unwrap()
        .try_into()
        .unwrap();
    let ok = stage::collect::<_, Vec<_>>(&scope, stage::map(&scope, ok, Result::unwrap));
    let err = stage::collect::<_, Vec<_>>(&scope, stage::map(&scope, err, Result::unwrap_err));
    scope.wait().await.unwrap();
    assert_eq!(ok.await.unwrap(), [1, 3]);
    assert_eq!(err.await.unwrap(), ["x", "y"]);
}

#[tokio::test]
async fn an_index_out_of_range_is_a_typed_error_naming_the_stage() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let nums = stage::generate(&scope, 0..10usize);
    let branches = stage::route(&scope.named("router"), nums, 3, |n| *n).unwrap();
    let outs: Vec<_> = branches
        .into_iter()
        .map(|b| stage::collect::<_, Vec<_>>(&scope, b))
        .collect();
    let err = scope.wait().await.unwrap_err();
    let Error::Failed { stage, source } = err else {
        panic!("expected a failure, got {err:?}");
    };
    assert_eq!(&*stage, "router");
    let why = source.downcast_ref::<BranchOutOfRange>().unwrap();
    assert_eq!((why.index, why.branches), (3, 3));
    assert_eq!(
        why.to_string(),
        "item routed to branch 3, but there are only 3 branches"
    );
    drop(outs);
    baseline.assert_settled().await;
}

#[tokio::test]
async fn items_before_an_out_of_range_index_are_delivered() {
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded(8);
    tx.send_all(vec![0usize, 1, 0, 7]).await.unwrap();
    drop(tx);
    let [a, b]: [_; 2] = stage::route(&scope, rx, 2, |n| *n)
        .unwrap()
        .try_into()
        .unwrap();
    assert!(scope.wait().await.is_err());
    let (mut got_a, mut got_b) = (Vec::new(), Vec::new());
    while let Some(n) = a.recv().await {
        got_a.push(n);
    }
    while let Some(n) = b.recv().await {
        got_b.push(n);
    }
    assert_eq!((got_a, got_b), (vec![0, 0], vec![1]));
}

#[tokio::test]
async fn a_panic_in_index_names_the_stage() {
    let scope = Scope::new(&Context::background());
    let nums = stage::generate(&scope, 0..4usize);
    let branches = stage::route(&scope.named("pick"), nums, 2, |n| {
        assert!(*n < 2, "too big");
        *n
    })
    .unwrap();
    let _outs: Vec<_> = branches
        .into_iter()
        .map(|b| stage::for_each(&scope, b, drop))
        .collect();
    let err = scope.wait().await.unwrap_err();
    assert!(
        matches!(err, Error::Panicked { ref stage, .. } if &**stage == "pick"),
        "{err:?}"
    );
}

#[tokio::test]
async fn zero_branches_is_a_config_error() {
    let scope = Scope::new(&Context::background());
    let (_tx, rx) = chan::bounded::<u8>(1);
    let err = stage::route(&scope, rx, 0, |_| 0).unwrap_err();
    assert!(matches!(
        err,
        ConfigError::Zero {
            what: "branches",
            ..
        }
    ));
}
