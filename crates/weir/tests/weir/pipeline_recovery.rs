//! Retries and error policy on the builder's async stages (`then`,
//! `map_concurrent`, `map_unordered`, `worker_pool`): `Flow::retry`,
//! `retry_if`, `Flow::on_error`, and the metrics that count what they did.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;
use weir::cancel::Context;
use weir::chan;
use weir::pipeline::{Flow, Guarded, Metrics, Pipeline, StageMetrics};
use weir::stage::{Backoff, BoxError, ConfigError, Policy};

#[derive(Debug, thiserror::Error)]
#[error("transient")]
struct Transient;

#[derive(Debug, thiserror::Error)]
#[error("permanent")]
struct Permanent;

/// The four async stages of the builder.
const DOORS: [&str; 4] = ["then", "map_concurrent", "map_unordered", "worker_pool"];

/// Counts the calls per job.
#[derive(Clone, Default)]
struct Calls(Arc<Mutex<HashMap<u32, u32>>>);

impl Calls {
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

/// Adds the async stage `door` with `f`, named `name`.
fn through<F, Fut>(guarded: Guarded<u32>, door: &str, f: F) -> Flow<u32>
where
    F: Fn(u32) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<u32, BoxError>> + Send + 'static,
{
    match door {
        "then" => guarded.then(f),
        "map_concurrent" => guarded.map_concurrent(4, f),
        "map_unordered" => guarded.map_unordered(4, f),
        _ => guarded.worker_pool(4, f),
    }
    .named("work")
}

fn work(m: &Metrics) -> StageMetrics {
    m.stages.iter().find(|s| s.name == "work").unwrap().clone()
}

/// Job 1 works at its third attempt, job 2 always fails with a transient
/// error, job 3 with a permanent one, the rest work at once.
fn flaky(calls: &Calls) -> impl Fn(u32) -> std::future::Ready<Result<u32, BoxError>> {
    let calls = calls.clone();
    move |job| {
        let n = calls.call(job);
        std::future::ready(match job {
            1 if n < 3 => Err(Transient.into()),
            2 => Err(Transient.into()),
            3 => Err(Permanent.into()),
            _ => Ok(job * 10),
        })
    }
}

#[tokio::test(start_paused = true)]
async fn only_transient_errors_are_retried_and_dead_letters_are_counted() {
    for door in DOORS {
        let calls = Calls::default();
        let (dead_tx, dead_rx) = chan::unbounded();
        let p = Pipeline::new(&Context::background());
        let guarded = p
            .source(1..=6u32)
            .retry(
                4,
                Backoff::exponential(Duration::from_millis(10)).jitter(1.0),
            )
            .retry_if(|e: &BoxError| e.is::<Transient>())
            .on_error(Policy::dead_letter(dead_tx));
        let mut got = through(guarded, door, flaky(&calls))
            .collect::<Vec<_>>()
            .await
            .unwrap();
        got.sort_unstable();
        assert_eq!(got, [10, 40, 50, 60], "{door}");
        assert_eq!(
            (calls.of(1), calls.of(2), calls.of(3), calls.of(4)),
            (3, 4, 1, 1),
            "{door}"
        );
        let mut dead = Vec::new();
        while let Some((job, err)) = dead_rx.recv().await {
            dead.push((job, err.to_string()));
        }
        dead.sort();
        assert_eq!(
            dead,
            [(2, "transient".to_string()), (3, "permanent".to_string())],
            "{door}"
        );
        let m = work(&p.metrics());
        assert_eq!(
            (m.retries, m.dead_lettered, m.skipped, m.errors),
            (2 + 3, 2, 0, 0),
            "{door}"
        );
        assert_eq!((m.items_in, m.items_out), (6, 4), "{door}");
    }
}

#[tokio::test(start_paused = true)]
async fn retries_wait_a_jittered_backoff_within_its_bounds() {
    for door in DOORS {
        let p = Pipeline::new(&Context::background());
        let guarded = p
            .source([1u32])
            .retry(3, Backoff::fixed(Duration::from_secs(1)).jitter(0.5))
            .on_error(Policy::skip());
        let start = Instant::now();
        let n = through(guarded, door, |_| async {
            Err::<u32, BoxError>("down".into())
        })
        .count()
        .await
        .unwrap();
        let waited = start.elapsed();
        assert_eq!(n, 0);
        // Two retries, each after 0.5 s to 1 s.
        assert!(
            waited >= Duration::from_millis(1000) && waited <= Duration::from_millis(2000),
            "{door}: waited {waited:?}"
        );
        let m = work(&p.metrics());
        assert_eq!((m.retries, m.skipped), (2, 1), "{door}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skip_drops_failed_jobs_and_the_table_shows_them() {
    for door in DOORS {
        let p = Pipeline::new(&Context::background());
        let guarded = p.source(0..100u32).on_error(Policy::skip());
        let n = through(guarded, door, |n| async move {
            if n % 4 == 0 {
                Err::<u32, BoxError>("bad".into())
            } else {
                Ok(n)
            }
        })
        .count()
        .await
        .unwrap();
        assert_eq!(n, 75, "{door}");
        let metrics = p.metrics();
        let m = work(&metrics);
        assert_eq!(
            (m.retries, m.skipped, m.dead_lettered, m.errors),
            (0, 25, 0, 0),
            "{door}"
        );
        let table = metrics.to_string();
        let header = table.lines().next().unwrap();
        assert!(
            header.contains("retries") && header.contains("skipped"),
            "{table}"
        );
        let row = table.lines().find(|l| l.starts_with("work ")).unwrap();
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(
            &cells[2..8],
            ["100", "75", "0", "0", "25", "0"],
            "{door}: {row}"
        );
    }
}

#[tokio::test]
async fn fail_stops_the_pipeline_with_an_error_naming_the_stage() {
    for door in DOORS {
        let p = Pipeline::new(&Context::background());
        let guarded = p
            .source(0..10u32)
            .retry(2, Backoff::none())
            .on_error(Policy::fail());
        let err = through(guarded, door, |n| async move {
            if n == 5 {
                Err::<u32, BoxError>(Permanent.into())
            } else {
                Ok(n)
            }
        })
        .for_each(drop)
        .await
        .unwrap_err();
        assert_eq!(err.stage(), Some("work"), "{door}");
        let cause = std::error::Error::source(&err).unwrap();
        assert_eq!(cause.to_string(), "permanent", "{door}");
        let m = work(&p.metrics());
        assert_eq!((m.errors, m.retries), (1, 1), "{door}");
    }
}

#[tokio::test]
async fn zero_attempts_is_a_config_error_before_anything_runs() {
    for door in DOORS {
        let p = Pipeline::new(&Context::background());
        let guarded = p.source(0..3u32).retry(0, Backoff::none());
        let err = through(guarded, door, |n| async move { Ok::<u32, BoxError>(n) })
            .count()
            .await
            .unwrap_err();
        assert_eq!(
            err.config(),
            Some(&ConfigError::Zero {
                stage: "work".into(),
                what: "retry attempts"
            }),
            "{door}"
        );
    }
}

#[tokio::test]
async fn map_concurrent_keeps_input_order_around_dead_letters() {
    let (dead_tx, dead_rx) = chan::unbounded();
    let v = Pipeline::new(&Context::background())
        .source(0..50u32)
        .on_error(Policy::dead_letter(dead_tx))
        .map_concurrent(8, |n| async move {
            tokio::task::yield_now().await;
            if n % 7 == 3 {
                Err("seven")
            } else {
                Ok(n)
            }
        })
        .collect::<Vec<_>>()
        .await
        .unwrap();
    let expected: Vec<u32> = (0..50).filter(|n| n % 7 != 3).collect();
    assert_eq!(v, expected);
    assert_eq!(dead_rx.len(), 7);
}
