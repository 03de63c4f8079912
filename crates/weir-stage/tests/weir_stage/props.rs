//! Property tests: for random inputs, channel capacities and worker counts,
//! no stage loses or duplicates an item, and the stages that promise order
//! keep it — checked against a plain sequential loop.
//!
//! Every case builds its own multi-thread runtime, so workers really run in
//! parallel and items really race.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use weir_cancel::Context;
use weir_core::chan;
use weir_stage::{self as stage, Backoff, OwnedScope, Policy, Scope, WorkerPool};

type Io = std::io::Error;

/// Runs one case on a fresh two-thread runtime; a stuck pipeline fails the
/// case instead of hanging the suite.
fn run<F: Future>(case: F) -> F::Output {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(60), case)
            .await
            .expect("the pipeline hung")
    })
}

/// A scope with the given channel capacity (`None`: the default).
fn scope(capacity: Option<usize>) -> OwnedScope {
    let builder = Scope::builder(&Context::background());
    match capacity {
        Some(capacity) => builder.capacity(capacity).build(),
        None => builder.build(),
    }
}

fn capacity() -> impl Strategy<Value = Option<usize>> {
    prop_oneof![Just(None), (0usize..8).prop_map(Some)]
}

fn input() -> impl Strategy<Value = Vec<u32>> {
    prop::collection::vec(any::<u32>(), 0..500)
}

/// Some work that takes a few polls, so futures finish out of order.
async fn work(n: u32) -> u64 {
    for _ in 0..n % 4 {
        tokio::task::yield_now().await;
    }
    u64::from(n) * 3 + 1
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort_unstable();
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn worker_pool_loses_and_duplicates_nothing(
        input in input(),
        capacity in capacity(),
        workers in 1usize..5,
        resize_to in 1usize..5,
    ) {
        let got = run(async {
            let scope = scope(capacity);
            let jobs = stage::generate(&scope, input.clone());
            let (results, pool) = WorkerPool::new(workers)
                .spawn(&scope, jobs, |n| async move { Ok::<_, Io>(work(n).await) })
                .unwrap();
            pool.resize(resize_to).unwrap();
            let all = stage::collect::<_, Vec<_>>(&scope, results);
            scope.wait().await.unwrap();
            all.await.unwrap()
        });
        let expected: Vec<u64> = input.iter().map(|&n| u64::from(n) * 3 + 1).collect();
        prop_assert_eq!(sorted(got), sorted(expected));
    }

    #[test]
    fn worker_pool_policies_account_for_every_job(
        input in input(),
        capacity in capacity(),
        workers in 1usize..5,
        skip in any::<bool>(),
    ) {
        // Jobs divisible by 5 fail on every attempt; those divisible by 3
        // fail only on their first attempt, and the retry saves them.
        let first_try = Arc::new(std::sync::Mutex::new(std::collections::HashSet::new()));
        let (kept, dead, failed) = run(async {
            let scope = scope(capacity);
            let (dead_tx, dead_rx) = chan::unbounded();
            let policy = if skip {
                drop(dead_tx);
                Policy::skip()
            } else {
                Policy::dead_letter(dead_tx)
            };
            let jobs = stage::generate(&scope, input.clone());
            let (results, pool) = WorkerPool::new(workers)
                .retry(2, Backoff::none())
                .on_error(policy)
                .spawn(&scope, jobs, move |n: u32| {
                    let retried = !first_try.lock().unwrap().insert(n);
                    async move {
                        tokio::task::yield_now().await;
                        if n % 5 == 0 || (n % 3 == 0 && !retried) {
                            Err("a failing job")
                        } else {
                            Ok(n)
                        }
                    }
                })
                .unwrap();
            let kept = stage::collect::<_, Vec<_>>(&scope, results);
            scope.wait().await.unwrap();
            // The pool has ended, so the dead letters are all there (and
            // the channel is closed: `try_recv` never blocks the runtime).
            let dead: Vec<u32> = std::iter::from_fn(|| dead_rx.try_recv().ok())
                .map(|(n, _)| n)
                .collect();
            assert!(dead_rx.is_closed());
            (kept.await.unwrap(), dead, pool.failed())
        });
        let (bad, good): (Vec<u32>, Vec<u32>) = input.iter().partition(|&&n| n % 5 == 0);
        prop_assert_eq!(sorted(kept), sorted(good));
        prop_assert_eq!(failed, bad.len() as u64);
        if skip {
            prop_assert!(dead.is_empty());
        } else {
            prop_assert_eq!(sorted(dead), sorted(bad));
        }
    }

    #[test]
    fn map_unordered_loses_and_duplicates_nothing(
        input in input(),
        capacity in capacity(),
        n in 1usize..5,
    ) {
        let got = run(async {
            let scope = scope(capacity);
            let nums = stage::generate(&scope, input.clone());
            let out = stage::map_unordered(&scope, nums, n, work).unwrap();
            let all = stage::collect::<_, Vec<_>>(&scope, out);
            scope.wait().await.unwrap();
            all.await.unwrap()
        });
        let expected: Vec<u64> = input.iter().map(|&n| u64::from(n) * 3 + 1).collect();
        prop_assert_eq!(sorted(got), sorted(expected));
    }

    #[test]
    fn ordered_chains_match_the_sequential_loop(
        input in input(),
        capacity in capacity(),
        n in 1usize..5,
    ) {
        // map -> map_concurrent -> filter -> map_concurrent: order is kept
        // at every step, so the output is exactly the loop's.
        let got = run(async {
            let scope = scope(capacity);
            let nums = stage::generate(&scope, input.clone());
            let halves = stage::map(&scope, nums, |n| n / 2);
            let worked = stage::map_concurrent(&scope, halves, n, work).unwrap();
            let odd = stage::filter(&scope, worked, |n| n % 2 == 1);
            let tagged = stage::map_concurrent(&scope, odd, n + 1, |n| async move {
                tokio::task::yield_now().await;
                n.wrapping_mul(7)
            })
            .unwrap();
            let all = stage::collect::<_, Vec<_>>(&scope, tagged);
            scope.wait().await.unwrap();
            all.await.unwrap()
        });
        let expected: Vec<u64> = input
            .iter()
            .map(|&n| u64::from(n / 2) * 3 + 1)
            .filter(|n| n % 2 == 1)
            .map(|n| n.wrapping_mul(7))
            .collect();
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn random_chains_with_batching_keep_order_and_lose_nothing(
        input in input(),
        capacity in capacity(),
        steps in prop::collection::vec((0u8..4, 1usize..9), 0..6),
    ) {
        // Random sequences of map / filter / batch→unbatch / a batch
        // summed per group: every step keeps order, so the output is
        // exactly the loop's.
        let got = run(async {
            let scope = scope(capacity);
            let mut items = stage::generate(&scope, input.iter().map(|&n| u64::from(n)).collect::<Vec<_>>());
            for &(kind, k) in &steps {
                items = match kind {
                    0 => stage::map(&scope, items, move |n: u64| n.wrapping_mul(3).wrapping_add(k as u64)),
                    1 => stage::filter(&scope, items, move |n: &u64| n % (k as u64 + 1) != 0),
                    2 => {
                        let groups = stage::batch(&scope, items, k, Duration::from_millis(1)).unwrap();
                        stage::unbatch(&scope, groups)
                    }
                    _ => {
                        let groups = stage::batch(&scope, items, k, Duration::MAX).unwrap();
                        stage::map(&scope, groups, |g: Vec<u64>| g.iter().fold(0u64, |a, n| a.wrapping_add(*n)))
                    }
                };
            }
            let all = stage::collect::<_, Vec<_>>(&scope, items);
            scope.wait().await.unwrap();
            all.await.unwrap()
        });
        let mut expected: Vec<u64> = input.iter().map(|&n| u64::from(n)).collect();
        for &(kind, k) in &steps {
            expected = match kind {
                0 => expected.into_iter().map(|n| n.wrapping_mul(3).wrapping_add(k as u64)).collect(),
                1 => expected.into_iter().filter(|n| n % (k as u64 + 1) != 0).collect(),
                2 => expected,
                // With no time limit, groups are exactly `k` long (the last
                // one shorter).
                _ => expected.chunks(k).map(|g| g.iter().fold(0u64, |a, n| a.wrapping_add(*n))).collect(),
            };
        }
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn for_each_concurrent_sees_every_item_once(
        input in input(),
        capacity in capacity(),
        n in 1usize..5,
    ) {
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let s = seen.clone();
        let items = input.clone();
        run(async move {
            let scope = scope(capacity);
            let nums = stage::generate(&scope, items);
            let done = stage::for_each_concurrent(&scope, nums, n, move |n| {
                let s = s.clone();
                async move {
                    let v = work(n).await;
                    s.lock().unwrap().push(v);
                }
            })
            .unwrap();
            scope.wait().await.unwrap();
            done.await.unwrap();
        });
        let got = seen.lock().unwrap().clone();
        let expected: Vec<u64> = input.iter().map(|&n| u64::from(n) * 3 + 1).collect();
        prop_assert_eq!(sorted(got), sorted(expected));
    }
}
