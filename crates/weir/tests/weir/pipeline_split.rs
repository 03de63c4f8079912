//! Splits as arrays (`let [a, b, c] = flow.broadcast();`), their `Vec`
//! twins for a count known at run time, and `route`.

use weir::cancel::Context;
use weir::pipeline::Pipeline;
use weir::stage::{BranchOutOfRange, ConfigError, Error as StageError};
use weir::Error;

const N: u64 = 1_000;

fn pipeline() -> Pipeline {
    Pipeline::new(&Context::background())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcast_destructures_into_three_branches() {
    let p = pipeline();
    let [a, b, c] = p.source(0..N).broadcast::<3>();
    let (a, b, c) = (
        a.collect::<Vec<_>>(),
        b.fold(0, |s, n| s + n),
        c.filter(|n| n % 2 == 0).count(),
    );
    assert_eq!(a.await.unwrap(), (0..N).collect::<Vec<_>>());
    assert_eq!(b.await.unwrap(), N * (N - 1) / 2);
    assert_eq!(c.await.unwrap(), N / 2);
}

#[tokio::test(flavor = "current_thread")]
async fn round_robin_array_deals_in_turn() {
    let p = pipeline();
    let [a, b, c] = p.source(0..9).round_robin();
    let (a, b, c) = (
        a.collect::<Vec<_>>(),
        b.collect::<Vec<_>>(),
        c.collect::<Vec<_>>(),
    );
    assert_eq!(a.await.unwrap(), [0, 3, 6]);
    assert_eq!(b.await.unwrap(), [1, 4, 7]);
    assert_eq!(c.await.unwrap(), [2, 5, 8]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn balance_array_loses_and_duplicates_nothing() {
    let p = pipeline();
    let [a, b] = p.source(0..N).balance::<2>();
    let mut v = a.merge([b]).collect::<Vec<_>>().await.unwrap();
    v.sort_unstable();
    assert_eq!(v, (0..N).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partition_array_keeps_a_key_on_one_branch() {
    let p = pipeline();
    let [a, b] = p.source(0..N).partition(|n| n % 7);
    let (a, b) = (a.collect::<Vec<_>>(), b.collect::<Vec<_>>());
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    assert_eq!(a.len() + b.len(), N as usize);
    for key in 0..7 {
        let on_a = a.iter().any(|n| n % 7 == key);
        let on_b = b.iter().any(|n| n % 7 == key);
        assert!(on_a != on_b, "key {key} on both or neither branch");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn route_sends_ok_and_err_to_two_sinks() {
    let p = pipeline();
    let [ok, bad] = p
        .source(["1", "x", "3", "", "5"])
        .map(|s| s.parse::<u32>())
        .route(|r| usize::from(r.is_err()));
    let sum = ok.map(Result::unwrap).fold(0, |a, n| a + n);
    let errors = bad.map(|r| r.unwrap_err().to_string()).collect::<Vec<_>>();
    assert_eq!(sum.await.unwrap(), 9);
    assert_eq!(
        errors.await.unwrap(),
        [
            "invalid digit found in string",
            "cannot parse integer from empty string"
        ]
    );
}

#[tokio::test(flavor = "current_thread")]
async fn route_out_of_range_is_a_typed_error_naming_the_stage() {
    let p = pipeline();
    let [a, b] = p.source(0..10usize).route(|n| *n);
    // `name_split` on a branch names the stage it comes out of: the route.
    let (a, b) = (a.name_split("router").collect::<Vec<_>>(), b.for_each(drop));
    let err = a.await.unwrap_err();
    assert_eq!(err.stage(), Some("router"));
    let Error::Stage(StageError::Failed { source, .. }) = &err else {
        panic!("expected a failure, got {err:?}");
    };
    let why = source.downcast_ref::<BranchOutOfRange>().unwrap();
    assert_eq!((why.index, why.branches), (2, 2));
    assert!(b.await.is_err());
}

#[tokio::test(flavor = "current_thread")]
async fn route_out_of_range_on_an_endless_source_ends_the_run() {
    // The failure cancels the pipeline: the endless source stops.
    let p = pipeline();
    let [a] = p.source(0u64..).route(|n| usize::from(*n == 5_000));
    let err = a.count().await.unwrap_err();
    assert!(err.to_string().contains("route"), "{err}");
}

#[tokio::test(flavor = "current_thread")]
async fn vec_forms_take_a_count_known_at_run_time() {
    let n = std::hint::black_box(3);
    let p = pipeline();
    let copies = p.source(0..10u32).broadcast_n(n);
    let sums: Vec<_> = copies
        .into_iter()
        .map(|c| c.fold(0, |s, x| s + x))
        .collect();
    for sum in sums {
        assert_eq!(sum.await.unwrap(), 45);
    }

    let p = pipeline();
    let by_rest = p.source(0..9u32).route_n(n, |x| (x % 3) as usize);
    let counts: Vec<_> = by_rest.into_iter().map(|b| b.count()).collect();
    for count in counts {
        assert_eq!(count.await.unwrap(), 3);
    }
}

#[tokio::test(flavor = "current_thread")]
async fn route_n_of_zero_is_a_config_error() {
    let p = pipeline();
    let branches = p.source(0..3u32).route_n(0, |_| 0);
    assert!(branches.is_empty());
    let err = p.source(0..3u32).for_each(drop).await.unwrap_err();
    assert!(
        matches!(
            err.config(),
            Some(ConfigError::Zero { stage, what: "branches" }) if &**stage == "route#1"
        ),
        "{err:?}"
    );
}
