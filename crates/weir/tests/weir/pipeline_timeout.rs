//! The builder's per-item timeout (`Flow::timeout`, `Guarded::timeout`)
//! on every async stage, on a paused clock: a slow job times out, is
//! retried, then dead-lettered; fast jobs are unaffected; `timeouts`,
//! `retries` and `dead_lettered` are exact in the metrics.

use std::time::Duration;

use weir::cancel::Context;
use weir::chan;
use weir::pipeline::{Flow, Pipeline};
use weir::stage::{Backoff, BoxError, Policy, TimedOut};

const MS: fn(u64) -> Duration = Duration::from_millis;

async fn sleep_for(ms: u64) -> Result<u64, BoxError> {
    tokio::time::sleep(MS(ms)).await;
    Ok(ms)
}

#[tokio::test(start_paused = true)]
async fn every_async_stage_times_out_slow_jobs() {
    type Stage = fn(weir::pipeline::Guarded<u64>) -> Flow<u64>;
    let stages: [(&str, Stage); 4] = [
        ("then", |g| g.then(sleep_for)),
        ("map_concurrent", |g| g.map_concurrent(3, sleep_for)),
        ("map_unordered", |g| g.map_unordered(3, sleep_for)),
        ("worker_pool", |g| g.worker_pool(3, sleep_for)),
    ];
    for (kind, add) in stages {
        let (dead_tx, dead_rx) = chan::unbounded();
        let p = Pipeline::new(&Context::background());
        let guarded = p
            .source([1u64, 2_000, 30, 3_000, 40])
            .timeout(MS(500))
            .retry(2, Backoff::fixed(MS(5)))
            .on_error(Policy::dead_letter(dead_tx));
        let mut got = add(guarded)
            .named("call")
            .collect::<Vec<_>>()
            .await
            .unwrap();
        got.sort_unstable();
        assert_eq!(got, [1, 30, 40], "{kind}");
        let mut dead: Vec<u64> = std::iter::from_fn(|| dead_rx.try_recv().ok())
            .map(|(job, e)| {
                assert!(e.is::<TimedOut>(), "{kind}: {e}");
                job
            })
            .collect();
        dead.sort_unstable();
        assert_eq!(dead, [2_000, 3_000], "{kind}");
        let m = p.metrics();
        let call = m.stages.iter().find(|s| s.name == "call").unwrap();
        assert_eq!(
            (call.timeouts, call.retries, call.dead_lettered, call.errors),
            (4, 2, 2, 0),
            "{kind}"
        );
        assert_eq!((call.items_in, call.items_out), (5, 3), "{kind}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_timeout_fails_the_pipeline_by_default_naming_the_stage() {
    let err = Pipeline::new(&Context::background())
        .source([10u64, 10_000])
        .timeout(MS(100))
        .worker_pool(2, sleep_for)
        .named("pool")
        .count()
        .await
        .unwrap_err();
    assert_eq!(err.stage(), Some("pool"));
    let why = std::error::Error::source(&err).unwrap().to_string();
    assert_eq!(why, "job timed out after 100ms at stage `pool`");
}

#[tokio::test]
async fn a_zero_timeout_is_a_config_error_naming_the_stage() {
    let err = Pipeline::new(&Context::background())
        .source([1u64])
        .timeout(Duration::ZERO)
        .then(sleep_for)
        .named("call")
        .count()
        .await
        .unwrap_err();
    assert_eq!(err.stage(), Some("call"));
    assert!(err.config().is_some());
}
