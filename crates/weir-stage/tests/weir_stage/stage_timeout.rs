//! `Recovery::timeout`: a per-attempt time limit on every async stage
//! that runs a recovery (`try_then`, `try_map_concurrent`,
//! `try_map_unordered`, `WorkerPool`), on a paused clock. A slow job
//! times out, is retried, then goes to the policy; a fast job is
//! unaffected; the counts are exact.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use weir_cancel::Context;
use weir_core::chan;
use weir_stage::{
    self as stage, Backoff, BoxError, ConfigError, Error, Policy, Recovery, Scope, StageStats,
    TimedOut, WorkerPool,
};

const MS: fn(u64) -> Duration = Duration::from_millis;

/// The async stages that take a recovery, by name.
const KINDS: [&str; 4] = [
    "try_then",
    "try_map_concurrent",
    "try_map_unordered",
    "worker_pool",
];

type Job =
    Arc<dyn Fn(u64) -> futures::future::BoxFuture<'static, Result<u64, BoxError>> + Send + Sync>;

/// A job that sleeps `ms` and answers it.
fn sleeper() -> Job {
    Arc::new(|ms| {
        Box::pin(async move {
            tokio::time::sleep(MS(ms)).await;
            Ok(ms)
        })
    })
}

/// Runs `jobs` through the stage `kind` under `recovery`, named `stage`;
/// returns the results (sorted), the scope's outcome and the stage's
/// statistics.
async fn run(
    kind: &str,
    jobs: Vec<u64>,
    recovery: Recovery<u64>,
    f: Job,
) -> (Vec<u64>, Result<(), Error>, StageStats) {
    let scope = Scope::new(&Context::background());
    let stats = scope.stats();
    let view = scope.named("stage");
    let input = stage::generate(&scope, jobs);
    let f = move |n| f(n);
    let out = match kind {
        "try_then" => stage::try_then(&view, input, recovery, f),
        "try_map_concurrent" => stage::try_map_concurrent(&view, input, 4, recovery, f),
        "try_map_unordered" => stage::try_map_unordered(&view, input, 4, recovery, f),
        "worker_pool" => WorkerPool::new(4)
            .with_recovery(recovery)
            .spawn(&view, input, f)
            .map(|(rx, _)| rx),
        _ => unreachable!(),
    }
    .unwrap();
    let mut got = Vec::new();
    while let Some(n) = out.recv().await {
        got.push(n);
    }
    got.sort_unstable();
    let outcome = scope.wait().await;
    (got, outcome, stats.stage("stage").unwrap())
}

#[tokio::test(start_paused = true)]
async fn a_slow_job_times_out_is_retried_then_dead_lettered() {
    for kind in KINDS {
        let (dead_tx, dead_rx) = chan::unbounded();
        let recovery = Recovery::new()
            .timeout(MS(100))
            .retry(3, Backoff::fixed(MS(10)))
            .on_error(Policy::dead_letter(dead_tx));
        let start = Instant::now();
        let (got, outcome, stats) = run(kind, vec![5, 1_000, 50, 99], recovery, sleeper()).await;
        outcome.unwrap();
        assert_eq!(got, [5, 50, 99], "{kind}: the fast jobs are unaffected");
        let (job, error) = dead_rx.recv().await.unwrap();
        assert_eq!(job, 1_000, "{kind}");
        let why = error.downcast_ref::<TimedOut>().expect("a TimedOut");
        assert_eq!((&*why.stage, why.after), ("stage", MS(100)), "{kind}");
        assert!(dead_rx.try_recv().is_err(), "{kind}: one dead letter");
        assert_eq!(
            (
                stats.timeouts,
                stats.retries,
                stats.dead_lettered,
                stats.errors
            ),
            (3, 2, 1, 0),
            "{kind}"
        );
        if kind == "try_then" {
            // One job at a time: 5 ms, then 3 × 100 ms + 2 × 10 ms, then
            // 50 and 99 ms. The slow job was cut at its limit each time.
            assert_eq!(start.elapsed(), MS(5 + 320 + 50 + 99));
        }
    }
}

/// A job slow only on its first attempt times out once and then
/// succeeds: one timeout, one retry, its result delivered.
#[tokio::test(start_paused = true)]
async fn a_job_slow_once_succeeds_on_retry() {
    for kind in KINDS {
        let tries = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let counter = tries.clone();
        let f: Job = Arc::new(move |n| {
            let first = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0;
            Box::pin(async move {
                tokio::time::sleep(MS(if first { 1_000 } else { 1 })).await;
                Ok(n)
            })
        });
        let recovery = Recovery::new().timeout(MS(100)).retry(2, Backoff::none());
        let (got, outcome, stats) = run(kind, vec![7], recovery, f).await;
        outcome.unwrap();
        assert_eq!(got, [7], "{kind}");
        assert_eq!(
            (stats.timeouts, stats.retries, stats.errors),
            (1, 1, 0),
            "{kind}"
        );
    }
}

/// Under the default policy a timeout fails the stage, naming it, with
/// the `TimedOut` as the source.
#[tokio::test(start_paused = true)]
async fn under_the_default_policy_a_timeout_fails_the_stage() {
    for kind in KINDS {
        let recovery = Recovery::new().timeout(MS(100));
        let (_, outcome, stats) = run(kind, vec![1, 500], recovery, sleeper()).await;
        let Err(Error::Failed { stage, source }) = outcome else {
            panic!("{kind}: a stage failure, got {outcome:?}")
        };
        assert_eq!(&*stage, "stage", "{kind}");
        assert!(source.is::<TimedOut>(), "{kind}: {source}");
        assert_eq!(stats.timeouts, 1, "{kind}");
    }
}

/// Without a timeout nothing is cut short, however slow.
#[tokio::test(start_paused = true)]
async fn without_a_timeout_slow_jobs_finish() {
    for kind in KINDS {
        let (got, outcome, stats) = run(kind, vec![60_000], Recovery::new(), sleeper()).await;
        outcome.unwrap();
        assert_eq!((got, stats.timeouts), (vec![60_000], 0), "{kind}");
    }
}

#[tokio::test]
async fn a_zero_timeout_is_a_config_error() {
    let scope = Scope::new(&Context::background());
    let zero = || Recovery::<u64>::new().timeout(Duration::ZERO);
    let f = |n: u64| async move { Ok::<_, BoxError>(n) };
    let input = || stage::generate(&scope, [1u64]);
    let errors = [
        stage::try_then(&scope.named("a"), input(), zero(), f).unwrap_err(),
        stage::try_map_concurrent(&scope.named("a"), input(), 2, zero(), f).unwrap_err(),
        stage::try_map_unordered(&scope.named("a"), input(), 2, zero(), f).unwrap_err(),
        WorkerPool::new(2)
            .timeout(Duration::ZERO)
            .spawn(&scope.named("a"), input(), f)
            .map(|(rx, _)| rx)
            .unwrap_err(),
    ];
    for err in errors {
        assert!(
            matches!(&err, ConfigError::Invalid { stage, .. } if &**stage == "a"),
            "{err:?}"
        );
    }
}
