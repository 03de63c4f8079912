//! `Recovery`: retries with backoff and jitter, a predicate for transient
//! errors, and a policy for jobs that failed for good (fail, skip, dead
//! letter) — one piece of code under `WorkerPool`, `try_then`,
//! `try_map_concurrent` and `try_map_unordered`, counted in `StageStats`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;
use weir_cancel::Context;
use weir_core::chan;
use weir_stage::{
    self as stage, Backoff, BoxError, ConfigError, Error, Policy, Recovery, Scope, WorkerPool,
};

const MS: fn(u64) -> Duration = Duration::from_millis;

#[derive(Debug, thiserror::Error)]
#[error("transient")]
struct Transient;

/// Counts the calls per job.
#[derive(Clone, Default)]
struct Calls(Arc<Mutex<HashMap<u32, u32>>>);

impl Calls {
    /// Records a call for `job`; returns its number (1 for the first).
    fn call(&self, job: u32) -> u32 {
        let mut calls = self.0.lock().unwrap();
        let n = calls.entry(job).or_default();
        *n += 1;
        *n
    }

    fn of(&self, job: u32) -> u32 {
        self.0.lock().unwrap().get(&job).copied().unwrap_or(0)
    }
}

#[test]
fn jitter_keeps_every_wait_between_the_delay_less_its_ratio_and_the_delay() {
    for ratio in [0.1, 0.5, 1.0] {
        let backoff = Backoff::exponential(MS(100)).jitter(ratio);
        for retry in 1..=4 {
            let nominal = backoff.delay(retry);
            let low = nominal.mul_f64(1.0 - ratio);
            let waits: Vec<Duration> = (0..500).map(|_| backoff.sample(retry)).collect();
            assert!(
                waits.iter().all(|w| *w >= low && *w <= nominal),
                "ratio {ratio}, retry {retry}: a wait out of [{low:?}, {nominal:?}]"
            );
            // 500 draws all in one half of the range: chance 2^-499.
            let mid = nominal.mul_f64(1.0 - ratio / 2.0);
            assert!(waits.iter().any(|w| *w < mid) && waits.iter().any(|w| *w > mid));
        }
    }
    let exact = Backoff::fixed(MS(250));
    assert!((0..100).all(|_| exact.sample(3) == MS(250)));
}

#[tokio::test(start_paused = true)]
async fn retries_wait_the_jittered_backoff_on_the_paused_clock() {
    let scope = Scope::new(&Context::background());
    let stats = scope.stats();
    let recovery = Recovery::new()
        .retry(3, Backoff::fixed(Duration::from_secs(1)).jitter(0.5))
        .on_error(Policy::skip());
    let jobs = stage::generate(&scope, [7u32]);
    let start = Instant::now();
    let out = stage::try_then(&scope.named("flaky"), jobs, recovery, |_| async {
        Err::<u32, _>("down")
    })
    .unwrap();
    assert_eq!(stage::count(&scope, out).await.unwrap(), 0);
    let waited = start.elapsed();
    // Two retries, each waiting between 0.5 s and 1 s.
    assert!(
        waited >= MS(1000) && waited <= MS(2000),
        "waited {waited:?}"
    );
    scope.wait().await.unwrap();
    let flaky = stats.stage("flaky").unwrap();
    assert_eq!((flaky.retries, flaky.skipped, flaky.errors), (2, 1, 0));
}

#[tokio::test(start_paused = true)]
async fn only_errors_the_predicate_calls_transient_are_retried() {
    let scope = Scope::new(&Context::background());
    let stats = scope.stats();
    let calls = Calls::default();
    let (dead_tx, dead_rx) = chan::unbounded();
    let recovery = Recovery::new()
        .retry(4, Backoff::exponential(MS(10)))
        .retry_if(|e: &BoxError| e.is::<Transient>())
        .on_error(Policy::dead_letter(dead_tx));
    let jobs = stage::generate(&scope, 1..=3u32);
    let counter = calls.clone();
    let out = stage::try_map_concurrent(&scope.named("fetch"), jobs, 3, recovery, move |job| {
        let n = counter.call(job);
        async move {
            match job {
                1 if n < 3 => Err(BoxError::from(Transient)), // works at the 3rd attempt
                2 => Err(BoxError::from(Transient)),          // never works
                3 => Err(BoxError::from("permanent")),        // not worth a retry
                _ => Ok(job),
            }
        }
    })
    .unwrap();
    let got = stage::collect::<_, Vec<_>>(&scope, out);
    scope.wait().await.unwrap();
    assert_eq!(got.await.unwrap(), [1]);
    assert_eq!((calls.of(1), calls.of(2), calls.of(3)), (3, 4, 1));
    let mut dead = Vec::new();
    while let Some((job, err)) = dead_rx.recv().await {
        dead.push((job, err.to_string()));
    }
    dead.sort();
    assert_eq!(
        dead,
        [(2, "transient".to_string()), (3, "permanent".to_string())]
    );
    let fetch = stats.stage("fetch").unwrap();
    assert_eq!(
        (fetch.retries, fetch.dead_lettered, fetch.skipped),
        (2 + 3, 2, 0)
    );
    assert_eq!(fetch.errors, 0);
}

#[tokio::test(start_paused = true)]
async fn skip_drops_failed_jobs_and_counts_them() {
    let scope = Scope::new(&Context::background());
    let stats = scope.stats();
    let recovery = Recovery::new()
        .retry(2, Backoff::none())
        .on_error(Policy::skip());
    let jobs = stage::generate(&scope, 1..=10u32);
    let out = stage::try_map_unordered(&scope.named("odd"), jobs, 4, recovery, |n| async move {
        if n % 2 == 0 {
            Err("even")
        } else {
            Ok(n)
        }
    })
    .unwrap();
    let mut got = stage::collect::<_, Vec<_>>(&scope, out).await.unwrap();
    got.sort_unstable();
    assert_eq!(got, [1, 3, 5, 7, 9]);
    scope.wait().await.unwrap();
    let odd = stats.stage("odd").unwrap();
    assert_eq!((odd.retries, odd.skipped, odd.errors), (5, 5, 0));
}

#[tokio::test]
async fn fail_is_a_stage_error_naming_the_stage() {
    for kind in ["then", "map_concurrent", "map_unordered"] {
        let scope = Scope::new(&Context::background());
        let jobs = stage::generate(&scope, ["1", "x", "3"]);
        let view = scope.named("parse");
        let parse = |s: &'static str| async move { s.parse::<u8>() };
        let out = match kind {
            "then" => stage::try_then(&view, jobs, Recovery::new(), parse),
            "map_concurrent" => stage::try_map_concurrent(&view, jobs, 2, Recovery::new(), parse),
            _ => stage::try_map_unordered(&view, jobs, 2, Recovery::new(), parse),
        }
        .unwrap();
        let _sink = stage::for_each(&scope, out, drop);
        let err = scope.wait().await.unwrap_err();
        assert!(
            matches!(&err, Error::Failed { stage, .. } if &**stage == "parse"),
            "{kind}: {err:?}"
        );
        let cause = std::error::Error::source(&err).unwrap();
        assert_eq!(cause.to_string(), "invalid digit found in string");
    }
}

#[tokio::test(start_paused = true)]
async fn a_panic_is_retried_without_a_predicate_and_not_with_one() {
    for (predicate, expected_calls) in [(false, 3), (true, 1)] {
        let scope = Scope::new(&Context::background());
        let calls = Arc::new(AtomicU32::new(0));
        let mut recovery = Recovery::new()
            .retry(3, Backoff::none())
            .on_error(Policy::skip());
        if predicate {
            recovery = recovery.retry_if(|_: &BoxError| true);
        }
        let counter = calls.clone();
        let jobs = stage::generate(&scope, [1u32]);
        let out = stage::try_then(&scope, jobs, recovery, move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
            async { panic!("boom") as Result<u32, BoxError> }
        })
        .unwrap();
        assert_eq!(stage::count(&scope, out).await.unwrap(), 0);
        scope.wait().await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), expected_calls);
    }
}

#[tokio::test]
async fn a_panic_under_fail_is_reported_as_a_panic_of_the_stage() {
    let scope = Scope::new(&Context::background());
    let jobs = stage::generate(&scope, [1u32]);
    let out =
        stage::try_map_concurrent(&scope.named("boom"), jobs, 2, Recovery::new(), |_| async {
            panic!("kaboom") as Result<u32, BoxError>
        })
        .unwrap();
    let _sink = stage::for_each(&scope, out, drop);
    let err = scope.wait().await.unwrap_err();
    assert!(
        matches!(&err, Error::Panicked { stage, message } if &**stage == "boom" && message == "kaboom")
    );
}

#[tokio::test]
async fn zero_attempts_is_a_config_error_for_every_door() {
    let scope = Scope::new(&Context::background());
    let zero = || Recovery::<u32>::new().retry(0, Backoff::none());
    let f = |n: u32| async move { Ok::<_, BoxError>(n) };
    let expected = |stage: &str| ConfigError::Zero {
        stage: stage.into(),
        what: "retry attempts",
    };
    let jobs = stage::generate(&scope, 0..1u32);
    let err = stage::try_then(&scope.named("a"), jobs, zero(), f).unwrap_err();
    assert_eq!(err, expected("a"));
    let jobs = stage::generate(&scope, 0..1u32);
    let err = stage::try_map_concurrent(&scope.named("b"), jobs, 2, zero(), f).unwrap_err();
    assert_eq!(err, expected("b"));
    let jobs = stage::generate(&scope, 0..1u32);
    let err = stage::try_map_unordered(&scope.named("c"), jobs, 2, zero(), f).unwrap_err();
    assert_eq!(err, expected("c"));
    let jobs = stage::generate(&scope, 0..1u32);
    let err = WorkerPool::new(2)
        .with_recovery(zero())
        .spawn(&scope.named("d"), jobs, f)
        .unwrap_err();
    assert_eq!(err, expected("d"));
}

/// The report: a pool that dead-letters 115 items said `errors 0`
/// and nothing else. Its statistics now say what happened.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_counts_its_retries_and_dead_letters() {
    let scope = Scope::new(&Context::background());
    let stats = scope.stats();
    let (dead_tx, dead_rx) = chan::unbounded();
    let jobs = stage::generate(&scope, 0..1_000u32);
    let (out, pool) = WorkerPool::new(4)
        .retry(2, Backoff::none())
        .on_error(Policy::dead_letter(dead_tx))
        .spawn(&scope.named("pool"), jobs, |n| async move {
            if n % 9 == 0 {
                Err("bad")
            } else {
                Ok(n)
            }
        })
        .unwrap();
    let ok = stage::count(&scope, out);
    scope.wait().await.unwrap();
    let dead = (0..1_000u32).filter(|n| n % 9 == 0).count() as u64;
    assert_eq!(dead, 112);
    assert_eq!(ok.await.unwrap(), 1_000 - dead);
    let mut lettered = 0;
    while dead_rx.recv().await.is_some() {
        lettered += 1;
    }
    assert_eq!(lettered, dead);
    let s = stats.stage("pool").unwrap();
    assert_eq!(
        (s.retries, s.dead_lettered, s.skipped, s.errors),
        (dead, dead, 0, 0)
    );
    assert_eq!(pool.failed(), dead);
}
