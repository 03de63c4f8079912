//! Issue 21's small operators as stage functions: `try_fold`,
//! `map_blocking`, `zip`, `interleave`, `concat`, `enumerate`, `chunks_by`
//! — what each promises about order, loss and its ends, with property
//! tests against the same thing done on a `Vec`.

use std::future::Future;
use std::time::Duration;

use proptest::prelude::*;
use weir_cancel::Context;
use weir_core::chan;
use weir_stage::{self as stage, ConfigError, Error, Scope};

/// One case on a fresh two-thread runtime, so the two inputs of a
/// two-input stage really race; a stuck stage fails the case.
fn run<F: Future>(case: F) -> F::Output {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(60), case)
            .await
            .expect("the stage hung")
    })
}

fn scope_with(capacity: usize) -> weir_stage::OwnedScope {
    Scope::builder(&Context::background())
        .capacity(capacity)
        .build()
}

#[tokio::test]
async fn try_fold_stops_at_the_first_error_and_names_the_stage() {
    let scope = Scope::new(&Context::background());
    let stats = scope.stats();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    let nums = stage::generate(&scope, [1u32, 2, 3, 4, 5]);
    let total = stage::try_fold(&scope.named("sum"), nums, 0u32, move |acc, n| {
        log.lock().unwrap().push(n);
        if n == 3 {
            Err("three")
        } else {
            Ok(acc + n)
        }
    });
    let err = scope.wait().await.unwrap_err();
    assert!(matches!(&err, Error::Failed { stage, .. } if &**stage == "sum"));
    assert_eq!(
        std::error::Error::source(&err).unwrap().to_string(),
        "three"
    );
    assert!(total.await.is_err(), "a failed fold has no result");
    assert_eq!(*seen.lock().unwrap(), [1, 2, 3], "nothing after the error");
    assert_eq!(stats.stage("sum").unwrap().errors, 1);
}

#[tokio::test]
async fn try_fold_without_errors_is_fold() {
    let scope = Scope::new(&Context::background());
    let nums = stage::generate(&scope, 1..=1000u64);
    let total = stage::try_fold(&scope, nums, 0, |a, n| Ok::<_, Error>(a + n));
    assert_eq!(total.await.unwrap(), 500_500);
    scope.wait().await.unwrap();
}

#[tokio::test]
async fn map_blocking_keeps_order_with_jobs_finishing_out_of_order() {
    let scope = Scope::new(&Context::background());
    let nums = stage::generate(&scope, 0..40u64);
    let out = stage::map_blocking(&scope, nums, 8, |n| {
        // Earlier items take longer on their blocking thread.
        std::thread::sleep(Duration::from_micros(400 - n * 10));
        n * 2
    })
    .unwrap();
    let all = stage::collect::<_, Vec<_>>(&scope, out);
    assert_eq!(
        all.await.unwrap(),
        (0..40).map(|n| n * 2).collect::<Vec<_>>()
    );
    scope.wait().await.unwrap();
}

#[tokio::test]
async fn map_blocking_runs_at_most_n_at_once() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let (now, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (n, m) = (now.clone(), most.clone());
    let scope = Scope::new(&Context::background());
    let nums = stage::generate(&scope, 0..64u32);
    let out = stage::map_blocking(&scope, nums, 3, move |x| {
        let running = n.fetch_add(1, Ordering::SeqCst) + 1;
        m.fetch_max(running, Ordering::SeqCst);
        std::thread::sleep(Duration::from_micros(200));
        n.fetch_sub(1, Ordering::SeqCst);
        x
    })
    .unwrap();
    assert_eq!(stage::count(&scope, out).await.unwrap(), 64);
    scope.wait().await.unwrap();
    let most = most.load(Ordering::SeqCst);
    assert!((1..=3).contains(&most), "{most} jobs ran at once");
}

#[tokio::test]
async fn map_blocking_panic_is_a_stage_error_not_a_hang() {
    let scope = Scope::new(&Context::background());
    let nums = stage::generate(&scope, 0..10u32);
    let out = stage::map_blocking(&scope.named("hash"), nums, 2, |n| {
        assert!(n != 4, "bad block {n}");
        n
    })
    .unwrap();
    let _all = stage::collect::<_, Vec<_>>(&scope, out);
    let err = tokio::time::timeout(Duration::from_secs(30), scope.wait())
        .await
        .expect("a panic in a blocking job must not hang the stage")
        .unwrap_err();
    match err {
        Error::Panicked { stage, message } => {
            assert_eq!(&*stage, "hash");
            assert!(message.contains("bad block 4"), "{message}");
        }
        other => panic!("unexpected: {other:?}"),
    }
}

#[tokio::test]
async fn map_blocking_zero_is_a_config_error() {
    let scope = Scope::new(&Context::background());
    let nums = stage::generate(&scope, 0..1u8);
    let err = stage::map_blocking(&scope.named("cpu"), nums, 0, |n| n).unwrap_err();
    assert!(matches!(err, ConfigError::Zero { ref stage, .. } if &**stage == "cpu"));
}

#[tokio::test]
async fn zip_ends_with_the_shorter_input_and_stops_the_other() {
    let scope = Scope::new(&Context::background());
    let short = stage::generate(&scope, ["a", "b"]);
    let endless = stage::generate(&scope, 0u64..);
    let pairs = stage::collect::<_, Vec<_>>(&scope, stage::zip(&scope, endless, short));
    assert_eq!(pairs.await.unwrap(), [(0, "a"), (1, "b")]);
    // The endless generator stopped: the scope ends.
    scope.wait().await.unwrap();
}

#[tokio::test]
async fn zip_ends_when_an_idle_input_is_ended_by_the_other() {
    // `left` never sends and never closes while `right` ends: the zip must
    // end anyway (no pair can come), not wait on `left`.
    let scope = Scope::new(&Context::background());
    let (_keep_open, left) = chan::bounded::<u8>(1);
    let right = stage::generate(&scope, Vec::<u8>::new());
    let pairs = stage::collect::<_, Vec<_>>(&scope, stage::zip(&scope, left, right));
    assert!(pairs.await.unwrap().is_empty());
    scope.wait().await.unwrap();
}

#[tokio::test]
async fn interleave_alternates_strictly_then_follows_the_longer() {
    let scope = Scope::new(&Context::background());
    let a = stage::generate(&scope, [1, 3]);
    let b = stage::generate(&scope, [2, 4, 6, 8]);
    let out = stage::collect::<_, Vec<_>>(&scope, stage::interleave(&scope, a, b));
    assert_eq!(out.await.unwrap(), [1, 2, 3, 4, 6, 8]);
    scope.wait().await.unwrap();
}

#[tokio::test]
async fn concat_reads_the_second_only_after_the_first() {
    let scope = Scope::new(&Context::background());
    let (tx, first) = chan::bounded(4);
    let second = stage::generate(&scope, [10, 11]);
    let out = stage::concat(&scope, first, second);
    tx.send(1).await.unwrap();
    assert_eq!(out.recv().await, Some(1));
    // `second` is ready, yet nothing of it comes while `first` is open.
    tokio::task::yield_now().await;
    assert!(out.try_recv().is_err());
    tx.send(2).await.unwrap();
    drop(tx);
    let mut rest = Vec::new();
    while let Some(n) = out.recv().await {
        rest.push(n);
    }
    assert_eq!(rest, [2, 10, 11]);
    scope.wait().await.unwrap();
}

#[tokio::test]
async fn chunks_by_sends_the_last_group_at_the_end() {
    let scope = Scope::new(&Context::background());
    let words = stage::generate(
        &scope,
        ["apple", "avocado", "banana", "blueberry", "cherry"],
    );
    let groups = stage::chunks_by(&scope, words, |w: &&str| w.as_bytes()[0]);
    let all = stage::collect::<_, Vec<_>>(&scope, groups);
    assert_eq!(
        all.await.unwrap(),
        [
            vec!["apple", "avocado"],
            vec!["banana", "blueberry"],
            vec!["cherry"]
        ]
    );
    scope.wait().await.unwrap();
}

#[tokio::test]
async fn chunks_by_flushes_the_open_group_on_shutdown() {
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded(8);
    let (sent, all_sent) = tokio::sync::oneshot::channel();
    // A source that never ends on its own: only `shutdown` ends it.
    scope.spawn_source(async move {
        for n in [1, 1, 2] {
            tx.send(n).await?;
        }
        let _ = sent.send(());
        std::future::pending::<()>().await;
        Ok::<_, chan::SendError<i32>>(())
    });
    let groups = stage::chunks_by(&scope, rx, |n: &i32| *n);
    let all = stage::collect::<_, Vec<_>>(&scope, groups);
    all_sent.await.unwrap(); // the group of 2 is open now
    scope.shutdown().await.unwrap();
    assert_eq!(all.await.unwrap(), [vec![1, 1], vec![2]]);
}

#[tokio::test]
async fn enumerate_counts_across_batches() {
    let scope = scope_with(1);
    let items = stage::generate(&scope, vec!['x'; 2000]);
    let out = stage::collect::<_, Vec<_>>(&scope, stage::enumerate(&scope, items));
    let idx: Vec<u64> = out.await.unwrap().into_iter().map(|(i, _)| i).collect();
    assert_eq!(idx, (0..2000).collect::<Vec<_>>());
}

fn input() -> impl Strategy<Value = Vec<u16>> {
    prop::collection::vec(any::<u16>(), 0..700)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn zip_is_iterator_zip(a in input(), b in input(), capacity in 0usize..6) {
        let got = run(async {
            let scope = scope_with(capacity);
            let (l, r) = (stage::generate(&scope, a.clone()), stage::generate(&scope, b.clone()));
            let out = stage::collect::<_, Vec<_>>(&scope, stage::zip(&scope, l, r));
            scope.wait().await.unwrap();
            out.await.unwrap()
        });
        let want: Vec<_> = a.iter().copied().zip(b.iter().copied()).collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn interleave_takes_turns_then_the_rest(a in input(), b in input(), capacity in 0usize..6) {
        let got = run(async {
            let scope = scope_with(capacity);
            let (l, r) = (stage::generate(&scope, a.clone()), stage::generate(&scope, b.clone()));
            let out = stage::collect::<_, Vec<_>>(&scope, stage::interleave(&scope, l, r));
            scope.wait().await.unwrap();
            out.await.unwrap()
        });
        let n = a.len().min(b.len());
        let mut want = Vec::new();
        for i in 0..n {
            want.push(a[i]);
            want.push(b[i]);
        }
        want.extend(&a[n..]);
        want.extend(&b[n..]);
        prop_assert_eq!(got, want);
    }

    #[test]
    fn concat_is_chain(a in input(), b in input(), capacity in 0usize..6) {
        let got = run(async {
            let scope = scope_with(capacity);
            let (l, r) = (stage::generate(&scope, a.clone()), stage::generate(&scope, b.clone()));
            let out = stage::collect::<_, Vec<_>>(&scope, stage::concat(&scope, l, r));
            scope.wait().await.unwrap();
            out.await.unwrap()
        });
        let want: Vec<_> = a.iter().chain(&b).copied().collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn enumerate_is_iterator_enumerate(a in input(), capacity in 0usize..6) {
        let got = run(async {
            let scope = scope_with(capacity);
            let l = stage::generate(&scope, a.clone());
            let out = stage::collect::<_, Vec<_>>(&scope, stage::enumerate(&scope, l));
            scope.wait().await.unwrap();
            out.await.unwrap()
        });
        let want: Vec<_> = a.iter().enumerate().map(|(i, &x)| (i as u64, x)).collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn chunks_by_is_slice_chunk_by(a in input(), modulus in 1u16..5, capacity in 0usize..6) {
        // Few distinct keys, so runs are long and cross batch boundaries.
        let got = run(async {
            let scope = scope_with(capacity);
            let l = stage::generate(&scope, a.clone());
            let out = stage::chunks_by(&scope, l, move |x: &u16| (x % 7) / modulus);
            let out = stage::collect::<_, Vec<_>>(&scope, out);
            scope.wait().await.unwrap();
            out.await.unwrap()
        });
        let want: Vec<Vec<u16>> = a
            .chunk_by(|x, y| (x % 7) / modulus == (y % 7) / modulus)
            .map(<[u16]>::to_vec)
            .collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn map_blocking_is_map(a in input(), n in 1usize..6, capacity in 0usize..6) {
        let got = run(async {
            let scope = scope_with(capacity);
            let l = stage::generate(&scope, a.clone());
            let out = stage::map_blocking(&scope, l, n, |x: u16| u32::from(x) * 3).unwrap();
            let out = stage::collect::<_, Vec<_>>(&scope, out);
            scope.wait().await.unwrap();
            out.await.unwrap()
        });
        let want: Vec<u32> = a.iter().map(|&x| u32::from(x) * 3).collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn try_fold_folds_the_prefix_before_the_first_error(a in input(), limit in any::<u16>()) {
        // Fails at the first item above `limit`.
        let (ok, err) = run(async {
            let scope = scope_with(4);
            let l = stage::generate(&scope, a.clone());
            let out = stage::try_fold(&scope, l, 0u64, move |acc, x: u16| {
                if x > limit { Err(format!("{x}")) } else { Ok(acc + u64::from(x)) }
            });
            let res = scope.wait().await;
            (out.await.ok(), res.err().map(|e| std::error::Error::source(&e).unwrap().to_string()))
        });
        match a.iter().position(|&x| x > limit) {
            Some(i) => {
                prop_assert_eq!(ok, None);
                prop_assert_eq!(err, Some(a[i].to_string()));
            }
            None => {
                prop_assert_eq!(ok, Some(a.iter().map(|&x| u64::from(x)).sum::<u64>()));
                prop_assert_eq!(err, None);
            }
        }
    }
}
